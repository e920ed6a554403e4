"""scikit-learn style estimators: :class:`GaussianMixture`, :class:`BernoulliMixture`,
:class:`PoissonMixture`.

They are thin wrappers: each builds a :class:`~emkit.FiniteMixture`, fits it with
:func:`emkit.fit`, and answers ``predict`` / ``score`` / ``sample`` through the mixture's own
methods. All the mathematics lives in the core; these classes translate scikit-learn's
conventions.

* ``get_params`` / ``set_params`` / ``repr`` / ``clone`` work as for scikit-learn estimators,
  without importing scikit-learn (it is needed only to run ``check_estimator``). Constructor
  parameters are stored untouched and validated in ``fit``.
* :class:`GaussianMixture` takes :class:`sklearn.mixture.GaussianMixture`'s parameters with the
  same meanings and defaults, and the same fitted attributes in the same shapes.

Stopping rule and ``lower_bound_``
    scikit-learn evaluates the log-likelihood in the E-step *before* each M-step and stops once
    that value changes by less than ``tol`` per sample, so it returns the parameters of one
    M-step after the last pair it compared. These estimators follow exactly that rule (through
    a callback of :func:`emkit.fit`), so from the same start (``weights_init``, ``means_init``,
    ``precisions_init``) they return the same parameters and ``n_iter_`` as scikit-learn.

    Unlike scikit-learn, ``lower_bound_`` is the objective per unit of sample weight at the
    *returned* parameters (``log p(X | theta) + log p(theta)``, divided by the total weight;
    without a prior it equals ``score(X)`` on the training data), and ``lower_bounds_[i]`` is
    that value after M-step ``i + 1``. scikit-learn reports the value one M-step earlier, so its
    ``lower_bound_`` is smaller than this one by less than ``tol``. With ``n_init > 1`` the run
    with the highest final objective wins.
"""

from __future__ import annotations

import inspect
import numbers
import sys
import time
import warnings
from typing import Any, ClassVar, cast

import attrs
import numpy as np
import scipy.sparse

from emkit._backend import Array, cholesky
from emkit._validation import (
    check_array,
    check_choice,
    check_int,
    check_random_state,
    check_sample_weight,
)
from emkit.em import FitResult, IterationState, fit
from emkit.exceptions import ConvergenceWarning
from emkit.families import Bernoulli, Gaussian, GaussianParams, MeanParams, Poisson
from emkit.init import INIT_METHODS
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.online import OnlineState, online_step, start_online
from emkit.registry import register_estimator
from emkit.sources import as_source, source_kind

__all__ = [
    "BernoulliMixture",
    "GaussianMixture",
    "MixtureEstimator",
    "NotFittedError",
    "PoissonMixture",
]

#: How far ``weights_init`` may sum from 1 (scikit-learn's ``np.allclose`` default tolerance).
WEIGHTS_INIT_ATOL = 1e-8


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``; compatible with scikit-learn's NotFittedError."""


def _not_fitted_error() -> type[NotFittedError]:
    """:class:`NotFittedError`, also a scikit-learn NotFittedError once scikit-learn is loaded.

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


class MixtureEstimator:
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

    def set_params(self, **params: Any) -> MixtureEstimator:
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
            if not _same_value(value, defaults[name])
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self) -> Any:
        # Imported here: scikit-learn calls this method itself, so it is installed whenever
        # this runs, and emkit never imports it otherwise.
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(
            estimator_type="clusterer",
            target_tags=TargetTags(required=False),
            input_tags=InputTags(positive_only=self._positive_only),
        )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "result_")

    # -- to be supplied by each estimator ------------------------------------------------------
    def _build_family(self) -> Any:
        raise NotImplementedError

    def _start_params(self, model: FiniteMixture[Any, Any], n_features: int) -> dict[str, Any]:
        """Validated user starting values: a subset of {"weights", "components"} overrides."""
        raise NotImplementedError

    def _component_attributes(self, model: Any, components: Any) -> dict[str, Array]:
        raise NotImplementedError

    def _weight_concentration(self) -> Any:
        return 1.0

    # -- the model -----------------------------------------------------------------------------
    def build_model(self) -> FiniteMixture[Any, Any]:
        """The :class:`FiniteMixture` these parameters describe (validating its settings)."""
        return FiniteMixture(self._build_family(), self.n_components, self._weight_concentration())

    def validate_settings(self) -> None:
        """Check every constructor parameter (``ValueError``/``TypeError`` naming the bad one)."""
        self.build_model()
        self._check_options()
        check_random_state(self.random_state)

    def _check_options(self) -> dict[str, Any]:
        if not isinstance(self.warm_start, bool | np.bool_):
            raise TypeError(f"`warm_start` must be True or False; got {self.warm_start!r}")
        return {
            "tol": _check_nonnegative(self.tol, "tol"),
            "max_iter": check_int(self.max_iter, "max_iter", minimum=0),
            "n_init": check_int(self.n_init, "n_init", minimum=1),
            "init_params": check_choice(self.init_params, "init_params", INIT_METHODS),
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
    ) -> MixtureEstimator:
        """Fit the mixture by EM.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features), or where such rows live
            A path to a ``.npy`` file, a list of chunks (or a callable returning an iterator of
            them) or a Dask array is fitted without loading it whole (see
            :func:`emkit.sources.as_source`; chunks carry their own weights and labels).
        y : ignored
            Present for scikit-learn's API; use ``labels`` for known components.
        labels : int array-like of shape (n_samples,), optional
            A known component for some rows and -1 for the rest (semi-supervised EM): the known
            rows' responsibilities are fixed to their label.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative row weights; an integer weight equals repeating the row.

        Returns
        -------
        self
        """
        self._fit(X, labels, sample_weight)
        return self

    def fit_predict(
        self,
        X: Any,
        y: Any = None,
        *,
        labels: Any = None,
        sample_weight: Any = None,
    ) -> Array:
        """Fit, then return the most probable component of every row, shape (n_samples,)."""
        self._fit(X, labels, sample_weight)
        return self.predict(X)

    def partial_fit(self, X: Any, y: Any = None, *, sample_weight: Any = None) -> MixtureEstimator:
        """One step of online EM on the mini-batch ``X`` (see :mod:`emkit.online`).

        The first call starts from the parameters of an earlier ``fit`` (or ``emkit.load``), or
        else from ``init_params`` (with ``weights_init`` etc.) computed on this batch. Every call
        runs an E-step on the batch, moves the running per-sample statistics towards the batch's
        with step size ``(t + 2)^-0.6``, and runs an M-step on them scaled to the rows seen so
        far (so priors keep their batch-EM weight). The fitted attributes follow each call:
        ``n_iter_`` counts batches, ``lower_bound_`` is the running log-likelihood per sample of
        the batches at the parameters each one met (plus the log-prior per sample), and
        ``converged_`` stays False. :func:`emkit.online.fit_online` and
        :func:`emkit.online.online_step` expose the step size, warm-up, Polyak averaging and the
        dataset size the prior is weighed against.

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
        data = _check_x(X, self)
        weights = _check_weights(sample_weight, data.shape[0])
        previous: FitResult[Any] | None = getattr(self, "result_", None)
        if previous is not None and previous.model != model:
            previous = None  # reconfigured since: this batch starts afresh
        if previous is not None:
            _check_feature_names(self, X)
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
        params = state.estimate
        log_prior = model.log_prior(params)
        self._online_bounds.append(state.log_likelihood + log_prior / state.n_seen)
        bounds = np.asarray([self._online_bounds[0], *self._online_bounds])
        result = FitResult(
            model=model,
            params=params,
            log_likelihood=state.log_likelihood * state.n_seen,
            log_prior=log_prior,
            history=bounds * state.n_seen,
            n_iter=state.n_batches,
            converged=False,
            n_samples=state.n_seen,
            n_features=state.n_features,
            restart=0,
            restart_objectives=bounds[-1:] * state.n_seen,
        )
        self.restore_fit(result, _feature_names(X))
        self.online_state_ = state
        return self

    def _fit(self, X: Any, labels: Any, sample_weight: Any) -> None:
        model = self.build_model()
        options = self._check_options()
        rng = check_random_state(self.random_state)
        data: Any
        if source_kind(X) != "array":
            # Rows that stay where they live (a .npy path, chunks, a Dask array) reach emkit.fit
            # as a data source; initialisation then uses the source's bounded sample.
            data = as_source(X, sample_weight, labels)
            n_features, weights, labels = data.n_features, None, None
            total = float(data.total_weight)
        else:
            data = _check_x(X, self)
            n_features = data.shape[1]
            weights = _check_weights(sample_weight, data.shape[0])
            total = float(data.shape[0] if weights is None else weights.sum())
        previous = getattr(self, "result_", None)
        warm = (
            bool(self.warm_start)
            and previous is not None
            and previous.model == model
            and previous.n_features == n_features
        )
        feature_names = _feature_names(X)
        init: Any
        n_init = options["n_init"]
        previous_bound = -np.inf
        if warm:
            assert previous is not None
            init, n_init, previous_bound = previous.params, 1, self.lower_bound_
        else:
            init = self._initializer(model, data, n_features, options["init_params"], weights)
            if not isinstance(init, str | _Initializer):
                # Every parameter is given: every run would start, and end, in the same place.
                n_init = 1
        monitor = _Monitor(options["tol"], total, previous_bound, options, type(self).__name__)
        with warnings.catch_warnings():
            # The stopping rule is the monitor's (tol=0 below): emkit's own warning would
            # quote tol=0, so the monitor's outcome is reported instead.
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = fit(
                model,
                data,
                init=init,
                n_init=n_init,
                max_iter=options["max_iter"],
                tol=0.0,
                sample_weight=weights,
                labels=labels,
                random_state=rng,
                callbacks=(monitor,),
            )
        converged = monitor.converged.get(result.restart, False)
        monitor.finish()
        if not converged and options["max_iter"] > 0:
            warnings.warn(
                f"{type(self).__name__}: the best of n_init={n_init} run(s) did not converge in "
                f"max_iter={options['max_iter']} iterations (tol={options['tol']:g}); increase "
                "max_iter or tol, try other initial parameters, or check for degenerate data",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.restore_fit(attrs.evolve(result, converged=converged), feature_names)

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
        if set(given) == {"weights", "components"}:
            return MixtureParams(given["weights"], given["components"])
        return _Initializer(model, data, method, weights, given)

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
            result.model, result.params.components
        ).items():
            setattr(self, name, value)
        self.converged_ = bool(result.converged)
        self.n_iter_ = int(result.n_iter)
        history = np.asarray(result.history, dtype=np.float64) / result.n_samples
        self.lower_bound_ = float(history[-1])
        self.lower_bounds_ = history[1:]

    # -- using the fitted model ----------------------------------------------------------------
    def fitted_result(self) -> FitResult[Any]:
        """The driver's result of the last fit; ``NotFittedError`` before any fit."""
        result: FitResult[Any] | None = getattr(self, "result_", None)
        if result is None:
            raise _not_fitted_error()(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        return result

    def _check_predict_x(self, X: Any) -> tuple[FitResult[Any], Array]:
        result = self.fitted_result()
        _check_feature_names(self, X)
        data = _check_x(X, self)
        if data.shape[1] != result.n_features:
            raise ValueError(
                f"X has {data.shape[1]} features, but {type(self).__name__} is expecting "
                f"{result.n_features} features as input."
            )
        result.model.validate_data(data)
        return result, data

    def predict(self, X: Any) -> Array:
        """Most probable component of every row, shape (n_samples,)."""
        result, data = self._check_predict_x(X)
        return result.model.predict(data, result.params)  # type: ignore[no-any-return]

    def predict_proba(self, X: Any) -> Array:
        """Posterior probability of every component, shape (n_samples, n_components)."""
        result, data = self._check_predict_x(X)
        return result.model.responsibilities(data, result.params)  # type: ignore[no-any-return]

    def score_samples(self, X: Any) -> Array:
        """Log-likelihood ``log p(x_n)`` of every row, shape (n_samples,)."""
        result, data = self._check_predict_x(X)
        return result.model.score_samples(data, result.params)  # type: ignore[no-any-return]

    def score(self, X: Any, y: Any = None, *, sample_weight: Any = None) -> float:
        """Mean log-likelihood per row (weighted by ``sample_weight`` if given)."""
        log_prob = self.score_samples(X)
        if sample_weight is None:
            return float(log_prob.mean())
        weights = _check_weights(sample_weight, log_prob.shape[0])
        assert weights is not None
        return float(weights @ log_prob / weights.sum())

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on ``X``: ``-2 L + p log n`` (lower is better)."""
        log_likelihood = float(self.score_samples(X).sum())
        n = _check_x(X, self).shape[0]
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
        X, y = result.model.sample(result.params, n_samples, rng)
        return X, y


class _Initializer:
    """Initial parameters from ``init_params``, with the user's values replacing their parts.

    This is scikit-learn's rule: whatever of ``weights_init``, ``means_init`` (and
    ``precisions_init``) is given replaces the corresponding part of the data-driven start.
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
        if isinstance(components, _PartialGaussian):
            components = _merge_gaussian(start.components, components)
        return MixtureParams(self.given.get("weights", start.weights), components)


class _Monitor:
    """scikit-learn's stopping rule and verbose output, as a callback of :func:`emkit.fit`.

    It stops a run at the first iteration whose *previous* change of the objective per unit
    weight was below ``tol``: EM then returns the parameters of one more M-step, as
    scikit-learn does.
    """

    def __init__(
        self,
        tol: float,
        total_weight: float,
        previous_bound: float,
        options: dict[str, Any],
        name: str,
    ) -> None:
        self.tol, self.total_weight, self.previous_bound = tol, total_weight, previous_bound
        self.verbose, self.interval = options["verbose"], options["verbose_interval"]
        self.name = name
        self.last_change: dict[int, float] = {}
        self.converged: dict[int, bool] = {}
        self.started = time.perf_counter()
        self.restart = -1

    def __call__(self, state: IterationState[Any]) -> bool:
        bound = state.objective / self.total_weight
        if state.iteration == 0:
            self._end_restart()
            self.restart = state.restart
            self.started = time.perf_counter()
            if self.verbose >= 1:
                print(f"Initialization {state.restart}", file=sys.stderr)
            change = bound - self.previous_bound
        else:
            change = state.change
            if self.verbose >= 2 and state.iteration % self.interval == 0:
                print(
                    f"  Iteration {state.iteration}\t time lapse "
                    f"{time.perf_counter() - self.started:.5f}s\t ll change {change:.5f}",
                    file=sys.stderr,
                )
        previous_change = self.last_change.get(state.restart)
        self.last_change[state.restart] = change
        if state.iteration >= 1 and previous_change is not None and abs(previous_change) < self.tol:
            self.converged[state.restart] = True
            if self.verbose >= 1:
                print(
                    f"Initialization converged after {state.iteration} iterations: "
                    f"lower bound {bound:.5f}",
                    file=sys.stderr,
                )
            return True
        return False

    def _end_restart(self) -> None:
        if self.restart >= 0 and self.verbose >= 1 and not self.converged.get(self.restart):
            print("Initialization did not converge.", file=sys.stderr)

    def finish(self) -> None:
        self._end_restart()


class GaussianMixture(MixtureEstimator):
    """Gaussian mixture fitted by EM, with scikit-learn's parameters and attributes.

    Parameters
    ----------
    n_components : int, default 1
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    tol : float, default 1e-3
        Convergence threshold on the change of the mean log-likelihood.
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default 100
    n_init : int, default 1
        Runs from different starts; the best final log-likelihood wins.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
    weights_init : array of shape (n_components,), optional
    means_init : array of shape (n_components, n_features), optional
    precisions_init : array, optional
        Shape (n_components, n_features, n_features) for full, (n_features, n_features) tied,
        (n_components, n_features) diag, (n_components,) spherical.
    random_state : None, int, numpy Generator or RandomState
    warm_start : bool, default False
        Start the next ``fit`` from this fit's parameters (one run).
    verbose : int, default 0
        1: one line per run; 2: also the change every ``verbose_interval`` iterations
        (printed to stderr).
    verbose_interval : int, default 10

    Attributes
    ----------
    weights_ : (n_components,)
    means_ : (n_components, n_features)
    covariances_, precisions_, precisions_cholesky_ : scikit-learn's shapes (as precisions_init)
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood of the training data at the fitted parameters.
    lower_bounds_ : array of shape (n_iter_,)
        That value after every iteration.
    n_features_in_ : int
    feature_names_in_ : array of str, only when fitted on a DataFrame with string column names
    result_ : emkit.FitResult
        The driver's result (model, parameters, history).
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    def _build_family(self) -> Gaussian:
        return Gaussian(self.covariance_type, self.reg_covar)

    def _start_params(self, model: FiniteMixture[Any, Any], n_features: int) -> dict[str, Any]:
        given: dict[str, Any] = {}
        k = model.n_components
        if self.weights_init is not None:
            given["weights"] = _check_weights_init(self.weights_init, k)
        means = None
        if self.means_init is not None:
            means = _check_shape(self.means_init, "means_init", (k, n_features))
        covariances = None
        if self.precisions_init is not None:
            covariances = _covariances_from_precisions(
                self.precisions_init, cast(Gaussian, model.family).covariance_type, k, n_features
            )
        if means is not None and covariances is not None:
            given["components"] = GaussianParams(means, covariances)
        elif means is not None or covariances is not None:
            given["components"] = _PartialGaussian(means, covariances)
        return given

    def _component_attributes(self, model: Any, components: GaussianParams) -> dict[str, Array]:
        covariances = components.covariances
        chol = components.precisions_cholesky
        kind = model.family.covariance_type
        if kind == "tied":
            # emkit keeps the shared matrix as a stack of one, (1, D, D); scikit-learn as (D, D).
            covariances, chol = covariances[0], chol[0]
        matrices = kind in ("full", "tied")
        precisions = chol @ np.swapaxes(chol, -1, -2) if matrices else chol**2
        return {
            "means_": components.means,
            "covariances_": covariances,
            "precisions_cholesky_": chol,
            "precisions_": precisions,
        }


class BernoulliMixture(MixtureEstimator):
    """Mixture of multivariate Bernoulli distributions for binary (0/1) data, fitted by EM.

    Parameters
    ----------
    n_components : int, default 1
    tol, max_iter, n_init, init_params, random_state, warm_start, verbose, verbose_interval
        As for :class:`GaussianMixture`.
    weights_init : array of shape (n_components,), optional
    means_init : array of shape (n_components, n_features), optional
        Starting probabilities of a 1, strictly inside (0, 1).
    pseudo_count : float, default 0.01
        Pseudo-observations of each outcome per feature and component (a Beta prior that
        keeps every probability strictly inside (0, 1)).
    weight_concentration : float, default 1.0
        Symmetric Dirichlet prior (>= 1) on the weights; 1 is none.

    Attributes
    ----------
    weights_ : (n_components,)
    means_ : (n_components, n_features)
        Probability of a 1 for every feature and component.
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_, feature_names_in_, result_
        As for :class:`GaussianMixture`; ``lower_bound_`` includes the priors' log-density per
        unit of weight.
    """

    _positive_only: ClassVar[bool] = True

    def __init__(
        self,
        n_components: int = 1,
        *,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        pseudo_count: float = 0.01,
        weight_concentration: float = 1.0,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
    ) -> None:
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.pseudo_count = pseudo_count
        self.weight_concentration = weight_concentration
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    def _build_family(self) -> Bernoulli:
        return Bernoulli(self.pseudo_count)

    def _weight_concentration(self) -> Any:
        return self.weight_concentration

    def _start_params(self, model: FiniteMixture[Any, Any], n_features: int) -> dict[str, Any]:
        return _canonical_start(self, model, n_features)

    def _component_attributes(self, model: Any, components: MeanParams) -> dict[str, Array]:
        return {"means_": components.mean}


class PoissonMixture(MixtureEstimator):
    """Mixture of independent Poisson distributions for count data, fitted by EM.

    Parameters
    ----------
    n_components : int, default 1
    tol, max_iter, n_init, init_params, random_state, warm_start, verbose, verbose_interval
        As for :class:`GaussianMixture`.
    weights_init : array of shape (n_components,), optional
    means_init : array of shape (n_components, n_features), optional
        Starting rates (>= 0).
    prior_strength : float, default 0.0
        Pseudo-observations of a conjugate Gamma prior on the rates (0: maximum likelihood).
    prior_rate : float, default 1.0
        Mean rate of those pseudo-observations.
    weight_concentration : float, default 1.0
        Symmetric Dirichlet prior (>= 1) on the weights; 1 is none.

    Attributes
    ----------
    weights_ : (n_components,)
    means_ : (n_components, n_features)
        The rates.
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_, feature_names_in_, result_
        As for :class:`BernoulliMixture`.
    """

    _positive_only: ClassVar[bool] = True

    def __init__(
        self,
        n_components: int = 1,
        *,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        prior_strength: float = 0.0,
        prior_rate: float = 1.0,
        weight_concentration: float = 1.0,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
    ) -> None:
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.prior_strength = prior_strength
        self.prior_rate = prior_rate
        self.weight_concentration = weight_concentration
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    def _build_family(self) -> Poisson:
        return Poisson(self.prior_strength, self.prior_rate)

    def _weight_concentration(self) -> Any:
        return self.weight_concentration

    def _start_params(self, model: FiniteMixture[Any, Any], n_features: int) -> dict[str, Any]:
        return _canonical_start(self, model, n_features)

    def _component_attributes(self, model: Any, components: MeanParams) -> dict[str, Array]:
        return {"means_": components.mean}


for _estimator in (GaussianMixture, BernoulliMixture, PoissonMixture):
    register_estimator(_estimator)


# -- helpers -----------------------------------------------------------------------------------
@attrs.frozen(eq=False)
class _PartialGaussian:
    """Means and/or covariances given by the user; the rest comes from the data."""

    means: Array | None
    covariances: Array | None


def _merge_gaussian(start: GaussianParams, given: _PartialGaussian) -> GaussianParams:
    return GaussianParams(
        start.means if given.means is None else given.means,
        start.covariances if given.covariances is None else given.covariances,
    )


def _canonical_start(
    estimator: Any, model: FiniteMixture[Any, Any], n_features: int
) -> dict[str, Any]:
    given: dict[str, Any] = {}
    k = model.n_components
    if estimator.weights_init is not None:
        given["weights"] = _check_weights_init(estimator.weights_init, k)
    if estimator.means_init is not None:
        means = _check_shape(estimator.means_init, "means_init", (k, n_features))
        try:
            cast(Any, model.family).check_mean(means)
        except ValueError as exc:
            raise ValueError(f"`means_init`: {exc}") from None
        given["components"] = MeanParams(means)
    return given


def _check_weights_init(value: Any, n_components: int) -> Array:
    weights = _check_shape(value, "weights_init", (n_components,))
    if (weights < 0).any() or (weights > 1).any():
        raise ValueError(f"`weights_init` must lie in [0, 1]; got {weights.tolist()}")
    total = float(weights.sum())
    if abs(total - 1.0) > WEIGHTS_INIT_ATOL:
        raise ValueError(f"`weights_init` must sum to 1; got {weights.tolist()} (sum {total!r})")
    return weights


def _check_shape(value: Any, name: str, shape: tuple[int, ...]) -> Array:
    arr = check_array(value, name, ndim=len(shape), dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"`{name}` must have shape {shape}; got {arr.shape}")
    return arr


def _covariances_from_precisions(
    value: Any, covariance_type: str, n_components: int, n_features: int
) -> Array:
    """Covariances in emkit's shapes from scikit-learn-shaped precisions (validated)."""
    k, d = n_components, n_features
    shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance_type]
    precisions = _check_shape(value, "precisions_init", shape)
    if covariance_type in ("diag", "spherical"):
        if (precisions <= 0).any():
            raise ValueError(
                f"`precisions_init` must be positive for covariance_type={covariance_type!r}; "
                f"found {float(precisions.min())}"
            )
        return 1.0 / precisions
    stack = precisions.reshape(-1, d, d)
    if not np.allclose(stack, np.swapaxes(stack, -1, -2)):
        raise ValueError("`precisions_init` must hold symmetric matrices")
    try:
        lower = cholesky(stack)
    except np.linalg.LinAlgError:
        raise ValueError("`precisions_init` must hold positive-definite matrices") from None
    # Sigma = P^-1 = L^-T L^-1 from the Cholesky factor P = L L^T, then symmetrised exactly.
    inverse_lower = np.linalg.inv(lower)
    covariances = np.swapaxes(inverse_lower, -1, -2) @ inverse_lower
    return np.asarray(0.5 * (covariances + np.swapaxes(covariances, -1, -2)))


def _check_nonnegative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {value!r}")
    result = float(value)
    if not np.isfinite(result) or result < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0; got {value!r}")
    return result


def _check_x(X: Any, estimator: MixtureEstimator) -> Array:
    """``X`` as a finite 2-D float array, with scikit-learn's wording for the common mistakes."""
    if scipy.sparse.issparse(X):
        raise TypeError(
            "`X` is a sparse matrix, and these estimators need dense input; use X.toarray()"
        )
    raw = X.to_numpy() if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray) else X
    try:
        arr = np.asarray(raw)
    except (TypeError, ValueError):
        return check_array(X, "X")  # its message explains what is not rectangular
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`X` must be numeric; converting it failed: {exc}") from None
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"`X` must be real: Complex data not supported; got dtype {arr.dtype}")
    if arr.ndim == 1:
        raise ValueError(
            f"`X` must be a 2-D array; got 1-D with shape {arr.shape}. Reshape your data with "
            "X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample"
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(
            f"`X` has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required."
        )
    if np.issubdtype(arr.dtype, np.number):
        finite = np.isfinite(arr)
        if not finite.all():
            row, column = (int(i) for i in np.argwhere(~finite)[0][:2])
            raise ValueError(
                f"`X` must not contain NaN or inf; found {arr[row, column]} at row {row}, "
                f"column {column}"
            )
        if estimator._positive_only and arr.ndim == 2 and (arr < 0).any():
            row, column = (int(i) for i in np.argwhere(arr < 0)[0])
            raise ValueError(
                f"Negative values in data passed to {type(estimator).__name__}: `X` must be "
                f"non-negative; found {arr[row, column]} at row {row}, column {column}"
            )
    return check_array(arr, "X")


def _check_weights(sample_weight: Any, n_samples: int) -> Array | None:
    """Validated ``sample_weight`` (float64, non-negative, positive sum) or None."""
    if sample_weight is None:
        return None
    weights = check_array(sample_weight, "sample_weight", ndim=1, dtype=np.float64)
    if weights.shape[0] == n_samples and not weights.any():
        raise ValueError(
            "`sample_weight` is zero for every row; at least one weight must be positive"
        )
    return check_sample_weight(weights, n_samples)


def _feature_names(X: Any) -> Array | None:
    """Column names of a DataFrame when all are strings (scikit-learn's rule), else None."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size == 0:
        return None
    types = sorted({type(name).__qualname__ for name in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, but "
            f"your input has {types} as feature name / column name types; convert them all to "
            "strings, e.g. X.columns = X.columns.astype(str)"
        )
    return names if types == ["str"] else None


def _check_feature_names(estimator: MixtureEstimator, X: Any) -> None:
    fitted = getattr(estimator, "feature_names_in_", None)
    given = _feature_names(X)
    name = type(estimator).__name__
    if fitted is None and given is None:
        return
    if fitted is None:
        warnings.warn(
            f"X has feature names, but {name} was fitted without feature names", stacklevel=3
        )
        return
    if given is None:
        warnings.warn(
            f"X does not have valid feature names, but {name} was fitted with feature names",
            stacklevel=3,
        )
        return
    if len(fitted) == len(given) and np.all(fitted == given):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(given) - set(fitted))
    missing = sorted(set(fitted) - set(given))
    if unexpected:
        message += "Feature names unseen at fit time:\n" + _list_names(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + _list_names(missing)
    if not unexpected and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def _list_names(names: list[str], limit: int = 5) -> str:
    shown = "".join(f"- {name}\n" for name in names[:limit])
    return shown + ("- ...\n" if len(names) > limit else "")


def _same_value(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return False
    try:
        return bool(type(value) is type(default) and value == default)
    except (TypeError, ValueError):
        return False
