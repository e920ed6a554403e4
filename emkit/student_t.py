"""A mixture of multivariate Student-t distributions: robust clustering beyond the exponential
families.

A Student-t component is a Gaussian scale mixture: with a latent scale ``u``,
``x | z = k, u ~ N(mu_k, Sigma_k / u)`` and ``u | z = k ~ Gamma(nu_k / 2, nu_k / 2)`` (shape,
rate). Integrating ``u`` out gives the multivariate t density with location ``mu_k``, scale
matrix ``Sigma_k`` and ``nu_k`` degrees of freedom. EM treats ``z`` and ``u`` as latent
(McLachlan & Peel 2000, ch. 7; Peel & McLachlan 2000):

* E-step: responsibilities ``r_nk`` by log-sum-exp of ``log pi_k + log t(x_n | mu_k, Sigma_k,
  nu_k)``, and the latent scales ``u_nk = E[u | x_n, z = k] = (nu_k + D) / (nu_k + delta_nk)``
  with ``delta_nk`` the squared Mahalanobis distance of ``x_n`` from ``mu_k`` under ``Sigma_k``;
  a far row gets a small ``u_nk`` and so little say in the M-step: that is the robustness.
* M-step: ``pi_k ∝ n_k``, ``mu_k = sum_n r_nk u_nk x_n / W_k`` and
  ``Sigma_k = sum_n r_nk u_nk (x_n - mu_k)(x_n - mu_k)^T / n_k`` (``n_k = sum_n r_nk``,
  ``W_k = sum_n r_nk u_nk``), then for estimated degrees of freedom the root of the
  one-dimensional equation of [`solve_dof`][emkit.student_t.solve_dof] per component.

The expected complete-data log-likelihood splits into a weights term, a (location, scale) term
and a degrees-of-freedom term, and each step above maximises its own term exactly (the
degrees-of-freedom term is concave in ``nu``), so EM increases the log-likelihood at every
iteration (up to the ``reg_covar`` safeguard, as for a Gaussian mixture).
"""

from __future__ import annotations

from typing import Any, final

import attrs
import numpy as np
import scipy.optimize
import scipy.special

from emkit._backend import Array, gammaln, logsumexp
from emkit._validation import check_array, check_float, check_int
from emkit.families.gaussian import precision_cholesky
from emkit.init import initial_responsibilities
from emkit.mixture import COUNT_FLOOR, WEIGHT_SUM_ATOL, collapse_messages
from emkit.registry import register_model
from emkit.stats import NOT_ADDITIVE

__all__ = [
    "DOF_START",
    "StudentTMixture",
    "StudentTParams",
    "StudentTStats",
    "solve_dof",
]

DOF_START = 2.0
"""Degrees of freedom every component starts from when they are estimated (clipped into
``dof_bounds``). Heavy tails from the start: the first M-step (all scales 1) lets gross outliers
inflate the scale matrices, and the first E-step must give those rows small scales so that the
components shrink back onto their clusters. Measured on three 2-D clusters with 10% outliers over
a box 10 times wider (``tests/test_student_t.py``): starting at 2 recovered the clusters from
every start that seeded them on clusters, starting at 10 from few."""

#: Relative tolerance of a scale matrix's symmetry.
SYMMETRY_RTOL = 1e-8


@final
@attrs.frozen(eq=False)
class StudentTParams:
    """Parameters of a Student-t mixture.

    Attributes
    ----------
    weights : array of shape (n_components,)
        Mixing weights ``pi_k``, non-negative, summing to 1.
    means : array of shape (n_components, n_features)
        Locations ``mu_k`` (the component means where ``nu_k > 1``).
    covariances : array of shape (n_components, n_features, n_features)
        Scale matrices ``Sigma_k``, symmetric positive definite (a component's covariance is
        ``nu_k / (nu_k - 2) Sigma_k`` where ``nu_k > 2``).
    dof : array of shape (n_components,)
        Degrees of freedom ``nu_k > 0``.
    """

    weights: Array
    means: Array
    covariances: Array
    dof: Array


@final
@attrs.frozen(eq=False)
class StudentTStats:
    """Sums over rows of the expected sufficient statistics, what the E-step returns.

    With row weights ``w_n``, responsibilities ``r_nk``, latent scales ``u_nk`` and
    ``c_k = center[k]``:

    Attributes
    ----------
    center : array of shape (n_components, n_features)
        The point the moments are taken around (the locations of the E-step's parameters);
        shared by every chunk of one pass, not summed.
    dof : array of shape (n_components,)
        The degrees of freedom of the E-step's parameters (not summed). Fixed degrees of
        freedom are carried from here into the M-step's parameters, so they stay with their
        components when a fit reorders them.
    counts : array of shape (n_components,)
        ``n_k = sum_n w_n r_nk``.
    scale_sums : array of shape (n_components,)
        ``W_k = sum_n w_n r_nk u_nk``.
    sum_x : array of shape (n_components, n_features)
        ``sum_n w_n r_nk u_nk (x_n - c_k)``.
    sum_xx : array of shape (n_components, n_features, n_features)
        ``sum_n w_n r_nk u_nk (x_n - c_k)(x_n - c_k)^T``.
    sum_log_u_minus_u : array of shape (n_components,)
        ``sum_n w_n r_nk (E[log u] - E[u] | x_n, z = k)``, which is
        ``sum_n w_n r_nk (log u_nk - u_nk)`` plus
        ``n_k (psi((nu'_k + D) / 2) - log((nu'_k + D) / 2))`` at the E-step's ``nu'_k``: the
        data term of the degrees-of-freedom equation. Holding the expectation itself (not the
        ``log u_nk - u_nk`` sum) keeps it additive across E-steps at different ``nu'``.
    """

    center: Array = attrs.field(metadata=NOT_ADDITIVE)
    dof: Array = attrs.field(metadata=NOT_ADDITIVE)
    counts: Array
    scale_sums: Array
    sum_x: Array
    sum_xx: Array
    sum_log_u_minus_u: Array

    def recenter(self, like: StudentTStats) -> StudentTStats:
        """The same statistics around ``like.center`` (and holding ``like.dof``), exactly.

        With ``d_k = c_k - c'_k``, ``S_k`` and ``M_k`` the first and second scale-weighted sums
        around ``c_k``: ``sum r u (x - c'_k) = S_k + W_k d_k`` and
        ``sum r u (x - c'_k)(x - c'_k)^T = M_k + S_k d_k^T + d_k S_k^T + W_k d_k d_k^T``. The
        other sums do not depend on the reference point.

        Parameters
        ----------
        like : StudentTStats
            Statistics whose reference fields these move to.

        Returns
        -------
        stats : StudentTStats
        """
        if not isinstance(like, StudentTStats):
            raise TypeError(f"cannot recenter StudentTStats like {type(like).__name__}")
        if like.center.shape != self.center.shape:
            raise ValueError(
                f"cannot recenter statistics around a center of shape {like.center.shape}; "
                f"these have {self.center.shape}"
            )
        d = self.center - like.center
        w = self.scale_sums
        cross = self.sum_x[:, :, None] * d[:, None, :]
        return attrs.evolve(
            self,
            center=np.array(like.center, copy=True),
            dof=np.array(like.dof, copy=True),
            sum_x=self.sum_x + w[:, None] * d,
            sum_xx=(
                self.sum_xx
                + cross
                + np.swapaxes(cross, 1, 2)
                + w[:, None, None] * d[:, :, None] * d[:, None, :]
            ),
        )


def solve_dof(
    counts: Array, sum_log_u_minus_u: Array, bounds: tuple[float, float], previous: Array
) -> Array:
    """The M-step of the degrees of freedom: a one-dimensional root per component.

    The degrees-of-freedom term of ``Q`` for component ``k`` is
    ``n_k [ -log Gamma(nu/2) + (nu/2) log(nu/2) ] + (nu/2) s_k`` (plus terms free of ``nu``),
    with ``s_k`` = ``sum_log_u_minus_u``. It is strictly concave, and its maximiser solves
    (McLachlan & Peel 2000, eq. 7.45)

    ``f(nu) = log(nu/2) - psi(nu/2) + 1 + s_k / n_k = 0``,

    ``f`` decreasing from ``+inf``. ``scipy.optimize.brentq`` finds the root inside ``bounds``;
    without a sign change the maximiser on the interval is the bound (``f > 0`` throughout:
    the upper one, the data shows tails no heavier than a Gaussian's). A component with no
    data keeps ``previous`` (``Q`` does not depend on its ``nu``).

    Parameters
    ----------
    counts : array of shape (n_components,)
        ``n_k``.
    sum_log_u_minus_u : array of shape (n_components,)
        ``s_k = sum_n r_nk (E[log u] - E[u])``.
    bounds : (float, float)
        ``(low, high)``, ``0 < low < high``.
    previous : array of shape (n_components,)
        The degrees of freedom of the E-step.

    Returns
    -------
    dof : array of shape (n_components,)
    """
    low, high = bounds
    dof = np.array(previous, dtype=np.float64, copy=True)
    for k in range(counts.shape[0]):  # one scalar problem per component
        if counts[k] <= COUNT_FLOOR:
            continue
        data_term = 1.0 + float(sum_log_u_minus_u[k] / counts[k])

        def equation(nu: float, data_term: float = data_term) -> float:
            half = 0.5 * nu
            return float(np.log(half) - scipy.special.digamma(half) + data_term)

        at_low, at_high = equation(low), equation(high)
        if at_high >= 0.0:
            dof[k] = high
        elif at_low <= 0.0:
            dof[k] = low
        else:
            dof[k] = scipy.optimize.brentq(equation, low, high, xtol=1e-12, rtol=1e-14)
    return dof


def _check_components(value: Any) -> int:
    return check_int(value, "n_components", minimum=1)


def _check_dof(value: Any) -> float | Array | None:
    if value is None:
        return None
    if np.ndim(value) == 0:
        return check_float(value, "dof", minimum=0.0, exclusive_minimum=True)
    arr = np.array(check_array(value, "dof", ndim=1, dtype=np.float64))
    if (arr <= 0).any():
        index = int(np.flatnonzero(arr <= 0)[0])
        raise ValueError(f"`dof` must be > 0; got {arr[index]} at index {index}")
    arr.setflags(write=False)
    return arr


def _check_bounds(value: Any) -> tuple[float, float]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ValueError(f"`dof_bounds` must be a pair (low, high); got {value!r}")
    low = check_float(value[0], "dof_bounds[0]", minimum=0.0, exclusive_minimum=True)
    high = check_float(value[1], "dof_bounds[1]")
    if high <= low:
        raise ValueError(f"`dof_bounds` must have low < high; got {(low, high)}")
    return (low, high)


def _check_reg_covar(value: Any) -> float:
    return check_float(value, "reg_covar", minimum=0.0)


def _check_concentration(value: Any) -> float:
    return check_float(value, "weight_concentration", minimum=1.0)


def _same_setting(a: Any, b: Any) -> bool:
    return bool(np.shape(a) == np.shape(b) and np.array_equal(a, b))


@final
@attrs.frozen
class StudentTMixture:
    """``n_components`` multivariate Student-t components: clustering that outliers do not break.

    Parameters
    ----------
    n_components : int
        Number of components K >= 1.
    dof : None, float or array of shape (n_components,), default None
        Degrees of freedom ``nu``. ``None`` estimates one per component (starting from
        [`DOF_START`][emkit.student_t.DOF_START]); a number fixes every component's; an
        array fixes each component's (the values travel with their components when a fit
        reorders them, so ``params.dof`` says which component has which).
    reg_covar : float, default 1e-6
        Added to the diagonal of every scale matrix after the M-step, so that a component on a
        single point or a line stays positive definite.
    dof_bounds : (float, float), default (0.5, 1000.0)
        The interval estimated degrees of freedom are sought in (clipped to its ends).
    weight_concentration : float, default 1.0
        Concentration ``alpha >= 1`` of a symmetric Dirichlet prior on the weights, as for
        [`FiniteMixture`][emkit.mixture.FiniteMixture]; ``1`` is no prior.

    Notes
    -----
    See the module docstring for the model and its EM. With large fixed ``dof`` every latent
    scale tends to 1 and the fit tends to the Gaussian mixture's.
    """

    n_components: int = attrs.field(converter=_check_components)
    dof: float | Array | None = attrs.field(
        default=None, converter=_check_dof, eq=attrs.cmp_using(eq=_same_setting), hash=False
    )
    reg_covar: float = attrs.field(default=1e-6, converter=_check_reg_covar, kw_only=True)
    dof_bounds: tuple[float, float] = attrs.field(
        default=(0.5, 1000.0), converter=_check_bounds, kw_only=True
    )
    weight_concentration: float = attrs.field(
        default=1.0, converter=_check_concentration, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        if isinstance(self.dof, np.ndarray) and self.dof.shape != (self.n_components,):
            raise ValueError(
                f"`dof` as an array must have shape (n_components,) = ({self.n_components},); "
                f"got {self.dof.shape}"
            )

    @property
    def estimates_dof(self) -> bool:
        """Whether the degrees of freedom are fitted (``dof=None``)."""
        return self.dof is None

    def _start_dof(self) -> Array:
        if self.dof is None:
            low, high = self.dof_bounds
            return np.full(self.n_components, min(max(DOF_START, low), high))
        return np.broadcast_to(np.asarray(self.dof, dtype=np.float64), (self.n_components,)).copy()

    # -- densities -------------------------------------------------------------------------------
    def _mahalanobis(self, X: Array, params: StudentTParams) -> tuple[Array, Array]:
        """Squared Mahalanobis distances (n, K) in float64 and ``log |Sigma_k|`` (K,)."""
        X = np.asarray(X, dtype=np.float64)
        factors = precision_cholesky(params.covariances)  # U_k with U_k U_k^T = Sigma_k^-1
        maha = np.empty((X.shape[0], self.n_components))
        for k in range(self.n_components):  # a loop over components; all rows at once
            # Differences first, then the product: data far from the origin loses no digits.
            y = (X - params.means[k]) @ factors[k]
            maha[:, k] = np.einsum("nd,nd->n", y, y)
        log_det = -2.0 * np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
        return maha, log_det

    @staticmethod
    def _log_t(maha: Array, log_det: Array, dof: Array, n_features: int) -> Array:
        """``log t(x | mu, Sigma, nu)`` from squared distances (n, K)."""
        half = 0.5 * (dof + n_features)
        log_norm = (
            gammaln(half)
            - gammaln(0.5 * dof)
            - 0.5 * n_features * np.log(dof * np.pi)
            - 0.5 * log_det
        )
        # log1p keeps the digits of delta / nu when nu is large (the Gaussian limit).
        return np.asarray(log_norm - half * np.log1p(maha / dof))

    def log_prob(self, X: Array, params: StudentTParams) -> Array:
        """``log t(x_n | mu_k, Sigma_k, nu_k)`` of every row and component.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : StudentTParams

        Returns
        -------
        log_prob : array of shape (n_samples, n_components)
            In the data's floating dtype (computed in float64).
        """
        maha, log_det = self._mahalanobis(X, params)
        out = self._log_t(maha, log_det, np.asarray(params.dof), X.shape[1])
        return out.astype(_float_dtype(X), copy=False)

    def joint_log_prob(self, X: Array, params: StudentTParams) -> Array:
        """``log pi_k + log t(x_n | k)`` of every row and component, shape (n_samples, K).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : StudentTParams

        Returns
        -------
        log_joint : array of shape (n_samples, n_components)
            In the data's floating dtype.
        """
        return (self._joint(X, params, None)[0]).astype(_float_dtype(X), copy=False)

    def _joint(
        self, X: Array, params: StudentTParams, labels: Array | None
    ) -> tuple[Array, Array, Array]:
        """Log joint (n, K), squared distances (n, K) and the dof (K,), all float64."""
        maha, log_det = self._mahalanobis(X, params)
        dof = np.asarray(params.dof, dtype=np.float64)
        with np.errstate(divide="ignore"):
            log_joint = self._log_t(maha, log_det, dof, X.shape[1]) + np.log(params.weights)
        if labels is not None:
            # A known label fixes its row's component: every other one gets -inf.
            allowed = (labels < 0)[:, None] | (labels[:, None] == np.arange(self.n_components))
            log_joint = np.where(allowed, log_joint, -np.inf)
        return log_joint, maha, dof

    # -- the LatentVariableModel protocol ------------------------------------------------------
    def validate_data(self, X: Array) -> Array:
        """Any finite real rows are in the support; return ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        X : array of shape (n_samples, n_features)
        """
        return check_array(X)

    def init_params(
        self,
        X: Array,
        rng: np.random.Generator,
        method: str = "kmeans",
        weights: Array | None = None,
    ) -> StudentTParams:
        """Starting parameters: one M-step on initial responsibilities with all scales ``u = 1``.

        The responsibilities come from
        [`initial_responsibilities`][emkit.init.initial_responsibilities] (k-means by
        default), as for [`FiniteMixture.init_params`][emkit.mixture.FiniteMixture.init_params];
        the degrees of freedom start at the fixed values or at
        [`DOF_START`][emkit.student_t.DOF_START].

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        rng : numpy.random.Generator
        method : str, default "kmeans"
            One of [`init_methods`][emkit.init.init_methods]().
        weights : array of shape (n_samples,), optional
            Row weights.

        Returns
        -------
        params : StudentTParams
        """
        resp = initial_responsibilities(X, self.n_components, method, rng, weights)
        return self.params_from_responsibilities(X, resp, weights)

    def params_from_responsibilities(
        self, X: Array, resp: Array, weights: Array | None = None
    ) -> StudentTParams:
        """The M-step of given responsibilities with every latent scale ``u = 1``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        resp : array of shape (n_samples, n_components)
        weights : array of shape (n_samples,), optional

        Returns
        -------
        params : StudentTParams
            Locations and scale matrices as a Gaussian mixture's M-step gives them; the
            degrees of freedom at their start.
        """
        X = np.asarray(X, dtype=np.float64)
        resp = np.asarray(resp, dtype=np.float64)
        if weights is not None:
            resp = resp * weights[:, None]
        counts = np.maximum(resp.sum(axis=0), COUNT_FLOOR)
        center = (resp.T @ X) / counts[:, None]
        dof = self._start_dof()
        stats = self._stats(X, resp, np.ones_like(resp), center, dof, np.zeros(self.n_components))
        return self._maximize(stats, estimate_dof=False)

    def validate_params(self, params: Any, n_features: int) -> StudentTParams:
        """Check user-given parameters.

        Parameters
        ----------
        params : StudentTParams
        n_features : int

        Returns
        -------
        params : StudentTParams
            As float64 arrays, the weights renormalised to sum to 1 exactly.

        Raises
        ------
        TypeError
            If ``params`` is not a [`StudentTParams`][emkit.student_t.StudentTParams].
        ValueError
            If a shape is wrong, a value is not finite, the weights are negative or do not sum
            to 1, a scale matrix is not symmetric positive definite, a ``dof`` is not positive,
            or the model fixes ``dof`` and ``params.dof`` holds other values.
        """
        if not isinstance(params, StudentTParams):
            raise TypeError(f"`params` must be StudentTParams; got {type(params).__name__}")
        k, d = self.n_components, n_features
        shapes = {"weights": (k,), "means": (k, d), "covariances": (k, d, d), "dof": (k,)}
        values: dict[str, Array] = {}
        for name, shape in shapes.items():
            value = check_array(getattr(params, name), f"params.{name}", ndim=len(shape))
            value = np.asarray(value, dtype=np.float64)
            if value.shape != shape:
                raise ValueError(f"`params.{name}` must have shape {shape}; got {value.shape}")
            values[name] = value
        weights = values["weights"]
        if (weights < 0).any() or abs(weights.sum() - 1.0) > WEIGHT_SUM_ATOL:
            raise ValueError(
                f"`params.weights` must be non-negative and sum to 1; got {weights.tolist()} "
                f"(sum {weights.sum():.8g})"
            )
        covariances = values["covariances"]
        asymmetry = np.abs(covariances - np.swapaxes(covariances, 1, 2)).max(axis=(1, 2))
        scale = np.maximum(np.abs(covariances).max(axis=(1, 2)), 1.0)
        if (asymmetry > SYMMETRY_RTOL * scale).any():
            worst = int(np.argmax(asymmetry / scale))
            raise ValueError(
                f"`params.covariances` must be symmetric; matrix {worst} differs from its "
                f"transpose by {asymmetry[worst]:.3g}"
            )
        try:
            precision_cholesky(covariances)
        except ValueError as exc:
            raise ValueError(f"`params.covariances`: {exc}") from None
        dof = values["dof"]
        if (dof <= 0).any():
            index = int(np.flatnonzero(dof <= 0)[0])
            raise ValueError(f"`params.dof` must be > 0; got {dof[index]} at index {index}")
        if self.dof is not None and not np.array_equal(np.sort(dof), np.sort(self._start_dof())):
            raise ValueError(
                f"`params.dof` must hold the model's fixed `dof` {self._start_dof().tolist()} "
                f"(in any order of the components); got {dof.tolist()}"
            )
        return StudentTParams(weights / weights.sum(), values["means"], covariances, dof)

    def e_step(
        self,
        X: Array,
        params: StudentTParams,
        weights: Array | None = None,
        labels: Array | None = None,
    ) -> tuple[StudentTStats, float]:
        """Responsibilities and latent scales, then summed statistics and the log-likelihood.

        ``r_nk`` (PRML's gamma(z_nk)) by log-sum-exp of ``log pi_k + log t(x_n | k)``;
        ``u_nk = (nu_k + D) / (nu_k + delta_nk)``. Statistics add over rows.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : StudentTParams
        weights : array of shape (n_samples,), optional
            Non-negative row weights; an integer weight counts like repeated rows.
        labels : int array of shape (n_samples,), optional
            Known components, -1 where unknown (semi-supervised EM).

        Returns
        -------
        stats : StudentTStats
            Sums of shape (n_components, ...), float64.
        log_likelihood : float
            ``sum_n w_n log p(x_n | params)``.
        """
        X64 = np.asarray(X, dtype=np.float64)
        log_joint, maha, dof = self._joint(X64, params, labels)
        log_norm = logsumexp(log_joint, axis=1)
        resp = np.exp(log_joint - log_norm[:, None])
        if weights is not None:
            resp = resp * weights[:, None]
            log_likelihood = float(weights @ log_norm)
        else:
            log_likelihood = float(log_norm.sum())
        n_features = X.shape[1]
        scales = (dof + n_features) / (dof + maha)
        # E[log u | x, z = k] = log u_nk + psi((nu + D)/2) - log((nu + D)/2): the posterior of u
        # is Gamma((nu + D)/2, (nu + delta)/2).
        half = 0.5 * (dof + n_features)
        shift = scipy.special.digamma(half) - np.log(half)
        dof_term = np.einsum("nk,nk->k", resp, np.log(scales) - scales) + resp.sum(axis=0) * shift
        stats = self._stats(X64, resp, scales, np.asarray(params.means), dof, dof_term)
        return stats, log_likelihood

    def _stats(
        self, X: Array, resp: Array, scales: Array, center: Array, dof: Array, dof_term: Array
    ) -> StudentTStats:
        weighted = resp * scales
        n_features = X.shape[1]
        sum_x = np.empty((self.n_components, n_features))
        sum_xx = np.empty((self.n_components, n_features, n_features))
        for k in range(self.n_components):
            diff = X - center[k]
            w_diff = diff * weighted[:, k, None]
            sum_x[k] = w_diff.sum(axis=0)
            sum_xx[k] = w_diff.T @ diff
        return StudentTStats(
            center=np.array(center, dtype=np.float64, copy=True),
            dof=np.array(dof, dtype=np.float64, copy=True),
            counts=resp.sum(axis=0),
            scale_sums=weighted.sum(axis=0),
            sum_x=sum_x,
            sum_xx=sum_xx,
            sum_log_u_minus_u=np.asarray(dof_term, dtype=np.float64),
        )

    def m_step(self, stats: StudentTStats) -> StudentTParams:
        """``argmax_theta Q(theta, theta') + log p(theta)`` from summed statistics.

        ``pi_k = (n_k + alpha - 1) / (N + K (alpha - 1))``, ``mu_k = c_k + S_k / W_k``,
        ``Sigma_k = (M_k - W_k (mu_k - c_k)(mu_k - c_k)^T) / n_k + reg_covar I`` (moments
        around the new location without cancellation against the reference point), and the
        degrees of freedom by [`solve_dof`][emkit.student_t.solve_dof] when estimated (else
        those of the E-step, unchanged).

        Parameters
        ----------
        stats : StudentTStats
            Summed over all the data.

        Returns
        -------
        params : StudentTParams
        """
        return self._maximize(stats, estimate_dof=self.dof is None)

    def _maximize(self, stats: StudentTStats, *, estimate_dof: bool) -> StudentTParams:
        counts = np.maximum(stats.counts, COUNT_FLOOR)
        scale_sums = np.maximum(stats.scale_sums, COUNT_FLOOR)
        move = stats.sum_x / scale_sums[:, None]
        scatter = stats.sum_xx - scale_sums[:, None, None] * move[:, :, None] * move[:, None, :]
        covariances = scatter / counts[:, None, None]
        covariances = 0.5 * (covariances + np.swapaxes(covariances, 1, 2))
        covariances = covariances + self.reg_covar * np.eye(stats.center.shape[1])
        weights = counts + (self.weight_concentration - 1.0)
        if estimate_dof:
            dof = solve_dof(stats.counts, stats.sum_log_u_minus_u, self.dof_bounds, stats.dof)
        else:
            dof = np.array(stats.dof, dtype=np.float64, copy=True)
        return StudentTParams(
            weights=weights / weights.sum(),
            means=stats.center + move,
            covariances=covariances,
            dof=dof,
        )

    def log_prior(self, params: StudentTParams) -> float:
        """The log Dirichlet density of the weights (``0.0`` for ``weight_concentration=1``).

        Parameters
        ----------
        params : StudentTParams

        Returns
        -------
        log_prior : float
        """
        alpha = self.weight_concentration
        if alpha == 1.0:
            return 0.0
        k = self.n_components
        return float(
            gammaln(np.array(k * alpha))
            - k * gammaln(np.array(alpha))
            + (alpha - 1.0) * np.sum(np.log(params.weights))
        )

    def n_parameters(self, n_features: int) -> int:
        """Free parameters: ``K - 1`` weights, ``K D`` locations, ``K D (D + 1) / 2`` scale
        entries, and ``K`` degrees of freedom when they are estimated.

        Parameters
        ----------
        n_features : int

        Returns
        -------
        n_parameters : int
        """
        k, d = self.n_components, n_features
        return (k - 1) + k * d + k * d * (d + 1) // 2 + (k if self.dof is None else 0)

    # -- optional capabilities ---------------------------------------------------------------------
    def bytes_per_row(self, n_features: int, itemsize: int) -> int:
        """Bytes of temporaries per row of one E-step chunk (for automatic chunk sizes).

        Parameters
        ----------
        n_features : int
        itemsize : int

        Returns
        -------
        bytes_per_row : int
        """
        # The float64 copy of the row and two (D,) differences, plus about eight (K,) arrays
        # (distances, log joint, responsibilities, scales, their products).
        return 8 * (3 * n_features + 8 * self.n_components)

    def diagnose(self, stats: StudentTStats, params: StudentTParams) -> list[str]:
        """Advice about a fit: collapsed components, degrees of freedom at the lower bound.

        Parameters
        ----------
        stats : StudentTStats
        params : StudentTParams

        Returns
        -------
        messages : list of str
            Empty when all is well.
        """
        messages = collapse_messages(stats.counts)
        if self.dof is None:
            low = self.dof_bounds[0]
            at_low = np.flatnonzero(np.asarray(params.dof) <= low)
            if at_low.size:
                messages.append(
                    f"the degrees of freedom of component(s) {at_low.tolist()} reached the lower "
                    f"bound {low:g} of `dof_bounds`: such a component models a few far points "
                    "or a spike rather than a cluster; refit with fewer components, a higher "
                    "lower bound, or fixed `dof`"
                )
        return messages

    def responsibilities(self, X: Array, params: StudentTParams) -> Array:
        """``p(z_n = k | x_n, params)`` of every row.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : StudentTParams

        Returns
        -------
        resp : array of shape (n_samples, n_components)
            Rows sum to 1; in the data's floating dtype.
        """
        log_joint = self._joint(X, params, None)[0]
        resp: Array = np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None])
        return resp.astype(_float_dtype(X), copy=False)

    def predict(self, X: Array, params: StudentTParams) -> Array:
        """The most probable component of every row.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : StudentTParams

        Returns
        -------
        labels : int array of shape (n_samples,)
        """
        return np.asarray(np.argmax(self._joint(X, params, None)[0], axis=1))

    def score_samples(self, X: Array, params: StudentTParams) -> Array:
        """``log p(x_n | params) = log sum_k pi_k t(x_n | k)`` of every row.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : StudentTParams

        Returns
        -------
        log_density : array of shape (n_samples,)
            In the data's floating dtype.
        """
        out = logsumexp(self._joint(X, params, None)[0], axis=1)
        return out.astype(_float_dtype(X), copy=False)

    def component_weights(self, params: StudentTParams) -> Array:
        """The mixing weights ``pi``.

        Parameters
        ----------
        params : StudentTParams

        Returns
        -------
        weights : array of shape (n_components,)
        """
        return np.asarray(params.weights)

    def component_means(self, params: StudentTParams) -> Array:
        """Every component's location ``mu_k`` (its mean where ``nu_k > 1``).

        Parameters
        ----------
        params : StudentTParams

        Returns
        -------
        means : array of shape (n_components, n_features)
        """
        return np.asarray(params.means)

    def sample(
        self, params: StudentTParams, n_samples: int, rng: np.random.Generator
    ) -> tuple[Array, Array]:
        """Draw rows: ``z ~ pi``, ``u ~ Gamma(nu_z / 2, nu_z / 2)``, ``x ~ N(mu_z, Sigma_z / u)``.

        Parameters
        ----------
        params : StudentTParams
        n_samples : int
            Number of rows, at least 1.
        rng : numpy.random.Generator

        Returns
        -------
        X : array of shape (n_samples, n_features)
        labels : int array of shape (n_samples,)
            The component each row was drawn from.
        """
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        labels = rng.choice(self.n_components, size=n_samples, p=params.weights)
        dof = np.asarray(params.dof, dtype=np.float64)[labels]
        lower = np.linalg.cholesky(params.covariances)[labels]  # (n, D, D)
        z = rng.standard_normal((n_samples, params.means.shape[1]))
        u = rng.chisquare(dof) / dof
        X = params.means[labels] + np.einsum("nde,ne->nd", lower, z) / np.sqrt(u)[:, None]
        return X, labels


def _float_dtype(X: Array) -> np.dtype[Any]:
    dtype = np.asarray(X).dtype
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


register_model(StudentTMixture, StudentTParams)
