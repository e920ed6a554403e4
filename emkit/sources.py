"""Where the data lives: the seam between the EM driver and the rows.

The driver never touches rows itself. It asks a source for

* ``expectation(model, params)``: the E-step statistics and log-likelihood summed over all rows,
* ``init_sample(rng)``: a bounded sample of rows to initialise from,

and a few sizes. Because statistics add over rows, a source is free to visit its rows in any
chunks: the answer is the same as one E-step on everything.

Sources shipped here (:func:`as_source` picks one from the type of ``X``):

=====================  ==========================================  ===============================
source                 ``X``                                       rows live
=====================  ==========================================  ===============================
:class:`ArraySource`   a numpy array (or anything array-like)      in memory, visited in chunks
:class:`ChunkSource`   a list of arrays, or a callable returning   wherever the chunks come from
                       a fresh iterator of chunks
:class:`MemmapSource`  a path to a ``.npy`` file, a ``np.memmap``  on disk, read in row blocks
:class:`DaskSource`    a ``dask.array.Array``                      on a Dask cluster (or locally)
=====================  ==========================================  ===============================

Every source returns the same statistics for the same rows up to the order of floating-point
additions, so a fit does not depend on where the data lives (to about 1e-12 relative).

Initialisation never loads everything: :meth:`DataSource.init_sample` returns at most
:data:`INIT_SAMPLE_ROWS` rows, a uniform sample without replacement. Sources with random access
(arrays, memory maps, Dask arrays) draw the same row indices from the same generator, so they
start from the same point; a chunk stream draws its sample by reservoir sampling in one pass.
"""

from __future__ import annotations

import abc
import mmap
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, final, runtime_checkable

import numpy as np

from emkit._backend import Array
from emkit._validation import check_array, check_int, check_sample_weight
from emkit.stats import add

__all__ = [
    "CHUNK_BYTES",
    "INIT_SAMPLE_ROWS",
    "ArraySource",
    "ChunkSource",
    "DaskSource",
    "DataSource",
    "MemmapSource",
    "as_source",
    "chunk_rows_for",
    "source_kind",
]

#: Memory budget for one chunk's E-step temporaries (bytes); see :func:`chunk_rows_for`.
CHUNK_BYTES = 64 * 2**20

#: Initialisation (k-means and friends) looks at no more than this many rows, drawn uniformly.
INIT_SAMPLE_ROWS = 100_000


@runtime_checkable
class DataSource(Protocol):
    """Rows that the EM driver can make passes over."""

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        ...

    @property
    def n_features(self) -> int:
        """Number of columns."""
        ...

    @property
    def total_weight(self) -> float:
        """Sum of the row weights (``n_samples`` without weights)."""
        ...

    def validate(self, model: Any) -> None:
        """Check every row against ``model.validate_data`` (raises ``ValueError``)."""
        ...

    def expectation(self, model: Any, params: Any) -> tuple[Any, float]:
        """Summed ``model.e_step`` over all rows: ``(stats, log_likelihood)``."""
        ...

    def init_sample(
        self, rng: np.random.Generator, max_rows: int = INIT_SAMPLE_ROWS
    ) -> tuple[Array, Array | None]:
        """At most ``max_rows`` rows (uniform without replacement) and their weights."""
        ...


def chunk_rows_for(model: Any, n_features: int, itemsize: int, budget: int = CHUNK_BYTES) -> int:
    """Rows per chunk so that one chunk's E-step temporaries fit in ``budget`` bytes.

    Uses ``model.bytes_per_row(n_features, itemsize)`` when the model provides it.
    """
    per_row = getattr(model, "bytes_per_row", None)
    cost = per_row(n_features, itemsize) if per_row is not None else 16 * itemsize * n_features
    return max(1, int(budget // max(cost, 1)))


class _IndexedRows(abc.ABC):
    """Rows of one array indexed in place, with optional per-row weights and labels.

    The sizes of :class:`ArraySource` and :class:`MemmapSource`; subclasses set ``X`` and
    ``_dtype`` (the dtype chunks are computed in) and call :meth:`_set_row_data`.
    """

    X: Array
    _dtype: np.dtype[Any]

    def _set_row_data(self, sample_weight: Any, labels: Any, chunk_size: int | None) -> None:
        n = self.X.shape[0]
        self.weights = check_sample_weight(sample_weight, n)
        self.labels = None if labels is None else check_labels(labels, n)
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
    def total_weight(self) -> float:
        return float(self.n_samples if self.weights is None else self.weights.sum())

    def _chunk_rows(self, model: Any) -> int:
        return self.chunk_size or chunk_rows_for(model, self.n_features, self._dtype.itemsize)

    @abc.abstractmethod
    def iter_chunks(self, model: Any) -> Iterator[Chunk]:
        """``(X, weights, labels)`` of every row chunk, in order (the same chunks every call)."""

    def expectation(self, model: Any, params: Any) -> tuple[Any, float]:
        return _summed_expectation(model, params, self.iter_chunks(model))


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
        Rows per chunk; by default chosen from :data:`CHUNK_BYTES` and the model.
    """

    def __init__(
        self,
        X: Any,
        sample_weight: Any = None,
        labels: Any = None,
        chunk_size: int | None = None,
    ) -> None:
        self.X = check_array(X, "X")
        self._dtype = self.X.dtype
        self._set_row_data(sample_weight, labels, chunk_size)

    def validate(self, model: Any) -> None:
        model.validate_data(self.X)

    def iter_chunks(self, model: Any) -> Iterator[Chunk]:
        size = self._chunk_rows(model)
        for start in range(0, self.n_samples, size):
            rows = slice(start, start + size)
            yield (
                self.X[rows],
                None if self.weights is None else self.weights[rows],
                None if self.labels is None else self.labels[rows],
            )

    def init_sample(
        self, rng: np.random.Generator, max_rows: int = INIT_SAMPLE_ROWS
    ) -> tuple[Array, Array | None]:
        if self.n_samples <= max_rows:
            return self.X, self.weights
        rows = np.sort(rng.choice(self.n_samples, size=max_rows, replace=False))
        return self.X[rows], None if self.weights is None else self.weights[rows]


def _e_step(
    model: Any, X: Array, params: Any, weights: Array | None, labels: Array | None
) -> tuple[Any, float]:
    if labels is None:
        return model.e_step(X, params, weights)  # type: ignore[no-any-return]
    return model.e_step(X, params, weights, labels)  # type: ignore[no-any-return]


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


Chunk = tuple[Array, Array | None, Array | None]


def _working_dtype(dtype: Any) -> np.dtype[Any]:
    """float32 stays float32; every other numeric type is computed in float64."""
    return np.dtype(np.float32) if np.dtype(dtype) == np.float32 else np.dtype(np.float64)


def _check_chunk_weights(weights: Any, n_rows: int, where: str) -> Array | None:
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


def _validate_chunk(
    model: Any,
    X: Array,
    weights: Array | None,
    labels: Array | None,
    start: int,
) -> None:
    """``model.validate_data`` on one chunk, with the chunk's place in the data in the message."""
    try:
        model.validate_data(X)
        if labels is not None:
            check_labels(labels, X.shape[0], getattr(model, "n_components", None))
    except ValueError as exc:
        raise ValueError(
            f"{exc} (in the chunk of rows {start}..{start + X.shape[0] - 1}; row numbers above "
            "count from the first row of that chunk)"
        ) from None


def _split(chunk: Chunk, size: int) -> Iterator[Chunk]:
    """Cut one chunk into pieces of at most ``size`` rows (bounded E-step temporaries)."""
    X, weights, labels = chunk
    if X.shape[0] <= size:
        yield chunk
        return
    for start in range(0, X.shape[0], size):
        rows = slice(start, start + size)
        yield (
            X[rows],
            None if weights is None else weights[rows],
            None if labels is None else labels[rows],
        )


def _summed_expectation(model: Any, params: Any, chunks: Iterable[Chunk]) -> tuple[Any, float]:
    total_stats, total_ll = None, 0.0
    for X, weights, labels in chunks:
        stats, ll = _e_step(model, X, params, weights, labels)
        total_stats = stats if total_stats is None else add(total_stats, stats)
        total_ll += ll
    if total_stats is None:
        raise ValueError("the data source yielded no rows")
    return total_stats, total_ll


class ChunkSource:
    """A re-iterable sequence of row chunks: exact EM over data that never sits in one array.

    Every EM iteration is one pass over the chunks, so they must come out the same (same rows,
    same order) on every pass; a pass that yields a different number of rows raises
    ``ValueError``. A one-shot iterator or generator cannot be re-read: pass a function that
    returns a fresh one, or fit it with :func:`emkit.online.fit_online` instead.

    Parameters
    ----------
    chunks : list or tuple of chunks, or a callable returning an iterator of chunks
        A chunk is an array of shape (n_i, n_features), or a tuple ``(X_i, weights_i)`` or
        ``(X_i, weights_i, labels_i)`` where ``weights_i`` (n_i,) and ``labels_i`` (n_i,) may be
        ``None``. Every chunk is cast to the dtype of the first one (float32 stays float32,
        other numeric types become float64).
    chunk_size : int, optional
        Chunks with more rows are split into pieces of this many rows for the E-step (by default
        a size chosen from :data:`CHUNK_BYTES` and the model).

    Notes
    -----
    The sizes (``n_samples``, ``total_weight``) come from one pass over the chunks the first
    time they are needed; :meth:`validate` makes that pass and checks every chunk on the way.
    :meth:`init_sample` draws a uniform sample without replacement by reservoir sampling: each
    row gets a uniform random key and the ``max_rows`` smallest keys are kept, chunk by chunk.
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
        self._summary: tuple[int, int, float, np.dtype[Any]] | None = None

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
                if not 1 <= len(item) <= 3:
                    raise ValueError(
                        f"{where} must be an array or a tuple (X, weights[, labels]); got a "
                        f"tuple of {len(item)} items"
                    )
                X, weights, labels = (*item, None, None)[:3]
            else:
                X, weights, labels = item, None, None
            if check or dtype is None:
                X = check_array(X, f"X ({where}, from row {start})", dtype=dtype)
                dtype = X.dtype
                weights = _check_chunk_weights(weights, X.shape[0], where)
                if labels is not None:
                    labels = check_labels(labels, X.shape[0])
            else:
                X = np.asarray(X, dtype=dtype)
                weights = None if weights is None else np.asarray(weights, dtype=np.float64)
                labels = None if labels is None else np.asarray(labels, dtype=np.intp)
            start += X.shape[0]
            yield X, weights, labels

    def _scan(self, model: Any | None) -> tuple[int, int, float, np.dtype[Any]]:
        n_rows, n_features, weight, dtype = 0, -1, 0.0, None
        for X, weights, labels in self._raw_chunks(None, check=True):
            if dtype is None:
                n_features, dtype = X.shape[1], X.dtype
            elif X.shape[1] != n_features:
                raise ValueError(
                    f"every chunk of `X` must have {n_features} columns like the first; the "
                    f"chunk starting at row {n_rows} has {X.shape[1]}"
                )
            if model is not None:
                _validate_chunk(model, X, weights, labels, n_rows)
            n_rows += X.shape[0]
            weight += X.shape[0] if weights is None else float(weights.sum())
        if dtype is None or n_rows == 0:
            raise ValueError("`X` must hold at least one row; its chunks are all empty")
        if weight <= 0:
            raise ValueError("the chunk weights must have at least one positive entry; all are 0")
        return n_rows, n_features, weight, dtype

    def _sizes(self) -> tuple[int, int, float, np.dtype[Any]]:
        if self._summary is None:
            self._summary = self._scan(None)
        return self._summary

    @property
    def n_samples(self) -> int:
        return self._sizes()[0]

    @property
    def n_features(self) -> int:
        return self._sizes()[1]

    @property
    def total_weight(self) -> float:
        return self._sizes()[2]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._sizes()[3]

    def validate(self, model: Any) -> None:
        """One pass: check every chunk (shape, finiteness, weights, labels, the model's domain)."""
        self._summary = self._scan(model)

    def iter_chunks(self, model: Any) -> Iterator[Chunk]:
        """``(X, weights, labels)`` pieces of at most ``chunk_size`` rows, in stream order."""
        n_rows, n_features, _, dtype = self._sizes()
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
            yield from _split(chunk, size)
        if seen != n_rows:
            raise ValueError(
                f"the chunks of `X` changed between passes: this pass had {seen} rows, the "
                f"first had {n_rows}; the callable must return the same chunks every time"
            )

    def expectation(self, model: Any, params: Any) -> tuple[Any, float]:
        return _summed_expectation(model, params, self.iter_chunks(model))

    def init_sample(
        self, rng: np.random.Generator, max_rows: int = INIT_SAMPLE_ROWS
    ) -> tuple[Array, Array | None]:
        n_rows, _, _, dtype = self._sizes()
        chunks = self._raw_chunks(dtype, check=False)
        if n_rows <= max_rows:
            # Small data: every row, in stream order (as ArraySource returns it).
            parts = list(chunks)
            X = np.concatenate([x for x, _, _ in parts])
            if all(w is None for _, w, _ in parts):
                return X, None
            return X, np.concatenate([np.ones(x.shape[0]) if w is None else w for x, w, _ in parts])
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
    for X, w, _ in chunks:
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


@final
class MemmapSource(_IndexedRows):
    """A ``.npy`` file (or a ``np.memmap``) read in row blocks: exact EM on data larger than RAM.

    The file is opened with ``np.load(path, mmap_mode="r")`` and every pass copies one block of
    rows at a time into memory, so the memory a fit needs is bounded by the block size (about
    :data:`CHUNK_BYTES`), not by the file. Pages of a block are handed back to the operating
    system once the block has been used, so the resident size stays bounded as well.

    Parameters
    ----------
    X : str, os.PathLike or numpy.memmap
        Path to a 2-D ``.npy`` file of numbers, or an open memory map.
    sample_weight : array-like of shape (n_samples,), optional
        In memory, or itself a memory map.
    labels : int array-like of shape (n_samples,), optional
        Known components, -1 where unknown.
    chunk_size : int, optional
        Rows per block (default: from :data:`CHUNK_BYTES` and the model).
    """

    def __init__(
        self,
        X: Any,
        sample_weight: Any = None,
        labels: Any = None,
        chunk_size: int | None = None,
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
        self._dtype = _working_dtype(X.dtype)
        self._set_row_data(sample_weight, labels, chunk_size)

    def _blocks(self, size: int, check: bool) -> Iterator[tuple[int, Chunk]]:
        for start in range(0, self.n_samples, size):
            rows = slice(start, start + size)
            if check:
                stop = min(start + size, self.n_samples)
                X = check_array(self.X[rows], f"X (rows {start}..{stop - 1})", dtype=self._dtype)
            else:
                X = np.array(self.X[rows], dtype=self._dtype)
            _release_pages(self.X, start, min(start + size, self.n_samples))
            yield (
                start,
                (
                    X,
                    None if self.weights is None else self.weights[rows],
                    None if self.labels is None else self.labels[rows],
                ),
            )

    def validate(self, model: Any) -> None:
        """One pass over the file: finite values in the model's domain, block by block."""
        for start, (X, weights, labels) in self._blocks(self._chunk_rows(model), check=True):
            _validate_chunk(model, X, weights, labels, start)

    def iter_chunks(self, model: Any) -> Iterator[Chunk]:
        """``(X, weights, labels)`` of every row block, copied into memory one at a time."""
        for _, chunk in self._blocks(self._chunk_rows(model), check=False):
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
    """Which source :func:`as_source` makes of ``X``, without reading any rows.

    Returns one of ``"source"`` (already a :class:`DataSource`), ``"dask"``, ``"memmap"``
    (a ``.npy`` path or a ``np.memmap``), ``"chunks"``, ``"iterator"`` (a one-shot iterator,
    which :func:`as_source` refuses) or ``"array"`` (everything else: in memory).
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
    X: Any, sample_weight: Any = None, labels: Any = None, chunk_size: int | None = None
) -> DataSource:
    """Wrap ``X`` as a :class:`DataSource`, chosen by its type.

    * a :class:`DataSource`: returned as it is;
    * a ``dask.array.Array``: :class:`DaskSource` (persisted once; for a Dask DataFrame pass
      ``df.to_dask_array(lengths=True)``);
    * a path (``str`` or ``os.PathLike``) ending in ``.npy``, or a ``numpy.memmap``:
      :class:`MemmapSource`;
    * a list or tuple of 2-D arrays (or DataFrames, or ``(X, weights[, labels])`` tuples), or a
      callable returning a fresh iterator of them: :class:`ChunkSource`;
    * anything else array-like: :class:`ArraySource`.

    ``sample_weight`` and ``labels`` go with in-memory, memory-mapped and Dask data; a chunk
    stream carries its weights and labels in its chunks.
    """
    kind = source_kind(X)
    if kind == "source":
        if sample_weight is not None or labels is not None:
            raise ValueError(
                "`sample_weight` and `labels` must be given to the source itself, not to fit"
            )
        return X  # type: ignore[no-any-return]
    if kind == "dask":
        return DaskSource(X, sample_weight=sample_weight, labels=labels)
    if kind == "memmap":
        if not isinstance(X, np.memmap) and not os.fspath(X).endswith(".npy"):
            raise ValueError(
                f"`X` given as a path must name a .npy file (saved with numpy.save); got {X!r}"
            )
        return MemmapSource(X, sample_weight, labels, chunk_size)
    if kind == "chunks":
        if sample_weight is not None or labels is not None:
            raise ValueError(
                "`sample_weight` and `labels` cannot be given with a chunk stream `X`; put them "
                "in the chunks as (X_i, weights_i, labels_i) tuples"
            )
        return ChunkSource(X, chunk_size=chunk_size)
    if kind == "iterator":
        raise TypeError(
            "`X` is a one-shot iterator, but EM reads the data once per iteration: pass a "
            "callable that returns a fresh iterator of chunks, or fit the stream with "
            "emkit.online.fit_online"
        )
    return ArraySource(X, sample_weight=sample_weight, labels=labels, chunk_size=chunk_size)


from emkit._dask import DaskSource  # noqa: E402  (needs the helpers above; imports no dask)
