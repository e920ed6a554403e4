"""Batched E- and M-step kernels of the Gaussian family: a few large matrix products per chunk.

The Gaussian is an exponential family. With the row shifted to ``u = x - g`` (``g`` the mean of
the component means, rounded to the data's precision), every component's log-density is linear
in the *features* of the row,

    log N(x | mu_k, Sigma_k) = F(u) . eta_k + c_k,

with ``F(u) = (upper triangle of u u^T, u)`` for full covariance, ``(u**2, u)`` for diagonal and
``(|u|^2, u)`` for spherical covariance, and ``eta_k`` (the natural parameters, with the
off-diagonal products counted twice) and ``c_k`` fixed for one iteration. So for a chunk of rows

* the E-step is **one** matrix product ``F @ Theta^T`` (n, K), whatever K is;
* the M-step statistics are **one** matrix product ``R^T @ F`` (K, m) of the responsibilities
  with the very same features: the weighted sums of ``u`` and of ``u u^T`` around ``g``.

Compared with one Mahalanobis product per component this halves the floating-point work (the
quadratic form uses each symmetric pair once) and, above all, replaces K thin products and 2K
elementwise passes over the chunk by two wide products and one pass that forms ``F``.

The natural parameters, log-determinants and shift are computed once per parameter object (that
is, once per EM iteration) and cached weakly on it, never once per chunk.

Numerics: the quadratic form is expanded around ``g``, not around each component mean, so its
rounding error grows like ``eps * |mu_k - g|^2 / sigma^2`` (Mahalanobis units). For float64 that
is below 1e-12 unless a component lies thousands of standard deviations from the others; data
far from the origin (offset by 1e6) costs nothing since ``g`` absorbs the offset. When that bound
is exceeded (a collapsing or very remote component; see ``QUADRATIC_MAX_BOUND``) every
covariance type falls back to distances and rank updates around each component's own mean:
full covariance through the stacked-Cholesky product ``(x - g) @ [U_1 ... U_K]``, the other
types one component at a time (they are then viewed as full factors; slower, but exact). Full
covariance also takes the stacked product for data wider than ``QUADRATIC_MAX_FEATURES``,
where ``F`` (D^2 / 2 columns) would be too large.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from emkit._backend import Array

__all__ = ["QUADRATIC_MAX_FEATURES", "GaussianKernel", "kernel_for"]

#: Full covariance uses the quadratic-feature kernel up to this many features (F has
#: D (D + 1) / 2 + D columns: 560 for D = 32, 2144 for D = 64); wider data uses the stacked
#: Cholesky product, whose temporaries grow like K * D instead of D^2.
QUADRATIC_MAX_FEATURES = 64

#: Full covariance uses the quadratic features only while the rounding bound of the expanded
#: quadratic form (``_rounding_bound``) stays below this, by dtype: absolute errors of the
#: log-density of at most about 1e5 * 1.1e-16 ~ 1e-11 per row in float64 (a tenth of the
#: driver's noise allowance) and 5e4 * 6e-8 ~ 3e-3 per row in float32, random in sign from row
#: to row (on the benchmark's 32-feature data, bound ~2e4, fitted float32 parameters agree with
#: float64 to ~1e-7). A component that collapses onto a thin sliver, or lies very far from the
#: others, switches that iteration to the stacked-factor kernel, which works around each
#: component's own mean.
QUADRATIC_MAX_BOUND = {np.dtype(np.float64): 1e5, np.dtype(np.float32): 5e4}

_LOG_2PI = float(np.log(2.0 * np.pi))

# Kernels cached per parameter object: parameters are frozen values, so a kernel built from them
# stays valid for as long as they live, and every chunk of one pass shares it.
_CACHE_LOCK = threading.Lock()
_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], GaussianKernel]] = (
    weakref.WeakKeyDictionary()
)


def uses_quadratic_features(covariance_type: str, n_features: int) -> bool:
    """Whether a full-covariance chunk is evaluated through the quadratic features."""
    return covariance_type != "full" or n_features <= QUADRATIC_MAX_FEATURES


def feature_columns(covariance_type: str, n_features: int, n_components: int) -> int:
    """Columns of the per-chunk temporaries (for automatic chunk sizes)."""
    d = n_features
    if covariance_type == "full":
        if uses_quadratic_features(covariance_type, d):
            return d * (d + 1) // 2 + d
        return n_components * d + 2 * d
    if covariance_type == "tied":
        return 2 * d
    if covariance_type == "diag":
        return 2 * d
    return d + 1


@attrs.frozen(eq=False)
class GaussianKernel:
    """Everything one EM iteration needs to evaluate chunks, derived once from the parameters.

    Attributes
    ----------
    covariance_type : str
    shift : (D,) float64
        ``g``, the mean of the component means rounded to the data's dtype (so ``x - g`` is the
        same number in the products and in the statistics).
    theta : array in the data's dtype
        Coefficients of the features, (K, m), for the quadratic kernels; ``B^T`` (D, K) with
        ``B = (mu - g) U`` for tied covariance; the factors ``[U_1 ... U_K]`` (D, K*D) for the
        stacked kernel.
    offsets : (K, D) in the data's dtype, or None
        ``(mu_k - g) U_k`` of the stacked kernel.
    constant : (K,) in the data's dtype
        Per-component constant of the log-density.
    upper : (K,) in the data's dtype
        Largest possible log-density of each component (Mahalanobis distance 0); rounding of the
        expanded quadratic form is clipped to it.
    tied_factor : (D, D) in the data's dtype, or None
        ``U`` of tied covariance.
    quadratic : bool
        Whether the chunk goes through the expanded features (else distances around each
        component's own mean: stacked factors for full covariance, one component at a time
        for the other types, with ``theta`` holding every component's full factor (K, D, D)).
    centers : (K, D) float64
        The component means: the reference points of the stacked kernel's statistics.
    """

    covariance_type: str
    shift: Array
    theta: Array
    offsets: Array | None
    constant: Array
    upper: Array
    tied_factor: Array | None
    quadratic: bool
    centers: Array

    # -- chunk features ------------------------------------------------------------------------
    def features(self, X: Array) -> Array:
        """The chunk's features F (n, m) in X's dtype (see the module docstring)."""
        return shifted_features(self.covariance_type, X, self.shift, self.quadratic)

    # -- E-step --------------------------------------------------------------------------------
    def log_prob(self, X: Array, F: Array) -> Array:
        """``log N(x_n | mu_k, Sigma_k)`` (n, K) in X's dtype, from the chunk's features."""
        n_features = X.shape[1]
        kind = self.covariance_type
        if not self.quadratic and kind != "full":
            # Fallback: each component's distance from its own mean, (u - a_k) U_k.
            assert self.offsets is not None
            log_p = np.empty((X.shape[0], self.constant.shape[0]), dtype=X.dtype)
            u = F[:, :n_features]
            for k in range(log_p.shape[1]):
                Y = (u - self.offsets[k]) @ self.theta[k]
                log_p[:, k] = np.einsum("nd,nd->n", Y, Y)
            log_p *= -0.5
            log_p += self.constant
            return np.asarray(log_p)
        if kind == "tied":
            # u U once for all components; the cross term with every component is one product.
            u = F[:, :n_features]
            assert self.tied_factor is not None
            Y = u @ self.tied_factor
            half_norm = np.einsum("nd,nd->n", Y, Y)
            half_norm *= 0.5
            log_p = Y @ self.theta
            log_p += self.constant
            log_p -= half_norm[:, None]
        elif self.quadratic:
            # Computed as Theta^T @ F^T, (K, m) @ (m, n): with F column-major both operands are
            # row-major, the shape OpenBLAS runs fastest for a short K (measured: 1.2-2x).
            log_p = (self.theta @ F.T).T
            log_p += self.constant
        else:
            # Stacked factors: (n, D) @ (D, K*D) gives every component's (x - g) U_k at once.
            n, n_components = X.shape[0], self.constant.shape[0]
            u = F[:, :n_features]
            Y = (u @ self.theta).reshape(n, n_components, n_features)
            assert self.offsets is not None
            Y -= self.offsets
            log_p = np.einsum("nkd,nkd->nk", Y, Y)
            log_p *= -0.5
            log_p += self.constant
            return np.asarray(log_p)
        # The expanded form can round a distance of ~0 to slightly below 0; clip it.
        np.minimum(log_p, self.upper, out=log_p)
        return np.asarray(log_p)

    def feature_terms(self, F: Array) -> Array:
        """``F @ Theta^T`` (n, K) of the quadratic diagonal or spherical kernel: the log-density
        without its per-component constant (the missing-value E-step sums the constant over a
        row's observed coordinates only)."""
        assert self.quadratic
        assert self.covariance_type in ("diag", "spherical")
        return np.asarray((self.theta @ F.T).T)

    # -- M-step statistics ---------------------------------------------------------------------
    def reference_point(self) -> Array:
        """The ``center`` of the statistics ``stats`` returns for these parameters: the shift
        ``g`` ((K, D) for full covariance, else (1, D)), or each component's mean (K, D) when
        the chunk is evaluated around the means."""
        if not self.quadratic:
            return np.asarray(self.centers)
        if self.covariance_type == "full":
            return np.broadcast_to(self.shift, self.centers.shape).copy()
        return np.asarray(self.shift[None, :])

    def stats(self, X: Array, F: Array, resp: Array) -> tuple[Array, Array, Array]:
        """``(center, sum_x, sum_xx)`` from the chunk, its features and responsibilities."""
        if not self.quadratic:
            center, sum_x, sum_xx = stacked_moment_sums(X, resp, self.centers)
            return center, sum_x, reduce_scatter(self.covariance_type, sum_xx)
        return moment_sums(self.covariance_type, F, resp, self.shift, X.shape[1])


def reduce_scatter(covariance_type: str, sum_xx: Array) -> Array:
    """Per-component scatter matrices (K, D, D) reduced to the statistic of a covariance type."""
    if covariance_type == "diag":
        return np.asarray(np.diagonal(sum_xx, axis1=1, axis2=2).copy())
    if covariance_type == "spherical":
        return np.asarray(np.trace(sum_xx, axis1=1, axis2=2))
    if covariance_type == "tied":
        return np.asarray(sum_xx.sum(axis=0, keepdims=True))
    return sum_xx


def full_factors(covariance_type: str, U: Array, n_components: int, n_features: int) -> Array:
    """Precision Cholesky factors of any covariance type as full matrices (K, D, D)."""
    if covariance_type in ("full", "tied"):
        return np.asarray(np.broadcast_to(U, (n_components, n_features, n_features)))
    if covariance_type == "diag":
        return np.asarray(U[:, :, None] * np.eye(n_features))
    return np.asarray(U[:, None, None] * np.eye(n_features))


def shifted_features(covariance_type: str, X: Array, shift: Array, quadratic: bool) -> Array:
    """Features of ``u = X - shift`` for the kernel of ``covariance_type`` (n, m), X's dtype."""
    n, d = X.shape
    dtype = X.dtype
    g = shift.astype(dtype)
    # F is column-major: every feature is one contiguous column, so each elementwise product
    # below runs over n contiguous numbers, and the products F @ Theta and R^T @ F read it
    # as a transposed operand at no cost. The shifted rows are written through transposed
    # views (row-major u^T from X^T): numpy then streams the output, 1.4-3.5x faster than
    # scattering each row of X across the columns.
    if not quadratic:
        return np.asarray(np.subtract(X, g))
    if covariance_type == "full":
        n_quad = d * (d + 1) // 2
        F = np.empty((n, n_quad + d), dtype=dtype, order="F")
        u = F[:, n_quad:]
        np.subtract(X.T, g[:, None], out=u.T)
        # Upper triangle of u u^T, row-major (the order of np.triu_indices), one column block
        # per feature: D elementwise products instead of a (n, D, D) temporary.
        start = 0
        ut, Ft = u.T, F.T  # row-major views: numpy streams each product over n numbers
        for i in range(d):
            np.multiply(ut[i], ut[i:], out=Ft[start : start + d - i])
            start += d - i
        return F
    if covariance_type == "diag":
        F = np.empty((n, 2 * d), dtype=dtype, order="F")
        np.subtract(X.T, g[:, None], out=F[:, d:].T)
        np.square(F[:, d:], out=F[:, :d])
        return F
    if covariance_type == "spherical":
        F = np.empty((n, d + 1), dtype=dtype, order="F")
        np.subtract(X.T, g[:, None], out=F[:, 1:].T)
        F[:, 0] = np.einsum("nd,nd->n", F[:, 1:], F[:, 1:])
        return F
    # tied, and full through stacked factors: just the shifted rows.
    return np.asarray(np.subtract(X, g))


def moment_sums(
    covariance_type: str,
    F: Array,
    resp: Array,
    shift: Array,
    n_features: int,
) -> tuple[Array, Array, Array]:
    """``(center, sum_x, sum_xx)``: responsibility-weighted moments of ``u`` around ``shift``.

    ``F`` holds the quadratic features (full, diag, spherical) or ``u`` itself (tied).

    One product ``resp^T @ F`` in the data's dtype (each chunk's partial sum), returned in
    float64 so that sums over many chunks keep their precision.
    """
    d = n_features
    resp = resp.astype(F.dtype, copy=False)
    n_components = resp.shape[1]
    if covariance_type == "tied":
        # Tied covariance pools all components: sum_n (sum_k r_nk) z_n z_n^T, one product.
        w = resp.sum(axis=1)
        sum_xx = ((F * w[:, None]).T @ F).astype(np.float64)[None]
        return shift[None, :], _first_moments(resp, F), sum_xx
    n_quad = F.shape[1] - d
    # (F^T @ R)^T rather than R^T @ F: the row-major F^T times a thin R is the faster BLAS
    # orientation (measured 1.1x in float64, 2x in float32).
    if F.dtype == np.float64:
        G = (F.T @ resp).T
        sum_x = G[:, n_quad:]
    else:
        # float32: the first moments come from a float64 product. Each row's u is typically
        # |mu_k - g| from the origin with the same sign for a whole component, so a float32 sum
        # would carry an absolute error of ~eps32 * sqrt(n) * |mu_k - g| into the means; in
        # float64 it is exact to the data's precision, for ~D / m of the product's cost.
        G = (F[:, :n_quad].T @ resp).T.astype(np.float64)
        sum_x = _first_moments(resp, F[:, n_quad:])
    if covariance_type == "full":
        rows, cols = np.triu_indices(d)
        sum_xx = np.empty((n_components, d, d))
        sum_xx[:, rows, cols] = G[:, :n_quad]
        sum_xx[:, cols, rows] = G[:, :n_quad]
        center = np.broadcast_to(shift, (n_components, d)).copy()
        return center, sum_x, sum_xx
    if covariance_type == "diag":
        return shift[None, :], sum_x, G[:, :d]
    return shift[None, :], sum_x, G[:, 0]


def _first_moments(resp: Array, u: Array) -> Array:
    """``resp^T @ u`` (K, D), always as a float64 product (see ``moment_sums``)."""
    return np.asarray(resp.T.astype(np.float64) @ u.astype(np.float64, copy=False))


def stacked_moment_sums(X: Array, resp: Array, center: Array) -> tuple[Array, Array, Array]:
    """``(center, sum_x, sum_xx)`` of full covariance around each component's own ``center``.

    A rank update per component on sqrt(r)-scaled, centred rows: K thin products, but free of
    cancellation however far apart or however narrow the components are.
    """
    dtype = X.dtype
    resp = resp.astype(dtype, copy=False)
    n_components, d = center.shape
    sum_x = np.empty((n_components, d))
    sum_xx = np.empty((n_components, d, d))
    root = np.sqrt(resp)
    Xc = np.empty_like(X)
    for k in range(n_components):
        np.subtract(X, center[k].astype(dtype), out=Xc)
        sum_x[k] = resp[:, k].astype(np.float64) @ Xc.astype(np.float64, copy=False)
        Xc *= root[:, k : k + 1]
        sum_xx[k] = Xc.T @ Xc
    return np.asarray(center, dtype=np.float64), sum_x, sum_xx


def kernel_for(
    covariance_type: str,
    means: Array,
    precisions_cholesky: Array,
    dtype: np.dtype[Any],
    owner: Any,
) -> GaussianKernel:
    """The kernel of these parameters for data of ``dtype``, built once and cached on ``owner``."""
    n_features = means.shape[1]
    key = (covariance_type, np.dtype(dtype).str)
    with _CACHE_LOCK:
        try:
            per_owner = _CACHE.setdefault(owner, {})
        except TypeError:  # an owner that cannot be weakly referenced: no cache
            per_owner = {}
        kernel = per_owner.get(key)
    if kernel is None:
        quadratic = uses_quadratic_features(covariance_type, n_features)
        if quadratic:
            factors = full_factors(covariance_type, precisions_cholesky, means.shape[0], n_features)
            quadratic = _rounding_bound(means, factors) <= QUADRATIC_MAX_BOUND.get(
                np.dtype(dtype), QUADRATIC_MAX_BOUND[np.dtype(np.float32)]
            )
        kernel = _build(covariance_type, means, precisions_cholesky, np.dtype(dtype), quadratic)
        per_owner[key] = kernel
    return kernel


def _rounding_bound(means: Array, U: Array) -> float:
    """Largest ``|u|^T |P_k| |u|`` expected at the rows of a component (units of one rounding).

    The expanded quadratic form ``u^T P u - 2 u^T P a + a^T P a`` of a row near component k
    (``u = a_k + y``, ``y`` of covariance ``Sigma_k``) rounds to an absolute error of about
    ``eps * |u|^T |P_k| |u|``, whose mean over the component's rows is
    ``a_k^T |P_k| a_k + tr(|P_k| Sigma_k)`` (``|P|`` elementwise); the largest over k is returned.
    """
    shift = means.mean(axis=0)
    a = means - shift
    P = np.abs(U @ np.swapaxes(U, 1, 2))
    inverse = np.linalg.solve(U, np.broadcast_to(np.eye(U.shape[-1]), U.shape))
    covariances = np.swapaxes(inverse, 1, 2) @ inverse
    spread = np.einsum("kd,kde,ke->k", a, P, a) + np.einsum("kde,ked->k", P, covariances)
    return float(np.max(spread))


def _build(
    kind: str, means: Array, U: Array, dtype: np.dtype[Any], quadratic: bool
) -> GaussianKernel:
    n_components, d = means.shape
    # The shift is rounded to the data's dtype first, so that X - g in the data's precision and
    # mu - g in float64 refer to exactly the same point.
    shift = means.mean(axis=0).astype(dtype).astype(np.float64)
    a = means - shift
    base = -0.5 * d * _LOG_2PI
    cast: Callable[[Array], Array] = lambda v: np.ascontiguousarray(v, dtype=dtype)  # noqa: E731
    offsets = tied_factor = None
    if kind == "full":
        half_log_det = np.log(np.diagonal(U, axis1=1, axis2=2)).sum(axis=1)
        if quadratic:
            P = U @ np.swapaxes(U, 1, 2)
            rows, cols = np.triu_indices(d)
            # -1/2 u^T P u = sum_i -P_ii z_i^2 / 2 + sum_{i<j} -P_ij z_i z_j
            quad = -0.5 * P[:, rows, cols] * np.where(rows == cols, 1.0, 2.0)
            linear = np.einsum("kde,ke->kd", P, a)
            theta = np.concatenate([quad, linear], axis=1)
            constant = base + half_log_det - 0.5 * np.einsum("kd,kd->k", linear, a)
        else:
            theta = np.swapaxes(U, 0, 1).reshape(d, n_components * d)
            offsets = cast(np.einsum("kd,kde->ke", a, U))
            constant = base + half_log_det
    elif not quadratic:
        # Any other type evaluated around each component's own mean (see GaussianKernel).
        factors = full_factors(kind, U, n_components, d)
        theta = factors
        offsets = cast(a)
        constant = base + np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
    elif kind == "tied":
        factor = U[0]
        B = a @ factor
        theta = B.T
        tied_factor = cast(factor)
        constant = base + np.log(np.diagonal(factor)).sum() - 0.5 * np.einsum("kd,kd->k", B, B)
    elif kind == "diag":
        precision = U**2
        linear = precision * a
        theta = np.concatenate([-0.5 * precision, linear], axis=1)
        constant = base + np.log(U).sum(axis=1) - 0.5 * np.einsum("kd,kd->k", linear, a)
    else:
        precision = U**2
        linear = precision[:, None] * a
        theta = np.concatenate([-0.5 * precision[:, None], linear], axis=1)
        constant = base + d * np.log(U) - 0.5 * np.einsum("kd,kd->k", linear, a)
    if kind == "full":
        upper = base + half_log_det
    elif kind == "tied":
        upper = np.full(n_components, base + np.log(np.diagonal(U[0])).sum())
    elif kind == "diag":
        upper = base + np.log(U).sum(axis=1)
    else:
        upper = base + d * np.log(U)
    return GaussianKernel(
        covariance_type=kind,
        shift=shift,
        theta=cast(theta),
        offsets=offsets,
        constant=cast(constant),
        upper=cast(upper),
        tied_factor=tied_factor,
        quadratic=quadratic,
        centers=np.asarray(means, dtype=np.float64),
    )
