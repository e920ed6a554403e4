"""Reading data files (:mod:`emkit.tables`): delimited text through :mod:`csv`, ``.npy`` maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import emkit
from emkit import tables
from emkit.tables import DataFileError, parse_cells, parse_table, read_data, row_blocks

FAITHFUL = emkit.datasets.load_faithful()


# -- delimited text: quoting, delimiters, headers ----------------------------------------------
@pytest.mark.parametrize(
    ("text", "names", "rows"),
    [
        # A quoted field holds the delimiter: two cells, not three.
        ('"height, cm",weight\n1.5,2\n', ("height, cm", "weight"), [[1.5, 2.0]]),
        # "" inside a quoted field is one quote.
        ('"the ""best"" one",b\n1,2\n', ('the "best" one', "b"), [[1.0, 2.0]]),
        # Quoted numbers are numbers; without a header.
        ('"1","2"\n"3",4\n', ("x1", "x2"), [[1.0, 2.0], [3.0, 4.0]]),
        # The delimiter is found outside quotes: a comma inside quotes does not make it CSV.
        ('"a,b";c\n1;2\n', ("a,b", "c"), [[1.0, 2.0]]),
        ('"a;b",c\n1,2\n', ("a;b", "c"), [[1.0, 2.0]]),
        ('"a b"\t"c"\n1\t2\n', ("a b", "c"), [[1.0, 2.0]]),
        # Whitespace-separated, with a quoted name holding a space.
        ('"x y"  z\n 1   2\n3 4\n', ("x y", "z"), [[1.0, 2.0], [3.0, 4.0]]),
        # A quoted header name spanning two lines.
        ('"first\nline",b\n1,2\n', ("first\nline", "b"), [[1.0, 2.0]]),
        # A comment holding a quote does not open a field.
        ('# he said "hi\n1,2\n3,4\n', ("x1", "x2"), [[1.0, 2.0], [3.0, 4.0]]),
        # Spaces around cells, and a trailing CRLF.
        ("a , b\r\n 1 , 2 \r\n", ("a", "b"), [[1.0, 2.0]]),
    ],
)
def test_quoted_fields(text: str, names: tuple[str, ...], rows: list[list[float]]) -> None:
    table = parse_table(text, "t.csv")
    assert table.names == names
    np.testing.assert_array_equal(table.data, rows)


def test_line_numbers_count_every_line_of_a_multi_line_record() -> None:
    table = parse_table('"a\nb",c\n\n1,2\n# note\n3,4\n', "t.csv")
    np.testing.assert_array_equal(table.lines, [4, 6])
    with pytest.raises(DataFileError, match=r"t.csv, line 5, column 2 \('c'\): 'x' is not"):
        parse_table('"a\nb",c\n\n1,2\n3,x\n', "t.csv")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('a,b\n1,"2\n3,4\n', r"t.csv, line 2: a quoted field is not closed"),
        ('a,b\n1,"2"x\n', r"t.csv, line 2: "),
        ('a,b\n1,"x, y"\n', r"t.csv, line 2, column 2 \('b'\): 'x, y' is not a number"),
        (
            '"a,b",c\n1,2,3\n',
            r"t.csv, line 2: ragged row with 3 column\(s\); expected 2 like line 1",
        ),
    ],
)
def test_quoting_errors_name_the_line(text: str, match: str) -> None:
    with pytest.raises(DataFileError, match=match):
        parse_table(text, "t.csv")


def test_a_tsv_name_means_tabs_even_with_commas_in_cells(tmp_path: Path) -> None:
    path = tmp_path / "data.tsv"
    path.write_text("a,1\tb\n1\t2\n")
    table = read_data(str(path))
    assert table.names == ("a,1", "b")


# -- .npy files: memory-mapped, checked block by block -----------------------------------------
def test_a_npy_file_is_opened_as_a_memory_map(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, FAITHFUL.data)
    table = read_data(str(path))
    assert isinstance(table.data, np.memmap)
    assert not table.in_memory
    assert table.data.shape == (272, 2)
    np.testing.assert_array_equal(table.data, FAITHFUL.data)


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_a_npy_file_keeps_its_dtype(tmp_path: Path, dtype: type) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.ones((5, 3), dtype=dtype))
    table = read_data(str(path))
    assert isinstance(table.data, np.memmap)
    assert table.data.dtype == dtype


def test_a_one_column_npy_file_stays_a_memory_map(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.arange(4.0))
    table = read_data(str(path))
    assert isinstance(table.data, np.memmap)
    assert table.data.shape == (4, 1)


def test_a_non_finite_value_is_found_in_a_later_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables, "NPY_BLOCK_BYTES", 2 * 2 * 8)  # two rows of two float64
    X = np.ones((9, 2))
    X[7, 1] = np.inf
    path = tmp_path / "x.npy"
    np.save(path, X)
    assert [(s.start, s.stop) for s in row_blocks(X)] == [(0, 2), (2, 4), (4, 6), (6, 8), (8, 9)]
    with pytest.raises(DataFileError, match=r"x.npy: row 7, column 1 holds inf, not a finite"):
        read_data(str(path))


def test_row_blocks_cover_every_row_once() -> None:
    X = np.zeros((1000, 3))
    blocks = list(row_blocks(X, block_bytes=7 * 3 * 8))
    assert all(b.stop - b.start <= 7 for b in blocks)
    assert np.concatenate([np.arange(b.start, b.stop) for b in blocks]).tolist() == list(
        range(1000)
    )


# -- binary forms ------------------------------------------------------------------------------
def test_the_digits_know_their_binary_form() -> None:
    raw = read_data("digits")
    assert raw.data.max() == 16.0
    assert raw.binary is not None
    binary = raw.binary()
    assert binary.source == "digits, binarized"
    np.testing.assert_array_equal(binary.data, emkit.datasets.load_digits(binarize=True).data)
    np.testing.assert_array_equal(read_data("digits", binarize=True).data, binary.data)


def test_other_data_has_no_binary_form_unless_given_a_threshold() -> None:
    faithful = read_data("faithful")
    assert faithful.binary is None
    assert read_data("faithful", binarize=True).data is not None
    np.testing.assert_array_equal(read_data("faithful", binarize=True).data, FAITHFUL.data)
    binary = read_data("faithful", threshold=3.0)
    assert binary.source == "faithful, binarized (>= 3)"
    np.testing.assert_array_equal(binary.data, (FAITHFUL.data >= 3.0).astype(float))


def test_binarizing_a_npy_file(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.array([[0.2, 0.7], [0.9, 0.1]], dtype=np.float32))
    table = read_data(str(path), threshold=0.5)
    np.testing.assert_array_equal(table.data, [[0.0, 1.0], [1.0, 0.0]])
    assert table.data.dtype == np.float64


def test_a_key_column_is_kept_as_text_and_left_out_of_the_numbers() -> None:
    text = "subject,x,y\nanna,1.5,2\nanna,2.0,3\nbob-2,0.5,1\n"
    table = tables.parse_table(text, "t.csv", key_column="subject")
    assert table.names == ("x", "y")
    np.testing.assert_array_equal(table.data, [[1.5, 2.0], [2.0, 3.0], [0.5, 1.0]])
    assert table.keys is not None
    assert table.keys.tolist() == ["anna", "anna", "bob-2"]
    assert table.key_name == "subject"
    by_index = tables.parse_table("a,1,2\nb,3,4\n", "t.csv", key_column="0")
    assert by_index.keys is not None
    assert by_index.keys.tolist() == ["a", "b"]
    np.testing.assert_array_equal(by_index.data, [[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize(
    ("key", "message"),
    [("nope", "has no column of that name"), ("7", "a 0-based index must be 0 to 2")],
)
def test_a_missing_key_column_is_named(key: str, message: str) -> None:
    with pytest.raises(tables.KeyColumnError, match=message):
        tables.parse_table("subject,x,y\nanna,1.5,2\n", "t.csv", key_column=key)


def test_parse_cells_keeps_text_and_names_errors() -> None:
    table = parse_cells('q1,"q 2"\nyes,"red, dark"\nno,blue\nyes,blue\n', "s.csv")
    assert table.names == ("q1", "q 2")
    assert table.cells.tolist() == [["yes", "red, dark"], ["no", "blue"], ["yes", "blue"]]
    assert table.lines.tolist() == [2, 3, 4]
    assert table.has_text
    with pytest.raises(DataFileError, match=r"s.csv, line 3: ragged row with 1 column"):
        parse_cells("q1,q2\nyes,red\nno\n", "s.csv")
    with pytest.raises(DataFileError, match=r"line 3, column 2 \('q2'\): 'NA' is a missing"):
        parse_cells("q1,q2\nyes,red\nno,NA\nno,red\n", "s.csv")
    numbers = parse_cells("1,2\n3,\n", "n.csv", check_missing=False)
    assert not numbers.has_text
