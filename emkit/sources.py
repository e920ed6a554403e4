"""Where the data lives: the seam between the EM driver and the rows.

The driver never touches rows itself. It asks a source for

* ``expectation(model, params)``: the E-step statistics and log-likelihood summed over all rows,
* ``init_sample(rng)``: a bounded sample of rows to initialise from,

and a few sizes. Because statistics add over rows, a source is free to visit its rows in any
chunks: the answer is the same as one E-step on everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np

from emkit._backend import Array
from emkit._validation import check_array, check_int, check_sample_weight
from emkit.stats import add

__all__ = [
    "CHUNK_BYTES",
    "INIT_SAMPLE_ROWS",
    "ArraySource",
    "DataSource",
    "as_source",
    "chunk_rows_for",
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


class ArraySource:
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
        self.weights = check_sample_weight(sample_weight, self.X.shape[0])
        self.labels = None if labels is None else check_labels(labels, self.X.shape[0])
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
        return self.X.dtype

    @property
    def total_weight(self) -> float:
        return float(self.n_samples if self.weights is None else self.weights.sum())

    def validate(self, model: Any) -> None:
        model.validate_data(self.X)

    def _chunks(self, model: Any) -> Iterator[tuple[Array, Array | None, Array | None]]:
        size = self.chunk_size or chunk_rows_for(model, self.n_features, self.X.dtype.itemsize)
        for start in range(0, self.n_samples, size):
            rows = slice(start, start + size)
            yield (
                self.X[rows],
                None if self.weights is None else self.weights[rows],
                None if self.labels is None else self.labels[rows],
            )

    def expectation(self, model: Any, params: Any) -> tuple[Any, float]:
        total_stats, total_ll = None, 0.0
        for X, weights, labels in self._chunks(model):
            stats, ll = _e_step(model, X, params, weights, labels)
            total_stats = stats if total_stats is None else add(total_stats, stats)
            total_ll += ll
        return total_stats, total_ll

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


def as_source(
    X: Any, sample_weight: Any = None, labels: Any = None, chunk_size: int | None = None
) -> DataSource:
    """Wrap ``X`` as a :class:`DataSource` (a source is returned as it is)."""
    if isinstance(X, DataSource) and not isinstance(X, np.ndarray):
        if sample_weight is not None or labels is not None:
            raise ValueError(
                "`sample_weight` and `labels` must be given to the source itself, not to fit"
            )
        return X
    return ArraySource(X, sample_weight=sample_weight, labels=labels, chunk_size=chunk_size)
