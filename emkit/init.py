"""Starting points for EM: k-means++, k-means, random responsibilities, random data points.

Each method returns *responsibilities* (n_samples, n_components); a model turns them into
parameters with one M-step, so every family gets every method for free. All distances are
computed on rows shifted by their mean, so data far from the origin seeds as well as centred data.

**Weights are repeats.** A row of integer weight ``w`` starts EM exactly where ``w`` copies of the
row would, a row of weight 0 exactly where the data without it would, and the order of the rows
does not matter (scikit-learn's ``check_sample_weight_equivalence`` fits a shuffled, weighted
copy of the data against the repeated one). Every method therefore works on the *distinct* rows
of positive weight, each with its summed weight, in the lexicographic order of their values (an
order that depends on the values alone, and that shifting or scaling the data keeps); the
distinct rows of the repeated data and of the weighted data are then the same array, and so are
the random draws and every result. Random choices of rows are made by inverse CDF of the
cumulative weights; ties go to the first row in that order; k-means moves a whole distinct row
(all of its weight) into an empty cluster. Every row gets the responsibilities of its distinct
row; a row of weight 0 gets the label of its nearest center (it has no effect on the M-step).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from emkit._backend import Array
from emkit._validation import check_choice

__all__ = [
    "INIT_METHODS",
    "initial_responsibilities",
    "kmeans",
    "kmeans_plusplus",
    "nearest_center",
]

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")
"""The names accepted by [`initial_responsibilities`][emkit.init.initial_responsibilities]."""

#: Lloyd iterations of the "kmeans" method and its tolerance on the relative inertia change.
KMEANS_MAX_ITER = 100
KMEANS_TOL = 1e-6


def _squared_distances(X: Array, centers: Array, row_norms: Array | None = None) -> Array:
    """``||x_n - c_k||^2`` as (n, k), from one matrix product (X and centers already shifted).

    ``row_norms`` (``||x_n||^2``) may be passed by callers that measure many times against the
    same rows, so that each call costs the product only.
    """
    if row_norms is None:
        row_norms = np.einsum("nd,nd->n", X, X)
    d = X @ centers.T
    d *= -2.0
    d += row_norms[:, None]
    d += np.einsum("kd,kd->k", centers, centers)
    return np.asarray(np.maximum(d, 0.0, out=d))


# -- distinct rows in a canonical order ---------------------------------------------------------
class _Distinct(NamedTuple):
    """The distinct rows of positive weight of some ``X``, in canonical order.

    ``rows`` (m, D) and their summed weights ``weight`` (m,); ``group`` (n,) is the distinct row
    of every row of ``X`` (-1 for a row of weight 0) and ``first`` (m,) the first row of ``X``
    holding each distinct row.
    """

    rows: Array
    weight: Array
    group: Array
    first: Array


def _canonical_groups(values: Array) -> tuple[Array, Array]:
    """Group id of every row of ``values`` (equal rows, one group) and the first row of each.

    Groups are numbered in the lexicographic order of their values: an order that depends on
    the values only, never on where the rows are or how often they repeat, and that shifting
    or positively scaling a column keeps. The rows are sorted by their first column, then only
    the rows still tied are sorted by the next column, and so on, so data whose first column
    tells the rows apart costs one sort of one column.
    """
    n, n_features = values.shape
    order = np.argsort(values[:, 0], kind="stable")
    new = np.ones(n, dtype=bool)
    column = values[order, 0]
    np.not_equal(column[1:], column[:-1], out=new[1:])
    for j in range(1, n_features):
        tied = ~new  # the row equals the one before it in columns 0..j-1
        if not tied.any():
            break
        in_block = tied.copy()
        in_block[:-1] |= tied[1:]
        where = np.flatnonzero(in_block)
        block = np.cumsum(new)[where]
        rows = order[where]
        # Stable, by block first and column j second: equal rows keep the order they had in X.
        rows = rows[np.lexsort((values[rows, j], block))]
        order[where] = rows
        column = values[rows, j]
        starts = np.ones(where.size, dtype=bool)
        starts[1:] = (block[1:] != block[:-1]) | (column[1:] != column[:-1])
        new[where] = starts
    groups = np.empty(n, dtype=np.intp)
    groups[order] = np.cumsum(new) - 1
    return groups, order[new]


def _distinct_rows(X: Array, weights: Array | None) -> _Distinct:
    """The distinct rows of positive weight of ``X`` with their summed weights (canonical order).

    The distinct rows of ``(X, w)`` and of ``(np.repeat(X, w, axis=0), None)``, or of any
    permutation of either, are the same array with the same weights (exactly, for integer
    weights: sums of integers are exact), so everything computed from them is identical.
    """
    n = X.shape[0]
    kept = np.arange(n) if weights is None else np.flatnonzero(weights > 0)
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    # Without zero weights every row is kept: no copy of X unless it holds a -0.0, which
    # becomes 0.0 so that equal rows are equal bit for bit.
    values = X.astype(dtype, copy=False) if kept.shape[0] == n else X[kept].astype(dtype)
    zeros = values == 0
    if zeros.any() and np.signbit(values[zeros]).any():
        values = values + 0.0
    groups, first = _canonical_groups(values)
    m = first.shape[0]
    kept_weights = None if weights is None else weights[kept]
    weight = np.bincount(groups, weights=kept_weights, minlength=m).astype(np.float64)
    group = np.full(n, -1, dtype=np.intp)
    group[kept] = groups
    return _Distinct(values[first], weight, group, kept[first])


def _labels_of_rows(
    X: Array, distinct: _Distinct, labels: Array, centers: Array, shift: Array
) -> Array:
    """Labels of every row of ``X`` from those of its distinct row (nearest center if weight 0)."""
    rows = np.where(distinct.group >= 0, labels[np.maximum(distinct.group, 0)], 0)
    zero = np.flatnonzero(distinct.group < 0)
    if zero.size:
        rows[zero] = np.argmin(_squared_distances(X[zero] - shift, centers), axis=1)
    return np.asarray(rows, dtype=np.intp)


def _too_few_distinct(count: int, n_clusters: int) -> ValueError:
    return ValueError(
        f"`X` has only {count} distinct row(s) with positive weight, fewer than "
        f"n_components={n_clusters}; reduce n_components or remove duplicate rows"
    )


# -- random draws of rows ------------------------------------------------------------------------
def _inverse_cdf(cumulative: Array, u: Array) -> Array:
    """Rows drawn by inverse CDF: the first row whose cumulative weight exceeds ``u * total``.

    ``side="right"`` never returns a row of weight 0 (its cumulative weight equals the one
    before it), and a draw that rounds up to the total goes to the last row of positive weight.
    """
    total = cumulative[-1]
    last = np.searchsorted(cumulative, total, side="left")
    return np.asarray(np.minimum(np.searchsorted(cumulative, u * total, side="right"), last))


def _seeds(
    Xs: Array,
    w: Array,
    n_clusters: int,
    rng: np.random.Generator,
    n_local_trials: int | None = None,
) -> Array:
    """Greedy k-means++ on distinct, shifted rows ``Xs`` with weights ``w``: seed row indices."""
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    indices = np.empty(n_clusters, dtype=np.intp)
    indices[0] = _inverse_cdf(np.cumsum(w), rng.random(1))[0]
    # ||x||^2 once: every step then costs one (n, D) x (D, trials) product.
    norms = np.einsum("nd,nd->n", Xs, Xs)
    closest = _squared_distances(Xs, Xs[indices[:1]], norms)[:, 0]
    for c in range(1, n_clusters):
        cumulative = np.cumsum(w * closest)
        if not cumulative[-1] > 0.0:
            # Rows apart in value but not in computed distance (all at distance 0 of a seed).
            raise _too_few_distinct(c, n_clusters)
        candidates = _inverse_cdf(cumulative, rng.random(n_local_trials))
        trial = np.minimum(closest[None, :], _squared_distances(Xs, Xs[candidates], norms).T)
        best = int(np.argmin(trial @ w))
        indices[c] = candidates[best]
        closest = trial[best]
    return indices


def _draw_without_replacement(w: Array, count: int, rng: np.random.Generator) -> Array:
    """``count`` distinct rows, each drawn with probability proportional to its weight among
    the rows not drawn yet (like drawing rows of the repeated data until ``count`` differ).

    Equal weights (data without weights or repeated rows) make that a uniform draw, taken with
    numpy's own ``choice``: the rows it picks for a seed are the ones emkit always picked there.
    """
    if np.all(w == w[0]):
        return np.asarray(rng.choice(w.shape[0], count, replace=False))
    remaining = w.copy()
    chosen = np.empty(count, dtype=np.intp)
    for j in range(count):
        chosen[j] = _inverse_cdf(np.cumsum(remaining), rng.random(1))[0]
        remaining[chosen[j]] = 0.0
    return chosen


# -- k-means -------------------------------------------------------------------------------------
def _fill_empty(labels: Array, nearest: Array, n_clusters: int) -> None:
    """Give every empty cluster the distinct row farthest from its center (in place).

    The row moves with all of its weight (it stands for all of its copies), and only rows of
    clusters that keep another row are moved, so no cluster is emptied in turn; ties go to the
    first row. With at least ``n_clusters`` distinct rows such a row always exists.
    """
    for k in np.flatnonzero(np.bincount(labels, minlength=n_clusters) == 0):
        members = np.bincount(labels, minlength=n_clusters)
        movable = members[labels] > 1
        row = int(np.argmax(np.where(movable, nearest, -1.0)))
        labels[row] = k
        nearest[row] = 0.0


def _lloyd(Xs: Array, w: Array, centers: Array, max_iter: int, tol: float) -> tuple[Array, Array]:
    """Lloyd's algorithm on distinct, shifted rows with weights: (labels, centers)."""
    n, n_clusters = Xs.shape[0], centers.shape[0]
    norms = np.einsum("nd,nd->n", Xs, Xs)
    previous = np.inf
    labels = np.zeros(n, dtype=np.intp)
    for _ in range(max_iter):
        distances = _squared_distances(Xs, centers, norms)
        labels = np.argmin(distances, axis=1)
        nearest = distances[np.arange(n), labels]
        inertia = float(w @ nearest)
        _fill_empty(labels, nearest, n_clusters)
        one_hot = np.eye(n_clusters)[labels] * w[:, None]
        sizes = one_hot.sum(axis=0)
        centers = (one_hot.T @ Xs) / np.maximum(sizes, np.finfo(float).tiny)[:, None]
        if previous - inertia <= tol * max(inertia, np.finfo(float).tiny):
            break
        previous = inertia
    return labels, centers


def _shifted(X: Array, weights: Array | None, n_clusters: int) -> tuple[_Distinct, Array, Array]:
    """The distinct rows of ``X``, the same shifted by their weighted mean, and that mean.

    Raises the ValueError of too few distinct rows (of positive weight) for ``n_clusters``.
    """
    distinct = _distinct_rows(X, weights)
    if distinct.rows.shape[0] < n_clusters:
        raise _too_few_distinct(distinct.rows.shape[0], n_clusters)
    shift = np.average(distinct.rows, axis=0, weights=distinct.weight)
    return distinct, distinct.rows - shift, shift


def kmeans_plusplus(
    X: Array,
    n_clusters: int,
    rng: np.random.Generator,
    weights: Array | None = None,
    n_local_trials: int | None = None,
) -> Array:
    """Row indices of ``n_clusters`` seeds chosen by greedy k-means++ (Arthur & Vassilvitskii).

    Each new seed is the best of ``n_local_trials`` candidates drawn with probability
    proportional to the (weighted) squared distance to the nearest seed so far; the distances of
    all candidates come from one matrix product. The seeds are drawn among the distinct rows of
    positive weight, so their values do not depend on the order of the rows nor on whether a
    row is repeated or weighted; the index returned is the first row holding each seed.

    Raises
    ------
    ValueError
        If ``X`` has fewer distinct rows (with positive weight) than ``n_clusters``.
    """
    distinct, Xs, _ = _shifted(X, weights, n_clusters)
    return np.asarray(distinct.first[_seeds(Xs, distinct.weight, n_clusters, rng, n_local_trials)])


def nearest_center(X: Array, centers: Array) -> Array:
    """Index of the nearest center for every row, shape (n,); ties go to the first center."""
    shift = centers.mean(axis=0)
    return np.asarray(np.argmin(_squared_distances(X - shift, centers - shift), axis=1))


def kmeans(
    X: Array,
    n_clusters: int,
    rng: np.random.Generator,
    weights: Array | None = None,
    max_iter: int = KMEANS_MAX_ITER,
    tol: float = KMEANS_TOL,
) -> Array:
    """Hard labels (n,) from Lloyd's algorithm started at k-means++ seeds.

    Runs on the distinct rows of positive weight (see the module notes), so a row weighted by
    ``w`` gets the label that each of its ``w`` copies would. An empty cluster takes the
    distinct row farthest from its center, with all of its weight, so every label is used.
    """
    labels, centers, shift, distinct = _kmeans(X, n_clusters, rng, weights, max_iter, tol)
    return _labels_of_rows(X, distinct, labels, centers, shift)


def _kmeans(
    X: Array,
    n_clusters: int,
    rng: np.random.Generator,
    weights: Array | None,
    max_iter: int = KMEANS_MAX_ITER,
    tol: float = KMEANS_TOL,
) -> tuple[Array, Array, Array, _Distinct]:
    distinct, Xs, shift = _shifted(X, weights, n_clusters)
    seeds = _seeds(Xs, distinct.weight, n_clusters, rng)
    labels, centers = _lloyd(Xs, distinct.weight, Xs[seeds], max_iter, tol)
    return labels, centers, shift, distinct


def initial_responsibilities(
    X: Array,
    n_components: int,
    method: str,
    rng: np.random.Generator,
    weights: Array | None = None,
) -> Array:
    """Responsibilities (n, n_components) to start EM from, by ``method``.

    * ``"kmeans"``: one-hot labels of k-means (Lloyd from k-means++ seeds);
    * ``"k-means++"``: one-hot labels of the nearest k-means++ seed;
    * ``"random"``: uniform random responsibilities, normalised, drawn once per *distinct*
      row (of positive weight) and shared by its copies;
    * ``"random_from_data"``: one-hot labels of the nearest of ``n_components`` distinct rows,
      each drawn with probability proportional to its weight (its number of copies) among the
      rows not drawn yet.

    Every method gives the same responsibilities to a row of integer weight ``w`` as to each of
    its ``w`` copies, ignores rows of weight 0, and does not depend on the order of the rows.
    For ``"random"`` this is a choice: drawing independent responsibilities for every copy of
    a row (as scikit-learn does) cannot be reproduced from one weighted row. Sharing them
    treats a responsibility as what every E-step makes it, a function of the row's value; on
    data without repeated rows or weights both are the same distribution.
    """
    check_choice(method, "init", INIT_METHODS)
    n = X.shape[0]
    # A row of weight 0 is no sample at all.
    n_positive = n if weights is None else int(np.count_nonzero(weights > 0))
    if n_components > n_positive:
        which = "" if weights is None else " with positive weight"
        raise ValueError(
            f"`n_components` must be <= the number of samples{which} ({n_positive}); "
            f"got {n_components}"
        )
    if method == "random":
        distinct = _distinct_rows(X, weights)
        drawn = rng.uniform(size=(distinct.rows.shape[0], n_components))
        drawn /= drawn.sum(axis=1, keepdims=True)
        resp = np.full((n, n_components), 1.0 / n_components)
        positive = distinct.group >= 0
        resp[positive] = drawn[distinct.group[positive]]
        return resp
    if method == "kmeans":
        labels, centers, shift, distinct = _kmeans(X, n_components, rng, weights)
    else:
        distinct, Xs, shift = _shifted(X, weights, n_components)
        if method == "k-means++":
            chosen = _seeds(Xs, distinct.weight, n_components, rng)
        else:
            chosen = _draw_without_replacement(distinct.weight, n_components, rng)
        centers = Xs[chosen]
        labels = np.argmin(_squared_distances(Xs, centers), axis=1)
    return np.eye(n_components)[_labels_of_rows(X, distinct, labels, centers, shift)]
