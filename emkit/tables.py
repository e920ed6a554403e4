"""Reading numeric data files: delimited text (CSV, TSV, ...) and ``.npy`` arrays.

Every problem is reported as a :class:`DataFileError` naming the file, the line (1-based, as in
an editor) and the column, so that a command-line user can fix the file at once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO

import attrs
import numpy as np

from emkit import datasets
from emkit._backend import Array

__all__ = ["DataFileError", "Table", "default_names", "parse_table", "read_data"]


class DataFileError(ValueError):
    """A data file that cannot be read as a numeric table (the message names where)."""


@attrs.frozen(eq=False)
class Table:
    """Numeric data read by the command line.

    Attributes
    ----------
    data : array of shape (n_samples, n_features)
        float64, or float32 from a float32 ``.npy`` file.
    names : tuple of str
        Column names: from the header row or the dataset, else ``x1, x2, ...``.
    source : str
        Where the data came from, for messages ("faithful", "data.csv", ...).
    lines : int array of shape (n_samples,) or None
        The 1-based line of each row in a text file, for messages.
    """

    data: Array
    names: tuple[str, ...]
    source: str
    lines: Array | None = None


def default_names(n_features: int) -> tuple[str, ...]:
    """``("x1", "x2", ...)`` for data without a header."""
    return tuple(f"x{j + 1}" for j in range(n_features))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _delimiter(first_line: str, source: str) -> str | None:
    """The separator of a delimited text file, from its name and its first data line."""
    if source.lower().endswith((".tsv", ".tab")) or "\t" in first_line:
        return "\t"
    for candidate in (",", ";"):
        if candidate in first_line:
            return candidate
    return None  # runs of whitespace (also a single column)


def _split(line: str, delimiter: str | None) -> list[str]:
    return [cell.strip().strip("\"'") for cell in line.split(delimiter)]


def parse_table(text: str, source: str) -> Table:
    """Parse delimited numeric text (CSV, TSV, semicolon- or space-separated).

    Blank lines and lines starting with ``#`` are skipped. The first remaining line is a header
    when none of its cells is a number. Every other cell must be a finite number.

    Raises
    ------
    DataFileError
        Naming the line (1-based, as in an editor) and column of a ragged row, an empty or
        non-numeric cell, or a non-finite value.
    """
    numbered = [
        (number, line)
        for number, line in enumerate(text.removeprefix("\ufeff").splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        raise DataFileError(f"{source}: no data (the file is empty)")
    delimiter = _delimiter(numbered[0][1], source)
    rows = [_split(line, delimiter) for _, line in numbered]
    line_numbers = np.array([number for number, _ in numbered])
    width = len(rows[0])
    names: tuple[str, ...] | None = None
    if not any(_is_number(cell) for cell in rows[0]):
        names = tuple(cell or f"x{j + 1}" for j, cell in enumerate(rows[0]))
        rows, line_numbers = rows[1:], line_numbers[1:]
        if not rows:
            raise DataFileError(f"{source}: no data rows after the header (line {numbered[0][0]})")
    lengths = np.array([len(row) for row in rows])
    ragged = np.flatnonzero(lengths != width)
    if ragged.size:
        i = int(ragged[0])
        raise DataFileError(
            f"{source}, line {line_numbers[i]}: ragged row with {lengths[i]} column(s); "
            f"expected {width} like line {numbered[0][0]}"
        )
    cells = np.array(rows, dtype=str).reshape(len(rows), width)
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
    return Table(data, names or default_names(width), source, line_numbers)


def _column_name(names: tuple[str, ...] | None, j: int) -> str:
    return f" ({names[j]!r})" if names is not None else ""


def _read_npy(path: Path) -> Table:
    try:
        arr = np.load(path, allow_pickle=False)
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
    # float32 stays float32 (the library computes in the data's precision); the rest is float64.
    data = arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)
    finite = np.isfinite(data)
    if not finite.all():
        i, j = (int(v) for v in np.argwhere(~finite)[0])
        raise DataFileError(f"{path}: row {i}, column {j} holds {data[i, j]}, not a finite number")
    return Table(data, default_names(data.shape[1]), str(path))


def read_data(spec: str, *, binarize: bool = False, stdin: IO[str] | None = None) -> Table:
    """Data from a file path, ``-`` (standard input) or a bundled dataset name.

    Parameters
    ----------
    spec : str
        ``*.npy``, a delimited text file, ``-``, or one of :data:`emkit.datasets.DATASETS`.
    binarize : bool, default False
        For the bundled digits: pixels as 0/1 (for a Bernoulli mixture) instead of 0-16.
    """
    if spec == "-":
        return parse_table((stdin or sys.stdin).read(), "<stdin>")
    path = Path(spec)
    if not path.exists():
        if spec in datasets.DATASETS:
            options = {"binarize": binarize} if spec == "digits" else {}
            dataset = datasets.load(spec, **options)
            return Table(np.asarray(dataset.data, dtype=np.float64), dataset.feature_names, spec)
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
    return parse_table(text, spec)
