"""What every data source shares: chunk sizes, per-chunk E-steps and checks of chunk contents."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

from emkit._backend import Array
from emkit._validation import check_array, check_lengths, refuse_missing
from emkit.protocols import (
    DEFAULT_INIT_SAMPLE_ROWS,
    Chunk,
    ChunkCost,
    Components,
    LatentVariableModel,
    MissingValues,
    RowBlocks,
)
from emkit.stats import add

__all__ = [
    "CHUNK_BYTES",
    "INIT_SAMPLE_ROWS",
    "Chunk",
    "accepts_missing",
    "blocks_for",
    "check_chunk_weights",
    "check_labels",
    "check_lengths",
    "check_model_labels",
    "chunk_e_step",
    "chunk_rows_for",
    "chunk_spans",
    "per_row",
    "split_chunk",
    "summed_expectation",
    "take_rows",
    "validate_chunk",
    "validate_rows",
    "working_dtype",
]

P = TypeVar("P")
S = TypeVar("S")

CHUNK_BYTES = 64 * 2**20
"""Memory budget for one chunk's E-step temporaries (bytes); see
[`chunk_rows_for`][emkit.sources.chunk_rows_for]."""

INIT_SAMPLE_ROWS = DEFAULT_INIT_SAMPLE_ROWS
"""Initialisation (k-means and friends) looks at no more than this many rows (100,000), drawn
uniformly."""


def chunk_rows_for(
    model: LatentVariableModel[Any, Any], n_features: int, itemsize: int, budget: int = CHUNK_BYTES
) -> int:
    """Rows per chunk so that one chunk's E-step temporaries fit in ``budget`` bytes.

    Uses the model's ``bytes_per_row`` when it is [`ChunkCost`][emkit.protocols.ChunkCost], else
    ``16 * itemsize * n_features`` bytes per row.
    """
    if isinstance(model, ChunkCost):
        cost = model.bytes_per_row(n_features, itemsize)
    else:
        cost = 16 * itemsize * n_features
    return max(1, int(budget // max(cost, 1)))


def chunk_e_step(model: LatentVariableModel[P, S], chunk: Chunk, params: P) -> tuple[S, float]:
    """``model.e_step`` of one chunk.

    ``labels`` are passed only when there are some, so that models without semi-supervised EM
    never see the argument; ``lengths`` only to a [`RowBlocks`][emkit.protocols.RowBlocks] model.
    """
    extra: dict[str, Any] = {}
    if chunk.labels is not None:
        extra["labels"] = chunk.labels
    if chunk.lengths is not None:
        extra["lengths"] = chunk.lengths
    return model.e_step(chunk.X, params, chunk.weights, **extra)


def per_row(method: Callable[..., Array], chunk: Chunk, params: Any) -> Array:
    """A per-row method of a model (``responsibilities``, ``predict``, ``score_samples``) on one
    chunk: given the chunk's blocks as ``lengths=`` when it has them (a
    [`RowBlocks`][emkit.protocols.RowBlocks] model's per-row results depend on whole blocks)."""
    if chunk.lengths is None:
        return method(chunk.X, params)
    return method(chunk.X, params, lengths=chunk.lengths)


def blocks_for(
    model: LatentVariableModel[Any, Any], n_rows: int, lengths: Array | None
) -> Array | None:
    """The blocks of ``n_rows`` rows that ``model``'s E-step must see whole.

    ``lengths`` when the data came with them (refused for a model of independent rows), else
    the model's [`default_lengths`][emkit.protocols.RowBlocks.default_lengths] for a
    [`RowBlocks`][emkit.protocols.RowBlocks] model (``None`` when it treats rows as
    independent without them), else ``None`` (rows are independent).
    """
    if not isinstance(model, RowBlocks):
        if lengths is not None:
            raise ValueError(
                f"`lengths` were given, but {type(model).__name__} treats rows as independent: "
                "sequences or groups need a model whose rows come in blocks (for sequences, "
                "emkit.HiddenMarkovModel)"
            )
        return None
    if lengths is not None:
        return lengths
    default = model.default_lengths(n_rows)
    return None if default is None else check_lengths(default, n_rows, "default_lengths")


def chunk_spans(
    lengths: Array | None, n_rows: int, size: int
) -> Iterator[tuple[int, int, Array | None]]:
    """``(start, stop, lengths)`` of consecutive chunks of at most ``size`` rows.

    Without ``lengths`` every chunk but the last has ``size`` rows. With them a chunk is one or
    more whole blocks, as many as fit in ``size`` rows; a block longer than ``size`` is a chunk
    of its own (the model's E-step then handles it in bounded pieces, e.g. an HMM's segments).
    The loop runs once per chunk, not once per block.
    """
    if lengths is None:
        for start in range(0, n_rows, size):
            yield start, min(start + size, n_rows), None
        return
    ends = np.cumsum(lengths)
    first = 0
    while first < lengths.shape[0]:
        start = int(ends[first] - lengths[first])
        # The last block that still ends within `size` rows of this chunk's start (at least one).
        last = max(first, int(np.searchsorted(ends, start + size, side="right")) - 1)
        yield start, int(ends[last]), lengths[first : last + 1]
        first = last + 1


def check_labels(labels: Any, n_samples: int, n_components: int | None = None) -> Array:
    """Integer labels (n_samples,), each -1 (unknown) or a component index."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(f"`labels` must have shape (n_samples,) = ({n_samples},); got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr))):
            raise TypeError(f"`labels` must be integers (-1 for unknown); got dtype {arr.dtype}")
        arr = arr.astype(np.intp)
    if (arr < -1).any() or (n_components is not None and (arr >= n_components).any()):
        bad = int(np.flatnonzero((arr < -1) | (arr >= (n_components or np.inf)))[0])
        upper = "n_components - 1" if n_components is None else str(n_components - 1)
        raise ValueError(
            f"`labels` must be -1 (unknown) or a component index 0..{upper}; "
            f"found {arr[bad]} at index {bad}"
        )
    return arr.astype(np.intp)


def working_dtype(dtype: Any) -> np.dtype[Any]:
    """float32 stays float32; every other numeric type is computed in float64."""
    return np.dtype(np.float32) if np.dtype(dtype) == np.float32 else np.dtype(np.float64)


def check_chunk_weights(weights: Any, n_rows: int, where: str) -> Array | None:
    if weights is None:
        return None
    w = check_array(weights, f"weights of {where}", ndim=1, min_rows=0, dtype=np.float64)
    if w.shape[0] != n_rows:
        raise ValueError(
            f"the weights of {where} must have one entry per row ({n_rows}); got {w.shape[0]}"
        )
    if (w < 0).any():
        index = int(np.flatnonzero(w < 0)[0])
        raise ValueError(f"the weights of {where} must be >= 0; found {w[index]} at index {index}")
    return w


def check_model_labels(labels: Array, model: LatentVariableModel[Any, Any]) -> None:
    """Labels must name latent values of ``model`` (when it is
    [`Components`][emkit.protocols.Components])."""
    if isinstance(model, Components):
        check_labels(labels, labels.shape[0], model.n_components)


def accepts_missing(model: Any) -> bool:
    """Whether ``model`` takes NaN entries as missing values
    ([`MissingValues`][emkit.protocols.MissingValues] with ``handles_missing``)."""
    return isinstance(model, MissingValues) and bool(model.handles_missing)


def validate_rows(model: LatentVariableModel[Any, Any], X: Array, name: str = "X") -> Array:
    """``model.validate_data(X)``, after refusing NaN for a model without missing values.

    Sources and entry points read NaN through (``check_array(..., allow_missing=True)``): this
    is where a model without the [`MissingValues`][emkit.protocols.MissingValues] capability
    refuses them, with the message a NaN always had (row and column), whatever its own
    ``validate_data`` does. A model with the capability decides in its ``validate_data`` (a
    mixture refuses NaN when its family does not handle them, naming the family).
    """
    if not isinstance(model, MissingValues):
        refuse_missing(
            X, name, f"{type(model).__name__} does not handle missing values: drop or fill them"
        )
    return model.validate_data(X)


def validate_chunk(model: LatentVariableModel[Any, Any], chunk: Chunk, start: int) -> None:
    """``model.validate_data`` on one chunk, with the chunk's place in the data in the message."""
    X = chunk.X
    try:
        validate_rows(model, X)
        if chunk.labels is not None:
            check_model_labels(chunk.labels, model)
    except ValueError as exc:
        raise ValueError(
            f"{exc} (in the chunk of rows {start}..{start + X.shape[0] - 1}; row numbers above "
            "count from the first row of that chunk)"
        ) from None


def split_chunk(chunk: Chunk, size: int) -> Iterator[Chunk]:
    """Cut one chunk into pieces of at most ``size`` rows (bounded E-step temporaries), never
    inside one of its blocks (see [`chunk_spans`][emkit.sources.chunking.chunk_spans])."""
    if chunk.X.shape[0] <= size:
        yield chunk
        return
    for start, stop, lengths in chunk_spans(chunk.lengths, chunk.X.shape[0], size):
        yield take_rows(chunk, slice(start, stop), lengths)


def take_rows(chunk: Chunk, rows: slice, lengths: Array | None) -> Chunk:
    """Rows ``rows`` of a chunk (with their weights and labels) and the blocks they hold."""
    return Chunk(
        chunk.X[rows],
        None if chunk.weights is None else chunk.weights[rows],
        None if chunk.labels is None else chunk.labels[rows],
        lengths,
    )


def summed_expectation(
    model: LatentVariableModel[P, S], params: P, chunks: Iterable[Chunk]
) -> tuple[S, float]:
    """Statistics and log-likelihood of every chunk, added (the E-step of a whole pass)."""
    total_stats: S | None = None
    total_ll = 0.0
    for chunk in chunks:
        stats, ll = chunk_e_step(model, chunk, params)
        total_stats = stats if total_stats is None else add(total_stats, stats)
        total_ll += ll
    if total_stats is None:
        raise ValueError("the data source yielded no rows")
    return total_stats, total_ll
