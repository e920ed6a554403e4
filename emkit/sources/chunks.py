"""A stream of row chunks that can be read again ([`ChunkSource`][emkit.sources.ChunkSource])."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, TypeVar, final

import numpy as np

from emkit._backend import Array
from emkit._validation import check_array, check_int
from emkit.protocols import Chunk, LatentVariableModel
from emkit.sources.chunking import (
    INIT_SAMPLE_ROWS,
    blocks_for,
    check_chunk_weights,
    check_labels,
    check_lengths,
    chunk_rows_for,
    split_chunk,
    summed_expectation,
    validate_chunk,
)

__all__ = ["ChunkSource"]

P = TypeVar("P")
S = TypeVar("S")


class _Summary(NamedTuple):
    """What one pass over the chunks found."""

    n_rows: int
    n_features: int
    total_weight: float
    dtype: np.dtype[Any]
    labelled: bool


@final
class ChunkSource:
    """A re-iterable sequence of row chunks: exact EM over data that never sits in one array.

    Every EM iteration is one pass over the chunks, so they must come out the same (same rows,
    same order) on every pass; a pass that yields a different number of rows raises
    ``ValueError``. A one-shot iterator or generator cannot be re-read: pass a function that
    returns a fresh one, or fit it with [`emkit.online.fit_online`][emkit.online.fit_online]
    instead.

    Parameters
    ----------
    chunks : list or tuple of chunks, or a callable returning an iterator of chunks
        A chunk is an array of shape (n_i, n_features), or a tuple ``(X_i, weights_i)``,
        ``(X_i, weights_i, labels_i)`` or ``(X_i, weights_i, labels_i, lengths_i)`` where
        ``weights_i`` (n_i,), ``labels_i`` (n_i,) and ``lengths_i`` (the sizes of the sequences
        or groups in the chunk, summing to n_i) may be ``None``. For a model whose rows come in
        blocks ([`RowBlocks`][emkit.protocols.RowBlocks]) a chunk without ``lengths_i`` is cut
        into the model's default blocks (a hidden Markov model: the chunk is one sequence).
        Every chunk is cast to the dtype of the first one (float32 stays float32, other numeric
        types become float64).
    chunk_size : int, optional
        Chunks with more rows are split into pieces of this many rows for the E-step (by default
        a size chosen from [`CHUNK_BYTES`][emkit.sources.CHUNK_BYTES] and the model), never
        inside a block.

    Notes
    -----
    The sizes (``n_samples``, ``total_weight``) come from one pass over the chunks the first
    time they are needed; [`validate`][emkit.sources.ChunkSource.validate] makes that pass and
    checks every chunk on the way. ``init_sample`` draws a uniform sample without replacement by
    reservoir sampling: each row gets a uniform random key and the ``max_rows`` smallest keys are
    kept, chunk by chunk.
    """

    def __init__(
        self,
        chunks: Callable[[], Iterable[Any]] | list[Any] | tuple[Any, ...],
        chunk_size: int | None = None,
    ) -> None:
        if isinstance(chunks, list | tuple):
            if len(chunks) == 0:
                raise ValueError("`X` must hold at least one chunk; got an empty sequence")
            stored = tuple(chunks)
            self._factory: Callable[[], Iterable[Any]] = lambda: stored
        elif callable(chunks):
            self._factory = chunks
        else:
            raise TypeError(
                "`X` must be a list or tuple of chunks, or a callable returning an iterator of "
                f"chunks; got {type(chunks).__name__}"
            )
        self.chunk_size = (
            None if chunk_size is None else check_int(chunk_size, "chunk_size", minimum=1)
        )
        self._summary: _Summary | None = None

    # -- reading ---------------------------------------------------------------------------------
    def _raw_chunks(self, dtype: np.dtype[Any] | None, check: bool) -> Iterator[Chunk]:
        """Every chunk as ``(X, weights, labels)``; ``check`` runs the full argument checks."""
        iterator = self._factory()
        if isinstance(iterator, np.ndarray) or not isinstance(iterator, Iterable):
            raise TypeError(
                "`X`: the chunk callable must return an iterable of chunks; got "
                f"{type(iterator).__name__}"
            )
        start = 0
        for index, item in enumerate(iterator):
            where = f"chunk {index}"
            if isinstance(item, tuple):
                if not 1 <= len(item) <= 4:
                    raise ValueError(
                        f"{where} must be an array or a tuple (X, weights[, labels[, lengths]]); "
                        f"got a tuple of {len(item)} items"
                    )
                X, weights, labels, lengths = (*item, None, None, None)[:4]
            else:
                X, weights, labels, lengths = item, None, None, None
            if check or dtype is None:
                X = check_array(
                    X, f"X ({where}, from row {start})", dtype=dtype, allow_missing=True
                )
                dtype = X.dtype
                weights = check_chunk_weights(weights, X.shape[0], where)
                if labels is not None:
                    labels = check_labels(labels, X.shape[0])
                if lengths is not None:
                    lengths = check_lengths(lengths, X.shape[0], f"lengths of {where}")
            else:
                X = np.asarray(X, dtype=dtype)
                weights = None if weights is None else np.asarray(weights, dtype=np.float64)
                labels = None if labels is None else np.asarray(labels, dtype=np.intp)
                lengths = None if lengths is None else np.asarray(lengths, dtype=np.intp)
            start += X.shape[0]
            yield Chunk(X, weights, labels, lengths)

    def _scan(self, model: LatentVariableModel[Any, Any] | None) -> _Summary:
        n_rows, n_features, weight, dtype = 0, -1, 0.0, None
        labelled = False
        for chunk in self._raw_chunks(None, check=True):
            X, weights = chunk.X, chunk.weights
            if dtype is None:
                n_features, dtype = X.shape[1], X.dtype
            elif X.shape[1] != n_features:
                raise ValueError(
                    f"every chunk of `X` must have {n_features} columns like the first; the "
                    f"chunk starting at row {n_rows} has {X.shape[1]}"
                )
            if model is not None:
                validate_chunk(model, chunk, n_rows)
                blocks_for(model, X.shape[0], chunk.lengths)
            n_rows += X.shape[0]
            weight += X.shape[0] if weights is None else float(weights.sum())
            labelled = labelled or chunk.labels is not None
        if dtype is None or n_rows == 0:
            raise ValueError("`X` must hold at least one row; its chunks are all empty")
        if weight <= 0:
            raise ValueError("the chunk weights must have at least one positive entry; all are 0")
        return _Summary(n_rows, n_features, weight, dtype, labelled)

    def _sizes(self) -> _Summary:
        if self._summary is None:
            self._summary = self._scan(None)
        return self._summary

    @property
    def n_samples(self) -> int:
        return self._sizes().n_rows

    @property
    def n_features(self) -> int:
        return self._sizes().n_features

    @property
    def total_weight(self) -> float:
        return self._sizes().total_weight

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._sizes().dtype

    @property
    def has_labels(self) -> bool:
        return self._sizes().labelled

    def validate(self, model: LatentVariableModel[Any, Any]) -> None:
        """One pass: check every chunk (shape, finiteness, weights, labels, the model's domain)."""
        self._summary = self._scan(model)

    def iter_chunks(self, model: LatentVariableModel[Any, Any]) -> Iterator[Chunk]:
        """Pieces of at most ``chunk_size`` rows (or one whole block), in stream order."""
        n_rows, n_features, _, dtype, _ = self._sizes()
        size = self.chunk_size or chunk_rows_for(model, n_features, dtype.itemsize)
        seen = 0
        for chunk in self._raw_chunks(dtype, check=False):
            if chunk[0].ndim != 2 or chunk[0].shape[1] != n_features:
                raise ValueError(
                    f"the chunks of `X` changed between passes: a chunk of shape "
                    f"{chunk[0].shape} after {seen} rows, where every chunk had {n_features} "
                    "columns; the callable must return the same chunks every time"
                )
            seen += chunk[0].shape[0]
            lengths = blocks_for(model, chunk.X.shape[0], chunk.lengths)
            yield from split_chunk(chunk._replace(lengths=lengths), size)
        if seen != n_rows:
            raise ValueError(
                f"the chunks of `X` changed between passes: this pass had {seen} rows, the "
                f"first had {n_rows}; the callable must return the same chunks every time"
            )

    def expectation(self, model: LatentVariableModel[P, S], params: P) -> tuple[S, float]:
        return summed_expectation(model, params, self.iter_chunks(model))

    def init_sample(
        self, rng: np.random.Generator, max_rows: int = INIT_SAMPLE_ROWS
    ) -> tuple[Array, Array | None]:
        n_rows, _, _, dtype, _ = self._sizes()
        chunks = self._raw_chunks(dtype, check=False)
        if n_rows <= max_rows:
            # Small data: every row, in stream order (as ArraySource returns it).
            parts = list(chunks)
            X = np.concatenate([part.X for part in parts])
            if all(part.weights is None for part in parts):
                return X, None
            return X, np.concatenate(
                [
                    np.ones(part.X.shape[0]) if part.weights is None else part.weights
                    for part in parts
                ]
            )
        return _reservoir(chunks, rng, max_rows)


def _reservoir(
    chunks: Iterator[Chunk], rng: np.random.Generator, max_rows: int
) -> tuple[Array, Array | None]:
    """Uniform sample of ``max_rows`` rows without replacement, in one pass over ``chunks``.

    Every row gets an independent uniform key and the rows with the ``max_rows`` smallest keys
    are kept (a uniform random subset), carried chunk by chunk with ``argpartition``. The keys
    come from one stream of ``rng.random`` calls, so the sample does not depend on chunk sizes.
    """
    keys: Array = np.empty(0)
    rows: Array | None = None
    weights: Array = np.empty(0)
    weighted = False
    for X, w, _, _ in chunks:
        keys = np.concatenate([keys, rng.random(X.shape[0])])
        rows = X if rows is None else np.concatenate([rows, X])
        weights = np.concatenate([weights, np.ones(X.shape[0]) if w is None else w])
        weighted = weighted or w is not None
        if keys.shape[0] > max_rows:
            # Sorted positions keep the sample in stream order.
            keep = np.sort(np.argpartition(keys, max_rows - 1)[:max_rows])
            keys, rows, weights = keys[keep], rows[keep], weights[keep]
    assert rows is not None
    return rows, weights if weighted else None
