"""Starting points for EM: responsibilities from k-means, k-means++, random draws, random data
points or model-based hierarchical agglomeration, chosen by name from a small registry.

Each strategy is a pure function ``strategy(X, n_components, rng, weights) -> responsibilities``
of shape (n_samples, n_components); a model turns them into parameters with one M-step, so every
family gets every strategy for free.
[`initial_responsibilities`][emkit.init.initial_responsibilities] picks one by name: the
built-in ones are [`INIT_METHODS`][emkit.init.INIT_METHODS], a plugin adds its own with
[`register_init`][emkit.init.register_init], and [`init_methods`][emkit.init.init_methods] lists
both. All distances are computed on rows shifted
by their mean, so data far from the origin seeds as well as centred data.

The strategies
    ``"kmeans"``
        Lloyd's algorithm from k-means++ seeds; one-hot labels. Cheap and usually good; its
        outcome depends on the seeds, which is why EM is restarted (``n_init``).
    ``"k-means++"``
        The nearest of the greedy k-means++ seeds (Arthur & Vassilvitskii 2007): spread-out
        seeds, each new one drawn with probability proportional to the squared distance to the
        nearest seed so far, without the Lloyd iterations.
    ``"random"``
        Uniform random responsibilities, normalised. Every component starts near the overall
        mean; EM must break the symmetry itself, slowly but without the bias of a hard start.
    ``"random_from_data"``
        The nearest of ``n_components`` distinct rows drawn by weight.
    ``"hierarchical"``
        Model-based agglomerative clustering as in mclust (Banfield & Raftery 1993; Fraley 1998),
        with the criterion of the spherical equal-volume Gaussian model (mclust's ``"EII"``).
        Every distinct row starts as a cluster; the pair whose merge least decreases the
        *classification* likelihood is merged until ``n_components`` clusters remain. Under that
        model the classification log-likelihood is a decreasing function of the within-cluster
        sum of squares ``W``, so the best merge is the one that increases ``W`` least: merging
        clusters ``a`` and ``b`` (total weights ``n_a``, ``n_b``, means ``m_a``, ``m_b``) adds
        ``n_a n_b / (n_a + n_b) ||m_a - m_b||^2`` to ``W`` (Ward's criterion). No random choice
        is made: the start is the same for every seed (on data of at most
        [`HIERARCHICAL_MAX_ROWS`][emkit.init.HIERARCHICAL_MAX_ROWS] distinct rows), so restarts
        from it agree, and it does not depend on a lucky draw. The merge costs are kept in an
        (m, m) matrix with every cluster's nearest neighbour, so each merge costs O(m) vector
        work (O(m D) to update the merged cluster's costs) and the whole tree O(m^2 D). Larger
        data are agglomerated on a sample of ``HIERARCHICAL_MAX_ROWS`` distinct rows drawn by
        weight without replacement, and every other row joins the cluster with the nearest
        mean. [`agglomerate`][emkit.init.agglomerate] gives the whole merge sequence.

**Weights are repeats.** A row of integer weight ``w`` starts EM exactly where ``w`` copies of the
row would, a row of weight 0 exactly where the data without it would, and the order of the rows
does not matter (scikit-learn's ``check_sample_weight_equivalence`` fits a shuffled, weighted
copy of the data against the repeated one). Every method therefore works on the *distinct* rows
of positive weight, each with its summed weight, in the lexicographic order of their values (an
order that depends on the values alone, and that shifting or scaling the data keeps); the
distinct rows of the repeated data and of the weighted data are then the same array, and so are
the random draws and every result. Random choices of rows are made by inverse CDF of the
cumulative weights; ties go to the first row in that order; k-means moves a whole distinct row
(all of its weight) into an empty cluster. For ``"hierarchical"`` a distinct row starts as one
cluster holding all of its weight: the ``w`` copies of a row would merge first anyway, at no
cost (their sum of squares is 0), into exactly that cluster. Every row gets the responsibilities
of its distinct row; a row of weight 0 gets the label of its nearest center (it has no effect on
the M-step).

**Plugins.** ``register_init("name", function)`` makes ``emkit.fit(model, X, init="name")`` use
``function`` for every [`FiniteMixture`][emkit.mixture.FiniteMixture]; a package does it at
import, through the ``emkit.plugins`` entry points (see [`emkit.registry`][emkit.registry]).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from emkit._backend import Array
from emkit._validation import check_array, check_choice, check_int
from emkit.registry import load_plugins

__all__ = [
    "HIERARCHICAL_MAX_ROWS",
    "INIT_METHODS",
    "MODEL_START_NAMES",
    "Agglomeration",
    "InitStrategy",
    "agglomerate",
    "hierarchical",
    "init_methods",
    "initial_responsibilities",
    "kmeans",
    "kmeans_plusplus",
    "nearest_center",
    "register_init",
]

INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data", "hierarchical")
"""The built-in names accepted by
[`initial_responsibilities`][emkit.init.initial_responsibilities];
[`init_methods`][emkit.init.init_methods] adds the ones plugins registered."""

MODEL_START_NAMES = ("emEM",)
"""Names that [`emkit.fit`][emkit.em.fit] resolves to model-level strategies of
[`emkit.starts`][emkit.starts] (they run EM on the model, so they live above this module). They
are not responsibilities, and [`register_init`][emkit.init.register_init] refuses them."""

InitStrategy = Callable[[Array, int, np.random.Generator, Array | None], Array]
"""A starting strategy: ``strategy(X, n_components, rng, weights) -> responsibilities``, with
``X`` of shape (n_samples, n_features), ``weights`` of shape (n_samples,) or ``None``, and
responsibilities of shape (n_samples, n_components): non-negative, every row summing to 1."""

#: Lloyd iterations of the "kmeans" method and its tolerance on the relative inertia change.
KMEANS_MAX_ITER = 100
KMEANS_TOL = 1e-6

HIERARCHICAL_MAX_ROWS = 2000
"""Distinct rows the "hierarchical" method agglomerates at most: the (m, m) matrix of merge
costs takes 32 MB at this bound and the merges about a second; larger data are agglomerated on a
sample of this many distinct rows drawn by weight, and the other rows join the nearest cluster."""

#: How far from 1 the row sums of a plugin strategy's responsibilities may be.
RESPONSIBILITY_SUM_ATOL = 1e-8


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


# -- model-based hierarchical agglomeration -----------------------------------------------------
class Agglomeration(NamedTuple):
    """The outcome of [`agglomerate`][emkit.init.agglomerate] on m rows, stopped at K clusters.

    Attributes
    ----------
    pairs : array of shape (m - K, 2)
        The clusters merged at each stage, as mclust's ``hc`` writes them: each cluster by the
        smallest index of its rows, the smaller first (the merged cluster keeps that index).
    costs : array of shape (m - K,)
        The increase of the within-cluster sum of squares at each merge (the decrease of the
        classification log-likelihood, up to the model's monotone transformation).
    labels : array of shape (m,)
        The cluster of every row after the last merge, in 0..K-1, numbered in the order of
        their smallest row index.
    """

    pairs: Array
    costs: Array
    labels: Array


def _ward_costs(means: Array, norms: Array, sizes: Array, a: int) -> Array:
    """Ward's merge cost of cluster ``a`` with every cluster, shape (m,): the increase
    ``n_a n_j / (n_a + n_j) ||m_a - m_j||^2`` of the within-cluster sum of squares.

    The distances come from one matrix-vector product and the kept squared norms ``norms``
    (m,) of the means, as the initial cost matrix does (the rows are centred, so no digits are
    lost to a far origin).
    """
    distances = means @ means[a]
    distances *= -2.0
    distances += norms
    distances += norms[a]
    np.maximum(distances, 0.0, out=distances)
    return np.asarray(sizes[a] * sizes / (sizes[a] + sizes) * distances)


def _agglomerate(Xs: Array, w: Array, n_clusters: int) -> tuple[Agglomeration, Array]:
    """Ward agglomeration of rows ``Xs`` (m, D) with weights ``w`` (m,) down to ``n_clusters``.

    Returns the agglomeration and the cluster means (n_clusters, D). The cost matrix holds
    ``inf`` on its diagonal and for merged-away clusters; ``nearest[i]`` is the first cluster
    of least cost with ``i`` and ``least[i]`` that cost, kept exact after every merge: only the
    merged cluster's costs change, so a cluster whose nearest was neither of the pair compares
    its old least cost with its new cost to the merged one, and those whose nearest was one of
    the pair look again along their row. The best merge is then an O(m) ``argmin``.
    """
    m = Xs.shape[0]
    means = np.array(Xs, dtype=np.float64)
    sizes = np.array(w, dtype=np.float64)
    norms = np.einsum("md,md->m", means, means)
    cost = _squared_distances(means, means, norms)
    cost *= sizes[:, None] * sizes[None, :] / (sizes[:, None] + sizes[None, :])
    cost = 0.5 * (cost + cost.T)  # exactly symmetric, whatever the rounding of the product
    np.fill_diagonal(cost, np.inf)
    nearest = np.argmin(cost, axis=1)
    least = cost[np.arange(m), nearest]
    active = np.ones(m, dtype=bool)
    owner = np.arange(m)
    n_merges = m - n_clusters
    pairs = np.empty((n_merges, 2), dtype=np.intp)
    costs = np.empty(n_merges)
    for step in range(n_merges):
        i = int(np.argmin(least))
        j = int(nearest[i])
        a, b = (i, j) if i < j else (j, i)
        pairs[step] = a, b
        costs[step] = least[i]
        total = sizes[a] + sizes[b]
        means[a] = (sizes[a] * means[a] + sizes[b] * means[b]) / total
        sizes[a] = total
        norms[a] = means[a] @ means[a]
        active[b] = False
        owner[owner == b] = a
        row = _ward_costs(means, norms, sizes, a)
        row[~active] = np.inf
        row[a] = np.inf
        cost[b, :] = np.inf
        cost[:, b] = np.inf
        cost[a, :] = row
        cost[:, a] = row
        least[b] = np.inf
        # Ward's cost is reducible (merging never brings a third cluster closer than the nearer
        # of the pair was), so this changes nothing but what rounding may; it keeps ``nearest``
        # the first least-cost cluster of every row for any criterion.
        closer = (row < least) | ((row == least) & (a < nearest))
        nearest[closer] = a
        least[closer] = row[closer]
        stale = np.flatnonzero(active & ((nearest == a) | (nearest == b)))
        stale = np.append(stale, a)  # a row looked at twice is harmless
        nearest[stale] = np.argmin(cost[stale], axis=1)
        least[stale] = cost[stale, nearest[stale]]
    roots = np.flatnonzero(active)
    labels = np.searchsorted(roots, owner)
    return Agglomeration(pairs, costs, np.asarray(labels, dtype=np.intp)), means[roots]


def agglomerate(X: Array, n_clusters: int = 1, weights: Array | None = None) -> Agglomeration:
    """Model-based agglomerative clustering of the rows of ``X`` (spherical, equal volume: EII).

    Every row starts as a cluster holding its weight; the pair of clusters whose merge least
    increases the within-cluster sum of squares (least decreases the classification likelihood
    of the spherical, equal-volume Gaussian model) is merged, until ``n_clusters`` remain.
    Rows are taken as given (equal rows are not merged first on purpose, though at cost 0 they
    are); [`hierarchical`][emkit.init.hierarchical] runs this on the distinct rows of the data.
    Ties go to the pair with the smallest first index, then the smallest second index.

    Parameters
    ----------
    X : array of shape (m, n_features)
        The rows. Every merge costs O(m n_features) and the cost matrix (m, m) floats.
    n_clusters : int, default 1
        Stop when this many clusters remain (1 <= n_clusters <= m).
    weights : array of shape (m,), optional
        Positive row weights (a row of weight ``w`` counts as ``w`` rows). Default 1.

    Returns
    -------
    Agglomeration
        The merged pairs (m - n_clusters, 2) in mclust's convention, their costs and the labels
        (m,) of the final clusters.

    Raises
    ------
    ValueError
        If ``X`` is not a finite 2-d array, ``n_clusters`` is outside 1..m, or a weight is not
        positive and finite.

    Examples
    --------
    >>> import numpy as np
    >>> from emkit.init import agglomerate
    >>> tree = agglomerate(np.array([[0.0], [1.0], [5.0], [6.5]]))
    >>> tree.pairs.tolist(), tree.costs.tolist()
    ([[0, 1], [2, 3], [0, 2]], [0.5, 1.125, 27.5625])
    """
    X = check_array(X, "X", ndim=2, dtype=np.float64)
    m = X.shape[0]
    n_clusters = check_int(n_clusters, "n_clusters", minimum=1, maximum=max(m, 1))
    if weights is None:
        w = np.ones(m)
    else:
        w = check_array(weights, "weights", ndim=1, dtype=np.float64)
        if w.shape[0] != m:
            raise ValueError(f"`weights` must have one entry per row of X ({m}); got {w.shape[0]}")
        if not (w > 0).all():
            index = int(np.flatnonzero(~(w > 0))[0])
            raise ValueError(f"`weights` must be > 0; found {w[index]} at index {index}")
    shift = np.average(X, axis=0, weights=w)
    return _agglomerate(X - shift, w, n_clusters)[0]


def _weighted_sample(w: Array, count: int, rng: np.random.Generator) -> Array:
    """Indices (count,), sorted, of ``count`` rows drawn by weight without replacement.

    Efraimidis & Spirakis (2006): the rows with the ``count`` largest keys ``log(u) / w`` (u
    uniform) are distributed as ``count`` successive draws, each proportional to the weight among
    the rows not drawn yet, and take one vector of uniforms instead of a loop over the draws.
    """
    with np.errstate(divide="ignore"):
        keys = np.log(rng.random(w.shape[0])) / w
    return np.sort(np.argsort(-keys, kind="stable")[:count])


def _hierarchical(
    X: Array, n_clusters: int, rng: np.random.Generator, weights: Array | None, max_rows: int
) -> tuple[Array, Array, Array, _Distinct]:
    distinct, Xs, shift = _shifted(X, weights, n_clusters)
    m = Xs.shape[0]
    if m <= max_rows:
        tree, centers = _agglomerate(Xs, distinct.weight, n_clusters)
        return tree.labels, centers, shift, distinct
    sample = _weighted_sample(distinct.weight, max_rows, rng)
    tree, centers = _agglomerate(Xs[sample], distinct.weight[sample], n_clusters)
    labels = np.argmin(_squared_distances(Xs, centers), axis=1)
    labels[sample] = tree.labels  # a sampled row keeps its cluster, so none is empty
    return labels, centers, shift, distinct


def hierarchical(
    X: Array,
    n_clusters: int,
    rng: np.random.Generator,
    weights: Array | None = None,
    max_rows: int = HIERARCHICAL_MAX_ROWS,
) -> Array:
    """Hard labels (n,) from model-based agglomeration of the distinct rows (see the module notes).

    Each distinct row of positive weight starts as a cluster holding its summed weight, and
    [`agglomerate`][emkit.init.agglomerate] merges down to ``n_clusters``. Beyond ``max_rows``
    distinct rows, a sample of ``max_rows`` of them drawn by weight without replacement (the
    only use of ``rng``) is agglomerated, and every other row joins the cluster of the nearest
    mean; a row of weight 0 does too.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_clusters : int
    rng : numpy.random.Generator
        Draws the sample when there are more than ``max_rows`` distinct rows; unused otherwise.
    weights : array of shape (n_samples,), optional
        Non-negative row weights (a row of integer weight ``w`` is ``w`` copies of it).
    max_rows : int, default HIERARCHICAL_MAX_ROWS
        The most distinct rows agglomerated (>= n_clusters).

    Returns
    -------
    labels : array of shape (n_samples,)
        Every label in 0..n_clusters-1 is used by a row of positive weight.

    Raises
    ------
    ValueError
        If ``X`` has fewer distinct rows (with positive weight) than ``n_clusters``, or
        ``max_rows < n_clusters``.
    """
    max_rows = check_int(max_rows, "max_rows", minimum=n_clusters)
    labels, centers, shift, distinct = _hierarchical(X, n_clusters, rng, weights, max_rows)
    return _labels_of_rows(X, distinct, labels, centers, shift)


# -- the strategies, by name ---------------------------------------------------------------------
def _random_start(
    X: Array, n_components: int, rng: np.random.Generator, weights: Array | None
) -> Array:
    distinct = _distinct_rows(X, weights)
    drawn = rng.uniform(size=(distinct.rows.shape[0], n_components))
    drawn /= drawn.sum(axis=1, keepdims=True)
    resp = np.full((X.shape[0], n_components), 1.0 / n_components)
    positive = distinct.group >= 0
    resp[positive] = drawn[distinct.group[positive]]
    return resp


def _one_hot(
    X: Array, n_components: int, labels: Array, centers: Array, shift: Array, distinct: _Distinct
) -> Array:
    return np.asarray(np.eye(n_components)[_labels_of_rows(X, distinct, labels, centers, shift)])


def _kmeans_start(
    X: Array, n_components: int, rng: np.random.Generator, weights: Array | None
) -> Array:
    labels, centers, shift, distinct = _kmeans(X, n_components, rng, weights)
    return _one_hot(X, n_components, labels, centers, shift, distinct)


def _nearest_of(chosen: Array, Xs: Array) -> tuple[Array, Array]:
    centers = Xs[chosen]
    return np.argmin(_squared_distances(Xs, centers), axis=1), centers


def _kmeans_plusplus_start(
    X: Array, n_components: int, rng: np.random.Generator, weights: Array | None
) -> Array:
    distinct, Xs, shift = _shifted(X, weights, n_components)
    labels, centers = _nearest_of(_seeds(Xs, distinct.weight, n_components, rng), Xs)
    return _one_hot(X, n_components, labels, centers, shift, distinct)


def _random_from_data_start(
    X: Array, n_components: int, rng: np.random.Generator, weights: Array | None
) -> Array:
    distinct, Xs, shift = _shifted(X, weights, n_components)
    chosen = _draw_without_replacement(distinct.weight, n_components, rng)
    labels, centers = _nearest_of(chosen, Xs)
    return _one_hot(X, n_components, labels, centers, shift, distinct)


def _hierarchical_start(
    X: Array, n_components: int, rng: np.random.Generator, weights: Array | None
) -> Array:
    labels, centers, shift, distinct = _hierarchical(
        X, n_components, rng, weights, HIERARCHICAL_MAX_ROWS
    )
    return _one_hot(X, n_components, labels, centers, shift, distinct)


_BUILTIN: dict[str, InitStrategy] = {
    "kmeans": _kmeans_start,
    "k-means++": _kmeans_plusplus_start,
    "random": _random_start,
    "random_from_data": _random_from_data_start,
    "hierarchical": _hierarchical_start,
}

#: The strategies plugins registered, by name.
_REGISTERED: dict[str, InitStrategy] = {}


def _qualified(function: object) -> str:
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}.{name}"


def register_init(name: str, function: InitStrategy) -> InitStrategy:
    """Make a starting strategy available by name, to ``emkit.fit(model, X, init=name)`` and
    everything else that starts a [`FiniteMixture`][emkit.mixture.FiniteMixture] by name.

    Registering again follows [`emkit.registry`][emkit.registry]'s rule: a function with the
    same module and qualified name as the registered one replaces it (re-running a notebook
    cell just works); a *different* function under a taken name raises ``ValueError``.

    Parameters
    ----------
    name : str
        The name, used exactly as given (``init="name"``). It may not be a built-in name
        ([`INIT_METHODS`][emkit.init.INIT_METHODS], compared ignoring case).
    function : callable
        ``function(X, n_components, rng, weights) -> responsibilities``: ``X`` of shape
        (n_samples, n_features), ``weights`` of shape (n_samples,) or ``None``, ``rng`` a
        ``numpy.random.Generator`` (its only source of randomness); responsibilities of shape
        (n_samples, n_components), non-negative, each row summing to 1.
        [`initial_responsibilities`][emkit.init.initial_responsibilities] checks them.

    Returns
    -------
    function

    Raises
    ------
    TypeError
        If ``name`` is not a string, or ``function`` is not callable or cannot take the four
        arguments.
    ValueError
        If ``name`` is empty or padded with spaces, is a built-in name, or is taken by a
        different function.
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string; got {name!r} of type {type(name).__name__}")
    if not name or name != name.strip():
        raise ValueError(
            f"`name` must be a non-empty string without surrounding spaces; got {name!r}"
        )
    builtins = INIT_METHODS + MODEL_START_NAMES
    if name.lower() in (builtin.lower() for builtin in builtins):
        raise ValueError(
            f"`name` {name!r} is a built-in initialisation ({', '.join(map(repr, builtins))}); "
            "register the plugin strategy under another name"
        )
    if not callable(function):
        raise TypeError(f"`function` must be callable; got {function!r}")
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # some builtins have none: trust them
        signature = None
    if signature is not None:
        try:
            signature.bind(None, 1, None, None)
        except TypeError as exc:
            raise TypeError(
                f"`function` must accept (X, n_components, rng, weights); {_qualified(function)}"
                f"{signature} does not: {exc}"
            ) from None
    taken = _REGISTERED.get(name)
    if taken is not None and taken is not function and _qualified(taken) != _qualified(function):
        raise ValueError(
            f"a different function is already registered as initialisation {name!r}: "
            f"{_qualified(taken)}; cannot register {_qualified(function)} under that name"
        )
    _REGISTERED[name] = function
    return function


def init_methods() -> tuple[str, ...]:
    """Every name [`initial_responsibilities`][emkit.init.initial_responsibilities] accepts.

    Returns
    -------
    names : tuple of str
        The built-in [`INIT_METHODS`][emkit.init.INIT_METHODS], then the names plugins
        registered (installed plugins loaded first), sorted.
    """
    load_plugins()
    return INIT_METHODS + tuple(sorted(_REGISTERED))


def _strategy(method: str) -> InitStrategy:
    builtin = _BUILTIN.get(method) if isinstance(method, str) else None
    if builtin is not None:
        return builtin
    if isinstance(method, str) and method not in _REGISTERED:
        load_plugins()
    if method in MODEL_START_NAMES:
        raise ValueError(
            f"`init` {method!r} is a model-level strategy: emkit.fit runs it (it needs the model); "
            f"starting responsibilities come from one of {init_methods()}"
        )
    # The names emkit.fit accepts: a user who mistyped one learns about all of them.
    check_choice(method, "init", INIT_METHODS + tuple(sorted(_REGISTERED)) + MODEL_START_NAMES)
    return _REGISTERED[method]


def _check_responsibilities(resp: object, method: str, n: int, n_components: int) -> Array:
    """The responsibilities a plugin strategy returned, as floats, or a ValueError naming it."""
    where = f"initialisation {method!r} ({_qualified(_REGISTERED[method])})"
    out = np.asarray(resp, dtype=np.float64)
    if out.shape != (n, n_components):
        raise ValueError(
            f"{where} must return responsibilities of shape (n_samples, n_components) = "
            f"{(n, n_components)}; got shape {out.shape}"
        )
    bad = ~np.isfinite(out) | (out < 0)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{where} must return finite, non-negative responsibilities; got {out[row, col]} "
            f"at row {row}, component {col}"
        )
    off = np.abs(out.sum(axis=1) - 1.0) > RESPONSIBILITY_SUM_ATOL
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ValueError(
            f"{where} must return responsibilities whose rows sum to 1; row {row} sums to "
            f"{out[row].sum()}"
        )
    return out


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
      rows not drawn yet;
    * ``"hierarchical"``: one-hot labels of [`hierarchical`][emkit.init.hierarchical]
      (model-based agglomeration, mclust's EII criterion);
    * a name registered with [`register_init`][emkit.init.register_init]: what that function
      returns, checked (shape, finite, non-negative, rows summing to 1).

    Every built-in method gives the same responsibilities to a row of integer weight ``w`` as
    to each of its ``w`` copies, ignores rows of weight 0, and does not depend on the order of
    the rows. For ``"random"`` this is a choice: drawing independent responsibilities for every
    copy of a row (as scikit-learn does) cannot be reproduced from one weighted row. Sharing
    them treats a responsibility as what every E-step makes it, a function of the row's value;
    on data without repeated rows or weights both are the same distribution.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    n_components : int
    method : str
        One of [`init_methods`][emkit.init.init_methods]().
    rng : numpy.random.Generator
        The only source of randomness.
    weights : array of shape (n_samples,), optional
        Non-negative row weights.

    Returns
    -------
    resp : array of shape (n_samples, n_components)

    Raises
    ------
    ValueError
        If ``method`` is unknown (the message lists the known ones), ``n_components`` exceeds
        the rows (or distinct rows) of positive weight, or a plugin's output is invalid.
    """
    strategy = _strategy(method)
    n = X.shape[0]
    # A row of weight 0 is no sample at all.
    n_positive = n if weights is None else int(np.count_nonzero(weights > 0))
    if n_components > n_positive:
        which = "" if weights is None else " with positive weight"
        raise ValueError(
            f"`n_components` must be <= the number of samples{which} ({n_positive}); "
            f"got {n_components}"
        )
    resp = strategy(X, n_components, rng, weights)
    if method in _BUILTIN:
        return resp
    return _check_responsibilities(resp, method, n, n_components)
