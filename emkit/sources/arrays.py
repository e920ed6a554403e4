"""Rows of one array: in memory ([`ArraySource`][emkit.sources.ArraySource]) or a memory-mapped
``.npy`` file ([`MemmapSource`][emkit.sources.MemmapSource]), visited in row chunks so that a pass's
memory stays bounded."""

from __future__ import annotations

import abc
import mmap
import os
from collections.abc import Iterator
from typing import Any, TypeVar, final

import numpy as np

from emkit._backend import Array
from emkit._validation import check_array, check_int, check_sample_weight
from emkit.protocols import Chunk, LatentVariableModel
from emkit.sources.chunking import (
    INIT_SAMPLE_ROWS,
    blocks_for,
    check_labels,
    check_lengths,
    check_model_labels,
    chunk_rows_for,
    chunk_spans,
    summed_expectation,
    validate_chunk,
    validate_rows,
    working_dtype,
)

__all__ = ["ArraySource", "MemmapSource"]

P = TypeVar("P")
S = TypeVar("S")


class _IndexedRows(abc.ABC):
    """Rows of one array indexed in place, with optional per-row weights and labels.

    The sizes of [`ArraySource`][emkit.sources.ArraySource] and
    [`MemmapSource`][emkit.sources.MemmapSource]; subclasses set ``X`` and ``_dtype`` (the dtype
    chunks are computed in) and call ``_set_row_data``.
    """

    X: Array
    _dtype: np.dtype[Any]

    def _set_row_data(
        self, sample_weight: Any, labels: Any, chunk_size: int | None, lengths: Any
    ) -> None:
        n = self.X.shape[0]
        self.weights = check_sample_weight(sample_weight, n)
        self.labels = None if labels is None else check_labels(labels, n)
        self.lengths = None if lengths is None else check_lengths(lengths, n)
        self.chunk_size = (
            None if chunk_size is None else check_int(chunk_size, "chunk_size", minimum=1)
        )

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dtype

    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    @property
    def total_weight(self) -> float:
        return float(self.n_samples if self.weights is None else self.weights.sum())

    def _chunk_rows(self, model: LatentVariableModel[Any, Any]) -> int:
        return self.chunk_size or chunk_rows_for(model, self.n_features, self._dtype.itemsize)

    def _spans(self, model: LatentVariableModel[Any, Any]) -> Iterator[tuple[int, int, Any]]:
        """Row spans of the chunks: whole blocks for a model whose rows come in blocks."""
        blocks = blocks_for(model, self.n_samples, self.lengths)
        return chunk_spans(blocks, self.n_samples, self._chunk_rows(model))

    def _rows(self, X: Array, rows: slice, lengths: Array | None) -> Chunk:
        return Chunk(
            X,
            None if self.weights is None else self.weights[rows],
            None if self.labels is None else self.labels[rows],
            lengths,
        )

    @abc.abstractmethod
    def iter_chunks(self, model: LatentVariableModel[Any, Any]) -> Iterator[Chunk]:
        """``(X, weights, labels)`` of every row chunk, in order (the same chunks every call)."""

    def expectation(self, model: LatentVariableModel[P, S], params: P) -> tuple[S, float]:
        return summed_expectation(model, params, self.iter_chunks(model))


@final
class ArraySource(_IndexedRows):
    """An in-memory array, visited in row chunks so temporaries stay bounded.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        float32 stays float32; other numeric types become float64.
    sample_weight : array-like of shape (n_samples,), optional
    labels : int array-like of shape (n_samples,), optional
        Known latent labels, -1 where unknown (semi-supervised EM).
    chunk_size : int, optional
        Rows per chunk; by default chosen from [`CHUNK_BYTES`][emkit.sources.CHUNK_BYTES] and the
        model.
    lengths : int array-like of shape (n_blocks,), optional
        Sizes of consecutive blocks of rows (sequences for a hidden Markov model, hmmlearn's
        ``lengths``), summing to n_samples; a chunk never cuts one (see
        [`RowBlocks`][emkit.protocols.RowBlocks]).
    """

    def __init__(
        self,
        X: Any,
        sample_weight: Any = None,
        labels: Any = None,
        chunk_size: int | None = None,
        lengths: Any = None,
    ) -> None:
        self.X = check_array(X, "X", allow_missing=True)
        self._dtype = self.X.dtype
        self._set_row_data(sample_weight, labels, chunk_size, lengths)

    def validate(self, model: LatentVariableModel[Any, Any]) -> None:
        validate_rows(model, self.X)
        if self.labels is not None:
            check_model_labels(self.labels, model)
        blocks_for(model, self.n_samples, self.lengths)

    def iter_chunks(self, model: LatentVariableModel[Any, Any]) -> Iterator[Chunk]:
        for start, stop, lengths in self._spans(model):
            rows = slice(start, stop)
            yield self._rows(self.X[rows], rows, lengths)

    def init_sample(
        self, rng: np.random.Generator, max_rows: int = INIT_SAMPLE_ROWS
    ) -> tuple[Array, Array | None]:
        if self.n_samples <= max_rows:
            return self.X, self.weights
        rows = np.sort(rng.choice(self.n_samples, size=max_rows, replace=False))
        return self.X[rows], None if self.weights is None else self.weights[rows]


@final
class MemmapSource(_IndexedRows):
    """A ``.npy`` file (or a ``np.memmap``) read in row blocks: exact EM on data larger than RAM.

    The file is opened with ``np.load(path, mmap_mode="r")`` and every pass copies one block of
    rows at a time into memory, so the memory a fit needs is bounded by the block size (about
    [`CHUNK_BYTES`][emkit.sources.CHUNK_BYTES]), not by the file. Pages of a block are handed back
    to the operating system once the block has been used, so the resident size stays bounded as
    well.

    Parameters
    ----------
    X : str, os.PathLike or numpy.memmap
        Path to a 2-D ``.npy`` file of numbers, or an open memory map.
    sample_weight : array-like of shape (n_samples,), optional
        In memory, or itself a memory map.
    labels : int array-like of shape (n_samples,), optional
        Known components, -1 where unknown.
    chunk_size : int, optional
        Rows per block (default: from [`CHUNK_BYTES`][emkit.sources.CHUNK_BYTES] and the model).
    lengths : int array-like of shape (n_blocks,), optional
        Sizes of consecutive blocks of rows (sequences), summing to n_samples; a block is never
        cut (see [`RowBlocks`][emkit.protocols.RowBlocks]).
    """

    def __init__(
        self,
        X: Any,
        sample_weight: Any = None,
        labels: Any = None,
        chunk_size: int | None = None,
        lengths: Any = None,
    ) -> None:
        if isinstance(X, str | os.PathLike):
            path = os.fspath(X)
            try:
                X = np.load(path, mmap_mode="r", allow_pickle=False)
            except FileNotFoundError:
                raise ValueError(
                    f"`X` must be a path to an existing .npy file; got {path!r}"
                ) from None
            except (OSError, ValueError) as exc:
                raise ValueError(
                    f"`X` must be a path to a .npy file of numbers; {path!r} could not be read "
                    f"as one ({exc})"
                ) from None
        if not isinstance(X, np.ndarray):
            raise TypeError(f"`X` must be a .npy path or a numpy memmap; got {type(X).__name__}")
        if X.ndim != 2:
            raise ValueError(f"`X` must be a 2-D array; got {X.ndim}-D with shape {X.shape}")
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_) or np.issubdtype(
            X.dtype, np.complexfloating
        ):
            raise TypeError(f"`X` must hold real numbers; got dtype {X.dtype}")
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"`X` must have at least one row and one column; got shape {X.shape}")
        self.X = X
        self._dtype = working_dtype(X.dtype)
        self._set_row_data(sample_weight, labels, chunk_size, lengths)

    def _blocks(
        self, model: LatentVariableModel[Any, Any], check: bool
    ) -> Iterator[tuple[int, Chunk]]:
        for start, stop, lengths in self._spans(model):
            rows = slice(start, stop)
            if check:
                X = check_array(
                    self.X[rows],
                    f"X (rows {start}..{stop - 1})",
                    dtype=self._dtype,
                    allow_missing=True,
                )
            else:
                X = np.array(self.X[rows], dtype=self._dtype)
            _release_pages(self.X, start, stop)
            yield start, self._rows(X, rows, lengths)

    def validate(self, model: LatentVariableModel[Any, Any]) -> None:
        """One pass over the file: finite values in the model's domain, block by block."""
        for start, chunk in self._blocks(model, check=True):
            validate_chunk(model, chunk, start)

    def iter_chunks(self, model: LatentVariableModel[Any, Any]) -> Iterator[Chunk]:
        """Every [`Chunk`][emkit.protocols.Chunk] of rows, copied into memory one at a time."""
        for _, chunk in self._blocks(model, check=False):
            yield chunk

    def init_sample(
        self, rng: np.random.Generator, max_rows: int = INIT_SAMPLE_ROWS
    ) -> tuple[Array, Array | None]:
        # The same draw as ArraySource, so that an array and a memory map of it start alike.
        if self.n_samples <= max_rows:
            return np.array(self.X, dtype=self._dtype), self.weights
        rows = np.sort(rng.choice(self.n_samples, size=max_rows, replace=False))
        weights = None if self.weights is None else self.weights[rows]
        return np.array(self.X[rows], dtype=self._dtype), weights


def _release_pages(X: Array, start: int, stop: int) -> None:
    """Tell the OS that rows ``start:stop`` of a C-ordered memory map are not needed any more.

    The pages are clean file pages, so dropping them costs nothing but a re-read on the next pass;
    without it the resident size of a pass would grow to the size of the file.
    """
    handle = getattr(X, "_mmap", None)
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if handle is None or advice is None or not X.flags.c_contiguous:
        return
    row_bytes = X.strides[0]
    base = int(getattr(X, "offset", 0)) % mmap.ALLOCATIONGRANULARITY
    first = base + start * row_bytes
    last = base + stop * row_bytes
    first -= first % mmap.PAGESIZE
    try:
        handle.madvise(advice, first, last - first)
    except (OSError, ValueError):
        return
