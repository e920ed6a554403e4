"""Gaussian components with full, tied, diagonal or spherical covariance.

The Gaussian is an exponential family with ``T(x) = (x, x x^T)``; its M-step is moment matching
on the responsibility-weighted first and second moments. It implements the family protocol
directly, for speed and accuracy:

* parameters keep the Cholesky factor ``U`` of each precision matrix (``U U^T = Sigma^-1``), so
  ``log det`` comes from its diagonal and the Mahalanobis distance is ``||(x - mu) U||^2``;
* rows are shifted by the mean of the component means before anything is squared, so data
  offset far from the origin (say by 1e6) fits as accurately as centred data;
* second moments are accumulated around a reference point (``center``): each component's own
  current mean for full covariance, the mean of the component means otherwise. The new covariance
  is then ``S / n_k - d d^T`` with ``d`` the (small) move of the mean, never the cancellation-prone
  ``E[x x^T] - mu mu^T`` of raw data.

Shapes of :class:`GaussianParams` by covariance type (K components, D features):

============  =================  ======================================================
type          ``covariances``    meaning
============  =================  ======================================================
full          (K, D, D)          one covariance matrix per component
tied          (1, D, D)          one matrix shared by all components
diag          (K, D)             per-component variances of each feature
spherical     (K,)               one variance per component
============  =================  ======================================================
"""

from __future__ import annotations

from typing import Any, final

import attrs
import numpy as np

from emkit._backend import Array, cholesky, solve_triangular
from emkit._validation import check_array, check_choice, check_float
from emkit.stats import NOT_ADDITIVE

__all__ = ["COVARIANCE_TYPES", "Gaussian", "GaussianParams", "GaussianStats"]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_LOG_2PI = float(np.log(2.0 * np.pi))


def precision_cholesky(covariances: Array) -> Array:
    """Cholesky factor ``U`` of the precision, same shape as ``covariances``.

    For matrices (..., D, D): ``U = L^-T`` where ``Sigma = L L^T``, upper triangular, so that
    ``U U^T = Sigma^-1``. For variances: ``1 / sqrt(var)``.

    Raises
    ------
    ValueError
        If a covariance is not positive definite (the message names the component).
    """
    if covariances.ndim == 3:
        try:
            lower = cholesky(covariances)
        except np.linalg.LinAlgError:
            bad = [
                k for k in range(covariances.shape[0]) if not _is_positive_definite(covariances[k])
            ]
            raise ValueError(f"covariance of component(s) {bad} is not positive definite") from None
        eye = np.broadcast_to(np.eye(covariances.shape[-1]), covariances.shape)
        return np.swapaxes(solve_triangular(lower, eye, lower=True), -1, -2)
    if (covariances <= 0).any():
        bad = sorted({int(i) for i in np.argwhere(covariances <= 0)[:, 0]})
        raise ValueError(f"variance of component(s) {bad} is not positive")
    return 1.0 / np.sqrt(covariances)


def _is_positive_definite(matrix: Array) -> bool:
    try:
        cholesky(matrix)
    except np.linalg.LinAlgError:
        return False
    return True


def _derive_precision_cholesky(self: GaussianParams) -> Array:
    return precision_cholesky(self.covariances)


@final
@attrs.frozen(eq=False)
class GaussianParams:
    """Means and covariances of K Gaussian components (shapes in the module docstring).

    ``precisions_cholesky`` is derived from ``covariances`` on construction; a covariance that is
    not positive definite raises ``ValueError``.
    """

    means: Array
    covariances: Array
    precisions_cholesky: Array = attrs.field(
        init=False, default=attrs.Factory(_derive_precision_cholesky, takes_self=True)
    )


@final
@attrs.frozen(eq=False)
class GaussianStats:
    """Responsibility-weighted moments, around ``center``.

    Attributes
    ----------
    center : (K, D) for full covariance, (1, D) otherwise
        Reference point shared by every chunk of one pass (not summed).
    sum_x : (K, D)
        ``sum_n r_nk (x_n - c_k)``.
    sum_xx : (K, D, D) full, (1, D, D) tied, (K, D) diag, (K,) spherical
        ``sum_n r_nk (x_n - c_k)(x_n - c_k)^T`` (tied: summed over k; diag: its diagonal;
        spherical: its trace).
    """

    center: Array = attrs.field(metadata=NOT_ADDITIVE)
    sum_x: Array
    sum_xx: Array


def _check_covariance_type(value: Any) -> str:
    return check_choice(value, "covariance_type", COVARIANCE_TYPES)


def _check_reg_covar(value: Any) -> float:
    return check_float(value, "reg_covar", minimum=0.0)


@final
@attrs.frozen
class Gaussian:
    """Multivariate normal components.

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance after the M-step, so that a component that
        collapses onto a point or a line keeps a positive-definite covariance.
    """

    covariance_type: str = attrs.field(default="full", converter=_check_covariance_type)
    reg_covar: float = attrs.field(default=1e-6, converter=_check_reg_covar)

    # -- parameters ---------------------------------------------------------------------------
    def covariance_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of ``GaussianParams.covariances`` for this covariance type."""
        k, d = n_components, n_features
        return {"full": (k, d, d), "tied": (1, d, d), "diag": (k, d), "spherical": (k,)}[
            self.covariance_type
        ]

    def validate_data(self, X: Array) -> Array:
        return X

    def validate_params(self, params: Any, n_components: int, n_features: int) -> GaussianParams:
        if not isinstance(params, GaussianParams):
            raise TypeError(
                f"`params` of a Gaussian family must be GaussianParams; got {type(params).__name__}"
            )
        means = check_array(params.means, "params.means", dtype=np.float64)
        covariances = check_array(
            params.covariances,
            "params.covariances",
            ndim=len(self.covariance_shape(n_components, n_features)),
            dtype=np.float64,
        )
        if means.shape != (n_components, n_features):
            raise ValueError(
                f"`params.means` must have shape (n_components, n_features) = "
                f"{(n_components, n_features)}; got {means.shape}"
            )
        expected = self.covariance_shape(n_components, n_features)
        if covariances.shape != expected:
            raise ValueError(
                f"`params.covariances` must have shape {expected} for covariance_type="
                f"{self.covariance_type!r}; got {covariances.shape}"
            )
        if covariances.ndim == 3 and not np.allclose(
            covariances, np.swapaxes(covariances, -1, -2), rtol=1e-10, atol=0.0
        ):
            raise ValueError("`params.covariances` must be symmetric matrices")
        try:
            return GaussianParams(means, covariances)
        except ValueError as exc:
            raise ValueError(f"`params.covariances`: {exc}") from None

    # -- E-step --------------------------------------------------------------------------------
    def log_prob(self, X: Array, params: GaussianParams) -> Array:
        dtype = X.dtype
        n_components, n_features = params.means.shape
        shift = params.means.mean(axis=0)
        Xs = X - shift.astype(dtype)
        offsets = params.means - shift
        U = params.precisions_cholesky
        kind = self.covariance_type
        if kind == "full":
            # All components at once: X (n, D) times the stacked factors (D, K*D).
            stacked = np.swapaxes(U, 0, 1).reshape(n_features, n_components * n_features)
            Y = (Xs @ stacked.astype(dtype)).reshape(-1, n_components, n_features)
            Y = Y - np.einsum("kd,kde->ke", offsets, U).astype(dtype)
            mahalanobis = np.einsum("nkd,nkd->nk", Y, Y)
            half_log_det = np.log(np.diagonal(U, axis1=1, axis2=2)).sum(axis=1)
        elif kind == "tied":
            Y = Xs @ U[0].astype(dtype)
            B = offsets @ U[0]
            mahalanobis = (
                np.einsum("nd,nd->n", Y, Y)[:, None]
                - 2.0 * (Y @ B.T.astype(dtype))
                + np.einsum("kd,kd->k", B, B)
            )
            half_log_det = np.log(np.diagonal(U[0])).sum() * np.ones(n_components)
        elif kind == "diag":
            precisions = U**2
            mahalanobis = (
                (Xs * Xs) @ precisions.T.astype(dtype)
                - 2.0 * (Xs @ (offsets * precisions).T.astype(dtype))
                + np.sum(offsets**2 * precisions, axis=1)
            )
            half_log_det = np.log(U).sum(axis=1)
        else:
            precisions = U**2
            mahalanobis = (
                np.einsum("nd,nd->n", Xs, Xs)[:, None] * precisions.astype(dtype)
                - 2.0 * (Xs @ (offsets * precisions[:, None]).T.astype(dtype))
                + np.sum(offsets**2, axis=1) * precisions
            )
            half_log_det = n_features * np.log(U)
        # Rounding can push a tiny distance below zero; a distance is never negative.
        mahalanobis = np.maximum(mahalanobis, 0.0)
        return np.asarray(-0.5 * (n_features * _LOG_2PI + mahalanobis) + half_log_det)

    def expected_stats(self, X: Array, resp: Array, center: Array) -> GaussianStats:
        dtype = X.dtype
        resp = resp.astype(dtype, copy=False)
        if self.covariance_type == "full":
            sum_x = np.empty(center.shape)
            sum_xx = np.empty((center.shape[0], center.shape[1], center.shape[1]))
            for k in range(center.shape[0]):
                # A weighted rank update per component on sqrt(r)-scaled, centred rows.
                Xc = X - center[k].astype(dtype)
                sum_x[k] = resp[:, k] @ Xc
                Z = Xc * np.sqrt(resp[:, k])[:, None]
                sum_xx[k] = Z.T @ Z
            return GaussianStats(center=center, sum_x=sum_x, sum_xx=sum_xx)
        shift = center.mean(axis=0, keepdims=True)
        Xs = X - shift.astype(dtype)
        sum_x = (resp.T @ Xs).astype(np.float64)
        if self.covariance_type == "tied":
            w = resp.sum(axis=1)
            sum_xx = ((Xs * w[:, None]).T @ Xs)[None].astype(np.float64)
        elif self.covariance_type == "diag":
            sum_xx = (resp.T @ (Xs * Xs)).astype(np.float64)
        else:
            sum_xx = (resp.T @ np.einsum("nd,nd->n", Xs, Xs)).astype(np.float64)
        return GaussianStats(center=shift, sum_x=sum_x, sum_xx=sum_xx)

    # -- M-step --------------------------------------------------------------------------------
    def maximize(self, stats: GaussianStats, counts: Array) -> GaussianParams:
        n_features = stats.sum_x.shape[1]
        move = stats.sum_x / counts[:, None]
        means = stats.center + move
        kind = self.covariance_type
        if kind == "full":
            covariances = stats.sum_xx / counts[:, None, None] - np.einsum("kd,ke->kde", move, move)
            covariances = covariances + self.reg_covar * np.eye(n_features)
        elif kind == "tied":
            between = move.T @ (counts[:, None] * move)
            covariances = (stats.sum_xx - between) / counts.sum() + self.reg_covar * np.eye(
                n_features
            )
        elif kind == "diag":
            covariances = np.maximum(stats.sum_xx / counts[:, None] - move**2, 0.0) + self.reg_covar
        else:
            spread = stats.sum_xx / counts - np.sum(move**2, axis=1)
            covariances = np.maximum(spread / n_features, 0.0) + self.reg_covar
        try:
            return GaussianParams(means, covariances)
        except ValueError as exc:
            raise ValueError(
                f"the M-step produced a degenerate Gaussian: {exc}. A component has collapsed "
                "onto too few distinct points; increase `reg_covar` "
                f"(now {self.reg_covar:g}), reduce n_components, or rescale the data"
            ) from None

    def log_prior(self, params: GaussianParams) -> float:
        return 0.0

    def mean(self, params: GaussianParams) -> Array:
        return params.means

    def n_parameters(self, n_components: int, n_features: int) -> int:
        d = n_features
        covariance = {
            "full": n_components * d * (d + 1) // 2,
            "tied": d * (d + 1) // 2,
            "diag": n_components * d,
            "spherical": n_components,
        }[self.covariance_type]
        return n_components * d + covariance

    def sample(
        self, params: GaussianParams, component: int, n: int, rng: np.random.Generator
    ) -> Array:
        mean = params.means[component]
        z = rng.standard_normal((n, mean.shape[0]))
        cov = params.covariances
        if cov.ndim == 3:
            factor = cholesky(cov[component if cov.shape[0] > 1 else 0])
            return np.asarray(mean + z @ factor.T)
        return np.asarray(mean + z * np.sqrt(cov[component]))
