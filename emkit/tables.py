"""Reading numeric data files: delimited text (CSV, TSV, ...) and ``.npy`` arrays.

Every problem is reported as a ``DataFileError`` naming the file, the line (1-based, as in
an editor) and the column, so that a command-line user can fix the file at once.

Delimited text is read with the standard library's ``csv`` module, so quoted fields work as
spreadsheets write them: ``"height, cm",weight`` is two cells, and ``""`` inside a quoted field
is one quote. A ``.npy`` file is opened as a read-only memory map, never loaded whole: the
rows are checked block by block, and [`emkit.fit`][emkit.em.fit] reads it in row blocks
([`emkit.sources.MemmapSource`][emkit.sources.MemmapSource]).
"""

from __future__ import annotations

import csv
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import attrs
import numpy as np

from emkit import datasets
from emkit._backend import Array

__all__ = [
    "MISSING_MARKERS",
    "NPY_BLOCK_BYTES",
    "DataFileError",
    "Table",
    "TextTable",
    "default_names",
    "parse_cells",
    "parse_table",
    "read_data",
    "read_text",
    "row_blocks",
]

#: Bytes of one block of a ``.npy`` file read into memory at a time (for the finiteness check).
NPY_BLOCK_BYTES = 16 * 2**20

#: Cells of a text table that mean "missing" (compared in lower case): an empty cell, ``NA``,
#: ``NaN``. Missing values are not supported yet, so [`parse_cells`][emkit.tables.parse_cells]
#: refuses them.
MISSING_MARKERS = ("", "na", "nan")


class DataFileError(ValueError):
    """A data file that cannot be read as a numeric table (the message names where)."""


class KeyColumnError(DataFileError):
    """The key column asked for (``key_column=``) is not in the file."""


@attrs.frozen(eq=False)
class Table:
    """Numeric data read by the command line.

    Attributes
    ----------
    data : array of shape (n_samples, n_features)
        float64 from text and bundled datasets. From a ``.npy`` file: a read-only
        ``numpy.memmap`` of the file in its own dtype (float32 stays float32; other numbers are
        computed in float64 by emkit), whose rows are read only when used.
    names : tuple of str
        Column names: from the header row or the dataset, else ``x1, x2, ...``.
    source : str
        Where the data came from, for messages ("faithful", "data.csv", ...).
    lines : int array of shape (n_samples,) or None
        The 1-based line of each row in a text file, for messages.
    binary : callable returning a Table, or None
        The data's own 0/1 form where it has one: a bundled dataset whose loader can binarize
        (the digits: pixel intensity >= 8, as
        [`emkit.datasets.load_digits`][emkit.datasets.load_digits]).
    keys : str array of shape (n_samples,), or None
        The cells of a key column kept as text (``key_column=`` of
        [`parse_table`][emkit.tables.parse_table], e.g. sequence ids), not part of ``data``.
    key_name : str or None
        That column's name.
    """

    data: Array
    names: tuple[str, ...]
    source: str
    lines: Array | None = None
    binary: Callable[[], Table] | None = None
    keys: Array | None = None
    key_name: str | None = None

    @property
    def in_memory(self) -> bool:
        """False for a memory-mapped ``.npy`` file, whose rows are read block by block."""
        return not isinstance(self.data, np.memmap)

    def binarized(self, threshold: float) -> Table:
        """The data as 0/1: 1 where a value is >= ``threshold`` (read into memory, float64)."""
        data = np.concatenate(
            [_at_least(self.data[rows], threshold) for rows in row_blocks(self.data)]
        )
        return Table(
            data,
            self.names,
            f"{self.source}, binarized (>= {threshold:g})",
            self.lines,
            keys=self.keys,
            key_name=self.key_name,
        )


@attrs.frozen(eq=False)
class TextTable:
    """Every cell of a delimited text file kept as text (categorical levels such as ``yes``).

    Read by [`parse_cells`][emkit.tables.parse_cells]; the numeric reader
    [`parse_table`][emkit.tables.parse_table] is not involved.

    Attributes
    ----------
    cells : str array of shape (n_samples, n_features)
        The cells, stripped of surrounding spaces and quotes.
    names : tuple of str
        Column names: from the header row, else ``x1, x2, ...``.
    source : str
        Where the data came from, for messages.
    lines : int array of shape (n_samples,)
        The 1-based line of each row, for messages.
    header : bool
        Whether the first record was a header row.
    """

    cells: Array
    names: tuple[str, ...]
    source: str
    lines: Array
    header: bool

    @property
    def has_text(self) -> bool:
        """True when some cell is text: neither a number nor a missing value (checked on each
        column's distinct cells, not row by row)."""
        return any(
            not _is_number(cell) and cell.lower() not in MISSING_MARKERS
            for d in range(self.cells.shape[1])
            for cell in np.unique(self.cells[:, d]).tolist()
        )

    def place(self, row: int, column: int) -> str:
        """``"data.csv, line 7, column 2 ('colour')"``: where a cell is, for messages."""
        name = _column_name(self.names if self.header else None, column)
        return f"{self.source}, line {self.lines[row]}, column {column + 1}{name}"

    def check_missing(self) -> None:
        """Refuse a missing cell (empty, ``NA`` or ``NaN``; see ``MISSING_MARKERS``).

        Raises
        ------
        DataFileError
            Naming the line and column of the first missing cell in file order.
        """
        first: tuple[int, int, str] | None = None
        for d in range(self.cells.shape[1]):
            column = self.cells[:, d]
            for cell in np.unique(column).tolist():
                if cell.lower() in MISSING_MARKERS:
                    row = int(np.argmax(column == cell))
                    if first is None or (row, d) < first[:2]:
                        first = (row, d, cell)
        if first is not None:
            row, d, cell = first
            what = "an empty cell" if cell == "" else f"{cell!r}"
            raise DataFileError(
                f"{self.place(row, d)}: {what} is a missing value; missing values are not "
                "supported yet (every cell needs a level)"
            )


def _at_least(block: Array, threshold: float) -> Array:
    """1 where a value is >= ``threshold``, else 0; a missing value (NaN) stays missing."""
    return np.where(np.isnan(block), np.nan, (block >= threshold).astype(np.float64))


def default_names(n_features: int) -> tuple[str, ...]:
    """``("x1", "x2", ...)`` for data without a header."""
    return tuple(f"x{j + 1}" for j in range(n_features))


def row_blocks(data: Array, block_bytes: int | None = None) -> Iterator[slice]:
    """Slices of consecutive rows of ``data``, each about ``block_bytes`` in memory.

    ``block_bytes`` defaults to ``NPY_BLOCK_BYTES``.
    """
    if block_bytes is None:
        block_bytes = NPY_BLOCK_BYTES
    n_rows = data.shape[0]
    row_bytes = max(1, int(np.prod(data.shape[1:], dtype=np.int64)) * data.dtype.itemsize)
    size = max(1, block_bytes // row_bytes)
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def _delimiter(first_line: str, source: str) -> str:
    """The separator of a delimited text file, from its name and its first data line.

    Tab, then comma, then semicolon, found outside quoted fields; otherwise runs of whitespace
    (which is also what a single column reads as).
    """
    bare = _QUOTED.sub("", first_line)
    if source.lower().endswith((".tsv", ".tab")) or "\t" in bare:
        return "\t"
    for candidate in (",", ";"):
        if candidate in bare:
            return candidate
    return " "


def _first_record(lines: list[str]) -> str | None:
    """The text of the first data record (more than one line if a quoted field spans lines)."""
    start = next((i for i, line in enumerate(lines) if not _skipped(line)), None)
    if start is None:
        return None
    text = lines[start]
    for line in lines[start + 1 :]:
        if text.count('"') % 2 == 0:
            break
        text += line
    return text


def _skipped(line: str) -> bool:
    """Blank lines and ``#`` comments are not data."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _clean(cell: str) -> str:
    cell = cell.strip()
    if len(cell) >= 2 and cell[0] == cell[-1] == "'":
        cell = cell[1:-1].strip()  # 'name' in single quotes, as some tools write headers
    return cell


@attrs.define
class _Cursor:
    """Where the reader is: lines consumed, whether inside a record, the record's first line."""

    line: int = 0
    inside: bool = False
    start: int = 0


def _records(lines: list[str], delimiter: str, source: str) -> tuple[list[list[str]], list[int]]:
    """The cells of every record and the 1-based line each starts on.

    Blank and comment lines between records are skipped; inside a quoted field that spans lines
    every line belongs to the field.
    """
    cursor = _Cursor()
    whitespace = delimiter == " "

    def feed() -> Iterator[str]:
        while cursor.line < len(lines):
            line = lines[cursor.line]
            cursor.line += 1
            if not cursor.inside:
                if _skipped(line):
                    continue
                cursor.start = cursor.line
                cursor.inside = True
                if whitespace:
                    line = line.strip()
            yield line

    reader = csv.reader(
        feed(),
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        skipinitialspace=whitespace,
        strict=True,
    )
    rows: list[list[str]] = []
    numbers: list[int] = []
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            where = cursor.start if cursor.inside else cursor.line
            detail = str(exc)
            if "end of data" in detail or "unexpected end" in detail:
                detail = "a quoted field is not closed"
            raise DataFileError(f"{source}, line {where}: {detail}") from None
        cursor.inside = False
        rows.append([_clean(cell) for cell in record])
        numbers.append(cursor.start)
    return rows, numbers


def _read_records(text: str, source: str) -> tuple[list[list[str]], Array, list[int]]:
    """The records of delimited text, the line of each, and the lines as the reader gave them."""
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    first = _first_record(lines)
    if first is None:
        raise DataFileError(f"{source}: no data (the file is empty)")
    rows, numbers = _records(lines, _delimiter(first, source), source)
    return rows, np.array(numbers), numbers


def _check_ragged(
    rows: list[list[str]], line_numbers: Array, width: int, first: int, source: str
) -> None:
    lengths = np.array([len(row) for row in rows])
    ragged = np.flatnonzero(lengths != width)
    if ragged.size:
        i = int(ragged[0])
        raise DataFileError(
            f"{source}, line {line_numbers[i]}: ragged row with {lengths[i]} column(s); "
            f"expected {width} like line {first}"
        )


def parse_cells(text: str, source: str, *, check_missing: bool = True) -> TextTable:
    """Parse delimited text keeping every cell as text (categorical levels).

    The file is read as by [`parse_table`][emkit.tables.parse_table] (delimiter, quoting,
    blank and ``#`` lines, the same errors for a ragged row or broken quoting), but no cell is
    converted. The first record is a header when none of its cells is a number and none of them
    occurs again further down its column (a level repeats; a column name does not).

    Parameters
    ----------
    text : str
        The file's contents.
    source : str
        Its name, for messages.
    check_missing : bool, default True
        Refuse missing cells (empty, ``NA``, ``NaN``), naming the line and column; False
        leaves that to [`TextTable.check_missing`][emkit.tables.TextTable.check_missing].

    Returns
    -------
    TextTable

    Raises
    ------
    DataFileError
        Naming the line (1-based) and column of a ragged row, broken quoting or a missing cell.
    """
    rows, line_numbers, numbers = _read_records(text, source)
    width = len(rows[0])
    _check_ragged(rows, line_numbers, width, numbers[0], source)
    if not check_missing and width == 1:
        rows, line_numbers = _blank_cells(text, rows, line_numbers)
    cells = np.array(rows, dtype=str).reshape(len(rows), width)
    header = False
    if not any(_is_number(cell) for cell in rows[0]):
        rest = cells[1:]
        header = not bool(np.any(rest == cells[0]))
    names = default_names(width)
    if header:
        names = tuple(cell or f"x{j + 1}" for j, cell in enumerate(rows[0]))
        cells, line_numbers = cells[1:], line_numbers[1:]
        if cells.shape[0] == 0:
            raise DataFileError(f"{source}: no data rows after the header (line {numbers[0]})")
    table = TextTable(cells, names, source, line_numbers, header)
    if check_missing:
        table.check_missing()
    return table


def parse_table(
    text: str, source: str, key_column: str | None = None, *, missing: bool = False
) -> Table:
    """Parse delimited numeric text (CSV, TSV, semicolon- or space-separated).

    Blank lines and lines starting with ``#`` are skipped. The delimiter is a tab (also for a
    ``.tsv``/``.tab`` name), a comma or a semicolon, whichever the first data line holds outside
    quotes first, else runs of whitespace. Fields may be quoted with ``"`` (a quoted field may
    hold the delimiter, ``""`` for a quote, and line breaks). The first record is a header when
    none of its cells is a number (a key column's header name counts as text). Every other cell
    must be a finite number, except in the key column.

    ``key_column`` (a header name, else a 0-based column index) is kept as text in
    ``Table.keys`` and left out of ``data`` (sequence ids such as ``patient-7``). With
    ``missing`` an empty cell, ``NA`` or ``NaN`` (any case; see
    [`MISSING_MARKERS`][emkit.tables.MISSING_MARKERS]) is a missing value, read as NaN; in a
    one-column table so is a blank line between the first and the last value.

    Raises
    ------
    DataFileError
        Naming the line (1-based, as in an editor) and column of a ragged row, an empty or
        non-numeric cell, a non-finite value, or broken quoting.
    """
    rows, line_numbers, numbers = _read_records(text, source)
    width = len(rows[0])
    names: tuple[str, ...] | None = None
    key = _key_index(rows[0], key_column, source)
    if not any(_is_number(cell) for j, cell in enumerate(rows[0]) if j != key):
        names = tuple(cell or f"x{j + 1}" for j, cell in enumerate(rows[0]))
        rows, line_numbers = rows[1:], line_numbers[1:]
        if not rows:
            raise DataFileError(f"{source}: no data rows after the header (line {numbers[0]})")
    _check_ragged(rows, line_numbers, width, numbers[0], source)
    if missing and width == 1:
        rows, line_numbers = _blank_cells(text, rows, line_numbers)
    cells = np.array(rows, dtype=str).reshape(len(rows), width)
    keys: Array | None = None
    key_name: str | None = None
    if key is not None:
        keys = cells[:, key]
        key_name = names[key] if names is not None else str(key)
        others = [j for j in range(width) if j != key]
        cells = cells[:, others]
        rows = [[row[j] for j in others] for row in rows]
        names = None if names is None else tuple(names[j] for j in others)
        width -= 1
        if width == 0:
            raise KeyColumnError(f"{source} has only that column; no feature columns are left")
    if missing:
        cells = np.where(np.isin(np.char.lower(cells), MISSING_MARKERS), "nan", cells)
        rows = cells.tolist()
    try:
        data = cells.astype(np.float64)
    except ValueError:
        data = None
    if data is None:
        # Only on failure: find the first offending cell to name it.
        for i, row in enumerate(rows):
            for j, cell in enumerate(row):
                if not _is_number(cell):
                    what = "an empty cell" if cell == "" else f"{cell!r} is not a number"
                    if cell.lower() in MISSING_MARKERS:
                        what += " (a missing value: pass --missing marginalise to allow them)"
                    hint = (
                        " (a header row is recognised only when none of its names is a number)"
                        if i == 0 and names is None
                        else ""
                    )
                    raise DataFileError(
                        f"{source}, line {line_numbers[i]}, column {j + 1}"
                        f"{_column_name(names, j)}: {what}{hint}"
                    )
        # Every cell is a Python float that numpy's parser refused (e.g. "1_000").
        data = np.array([[float(cell) for cell in row] for row in rows], dtype=np.float64)
    bad = ~np.isfinite(data) & ~(np.isnan(data) & missing)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        hint = (
            " (a missing value: pass --missing marginalise to allow them)"
            if np.isnan(data[i, j])
            else ""
        )
        raise DataFileError(
            f"{source}, line {line_numbers[i]}, column {j + 1}{_column_name(names, j)}: "
            f"{rows[i][j]!r} is not a finite number{hint}"
        )
    return Table(
        data, names or default_names(width), source, line_numbers, keys=keys, key_name=key_name
    )


def _key_index(first: list[str], key_column: str | None, source: str) -> int | None:
    """The 0-based index of the key column: its header name in the first record, else an index."""
    if key_column is None:
        return None
    if key_column in first:
        return first.index(key_column)
    try:
        index = int(key_column)
    except ValueError:
        raise KeyColumnError(
            f"{source} has no column of that name (its columns: {', '.join(first)}); give a "
            "header name or a 0-based column index"
        ) from None
    if not 0 <= index < len(first):
        raise KeyColumnError(
            f"{source} has {len(first)} column(s), so a 0-based index must be 0 to {len(first) - 1}"
        )
    return index


def _column_name(names: tuple[str, ...] | None, j: int) -> str:
    return f" ({names[j]!r})" if names is not None else ""


def _blank_cells(
    text: str, rows: list[list[str]], line_numbers: Array
) -> tuple[list[list[str]], Array]:
    """A one-column table's blank lines between its first and last values, as empty cells.

    In one column an empty cell is a blank line; skipping it would shorten the column silently
    (a time series would lose a time step), so with missing values allowed it is one.
    """
    lines = text.removeprefix("\ufeff").splitlines()
    first, last = int(line_numbers[0]), int(line_numbers[-1])
    blank = [i for i in range(first + 1, last) if not lines[i - 1].strip()]
    if not blank:
        return rows, line_numbers
    merged = sorted(
        [(int(n), row) for n, row in zip(line_numbers, rows, strict=True)]
        + [(i, [""]) for i in blank]
    )
    return [row for _, row in merged], np.array([n for n, _ in merged])


def _read_npy(path: Path, missing: bool = False) -> Table:
    """A ``.npy`` file as a read-only memory map, checked block by block."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataFileError(
            f"{path}: cannot read as a .npy array ({' '.join(str(exc).split())})"
        ) from None
    if not isinstance(arr, np.ndarray):
        raise DataFileError(f"{path}: expected one array in .npy format")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.issubdtype(
        arr.dtype, np.complexfloating
    ):
        raise DataFileError(f"{path}: the array must hold real numbers; it has dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataFileError(
            f"{path}: the array must be 2-D (samples x features) and non-empty; "
            f"it has shape {arr.shape}"
        )
    if np.issubdtype(arr.dtype, np.floating):
        for rows in row_blocks(arr):
            block = arr[rows]
            bad = ~np.isfinite(block) & ~(np.isnan(block) & missing)
            if bad.any():
                i, j = (int(v) for v in np.argwhere(bad)[0])
                value = arr[rows.start + i, j]
                raise DataFileError(
                    f"{path}: row {rows.start + i}, column {j} holds {value}, not a finite number"
                    + (
                        " (pass --missing marginalise to allow missing values)"
                        if np.isnan(value)
                        else ""
                    )
                )
    return Table(arr, default_names(arr.shape[1]), str(path))


def _dataset(name: str) -> Table:
    """A bundled dataset in its raw form, with its binary form where its loader has one."""
    loader: Callable[..., datasets.Dataset] = datasets.DATASETS[name]
    if "binarize" not in inspect.signature(loader).parameters:
        dataset = loader()
        return Table(np.asarray(dataset.data, dtype=np.float64), dataset.feature_names, name)
    raw = loader(binarize=False)

    def binary() -> Table:
        dataset = loader(binarize=True)
        data = np.asarray(dataset.data, dtype=np.float64)
        return Table(data, dataset.feature_names, f"{name}, binarized")

    return Table(np.asarray(raw.data, dtype=np.float64), raw.feature_names, name, binary=binary)


def read_data(
    spec: str,
    *,
    binarize: bool = False,
    threshold: float | None = None,
    stdin: IO[str] | None = None,
    key_column: str | None = None,
    missing: bool = False,
) -> Table:
    """Data from a file path, ``-`` (standard input) or a bundled dataset name.

    Parameters
    ----------
    spec : str
        ``*.npy`` (opened as a memory map), a delimited text file, ``-``, or one of
        [`emkit.datasets.DATASETS`][emkit.datasets.DATASETS].
    binarize : bool, default False
        For a bundled dataset that has a binary form (the digits): that form (pixels as 0/1
        for a Bernoulli mixture) instead of the raw values. Other data is not changed.
    threshold : float, optional
        Turn any data into 0/1: 1 where a value is >= ``threshold`` (read into memory).
    stdin : text stream, optional
        Read ``-`` from here instead of ``sys.stdin``.
    key_column : str, optional
        For delimited text: a column kept as text in ``Table.keys`` (see
        [`parse_table`][emkit.tables.parse_table]); ignored for ``.npy`` files and bundled
        datasets, which hold numbers only.
    missing : bool, default False
        Read missing values as NaN: empty, ``NA`` and ``NaN`` cells of delimited text, NaN in a
        ``.npy`` array (infinities stay errors).

    Raises
    ------
    DataFileError
        Naming the file, and the line and column (or row and column of a ``.npy`` array) of
        any value that is not a finite number.
    """
    table = _read(spec, stdin, key_column, missing)
    if binarize and table.binary is not None:
        table = table.binary()
    if threshold is not None:
        table = table.binarized(threshold)
    return table


def read_text(spec: str, stdin: IO[str] | None = None) -> tuple[str, str] | None:
    """The text of a delimited text file or of ``-`` (standard input), with its name for
    messages; None for a ``.npy`` file or a bundled dataset, which hold numbers.

    Raises
    ------
    DataFileError
        For a missing file, a directory, or a file that is not UTF-8 text.
    """
    if spec == "-":
        return (stdin or sys.stdin).read(), "<stdin>"
    path = Path(spec)
    if not path.exists():
        if spec in datasets.DATASETS:
            return None
        raise DataFileError(
            f"{spec}: no such file, and not a bundled dataset ({', '.join(datasets.DATASETS)})"
        )
    if path.is_dir():
        raise DataFileError(f"{spec}: is a directory, not a data file")
    if path.suffix.lower() == ".npy":
        return None
    try:
        return path.read_text(encoding="utf-8-sig"), spec
    except UnicodeDecodeError:
        raise DataFileError(
            f"{spec}: not a text file; DATA must be CSV/TSV text, a .npy file or a bundled "
            "dataset name"
        ) from None


def _read(
    spec: str, stdin: IO[str] | None, key_column: str | None = None, missing: bool = False
) -> Table:
    text = read_text(spec, stdin)
    if text is not None:
        return parse_table(text[0], text[1], key_column, missing=missing)
    if spec in datasets.DATASETS and not Path(spec).exists():
        return _dataset(spec)
    return _read_npy(Path(spec), missing)
