"""Starting points for EM: k-means++, k-means, random responsibilities, random data points.

Each method returns *responsibilities* (n_samples, n_components); a model turns them into
parameters with one M-step, so every family gets every method for free. All distances are
computed on rows shifted by their mean, so data far from the origin seeds as well as centred data.
"""

from __future__ import annotations

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

#: The names accepted by :func:`initial_responsibilities`.
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")

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


def _weights(weights: Array | None, n: int) -> Array:
    return np.ones(n) if weights is None else weights


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
    all candidates come from one matrix product.

    Raises
    ------
    ValueError
        If ``X`` has fewer distinct rows (with positive weight) than ``n_clusters``.
    """
    n = X.shape[0]
    w = _weights(weights, n)
    Xs = X - np.average(X, axis=0, weights=w)
    if n_local_trials is None:
        n_local_trials = 2 + int(np.log(n_clusters))
    indices = np.empty(n_clusters, dtype=np.intp)
    indices[0] = rng.choice(n, p=w / w.sum())
    # ||x||^2 once: every step then costs one (n, D) x (D, trials) product.
    norms = np.einsum("nd,nd->n", Xs, Xs)
    closest = _squared_distances(Xs, Xs[indices[:1]], norms)[:, 0]
    for c in range(1, n_clusters):
        potential = w * closest
        total = potential.sum()
        if total <= 0.0:
            raise ValueError(
                f"`X` has only {c} distinct row(s) with positive weight, fewer than "
                f"n_components={n_clusters}; reduce n_components or remove duplicate rows"
            )
        draws = rng.random(n_local_trials) * total
        candidates = np.minimum(np.searchsorted(np.cumsum(potential), draws), n - 1)
        trial = np.minimum(closest[None, :], _squared_distances(Xs, Xs[candidates], norms).T)
        best = int(np.argmin(trial @ w))
        indices[c] = candidates[best]
        closest = trial[best]
    return indices


def nearest_center(X: Array, centers: Array) -> Array:
    """Index of the nearest center for every row, shape (n,)."""
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

    An empty cluster is moved to the row farthest from its center, so every label is used.
    """
    n = X.shape[0]
    w = _weights(weights, n)
    shift = np.average(X, axis=0, weights=w)
    Xs = X - shift
    centers = Xs[kmeans_plusplus(X, n_clusters, rng, weights)]
    previous = np.inf
    labels = np.zeros(n, dtype=np.intp)
    for _ in range(max_iter):
        distances = _squared_distances(Xs, centers)
        labels = np.argmin(distances, axis=1)
        nearest = distances[np.arange(n), labels]
        inertia = float(w @ nearest)
        one_hot = np.eye(n_clusters)[labels] * w[:, None]
        sizes = one_hot.sum(axis=0)
        empty = np.flatnonzero(sizes == 0)
        if empty.size:
            far = np.argsort(-nearest)[: empty.size]
            labels[far] = empty
            one_hot = np.eye(n_clusters)[labels] * w[:, None]
            sizes = one_hot.sum(axis=0)
        centers = (one_hot.T @ Xs) / np.maximum(sizes, np.finfo(float).tiny)[:, None]
        if previous - inertia <= tol * max(inertia, np.finfo(float).tiny):
            break
        previous = inertia
    return labels


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
    * ``"random"``: uniform random responsibilities, normalised per row;
    * ``"random_from_data"``: one-hot labels of the nearest of ``n_components`` distinct rows
      drawn at random.
    """
    check_choice(method, "init", INIT_METHODS)
    n = X.shape[0]
    if n_components > n:
        raise ValueError(
            f"`n_components` must be <= the number of samples ({n}); got {n_components}"
        )
    if method == "random":
        resp = rng.uniform(size=(n, n_components))
        return np.asarray(resp / resp.sum(axis=1, keepdims=True))
    if method == "kmeans":
        labels = kmeans(X, n_components, rng, weights)
    elif method == "k-means++":
        labels = nearest_center(X, X[kmeans_plusplus(X, n_components, rng, weights)])
    else:
        distinct = np.unique(X if weights is None else X[weights > 0], axis=0)
        if distinct.shape[0] < n_components:
            raise ValueError(
                f"`X` has only {distinct.shape[0]} distinct row(s), fewer than "
                f"n_components={n_components}; reduce n_components or remove duplicate rows"
            )
        chosen = distinct[rng.choice(distinct.shape[0], n_components, replace=False)]
        labels = nearest_center(X, chosen)
    return np.eye(n_components)[labels]
