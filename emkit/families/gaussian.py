"""Gaussian components with full, tied, diagonal or spherical covariance.

The Gaussian is an exponential family with ``T(x) = (x, x x^T)``; its M-step is moment matching
on the responsibility-weighted first and second moments. It implements the family protocol
directly, for speed and accuracy:

* parameters keep the Cholesky factor ``U`` of each precision matrix (``U U^T = Sigma^-1``), so
  ``log det`` comes from its diagonal and the Mahalanobis distance is ``||(x - mu) U||^2``;
* rows are shifted by the mean of the component means before anything is squared, so data
  offset far from the origin (say by 1e6) fits as accurately as centred data;
* second moments are accumulated around a reference point (``center``), the mean of the
  component means. The new covariance is then ``S / n_k - d d^T`` with ``d`` the move of the mean
  from that point, never the cancellation-prone ``E[x x^T] - mu mu^T`` of raw data;
* every chunk is evaluated with a few large matrix products: the log-densities of all
  components are one product of the chunk's features ``(u u^T, u)`` (``u = x - g``, the row
  shifted to a reference point) with the natural parameters, and the statistics one product of
  the responsibilities with the same features (``emkit.families._gaussian_kernels``);
* missing entries (NaN) are integrated out exactly: the log-density is that of each row's
  observed coordinates, and the statistics hold the conditional moments of the missing ones
  given the observed ones (Ghahramani & Jordan 1994), from one small factorisation per
  missingness pattern and component (``emkit.families._gaussian_missing``). Data without NaN
  takes the complete-data code unchanged.

Shapes of [`GaussianParams`][emkit.families.gaussian.GaussianParams] by covariance type (K
components, D features):

| type | ``covariances`` | meaning |
| --- | --- | --- |
| full | (K, D, D) | one covariance matrix per component |
| tied | (1, D, D) | one matrix shared by all components |
| diag | (K, D) | per-component variances of each feature |
| spherical | (K,) | one variance per component |
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, final

import attrs
import numpy as np

from emkit._backend import Array, cholesky, solve_triangular
from emkit._validation import check_array, check_choice, check_float
from emkit.families._gaussian_kernels import (
    GaussianKernel,
    feature_columns,
    kernel_for,
    moment_sums,
    shifted_features,
    stacked_moment_sums,
)
from emkit.families._gaussian_missing import (
    diagonal_impute,
    diagonal_log_prob_with_stats,
    pattern_impute,
    pattern_log_prob_with_stats,
)
from emkit.registry import OPTIONAL_SETTING, register_family
from emkit.stats import NOT_ADDITIVE

__all__ = [
    "COVARIANCE_TYPES",
    "DEGENERATE_VARIANCE_FRACTION",
    "Gaussian",
    "GaussianParams",
    "GaussianStats",
]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
"""The values of ``Gaussian(covariance_type=...)``."""
_LOG_2PI = float(np.log(2.0 * np.pi))

#: How far a covariance matrix may differ from its transpose, relative to its largest variance:
#: rounding (about 1e-16), never a real asymmetry.
SYMMETRY_RTOL = 1e-10

#: hmmlearn's floor on the denominators of the diagonal and spherical M-step with a prior
#: (``np.maximum(c_d, 1e-5)`` in ``GaussianHMM._do_mstep``), kept so that both agree exactly.
PRIOR_DENOMINATOR_FLOOR = 1e-5

#: How negative an eigenvalue of a ``covariance_prior`` matrix may be, relative to its largest
#: diagonal entry, and still count as positive semi-definite: rounding, never a real direction
#: of negative prior scatter.
PRIOR_PSD_RTOL = 1e-10

DEGENERATE_VARIANCE_FRACTION = 1.0
"""A fitted variance within this fraction of ``reg_covar`` above it carries no information from
the data: the component has no spread along that feature. With missing values such a feature's
variance settles at ``reg_covar / (1 - f)`` rather than ``reg_covar``, ``f`` the fraction of its
entries missing (each E-step's conditional covariance carries the safeguard into the next
M-step): the fraction 1 reports it up to half missing. A variance at most twice ``reg_covar`` is
also, on complete data, mostly the safeguard's."""


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

    Attributes
    ----------
    means : array of shape (n_components, n_features)
        The component means ``mu_k``.
    covariances : array
        (K, D, D) full, (1, D, D) tied, (K, D) diag, (K,) spherical.
    precisions_cholesky : array, same shape as ``covariances``
        Derived: the Cholesky factor ``U`` of each precision, ``U U^T = Sigma^-1`` (for variances
        ``1 / sqrt(var)``).
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

    def recenter(self, like: GaussianStats, counts: Array) -> GaussianStats:
        """The same moments around ``like.center``; ``counts`` (n_components,) are ``n_k``.

        With ``d_k = c_k - c'_k``: ``sum r_k (x - c'_k) = S_k + n_k d_k`` and
        ``sum r_k (x - c'_k)(x - c'_k)^T = M_k + S_k d_k^T + d_k S_k^T + n_k d_k d_k^T``, where
        ``S_k`` and ``M_k`` are the first and second sums around ``c_k``. Tied statistics hold
        the sum of the ``M_k`` over components, diagonal ones their diagonals, spherical ones
        their traces; the same identity gives each. Centers may be one row shared by all
        components or one row per component, on either side.
        """
        counts = np.asarray(counts, dtype=np.float64)
        n_components = counts.shape[0]
        sum_x, sum_xx = self.sum_x, self.sum_xx
        d = np.broadcast_to(self.center - like.center, sum_x.shape)
        new_x = sum_x + counts[:, None] * d
        if sum_xx.ndim == 3:
            cross = np.einsum("kd,ke->kde", sum_x, d)
            if sum_xx.shape[0] == n_components:  # full (or one component)
                spread = np.einsum("k,kd,ke->kde", counts, d, d)
                new_xx = sum_xx + cross + np.swapaxes(cross, 1, 2) + spread
            else:  # tied: one matrix summed over the components
                total = cross.sum(axis=0)
                new_xx = sum_xx + (total + total.T + np.einsum("k,kd,ke->de", counts, d, d))[None]
        elif sum_xx.ndim == 2:  # diag
            new_xx = sum_xx + 2.0 * sum_x * d + counts[:, None] * d**2
        else:  # spherical
            new_xx = sum_xx + 2.0 * np.sum(sum_x * d, axis=1) + counts * np.sum(d**2, axis=1)
        return GaussianStats(center=np.array(like.center, copy=True), sum_x=new_x, sum_xx=new_xx)


def _check_covariance_type(value: Any) -> str:
    return check_choice(value, "covariance_type", COVARIANCE_TYPES)


def _check_reg_covar(value: Any) -> float:
    return check_float(value, "reg_covar", minimum=0.0)


def _prior_setting(value: Any, name: str, minimum: float | None) -> float | Array:
    """A number as ``float``, an array as a read-only float64 copy; finite, ``>= minimum``."""
    if isinstance(value, numbers.Real) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return check_float(
            value.item() if isinstance(value, np.ndarray) else value, name, minimum=minimum
        )
    arr = np.array(check_array(value, f"{name}", ndim=np.ndim(value), dtype=np.float64))
    if minimum is not None and (arr < minimum).any():
        index = tuple(int(i) for i in np.argwhere(arr < minimum)[0])
        raise ValueError(f"`{name}` must be >= {minimum}; got {arr[index]} at index {index}")
    arr.setflags(write=False)
    return arr


def _check_mean_prior(value: Any) -> float | Array:
    return _prior_setting(value, "mean_prior", None)


def _check_mean_weight(value: Any) -> float | Array:
    return _prior_setting(value, "mean_weight", 0.0)


def _check_covariance_prior(value: Any) -> float | Array:
    return _prior_setting(value, "covariance_prior", None)


def _check_covariance_weight(value: Any) -> float | Array:
    return _prior_setting(value, "covariance_weight", 0.0)


def _same_setting(a: float | Array, b: float | Array) -> bool:
    return bool(np.shape(a) == np.shape(b) and np.array_equal(a, b))


#: The array ranks each prior setting accepts (besides a number), by covariance type; the
#: shapes they stand for are in the ``Gaussian`` docstring.
_PRIOR_NDIMS: dict[str, dict[str, tuple[int, ...]]] = {
    "mean_prior": dict.fromkeys(COVARIANCE_TYPES, (0, 1, 2)),
    "mean_weight": dict.fromkeys(COVARIANCE_TYPES, (0, 1)),
    "covariance_prior": {"full": (0, 2, 3), "tied": (0, 2), "diag": (0, 1, 2), "spherical": (0, 1)},
    "covariance_weight": {"full": (0, 1), "tied": (0,), "diag": (0, 1), "spherical": (0, 1)},
}

_PRIOR_SHAPES: dict[str, dict[str, str]] = {
    "mean_prior": dict.fromkeys(COVARIANCE_TYPES, "(n_features,) or (n_components, n_features)"),
    "mean_weight": dict.fromkeys(COVARIANCE_TYPES, "(n_components,)"),
    "covariance_prior": {
        "full": "(n_features, n_features) or (n_components, n_features, n_features)",
        "tied": "(n_features, n_features)",
        "diag": "(n_features,) or (n_components, n_features)",
        "spherical": "(n_components,)",
    },
    "covariance_weight": {
        "full": "(n_components,)",
        "tied": "() (one number: the covariance is shared)",
        "diag": "(n_components,)",
        "spherical": "(n_components,)",
    },
}


# Prior settings may be arrays: compared by value, and left out of the hash (equal families
# still hash equally) so that a Gaussian stays hashable whatever its prior.
_SETTING_EQ = attrs.cmp_using(eq=_same_setting)


def _check_prior_matrices(psi: Array) -> None:
    """``covariance_prior`` matrices are symmetric positive semi-definite."""
    mats = psi.reshape(-1, *psi.shape[-2:])
    if mats.shape[-1] != mats.shape[-2]:
        raise ValueError(
            f"`covariance_prior` matrices must be square; got an array of shape {psi.shape}"
        )
    scale = np.maximum(np.abs(np.diagonal(mats, axis1=1, axis2=2)).max(axis=1), 1.0)
    asymmetry = np.abs(mats - np.swapaxes(mats, 1, 2)).max(axis=(1, 2))
    if np.any(asymmetry > SYMMETRY_RTOL * scale):
        worst = int(np.argmax(asymmetry / scale))
        raise ValueError(
            f"`covariance_prior` must hold symmetric matrices; matrix {worst} differs from its "
            f"transpose by {asymmetry[worst]:.3g}"
        )
    lowest = np.linalg.eigvalsh(mats)[:, 0]
    if np.any(lowest < -PRIOR_PSD_RTOL * scale):
        worst = int(np.argmin(lowest / scale))
        raise ValueError(
            f"`covariance_prior` must hold positive semi-definite matrices (a prior scatter); "
            f"matrix {worst} has eigenvalue {lowest[worst]:.3g}"
        )


@final
@attrs.frozen
class Gaussian:
    """Multivariate normal components, optionally with hmmlearn's conjugate prior (MAP-EM).

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance after the M-step, so that a component that
        collapses onto a point or a line keeps a positive-definite covariance. ``0`` with a
        prior gives exactly hmmlearn's ``GaussianHMM`` M-step.
    mean_prior : float or array, default 0.0
        ``m0``, the prior mean of every component: a number (every feature), an array of shape
        (n_features,) (shared by the components) or (n_components, n_features). hmmlearn's
        ``means_prior``.
    mean_weight : float or array of shape (n_components,), default 0.0
        ``w >= 0``, the prior's pseudo-observations at ``m0`` (per component for an array).
        hmmlearn's ``means_weight``.
    covariance_prior : float or array, default 0.0
        ``Psi``, the prior scatter added to the scatter of the data. A number ``c`` is added
        to every variance for "diag" and "spherical" (``Psi = c I``), but, as numpy
        broadcasting does in hmmlearn, to EVERY entry of the matrix for "full" and "tied"
        (``Psi = c 1 1^T``, off-diagonal entries included, not ``c I``). Arrays: (n_features,
        n_features) or (n_components, n_features, n_features) for "full", (n_features,
        n_features) for "tied" (symmetric positive semi-definite matrices), (n_features,) or
        (n_components, n_features) for "diag", (n_components,) for "spherical" (one value per
        component); numbers and "diag"/"spherical" values must be ``>= 0``. hmmlearn's
        ``covars_prior``.
    covariance_weight : float or array of shape (n_components,), default 0.0
        ``nu >= 0``: the covariance denominators gain ``c0 = max(nu - 1, 0)`` ("diag",
        "spherical") or ``c0 = max(nu - D, 0)`` ("full", "tied"; one number for "tied").
        hmmlearn's ``covars_weight``.

    Notes
    -----
    With all four prior settings at 0 the prior is flat: the M-step is maximum likelihood and
    [`log_prior`][emkit.families.gaussian.Gaussian.log_prior] is ``0.0``. Otherwise the M-step
    maximises ``Q + log p(theta)`` for the prior (up to a constant, ``delta_k = mu_k - m0_k``)

    ``log p = sum_k [ -(c0_k / 2) log|Sigma_k| - tr(Sigma_k^-1 (Psi_k + w_k delta_k
    delta_k^T)) / 2 ]``

    for "full" (one ``Sigma`` and one ``-(c0/2) log|Sigma|`` for "tied"), its diagonal form
    ``sum_kd [ -(c0_k / 2) log var_kd - (Psi_kd + w_k delta_kd^2) / (2 var_kd) ]`` for "diag",
    and ``sum_k [ -(D c0_k / 2) log var_k - (D Psi_k + w_k ||delta_k||^2) / (2 var_k) ]`` for
    "spherical". This is a normal prior on each mean with precision ``w_k Sigma_k^-1`` times an
    inverse-Wishart-shaped factor on each covariance; it need not be normalisable (hmmlearn's
    default ``covars_weight=1`` gives ``c0 = 0`` for "full"), which MAP-EM does not require.
    hmmlearn documents its four settings as arrays of shape (n_components,) but broadcasts them
    against (n_components, n_features) arrays, so that only numbers (and for the means and
    covariance scatter, per-feature arrays) behave as documented there; emkit takes the
    shapes above, with per-component arrays meaning one value per component.
    """

    covariance_type: str = attrs.field(default="full", converter=_check_covariance_type)
    reg_covar: float = attrs.field(default=1e-6, converter=_check_reg_covar)
    mean_prior: float | Array = attrs.field(
        default=0.0,
        converter=_check_mean_prior,
        eq=_SETTING_EQ,
        hash=False,
        kw_only=True,
        metadata=OPTIONAL_SETTING,
    )
    mean_weight: float | Array = attrs.field(
        default=0.0,
        converter=_check_mean_weight,
        eq=_SETTING_EQ,
        hash=False,
        kw_only=True,
        metadata=OPTIONAL_SETTING,
    )
    covariance_prior: float | Array = attrs.field(
        default=0.0,
        converter=_check_covariance_prior,
        eq=_SETTING_EQ,
        hash=False,
        kw_only=True,
        metadata=OPTIONAL_SETTING,
    )
    covariance_weight: float | Array = attrs.field(
        default=0.0,
        converter=_check_covariance_weight,
        eq=_SETTING_EQ,
        hash=False,
        kw_only=True,
        metadata=OPTIONAL_SETTING,
    )

    def __attrs_post_init__(self) -> None:
        kind = self.covariance_type
        for name, ranks in _PRIOR_NDIMS.items():
            value = getattr(self, name)
            if np.ndim(value) not in ranks[kind]:
                raise ValueError(
                    f"`{name}` of a Gaussian with covariance_type={kind!r} must be a number or "
                    f"an array of shape {_PRIOR_SHAPES[name][kind]}; got an array of shape "
                    f"{np.shape(value)}"
                )
        psi = self.covariance_prior
        if kind in ("diag", "spherical") and np.min(psi) < 0.0:
            raise ValueError(
                f"`covariance_prior` of a {kind!r} Gaussian must be >= 0 (a prior variance "
                f"scatter); got minimum {np.min(psi)}"
            )
        if kind in ("full", "tied"):
            if np.ndim(psi) == 0:
                if float(psi) < 0.0:  # c 1 1^T is positive semi-definite only for c >= 0
                    raise ValueError(f"`covariance_prior` must be >= 0; got {psi}")
            else:
                _check_prior_matrices(np.asarray(psi))

    @property
    def has_prior(self) -> bool:
        """Whether any prior setting differs from its default 0 (the MAP M-step is used).

        Returns
        -------
        has_prior : bool
        """
        return not all(
            isinstance(v, float) and v == 0.0
            for v in (
                self.mean_prior,
                self.mean_weight,
                self.covariance_prior,
                self.covariance_weight,
            )
        )

    def prior_arrays(self, n_components: int, n_features: int) -> tuple[Array, Array, Array, Array]:
        """The prior settings broadcast to one value per component.

        Parameters
        ----------
        n_components : int
        n_features : int

        Returns
        -------
        mean_prior : array of shape (n_components, n_features)
            ``m0_k``.
        mean_weight : array of shape (n_components,)
            ``w_k``.
        covariance_prior : array
            ``Psi_k``: (K, D, D) full, (1, D, D) tied, (K, D) diag, (K,) spherical (the value
            added to each variance).
        extra_count : array of shape (n_components,), or (1,) for tied
            ``c0_k``, ``max(nu_k - 1, 0)`` for "diag" and "spherical", ``max(nu_k - D, 0)``
            for "full" and "tied".

        Raises
        ------
        ValueError
            If a setting's shape does not fit ``n_components`` and ``n_features`` (the message
            names the setting and the shapes it may take).
        """
        k, d = n_components, n_features
        kind = self.covariance_type
        psi_shape = self.covariance_shape(k, d)
        allowed: dict[str, list[tuple[int, ...]]] = {
            "mean_prior": [(), (d,), (k, d)],
            "mean_weight": [(), (k,)],
            "covariance_prior": {
                "full": [(), (d, d), (k, d, d)],
                "tied": [(), (d, d)],
                "diag": [(), (d,), (k, d)],
                "spherical": [(), (k,)],
            }[kind],
            "covariance_weight": [()] if kind == "tied" else [(), (k,)],
        }
        for name, shapes in allowed.items():
            shape = np.shape(getattr(self, name))
            if shape not in shapes:
                raise ValueError(
                    f"`{name}` of a Gaussian with covariance_type={kind!r} must be a number or "
                    f"an array of shape {_PRIOR_SHAPES[name][kind]} = "
                    f"{' or '.join(str(s) for s in shapes[1:])} for {k} components and {d} "
                    f"features; got shape {shape}"
                )
        m0 = np.broadcast_to(np.asarray(self.mean_prior, dtype=np.float64), (k, d))
        w = np.broadcast_to(np.asarray(self.mean_weight, dtype=np.float64), (k,))
        psi = np.broadcast_to(np.asarray(self.covariance_prior, dtype=np.float64), psi_shape)
        nu = np.asarray(self.covariance_weight, dtype=np.float64)
        drop = 1.0 if kind in ("diag", "spherical") else float(d)
        c0 = np.maximum(np.broadcast_to(nu, (1,) if kind == "tied" else (k,)) - drop, 0.0)
        return m0, w, psi, c0

    # -- parameters ---------------------------------------------------------------------------
    def covariance_shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of ``GaussianParams.covariances`` for this covariance type.

        Parameters
        ----------
        n_components : int
        n_features : int

        Returns
        -------
        shape : tuple of int
            (K, D, D) full, (1, D, D) tied, (K, D) diag, (K,) spherical, with K = n_components
            and D = n_features.
        """
        k, d = n_components, n_features
        return {"full": (k, d, d), "tied": (1, d, d), "diag": (k, d), "spherical": (k,)}[
            self.covariance_type
        ]

    @property
    def handles_missing(self) -> bool:
        """NaN entries are missing values, integrated out exactly: ``True`` (the
        [`MissingValues`][emkit.protocols.MissingValues] capability).

        Returns
        -------
        handles_missing : bool
        """
        return True

    def validate_data(self, X: Array) -> Array:
        """Every real row is in the support, NaN entries are missing values: ``X`` is returned
        as it is.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        X : array of shape (n_samples, n_features)

        Raises
        ------
        ValueError
            If an entry is infinite (the message names its row and column).
        """
        check_array(X, "X", allow_missing=True)
        return X

    def validate_params(self, params: Any, n_components: int, n_features: int) -> GaussianParams:
        """Check user-given means and covariances: type, shapes, symmetry, positive definiteness.

        Parameters
        ----------
        params : GaussianParams
        n_components : int
        n_features : int

        Returns
        -------
        params : GaussianParams
            The same object when it was already valid float64, else a new one (with
            ``precisions_cholesky`` derived).

        Raises
        ------
        TypeError
            If ``params`` is not a [`GaussianParams`][emkit.families.gaussian.GaussianParams].
        ValueError
            If a shape is wrong, a covariance matrix is not symmetric or not positive definite.
        """
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
        if covariances.ndim == 3:
            # Asymmetry is measured against each matrix's scale (its largest variance): an
            # off-diagonal entry that is zero up to rounding is symmetric, whatever its sign.
            scale = np.abs(np.diagonal(covariances, axis1=1, axis2=2)).max(axis=1)
            asymmetry = np.abs(covariances - np.swapaxes(covariances, -1, -2)).max(axis=(1, 2))
            if np.any(asymmetry > SYMMETRY_RTOL * scale):
                worst = int(np.argmax(asymmetry / np.maximum(scale, np.finfo(float).tiny)))
                raise ValueError(
                    f"`params.covariances` must be symmetric matrices; matrix {worst} differs "
                    f"from its transpose by {asymmetry[worst]:.3g} (its largest variance "
                    f"{scale[worst]:.3g})"
                )
        # A value built without the constructor (object.__new__) has no derived factor.
        derived = getattr(params, "precisions_cholesky", None)
        if (
            means is params.means
            and covariances is params.covariances
            and isinstance(derived, np.ndarray)
            and derived.shape == covariances.shape
        ):
            # Already float64 arrays of the right shapes, and positive definite: the
            # constructor derived the precision factor from them (it raises otherwise).
            return params
        try:
            return GaussianParams(means, covariances)
        except ValueError as exc:
            raise ValueError(f"`params.covariances`: {exc}") from None

    # -- E-step --------------------------------------------------------------------------------
    def log_prob(self, X: Array, params: GaussianParams) -> Array:
        """``log N(x_n | mu_k, Sigma_k)`` of every row under every component.

        ``-(D log 2pi)/2 + log det U_k - ||(x_n - mu_k) U_k||^2 / 2`` with ``U_k`` the Cholesky
        factor of the precision, evaluated with a few large matrix products. A row with missing
        entries (NaN) gets the marginal density of its observed ones,
        ``log N(x_o | mu_k,o, Sigma_k,oo)`` (0 for a row with none observed).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            NaN where missing.
        params : GaussianParams
            ``means`` (n_components, n_features), ``covariances`` shaped by the covariance type
            (see [`covariance_shape`][emkit.families.gaussian.Gaussian.covariance_shape]).

        Returns
        -------
        log_prob : array of shape (n_samples, n_components)
        """
        missing = np.isnan(X)
        if missing.any():
            log_prob, _ = self._observed_log_prob_with_stats(X, missing, params)
            return log_prob
        # All components from one matrix product of the chunk's features (see _gaussian_kernels).
        kernel = self._kernel(params, X.dtype)
        return kernel.log_prob(X, kernel.features(X))

    def expected_stats(self, X: Array, resp: Array, center: Array) -> GaussianStats:
        """Responsibility-weighted first and second moments around a reference point.

        ``sum_n r_nk (x_n - c_k)`` and ``sum_n r_nk (x_n - c_k)(x_n - c_k)^T`` (or its tied sum,
        diagonal or trace), the moments of ``T(x) = (x, x x^T)`` taken around ``c_k`` so that
        no cancellation occurs in the M-step.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        resp : array of shape (n_samples, n_components)
            The responsibilities ``r_nk``, already multiplied by the row weights.
        center : array of shape (n_components, n_features)
            The reference points (the component means of the current parameters); a full
            covariance keeps one per component, the other types their mean.

        Returns
        -------
        stats : GaussianStats
            Shapes in [`GaussianStats`][emkit.families.gaussian.GaussianStats].

        Raises
        ------
        ValueError
            If ``X`` holds NaN: filling missing entries in needs the parameters
            ([`log_prob_with_stats`][emkit.families.gaussian.Gaussian.log_prob_with_stats]).
        """
        if np.isnan(X).any():
            raise ValueError(
                "Gaussian.expected_stats cannot fill in missing values (NaN) without the "
                "parameters; use log_prob_with_stats, whose statistics do"
            )
        # Moments around the mean of the centers, rounded to X's dtype so that the shift is
        # exact in the data's precision; one product resp^T @ features per chunk.
        kind = self.covariance_type
        center = np.asarray(center, dtype=np.float64)
        if kind == "full":
            # Without parameters to judge the conditioning by, use the rank updates around each
            # component's own center (the E-step's fused path chooses per iteration).
            ref, sum_x, sum_xx = stacked_moment_sums(X, resp, center)
        else:
            shift = center.mean(axis=0).astype(X.dtype).astype(np.float64)
            F = shifted_features(kind, X, shift, quadratic=True)
            ref, sum_x, sum_xx = moment_sums(kind, F, resp, shift, X.shape[1])
        return GaussianStats(center=ref, sum_x=sum_x, sum_xx=sum_xx)

    def log_prob_with_stats(
        self, X: Array, params: GaussianParams
    ) -> tuple[Array, Array | None, Callable[[Array], GaussianStats]]:
        """``log_prob`` of a chunk, and a function of its responsibilities giving the
        statistics, both from the same chunk features (the fused E-step of a mixture).

        With missing entries (NaN) the log-density is that of each row's observed entries, and
        the statistics are the expected ones given them (Ghahramani & Jordan 1994): for row n
        and component k the conditional mean ``x_hat_nk = E[x_n | x_n,o, z = k]`` (missing
        coordinates ``mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o)``) stands in for ``x_n``, and the
        conditional covariance ``C_nk = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om`` (in the
        missing block) is added to the second moments:
        ``sum_n r_nk [(x_hat_nk - c_k)(x_hat_nk - c_k)^T + C_nk]`` (tied: summed over k; diag:
        its diagonal; spherical: its trace). A row with nothing observed has log-density 0,
        ``x_hat = mu_k`` and ``C = Sigma_k``. Rows are grouped by missingness pattern, so the
        cost is one small factorisation per pattern and component (tied: per pattern);
        diagonal and spherical covariances need none (``x_hat_m = mu_m``,
        ``C = diag(var_m)``). Without NaN the complete-data code runs unchanged.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            NaN where missing.
        params : GaussianParams
            ``means`` (n_components, n_features), ``covariances`` shaped by the covariance type
            (see [`covariance_shape`][emkit.families.gaussian.Gaussian.covariance_shape]).

        Returns
        -------
        log_prob : array of shape (n_samples, n_components)
        row_offset : None
            The per-row offset of the log-density that does not change responsibilities; unused
            by the Gaussian.
        stats_of : callable
            ``stats_of(resp)``, with ``resp`` of shape (n_samples, n_components), returns the
            [`GaussianStats`][emkit.families.gaussian.GaussianStats] of the same rows.
        """
        missing = np.isnan(X)
        if missing.any():
            log_prob, moments_of = self._observed_log_prob_with_stats(X, missing, params)

            def observed_stats_of(resp: Array) -> GaussianStats:
                ref, sum_x, sum_xx = moments_of(resp)
                return GaussianStats(center=ref, sum_x=sum_x, sum_xx=sum_xx)

            return log_prob, None, observed_stats_of
        kernel = self._kernel(params, X.dtype)
        F = kernel.features(X)

        def stats_of(resp: Array) -> GaussianStats:
            ref, sum_x, sum_xx = kernel.stats(X, F, resp)
            return GaussianStats(center=ref, sum_x=sum_x, sum_xx=sum_xx)

        return kernel.log_prob(X, F), None, stats_of

    def _observed_log_prob_with_stats(
        self, X: Array, missing: Array, params: GaussianParams
    ) -> tuple[Array, Callable[[Array], tuple[Array, Array, Array]]]:
        # The statistics are taken around the reference point of the complete-data kernel for
        # the same parameters, so that chunks with and without NaN of one pass add up.
        kernel = self._kernel(params, X.dtype)
        if self.covariance_type in ("diag", "spherical"):
            return diagonal_log_prob_with_stats(
                X, missing, params.means, params.covariances, kernel
            )
        n_components, n_features = params.means.shape
        return pattern_log_prob_with_stats(
            X,
            missing,
            params.means,
            params.precisions_cholesky,
            kernel,
            budget=self._missing_budget(n_components, n_features),
            owner=params,
        )

    def _missing_budget(self, n_components: int, n_features: int) -> int:
        # The missing-value path forms none of the complete-data features: its temporaries
        # may take their room (numbers per row), so bytes_per_row holds for both paths.
        return feature_columns(self.covariance_type, n_features, n_components) + n_features

    def impute(self, X: Array, resp: Array, params: GaussianParams) -> Array:
        """``X`` with each missing entry replaced by ``sum_k resp[n, k] E[x_m | x_o, z = k]``.

        ``E[x_m | x_o, z = k] = mu_k,m + Sigma_k,mo Sigma_k,oo^-1 (x_o - mu_k,o)`` (``mu_k,m``
        for diagonal and spherical covariance; ``mu_k`` for a row with nothing observed), the
        [`FamilyImputing`][emkit.protocols.FamilyImputing] capability.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            NaN where missing.
        resp : array of shape (n_samples, n_components)
            ``p(z_n = k | x_n,o)``, rows summing to 1.
        params : GaussianParams
            ``means`` (n_components, n_features), ``covariances`` shaped by the covariance type
            (see [`covariance_shape`][emkit.families.gaussian.Gaussian.covariance_shape]).

        Returns
        -------
        X_imputed : array of shape (n_samples, n_features)
            A new array of X's dtype; observed entries unchanged.
        """
        missing = np.isnan(X)
        if not missing.any():
            return np.array(X, copy=True)
        if self.covariance_type in ("diag", "spherical"):
            return diagonal_impute(X, missing, resp, params.means)
        return pattern_impute(
            X,
            missing,
            resp,
            params.means,
            params.precisions_cholesky,
            budget=self._missing_budget(*params.means.shape),
            owner=params,
        )

    def bytes_per_row(self, n_components: int, n_features: int, itemsize: int) -> int:
        """Bytes of the per-row temporaries of one chunk (for automatic chunk sizes).

        The chunk's features dominate. A chunk with missing values (NaN) forms the same
        features plus a few numbers per missing entry and component and, for full and tied
        covariance, one component's conditionally filled rows at a time: measured at 10%
        missing, K = 8 and 16 features, its peak is 1.7 times this count for full covariance
        and 2.4 to 3.1 times for the others, whose features are few.

        Parameters
        ----------
        n_components : int
        n_features : int
        itemsize : int
            Bytes of one number of the data's dtype.

        Returns
        -------
        bytes_per_row : int
        """
        columns = feature_columns(self.covariance_type, n_features, n_components)
        # Below float64, the first moments are a float64 product: z and R are cast.
        cast = 8 * (n_features + n_components) if itemsize < 8 else 0
        return itemsize * (columns + n_features) + cast

    def _kernel(self, params: GaussianParams, dtype: np.dtype[Any]) -> GaussianKernel:
        return kernel_for(
            self.covariance_type, params.means, params.precisions_cholesky, dtype, params
        )

    # -- M-step --------------------------------------------------------------------------------
    def maximize(self, stats: GaussianStats, counts: Array) -> GaussianParams:
        """The M-step of every component: weighted means and covariances, then ``reg_covar``.

        The weighted means ``mu_k = sum_n r_nk x_n / n_k`` and covariances
        ``Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / n_k`` (tied: summed over components
        and divided by ``N``; diag: the diagonal; spherical: the mean of the diagonal) maximise
        ``Q`` over the means and covariances of the chosen type. They are computed from the
        moment sums around ``c_k`` (``S_k = sum_x[k]``, ``M_k = sum_xx[k]``) as
        ``mu_k = c_k + d_k`` with ``d_k = S_k / n_k``, and ``Sigma_k = M_k / n_k - d_k d_k^T``
        (variances clipped at 0 against rounding). ``reg_covar`` is then added to every
        variance: a safeguard that keeps covariances positive definite, not the maximiser of a
        stated objective.

        Parameters
        ----------
        stats : GaussianStats
            Moments summed over all the data.
        counts : array of shape (n_components,)
            ``n_k = sum_n r_nk``, already floored away from zero.

        Returns
        -------
        params : GaussianParams
            ``means`` (n_components, n_features), ``covariances`` shaped by the covariance type.

        Raises
        ------
        ValueError
            If a covariance is not positive definite even after ``reg_covar`` (a component
            collapsed onto too few distinct points).

        Notes
        -----
        With a prior (see the class docstring) the M-step is hmmlearn's MAP update, with
        ``n_k`` the counts, ``S1_k = sum_n r_nk x_n``, ``C_k = sum_n r_nk (x_n - mu_k)(x_n -
        mu_k)^T`` the scatter around the NEW mean and ``delta_k = mu_k - m0_k``:

        * ``mu_k = (w_k m0_k + S1_k) / (w_k + n_k)``;
        * full: ``Sigma_k = (Psi_k + w_k delta_k delta_k^T + C_k) / (c0_k + n_k)``;
        * tied: ``Sigma = (Psi + sum_k [w_k delta_k delta_k^T + C_k]) / (c0 + sum_k n_k)``;
        * diag: ``var_kd = (Psi_kd + w_k delta_kd^2 + C_kdd) / max(c0_k + n_k, 1e-5)``;
        * spherical: the diag values averaged over the features.

        Derivation: ``Q + log p`` is, per component and up to constants, ``-((n_k + c0_k)/2)
        log|Sigma_k| - tr(Sigma_k^-1 [C(mu_k) + Psi_k + w_k delta_k delta_k^T]) / 2``. Its
        gradient in ``mu_k`` is ``Sigma_k^-1 [S1_k - n_k mu_k - w_k (mu_k - m0_k)]``, zero at
        the ``mu_k`` above whatever ``Sigma_k``; its gradient in ``Sigma_k^-1`` is ``((n_k +
        c0_k) Sigma_k - [C_k + Psi_k + w_k delta_k delta_k^T]) / 2``, zero at the ``Sigma_k``
        above (concave in ``Sigma_k^-1``, so these are the maximisers). Tied sums the bracket
        over k with one ``c0``; diag is the same per feature; spherical has ``D (n_k + c0_k)``
        and the trace of the bracket, the mean of the diag numerators over ``n_k + c0_k``.
        hmmlearn's floor ``1e-5`` on the diag and spherical denominators is kept (it only acts
        when ``c0_k + n_k < 1e-5``). ``reg_covar`` is added afterwards, as without a prior.
        """
        if self.has_prior:
            return self._maximize_with_prior(stats, counts)
        n_features = stats.sum_x.shape[1]
        move = stats.sum_x / counts[:, None]
        means = stats.center + move
        kind = self.covariance_type
        if kind in ("full", "tied"):
            if kind == "full":
                covariances = stats.sum_xx / counts[:, None, None] - np.einsum(
                    "kd,ke->kde", move, move
                )
            else:
                between = move.T @ (counts[:, None] * move)
                covariances = (stats.sum_xx - between) / counts.sum()
            # A matrix product A^T B rounds its (i, j) and (j, i) entries differently; the
            # maximiser is symmetric, so make the rounded one exactly so.
            covariances = 0.5 * (covariances + np.swapaxes(covariances, -1, -2))
            covariances = covariances + self.reg_covar * np.eye(n_features)
        elif kind == "diag":
            covariances = np.maximum(stats.sum_xx / counts[:, None] - move**2, 0.0) + self.reg_covar
        else:
            spread = stats.sum_xx / counts - np.sum(move**2, axis=1)
            covariances = np.maximum(spread / n_features, 0.0) + self.reg_covar
        return self._params(means, covariances)

    def _params(self, means: Array, covariances: Array) -> GaussianParams:
        try:
            return GaussianParams(means, covariances)
        except ValueError as exc:
            raise ValueError(
                f"the M-step produced a degenerate Gaussian: {exc}. A component has collapsed "
                "onto too few distinct points; increase `reg_covar` "
                f"(now {self.reg_covar:g}), reduce n_components, or rescale the data"
            ) from None

    def _maximize_with_prior(self, stats: GaussianStats, counts: Array) -> GaussianParams:
        n_components, n_features = stats.sum_x.shape
        m0, w, psi, c0 = self.prior_arrays(n_components, n_features)
        center = np.broadcast_to(stats.center, (n_components, n_features))
        # Everything relative to the reference point c_k: the sums S_k, M_k are moments of
        # x - c_k, so the mean moves by d_k = (w_k (m0_k - c_k) + S_k) / (w_k + n_k).
        move = (w[:, None] * (m0 - center) + stats.sum_x) / (w + counts)[:, None]
        means = center + move
        delta = means - m0
        # Scatter around the new mean without cancellation: with e_k = S_k / n_k (the move of
        # the maximum-likelihood mean) and g_k = d_k - e_k,
        # C_k = (M_k - n_k e_k e_k^T) + n_k g_k g_k^T; the first term is what the prior-free
        # M-step computes, the second is >= 0 and small when the prior is weak.
        ml_move = stats.sum_x / counts[:, None]
        gap = move - ml_move
        kind = self.covariance_type
        if kind in ("full", "tied"):
            outer = np.einsum("k,kd,ke->kde", counts, ml_move, ml_move)
            extra = np.einsum("k,kd,ke->kde", counts, gap, gap) + np.einsum(
                "k,kd,ke->kde", w, delta, delta
            )
            if kind == "full":
                numerator = psi + (stats.sum_xx - outer) + extra
                covariances = numerator / (c0 + counts)[:, None, None]
            else:
                numerator = psi[0] + (stats.sum_xx[0] - outer.sum(axis=0)) + extra.sum(axis=0)
                covariances = (numerator / (c0[0] + counts.sum()))[None]
            covariances = 0.5 * (covariances + np.swapaxes(covariances, -1, -2))
            covariances = covariances + self.reg_covar * np.eye(n_features)
        else:
            denominator = np.maximum(c0 + counts, PRIOR_DENOMINATOR_FLOOR)
            if kind == "diag":
                scatter = np.maximum(stats.sum_xx - counts[:, None] * ml_move**2, 0.0)
                scatter = scatter + counts[:, None] * gap**2 + w[:, None] * delta**2
                covariances = (psi + scatter) / denominator[:, None]
            else:
                scatter = np.maximum(stats.sum_xx - counts * np.sum(ml_move**2, axis=1), 0.0)
                scatter = scatter + counts * np.sum(gap**2, axis=1) + w * np.sum(delta**2, axis=1)
                covariances = (psi + scatter / n_features) / denominator
            covariances = covariances + self.reg_covar
        return self._params(means, covariances)

    def log_prior(self, params: GaussianParams) -> float:
        """``log p(theta)`` of the prior, up to a constant; ``0.0`` when there is none.

        The density is stated in the class docstring; it is the prior whose MAP estimate
        [`maximize`][emkit.families.gaussian.Gaussian.maximize] computes, so EM on
        ``log-likelihood + log_prior`` never decreases (up to ``reg_covar``).

        Parameters
        ----------
        params : GaussianParams
            ``means`` (n_components, n_features), ``covariances`` shaped by the covariance type
            (see [`covariance_shape`][emkit.families.gaussian.Gaussian.covariance_shape]).

        Returns
        -------
        log_prior : float
        """
        if not self.has_prior:
            return 0.0
        n_components, n_features = params.means.shape
        m0, w, psi, c0 = self.prior_arrays(n_components, n_features)
        delta = params.means - m0
        cov = params.covariances
        if cov.ndim == 3:
            # Sigma^-1 = U U^T from the stored Cholesky factor: log|Sigma| = -2 sum log diag U,
            # tr(Sigma^-1 Psi) = sum_ij (U U^T)_ij Psi_ij, delta^T Sigma^-1 delta = ||delta U||^2.
            factor = params.precisions_cholesky
            precision = factor @ np.swapaxes(factor, -1, -2)
            log_det = -2.0 * np.log(np.diagonal(factor, axis1=1, axis2=2)).sum(axis=1)
            scatter = np.einsum("kij,kij->k", precision, psi)
            mahalanobis = np.einsum("kd,kde->ke", delta, factor) ** 2
            # Tied: one matrix, one scatter and log-determinant; every component's mean term.
            quadratic = w * mahalanobis.sum(axis=1)
            total = -0.5 * (c0 * log_det).sum() - 0.5 * scatter.sum() - 0.5 * quadratic.sum()
        elif cov.ndim == 2:
            total = np.sum(
                -0.5 * c0[:, None] * np.log(cov) - (psi + w[:, None] * delta**2) / (2 * cov)
            )
        else:
            spread = n_features * psi + w * np.sum(delta**2, axis=1)
            total = np.sum(-0.5 * n_features * c0 * np.log(cov) - spread / (2 * cov))
        return float(total)

    def diagnose(self, params: GaussianParams) -> list[str]:
        """Components with no spread along some feature: their variance there is ``reg_covar``.

        That happens with a constant column or a component sitting on duplicate points; the
        log-likelihood (and BIC) then grows without bound as ``reg_covar`` shrinks. A variance
        at most ``reg_covar * (1 + f)`` counts as none, with ``f`` the constant
        [`DEGENERATE_VARIANCE_FRACTION`][emkit.families.gaussian.DEGENERATE_VARIANCE_FRACTION]
        (with missing values a flat feature settles somewhat above ``reg_covar``).

        Parameters
        ----------
        params : GaussianParams
            ``means`` (n_components, n_features), ``covariances`` shaped by the covariance type
            (see [`covariance_shape`][emkit.families.gaussian.Gaussian.covariance_shape]).

        Returns
        -------
        messages : list of str
            Empty when all is well.
        """
        cov = params.covariances
        if self.reg_covar == 0.0:
            return []
        if cov.ndim == 3:
            variances = np.diagonal(cov, axis1=1, axis2=2)
        else:
            variances = cov.reshape(cov.shape[0], -1)
        flat = variances - self.reg_covar <= DEGENERATE_VARIANCE_FRACTION * self.reg_covar
        if not flat.any():
            return []
        components = np.flatnonzero(flat.any(axis=1)).tolist()
        features = np.flatnonzero(flat.any(axis=0)).tolist()
        where = "" if cov.ndim == 1 else f" along feature(s) {features}"
        return [
            f"Gaussian component(s) {components} have no spread{where}: their variance there is "
            f"reg_covar={self.reg_covar:g} alone (up to twice that with missing values), so the "
            "log-likelihood and BIC depend on reg_covar. Drop constant columns, remove duplicate "
            "rows, or use fewer components"
        ]

    def mean(self, params: GaussianParams) -> Array:
        """The component means ``mu_k``.

        Parameters
        ----------
        params : GaussianParams

        Returns
        -------
        means : array of shape (n_components, n_features)
        """
        return params.means

    def covariances(self, params: GaussianParams) -> Array:
        """Every component's full covariance matrix, whatever the covariance type.

        Parameters
        ----------
        params : GaussianParams
            ``means`` (n_components, n_features), ``covariances`` shaped by the covariance type
            (see [`covariance_shape`][emkit.families.gaussian.Gaussian.covariance_shape]).

        Returns
        -------
        covariances : array of shape (n_components, n_features, n_features)
        """
        n_components, n_features = params.means.shape
        cov = params.covariances
        if self.covariance_type == "full":
            return np.asarray(cov)
        if self.covariance_type == "tied":
            return np.broadcast_to(cov[0], (n_components, n_features, n_features)).copy()
        if self.covariance_type == "diag":
            return np.asarray(cov[:, :, None] * np.eye(n_features))
        return np.asarray(cov[:, None, None] * np.eye(n_features))

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters: ``K D`` means plus the covariances' free entries.

        ``K D (D + 1) / 2`` full, ``D (D + 1) / 2`` tied, ``K D`` diag, ``K`` spherical.

        Parameters
        ----------
        n_components : int
        n_features : int

        Returns
        -------
        n_parameters : int
        """
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
        """``n`` draws from one component.

        Parameters
        ----------
        params : GaussianParams
            ``means`` (n_components, n_features), ``covariances`` shaped by the covariance type
            (see [`covariance_shape`][emkit.families.gaussian.Gaussian.covariance_shape]).
        component : int
            Index ``k`` of the component.
        n : int
            Number of draws.
        rng : numpy.random.Generator

        Returns
        -------
        X : array of shape (n, n_features)
        """
        mean = params.means[component]
        z = rng.standard_normal((n, mean.shape[0]))
        cov = params.covariances
        if cov.ndim == 3:
            factor = cholesky(cov[component if cov.shape[0] > 1 else 0])
            return np.asarray(mean + z @ factor.T)
        return np.asarray(mean + z * np.sqrt(cov[component]))


register_family(Gaussian, GaussianParams)
