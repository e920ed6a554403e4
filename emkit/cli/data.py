"""Data for a model: checked against it with line numbers, and visited in row chunks.

A ``.npy`` file stays a memory map throughout: it is checked block by block, fitted by
[`emkit.fit`][emkit.em.fit] from the map
([`emkit.sources.MemmapSource`][emkit.sources.MemmapSource]), and predicted and scored chunk by
chunk, so that no step holds the whole file in memory.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from emkit._backend import Array
from emkit.cli.errors import CliError, one_line
from emkit.protocols import LatentVariableModel
from emkit.sources import chunk_rows_for
from emkit.tables import Table, row_blocks

__all__ = ["by_chunks", "check_data", "data_for", "locate", "working_dtype"]


def working_dtype(X: Array) -> np.dtype[Any]:
    """The dtype emkit computes ``X`` in: float32 stays float32, other numbers become float64."""
    return np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)


def locate(message: str, start: int, lines: Array | None) -> str:
    """A library message about ``row i, column j`` of a block starting at row ``start``, with
    the place in the file: the line and 1-based column of a text file, else the row of the
    whole array (and its 0-based column, as numpy counts)."""

    def place(match: re.Match[str]) -> str:
        row, column = start + int(match.group(1)), int(match.group(2))
        if lines is not None:
            return f"line {lines[row]}, column {column + 1}"
        return f"row {row}, column {column}"

    return re.sub(r"row (\d+), column (\d+)", place, message, count=1)


def check_data(model: LatentVariableModel[Any, Any], table: Table, what: str) -> None:
    """``model.validate_data`` on the table, block by block for a memory-mapped file.

    Raises
    ------
    CliError
        ``SOURCE: not valid data for WHAT: ...`` with the line and column (text) or the row
        and column (``.npy``) of the first bad value.
    """
    X = table.data
    blocks = [slice(0, X.shape[0])] if table.in_memory else list(row_blocks(X))
    dtype = working_dtype(X)
    for rows in blocks:
        try:
            model.validate_data(np.asarray(X[rows], dtype=dtype))
        except ValueError as exc:
            message = locate(one_line(str(exc)), rows.start, table.lines)
            raise CliError(f"{table.source}: not valid data for {what}: {message}") from None


def data_for(
    model: LatentVariableModel[Any, Any], table: Table, what: str, *, may_binarize: bool = True
) -> Table:
    """The table checked against ``model``; or its own binary form, when the model rejects
    the raw values and accepts that form (the bundled digits for a Bernoulli mixture).

    Raises
    ------
    CliError
        The error of the raw values, when neither form is valid data for the model.
    """
    try:
        check_data(model, table, what)
    except CliError as error:
        if not may_binarize or table.binary is None:
            raise
        binary = table.binary()
        try:
            check_data(model, binary, what)
        except CliError:
            raise error from None
        return binary
    return table


def by_chunks(
    model: LatentVariableModel[Any, Any], X: Array, compute: Callable[[Array], Array]
) -> Iterator[Array]:
    """``compute`` on row chunks of ``X`` sized like the E-step's, so memory stays bounded.

    A memory-mapped ``X`` is read one chunk at a time.
    """
    dtype = working_dtype(X)
    rows = chunk_rows_for(model, X.shape[1], dtype.itemsize)
    for start in range(0, X.shape[0], rows):
        yield compute(np.asarray(X[start : start + rows], dtype=dtype))
