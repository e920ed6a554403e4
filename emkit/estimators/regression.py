"""Mixtures of regressions with a scikit-learn style interface:
[`RegressionMixture`][emkit.estimators.regression.RegressionMixture].

The estimator is a thin wrapper of the model
[`emkit.regression.RegressionMixture`][emkit.regression.RegressionMixture] (the same name in another
module, as [`GaussianMixture`][emkit.estimators.GaussianMixture] wraps a
[`FiniteMixture`][emkit.mixture.FiniteMixture]): ``fit(X, y)`` lays out the model's data
``[X, concomitant, y]`` (covariates, concomitant variables, the response last), fits it with
[`emkit.fit`][emkit.em.fit], and reads the fitted parameters back as scikit-learn style
attributes (``weights_``, ``intercept_``, ``coef_``, ``scale_``, ``gating_``).

Groups
    ``groups`` (n_samples,) holds a group id per row (numbers or strings); all rows with the same
    id share one latent component (a subject with repeated measurements). The rows of a group
    need not be consecutive: they are put together by a stable sort (groups in the order of
    their first row, rows in their order within a group), the model is fitted on that order with
    the group sizes as ``lengths``, and every per-row answer (``predict_proba``,
    ``score_samples``, ...) comes back in the caller's row order. Data whose groups are already
    consecutive runs is fitted as it is. ``sample_weight`` and the concomitant variables must be
    the same on every row of a group (a group's weight counts it that many times; its mixing
    weights come from its concomitant variables).

Names
    A DataFrame ``X`` keeps its column names (``feature_names_in_``), a DataFrame
    ``concomitant`` its own (``concomitant_names_in_``), and a named Series ``y`` its name
    (``target_name_``); [`summary`][emkit.estimators.regression.RegressionMixture.summary] prints
    the coefficients by those names, and ``emkit.save`` / ``emkit.load`` keep them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from emkit._backend import Array
from emkit._validation import (
    check_array,
    check_choice,
    check_int,
    check_random_state,
    group_order,
)
from emkit.em import Callback, FitResult, fit
from emkit.estimators.base import EstimatorParams, VerboseProgress, not_fitted_error
from emkit.estimators.inputs import (
    check_feature_names,
    check_nonnegative,
    check_weights,
    check_x,
    feature_names,
)
from emkit.regression import RegressionMixture as RegressionModel
from emkit.starts import start_names

__all__ = ["RegressionMixture"]


class RegressionMixture(EstimatorParams):
    """A mixture of K regressions of ``y`` on ``X`` (an intercept added), fitted by EM.

    Each row's response follows one of K generalised linear models, chosen by a latent
    component with mixing weights ``weights_`` (or, with concomitant variables, weights that
    depend on them through a multinomial logit, as flexmix's ``concomitant``). See
    [`emkit.regression`][emkit.regression] for the model and its generalised EM (Poisson and
    logistic components are fitted by iteratively reweighted least squares inside each M-step).

    Parameters
    ----------
    n_components : int, default 2
        The number of regressions K.
    family : {"gaussian", "poisson", "bernoulli"}, default "gaussian"
        The distribution of ``y`` given a component: normal with identity link, Poisson counts
        with log link, 0/1 with logit link.
    shared_scale : bool, default False
        Gaussian only: one noise standard deviation for all components.
    n_init : int, default 5
        Runs from different starts; the one with the highest final log-likelihood wins. A
        mixture of regressions has many local optima (flexmix's ``stepFlexmix`` restarts for
        the same reason), so the default makes several.
    init_params : str, default "random"
        How each run starts: one of [`emkit.init.init_methods`][emkit.init.init_methods]() (on the
        columns ``[X, concomitant, y]``, then a weighted fit of each component) or ``"emEM"``.
        Random partitions are the default: k-means on ``[X, y]`` groups rows that lie close
        together, not rows on the same regression line (on the Poisson example of the docs page
        on mixtures of regressions it ends in a worse optimum from every seed).
    max_iter : int, default 100
        EM iterations per run at most.
    tol : float, default 1e-3
        Stop when the log-likelihood per observation changes by less than this.
    weight_concentration : float, default 1.0
        Symmetric Dirichlet prior (>= 1) on constant mixing weights; 1 is none (must be 1 with
        concomitant variables).
    max_inner_steps : int, default 25
        Inner M-step passes (IRLS / Newton steps) per EM iteration at most.
    inner_tol : float, default 1e-10
        The inner iteration stops when no coefficient moves by more than this, relatively.
    min_scale : float, default 1e-6
        Floor of the Gaussian noise standard deviation.
    random_state : None, int, numpy Generator or RandomState
    verbose : int, default 0
        1: one line per run on stderr; 2: also the change every ``verbose_interval`` iterations.
    verbose_interval : int, default 10

    Attributes
    ----------
    weights_ : array of shape (n_components,)
        Mixing weights. With concomitant variables: the mean posterior probability of each
        component over the training groups (rows), for reporting; a row's own weights come from
        ``gating_``.
    intercept_ : array of shape (n_components,)
    coef_ : array of shape (n_components, n_features_in_)
        The slopes of each component's linear predictor (identity, log or logit scale).
    scale_ : array of shape (n_components,)
        Gaussian: the maximum-likelihood standard deviation of each component's noise (all equal
        with ``shared_scale``). R's flexmix reports a degrees-of-freedom-corrected value, and its
        EM iterates with it, so its fixed point is not the maximum-likelihood one and its
        coefficients differ slightly too. Ones for Poisson and Bernoulli components.
    gating_ : array of shape (n_components, n_concomitant_in_ + 1)
        Only with concomitant variables: the multinomial-logit coefficients of the mixing
        weights, intercept first; row 0 is zero (component 0 is the reference: the model's
        ``params.gating`` less its row 0, which gives the same mixing weights).
    n_features_in_ : int
        Number of covariates (columns of ``X``).
    n_concomitant_in_ : int
        Number of concomitant variables (0 without).
    feature_names_in_ : array of str
        Only when ``X`` was a DataFrame with string column names.
    concomitant_names_in_ : array of str
        Only when ``concomitant`` was a DataFrame with string column names.
    target_name_ : str
        Only when ``y`` was a named Series (a string name).
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        The objective (log-likelihood plus log-prior) per unit of sample weight at the fitted
        parameters.
    lower_bounds_ : array of shape (n_iter_,)
        That value after every iteration.
    restarts_at_best_ : int
        How many of the ``n_init`` runs reached the best objective.
    collapsed_restarts_ : tuple of int
        The runs that ended with a component holding less than one row.
    result_ : emkit.FitResult
        The driver's result: the model
        [`emkit.regression.RegressionMixture`][emkit.regression.RegressionMixture] and its
        [`RegressionParams`][emkit.regression.RegressionParams].

    Notes
    -----
    The number of free parameters (``bic``, ``aic``) is ``K - 1`` mixing weights (or
    ``(K - 1)(C + 1)`` gating coefficients), ``K (P + 1)`` regression coefficients and ``K``
    scales (1 when shared, none for Poisson and Bernoulli). The components are in emkit's
    canonical order (decreasing weight).

    Examples
    --------
    >>> import numpy as np
    >>> from emkit.estimators import RegressionMixture
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-2, 2, size=(400, 1))
    >>> line = rng.integers(0, 2, size=400)
    >>> y = np.where(line == 0, 1 + 2 * x[:, 0], -1 - x[:, 0]) + 0.2 * rng.standard_normal(400)
    >>> fitted = RegressionMixture(2, n_init=3, random_state=0).fit(x, y)
    >>> np.round(np.sort(fitted.coef_[:, 0]), 1)
    array([-1.,  2.])
    """

    def __init__(
        self,
        n_components: int = 2,
        family: str = "gaussian",
        *,
        shared_scale: bool = False,
        n_init: int = 5,
        init_params: str = "random",
        max_iter: int = 100,
        tol: float = 1e-3,
        weight_concentration: float = 1.0,
        max_inner_steps: int = 25,
        inner_tol: float = 1e-10,
        min_scale: float = 1e-6,
        random_state: Any = None,
        verbose: int = 0,
        verbose_interval: int = 10,
    ) -> None:
        self.n_components = n_components
        self.family = family
        self.shared_scale = shared_scale
        self.n_init = n_init
        self.init_params = init_params
        self.max_iter = max_iter
        self.tol = tol
        self.weight_concentration = weight_concentration
        self.max_inner_steps = max_inner_steps
        self.inner_tol = inner_tol
        self.min_scale = min_scale
        self.random_state = random_state
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "result_")

    @staticmethod
    def n_features_of(result: FitResult[Any]) -> int:
        """The number of covariates (columns of ``X``, named by ``feature_names_in_``) of a fit,
        whose model data also holds the concomitant variables and the response.

        Parameters
        ----------
        result : FitResult
            A fit of an [`emkit.regression.RegressionMixture`][emkit.regression.RegressionMixture].

        Returns
        -------
        int
        """
        model = result.model
        if not isinstance(model, RegressionModel):
            raise TypeError(
                "a RegressionMixture estimator's result must be a fit of "
                f"emkit.regression.RegressionMixture; got {type(model).__name__}"
            )
        return model.n_covariates(int(result.n_features))

    # -- the model -----------------------------------------------------------------------------
    def _n_concomitant(self) -> int:
        fitting = getattr(self, "_concomitant_for_fit", None)
        if fitting is not None:
            return int(fitting)
        result: FitResult[Any] | None = getattr(self, "result_", None)
        if result is not None and isinstance(result.model, RegressionModel):
            return result.model.n_concomitant
        return 0

    def build_model(self) -> RegressionModel:
        """The model [`emkit.regression.RegressionMixture`][emkit.regression.RegressionMixture]
        these parameters describe (validating its settings).

        The number of concomitant variables is the one of the data being fitted, or of the last
        fit (0 before any).
        """
        return RegressionModel(
            self.n_components,
            self.family,
            n_concomitant=self._n_concomitant(),
            shared_scale=_check_bool(self.shared_scale, "shared_scale"),
            max_inner_steps=self.max_inner_steps,
            inner_tol=self.inner_tol,
            weight_concentration=self.weight_concentration,
            min_scale=self.min_scale,
        )

    def validate_settings(self) -> None:
        """Check every constructor parameter (``ValueError``/``TypeError`` naming the bad one)."""
        self.build_model()
        self._check_options()
        check_random_state(self.random_state)

    def _check_options(self) -> dict[str, Any]:
        return {
            "tol": check_nonnegative(self.tol, "tol"),
            "max_iter": check_int(self.max_iter, "max_iter", minimum=0),
            "n_init": check_int(self.n_init, "n_init", minimum=1),
            "init_params": check_choice(self.init_params, "init_params", start_names()),
            "verbose": check_int(self.verbose, "verbose", minimum=0),
            "verbose_interval": check_int(self.verbose_interval, "verbose_interval", minimum=1),
        }

    # -- fitting -------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any,
        groups: Any = None,
        sample_weight: Any = None,
        concomitant: Any = None,
        *,
        callbacks: Sequence[Callback] = (),
    ) -> RegressionMixture:
        """Fit the mixture of regressions by (generalised) EM.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            The covariates (an intercept is added).
        y : array-like or Series of shape (n_samples,)
            The response: any real number (gaussian), counts (poisson), 0 or 1 (bernoulli).
        groups : array-like of shape (n_samples,), optional
            A group id per row (numbers or strings): all rows with the same id share one
            component (see the module's notes on groups).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative row weights (the same on every row of a group).
        concomitant : array-like or DataFrame of shape (n_samples, n_concomitant), optional
            Variables the mixing weights depend on (a multinomial logit); one 1-D array is one
            variable. The same on every row of a group.
        callbacks : sequence of callables, optional
            Called with each iteration's [`IterationState`][emkit.em.IterationState] (see
            [`emkit.fit`][emkit.em.fit]).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Inputs of different lengths, non-finite values, a response outside the family's
            domain (naming the row), a weight or concomitant variable that differs within a
            group, or invalid settings.
        """
        data = self._data(X, y, groups, concomitant, sample_weight, fitting=True)
        options = self._check_options()
        rng = check_random_state(self.random_state)
        self._concomitant_for_fit = data.n_concomitant
        try:
            model = self.build_model()
        finally:
            del self._concomitant_for_fit
        total = float(data.n_rows if data.weights is None else data.weights.sum())
        progress = VerboseProgress(options["verbose"], options["verbose_interval"], total)
        hooks = list(callbacks)
        if options["verbose"]:
            hooks.append(progress)
        result = fit(
            model,
            data.values,
            init=options["init_params"],
            n_init=options["n_init"],
            max_iter=options["max_iter"],
            tol=options["tol"],
            sample_weight=data.weights,
            lengths=data.lengths,
            random_state=rng,
            callbacks=tuple(hooks),
        )
        progress.finish()
        self.restore_fit(result, feature_names(X))
        self._set_names(data.concomitant_names, data.target_name)
        return self

    def restore_fit(self, result: FitResult[Any], feature_names: Array | None = None) -> None:
        """Set every fitted attribute from a FitResult (used by ``fit`` and by ``emkit.load``).

        Parameters
        ----------
        result : FitResult
            A fit of an [`emkit.regression.RegressionMixture`][emkit.regression.RegressionMixture].
        feature_names : array of str of shape (n_features_in_,), optional
            Becomes ``feature_names_in_`` (none: the attribute is removed). The names of the
            concomitant variables and of the target are reset (``restore_fitted_state`` or
            ``fit`` sets them).
        """
        n_covariates = self.n_features_of(result)
        model = result.model
        assert isinstance(model, RegressionModel)
        if feature_names is not None and len(feature_names) != n_covariates:
            raise ValueError(
                f"`feature_names` must name the {n_covariates} covariate(s); got "
                f"{len(feature_names)}"
            )
        params = result.params
        coef = np.asarray(params.coef, dtype=np.float64)
        self.result_ = result
        self.n_features_in_ = int(n_covariates)
        self.n_concomitant_in_ = int(model.n_concomitant)
        self._set_attribute("feature_names_in_", feature_names)
        self._set_names(None, None)
        self.weights_ = np.asarray(params.weights, dtype=np.float64)
        self.intercept_ = coef[:, 0].copy()
        self.coef_ = coef[:, 1:].copy()
        self.scale_ = np.asarray(params.scale, dtype=np.float64)
        gating = None
        if model.n_concomitant:
            # The same logit with component 0 as the reference (the canonical order of the
            # components may have moved the model's reference row).
            gating = np.asarray(params.gating, dtype=np.float64)
            gating = gating - gating[:1]
        self._set_attribute("gating_", gating)
        self.converged_ = bool(result.converged)
        self.n_iter_ = int(result.n_iter)
        self.restarts_at_best_ = int(result.restarts_at_best)
        self.collapsed_restarts_ = tuple(result.collapsed_restarts)
        history = np.asarray(result.history, dtype=np.float64) / result.n_samples
        self.lower_bound_ = float(history[-1])
        self.lower_bounds_ = history[1:]

    def _set_attribute(self, name: str, value: Any) -> None:
        if value is not None:
            setattr(self, name, value)
        elif name in self.__dict__:
            delattr(self, name)

    def _set_names(self, concomitant_names: Array | None, target_name: str | None) -> None:
        self._set_attribute("concomitant_names_in_", concomitant_names)
        self._set_attribute("target_name_", target_name)

    # -- what a saved file keeps beyond the result ---------------------------------------------
    def fitted_state(self) -> dict[str, Any]:
        """The names of the target and of the concomitant variables, for ``emkit.save``.

        Returns
        -------
        state : dict
            ``{"target_name": str or None, "concomitant_names": list of str or None}``.
        """
        self.fitted_result()
        names = getattr(self, "concomitant_names_in_", None)
        return {
            "target_name": getattr(self, "target_name_", None),
            "concomitant_names": None if names is None else [str(n) for n in names],
        }

    def restore_fitted_state(self, state: Mapping[str, Any]) -> None:
        """Restore what ``fitted_state`` wrote (``emkit.load`` calls it after ``restore_fit``).

        Raises
        ------
        ValueError
            If the state is not ``{"target_name": ..., "concomitant_names": ...}`` with a string
            (or null) and ``n_concomitant_in_`` strings (or null).
        """
        self.fitted_result()
        if not isinstance(state, Mapping) or set(state) != {"target_name", "concomitant_names"}:
            raise ValueError(
                "the state of a RegressionMixture must be {'target_name': ..., "
                f"'concomitant_names': ...}}; got {state!r}"
            )
        target, names = state["target_name"], state["concomitant_names"]
        if target is not None and not isinstance(target, str):
            raise ValueError(f"`target_name` must be a string or null; got {target!r}")
        if names is not None and not (
            isinstance(names, list)
            and len(names) == self.n_concomitant_in_
            and all(isinstance(n, str) for n in names)
        ):
            raise ValueError(
                f"`concomitant_names` must be null or {self.n_concomitant_in_} strings; got "
                f"{names!r}"
            )
        self._set_names(None if names is None else np.asarray(names, dtype=object), target)

    # -- using the fitted model ----------------------------------------------------------------
    def fitted_result(self) -> FitResult[Any]:
        """The driver's result of the last fit; ``NotFittedError`` before any fit."""
        result: FitResult[Any] | None = getattr(self, "result_", None)
        if result is None:
            raise not_fitted_error()(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        return result

    def _fitted_model(self) -> tuple[RegressionModel, Any]:
        result = self.fitted_result()
        model = result.model
        assert isinstance(model, RegressionModel)
        return model, result.params

    def predict(self, X: Any, concomitant: Any = None) -> Array:
        """The expected response under the mixture, ``sum_k pi_k g^{-1}(intercept_k + x coef_k)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)
        concomitant : array-like of shape (n_samples, n_concomitant_in_), optional
            Required when the fit had concomitant variables (they set each row's weights).

        Returns
        -------
        y : array of shape (n_samples,)
        """
        model, params = self._fitted_model()
        covariates, extra = self._inputs(X, concomitant, fitting=False)
        return model.mean_response(np.hstack([covariates, extra]), params)

    def predict_proba(self, X: Any, y: Any, groups: Any = None, concomitant: Any = None) -> Array:
        """The posterior probability of every component for each observation (its group's).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)
        y : array-like of shape (n_samples,)
        groups : array-like of shape (n_samples,), optional
            Group ids: the rows of a group get their group's posterior.
        concomitant : array-like of shape (n_samples, n_concomitant_in_), optional

        Returns
        -------
        resp : array of shape (n_samples, n_components)
            In the rows' order; rows sum to 1.
        """
        model, params = self._fitted_model()
        data = self._data(X, y, groups, concomitant, None, fitting=False)
        return data.unsorted(model.responsibilities(data.values, params, data.lengths))

    def predict_component(
        self, X: Any, y: Any, groups: Any = None, concomitant: Any = None
    ) -> Array:
        """The most probable component of each observation (its group's), shape (n_samples,)."""
        return np.asarray(np.argmax(self.predict_proba(X, y, groups, concomitant), axis=1))

    def score_samples(self, X: Any, y: Any, groups: Any = None, concomitant: Any = None) -> Array:
        """``log p(y_n | x_n)`` of every observation.

        With groups, a row's value is ``log p(y_n | the earlier rows of its group)``, so the
        values of a group add up to its log-likelihood.

        Returns
        -------
        log_density : array of shape (n_samples,)
            In the rows' order.
        """
        model, params = self._fitted_model()
        data = self._data(X, y, groups, concomitant, None, fitting=False)
        return data.unsorted(model.score_samples(data.values, params, data.lengths))

    def score(
        self,
        X: Any,
        y: Any,
        groups: Any = None,
        concomitant: Any = None,
        sample_weight: Any = None,
    ) -> float:
        """Mean log-likelihood per observation (weighted by ``sample_weight`` if given), as
        scikit-learn's mixtures report it."""
        log_prob = self.score_samples(X, y, groups, concomitant)
        weights = check_weights(sample_weight, log_prob.shape[0])
        if weights is None:
            return float(log_prob.mean())
        return float(weights @ log_prob / weights.sum())

    def _n_parameters(self) -> int:
        result = self.fitted_result()
        return int(result.model.n_parameters(result.n_features))

    def bic(self, X: Any, y: Any, groups: Any = None, concomitant: Any = None) -> float:
        """Bayesian information criterion ``-2 L + p log n`` (n observations; lower is better)."""
        log_prob = self.score_samples(X, y, groups, concomitant)
        n = log_prob.shape[0]
        return -2.0 * float(log_prob.sum()) + self._n_parameters() * math.log(n)

    def aic(self, X: Any, y: Any, groups: Any = None, concomitant: Any = None) -> float:
        """Akaike information criterion ``-2 L + 2 p`` (lower is better)."""
        log_prob = self.score_samples(X, y, groups, concomitant)
        return -2.0 * float(log_prob.sum()) + 2.0 * self._n_parameters()

    def sample(
        self, n_samples: int = 1, *, X: Any = None, concomitant: Any = None
    ) -> tuple[Array, Array, Array]:
        """Draw responses from the fitted mixture.

        Parameters
        ----------
        n_samples : int, default 1
            Rows to draw when ``X`` is not given: their covariates are drawn independent
            standard normal (the model says nothing about how covariates are distributed).
        X : array-like of shape (n_rows, n_features_in_), optional
            Covariates to draw one response for, each (``n_samples`` is then ignored).
        concomitant : array-like of shape (n_rows, n_concomitant_in_), optional
            With ``X``, required when the fit had concomitant variables.

        Returns
        -------
        X : array of shape (n_rows, n_features_in_)
        y : array of shape (n_rows,)
        labels : int array of shape (n_rows,)
            The component each response was drawn from.

        Raises
        ------
        ValueError
            Without ``X`` for a fit with concomitant variables (give them with ``X``).
        """
        model, params = self._fitted_model()
        rng = check_random_state(self.random_state)
        if X is None:
            if self.n_concomitant_in_:
                raise ValueError(
                    "a RegressionMixture with concomitant variables samples responses for given "
                    "rows: pass `X` and `concomitant`"
                )
            if concomitant is not None:
                raise ValueError("`concomitant` is given without `X`; pass both or neither")
            n = check_int(n_samples, "n_samples", minimum=1)
            covariates = rng.standard_normal((n, self.n_features_in_))
            extra = np.empty((n, 0))
        else:
            covariates, extra = self._inputs(X, concomitant, fitting=False)
        y, labels = model.sample_response(np.hstack([covariates, extra]), params, rng)
        return covariates, y, labels

    # -- a readable summary --------------------------------------------------------------------
    def coefficient_table(self) -> str:
        """The components as text: weight, intercept, coefficients by feature name, scale; and
        with concomitant variables the gating coefficients by name.

        Returns
        -------
        text : str
            Right-aligned columns; names are ``feature_names_in_`` (else ``x1, x2, ...``) and
            ``concomitant_names_in_`` (else ``w1, w2, ...``).
        """
        self.fitted_result()
        model, _ = self._fitted_model()
        names = _names(getattr(self, "feature_names_in_", None), "x", self.n_features_in_)
        columns = [self.weights_, self.intercept_, *self.coef_.T]
        header = ["component", "weight", "intercept", *names]
        if model.family == "gaussian":
            header.append("scale")
            columns.append(self.scale_)
        lines = [_table(header, columns, weight_column=True)]
        if self.n_concomitant_in_:
            others = _names(
                getattr(self, "concomitant_names_in_", None), "w", self.n_concomitant_in_
            )
            gating = np.asarray(self.__dict__["gating_"])
            lines += [
                "",
                "gating (multinomial logit of the mixing weights; component 0 is the reference):",
                _table(["component", "intercept", *others], list(gating.T), weight_column=False),
            ]
        return "\n".join(lines)

    def summary(self) -> str:
        """The fit in words: the model, the component table
        ([`coefficient_table`][emkit.estimators.regression.RegressionMixture.coefficient_table]),
        log-likelihood, BIC, AIC, convergence and iterations."""
        result = self.fitted_result()
        model = result.model
        assert isinstance(model, RegressionModel)
        k = model.n_components
        target = getattr(self, "target_name_", None)
        describe = [f"{model.family.capitalize()} regression mixture"]
        if target is not None:
            describe.append(f"of {target!r}")
        settings = [f"{k} component{'s' * (k != 1)}"]
        if model.shared_scale:
            settings.append("shared scale")
        if model.n_concomitant:
            settings.append(f"{model.n_concomitant} concomitant variable(s)")
        n = result.n_samples
        criterion_n = math.log(n)
        p = self._n_parameters()
        log_likelihood = result.log_likelihood
        lines = [
            " ".join(describe) + ", " + ", ".join(settings),
            "",
            self.coefficient_table(),
            "",
            f"log-likelihood  {log_likelihood:.6f}  ({log_likelihood / n:.6f} per observation)",
            f"BIC             {-2.0 * log_likelihood + p * criterion_n:.4f}",
            f"AIC             {-2.0 * log_likelihood + 2.0 * p:.4f}",
            f"converged       {'yes' if result.converged else 'no'}",
            f"iterations      {result.n_iter}",
        ]
        return "\n".join(lines)

    # -- inputs --------------------------------------------------------------------------------
    def _inputs(self, X: Any, concomitant: Any, *, fitting: bool) -> tuple[Array, Array]:
        """Covariates (n, P) and concomitant variables (n, C), checked (against the fit)."""
        name = type(self).__name__
        if not fitting:
            check_feature_names(getattr(self, "feature_names_in_", None), X, name)
        covariates = check_x(X, name, missing=None)
        n = covariates.shape[0]
        if not fitting and covariates.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {covariates.shape[1]} features, but {name} is expecting "
                f"{self.n_features_in_} features as input."
            )
        if concomitant is None:
            if not fitting and self.n_concomitant_in_:
                raise ValueError(
                    f"`concomitant` is required: {name} was fitted with "
                    f"{self.n_concomitant_in_} concomitant variable(s)"
                )
            return covariates, np.empty((n, 0))
        raw = concomitant
        if not hasattr(raw, "columns") and np.ndim(raw) == 1:
            raw = np.asarray(raw).reshape(-1, 1)
        try:
            extra = check_x(raw, name, missing=None)
        except (TypeError, ValueError) as exc:
            raise type(exc)(str(exc).replace("`X`", "`concomitant`")) from None
        if extra.shape[0] != n:
            raise ValueError(
                f"`concomitant` has {extra.shape[0]} rows, but `X` has {n}; give one row of "
                "concomitant variables per row of X"
            )
        if not fitting:
            if not self.n_concomitant_in_:
                raise ValueError(
                    f"`concomitant` is given, but {name} was fitted without concomitant variables"
                )
            if extra.shape[1] != self.n_concomitant_in_:
                raise ValueError(
                    f"`concomitant` has {extra.shape[1]} column(s), but {name} was fitted with "
                    f"{self.n_concomitant_in_}"
                )
            _check_names(getattr(self, "concomitant_names_in_", None), raw)
        return covariates, extra

    def _data(
        self,
        X: Any,
        y: Any,
        groups: Any,
        concomitant: Any,
        sample_weight: Any,
        *,
        fitting: bool,
    ) -> _Data:
        covariates, extra = self._inputs(X, concomitant, fitting=fitting)
        n = covariates.shape[0]
        response = _response(y, n, self.family if fitting else self._fitted_model()[0].family)
        weights = check_weights(sample_weight, n)
        values = np.hstack([covariates, extra, response[:, None]])
        concomitant_names = feature_names(concomitant) if concomitant is not None else None
        name = getattr(y, "name", None)
        target_name = name if isinstance(name, str) else None
        if groups is None:
            n_extra = extra.shape[1]
            return _Data(values, weights, None, None, n_extra, concomitant_names, target_name)
        order, lengths, first = group_order(groups, n)
        where = first[order]  # the first row of each row's group, in the fitted order
        for array, what in ((weights, "`sample_weight`"), (extra, "the concomitant variables")):
            if array is None or array.size == 0:
                continue
            varies = np.flatnonzero(
                np.any(np.asarray(array[order] != array[where]).reshape(n, -1), axis=1)
            )
            if varies.size:
                row = int(order[varies[0]])
                raise ValueError(
                    f"{what} must be the same on every row of a group; row {row} differs from "
                    f"row {int(where[varies[0]])} of its group {_id_text(groups, row)}"
                )
        sorted_weights = None if weights is None else weights[order]
        return _Data(
            values[order],
            sorted_weights,
            lengths,
            order,
            extra.shape[1],
            concomitant_names,
            target_name,
        )


class _Data:
    """The model's data ``[X, concomitant, y]`` in fitted order, with its groups."""

    def __init__(
        self,
        values: Array,
        weights: Array | None,
        lengths: Array | None,
        order: Array | None,
        n_concomitant: int,
        concomitant_names: Array | None,
        target_name: str | None,
    ) -> None:
        self.values, self.weights, self.lengths, self.order = values, weights, lengths, order
        self.n_concomitant = n_concomitant
        self.concomitant_names, self.target_name = concomitant_names, target_name

    @property
    def n_rows(self) -> int:
        return int(self.values.shape[0])

    def unsorted(self, per_row: Array) -> Array:
        """Per-row results of the fitted order back in the caller's row order."""
        if self.order is None:
            return per_row
        out = np.empty_like(per_row)
        out[self.order] = per_row
        return out


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False; got {value!r}")
    return bool(value)


def _response(y: Any, n: int, family: str) -> Array:
    """``y`` as a finite float vector of ``n`` values in the family's domain."""
    if y is None:
        raise ValueError("`y` is required: a RegressionMixture regresses `y` on `X`")
    raw = y.to_numpy() if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray) else y
    values = np.asarray(raw)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    response = check_array(values, "y", ndim=1, dtype=np.float64)
    if response.shape[0] != n:
        raise ValueError(f"`y` has {response.shape[0]} values, but `X` has {n} rows")
    if family == "poisson":
        bad = (response < 0) | (response != np.round(response))
        rule = "counts (whole numbers >= 0) for family='poisson'"
    elif family == "bernoulli":
        bad = (response != 0) & (response != 1)
        rule = "0 or 1 for family='bernoulli'"
    else:
        return response
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"`y` must be {rule}; found {response[row]:g} at row {row}")
    return response


def _id_text(groups: Any, row: int) -> str:
    raw = groups.to_numpy() if hasattr(groups, "to_numpy") else groups
    value = np.asarray(raw)[row]
    return repr(value.item() if isinstance(value, np.generic) else value)


def _check_names(fitted: Array | None, given: Any) -> None:
    names = feature_names(given)
    if fitted is None or names is None:
        return
    if len(names) != len(fitted) or not np.all(names == fitted):
        raise ValueError(
            f"the concomitant variables' names must be those seen in fit, {list(fitted)}; got "
            f"{list(names)}"
        )


def _names(names: Array | None, prefix: str, n: int) -> list[str]:
    if names is None:
        return [f"{prefix}{j + 1}" for j in range(n)]
    return [str(name) for name in names]


def _number_format(values: Array) -> str:
    """One format for a column: 6 significant digits of its largest value, the same decimals
    on every row; scientific for very small or very large values."""
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    if largest == 0.0:
        return ".6f"
    if largest < 1e-3 or largest >= 1e15:
        return ".4e"
    return f".{min(max(0, 6 - (math.floor(math.log10(largest)) + 1)), 6)}f"


def _table(header: list[str], columns: list[Array], *, weight_column: bool) -> str:
    """Right-aligned columns: the component number, then one column per array."""
    cells: list[list[str]] = []
    k = len(columns[0])
    formats = [
        ".4f" if weight_column and j == 0 else _number_format(np.asarray(column))
        for j, column in enumerate(columns)
    ]
    for row in range(k):
        cells.append(
            [str(row), *(f"{float(c[row]):{f}}" for c, f in zip(columns, formats, strict=True))]
        )
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)
