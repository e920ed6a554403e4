"""hmmlearn's hidden Markov model estimators, on emkit's driver:
[`GaussianHMM`][emkit.estimators.hmm.GaussianHMM], [`PoissonHMM`][emkit.estimators.hmm.PoissonHMM],
[`CategoricalHMM`][emkit.estimators.hmm.CategoricalHMM] and
[`BernoulliHMM`][emkit.estimators.hmm.BernoulliHMM].

A hmmlearn user switches by changing the import: the constructor parameters have hmmlearn's
names, order and meanings, the fitted attributes (``startprob_``, ``transmat_``, ``means_``,
``covars_``, ``lambdas_``, ``emissionprob_``, ``monitor_``) hmmlearn's shapes, and ``fit``,
``score``, ``score_samples``, ``decode``, ``predict``, ``predict_proba``, ``sample``, ``bic``,
``aic`` and ``get_stationary_distribution`` hmmlearn's signatures. Each estimator builds a
[`HiddenMarkovModel`][emkit.hmm.model.HiddenMarkovModel] and fits it with
[`emkit.fit`][emkit.em.fit]; all the mathematics lives there.

Starting values and ``init_params``
    As in hmmlearn, the letters of ``init_params`` are initialised from the data, and every
    other parameter starts from the attribute the user set before ``fit`` (``startprob_``,
    ``transmat_``, ``means_``, ``covars_``, ...), used exactly; a parameter left out of
    ``init_params`` that was never set is initialised from the data too. From the same start
    the fit agrees with hmmlearn 0.3.3 iteration by iteration (tests/test_hmmlearn_agreement.py).

Stopping rule and ``monitor_``
    hmmlearn evaluates the log-likelihood in the E-step *before* each M-step and stops after
    M-step ``i`` once ``ll(theta_{i-1}) - ll(theta_{i-2}) < tol`` (a total over all frames, not
    per frame, and signed: a decrease stops it too). These estimators apply exactly that rule
    (a callback of [`emkit.fit`][emkit.em.fit]), so they take hmmlearn's number of iterations
    and return its parameters. ``monitor_.history`` holds those log-likelihoods, one per
    iteration, as hmmlearn's does.

Where hmmlearn is not followed
    * ``n_iter`` defaults to 100, not 10: ten Baum-Welch iterations rarely reach ``tol``.
    * Data-driven starts: ``startprob_`` and ``transmat_`` start uniform (hmmlearn draws them
      from a Dirichlet), emissions from emkit's k-means start on the frames (hmmlearn: k-means
      means for Gaussians, random rates for Poisson, random probabilities for categorical
      emissions). ``n_init`` (emkit's) runs several such starts and keeps the best.
    * ``decode(algorithm="map")`` returns ``log p(X)`` as its log-probability; hmmlearn 0.3.3
      returns the sum over frames of the largest posterior probability, which is no
      log-probability.
    * ``covars_`` of a spherical model is (n_components, n_features, n_features); hmmlearn's
      getter returns (n_components * n_features, ...) once the model has been fitted.
    * ``implementation`` is accepted and checked, but emkit has one forward-backward pass (log
      shifted, vectorised over sequences).
    * ``params`` must name all of a family's emission letters or none of them (``"stmc"``,
      ``"st"``, ``"mc"``, ...): emkit's model updates the emission parameters together.
    * ``monitor_`` is set by ``fit``; a replacement monitor assigned before ``fit`` is not used.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections import deque
from typing import Any, ClassVar

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_choice, check_int, check_missing_choice, check_random_state
from emkit.em import FitResult, IterationState, fit
from emkit.estimators.base import EstimatorParams, not_fitted_error
from emkit.estimators.inputs import check_feature_names, check_nonnegative, check_x
from emkit.exceptions import ConvergenceWarning
from emkit.families import Bernoulli, Categorical, Gaussian, GaussianParams, Poisson
from emkit.families.canonical import MeanParams
from emkit.hmm.model import DECODERS, HiddenMarkovModel, HMMParams
from emkit.mixture import FiniteMixture

__all__ = [
    "BernoulliHMM",
    "CategoricalHMM",
    "ConvergenceMonitor",
    "GaussianHMM",
    "HMMEstimator",
    "PoissonHMM",
]

IMPLEMENTATIONS = ("log", "scaling")
"""hmmlearn's ``implementation`` values (both run emkit's one forward-backward pass)."""

COVARIANCE_TYPES = ("spherical", "diag", "full", "tied")


class ConvergenceMonitor:
    """hmmlearn's ``ConvergenceMonitor``: the log-likelihood of every iteration of a fit.

    Attributes
    ----------
    tol : float
    n_iter : int
    verbose : bool
    history : deque of float
        ``log p(X | theta_{i-1})``, computed in the E-step of iteration ``i`` before its M-step
        (hmmlearn's meaning; without a prior the objective EM increases).
    iter : int
        Iterations (M-steps) taken.
    """

    def __init__(self, tol: float, n_iter: int, verbose: bool) -> None:
        self.tol, self.n_iter, self.verbose = tol, n_iter, verbose
        self.history: deque[float] = deque()
        self.iter = 0

    @property
    def converged(self) -> bool:
        """hmmlearn's test: ``n_iter`` iterations taken, or the last gain below ``tol``."""
        return self.iter == self.n_iter or (
            len(self.history) >= 2 and self.history[-1] - self.history[-2] < self.tol
        )

    def __repr__(self) -> str:
        fields = sorted(dict(vars(self), history=list(self.history)).items())
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in fields) + ")"


class _HMMLearnStopping:
    """hmmlearn's stopping rule as a callback of [`emkit.fit`][emkit.em.fit].

    At iteration ``i`` the callback has seen ``ll(theta_0) .. ll(theta_i)``; hmmlearn stops after
    M-step ``i`` when ``ll(theta_{i-1}) - ll(theta_{i-2}) < tol`` (it compares E-step values
    computed before its M-steps), so the run ends one M-step after the first small gain.
    """

    def __init__(self, tol: float, verbose: bool) -> None:
        self.tol, self.verbose = tol, verbose
        self.log_likelihoods: dict[int, list[float]] = {}
        self.converged: dict[int, bool] = {}

    def __call__(self, state: IterationState[Any]) -> bool:
        if state.iteration == 0:
            self.log_likelihoods[state.restart] = [state.log_likelihood]
            self.converged[state.restart] = False
            return False
        lls = self.log_likelihoods[state.restart]
        lls.append(state.log_likelihood)
        i = state.iteration
        gain = lls[i - 1] - lls[i - 2] if i >= 2 else math.nan
        if self.verbose:
            print(f"{i:>10d} {lls[i - 1]:>16.8f} {gain:>+16.8f}", file=sys.stderr)
        if i >= 2 and gain < self.tol:
            self.converged[state.restart] = True
            return True
        return False


def _check_lengths(lengths: Any, n_samples: int) -> Array | None:
    if lengths is None:
        return None
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"`lengths` must be a non-empty 1-D array of integer sequence sizes; got {lengths!r}"[
                :300
            ]
        )
    if (arr < 1).any():
        raise ValueError(
            f"`lengths` must hold sizes >= 1; found {int(arr.min())} at position "
            f"{int(np.argmin(arr))}"
        )
    if int(arr.sum()) != n_samples:
        raise ValueError(
            f"`lengths` must sum to the number of rows of X ({n_samples}); they sum to "
            f"{int(arr.sum())}"
        )
    return arr.astype(np.intp)


def _check_letters(value: Any, name: str, letters: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string of the letters {letters!r}; got {value!r}")
    unknown = sorted(set(value) - set(letters))
    if unknown:
        raise ValueError(
            f"`{name}` must be made of the letters {letters!r}; got {value!r} (unknown: "
            f"{''.join(unknown)!r})"
        )
    return value


class HMMEstimator(EstimatorParams):
    """Shared machinery of the hidden Markov model estimators (hmmlearn's conventions).

    Subclasses define ``__init__`` (keyword parameters stored as they are),
    ``_emission_letters``, ``_build_family``, ``_emission_from_attributes``,
    ``_emission_attributes`` and ``_data_emission``.
    """

    _emission_letters: ClassVar[str] = "e"
    _positive_only: ClassVar[bool] = False

    n_components: Any
    startprob_prior: Any
    transmat_prior: Any
    algorithm: Any
    random_state: Any
    n_iter: Any
    tol: Any
    verbose: Any
    params: Any
    init_params: Any
    implementation: Any
    n_init: Any
    missing: Any

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "startprob_")

    # -- to be supplied by each estimator ------------------------------------------------------
    def _build_family(self) -> Any:
        raise NotImplementedError

    def _emission_from_attributes(self, n_features: int | None) -> dict[str, Any]:
        """The emission attributes the user set: letter -> validated value (absent: not set)."""
        raise NotImplementedError

    def _emission_params(self, parts: dict[str, Any]) -> Any:
        """The family's parameters from one value per emission letter."""
        raise NotImplementedError

    def _emission_attributes(self, emission: Any) -> dict[str, Any]:
        """hmmlearn's emission attributes from the family's parameters."""
        raise NotImplementedError

    def _data_emission(
        self, model: HiddenMarkovModel[Any, Any], X: Array, rng: np.random.Generator
    ) -> dict[str, Any]:
        """Every emission letter's start from the data."""
        start = model.init_params(X, rng, "kmeans")
        return self._emission_parts(start.emission)

    def _emission_parts(self, emission: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _prepare_x(self, X: Any) -> Array:
        missing = check_missing_choice(self.missing)
        return check_x(X, type(self).__name__, self._positive_only, missing)

    # -- settings ------------------------------------------------------------------------------
    def _update(self) -> str:
        letters = "st" + self._emission_letters
        params = _check_letters(self.params, "params", letters)
        emission = set(params) & set(self._emission_letters)
        if emission and emission != set(self._emission_letters):
            raise ValueError(
                f"`params` must name all of the emission letters {self._emission_letters!r} "
                f"or none of them (emkit updates a family's emission parameters together, "
                f"e.g. {'st' + self._emission_letters!r} or 'st'); got {self.params!r}"
            )
        return "".join(
            code
            for code, letter in (("s", "s"), ("t", "t"), ("e", self._emission_letters[0]))
            if letter in params
        )

    def _options(self) -> dict[str, Any]:
        if not isinstance(self.verbose, bool | np.bool_ | int):
            raise TypeError(f"`verbose` must be True or False; got {self.verbose!r}")
        return {
            "n_iter": check_int(self.n_iter, "n_iter", minimum=0),
            "tol": _check_tol(self.tol),
            "n_init": check_int(self.n_init, "n_init", minimum=1),
            "init_params": _check_letters(
                self.init_params, "init_params", "st" + self._emission_letters
            ),
            "algorithm": check_choice(self.algorithm, "algorithm", DECODERS),
            "implementation": check_choice(self.implementation, "implementation", IMPLEMENTATIONS),
        }

    def build_model(self, fixed: HMMParams[Any] | None = None) -> HiddenMarkovModel[Any, Any]:
        """The [`HiddenMarkovModel`][emkit.hmm.model.HiddenMarkovModel] these parameters describe.

        Parameters
        ----------
        fixed : HMMParams, optional
            Values of the parameters that ``params`` leaves out; default: the current
            attributes (``startprob_``, ...), needed only when ``params`` leaves some out.

        Returns
        -------
        model : HiddenMarkovModel
        """
        update = self._update()
        if update != "ste" and fixed is None:
            fitted: FitResult[Any] | None = getattr(self, "result_", None)
            # After a fit, the values its model kept fixed; before one, the attributes.
            if fitted is not None and isinstance(fitted.model, HiddenMarkovModel):
                fixed = fitted.model.fixed
            else:
                fixed = self._attribute_params()
        return HiddenMarkovModel(
            self._build_family(),
            self.n_components,
            startprob_prior=self.startprob_prior,
            transmat_prior=self.transmat_prior,
            update=update,
            fixed=fixed if update != "ste" else None,
            missing=self.missing,
        )

    def validate_settings(self) -> None:
        """Check every constructor parameter (``ValueError``/``TypeError`` naming the bad one)."""
        self._update()
        HiddenMarkovModel(
            self._build_family(),
            self.n_components,
            startprob_prior=self.startprob_prior,
            transmat_prior=self.transmat_prior,
        )
        self._options()
        check_random_state(self.random_state)

    # -- parameters from attributes ------------------------------------------------------------
    def _given(self, n_features: int | None) -> dict[str, Any]:
        """Every parameter the user set as an attribute: letter -> value."""
        given: dict[str, Any] = {}
        if hasattr(self, "startprob_"):
            given["s"] = np.asarray(self.startprob_, dtype=np.float64)
        if hasattr(self, "transmat_"):
            given["t"] = np.asarray(self.transmat_, dtype=np.float64)
        given.update(self._emission_from_attributes(n_features))
        return given

    def _attribute_params(self) -> HMMParams[Any]:
        """HMMParams from the current attributes (fitted, loaded, or set by the user)."""
        if not hasattr(self, "startprob_"):
            raise not_fitted_error()(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        given = self._given(None)
        missing = [letter for letter in "st" + self._emission_letters if letter not in given]
        if missing:
            raise not_fitted_error()(
                f"{type(self).__name__} has startprob_ but not the parameters "
                f"{missing!r}; set them or call 'fit'"
            )
        return HMMParams(
            given["s"],
            given["t"],
            self._emission_params({k: given[k] for k in self._emission_letters}),
        )

    def _fitted(
        self, X: Any, lengths: Any
    ) -> tuple[HiddenMarkovModel[Any, Any], Any, Array, Array | None]:
        params = self._attribute_params()
        check_feature_names(getattr(self, "feature_names_in_", None), X, type(self).__name__)
        data = self._prepare_x(X)
        model = self.build_model(fixed=params)
        n_features = _n_features_of(params)
        if n_features is not None and data.shape[1] != n_features:
            raise ValueError(
                f"X has {data.shape[1]} features, but {type(self).__name__} is expecting "
                f"{n_features} features as input."
            )
        params = model.validate_params(params, data.shape[1])
        data = model.validate_data(data)
        return model, params, data, _check_lengths(lengths, data.shape[0])

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, X: Any, lengths: Any = None) -> HMMEstimator:
        """Estimate the parameters by Baum-Welch (EM), hmmlearn's ``fit``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            All sequences one after the other.
        lengths : int array-like of shape (n_sequences,), optional
            Their sizes, summing to n_samples; default one sequence.

        Returns
        -------
        self
        """
        options = self._options()
        data = self._prepare_x(X)
        lengths_arr = _check_lengths(lengths, data.shape[0])
        n_features = data.shape[1]
        self._update()  # the clear error on an unsupported `params` first
        probe = HiddenMarkovModel(self._build_family(), self.n_components, missing=self.missing)
        data = probe.validate_data(data)
        rng = check_random_state(self.random_state)
        init_letters = options["init_params"]
        given = {k: v for k, v in self._given(n_features).items() if k not in init_letters}
        letters = "st" + self._emission_letters
        update = self._update()
        fixed: HMMParams[Any] | None = None
        if update != "ste":
            # The parts EM leaves alone are one start for every run.
            fixed = self._start(probe, data, rng, given)
            for letter, value in (("s", fixed.startprob), ("t", fixed.transmat)):
                given[letter] = value
            if "e" not in update:
                given.update(self._emission_parts(fixed.emission))
        model = self.build_model(fixed=fixed)
        init: Any
        n_init = options["n_init"]
        if set(given) == set(letters):
            init = self._start(model, data, rng, given)
            n_init = 1  # every run would start, and end, in the same place
        else:

            def init(sample: Array, run_rng: np.random.Generator) -> HMMParams[Any]:
                # The whole array, not the driver's sample: hmmlearn starts from all frames.
                return self._start(model, data, run_rng, given)

        stopping = _HMMLearnStopping(options["tol"], bool(self.verbose))
        with warnings.catch_warnings():
            # The driver never meets its own tol (0); the warning below uses hmmlearn's rule.
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = fit(
                model,
                data,
                lengths=lengths_arr,
                init=init,
                n_init=n_init,
                max_iter=options["n_iter"],
                tol=0.0,
                random_state=rng,
                callbacks=(stopping,),
                order="auto" if not given else "start",
            )
        self.restore_fit(result, _feature_names(X))
        log_likelihoods = stopping.log_likelihoods[result.restart]
        converged = stopping.converged[result.restart]
        monitor = ConvergenceMonitor(options["tol"], options["n_iter"], bool(self.verbose))
        monitor.history.extend(log_likelihoods[: result.n_iter])
        monitor.iter = result.n_iter
        self.monitor_ = monitor
        self.converged_ = bool(converged)
        if not converged and options["n_iter"] > 0:
            warnings.warn(
                f"{type(self).__name__} did not converge in n_iter={options['n_iter']} "
                f"iterations (last gain {monitor.history[-1] - monitor.history[-2]:.3g} "
                f"with tol={options['tol']:g}); increase n_iter or tol"
                if len(monitor.history) >= 2
                else f"{type(self).__name__} stopped after n_iter={options['n_iter']} "
                "iteration(s) without a convergence test",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _start(
        self,
        model: HiddenMarkovModel[Any, Any],
        data: Array,
        rng: np.random.Generator,
        given: dict[str, Any],
    ) -> HMMParams[Any]:
        """hmmlearn's start: the given parameters, the rest from the data."""
        k = self.n_components
        parts = dict(given)
        missing_emission = [e for e in self._emission_letters if e not in parts]
        if missing_emission:
            from_data = self._data_emission(model, data, rng)
            parts.update({e: from_data[e] for e in missing_emission})
        startprob = parts.get("s", np.full(k, 1.0 / k))
        transmat = parts.get("t", np.full((k, k), 1.0 / k))
        emission = self._emission_params({e: parts[e] for e in self._emission_letters})
        return model.validate_params(HMMParams(startprob, transmat, emission), data.shape[1])

    def restore_fit(self, result: FitResult[Any], feature_names: Array | None = None) -> None:
        """Set every fitted attribute from a FitResult (used by ``fit`` and by ``emkit.load``).

        ``monitor_.history`` gets the objective before each M-step from ``result.history`` (the
        log-likelihood without a prior; ``fit`` then sets the exact log-likelihoods).
        """
        params = result.params
        if not isinstance(params, HMMParams):
            raise TypeError(
                f"an HMM estimator's result must hold HMMParams; got {type(params).__name__}"
            )
        self.result_ = result
        self.n_features_in_ = int(result.n_features)
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.startprob_ = np.asarray(params.startprob)
        self.transmat_ = np.asarray(params.transmat)
        for name, value in self._emission_attributes(params.emission).items():
            setattr(self, name, value)
        self.restarts_at_best_ = int(result.restarts_at_best)
        self.n_iter_ = int(result.n_iter)
        self.converged_ = bool(result.converged)
        n_iter = check_int(self.n_iter, "n_iter", minimum=0)
        monitor = ConvergenceMonitor(float(self.tol), n_iter, bool(self.verbose))
        monitor.history.extend(float(v) for v in np.asarray(result.history)[: result.n_iter])
        monitor.iter = int(result.n_iter)
        self.monitor_ = monitor

    def fitted_result(self) -> FitResult[Any]:
        """The driver's result of the last fit; ``NotFittedError`` before any fit."""
        result: FitResult[Any] | None = getattr(self, "result_", None)
        if result is None:
            raise not_fitted_error()(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        return result

    # -- using the model -----------------------------------------------------------------------
    def score_samples(self, X: Any, lengths: Any = None) -> tuple[float, Array]:
        """Log-likelihood of ``X`` and the state posteriors (hmmlearn's ``score_samples``).

        Returns
        -------
        log_prob : float
            ``sum_s log p(x_s)`` over the sequences.
        posteriors : array of shape (n_samples, n_components)
        """
        model, params, data, lengths_arr = self._fitted(X, lengths)
        log_prob = float(model.log_likelihood(data, params, lengths_arr).sum())
        return log_prob, model.responsibilities(data, params, lengths_arr)

    def score(self, X: Any, lengths: Any = None) -> float:
        """Total log-likelihood ``sum_s log p(x_s)`` of the sequences (as hmmlearn)."""
        model, params, data, lengths_arr = self._fitted(X, lengths)
        return float(model.log_likelihood(data, params, lengths_arr).sum())

    def decode(
        self, X: Any, lengths: Any = None, algorithm: str | None = None
    ) -> tuple[float, Array]:
        """The most probable states of every sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : int array-like of shape (n_sequences,), optional
        algorithm : {"viterbi", "map"}, optional
            Default: the estimator's ``algorithm``.

        Returns
        -------
        log_prob : float
            Viterbi: ``sum_s log p(x_s, path_s)``; MAP: ``log p(X)`` (see the module notes).
        state_sequence : int array of shape (n_samples,)
        """
        chosen = check_choice(algorithm or self.algorithm, "algorithm", DECODERS)
        model, params, data, lengths_arr = self._fitted(X, lengths)
        return model.decode(data, params, lengths_arr, chosen)

    def predict(self, X: Any, lengths: Any = None) -> Array:
        """States decoded with the estimator's ``algorithm``, shape (n_samples,)."""
        return self.decode(X, lengths)[1]

    def predict_proba(self, X: Any, lengths: Any = None) -> Array:
        """State posteriors ``p(z_t = k | x of its sequence)``, shape (n_samples, n_components)."""
        model, params, data, lengths_arr = self._fitted(X, lengths)
        return model.responsibilities(data, params, lengths_arr)

    def impute(self, X: Any, lengths: Any = None) -> Array:
        """``X`` with every missing entry (NaN) filled in from the state posteriors of its
        sequence, ``sum_k p(z_t = k | x) E[x_miss | x_obs, z_t = k]`` (a categorical symbol
        gets its most probable value). Needs ``missing="marginalise"``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths : int array-like of shape (n_sequences,), optional

        Returns
        -------
        X_imputed : array of shape (n_samples, n_features)
        """
        if self.missing != "marginalise":
            raise ValueError(
                f"impute needs missing='marginalise'; this {type(self).__name__} has "
                f"missing={self.missing!r} (set it with set_params(missing='marginalise'))"
            )
        model, params, data, lengths_arr = self._fitted(X, lengths)
        return model.impute(data, params, lengths_arr)

    def _n_parameters(self, n_features: int) -> int:
        return int(self.build_model(fixed=self._attribute_params()).n_parameters(n_features))

    def bic(self, X: Any, lengths: Any = None) -> float:
        """``-2 log p(X) + p log n_samples`` (frames, not sequences; lower is better)."""
        model, params, data, lengths_arr = self._fitted(X, lengths)
        log_prob = float(model.log_likelihood(data, params, lengths_arr).sum())
        n_params = model.n_parameters(data.shape[1])
        return -2.0 * log_prob + n_params * float(np.log(data.shape[0]))

    def aic(self, X: Any, lengths: Any = None) -> float:
        """``-2 log p(X) + 2 p`` (lower is better)."""
        model, params, data, lengths_arr = self._fitted(X, lengths)
        log_prob = float(model.log_likelihood(data, params, lengths_arr).sum())
        return -2.0 * log_prob + 2.0 * model.n_parameters(data.shape[1])

    def get_stationary_distribution(self) -> Array:
        """The long-run share of time in each state, shape (n_components,)."""
        params = self._attribute_params()
        return self.build_model(fixed=params).component_weights(params)

    def sample(
        self, n_samples: int = 1, random_state: Any = None, currstate: int | None = None
    ) -> tuple[Array, Array]:
        """Draw one sequence of ``n_samples`` frames (hmmlearn's ``sample``).

        Parameters
        ----------
        n_samples : int, default 1
        random_state : None, int, numpy Generator or RandomState, optional
            Default: the estimator's ``random_state``.
        currstate : int, optional
            The state of the first frame (default: drawn from ``startprob_``).

        Returns
        -------
        X : array of shape (n_samples, n_features)
        state_sequence : int array of shape (n_samples,)
        """
        params = self._attribute_params()
        model = self.build_model(fixed=params)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        if currstate is not None:
            state = check_int(currstate, "currstate", minimum=0)
            if state >= self.n_components:
                raise ValueError(
                    f"`currstate` must be a state in 0..{self.n_components - 1}; got {state}"
                )
            params = attrs.evolve(params, startprob=np.eye(self.n_components)[state])
        X, states = model.sample(params, n_samples, rng)
        return self._sample_output(X), np.asarray(states, dtype=int)

    def _sample_output(self, X: Array) -> Array:
        return X


def _check_tol(value: Any) -> float:
    return check_nonnegative(value, "tol")


def _feature_names(X: Any) -> Array | None:
    from emkit.estimators.inputs import feature_names

    return feature_names(X)


def _n_features_of(params: HMMParams[Any]) -> int | None:
    emission = params.emission
    if isinstance(emission, GaussianParams):
        return int(np.shape(emission.means)[1])
    return None


# -- Gaussian ----------------------------------------------------------------------------------
def _full_covariances(covars: Array, covariance_type: str, k: int, d: int) -> Array:
    """hmmlearn's ``covars_`` getter: (K, D, D) for every covariance type."""
    if covariance_type == "full":
        return covars
    if covariance_type == "diag":
        return covars[:, :, None] * np.eye(d)
    if covariance_type == "tied":
        return np.broadcast_to(covars, (k, d, d)).copy()
    return covars[:, None, None] * np.eye(d)


def _check_covars(value: Any, covariance_type: str, k: int, d: int | None) -> Array:
    """A user's ``covars_`` in hmmlearn's shape for the type, validated."""
    covars = np.array(value, dtype=np.float64)
    ndim = {"spherical": 1, "diag": 2, "full": 3, "tied": 2}[covariance_type]
    shape = {
        "spherical": (k,),
        "diag": (k, d),
        "full": (k, d, d),
        "tied": (d, d),
    }[covariance_type]
    if covars.ndim != ndim or any(
        want is not None and got != want for got, want in zip(covars.shape, shape, strict=True)
    ):
        raise ValueError(
            f"`covars_` must have shape {shape} for covariance_type={covariance_type!r} "
            f"(n_components, n_features); got {covars.shape}"
        )
    if not np.isfinite(covars).all():
        raise ValueError("`covars_` must be finite")
    if covariance_type in ("spherical", "diag"):
        if (covars <= 0).any():
            raise ValueError(
                f"`covars_` must be positive for covariance_type={covariance_type!r}; found "
                f"{float(covars.min())}"
            )
    elif covariance_type == "tied" and covars.shape[0] != covars.shape[1]:
        raise ValueError(f"`covars_` must be square for covariance_type='tied'; got {covars.shape}")
    return covars


class GaussianHMM(HMMEstimator):
    """Hidden Markov model with Gaussian emissions: hmmlearn's ``GaussianHMM`` on emkit.

    Parameters
    ----------
    n_components : int, default 1
        Number of states.
    covariance_type : {"spherical", "diag", "full", "tied"}, default "diag"
    min_covar : float, default 1e-3
        Added to the diagonal of the data covariance that starts ``covars_`` (hmmlearn uses it
        only there, not in the M-step).
    startprob_prior, transmat_prior : float or array, default 1.0
        Dirichlet concentrations for ``startprob_`` (n_components,) and each row of
        ``transmat_`` (n_components, n_components); 1 is no prior. emkit needs values >= 1.
    means_prior, means_weight, covars_prior, covars_weight : float or array
        hmmlearn's prior on the means (normal, weight ``means_weight``) and covariances
        (inverse gamma for diag/spherical, inverse Wishart for full/tied), with hmmlearn's MAP
        formulas; defaults 0, 0, 1e-2, 1 as hmmlearn (a small floor on the variances).
    algorithm : {"viterbi", "map"}, default "viterbi"
        Decoder of ``decode`` and ``predict``.
    random_state : None, int, numpy Generator or RandomState
    n_iter : int, default 100
        Maximum number of iterations. **hmmlearn's default is 10**, which rarely reaches
        ``tol``; 100 lets EM converge.
    tol : float, default 1e-2
        Stop when the log-likelihood (total over all frames) gains less than this.
    verbose : bool, default False
        Print every iteration's log-likelihood and gain (hmmlearn's format) to stderr.
    params, init_params : str, default "stmc"
        Letters of the parameters updated by EM / initialised from the data: ``s`` startprob,
        ``t`` transmat, ``m`` means, ``c`` covars. ``params`` holds both ``m`` and ``c`` or
        neither.
    implementation : {"log", "scaling"}, default "log"
        Accepted for compatibility; emkit has one forward-backward pass.
    n_init : int, default 1
        emkit's restarts from different data-driven starts; the best final objective wins.
    missing : {"error", "marginalise"}, default "error"
        What a NaN in ``X`` is: a mistake (refused) or a value missing at random, integrated out
        of the emission density (a frame missing entirely has emission probability 1: the chain
        moves through it); ``impute`` fills missing entries from the state posteriors.

    Attributes
    ----------
    startprob_ : (n_components,)
    transmat_ : (n_components, n_components)
    means_ : (n_components, n_features)
    covars_ : (n_components, n_features, n_features)
        Full matrices for every covariance type (hmmlearn's getter); assign the type's own
        shape: (n_components,) spherical, (n_components, n_features) diag,
        (n_components, n_features, n_features) full, (n_features, n_features) tied.
    monitor_ : ConvergenceMonitor
    converged_ : bool
        Whether ``tol`` was met (hmmlearn's ``monitor_.converged`` is also True at ``n_iter``).
    n_iter_ : int
    n_features, n_features_in_ : int
    result_ : emkit.FitResult
    restarts_at_best_ : int

    Notes
    -----
    The module ``emkit.estimators.hmm`` lists where this class departs from hmmlearn (the
    start from data, ``decode(algorithm="map")``'s log-probability, spherical ``covars_``).
    """

    _emission_letters: ClassVar[str] = "mc"

    def __init__(
        self,
        n_components: int = 1,
        covariance_type: str = "diag",
        min_covar: float = 1e-3,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        means_prior: Any = 0,
        means_weight: Any = 0,
        covars_prior: Any = 1e-2,
        covars_weight: Any = 1,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 100,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "stmc",
        init_params: str = "stmc",
        implementation: str = "log",
        n_init: int = 1,
        missing: str = "error",
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.n_init = n_init
        self.missing = missing

    @property
    def covars_(self) -> Array:
        """Covariances as full matrices (n_components, n_features, n_features)."""
        try:
            covars = self.__dict__["_covars_"]
        except KeyError:
            raise AttributeError("covars_") from None
        k = int(self.n_components)
        means = getattr(self, "means_", None)
        d = (
            int(np.shape(means)[1])
            if means is not None
            else int(covars.shape[-1] if covars.ndim > 1 else 1)
        )
        return _full_covariances(covars, self.covariance_type, k, d)

    @covars_.setter
    def covars_(self, value: Any) -> None:
        covariance_type = check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        self._covars_ = _check_covars(value, covariance_type, int(self.n_components), None)

    def _prior_keywords(self) -> dict[str, Any]:
        return {
            "mean_prior": self.means_prior,
            "mean_weight": self.means_weight,
            "covariance_prior": self.covars_prior,
            "covariance_weight": self.covars_weight,
        }

    def _build_family(self) -> Gaussian:
        covariance_type = check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        check_nonnegative(self.min_covar, "min_covar")
        # hmmlearn adds nothing to the covariances in its M-step; its prior does the
        # regularising, so emkit's reg_covar is 0.
        return Gaussian(covariance_type, 0.0, **self._prior_keywords())

    def _emission_from_attributes(self, n_features: int | None) -> dict[str, Any]:
        given: dict[str, Any] = {}
        k = int(self.n_components)
        if hasattr(self, "means_"):
            means = np.asarray(self.means_, dtype=np.float64)
            if (
                means.ndim != 2
                or means.shape[0] != k
                or (n_features is not None and means.shape[1] != n_features)
            ):
                raise ValueError(
                    f"`means_` must have shape (n_components, n_features) = ({k}, "
                    f"{n_features if n_features is not None else 'n_features'}); got "
                    f"{means.shape}"
                )
            given["m"] = means
            n_features = means.shape[1]
        if "_covars_" in self.__dict__:
            covariance_type = check_choice(
                self.covariance_type, "covariance_type", COVARIANCE_TYPES
            )
            given["c"] = _check_covars(self._covars_, covariance_type, k, n_features)
        return given

    def _emission_params(self, parts: dict[str, Any]) -> GaussianParams:
        covars = parts["c"]
        if self.covariance_type == "tied":
            covars = covars[None]
        try:
            return GaussianParams(parts["m"], covars)
        except (ValueError, np.linalg.LinAlgError):
            raise ValueError(
                "`covars_` must hold symmetric positive-definite matrices for "
                f"covariance_type={self.covariance_type!r}"
            ) from None

    def _emission_parts(self, emission: GaussianParams) -> dict[str, Any]:
        covars = np.asarray(emission.covariances)
        return {
            "m": np.asarray(emission.means),
            "c": covars[0] if self.covariance_type == "tied" else covars,
        }

    def _emission_attributes(self, emission: GaussianParams) -> dict[str, Any]:
        parts = self._emission_parts(emission)
        self.n_features = int(parts["m"].shape[1])
        return {"means_": parts["m"], "_covars_": parts["c"]}

    def _data_emission(
        self, model: HiddenMarkovModel[Any, Any], X: Array, rng: np.random.Generator
    ) -> dict[str, Any]:
        k, d = int(self.n_components), X.shape[1]
        # Means: emkit's k-means start (the covariances of that start are not used, so a
        # small reg_covar only keeps a one-point cluster from failing).
        mixture = FiniteMixture(Gaussian(self.covariance_type, 1e-6), k)
        means = mixture.init_params(X, rng, "kmeans").components.means
        # Covariances: hmmlearn's start, the covariance of all frames plus min_covar on the
        # diagonal, shared by every state (spherical: the mean of all its entries, as hmmlearn).
        frames = np.asarray(X, dtype=np.float64)
        if np.isnan(frames).any():
            # Missing entries at their column's mean: a positive definite start (it shrinks
            # the variances a little; EM's exact treatment of the missing values follows).
            frames = np.where(np.isnan(frames), np.nanmean(frames, axis=0), frames)
        cv = np.atleast_2d(np.cov(frames.T)) + float(self.min_covar) * np.eye(d)
        covars = {
            "spherical": np.full(k, cv.mean()),
            "diag": np.tile(np.diag(cv), (k, 1)),
            "full": np.tile(cv, (k, 1, 1)),
            "tied": cv,
        }[self.covariance_type]
        return {"m": np.asarray(means, dtype=np.float64), "c": covars}


# -- Poisson -----------------------------------------------------------------------------------
class PoissonHMM(HMMEstimator):
    """Hidden Markov model with Poisson emissions: hmmlearn's ``PoissonHMM`` on emkit.

    Parameters
    ----------
    n_components : int, default 1
    startprob_prior, transmat_prior : float or array, default 1.0
        Dirichlet concentrations (>= 1; 1 is no prior).
    lambdas_prior, lambdas_weight : float, default 0.0
        A Gamma(alpha, beta) prior on every rate, alpha = ``lambdas_prior``,
        beta = ``lambdas_weight``: the M-step is ``(alpha + sum_t gamma_tk x_t) / (beta + n_k)``
        with ``n_k`` the expected frames in state k (the textbook conjugate update; hmmlearn
        0.3.3 weighs by the total number of frames instead, so with a prior the two differ).
        0 and 0 is maximum likelihood (hmmlearn's default).
    algorithm : {"viterbi", "map"}, default "viterbi"
    random_state : None, int, numpy Generator or RandomState
    n_iter : int, default 100
        hmmlearn's default is 10 (too few to converge).
    tol : float, default 1e-2
        On the total log-likelihood gain.
    verbose : bool, default False
    params, init_params : str, default "stl"
        ``s`` startprob, ``t`` transmat, ``l`` lambdas.
    implementation : {"log", "scaling"}, default "log"
    n_init : int, default 1
    missing : {"error", "marginalise"}, default "error"
        As for [`GaussianHMM`][emkit.estimators.GaussianHMM].

    Attributes
    ----------
    startprob_, transmat_, lambdas_ : (n_components,), (n_components, n_components),
        (n_components, n_features)
    monitor_, converged_, n_iter_, n_features, n_features_in_, result_, restarts_at_best_
    """

    _emission_letters: ClassVar[str] = "l"
    _positive_only: ClassVar[bool] = True

    def __init__(
        self,
        n_components: int = 1,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        lambdas_prior: Any = 0.0,
        lambdas_weight: Any = 0.0,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 100,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "stl",
        init_params: str = "stl",
        implementation: str = "log",
        n_init: int = 1,
        missing: str = "error",
    ) -> None:
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.n_init = n_init
        self.missing = missing

    def _build_family(self) -> Poisson:
        for name, value in (
            ("lambdas_prior", self.lambdas_prior),
            ("lambdas_weight", self.lambdas_weight),
        ):
            if np.ndim(value) != 0:
                raise ValueError(
                    f"`{name}` must be one number for every state and feature (emkit's Poisson "
                    f"prior is shared); got shape {np.shape(value)}"
                )
        alpha = check_nonnegative(self.lambdas_prior, "lambdas_prior")
        beta = check_nonnegative(self.lambdas_weight, "lambdas_weight")
        if beta == 0.0:
            if alpha != 0.0:
                raise ValueError(
                    "`lambdas_prior` must be 0 when `lambdas_weight` is 0 (a Gamma prior needs "
                    f"a positive rate weight); got lambdas_prior={self.lambdas_prior!r}"
                )
            return Poisson()
        # (alpha + S_k) / (beta + n_k) is emkit's (S_k + strength * rate) / (n_k + strength).
        return Poisson(prior_strength=beta, prior_rate=alpha / beta)

    def _emission_from_attributes(self, n_features: int | None) -> dict[str, Any]:
        if not hasattr(self, "lambdas_"):
            return {}
        lambdas = np.atleast_2d(np.asarray(self.lambdas_, dtype=np.float64))
        k = int(self.n_components)
        if (
            lambdas.ndim != 2
            or lambdas.shape[0] != k
            or (n_features is not None and lambdas.shape[1] != n_features)
        ):
            raise ValueError(
                f"`lambdas_` must have shape (n_components, n_features) = ({k}, "
                f"{n_features if n_features is not None else 'n_features'}); got "
                f"{lambdas.shape}"
            )
        if not np.isfinite(lambdas).all() or (lambdas < 0).any():
            raise ValueError(f"`lambdas_` must be finite rates >= 0; got {lambdas.tolist()}")
        return {"l": lambdas}

    def _emission_params(self, parts: dict[str, Any]) -> MeanParams:
        return MeanParams(parts["l"])

    def _emission_parts(self, emission: MeanParams) -> dict[str, Any]:
        return {"l": np.asarray(emission.mean)}

    def _emission_attributes(self, emission: MeanParams) -> dict[str, Any]:
        self.n_features = int(np.shape(emission.mean)[1])
        return {"lambdas_": np.asarray(emission.mean)}


# -- Categorical and Bernoulli -----------------------------------------------------------------
def _check_emissionprob_prior(value: Any) -> float:
    if np.ndim(value) != 0:
        raise ValueError(
            "`emissionprob_prior` must be one Dirichlet concentration for every state and "
            f"symbol (emkit's prior is symmetric); got shape {np.shape(value)}"
        )
    alpha = check_nonnegative(value, "emissionprob_prior")
    if alpha <= 1.0:
        raise ValueError(
            "`emissionprob_prior` must be > 1: emkit keeps every emission probability positive "
            f"with a pseudo-count of emissionprob_prior - 1 (e.g. 1.01); got {value!r}"
        )
    return alpha


def _check_probabilities(value: Any, name: str, shape: tuple[int | None, ...]) -> Array:
    probs = np.atleast_2d(np.asarray(value, dtype=np.float64))
    if probs.ndim != 2 or any(
        want is not None and got != want for got, want in zip(probs.shape, shape, strict=True)
    ):
        raise ValueError(f"`{name}` must have shape {shape}; got {probs.shape}")
    if not np.isfinite(probs).all() or (probs < 0).any() or (probs > 1).any():
        raise ValueError(f"`{name}` must hold probabilities in [0, 1]; got {probs.tolist()}")
    return probs


class CategoricalHMM(HMMEstimator):
    """Hidden Markov model with categorical emissions: hmmlearn's ``CategoricalHMM`` on emkit.

    ``X`` has shape (n_samples, 1): integer symbols ``0 .. n_features - 1``.

    Parameters
    ----------
    n_components : int, default 1
    startprob_prior, transmat_prior : float or array, default 1.0
    emissionprob_prior : float, default 1.01
        Symmetric Dirichlet concentration on every state's symbol probabilities; the M-step is
        ``p_kl ∝ counts_kl + emissionprob_prior - 1``. **hmmlearn's default is 1.0** (maximum
        likelihood), which gives a symbol never seen in a state probability 0 and any new
        sequence containing it likelihood 0; emkit needs a value > 1.
    n_features : int, optional
        Number of symbols; when None, the first ``fit`` sets it as hmmlearn does (the largest
        symbol plus 1, at least 2).
    algorithm, random_state, n_iter (default 100, hmmlearn 10), tol, verbose
    params, init_params : str, default "ste"
        ``s`` startprob, ``t`` transmat, ``e`` emissionprob.
    implementation : {"log", "scaling"}, default "log"
    n_init : int, default 1
    missing : {"error", "marginalise"}, default "error"
        As for [`GaussianHMM`][emkit.estimators.GaussianHMM].

    Attributes
    ----------
    startprob_, transmat_, emissionprob_ : (n_components,), (n_components, n_components),
        (n_components, n_symbols)
    monitor_, converged_, n_iter_, n_features_in_ (1), result_, restarts_at_best_
    """

    _emission_letters: ClassVar[str] = "e"
    _positive_only: ClassVar[bool] = True

    def __init__(
        self,
        n_components: int = 1,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        *,
        emissionprob_prior: Any = 1.01,
        n_features: int | None = None,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 100,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "ste",
        init_params: str = "ste",
        implementation: str = "log",
        n_init: int = 1,
        missing: str = "error",
    ) -> None:
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.emissionprob_prior = emissionprob_prior
        self.n_features = n_features
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.n_init = n_init
        self.missing = missing

    def _n_symbols(self) -> int:
        if self.n_features is not None:
            return check_int(self.n_features, "n_features", minimum=2)
        if hasattr(self, "emissionprob_"):
            return int(np.shape(self.emissionprob_)[-1])
        raise ValueError(
            "`n_features` (the number of symbols) is unknown before fit; set it or call fit"
        )

    def _build_family(self) -> Categorical:
        alpha = _check_emissionprob_prior(self.emissionprob_prior)
        n_symbols = self._n_symbols()
        # p_kl = (counts + c / L) / (n_k + c): the Dirichlet MAP with alpha - 1 = c / L.
        return Categorical(n_symbols, pseudo_count=(alpha - 1.0) * n_symbols)

    def _prepare_x(self, X: Any) -> Array:
        missing = check_missing_choice(self.missing)
        data = check_x(X, type(self).__name__, True, missing)
        if data.shape[1] != 1:
            raise ValueError(
                f"`X` of a CategoricalHMM must have shape (n_samples, 1) (one symbol per "
                f"frame); got {data.shape}"
            )
        observed = data[~np.isnan(data)]
        if (observed != np.round(observed)).any():
            raise ValueError("`X` of a CategoricalHMM must hold integer symbols")
        return data

    def fit(self, X: Any, lengths: Any = None) -> CategoricalHMM:
        """Estimate the parameters by Baum-Welch; ``X`` holds integer symbols, (n_samples, 1).

        As hmmlearn, a first ``fit`` without ``n_features`` sets it: from the user's
        ``emissionprob_`` when EM starts from it, else the largest symbol plus 1 (at least 2).
        """
        if self.n_features is None:
            if "e" not in str(self.init_params) and hasattr(self, "emissionprob_"):
                self.n_features = int(np.shape(self.emissionprob_)[-1])
            else:
                self.n_features = max(int(np.nanmax(self._prepare_x(X))) + 1, 2)
        super().fit(X, lengths)
        return self

    def _emission_from_attributes(self, n_features: int | None) -> dict[str, Any]:
        if not hasattr(self, "emissionprob_"):
            return {}
        k = int(self.n_components)
        probs = _check_probabilities(self.emissionprob_, "emissionprob_", (k, None))
        return {"e": probs}

    def _emission_params(self, parts: dict[str, Any]) -> MeanParams:
        return MeanParams(parts["e"])

    def _emission_parts(self, emission: MeanParams) -> dict[str, Any]:
        return {"e": np.asarray(emission.mean)}

    def _emission_attributes(self, emission: MeanParams) -> dict[str, Any]:
        return {"emissionprob_": np.asarray(emission.mean)}

    def _sample_output(self, X: Array) -> Array:
        return np.asarray(X).astype(int)


class BernoulliHMM(HMMEstimator):
    """Hidden Markov model with independent Bernoulli features per state.

    hmmlearn 0.3.3 has no such class (its ``MultinomialHMM`` counts outcomes of several trials);
    this one follows ``CategoricalHMM``'s conventions: ``X`` holds 0/1 features,
    ``emissionprob_[k, d]`` is the probability of a 1 in feature ``d`` in state ``k``.

    Parameters
    ----------
    n_components : int, default 1
    startprob_prior, transmat_prior : float or array, default 1.0
    emissionprob_prior : float, default 1.01
        Beta(a, a) concentration on every probability: ``p = (S + a - 1) / (n_k + 2 (a - 1))``;
        must be > 1 so that no probability is exactly 0 or 1.
    algorithm, random_state, n_iter (default 100), tol (default 1e-2), verbose
    params, init_params : str, default "ste"
    implementation : {"log", "scaling"}, default "log"
    n_init : int, default 1
    missing : {"error", "marginalise"}, default "error"
        As for [`GaussianHMM`][emkit.estimators.GaussianHMM].

    Attributes
    ----------
    startprob_, transmat_, emissionprob_ : (n_components,), (n_components, n_components),
        (n_components, n_features)
    monitor_, converged_, n_iter_, n_features, n_features_in_, result_, restarts_at_best_
    """

    _emission_letters: ClassVar[str] = "e"
    _positive_only: ClassVar[bool] = True

    def __init__(
        self,
        n_components: int = 1,
        startprob_prior: Any = 1.0,
        transmat_prior: Any = 1.0,
        emissionprob_prior: Any = 1.01,
        algorithm: str = "viterbi",
        random_state: Any = None,
        n_iter: int = 100,
        tol: float = 1e-2,
        verbose: bool = False,
        params: str = "ste",
        init_params: str = "ste",
        implementation: str = "log",
        n_init: int = 1,
        missing: str = "error",
    ) -> None:
        self.n_components = n_components
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.emissionprob_prior = emissionprob_prior
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params
        self.implementation = implementation
        self.n_init = n_init
        self.missing = missing

    def _build_family(self) -> Bernoulli:
        alpha = _check_emissionprob_prior(self.emissionprob_prior)
        return Bernoulli(pseudo_count=alpha - 1.0)

    def _emission_from_attributes(self, n_features: int | None) -> dict[str, Any]:
        if not hasattr(self, "emissionprob_"):
            return {}
        k = int(self.n_components)
        return {"e": _check_probabilities(self.emissionprob_, "emissionprob_", (k, n_features))}

    def _emission_params(self, parts: dict[str, Any]) -> MeanParams:
        return MeanParams(parts["e"])

    def _emission_parts(self, emission: MeanParams) -> dict[str, Any]:
        return {"e": np.asarray(emission.mean)}

    def _emission_attributes(self, emission: MeanParams) -> dict[str, Any]:
        self.n_features = int(np.shape(emission.mean)[1])
        return {"emissionprob_": np.asarray(emission.mean)}
