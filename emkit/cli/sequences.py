"""Sequences on the command line: ``--sequence-column`` and ``--lengths`` for a hidden Markov model.

A hidden Markov model sees its rows as sequences, given as hmmlearn gives them: the rows one
sequence after another and ``lengths`` the sizes of the sequences (see
[`RowBlocks`][emkit.protocols.RowBlocks]). On the command line they come

* from a column of sequence ids (``--sequence-column id`` or ``--sequence-column 0``): a
  sequence is a run of consecutive rows with the same id, and the column is not a feature. An id
  that comes back after another id is refused, naming both lines: a file with the rows of its
  sequences interleaved is far more likely a mistake (say, a file sorted by time, not by id) than
  two sequences that happen to share an id;
* or from a file of sequence sizes (``--lengths sizes.npy``, or a text file with one whole
  number per line), which keeps a memory-mapped ``.npy`` file unread;
* or from nothing: the whole file is one sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from emkit._backend import Array
from emkit.cli.data import working_dtype
from emkit.cli.errors import CliError, exception_text
from emkit.protocols import LatentVariableModel
from emkit.sources import chunk_rows_for
from emkit.sources.chunking import check_lengths, chunk_spans
from emkit.tables import KeyColumnError, Table, read_data

__all__ = [
    "by_sequences",
    "column_index",
    "lengths_text",
    "read_lengths",
    "read_sequences",
    "split_sequences",
]


def column_index(table: Table, column: str) -> int:
    """The column named ``column`` (a header name first, else a 0-based index) of ``table``.

    Raises
    ------
    CliError
        Naming ``--sequence-column``, the value and the columns there are.
    """
    names = table.names
    if column in names:
        return names.index(column)
    width = table.data.shape[1]
    try:
        index = int(column)
    except ValueError:
        raise CliError(
            f"--sequence-column {column!r}: {table.source} has no column of that name (its "
            f"columns: {', '.join(names)}); give a header name or a 0-based column index"
        ) from None
    if not 0 <= index < width:
        raise CliError(
            f"--sequence-column {column!r}: {table.source} has {width} column(s), so a "
            f"0-based index must be 0 to {width - 1}"
        )
    return index


def _id_text(value: Any) -> str:
    if isinstance(value, str | np.str_):
        return str(value)
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _where(table: Table, row: int) -> str:
    return f"line {table.lines[row]}" if table.lines is not None else f"row {row}"


def split_sequences(table: Table, column: str) -> tuple[Table, Array]:
    """The table without its sequence-id column, and the sizes of its sequences.

    Parameters
    ----------
    table : Table
        Read into memory (a memory-mapped ``.npy`` file is refused: dropping a column would
        read it whole; give ``--lengths`` instead).
    column : str
        A header name or a 0-based column index (``--sequence-column``).

    Returns
    -------
    table : Table
        The other columns (the features), with their names and line numbers.
    lengths : int array of shape (n_sequences,)
        Sizes of the runs of equal ids, in file order.

    Raises
    ------
    CliError
        For an unknown column, a file with no other column, a ``.npy`` file, or an id that
        reappears after another id (naming both lines).
    """
    if not table.in_memory:
        raise CliError(
            f"--sequence-column {column!r}: not supported for a .npy file ({table.source}), "
            "whose rows are read block by block; give the sequence sizes with --lengths FILE"
        )
    if table.keys is not None:
        # The reader kept the id column as text: the features are already the other columns.
        return table, _run_lengths(table, np.asarray(table.keys), column, table.key_name or column)
    index = column_index(table, column)
    width = table.data.shape[1]
    if width == 1:
        raise CliError(
            f"--sequence-column {column!r}: {table.source} has only that column; no feature "
            "columns are left"
        )
    lengths = _run_lengths(table, np.asarray(table.data[:, index]), column, table.names[index])
    keep = [j for j in range(width) if j != index]
    features = Table(
        np.ascontiguousarray(table.data[:, keep]),
        tuple(table.names[j] for j in keep),
        table.source,
        table.lines,
    )
    return features, lengths


def _run_lengths(table: Table, ids: Array, column: str, name: str) -> Array:
    """Sizes of the runs of equal ids; an id that comes back after another is refused."""
    n_rows = ids.shape[0]
    starts = np.concatenate([[0], np.flatnonzero(ids[1:] != ids[:-1]) + 1])
    first_ids = ids[starts]
    # Every run must have an id of its own: sort the runs' ids (stably, so that equal ids keep
    # their file order) and look for neighbours that are equal.
    order = np.argsort(first_ids, kind="stable")
    repeated = np.flatnonzero(first_ids[order][1:] == first_ids[order][:-1])
    if repeated.size:
        again = int(order[repeated + 1].min())
        value = first_ids[again]
        first = int(starts[np.flatnonzero(first_ids == value)[0]])
        raise CliError(
            f"--sequence-column {column!r}: {table.source}, {_where(table, int(starts[again]))}: "
            f"sequence id {_id_text(value)} comes back after other ids (its rows start at "
            f"{_where(table, first)}); the rows of a sequence must be consecutive: sort the "
            f"rows by {name!r} (keeping their order within each sequence)"
        )
    return np.diff(np.append(starts, n_rows)).astype(np.intp)


def read_lengths(path: str, n_rows: int) -> Array:
    """Sequence sizes from a ``.npy`` file or a text file of whole numbers (``--lengths``).

    Parameters
    ----------
    path : str
    n_rows : int
        Rows of DATA: the sizes must sum to it.

    Returns
    -------
    lengths : int array of shape (n_sequences,)

    Raises
    ------
    CliError
        Naming ``--lengths`` and the file, for a file that is not one row or one column of
        positive whole numbers summing to ``n_rows``.
    """
    try:
        table = read_data(path)
    except ValueError as exc:
        raise CliError(f"--lengths {path}: {exception_text(exc)}") from None
    values = np.asarray(table.data)
    if values.ndim != 2 or min(values.shape) != 1:
        raise CliError(
            f"--lengths {path}: expected one column (or one row) of sequence sizes; the file "
            f"has shape {values.shape}"
        )
    try:
        return check_lengths(values.ravel(), n_rows, "--lengths")
    except (TypeError, ValueError) as exc:
        raise CliError(f"--lengths {path}: {exception_text(exc)}") from None


def read_sequences(
    spec: str,
    *,
    threshold: float | None,
    sequence_column: str | None,
    lengths_file: str | None,
    missing: bool = False,
) -> tuple[Table, Array | None]:
    """DATA and its sequences: ``(table, lengths)``, ``lengths`` None for one sequence.

    The id column is taken out before ``--binarize`` turns the features into 0/1; ``missing``
    reads empty, ``NA`` and ``nan`` cells as missing values (NaN).
    """
    if sequence_column is not None and lengths_file is not None:
        raise CliError(
            "give the sequences by --sequence-column or by --lengths, not both "
            f"(got --sequence-column {sequence_column!r} and --lengths {lengths_file!r})"
        )
    try:
        # Delimited text keeps the id column as text, so ids may be words ("patient-7").
        table = read_data(spec, key_column=sequence_column, missing=missing)
    except KeyColumnError as exc:
        raise CliError(f"--sequence-column {sequence_column!r}: {exception_text(exc)}") from None
    lengths: Array | None = None
    if sequence_column is not None:
        raw = table
        table, lengths = split_sequences(raw, sequence_column)
        binary = raw.binary
        if binary is not None:
            column = sequence_column

            def binary_form() -> Table:
                return split_sequences(binary(), column)[0]

            table = Table(table.data, table.names, table.source, table.lines, binary_form)
    elif lengths_file is not None:
        lengths = read_lengths(lengths_file, table.data.shape[0])
    if threshold is not None:
        table = table.binarized(threshold)
    return table, lengths


def lengths_text(lengths: Array | None, n_rows: int) -> str:
    """``"1 sequence"`` or ``"3 sequences of 40 to 120 rows"``."""
    if lengths is None or lengths.shape[0] == 1:
        return "1 sequence"
    low, high = int(lengths.min()), int(lengths.max())
    sizes = f"{low} rows each" if low == high else f"{low} to {high} rows"
    return f"{lengths.shape[0]} sequences of {sizes}"


def by_sequences(
    model: LatentVariableModel[Any, Any],
    X: Array,
    lengths: Array | None,
    compute: Callable[[Array, Array], Array],
) -> Iterator[Array]:
    """``compute(X_chunk, lengths_chunk)`` on chunks of whole sequences, sized like the E-step's.

    A chunk holds as many whole sequences as fit the model's chunk budget; a longer sequence is a
    chunk of its own (the forward-backward pass handles it in segments). A memory-mapped ``X`` is
    read one chunk at a time.
    """
    n_rows = X.shape[0]
    blocks = np.array([n_rows], dtype=np.intp) if lengths is None else lengths
    dtype = working_dtype(X)
    rows = chunk_rows_for(model, X.shape[1], dtype.itemsize)
    for start, stop, chunk_lengths in chunk_spans(blocks, n_rows, rows):
        sizes = np.array([stop - start]) if chunk_lengths is None else chunk_lengths
        yield compute(np.asarray(X[start:stop], dtype=dtype), sizes)
