"""Dask arrays as a data source: one EM iteration is one map-reduce on the cluster.

The rows stay where Dask keeps them (persisted once, in the workers' memory). Each iteration sends
the small parameters, maps ``model.e_step`` over the row blocks, and sums the per-block
``(statistics, log-likelihood)`` in a tree of fan-in ``TREE_FAN_IN``; only the summed
statistics come back, and the M-step runs on the client. Tasks are pure functions of (model,
parameters, block), so a task that Dask re-runs after losing a worker returns the same value and
each block is counted exactly once.

dask is imported only when a Dask array reaches emkit (the ``dask`` extra).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, NamedTuple, TypeVar, final

import numpy as np

from emkit._backend import Array
from emkit._validation import check_array, check_sample_weight
from emkit.protocols import Chunk, LatentVariableModel
from emkit.sources.chunking import (
    INIT_SAMPLE_ROWS,
    blocks_for,
    check_labels,
    check_lengths,
    chunk_e_step,
    chunk_spans,
    validate_chunk,
    working_dtype,
)
from emkit.stats import add

__all__ = ["TREE_FAN_IN", "DaskSource", "active_client"]

P = TypeVar("P")
S = TypeVar("S")

#: Number of partial sums combined by one task of the reduction tree.
TREE_FAN_IN = 8

_INSTALL_HINT = "pip install 'emkit[dask]'"

#: Processes in which BLAS was already pinned to one thread (a worker's lifetime).
_PINNED_PIDS: set[int] = set()


def _import_dask() -> Any:
    try:
        import dask
        import dask.array
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f"fitting a Dask array needs dask and dask.distributed: {_INSTALL_HINT}"
        ) from exc
    return dask


def _threadpool_limits(limits: int) -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"fitting a Dask array needs threadpoolctl: {_INSTALL_HINT}") from exc
    return threadpool_limits(limits=limits, user_api="blas")


def active_client() -> Any:
    """The active ``dask.distributed`` Client, or ``None`` (then the local threads scheduler)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()  # type: ignore[no-untyped-call]
    except ValueError:
        return None


def _pin_worker_blas(client_pid: int) -> None:
    """One BLAS thread per task thread in a worker process.

    Dask already runs one task per core; a multi-threaded BLAS inside every task would start
    cores x cores threads that fight for the same cores. The limit is set once per worker process
    and kept (the process belongs to Dask). In the client's own process (threads scheduler, or a
    cluster of in-process workers) the client pins BLAS around the computation instead.
    """
    pid = os.getpid()
    if pid != client_pid and pid not in _PINNED_PIDS:
        _threadpool_limits(1)
        _PINNED_PIDS.add(pid)


def _block_e_step(
    model: LatentVariableModel[P, S],
    params: P,
    X: Array,
    weights: Array | None,
    labels: Array | None,
    lengths: Array | None,
    dtype: np.dtype[Any],
    client_pid: int,
) -> tuple[S, float]:
    _pin_worker_blas(client_pid)
    return chunk_e_step(model, Chunk(np.asarray(X, dtype=dtype), weights, labels, lengths), params)


def _block_check(
    model: LatentVariableModel[Any, Any],
    X: Array,
    weights: Array | None,
    labels: Array | None,
    start: int,
    dtype: np.dtype[Any],
    client_pid: int,
) -> float:
    """Validate one block on its worker; returns its total weight."""
    _pin_worker_blas(client_pid)
    X = check_array(X, f"X (rows {start}..{start + len(X) - 1})", dtype=dtype, allow_missing=True)
    validate_chunk(model, Chunk(X, weights, labels), start)
    return float(X.shape[0] if weights is None else np.sum(weights))


class _Layout(NamedTuple):
    """The row blocks of a pass: the arrays, where each block starts and the sequences in it."""

    X: Any
    weights: Any
    labels: Any
    starts: list[int]
    lengths: list[Array | None]


def _aligned_chunks(lengths: Array, n_rows: int, row_chunks: tuple[int, ...]) -> tuple[int, ...]:
    """Row chunks of about the current block size that end only where a sequence or group does."""
    size = max(row_chunks)
    return tuple(stop - start for start, stop, _ in chunk_spans(lengths, n_rows, size))


def _block_lengths(lengths: Array, row_chunks: tuple[int, ...]) -> list[Array | None]:
    """The sizes of the sequences in each row chunk (the chunks end where sequences end)."""
    ends = np.cumsum(lengths)
    bounds = np.searchsorted(ends, np.cumsum(row_chunks), side="right")
    firsts = np.concatenate([[0], bounds[:-1]])
    return [lengths[a:b] for a, b in zip(firsts.tolist(), bounds.tolist(), strict=True)]


def _sum_partials(*parts: tuple[Any, float]) -> tuple[Any, float]:
    stats, ll = parts[0]
    for more_stats, more_ll in parts[1:]:
        stats, ll = add(stats, more_stats), ll + more_ll
    return stats, ll


def _sum_floats(*values: float) -> float:
    return float(sum(values))


@final
class DaskSource:
    """A ``dask.array.Array`` of shape (n_samples, n_features), fitted where its blocks live.

    With a ``dask.distributed`` Client active (``distributed.default_client()``), every pass
    runs on its cluster; without one, on the local threads scheduler. ``emkit.fit(model, X)``
    with a Dask ``X`` is all it takes to fit on an existing cluster.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Rechunked to whole rows (one block across the columns) if needed, then persisted once.
    sample_weight : array-like or dask array of shape (n_samples,), optional
    labels : int array-like or dask array of shape (n_samples,), optional
        Known components, -1 where unknown.
    persist : bool, default True
        Keep the blocks in (cluster) memory across iterations. Without it every iteration
        recomputes ``X`` from its graph (for data read from storage that does not fit in the
        cluster's memory).
    lengths : int array-like of shape (n_blocks,), optional
        Sizes of consecutive sequences (or groups) of rows, summing to n_samples: the row blocks
        are re-cut so that each holds whole sequences (see
        [`RowBlocks`][emkit.protocols.RowBlocks]). Without ``lengths``, a model whose rows come
        in blocks has its default blocks aligned the same way when it is fitted.
    """

    def __init__(
        self,
        X: Any,
        sample_weight: Any = None,
        labels: Any = None,
        *,
        persist: bool = True,
        lengths: Any = None,
    ) -> None:
        dask = _import_dask()
        da = dask.array
        if X.ndim != 2:
            raise ValueError(f"`X` must be a 2-D array; got {X.ndim}-D with shape {X.shape}")
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_) or np.issubdtype(
            X.dtype, np.complexfloating
        ):
            raise TypeError(f"`X` must hold real numbers; got dtype {X.dtype}")
        if any(np.isnan(c) for c in X.chunks[0]):
            X = X.compute_chunk_sizes()
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(f"`X` must have at least one row and one column; got shape {X.shape}")
        if X.numblocks[1] > 1:
            X = X.rechunk({1: -1})
        self.lengths = None if lengths is None else check_lengths(lengths, X.shape[0])
        if self.lengths is not None:
            X = X.rechunk({0: _aligned_chunks(self.lengths, X.shape[0], X.chunks[0])})
        self._dtype = working_dtype(X.dtype)
        self._persist = persist
        row_chunks = X.chunks[0]
        weights = labels_ = None
        if sample_weight is not None:
            if not _is_dask(sample_weight):
                sample_weight = check_sample_weight(sample_weight, X.shape[0])
            weights = da.asarray(sample_weight).astype(np.float64).rechunk((row_chunks,))
            if weights.shape != (X.shape[0],):
                raise ValueError(
                    f"`sample_weight` must have one entry per row of X ({X.shape[0]}); got "
                    f"shape {weights.shape}"
                )
        if labels is not None:
            if not _is_dask(labels):
                labels = check_labels(labels, X.shape[0])
            labels_ = da.asarray(labels).astype(np.intp).rechunk((row_chunks,))
            if labels_.shape != (X.shape[0],):
                raise ValueError(
                    f"`labels` must have shape (n_samples,) = ({X.shape[0]},); got {labels_.shape}"
                )
        if persist:
            X, weights, labels_ = _persisted(X, weights, labels_)
        self.X = X
        self.sample_weight = weights
        self._labels = labels_
        self._layouts: dict[tuple[int, ...], _Layout] = {}
        self._total_weight: float | None = None if weights is not None else float(X.shape[0])

    # -- sizes -------------------------------------------------------------------------------------
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
        return self._labels is not None

    @property
    def total_weight(self) -> float:
        if self._total_weight is None:
            assert self.sample_weight is not None
            self._total_weight = float(self._compute(self.sample_weight.sum())[0])
        return self._total_weight

    # -- passes ------------------------------------------------------------------------------------
    def _layout(self, model: LatentVariableModel[Any, Any]) -> _Layout:
        """The row blocks a pass of ``model`` visits: as given, or re-cut at sequence ends.

        A model whose rows come in blocks ([`RowBlocks`][emkit.protocols.RowBlocks]) fitted
        without ``lengths`` gets its default blocks aligned here, once per block structure.
        """
        X, weights, labels = self.X, self.sample_weight, self._labels
        blocks = blocks_for(model, self.n_samples, self.lengths)
        if blocks is not None and self.lengths is None:
            chunks = _aligned_chunks(blocks, self.n_samples, X.chunks[0])
            if chunks != X.chunks[0]:
                X = X.rechunk({0: chunks})
                weights = None if weights is None else weights.rechunk((chunks,))
                labels = None if labels is None else labels.rechunk((chunks,))
                if self._persist:
                    X, weights, labels = _persisted(X, weights, labels)
        key = tuple(X.chunks[0])
        if key in self._layouts:
            return self._layouts[key]
        starts = np.concatenate([[0], np.cumsum(key)[:-1]]).astype(int).tolist()
        lengths: list[Array | None] = (
            [None] * len(key) if blocks is None else _block_lengths(blocks, key)
        )
        layout = _Layout(X, weights, labels, starts, lengths)
        self._layouts[key] = layout
        return layout

    def _block_args(
        self, model: LatentVariableModel[Any, Any]
    ) -> list[tuple[Any, Any, Any, int, Array | None]]:
        layout = self._layout(model)
        blocks = layout.X.to_delayed().ravel().tolist()
        n = len(blocks)
        weights = (
            [None] * n if layout.weights is None else layout.weights.to_delayed().ravel().tolist()
        )
        labels = (
            [None] * n if layout.labels is None else layout.labels.to_delayed().ravel().tolist()
        )
        return list(zip(blocks, weights, labels, layout.starts, layout.lengths, strict=True))

    def _compute(self, *nodes: Any) -> list[Any]:
        """Compute Dask collections (``None`` passes through) on the client or locally."""
        dask = _import_dask()
        client = active_client()
        wanted = [node for node in nodes if node is not None]
        # BLAS in this process (threads scheduler, in-process workers) gets one thread per task
        # thread for the duration of the pass; worker processes pin themselves.
        with _threadpool_limits(1):
            if client is not None:
                values = client.gather(client.compute(wanted))
            else:
                values = dask.compute(*wanted, scheduler="threads")
        results = iter(values)
        return [None if node is None else next(results) for node in nodes]

    def _tree_sum(self, parts: list[Any], combine: Any) -> Any:
        dask = _import_dask()
        while len(parts) > 1:
            parts = [
                dask.delayed(combine, pure=True)(*parts[i : i + TREE_FAN_IN])
                for i in range(0, len(parts), TREE_FAN_IN)
            ]
        return parts[0]

    def validate(self, model: LatentVariableModel[Any, Any]) -> None:
        """Check every block on the workers (finite, in the model's domain, labels in range)."""
        dask = _import_dask()
        model_node = dask.delayed(model, traverse=False)
        pid = os.getpid()
        checks = [
            dask.delayed(_block_check, pure=True)(model_node, X, w, lab, start, self._dtype, pid)
            for X, w, lab, start, _ in self._block_args(model)
        ]
        total = float(self._compute(self._tree_sum(checks, _sum_floats))[0])
        if total <= 0:
            raise ValueError("`sample_weight` must have at least one positive entry; all are 0")
        self._total_weight = total

    def expectation(self, model: LatentVariableModel[P, S], params: P) -> tuple[S, float]:
        dask = _import_dask()
        # One node for the model and one for the parameters: shipped once per worker, not once
        # per block.
        model_node = dask.delayed(model, traverse=False)
        params_node = dask.delayed(params, traverse=False)
        pid = os.getpid()
        parts = [
            dask.delayed(_block_e_step, pure=True)(
                model_node, params_node, X, w, lab, lengths, self._dtype, pid
            )
            for X, w, lab, _, lengths in self._block_args(model)
        ]
        stats, ll = self._compute(self._tree_sum(parts, _sum_partials))[0]
        return stats, float(ll)

    def iter_chunks(self, model: LatentVariableModel[Any, Any]) -> Iterator[Chunk]:
        """Every row block as a [`Chunk`][emkit.protocols.Chunk], fetched to the client one at a
        time."""
        for X, w, lab, _, lengths in self._block_args(model):
            block, weights, labels = self._compute(X, w, lab)
            yield Chunk(np.asarray(block, dtype=self._dtype), weights, labels, lengths)

    def init_sample(
        self, rng: np.random.Generator, max_rows: int = INIT_SAMPLE_ROWS
    ) -> tuple[Array, Array | None]:
        # The same draw as ArraySource, so that an array and a Dask array of it start alike.
        if self.n_samples <= max_rows:
            X, weights = self._compute(self.X, self.sample_weight)
        else:
            rows = np.sort(rng.choice(self.n_samples, size=max_rows, replace=False))
            weights = None if self.sample_weight is None else self.sample_weight[rows]
            X, weights = self._compute(self.X[rows], weights)
        return np.asarray(X, dtype=self._dtype), None if weights is None else np.asarray(weights)


def _persisted(X: Any, weights: Any, labels: Any) -> tuple[Any, Any, Any]:
    """The arrays persisted in (cluster) memory, on the active client or locally."""
    dask = _import_dask()
    client = active_client()
    arrays = [a for a in (X, weights, labels) if a is not None]
    persisted = list(client.persist(arrays) if client is not None else dask.persist(*arrays))
    X = persisted.pop(0)
    weights = persisted.pop(0) if weights is not None else None
    labels = persisted.pop(0) if labels is not None else None
    return X, weights, labels


def _is_dask(value: Any) -> bool:
    return type(value).__module__.startswith("dask.") and hasattr(value, "__dask_graph__")
