"""A canonical exponential family from its four textbook ingredients.

For a family ``p(x | eta) = h(x) exp(eta . T(x) - A(eta))`` a subclass supplies

* ``sufficient_statistics(X)``  -> T(X), shape (n_samples, n_stats),
* ``natural_parameters(mean)``  -> eta(theta), shape (n_components, n_stats),
* ``log_partition(natural)``    -> A(eta), shape (n_components,),
* ``log_base_measure(X)``       -> log h(X), shape (n_samples,),

and everything else follows:

* the log-density of every row under every component is one matrix product,
  ``T(X) @ eta.T - A(eta) + log h(X)``;
* the parameters are the *mean parameters* ``mu = E[T(x)]``, and the M-step is moment matching:
  ``mu_k = sum_n r_nk T(x_n) / sum_n r_nk``;
* a conjugate prior ``p(eta) ∝ exp(tau (m0 . eta - A(eta)))`` acts as ``tau`` pseudo-observations
  with mean ``m0``, so the MAP M-step is ``mu_k = (sum_n r_nk T(x_n) + tau m0) / (n_k + tau)``.

A new family of this kind is one short file: see :mod:`emkit.families.bernoulli`.
"""

from __future__ import annotations

import abc
from typing import Any

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_array

__all__ = ["CanonicalFamily", "MeanParams", "MeanStats"]


@attrs.frozen(eq=False)
class MeanParams:
    """Mean parameters ``E[T(x)]`` of each component.

    Attributes
    ----------
    mean : array of shape (n_components, n_stats)
    """

    mean: Array


@attrs.frozen(eq=False)
class MeanStats:
    """Responsibility-weighted sums of ``T(x)``.

    Attributes
    ----------
    sum_t : array of shape (n_components, n_stats)
        ``sum_n r_nk T(x_n)``.
    """

    sum_t: Array


class CanonicalFamily(abc.ABC):
    """Base class of a canonical exponential family (see the module docstring).

    Subclasses are frozen attrs classes; they set the conjugate prior through
    :meth:`prior` (``tau = 0`` means no prior, plain maximum likelihood).
    """

    # -- the four ingredients ------------------------------------------------------------------
    @abc.abstractmethod
    def sufficient_statistics(self, X: Array) -> Array:
        """T(X), shape (n_samples, n_stats)."""

    @abc.abstractmethod
    def natural_parameters(self, mean: Array) -> Array:
        """eta from mean parameters, shape (n_components, n_stats)."""

    @abc.abstractmethod
    def log_partition(self, natural: Array) -> Array:
        """A(eta) for each component, shape (n_components,)."""

    @abc.abstractmethod
    def log_base_measure(self, X: Array) -> Array:
        """log h(x) for each row, shape (n_samples,)."""

    # -- the domain -------------------------------------------------------------------------------
    @abc.abstractmethod
    def check_support(self, X: Array) -> None:
        """Raise ``ValueError`` naming the first value of ``X`` outside the support."""

    @abc.abstractmethod
    def check_mean(self, mean: Array) -> None:
        """Raise ``ValueError`` if user-given mean parameters are outside the parameter space."""

    @abc.abstractmethod
    def sample(self, params: MeanParams, component: int, n: int, rng: np.random.Generator) -> Array:
        """``n`` draws from one component, shape (n, n_features)."""

    def prior(self) -> tuple[float, Array | float]:
        """Conjugate prior as ``(tau, m0)``: ``tau`` pseudo-observations with mean ``m0``."""
        return 0.0, 0.0

    # -- everything else follows -------------------------------------------------------------
    def validate_data(self, X: Array) -> Array:
        self.check_support(X)
        return X

    def validate_params(self, params: Any, n_components: int, n_features: int) -> MeanParams:
        if not isinstance(params, MeanParams):
            raise TypeError(
                f"`params` of {type(self).__name__} must be MeanParams; got {type(params).__name__}"
            )
        mean = check_array(params.mean, "params.mean", dtype=np.float64)
        n_stats = self.sufficient_statistics(np.zeros((1, n_features))).shape[1]
        if mean.shape != (n_components, n_stats):
            raise ValueError(
                f"`params.mean` must have shape (n_components, n_stats) = "
                f"{(n_components, n_stats)}; got {mean.shape}"
            )
        self.check_mean(mean)
        return MeanParams(mean)

    def log_prob(self, X: Array, params: MeanParams) -> Array:
        natural = self.natural_parameters(params.mean)
        # One matrix product for all rows and components, in X's precision.
        t = self.sufficient_statistics(X)
        log_p = t @ natural.T.astype(t.dtype, copy=False)
        return np.asarray(log_p - self.log_partition(natural) + self.log_base_measure(X)[:, None])

    def expected_stats(self, X: Array, resp: Array, center: Array) -> MeanStats:
        t = self.sufficient_statistics(X)
        return MeanStats(sum_t=(resp.T @ t).astype(np.float64, copy=False))

    def maximize(self, stats: MeanStats, counts: Array) -> MeanParams:
        tau, m0 = self.prior()
        mean = (stats.sum_t + tau * np.asarray(m0)) / (counts[:, None] + tau)
        return MeanParams(mean)

    def log_prior(self, params: MeanParams) -> float:
        tau, m0 = self.prior()
        if tau == 0.0:
            return 0.0
        natural = self.natural_parameters(params.mean)
        m0 = np.broadcast_to(np.asarray(m0, dtype=np.float64), natural.shape)
        return float(tau * (np.sum(m0 * natural) - np.sum(self.log_partition(natural))))

    def mean(self, params: MeanParams) -> Array:
        return params.mean

    def n_parameters(self, n_components: int, n_features: int) -> int:
        n_stats = int(self.sufficient_statistics(np.zeros((1, n_features))).shape[1])
        return n_components * n_stats
