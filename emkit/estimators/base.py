"""The machinery every scikit-learn style estimator shares
([`MixtureEstimator`][emkit.estimators.MixtureEstimator]).

scikit-learn style estimators: [`GaussianMixture`][emkit.estimators.GaussianMixture],
[`BernoulliMixture`][emkit.estimators.BernoulliMixture],
[`PoissonMixture`][emkit.estimators.PoissonMixture].

They are thin wrappers: each builds a [`FiniteMixture`][emkit.mixture.FiniteMixture], fits it with
[`emkit.fit`][emkit.em.fit], and answers ``predict`` / ``score`` / ``sample`` through the mixture's
own methods. All the mathematics lives in the core; these classes translate scikit-learn's
conventions.

* ``get_params`` / ``set_params`` / ``repr`` / ``clone`` work as for scikit-learn estimators,
  without importing scikit-learn (it is needed only to run ``check_estimator``). Constructor
  parameters are stored untouched and validated in ``fit``.
* [`GaussianMixture`][emkit.estimators.GaussianMixture] takes ``sklearn.mixture.GaussianMixture``'s
  parameters with the same meanings and defaults, and the same fitted attributes in the same shapes.

Stopping rule and ``lower_bound_``
    scikit-learn evaluates the log-likelihood in the E-step *before* each M-step and stops once
    that value changes by less than ``tol`` per sample, so it returns the parameters of one
    M-step after the last pair it compared. These estimators follow exactly that rule (the
    driver's ``stopping="lagged"``), so from the same start (``weights_init``, ``means_init``,
    ``precisions_init``) they return the same parameters and ``n_iter_`` as scikit-learn.

    Unlike scikit-learn, ``lower_bound_`` is the objective per unit of sample weight at the
    *returned* parameters (``log p(X | theta) + log p(theta)``, divided by the total weight;
    without a prior it equals ``score(X)`` on the training data), and ``lower_bounds_[i]`` is
    that value after M-step ``i + 1``. scikit-learn reports the value one M-step earlier, so its
    ``lower_bound_`` is smaller than this one by less than ``tol``. With ``n_init > 1`` the run
    with the highest final objective wins.

Order of the components and the restart report
    When the start comes from the data alone (``init_params``), the fitted components are in
    emkit's canonical order (decreasing weight, ties by the first coordinate of the mean; see
    [`emkit.starts.canonical_order`][emkit.starts.canonical_order]), so repeated fits with
    different seeds are comparable. When the user gives any starting value (``weights_init``,
    ``means_init``, ``precisions_init``) or ``warm_start`` continues a fit, the components keep
    the order of that start, as in scikit-learn: component ``k`` is the one started from the
    user's ``k``-th values, and a fit from the same start matches scikit-learn's component by
    component. ``restarts_at_best_`` is how many of the ``n_init`` runs reached the best
    objective ([`FitResult.restarts_at_best`][emkit.em.FitResult]) and ``collapsed_restarts_``
    which runs ended with a collapsed component (both from ``result_``).
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable
from typing import Any, ClassVar, Self

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import (
    check_choice,
    check_int,
    check_missing_choice,
    check_random_state,
    group_order,
)
from emkit.em import FitResult, IterationState, fit
from emkit.estimators.inputs import (
    check_feature_names,
    check_nonnegative,
    check_weights,
    check_x,
    feature_names,
    same_value,
)
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.online import OnlineState, as_fit_result, online_step, start_online
from emkit.sources import as_source, source_kind
from emkit.starts import start_names

__all__ = [
    "EstimatorParams",
    "MixtureEstimator",
    "NotFittedError",
    "StartFromData",
    "VerboseProgress",
    "not_fitted_error",
]


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``; compatible with scikit-learn's NotFittedError."""


def not_fitted_error() -> type[NotFittedError]:
    """[`NotFittedError`][emkit.estimators.NotFittedError], also a scikit-learn NotFittedError once
    scikit-learn is loaded.

    scikit-learn (and code written for it) catches its own class; emkit never imports
    scikit-learn, so the combined class exists only when the user has imported it already.
    """
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    base = getattr(sklearn_exceptions, "NotFittedError", None)
    if base is None or not isinstance(base, type):
        return NotFittedError
    combined = _COMBINED_NOT_FITTED.get(base)
    if combined is None:
        combined = type("NotFittedError", (NotFittedError, base), {"__module__": __name__})
        _COMBINED_NOT_FITTED[base] = combined
    return combined


_COMBINED_NOT_FITTED: dict[type, type[NotFittedError]] = {}


class EstimatorParams:
    """scikit-learn's parameter protocol for every emkit estimator, without scikit-learn.

    ``get_params`` / ``set_params`` / ``repr`` read the constructor's signature, so ``clone``,
    grid searches and saving (``param_names``) work on any subclass whose ``__init__`` stores
    each parameter under its own name.
    """

    added_params: ClassVar[frozenset[str]] = frozenset({"missing"})
    """Parameters added after model files were first written: a saved estimator without one
    loads with its default (only when the class has it)."""

    # -- parameters (scikit-learn's BaseEstimator protocol) ------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        """Names of the constructor parameters, sorted (scikit-learn's ``_get_param_names``)."""
        return cls._get_param_names()

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(name for name in signature.parameters if name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters by name (``deep`` is accepted for compatibility)."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters; they are validated by the next ``fit``."""
        valid = self.param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {type(self).__name__}. "
                    f"Valid parameters are: {valid!r}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            name: p.default
            for name, p in inspect.signature(type(self).__init__).parameters.items()
            if name != "self"
        }
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not same_value(value, defaults[name])
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


class MixtureEstimator(EstimatorParams):
    """Shared machinery of the mixture estimators (scikit-learn conventions).

    Subclasses define ``__init__`` (keyword parameters stored as they are), ``_build_family``,
    ``_start_params`` and ``_component_attributes``.
    """

    _positive_only: ClassVar[bool] = False

    # Constructor parameters every estimator has (set by the subclasses' __init__).
    n_components: Any
    tol: Any
    max_iter: Any
    n_init: Any
    init_params: Any
    weights_init: Any
    means_init: Any
    random_state: Any
    warm_start: Any
    verbose: Any
    verbose_interval: Any
    missing: Any

    def __sklearn_tags__(self) -> Any:
        # Imported here: scikit-learn calls this method itself, so it is installed whenever
        # this runs, and emkit never imports it otherwise.
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(
            estimator_type="clusterer",
            target_tags=TargetTags(required=False),
            input_tags=InputTags(
                positive_only=self._positive_only, allow_nan=self.missing == "marginalise"
            ),
        )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "result_")

    # -- to be supplied by each estimator ------------------------------------------------------
    def _build_family(self) -> Any:
        raise NotImplementedError

    def _start_params(self, model: FiniteMixture[Any, Any], n_features: int) -> dict[str, Any]:
        """Validated user starting values: a subset of {"weights", "components"}.

        ``components`` is the family's parameters, or a function that completes the data-driven
        start's components with the user's parts (e.g. given means, covariances from the data).
        """
        raise NotImplementedError

    def _component_attributes(
        self, model: FiniteMixture[Any, Any], components: Any
    ) -> dict[str, Array]:
        raise NotImplementedError

    def _weight_concentration(self) -> Any:
        return 1.0

    # -- the model -----------------------------------------------------------------------------
    def build_model(self) -> FiniteMixture[Any, Any]:
        """The [`FiniteMixture`][emkit.mixture.FiniteMixture] these parameters describe (validating
        its settings)."""
        return FiniteMixture(
            self._build_family(),
            self.n_components,
            self._weight_concentration(),
            missing=self.missing,
        )

    def validate_settings(self) -> None:
        """Check every constructor parameter (``ValueError``/``TypeError`` naming the bad one)."""
        self.build_model()
        self._check_options()
        check_random_state(self.random_state)

    def _check_options(self) -> dict[str, Any]:
        if not isinstance(self.warm_start, bool | np.bool_):
            raise TypeError(f"`warm_start` must be True or False; got {self.warm_start!r}")
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
        y: Any = None,
        *,
        labels: Any = None,
        sample_weight: Any = None,
        groups: Any = None,
    ) -> MixtureEstimator:
        """Fit the mixture by EM.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features), or where such rows live
            A path to a ``.npy`` file, a list of chunks (or a callable returning an iterator of
            them) or a Dask array is fitted without loading it whole (see
            [`emkit.sources.as_source`][emkit.sources.as_source]; chunks carry their own weights and
            labels).
        y : ignored
            Present for scikit-learn's API; use ``labels`` for known components.
        labels : int array-like of shape (n_samples,), optional
            A known component for some rows and -1 for the rest (semi-supervised EM): the known
            rows' responsibilities are fixed to their label.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative row weights; an integer weight equals repeating the row.
        groups : array-like of shape (n_samples,), optional
            Ids of groups of rows that share one component (a subject's repeated
            measurements): all rows with one id form a group, wherever they are, whose
            responsibilities come from all its rows (see
            [`FiniteMixture`][emkit.mixture.FiniteMixture]). In memory only; weights must be
            the same on every row of a group.

        Returns
        -------
        self
        """
        self._fit(X, labels, sample_weight, groups)
        return self

    def fit_predict(
        self,
        X: Any,
        y: Any = None,
        *,
        labels: Any = None,
        sample_weight: Any = None,
        groups: Any = None,
    ) -> Array:
        """Fit, then return the most probable component of every row, shape (n_samples,)."""
        self._fit(X, labels, sample_weight, groups)
        return self.predict(X, groups=groups)

    def partial_fit(self, X: Any, y: Any = None, *, sample_weight: Any = None) -> MixtureEstimator:
        """One step of online EM on the mini-batch ``X`` (see [`emkit.online`][emkit.online]).

        The first call starts from the parameters of an earlier ``fit`` (or ``emkit.load``), or
        else from ``init_params`` (with ``weights_init`` etc.) computed on this batch. Every call
        runs an E-step on the batch, moves the running per-sample statistics towards the batch's
        with step size ``(t + 2)^-0.6``, and runs an M-step on them scaled to the rows seen so
        far (so priors keep their batch-EM weight). The fitted attributes follow each call:
        ``n_iter_`` counts batches, ``lower_bound_`` is the running log-likelihood per sample of
        the batches at the parameters each one met (plus the log-prior per sample), and
        ``converged_`` stays False. [`emkit.online.fit_online`][emkit.online.fit_online] and
        [`emkit.online.online_step`][emkit.online.online_step] expose the step size, warm-up, Polyak
        averaging and the dataset size the prior is weighed against.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_batch, n_features)
            Batches should be random draws from the data (shuffle sorted data first).
        y : ignored
        sample_weight : array-like of shape (n_batch,), optional

        Returns
        -------
        self
        """
        model = self.build_model()
        data = self._check_x(X)
        weights = check_weights(sample_weight, data.shape[0])
        previous: FitResult[Any] | None = getattr(self, "result_", None)
        if previous is not None and previous.model != model:
            previous = None  # reconfigured since: this batch starts afresh
        if previous is not None:
            check_feature_names(getattr(self, "feature_names_in_", None), X, type(self).__name__)
            if data.shape[1] != previous.n_features:
                raise ValueError(
                    f"X has {data.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{previous.n_features} features as input."
                )
        state: OnlineState[Any] | None = getattr(self, "online_state_", None)
        if state is not None and (previous is None or previous.params is not state.estimate):
            state = None  # refitted, loaded or reconfigured since the last batch
        if state is None:
            init: Any
            if previous is not None:
                init = previous.params
            else:
                init = self._initializer(
                    model, data, data.shape[1], self._check_options()["init_params"], weights
                )
            state = start_online(
                model,
                data,
                init=init,
                sample_weight=weights,
                random_state=check_random_state(self.random_state),
            )
            self._online_bounds: list[float] = []
        state = online_step(model, state, data, weights)
        log_prior = model.log_prior(state.estimate)
        self._online_bounds.append(state.log_likelihood + log_prior / state.n_seen)
        self.restore_fit(as_fit_result(model, state, self._online_bounds), feature_names(X))
        self.online_state_ = state
        return self

    def _fit(self, X: Any, labels: Any, sample_weight: Any, groups: Any = None) -> None:
        model = self.build_model()
        options = self._check_options()
        rng = check_random_state(self.random_state)
        data: Any
        lengths = None
        if groups is not None and source_kind(X) != "array":
            raise ValueError(
                "`groups` needs X in memory (an array or a DataFrame); for data that stays where "
                "it lives, give the group sizes to the source (lengths=...)"
            )
        if source_kind(X) != "array":
            # Rows that stay where they live (a .npy path, chunks, a Dask array) reach emkit.fit
            # as a data source; initialisation then uses the source's bounded sample.
            data = as_source(X, sample_weight, labels)
            n_features, weights, labels = data.n_features, None, None
            total = float(data.total_weight)
        else:
            data = self._check_x(X)
            n_features = data.shape[1]
            weights = check_weights(sample_weight, data.shape[0])
            total = float(data.shape[0] if weights is None else weights.sum())
            if groups is not None:
                # The rows of each group together (a stable sort: consecutive groups keep their
                # order); the fitted parameters do not depend on the order of the rows.
                order, lengths, _ = group_order(groups, data.shape[0])
                data = data[order]
                weights = None if weights is None else weights[order]
                labels = None if labels is None else np.asarray(labels)[order]
        previous: FitResult[Any] | None = getattr(self, "result_", None)
        warm = (
            bool(self.warm_start)
            and previous is not None
            and previous.model == model
            and previous.n_features == n_features
        )
        init: Any
        n_init = options["n_init"]
        previous_bound = None
        user_start = True  # a warm start continues the previous fit's components
        if warm:
            assert previous is not None
            init, n_init, previous_bound = previous.params, 1, self.lower_bound_
        else:
            init = self._initializer(model, data, n_features, options["init_params"], weights)
            user_start = not isinstance(init, str)
            if not isinstance(init, str | StartFromData):
                # Every parameter is given: every run would start, and end, in the same place.
                n_init = 1
        progress = VerboseProgress(options["verbose"], options["verbose_interval"], total)
        result = fit(
            model,
            data,
            init=init,
            n_init=n_init,
            max_iter=options["max_iter"],
            tol=options["tol"],
            stopping="lagged",
            previous_objective=previous_bound,
            sample_weight=weights,
            labels=labels,
            lengths=lengths,
            random_state=rng,
            callbacks=(progress,) if options["verbose"] else (),
            order="start" if user_start else "auto",
        )
        progress.finish()
        self.restore_fit(result, feature_names(X))

    def _initializer(
        self,
        model: FiniteMixture[Any, Any],
        data: Array,
        n_features: int,
        method: str,
        weights: Array | None,
    ) -> Any:
        given = self._start_params(model, n_features)
        if not given:
            return method
        if set(given) == {"weights", "components"} and not callable(given["components"]):
            return MixtureParams(given["weights"], given["components"])
        return StartFromData(model, data, method, weights, given)

    def restore_fit(self, result: FitResult[Any], feature_names: Array | None = None) -> None:
        """Set every fitted attribute from a FitResult (used by ``fit`` and by ``emkit.load``).

        ``feature_names`` (n_features,) become ``feature_names_in_`` (none: the attribute is
        removed).
        """
        self.result_ = result
        self.n_features_in_ = int(result.n_features)
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.weights_ = result.params.weights
        for name, value in self._component_attributes(
            _mixture_of(result), result.params.components
        ).items():
            setattr(self, name, value)
        self.converged_ = bool(result.converged)
        self.n_iter_ = int(result.n_iter)
        self.restarts_at_best_ = int(result.restarts_at_best)
        self.collapsed_restarts_ = tuple(result.collapsed_restarts)
        history = np.asarray(result.history, dtype=np.float64) / result.n_samples
        self.lower_bound_ = float(history[-1])
        self.lower_bounds_ = history[1:]

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

    def _check_x(self, X: Any) -> Array:
        return check_x(
            X, type(self).__name__, self._positive_only, check_missing_choice(self.missing)
        )

    def _check_predict_x(self, X: Any) -> tuple[FitResult[Any], FiniteMixture[Any, Any], Array]:
        result = self.fitted_result()
        check_feature_names(getattr(self, "feature_names_in_", None), X, type(self).__name__)
        data = self._check_x(X)
        if data.shape[1] != result.n_features:
            raise ValueError(
                f"X has {data.shape[1]} features, but {type(self).__name__} is expecting "
                f"{result.n_features} features as input."
            )
        # The estimator's current `missing` decides what a NaN is, also for a fit made or
        # loaded with the other setting (the parameters do not depend on it).
        mixture = attrs.evolve(_mixture_of(result), missing=self.missing)
        mixture.validate_data(data)
        return result, mixture, data

    def impute(self, X: Any, groups: Any = None) -> Array:
        """``X`` with every missing entry (NaN) filled in with its conditional expectation.

        ``E[x_miss | x_obs] = sum_k p(k | x_obs) E[x_miss | x_obs, k]``: the responsibilities
        come from the row's observed entries, each component's conditional mean from the
        family (for a Gaussian the regression of the missing coordinates on the observed ones;
        a categorical column gets its most probable level). Needs ``missing="marginalise"``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), optional
            Ids of groups of rows that share one component (as for ``fit``).

        Returns
        -------
        X_imputed : array of shape (n_samples, n_features)
            A new array; observed entries are unchanged.
        """
        if self.missing != "marginalise":
            raise ValueError(
                f"impute needs missing='marginalise'; this {type(self).__name__} has "
                f"missing={self.missing!r} (set it with set_params(missing='marginalise'))"
            )
        result, mixture, data = self._check_predict_x(X)
        return _by_groups(mixture.impute, data, result.params, groups)

    def predict(self, X: Any, groups: Any = None) -> Array:
        """Most probable component of every row, shape (n_samples,); with ``groups`` (ids, as
        for ``fit``) every row gets its group's."""
        result, mixture, data = self._check_predict_x(X)
        return _by_groups(mixture.predict, data, result.params, groups)

    def predict_proba(self, X: Any, groups: Any = None) -> Array:
        """Posterior probability of every component, shape (n_samples, n_components); with
        ``groups`` every row gets its group's."""
        result, mixture, data = self._check_predict_x(X)
        return _by_groups(mixture.responsibilities, data, result.params, groups)

    def score_samples(self, X: Any, groups: Any = None) -> Array:
        """Log-likelihood ``log p(x_n)`` of every row, shape (n_samples,); with ``groups`` a
        row's log-density given the earlier rows of its group (a group's values add up to its
        log-likelihood)."""
        result, mixture, data = self._check_predict_x(X)
        return _by_groups(mixture.score_samples, data, result.params, groups)

    def score(self, X: Any, y: Any = None, *, sample_weight: Any = None) -> float:
        """Mean log-likelihood per row (weighted by ``sample_weight`` if given)."""
        log_prob = self.score_samples(X)
        if sample_weight is None:
            return float(log_prob.mean())
        weights = check_weights(sample_weight, log_prob.shape[0])
        assert weights is not None
        return float(weights @ log_prob / weights.sum())

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on ``X``: ``-2 L + p log n`` (lower is better)."""
        log_likelihood = float(self.score_samples(X).sum())
        n = self._check_x(X).shape[0]
        return -2.0 * log_likelihood + self._n_parameters() * float(np.log(n))

    def aic(self, X: Any) -> float:
        """Akaike information criterion on ``X``: ``-2 L + 2 p`` (lower is better)."""
        log_likelihood = float(self.score_samples(X).sum())
        return -2.0 * log_likelihood + 2.0 * self._n_parameters()

    def _n_parameters(self) -> int:
        result = self.fitted_result()
        return int(result.model.n_parameters(result.n_features))

    def sample(self, n_samples: int = 1) -> tuple[Array, Array]:
        """Draw ``n_samples`` rows from the fitted mixture.

        Returns
        -------
        X : array of shape (n_samples, n_features)
        y : int array of shape (n_samples,)
            The component each row was drawn from, in draw order (scikit-learn sorts the rows
            by component instead).
        """
        result = self.fitted_result()
        rng = check_random_state(self.random_state)
        return _mixture_of(result).sample(result.params, n_samples, rng)


def _mixture_of(result: FitResult[Any]) -> FiniteMixture[Any, Any]:
    model = result.model
    if not isinstance(model, FiniteMixture):
        raise TypeError(f"an estimator's model must be a FiniteMixture; got {type(model).__name__}")
    return model


class StartFromData:
    """Initial parameters from ``init_params``, with the user's values replacing their parts.

    This is scikit-learn's rule: whatever of ``weights_init``, ``means_init`` (and
    ``precisions_init``) is given replaces the corresponding part of the data-driven start.
    ``given["components"]`` is either the family's parameters or a function completing the
    start's components.
    """

    def __init__(
        self,
        model: FiniteMixture[Any, Any],
        data: Any,
        method: str,
        weights: Array | None,
        given: dict[str, Any],
    ) -> None:
        self.model, self.data, self.method, self.given = model, data, method, given
        self.weights = weights

    def __call__(self, sample: Array, rng: np.random.Generator) -> MixtureParams[Any]:
        # The whole array and its weights, not the driver's unweighted sample (which is all
        # there is when the rows stay in a data source).
        if isinstance(self.data, np.ndarray):
            start = self.model.init_params(self.data, rng, self.method, self.weights)
        else:
            start = self.model.init_params(sample, rng, self.method)
        components = self.given.get("components", start.components)
        if callable(components):
            complete: Callable[[Any], Any] = components
            components = complete(start.components)
        return MixtureParams(self.given.get("weights", start.weights), components)


class VerboseProgress:
    """scikit-learn's verbose output (on stderr), as a callback of [`emkit.fit`][emkit.em.fit].

    ``verbose >= 1``: one line when each run starts and ends; ``verbose >= 2``: also the change
    every ``interval`` iterations. The lower bound is the objective per unit of
    ``total_weight``.
    """

    def __init__(self, verbose: int, interval: int, total_weight: float) -> None:
        self.verbose, self.interval, self.total_weight = verbose, interval, total_weight
        self.started = time.perf_counter()
        self.restart = -1
        self.converged = False

    def __call__(self, state: IterationState[Any]) -> None:
        if state.iteration == 0:
            self._end_restart()
            self.restart, self.converged = state.restart, False
            self.started = time.perf_counter()
            if self.verbose >= 1:
                print(f"Initialization {state.restart}", file=sys.stderr)
            return
        if self.verbose >= 2 and state.iteration % self.interval == 0:
            print(
                f"  Iteration {state.iteration}\t time lapse "
                f"{time.perf_counter() - self.started:.5f}s\t ll change {state.change:.5f}",
                file=sys.stderr,
            )
        if state.converged:
            self.converged = True
            if self.verbose >= 1:
                print(
                    f"Initialization converged after {state.iteration} iterations: "
                    f"lower bound {state.objective / self.total_weight:.5f}",
                    file=sys.stderr,
                )

    def _end_restart(self) -> None:
        if self.restart >= 0 and self.verbose >= 1 and not self.converged:
            print("Initialization did not converge.", file=sys.stderr)

    def finish(self) -> None:
        """Close the last run's output."""
        self._end_restart()


def _by_groups(method: Callable[..., Array], data: Array, params: Any, groups: Any) -> Array:
    """A per-row method of the mixture, over the rows' groups when there are some; the rows
    come back in the caller's order."""
    if groups is None:
        return method(data, params)
    order, lengths, _ = group_order(groups, data.shape[0])
    grouped = method(data[order], params, lengths=lengths)
    result = np.empty_like(grouped)
    result[order] = grouped
    return result
