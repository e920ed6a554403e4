"""Mixtures of regressions with generalised linear model components (R's flexmix, mixtools).

Each row of ``X`` is ``(x_1, ..., x_P, w_1, ..., w_C, y)``: ``P`` regression covariates, ``C``
concomitant variables and the response ``y`` last. A latent component ``z`` chooses one of K
regressions, ``y | x, z = k`` follows the family with linear predictor
``eta_k = beta_k . (1, x)``:

* ``"gaussian"``: identity link, ``y ~ N(eta_k, sigma_k^2)`` (or one common ``sigma``);
* ``"poisson"``: log link, ``y ~ Poisson(exp(eta_k))``;
* ``"bernoulli"``: logit link, ``y ~ Bernoulli(1 / (1 + exp(-eta_k)))``.

The mixing weights are constants ``pi_k``, or with concomitant variables a multinomial logit
``pi_k(w) = softmax_k(gamma_k . (1, w))`` (flexmix's ``concomitant``), ``gamma_0 = 0``.

EM. The E-step computes responsibilities in log space. The M-step is generalised
([`IterativeMStep`][emkit.protocols.IterativeMStep]): the statistics hold, per component, the
responsibility-weighted gradient and negative Hessian of the expected complete-data
log-likelihood ``Q`` in the coefficients at the reference coefficients of the E-step
(``ate`` and ``ata``), and ``m_step`` makes one Newton step, which for a canonical link is
one step of iteratively reweighted least squares. For the Gaussian, ``Q`` is quadratic in the
coefficients and the step is the exact weighted least-squares solution, so the Gaussian M-step
is exact; the concomitant multinomial logit is one Newton step too. The batch driver repeats
these inner steps (with step halving on the bound ``F``) until they converge, so the
log-likelihood never decreases.

Online and incremental EM combine statistics of different iterations: ``recenter`` moves the
second-order expansion of ``Q`` that the statistics hold to another reference point, exactly
(for the Gaussian that expansion *is* ``Q``). For Poisson and Bernoulli components and for the
concomitant logit it is the local quadratic model of ``Q`` at the E-step's parameters, so
there online EM makes one Newton step per batch on the sum of those models (generalised EM
with one step).

Groups (``lengths=``, as for [`FiniteMixture`][emkit.mixture.FiniteMixture]): all rows of a
group share one component; a group's log-densities are summed before the log-sum-exp, its
mixing weights come from its first row's concomitant variables (which must be the same on
every row of a group), and the weights are estimated from groups.
"""

from __future__ import annotations

from typing import Any, Self, final

import attrs
import numpy as np
import scipy.special

from emkit._backend import Array, gammaln, logsumexp
from emkit._validation import (
    block_starts,
    block_weights,
    check_array,
    check_choice,
    check_float,
    check_int,
)
from emkit.init import initial_responsibilities
from emkit.mixture import COUNT_FLOOR, WEIGHT_SUM_ATOL, collapse_messages
from emkit.registry import register_model
from emkit.stats import NOT_ADDITIVE

__all__ = [
    "FAMILIES",
    "INIT_STEPS",
    "MAX_LOG_RATE",
    "PINV_RTOL",
    "RegressionMixture",
    "RegressionParams",
    "RegressionStats",
]

FAMILIES = ("gaussian", "poisson", "bernoulli")
"""The component families a [`RegressionMixture`][emkit.regression.RegressionMixture] offers."""

PINV_RTOL = 1e-13
"""Eigenvalues of a component's (weighted) normal matrix below this fraction of its largest are
treated as zero: a singular design (collinear covariates, a component holding fewer rows than
coefficients) gets the minimum-norm Newton step instead of a division by zero."""

INIT_STEPS = 25
"""Newton steps at most when starting parameters are fitted to initial responsibilities."""

MAX_LOG_RATE = 300.0
"""Poisson statistics take rates at most ``exp(MAX_LOG_RATE)``, so that a wild Newton candidate
(which the driver's bound rejects) gives finite sums."""

#: The mean response of a start is clipped into (EPS, 1 - EPS) before the logit (Bernoulli).
START_CLIP = 1e-3


@final
@attrs.frozen(eq=False)
class RegressionParams:
    """Parameters of a mixture of regressions.

    Attributes
    ----------
    weights : array of shape (n_components,)
        Mixing weights ``pi_k``, non-negative, summing to 1. With concomitant variables they are
        the mean responsibilities of the last E-step, ``sum_g r_gk / sum_g 1`` over groups (rows
        without groups), which at a fixed point equal the average of the rows' mixing weights
        ``pi_k(w)`` (the gating's intercept score is zero there); they are reported, the rows'
        own weights come from ``gating``.
    coef : array of shape (n_components, n_covariates + 1)
        Regression coefficients ``beta_k``, the intercept first.
    scale : array of shape (n_components,)
        The Gaussian noise's maximum-likelihood standard deviation ``sigma_k`` (all equal with
        ``shared_scale``); ones for Poisson and Bernoulli components.
    gating : array of shape (n_components, n_concomitant + 1)
        Multinomial-logit coefficients ``gamma_k`` of the mixing weights, the intercept first;
        ``m_step`` returns row 0 as zeros (the reference component; adding the same vector to
        every row changes nothing). Zeros (n_components, 1) without concomitant variables.
    """

    weights: Array
    coef: Array
    scale: Array
    gating: Array


@final
@attrs.frozen(eq=False)
class RegressionStats:
    """Sums over rows of what the M-step needs, around the reference parameters of the E-step.

    With design rows ``a_n = (1, x_n)``, row weights ``w_n``, responsibilities ``r_nk`` (of the
    E-step's outer parameters), reference linear predictors ``eta_nk = a_n . b_k`` and means
    ``mu_nk = g^{-1}(eta_nk)``:

    Attributes
    ----------
    reference_coef : array of shape (n_components, n_covariates + 1)
        ``b_k``, the coefficients the sums are taken at (not summed).
    reference_gating : array of shape (n_components, n_concomitant + 1)
        The gating coefficients the gating sums are taken at, row 0 zero (not summed).
    counts : array of shape (n_components,)
        ``n_k = sum_n w_n r_nk``.
    group_counts : array of shape (n_components,)
        ``sum_g w_g r_gk`` over groups (equal to ``counts`` without groups): the weights are
        estimated from it.
    ata : array of shape (n_components, n_covariates + 1, n_covariates + 1)
        ``sum_n w_n r_nk v_nk a_n a_n^T``, the negative Hessian of ``Q`` in ``beta_k`` (times
        ``sigma_k^2`` for the Gaussian), with ``v_nk = 1`` (Gaussian), ``mu_nk`` (Poisson),
        ``mu_nk (1 - mu_nk)`` (Bernoulli).
    ate : array of shape (n_components, n_covariates + 1)
        ``sum_n w_n r_nk (y_n - mu_nk) a_n``, the gradient of ``Q`` in ``beta_k`` at ``b_k``.
    ete : array of shape (n_components,)
        Gaussian: ``sum_n w_n r_nk (y_n - eta_nk)^2``; zeros for the other families.
    gating_grad : array of shape (n_components, n_concomitant + 1)
        ``sum_g (r_gk - s_g pi_gk) c_g`` with ``c_g = (1, w_g)``, ``s_g`` the group's weight and
        ``pi_gk`` the reference mixing weights: the gradient of the weights' part of ``Q``.
    gating_hess : array of shape (n_components, n_concomitant + 1, n_components, n_concomitant + 1)
        ``sum_g s_g (pi_gk delta_kl - pi_gk pi_gl) c_g c_g^T``: its negative Hessian (zeros
        without concomitant variables).
    """

    reference_coef: Array = attrs.field(metadata=NOT_ADDITIVE)
    reference_gating: Array = attrs.field(metadata=NOT_ADDITIVE)
    counts: Array
    group_counts: Array
    ata: Array
    ate: Array
    ete: Array
    gating_grad: Array
    gating_hess: Array

    def recenter(self, like: Self) -> Self:
        """The same second-order expansion of ``Q`` around ``like``'s reference parameters.

        With ``d_k = like.reference_coef[k] - reference_coef[k]``: ``ate' = ate - ata d`` and
        ``ete' = ete - 2 d . ate + d^T ata d``; the gating gradient moves the same way with
        ``gating_hess``. For the Gaussian this is exact (``Q`` is quadratic in the
        coefficients); for GLM components and the gating it re-expresses the local quadratic
        model of the E-step exactly (the Newton step of ``m_step`` is unchanged), not the true
        gradient at the new point.

        Parameters
        ----------
        like : RegressionStats
            Statistics whose reference fields these move to.

        Returns
        -------
        stats : RegressionStats
        """
        if not isinstance(like, RegressionStats):
            raise TypeError(f"cannot recenter RegressionStats like {type(like).__name__}")
        if like.reference_coef.shape != self.reference_coef.shape:
            raise ValueError(
                "cannot recenter regression statistics around coefficients of shape "
                f"{like.reference_coef.shape}; these have {self.reference_coef.shape}"
            )
        d = like.reference_coef - self.reference_coef
        ata_d = np.einsum("kpq,kq->kp", self.ata, d)
        dg = like.reference_gating - self.reference_gating
        hess_dg = np.einsum("kplq,lq->kp", self.gating_hess, dg)
        return attrs.evolve(
            self,
            reference_coef=np.array(like.reference_coef, copy=True),
            reference_gating=np.array(like.reference_gating, copy=True),
            ate=self.ate - ata_d,
            ete=self.ete
            - 2.0 * np.einsum("kp,kp->k", d, self.ate)
            + np.einsum("kp,kp->k", d, ata_d),
            gating_grad=self.gating_grad - hess_dg,
        )

    def relabel(self, order: Array) -> Self:
        """Component ``k`` taken from component ``order[k]`` (both axes of ``gating_hess``).

        Parameters
        ----------
        order : int array of shape (n_components,)

        Returns
        -------
        stats : RegressionStats
        """
        order = np.asarray(order)
        return attrs.evolve(
            self,
            reference_coef=self.reference_coef[order],
            reference_gating=self.reference_gating[order],
            counts=self.counts[order],
            group_counts=self.group_counts[order],
            ata=self.ata[order],
            ate=self.ate[order],
            ete=self.ete[order],
            gating_grad=self.gating_grad[order],
            gating_hess=self.gating_hess[order][:, :, order],
        )


def _check_components(value: Any) -> int:
    return check_int(value, "n_components", minimum=1)


def _check_family(value: Any) -> str:
    return check_choice(value, "family", FAMILIES)


def _check_concomitant(value: Any) -> int:
    return check_int(value, "n_concomitant", minimum=0)


def _check_inner_steps(value: Any) -> int:
    return check_int(value, "max_inner_steps", minimum=1)


def _check_inner_tol(value: Any) -> float:
    return check_float(value, "inner_tol", minimum=0.0)


def _check_concentration(value: Any) -> float:
    return check_float(value, "weight_concentration", minimum=1.0)


def _check_min_scale(value: Any) -> float:
    return check_float(value, "min_scale", minimum=0.0, exclusive_minimum=True)


def _symmetric_solve(matrices: Array, vectors: Array) -> Array:
    """``pinv(M_k) v_k`` for symmetric positive semi-definite ``M_k`` (K, p, p), ``v_k`` (K, p).

    Through the eigendecomposition: directions whose eigenvalue is below
    [`PINV_RTOL`][emkit.regression.PINV_RTOL] times the largest get no step (minimum norm).
    """
    values, vecs = np.linalg.eigh(matrices)
    top = np.max(np.abs(values), axis=-1, keepdims=True)
    keep = values > PINV_RTOL * np.maximum(top, np.finfo(np.float64).tiny)
    inverse = np.where(keep, 1.0 / np.where(keep, values, 1.0), 0.0)
    projected = np.einsum("kpq,kp->kq", vecs, vectors)
    return np.asarray(np.einsum("kpq,kq->kp", vecs, inverse * projected))


@final
@attrs.frozen
class RegressionMixture:
    """K regressions of the last column of ``X`` on the first ones: a mixture of GLMs.

    Parameters
    ----------
    n_components : int
        Number of components K >= 1.
    family : {"gaussian", "poisson", "bernoulli"}, default "gaussian"
        The components' distribution of ``y`` (identity, log and logit links).
    n_concomitant : int, default 0
        Number of concomitant variables ``C``: the columns just before the response; the mixing
        weights depend on them through a multinomial logit with an intercept.
    shared_scale : bool, default False
        Gaussian only: one noise standard deviation for every component.
    max_inner_steps : int, default 25
        Inner M-step passes per EM iteration at most (generalised EM, see
        [`IterativeMStep`][emkit.protocols.IterativeMStep]); stored as ``inner_steps``. A
        Gaussian model without concomitant variables makes none: its M-step is exact.
    inner_tol : float, default 1e-10
        The inner iteration has converged when no coefficient (regression or gating) moved by
        more than ``inner_tol * max(1, |coefficient|)``.
    weight_concentration : float, default 1.0
        Concentration ``alpha >= 1`` of a symmetric Dirichlet prior on constant mixing weights
        (as [`FiniteMixture`][emkit.mixture.FiniteMixture]); must be 1 with concomitant
        variables.
    min_scale : float, default 1e-6
        Floor of the Gaussian noise standard deviation, so that a line through few points
        cannot collapse to a spike.

    Notes
    -----
    Data layout: ``X`` (n_samples, D) holds ``P = D - 1 - n_concomitant`` covariates (an
    intercept is added by the model), then the concomitant variables, then the response. See
    the module docstring for the model and its EM. ``scale`` is the maximum-likelihood
    standard deviation; flexmix reports one corrected for degrees of freedom, whose fixed
    point is not the maximum-likelihood one.
    """

    n_components: int = attrs.field(converter=_check_components)
    family: str = attrs.field(default="gaussian", converter=_check_family)
    n_concomitant: int = attrs.field(default=0, converter=_check_concomitant, kw_only=True)
    shared_scale: bool = attrs.field(default=False, converter=bool, kw_only=True)
    inner_steps: int = attrs.field(
        default=25, converter=_check_inner_steps, kw_only=True, alias="max_inner_steps"
    )
    inner_tol: float = attrs.field(default=1e-10, converter=_check_inner_tol, kw_only=True)
    weight_concentration: float = attrs.field(
        default=1.0, converter=_check_concentration, kw_only=True
    )
    min_scale: float = attrs.field(default=1e-6, converter=_check_min_scale, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.shared_scale and self.family != "gaussian":
            raise ValueError(
                f"`shared_scale=True` applies to the Gaussian family only; got family "
                f"{self.family!r}"
            )
        if self.n_concomitant > 0 and self.weight_concentration != 1.0:
            raise ValueError(
                "`weight_concentration` (a Dirichlet prior on constant mixing weights) must be "
                f"1 with concomitant variables; got {self.weight_concentration} with "
                f"n_concomitant={self.n_concomitant}"
            )

    # -- the data layout -------------------------------------------------------------------------
    def n_covariates(self, n_features: int) -> int:
        """Regression covariates ``P = n_features - 1 - n_concomitant`` of data with
        ``n_features`` columns.

        Parameters
        ----------
        n_features : int

        Returns
        -------
        n_covariates : int
        """
        return n_features - 1 - self.n_concomitant

    def _split(self, X: Array) -> tuple[Array, Array, Array]:
        """Design ``(1, x)`` (n, P + 1), gating design ``(1, w)`` (n, C + 1), response (n,)."""
        X = np.asarray(X, dtype=np.float64)
        n, d = X.shape
        ones = np.ones((n, 1))
        p = d - 1 - self.n_concomitant
        return (
            np.hstack([ones, X[:, :p]]),
            np.hstack([ones, X[:, p : d - 1]]),
            X[:, -1],
        )

    def _log_density(self, A: Array, y: Array, coef: Array, scale: Array) -> Array:
        """``log p(y_n | a_n, z = k)`` of every row and component, (n, K)."""
        eta = A @ coef.T
        if self.family == "gaussian":
            z = (y[:, None] - eta) / scale
            return np.asarray(-0.5 * np.log(2.0 * np.pi) - np.log(scale) - 0.5 * z * z)
        if self.family == "poisson":
            with np.errstate(over="ignore"):
                return np.asarray(y[:, None] * eta - np.exp(eta) - gammaln(y + 1.0)[:, None])
        return np.asarray(y[:, None] * eta - np.logaddexp(0.0, eta))

    def _log_weights(self, C: Array, params: RegressionParams) -> Array:
        """``log pi_k`` of every row of the gating design ``C`` (n, C + 1): (n, K) or (1, K)."""
        if self.n_concomitant == 0:
            with np.errstate(divide="ignore"):
                return np.log(np.asarray(params.weights, dtype=np.float64))[None, :]
        scores = C @ np.asarray(params.gating, dtype=np.float64).T
        return np.asarray(scores - logsumexp(scores, axis=1)[:, None])

    def _group_log_joint(
        self, X: Array, params: RegressionParams, lengths: Array | None
    ) -> tuple[Array, Array, Array, Array, Array]:
        """``log pi_gk + sum_{n in g} log p(y_n | k)`` (G, K) and the pieces it came from:
        the design (n, P + 1), the gating design of the groups (G, C + 1), y (n,), the rows'
        log-densities (n, K)."""
        A, C, y = self._split(X)
        log_density = self._log_density(A, y, np.asarray(params.coef, np.float64), params.scale)
        if lengths is None:
            return log_density + self._log_weights(C, params), A, C, y, log_density
        starts = block_starts(lengths)
        if self.n_concomitant > 0:
            varies = np.any(np.repeat(C[starts], lengths, axis=0) != C, axis=1)
            if varies.any():
                row = int(np.flatnonzero(varies)[0])
                group = int(np.searchsorted(np.cumsum(lengths), row, side="right"))
                raise ValueError(
                    "the concomitant variables must be the same on every row of a group (they "
                    f"set the group's mixing weights); group {group} differs at row {row}"
                )
        C = C[starts]
        log_joint = np.add.reduceat(log_density, starts, axis=0) + self._log_weights(C, params)
        return log_joint, A, C, y, log_density

    # -- the LatentVariableModel protocol ------------------------------------------------------
    def default_lengths(self, n_samples: int) -> None:
        """Rows are independent unless groups are given (``lengths``): ``None``.

        Parameters
        ----------
        n_samples : int

        Returns
        -------
        None
        """
        return

    def validate_data(self, X: Array) -> Array:
        """Check the layout and the response's domain; return ``X``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Covariates, concomitant variables, the response last.

        Returns
        -------
        X : array of shape (n_samples, n_features)

        Raises
        ------
        ValueError
            Too few columns, a non-finite value, or a response outside the family's domain
            (negative or fractional counts for Poisson, other than 0 and 1 for Bernoulli); the
            message names the row.
        """
        X = check_array(X, "X", ndim=2)
        if X.shape[1] < self.n_concomitant + 1:
            raise ValueError(
                f"`X` must have at least n_concomitant + 1 = {self.n_concomitant + 1} columns "
                "for a RegressionMixture (covariates, concomitant variables, then the response "
                f"last); got {X.shape[1]}"
            )
        y = X[:, -1]
        if self.family == "poisson":
            bad = (y < 0) | (y != np.round(y))
            rule = "counts (integers >= 0) for a Poisson regression mixture"
        elif self.family == "bernoulli":
            bad = (y != 0) & (y != 1)
            rule = "0 or 1 for a Bernoulli regression mixture"
        else:
            return X
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"the response (the last column of `X`) must be {rule}; found {y[row]} at row {row}"
            )
        return X

    def validate_params(self, params: Any, n_features: int) -> RegressionParams:
        """Check user-given parameters: types, shapes and ranges.

        Parameters
        ----------
        params : RegressionParams
        n_features : int

        Returns
        -------
        params : RegressionParams
            In float64, with the weights renormalised to sum to 1.

        Raises
        ------
        TypeError
            If ``params`` is not a [`RegressionParams`][emkit.regression.RegressionParams].
        ValueError
            A field of the wrong shape, negative weights or weights not summing to 1, a
            non-positive scale.
        """
        if not isinstance(params, RegressionParams):
            raise TypeError(f"`params` must be RegressionParams; got {type(params).__name__}")
        k = self.n_components
        p = self.n_covariates(n_features)
        shapes = {
            "weights": (k,),
            "coef": (k, p + 1),
            "scale": (k,),
            "gating": (k, self.n_concomitant + 1),
        }
        values = {}
        for name, shape in shapes.items():
            value = check_array(
                getattr(params, name), f"params.{name}", ndim=len(shape), dtype=np.float64
            )
            if value.shape != shape:
                raise ValueError(f"`params.{name}` must have shape {shape}; got {value.shape}")
            values[name] = value
        weights = values["weights"]
        if (weights < 0).any() or not np.isclose(
            weights.sum(), 1.0, rtol=0.0, atol=WEIGHT_SUM_ATOL
        ):
            raise ValueError(
                f"`params.weights` must be non-negative and sum to 1; got {weights.tolist()}"
            )
        if (values["scale"] <= 0).any():
            raise ValueError(f"`params.scale` must be > 0; got {values['scale'].tolist()}")
        return RegressionParams(
            weights=weights / weights.sum(),
            coef=values["coef"],
            scale=values["scale"],
            gating=values["gating"],
        )

    def init_params(
        self,
        X: Array,
        rng: np.random.Generator,
        method: str = "kmeans",
        weights: Array | None = None,
    ) -> RegressionParams:
        """Starting parameters: a weighted fit of every component to initial responsibilities.

        The responsibilities come from
        [`initial_responsibilities`][emkit.init.initial_responsibilities] on all columns (the
        covariates, concomitant variables and response), then
        [`params_from_responsibilities`][emkit.regression.RegressionMixture.params_from_responsibilities].

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
        params : RegressionParams
        """
        resp = initial_responsibilities(X, self.n_components, method, rng, weights)
        return self.params_from_responsibilities(X, resp, weights)

    def params_from_responsibilities(
        self, X: Array, resp: Array, weights: Array | None = None
    ) -> RegressionParams:
        """Every component fitted to given responsibilities (Newton steps to convergence).

        Starts from the intercept-only fit of all the data (``g(mean y)``, slopes 0) and
        uniform gating, then iterates the M-step on statistics of the fixed responsibilities
        at most [`INIT_STEPS`][emkit.regression.INIT_STEPS] times.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        resp : array of shape (n_samples, n_components)
            Rows summing to 1.
        weights : array of shape (n_samples,), optional
            Row weights.

        Returns
        -------
        params : RegressionParams
        """
        k = self.n_components
        A, C, y = self._split(X)
        resp = np.asarray(resp, dtype=np.float64)
        if weights is not None:
            resp = resp * weights[:, None]
        mean_y = float(np.average(y, weights=weights))
        if self.family == "poisson":
            start = np.log(max(mean_y, START_CLIP))
        elif self.family == "bernoulli":
            start = float(scipy.special.logit(np.clip(mean_y, START_CLIP, 1.0 - START_CLIP)))
        else:
            start = mean_y
        coef = np.zeros((k, A.shape[1]))
        coef[:, 0] = start
        counts = np.maximum(resp.sum(axis=0), COUNT_FLOOR)
        params = RegressionParams(
            weights=counts / counts.sum(),
            coef=coef,
            scale=np.ones(k),
            gating=np.zeros((k, self.n_concomitant + 1)),
        )
        for _ in range(INIT_STEPS):
            stats = self._statistics(A, C, y, resp, resp, params)
            previous, params = params, self.m_step(stats)
            if self.inner_converged(previous, params):
                break
        return params

    def _statistics(
        self,
        A: Array,
        C: Array,
        y: Array,
        resp: Array,
        group_resp: Array,
        current: RegressionParams,
    ) -> RegressionStats:
        """The sums of [`RegressionStats`][emkit.regression.RegressionStats] at ``current``.

        ``resp`` (n, K) and ``group_resp`` (G, K) are the weighted responsibilities of the rows
        and of the groups; ``C`` is the gating design of the groups (G, C + 1).
        """
        k = self.n_components
        coef = np.asarray(current.coef, dtype=np.float64)
        eta = A @ coef.T
        ete = np.zeros(k)
        if self.family == "gaussian":
            residual = y[:, None] - eta
            curvature = resp
            ete = np.einsum("nk,nk->k", resp, residual * residual)
        elif self.family == "poisson":
            # A wild Newton candidate must give finite sums (its bound rejects it).
            mu = np.exp(np.minimum(eta, MAX_LOG_RATE))
            residual = y[:, None] - mu
            curvature = resp * mu
        else:
            mu = scipy.special.expit(eta)
            residual = y[:, None] - mu
            curvature = resp * mu * (1.0 - mu)
        ata = np.stack([(A * curvature[:, j : j + 1]).T @ A for j in range(k)])  # loop over K
        ate = (resp * residual).T @ A
        gating = _normalised_gating(np.asarray(current.gating, dtype=np.float64))
        q = gating.shape[1]
        if self.n_concomitant > 0:
            scores = C @ gating.T
            pi = np.exp(scores - logsumexp(scores, axis=1)[:, None])
            size = group_resp.sum(axis=1)
            gating_grad = (group_resp - size[:, None] * pi).T @ C
            gating_hess = np.zeros((k, q, k, q))
            for a in range(k):  # loops over K x K
                for b in range(a, k):
                    factor = size * (pi[:, a] * (float(a == b) - pi[:, b]))
                    block = (C * factor[:, None]).T @ C
                    gating_hess[a, :, b, :] = block
                    gating_hess[b, :, a, :] = block.T
        else:
            gating_grad = np.zeros((k, q))
            gating_hess = np.zeros((k, q, k, q))
        return RegressionStats(
            reference_coef=coef,
            reference_gating=gating,
            counts=resp.sum(axis=0),
            group_counts=group_resp.sum(axis=0),
            ata=ata,
            ate=ate,
            ete=ete,
            gating_grad=gating_grad,
            gating_hess=gating_hess,
        )

    def inner_e_step(
        self,
        X: Array,
        outer: RegressionParams,
        current: RegressionParams,
        weights: Array | None = None,
        labels: Array | None = None,
        lengths: Array | None = None,
    ) -> tuple[RegressionStats, float]:
        """Statistics with the responsibilities of ``outer``, linearised at ``current``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        outer : RegressionParams
            The E-step's parameters: they give the responsibilities ``r_nk``.
        current : RegressionParams
            The parameters the gradients and Hessians are taken at.
        weights : array of shape (n_samples,), optional
            Row weights (the same on every row of a group).
        labels : int array of shape (n_samples,), optional
            Known components, -1 where unknown (the same within a group).
        lengths : int array of shape (n_groups,), optional
            Sizes of consecutive groups of rows that share one component.

        Returns
        -------
        stats : RegressionStats
        bound : float
            ``F(current; outer) = sum_g w_g sum_k r_gk (log pi_gk p(y_g | k, current) -
            log r_gk)``, the log-likelihood when ``current`` is ``outer``.
        """
        log_joint, A, C, y, _ = self._group_log_joint(X, outer, lengths)
        group_weights = None if lengths is None else block_weights(weights, lengths, "group")
        if lengths is None:
            group_weights = weights
        if labels is not None:
            log_joint = _mask_labels(log_joint, _group_labels(labels, lengths))
        log_norm = logsumexp(log_joint, axis=1)
        if not np.isfinite(log_norm).all():
            row = int(np.flatnonzero(~np.isfinite(log_norm))[0])
            raise ValueError(
                f"{'group' if lengths is not None else 'row'} {row} of `X` has zero probability "
                f"under every component (log-likelihood {log_norm[row]})"
            )
        with np.errstate(invalid="ignore"):
            log_resp = log_joint - log_norm[:, None]
        # Responsibilities below tiny * K would be subnormal, which slows the products of the
        # statistics down by orders of magnitude; they are zero to every digit that counts.
        floor = np.log(np.finfo(np.float64).tiny * self.n_components)
        group_resp = np.exp(np.where(log_resp < floor, -np.inf, log_resp))
        if current is outer:
            per_group = log_norm
        else:
            current_joint = self._group_log_joint(X, current, lengths)[0]
            with np.errstate(invalid="ignore", over="ignore"):
                terms = group_resp * (current_joint - log_resp)
            per_group = np.where(group_resp > 0, terms, 0.0).sum(axis=1)
        if group_weights is not None:
            group_resp = group_resp * group_weights[:, None]
            bound = float(group_weights @ per_group)
        else:
            bound = float(np.sum(per_group))
        resp = group_resp if lengths is None else np.repeat(group_resp, lengths, axis=0)
        return self._statistics(A, C, y, resp, group_resp, current), bound

    def e_step(
        self,
        X: Array,
        params: RegressionParams,
        weights: Array | None = None,
        labels: Array | None = None,
        lengths: Array | None = None,
    ) -> tuple[RegressionStats, float]:
        """The E-step: ``inner_e_step(X, params, params, ...)``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : RegressionParams
        weights : array of shape (n_samples,), optional
            Row weights; with groups the same on every row of a group.
        labels : int array of shape (n_samples,), optional
            Known components, -1 where unknown.
        lengths : int array of shape (n_groups,), optional
            Sizes of consecutive groups of rows that share one component.

        Returns
        -------
        stats : RegressionStats
        log_likelihood : float
            ``sum_g w_g log p(y_g | x_g, params)``.
        """
        return self.inner_e_step(X, params, params, weights, labels, lengths)

    def m_step(self, stats: RegressionStats) -> RegressionParams:
        """One inner M-step: a Newton (IRLS) step per component and for the gating.

        ``beta_k = b_k + pinv(ata_k) ate_k``: the exact weighted least-squares solution for the
        Gaussian, one IRLS step for Poisson and Bernoulli. The Gaussian's
        ``sigma_k^2 = RSS_k / n_k`` with ``RSS_k = ete - 2 d . ate + d^T ata d`` at
        ``d = beta_k - b_k`` (``sum_k RSS_k / sum_k n_k`` when shared), floored at
        ``min_scale``. Constant weights: ``pi_k ∝ group_count_k + alpha - 1``; with concomitant
        variables one Newton step of the multinomial logit (row 0 held at zero) and the mean
        responsibilities as ``weights``.

        Parameters
        ----------
        stats : RegressionStats

        Returns
        -------
        params : RegressionParams
        """
        k = self.n_components
        counts = np.maximum(stats.counts, COUNT_FLOOR)
        step = _symmetric_solve(stats.ata, stats.ate)
        coef = stats.reference_coef + step
        if self.family == "gaussian":
            ata_step = np.einsum("kpq,kq->kp", stats.ata, step)
            rss = (
                stats.ete
                - 2.0 * np.einsum("kp,kp->k", step, stats.ate)
                + np.einsum("kp,kp->k", step, ata_step)
            )
            rss = np.maximum(rss, 0.0)
            shared = np.full(k, rss.sum() / counts.sum())
            variance = shared if self.shared_scale else rss / counts
            scale = np.maximum(np.sqrt(variance), self.min_scale)
        else:
            scale = np.ones(k)
        groups = np.maximum(stats.group_counts, COUNT_FLOOR)
        gating = stats.reference_gating
        if self.n_concomitant > 0:
            q = gating.shape[1]
            free = (k - 1) * q
            hess = stats.gating_hess[1:, :, 1:, :].reshape(free, free)
            grad = stats.gating_grad[1:].reshape(free)
            delta = _symmetric_solve(hess[None], grad[None])[0]
            gating = gating.copy()
            gating[1:] += delta.reshape(k - 1, q)
            gating = _normalised_gating(gating)
            weights = groups / groups.sum()
        else:
            weights = groups + (self.weight_concentration - 1.0)
            weights = weights / weights.sum()
        return RegressionParams(weights=weights, coef=coef, scale=scale, gating=gating)

    @property
    def max_inner_steps(self) -> int:
        """Inner passes per EM iteration at most: 0 when the M-step is exact (Gaussian
        components without concomitant variables: weighted least squares in closed form)."""
        exact = self.family == "gaussian" and self.n_concomitant == 0
        return 0 if exact else self.inner_steps

    def inner_converged(self, previous: RegressionParams, current: RegressionParams) -> bool:
        """Whether the inner iteration has converged.

        True when no regression or gating coefficient (nor Gaussian scale) moved by more than
        ``inner_tol * max(1, |previous value|)``. A Gaussian model without concomitant
        variables has an exact M-step: always True.

        Parameters
        ----------
        previous, current : RegressionParams

        Returns
        -------
        bool
        """
        if self.family == "gaussian" and self.n_concomitant == 0:
            return True
        for name in ("coef", "gating", "scale"):
            old = np.asarray(getattr(previous, name), dtype=np.float64)
            new = np.asarray(getattr(current, name), dtype=np.float64)
            if name == "gating":
                old, new = _normalised_gating(old), _normalised_gating(new)
            change = np.abs(new - old) / np.maximum(np.abs(old), 1.0)
            if not np.all(change <= self.inner_tol):
                return False
        return True

    def log_prior(self, params: RegressionParams) -> float:
        """The log Dirichlet density of constant weights (0 when ``weight_concentration`` is 1).

        Parameters
        ----------
        params : RegressionParams

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
        """Free parameters: the mixing weights or gating, coefficients and scales.

        ``K - 1`` constant weights, or ``(K - 1)(C + 1)`` gating coefficients; ``K (P + 1)``
        regression coefficients; ``K`` Gaussian scales (1 when shared, 0 for Poisson and
        Bernoulli).

        Parameters
        ----------
        n_features : int

        Returns
        -------
        n_parameters : int
        """
        k = self.n_components
        weights = (k - 1) * (self.n_concomitant + 1)
        coef = k * (self.n_covariates(n_features) + 1)
        scales = {True: 1, False: k}[self.shared_scale] if self.family == "gaussian" else 0
        return weights + coef + scales

    def diagnose(self, stats: RegressionStats, params: RegressionParams) -> list[str]:
        """Components that hold (almost) no data.

        Parameters
        ----------
        stats : RegressionStats
        params : RegressionParams

        Returns
        -------
        messages : list of str
            Empty when all is well.
        """
        return collapse_messages(stats.counts)

    # -- using fitted parameters ---------------------------------------------------------------
    def responsibilities(
        self, X: Array, params: RegressionParams, lengths: Array | None = None
    ) -> Array:
        """``p(z = k | y, x, w)`` of every row (of its group with ``lengths``).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : RegressionParams
        lengths : int array of shape (n_groups,), optional

        Returns
        -------
        resp : array of shape (n_samples, n_components)
        """
        log_joint = self._group_log_joint(X, params, lengths)[0]
        resp = np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None])
        return resp if lengths is None else np.repeat(resp, lengths, axis=0)

    def predict(self, X: Array, params: RegressionParams, lengths: Array | None = None) -> Array:
        """The most probable component of every row (of its group with ``lengths``).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : RegressionParams
        lengths : int array of shape (n_groups,), optional

        Returns
        -------
        labels : int array of shape (n_samples,)
        """
        best = np.argmax(self._group_log_joint(X, params, lengths)[0], axis=1)
        return np.asarray(best if lengths is None else np.repeat(best, lengths))

    def score_samples(
        self, X: Array, params: RegressionParams, lengths: Array | None = None
    ) -> Array:
        """``log p(y_n | x_n, w_n, params)`` of every row.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : RegressionParams
        lengths : int array of shape (n_groups,), optional
            Groups: a row's value is ``log p(y_n | earlier rows of its group)``, so that each
            group's values add up to its log-likelihood.

        Returns
        -------
        log_density : array of shape (n_samples,)
        """
        if lengths is None:
            return np.asarray(logsumexp(self._group_log_joint(X, params, None)[0], axis=1))
        _, _, C, _, log_density = self._group_log_joint(X, params, lengths)
        starts = block_starts(lengths)
        running = np.cumsum(log_density, axis=0)
        before = np.concatenate([np.zeros((1, log_density.shape[1])), running[:-1]])[starts]
        running -= np.repeat(before, lengths, axis=0)
        log_weights = np.repeat(
            np.broadcast_to(self._log_weights(C, params), (len(starts), self.n_components)),
            lengths,
            axis=0,
        )
        prefix = logsumexp(running + log_weights, axis=1)
        previous = np.concatenate([[0.0], prefix[:-1]])
        previous[starts] = 0.0
        return np.asarray(prefix - previous)

    def mean_response(self, X_covariates: Array, params: RegressionParams) -> Array:
        """``E[y | x, w] = sum_k pi_k(w) g^{-1}(beta_k . (1, x))`` of every row.

        Parameters
        ----------
        X_covariates : array of shape (n_samples, n_features - 1)
            Covariates and concomitant variables, without the response.
        params : RegressionParams

        Returns
        -------
        mean : array of shape (n_samples,)
        """
        A, C, _ = self._split(np.hstack([X_covariates, np.zeros((len(X_covariates), 1))]))
        eta = A @ np.asarray(params.coef, dtype=np.float64).T
        mean = eta if self.family == "gaussian" else self._inverse_link(eta)
        weights = np.exp(self._log_weights(C, params))
        return np.asarray(np.sum(weights * mean, axis=1))

    def _inverse_link(self, eta: Array) -> Array:
        if self.family == "poisson":
            return np.asarray(np.exp(eta))
        if self.family == "bernoulli":
            return np.asarray(scipy.special.expit(eta))
        return eta

    def sample_response(
        self, X_covariates: Array, params: RegressionParams, rng: np.random.Generator
    ) -> tuple[Array, Array]:
        """Draw a component and a response for given covariates (and concomitant variables).

        Parameters
        ----------
        X_covariates : array of shape (n_samples, n_features - 1)
            Covariates then concomitant variables, without the response.
        params : RegressionParams
        rng : numpy.random.Generator

        Returns
        -------
        y : array of shape (n_samples,)
        labels : int array of shape (n_samples,)
            The component each response was drawn from.
        """
        X_covariates = check_array(X_covariates, "X_covariates", ndim=2, dtype=np.float64)
        n = X_covariates.shape[0]
        A, C, _ = self._split(np.hstack([X_covariates, np.zeros((n, 1))]))
        weights = np.broadcast_to(np.exp(self._log_weights(C, params)), (n, self.n_components))
        cumulative = np.cumsum(weights, axis=1)
        u = rng.random(n) * cumulative[:, -1]
        labels = np.minimum((cumulative < u[:, None]).sum(axis=1), self.n_components - 1)
        eta = np.einsum("np,np->n", A, np.asarray(params.coef)[labels])
        if self.family == "gaussian":
            y = eta + np.asarray(params.scale)[labels] * rng.standard_normal(n)
        elif self.family == "poisson":
            y = rng.poisson(np.exp(eta)).astype(np.float64)
        else:
            y = (rng.random(n) < scipy.special.expit(eta)).astype(np.float64)
        return y, labels

    def sample(
        self, params: RegressionParams, n_samples: int, rng: np.random.Generator
    ) -> tuple[Array, Array]:
        """Draw rows with standard normal covariates and concomitant variables.

        The model says nothing about the distribution of the covariates: this draws them
        independent standard normal, then the response by
        [`sample_response`][emkit.regression.RegressionMixture.sample_response] (use that one
        with covariates of your own).

        Parameters
        ----------
        params : RegressionParams
        n_samples : int
            Number of rows, at least 1.
        rng : numpy.random.Generator

        Returns
        -------
        X : array of shape (n_samples, n_covariates + n_concomitant + 1)
        labels : int array of shape (n_samples,)
        """
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        p = np.asarray(params.coef).shape[1] - 1
        covariates = rng.standard_normal((n_samples, p + self.n_concomitant))
        y, labels = self.sample_response(covariates, params, rng)
        return np.column_stack([covariates, y]), labels

    def component_weights(self, params: RegressionParams) -> Array:
        """The mixing weights (the mean ones with concomitant variables).

        Parameters
        ----------
        params : RegressionParams

        Returns
        -------
        weights : array of shape (n_components,)
        """
        return np.asarray(params.weights)

    def component_means(self, params: RegressionParams) -> Array:
        """The coefficients (intercept first) stand for a component's location.

        Components of equal weight are ordered by their intercepts.

        Parameters
        ----------
        params : RegressionParams

        Returns
        -------
        coef : array of shape (n_components, n_covariates + 1)
        """
        return np.asarray(params.coef)


def _normalised_gating(gating: Array) -> Array:
    """The same multinomial logit with row 0 zero."""
    return np.asarray(gating - gating[:1])


def _mask_labels(log_joint: Array, labels: Array) -> Array:
    allowed = (labels < 0)[:, None] | (labels[:, None] == np.arange(log_joint.shape[1]))
    return np.where(allowed, log_joint, -np.inf)


def _group_labels(labels: Array, lengths: Array | None) -> Array:
    """The known component of every group (rows), checked to agree within a group."""
    labels = np.asarray(labels)
    if lengths is None:
        return labels
    starts = block_starts(lengths)
    known = np.maximum.reduceat(labels, starts)
    lowest = np.minimum.reduceat(np.where(labels < 0, np.iinfo(np.intp).max, labels), starts)
    clash = (known >= 0) & (lowest != known)
    if clash.any():
        group = int(np.flatnonzero(clash)[0])
        raise ValueError(
            f"`labels` of one group must agree (-1 for unknown): group {group} has labels "
            f"{lowest[group]} and {known[group]}"
        )
    return np.asarray(known, dtype=np.intp)


register_model(RegressionMixture, RegressionParams)
