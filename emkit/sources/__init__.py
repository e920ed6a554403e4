"""Where the data lives: the seam between the EM driver and the rows.

The driver never touches rows itself. It asks a source for

* ``expectation(model, params)``: the E-step statistics and log-likelihood summed over all rows,
* ``init_sample(rng)``: a bounded sample of rows to initialise from,

and a few sizes. Because statistics add over rows, a source is free to visit its rows in any
chunks: the answer is the same as one E-step on everything.

Sources shipped here ([`as_source`][emkit.sources.as_source] picks one from the type of ``X``):

* [`ArraySource`][emkit.sources.ArraySource]: ``X`` is a numpy array (or anything
  array-like); the rows live in memory and are visited in chunks.
* [`ChunkSource`][emkit.sources.ChunkSource]: ``X`` is a list of arrays, or a callable returning
  a fresh iterator of chunks; the rows live wherever the chunks come from.
* [`MemmapSource`][emkit.sources.MemmapSource]: ``X`` is a path to a ``.npy`` file, or a
  ``np.memmap``; the rows live on disk and are read in row blocks.
* [`DaskSource`][emkit.sources.DaskSource]: ``X`` is a ``dask.array.Array``; the rows live on a
  Dask cluster (or locally).

Every source returns the same statistics for the same rows up to the order of floating-point
additions, so a fit does not depend on where the data lives (to about 1e-12 relative).

Rows that belong together travel with the data as ``lengths=`` (hmmlearn's convention: the
sizes of consecutive sequences or groups, summing to n_samples). For a model whose E-step needs
them whole ([`RowBlocks`][emkit.protocols.RowBlocks], e.g. a hidden Markov model) every source
cuts its chunks only between them, aligns Dask blocks to them, and hands each chunk's sizes to
the E-step; a chunk list may also carry them per chunk, as ``(X_i, weights_i, labels_i,
lengths_i)``.

Initialisation never loads everything:
[`DataSource.init_sample`][emkit.sources.DataSource.init_sample] returns at most
[`INIT_SAMPLE_ROWS`][emkit.sources.INIT_SAMPLE_ROWS] rows, a uniform sample without replacement.
Sources with random access (arrays, memory maps, Dask arrays) draw the same row indices from the
same generator, so they start from the same point; a chunk stream draws its sample by reservoir
sampling in one pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from emkit.protocols import Chunk, DataSource
from emkit.sources.arrays import ArraySource, MemmapSource
from emkit.sources.chunking import (
    CHUNK_BYTES,
    INIT_SAMPLE_ROWS,
    check_labels,
    check_lengths,
    chunk_rows_for,
)
from emkit.sources.chunks import ChunkSource
from emkit.sources.dask_arrays import DaskSource

__all__ = [
    "CHUNK_BYTES",
    "INIT_SAMPLE_ROWS",
    "ArraySource",
    "Chunk",
    "ChunkSource",
    "DaskSource",
    "DataSource",
    "MemmapSource",
    "as_source",
    "check_labels",
    "check_lengths",
    "chunk_rows_for",
    "source_kind",
]


def _is_dask_array(X: Any) -> bool:
    """A Dask array, recognised without importing dask."""
    return type(X).__module__.startswith("dask.array") and hasattr(X, "__dask_graph__")


def _is_chunk_sequence(X: Any) -> bool:
    """A list/tuple of 2-D arrays (or of ``(X, weights[, labels])`` tuples), not a nested list."""
    if not isinstance(X, list | tuple) or len(X) == 0:
        return False
    first = X[0][0] if isinstance(X[0], tuple) and len(X[0]) > 0 else X[0]
    tabular = isinstance(first, np.ndarray) or hasattr(first, "to_numpy")
    return tabular and getattr(first, "ndim", 0) == 2


def source_kind(X: Any) -> str:
    """Which source [`as_source`][emkit.sources.as_source] makes of ``X``, without reading any rows.

    Returns one of ``"source"`` (already a [`DataSource`][emkit.sources.DataSource]), ``"dask"``,
    ``"memmap"`` (a ``.npy`` path or a ``np.memmap``), ``"chunks"``, ``"iterator"`` (a one-shot
    iterator, which [`as_source`][emkit.sources.as_source] refuses) or ``"array"`` (everything else:
    in memory).
    """
    if isinstance(X, DataSource) and not isinstance(X, np.ndarray):
        return "source"
    if _is_dask_array(X):
        return "dask"
    if isinstance(X, str | os.PathLike | np.memmap):
        return "memmap"
    if callable(X) or _is_chunk_sequence(X):
        return "chunks"
    if isinstance(X, Iterator):
        return "iterator"
    return "array"


def as_source(
    X: Any,
    sample_weight: Any = None,
    labels: Any = None,
    chunk_size: int | None = None,
    lengths: Any = None,
) -> DataSource:
    """Wrap ``X`` as a [`DataSource`][emkit.sources.DataSource], chosen by its type.

    * a [`DataSource`][emkit.sources.DataSource]: returned as it is;
    * a ``dask.array.Array``: [`DaskSource`][emkit.sources.DaskSource] (persisted once; for a Dask
      DataFrame pass ``df.to_dask_array(lengths=True)``);
    * a path (``str`` or ``os.PathLike``) ending in ``.npy``, or a ``numpy.memmap``:
      [`MemmapSource`][emkit.sources.MemmapSource];
    * a list or tuple of 2-D arrays (or DataFrames, or ``(X, weights[, labels])`` tuples), or a
      callable returning a fresh iterator of them: [`ChunkSource`][emkit.sources.ChunkSource];
    * anything else array-like: [`ArraySource`][emkit.sources.ArraySource].

    ``sample_weight``, ``labels`` and ``lengths`` (the sizes of consecutive sequences or groups
    of rows) go with in-memory, memory-mapped and Dask data; a chunk stream carries them in its
    chunks.
    """
    kind = source_kind(X)
    if kind == "source":
        if sample_weight is not None or labels is not None or lengths is not None:
            raise ValueError(
                "`sample_weight`, `labels` and `lengths` must be given to the source itself, not "
                "to fit"
            )
        return X  # type: ignore[no-any-return]
    if kind == "dask":
        return DaskSource(X, sample_weight=sample_weight, labels=labels, lengths=lengths)
    if kind == "memmap":
        if not isinstance(X, np.memmap) and not os.fspath(X).endswith(".npy"):
            raise ValueError(
                f"`X` given as a path must name a .npy file (saved with numpy.save); got {X!r}"
            )
        return MemmapSource(X, sample_weight, labels, chunk_size, lengths)
    if kind == "chunks":
        if sample_weight is not None or labels is not None or lengths is not None:
            raise ValueError(
                "`sample_weight`, `labels` and `lengths` cannot be given with a chunk stream "
                "`X`; put them in the chunks as (X_i, weights_i, labels_i, lengths_i) tuples"
            )
        return ChunkSource(X, chunk_size=chunk_size)
    if kind == "iterator":
        raise TypeError(
            "`X` is a one-shot iterator, but EM reads the data once per iteration: pass a "
            "callable that returns a fresh iterator of chunks, or fit the stream with "
            "emkit.online.fit_online"
        )
    return ArraySource(
        X, sample_weight=sample_weight, labels=labels, chunk_size=chunk_size, lengths=lengths
    )
