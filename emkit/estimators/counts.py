"""Mixtures for binary and count data: [`BernoulliMixture`][emkit.estimators.BernoulliMixture],
[`PoissonMixture`][emkit.estimators.PoissonMixture]."""

from __future__ import annotations

from typing import Any, ClassVar

from emkit._backend import Array
from emkit.estimators.base import MixtureEstimator
from emkit.estimators.inputs import check_shape, check_weights_init
from emkit.families import Bernoulli, CanonicalFamily, MeanParams, Poisson
from emkit.mixture import FiniteMixture

__all__ = ["BernoulliMixture", "PoissonMixture", "canonical_start"]


class BernoulliMixture(MixtureEstimator):
    """Mixture of multivariate Bernoulli distributions for binary (0/1) data, fitted by EM.

    Parameters
    ----------
    n_components : int, default 1
    tol, max_iter, n_init, init_params, random_state, warm_start, verbose, verbose_interval
        As for [`GaussianMixture`][emkit.estimators.GaussianMixture].
    weights_init : array of shape (n_components,), optional
    means_init : array of shape (n_components, n_features), optional
        Starting probabilities of a 1, strictly inside (0, 1).
    pseudo_count : float, default 0.01
        Pseudo-observations of each outcome per feature and component (a Beta prior that
        keeps every probability strictly inside (0, 1)).
    weight_concentration : float, default 1.0
        Symmetric Dirichlet prior (>= 1) on the weights; 1 is none.
    missing : {"error", "marginalise"}, default "error"
        What a NaN in ``X`` is: a mistake (refused) or a value missing at random, integrated
        out exactly (as for [`GaussianMixture`][emkit.estimators.GaussianMixture]).

    Attributes
    ----------
    weights_ : (n_components,)
    means_ : (n_components, n_features)
        Probability of a 1 for every feature and component.
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_, feature_names_in_, result_
        As for [`GaussianMixture`][emkit.estimators.GaussianMixture]; ``lower_bound_`` includes the
        priors' log-density per unit of weight.
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
        missing: str = "error",
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
        self.missing = missing

    def _build_family(self) -> Bernoulli:
        return Bernoulli(self.pseudo_count)

    def _weight_concentration(self) -> Any:
        return self.weight_concentration

    def _start_params(self, model: FiniteMixture[Any, Any], n_features: int) -> dict[str, Any]:
        return canonical_start(self.weights_init, self.means_init, model, n_features)

    def _component_attributes(
        self, model: FiniteMixture[Any, Any], components: MeanParams
    ) -> dict[str, Array]:
        return {"means_": components.mean}


class PoissonMixture(MixtureEstimator):
    """Mixture of independent Poisson distributions for count data, fitted by EM.

    Parameters
    ----------
    n_components : int, default 1
    tol, max_iter, n_init, init_params, random_state, warm_start, verbose, verbose_interval
        As for [`GaussianMixture`][emkit.estimators.GaussianMixture].
    weights_init : array of shape (n_components,), optional
    means_init : array of shape (n_components, n_features), optional
        Starting rates (>= 0).
    prior_strength : float, default 0.0
        Pseudo-observations of a conjugate Gamma prior on the rates (0: maximum likelihood).
    prior_rate : float, default 1.0
        Mean rate of those pseudo-observations.
    weight_concentration : float, default 1.0
        Symmetric Dirichlet prior (>= 1) on the weights; 1 is none.
    missing : {"error", "marginalise"}, default "error"
        What a NaN in ``X`` is: a mistake (refused) or a value missing at random, integrated
        out exactly (as for [`GaussianMixture`][emkit.estimators.GaussianMixture]).

    Attributes
    ----------
    weights_ : (n_components,)
    means_ : (n_components, n_features)
        The rates.
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_, feature_names_in_, result_
        As for [`BernoulliMixture`][emkit.estimators.BernoulliMixture].
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
        missing: str = "error",
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
        self.missing = missing

    def _build_family(self) -> Poisson:
        return Poisson(self.prior_strength, self.prior_rate)

    def _weight_concentration(self) -> Any:
        return self.weight_concentration

    def _start_params(self, model: FiniteMixture[Any, Any], n_features: int) -> dict[str, Any]:
        return canonical_start(self.weights_init, self.means_init, model, n_features)

    def _component_attributes(
        self, model: FiniteMixture[Any, Any], components: MeanParams
    ) -> dict[str, Array]:
        return {"means_": components.mean}


def canonical_start(
    weights_init: Any, means_init: Any, model: FiniteMixture[Any, Any], n_features: int
) -> dict[str, Any]:
    """Validated ``weights_init`` and ``means_init`` of a mixture of a canonical family."""
    given: dict[str, Any] = {}
    k = model.n_components
    if weights_init is not None:
        given["weights"] = check_weights_init(weights_init, k)
    if means_init is not None:
        means = check_shape(means_init, "means_init", (k, n_features))
        family = model.family
        assert isinstance(family, CanonicalFamily)
        try:
            family.check_mean(means)
        except ValueError as exc:
            raise ValueError(f"`means_init`: {exc}") from None
        given["components"] = MeanParams(means)
    return given
