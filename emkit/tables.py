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
    "NPY_BLOCK_BYTES",
    "DataFileError",
    "Table",
    "default_names",
    "parse_table",
    "read_data",
    "row_blocks",
]

#: Bytes of one block of a ``.npy`` file read into memory at a time (for the finiteness check).
NPY_BLOCK_BYTES = 16 * 2**20


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
            [(self.data[rows] >= threshold).astype(np.float64) for rows in row_blocks(self.data)]
        )
        return Table(
            data,
            self.names,
            f"{self.source}, binarized (>= {threshold:g})",
            self.lines,
            keys=self.keys,
            key_name=self.key_name,
        )


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


def parse_table(text: str, source: str, key_column: str | None = None) -> Table:
    """Parse delimited numeric text (CSV, TSV, semicolon- or space-separated).

    Blank lines and lines starting with ``#`` are skipped. The delimiter is a tab (also for a
    ``.tsv``/``.tab`` name), a comma or a semicolon, whichever the first data line holds outside
    quotes first, else runs of whitespace. Fields may be quoted with ``"`` (a quoted field may
    hold the delimiter, ``""`` for a quote, and line breaks). The first record is a header when
    none of its cells is a number (a key column's header name counts as text). Every other cell
    must be a finite number, except in the key column.

    ``key_column`` (a header name, else a 0-based column index) is kept as text in
    ``Table.keys`` and left out of ``data`` (sequence ids such as ``patient-7``).

    Raises
    ------
    DataFileError
        Naming the line (1-based, as in an editor) and column of a ragged row, an empty or
        non-numeric cell, a non-finite value, or broken quoting.
    """
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    first = _first_record(lines)
    if first is None:
        raise DataFileError(f"{source}: no data (the file is empty)")
    rows, numbers = _records(lines, _delimiter(first, source), source)
    line_numbers = np.array(numbers)
    width = len(rows[0])
    names: tuple[str, ...] | None = None
    key = _key_index(rows[0], key_column, source)
    if not any(_is_number(cell) for j, cell in enumerate(rows[0]) if j != key):
        names = tuple(cell or f"x{j + 1}" for j, cell in enumerate(rows[0]))
        rows, line_numbers = rows[1:], line_numbers[1:]
        if not rows:
            raise DataFileError(f"{source}: no data rows after the header (line {numbers[0]})")
    lengths = np.array([len(row) for row in rows])
    ragged = np.flatnonzero(lengths != width)
    if ragged.size:
        i = int(ragged[0])
        raise DataFileError(
            f"{source}, line {line_numbers[i]}: ragged row with {lengths[i]} column(s); "
            f"expected {width} like line {numbers[0]}"
        )
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
    finite = np.isfinite(data)
    if not finite.all():
        i, j = (int(v) for v in np.argwhere(~finite)[0])
        raise DataFileError(
            f"{source}, line {line_numbers[i]}, column {j + 1}{_column_name(names, j)}: "
            f"{rows[i][j]!r} is not a finite number (missing values are not supported)"
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


def _read_npy(path: Path) -> Table:
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
            finite = np.isfinite(arr[rows])
            if not finite.all():
                i, j = (int(v) for v in np.argwhere(~finite)[0])
                value = arr[rows.start + i, j]
                raise DataFileError(
                    f"{path}: row {rows.start + i}, column {j} holds {value}, not a finite number"
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

    Raises
    ------
    DataFileError
        Naming the file, and the line and column (or row and column of a ``.npy`` array) of
        any value that is not a finite number.
    """
    table = _read(spec, stdin, key_column)
    if binarize and table.binary is not None:
        table = table.binary()
    if threshold is not None:
        table = table.binarized(threshold)
    return table


def _read(spec: str, stdin: IO[str] | None, key_column: str | None = None) -> Table:
    if spec == "-":
        return parse_table((stdin or sys.stdin).read(), "<stdin>", key_column)
    path = Path(spec)
    if not path.exists():
        if spec in datasets.DATASETS:
            return _dataset(spec)
        raise DataFileError(
            f"{spec}: no such file, and not a bundled dataset ({', '.join(datasets.DATASETS)})"
        )
    if path.is_dir():
        raise DataFileError(f"{spec}: is a directory, not a data file")
    if path.suffix.lower() == ".npy":
        return _read_npy(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataFileError(
            f"{spec}: not a text file; DATA must be CSV/TSV text, a .npy file or a bundled "
            "dataset name"
        ) from None
    return parse_table(text, spec, key_column)
