"""The two contracts of emkit, and nothing else.

* :class:`LatentVariableModel` is what the EM driver fits: an E-step that returns *additive*
  expected sufficient statistics with the log-likelihood, and an M-step that maps summed
  statistics to new parameters.
* :class:`ExponentialFamily` is what a finite mixture is built from: one component distribution,
  evaluated for all components at once.

Parameters and statistics are frozen attrs classes of numpy arrays; nothing is mutated in place.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

import numpy as np

from emkit._backend import Array

__all__ = ["ExponentialFamily", "LatentVariableModel"]

P = TypeVar("P")
S = TypeVar("S")


@runtime_checkable
class LatentVariableModel(Protocol[P, S]):
    """A model that EM can fit: parameters of type ``P``, statistics of type ``S``.

    The additivity law
        For any row split ``X = X1 ++ X2`` (and matching weights),
        ``e_step(X, p) == add(e_step(X1, p), e_step(X2, p))`` for the statistics and the
        log-likelihood alike. The driver relies on it to process data in chunks, from a file or
        on a cluster, with exactly the answer of one big array. Rows being independent is the
        model's business: a hidden Markov model would take whole sequences as its chunks.
    """

    def validate_data(self, X: Array) -> Array:
        """Check that ``X`` (n_samples, n_features) lies in the model's domain; return it."""
        ...

    def init_params(
        self, X: Array, rng: np.random.Generator, method: str, weights: Array | None = None
    ) -> P:
        """Starting parameters from (a sample of) the data, by the named ``method``."""
        ...

    def validate_params(self, params: P, n_features: int) -> P:
        """Check user-supplied parameters (shapes, ranges); return them, possibly normalised."""
        ...

    def e_step(
        self,
        X: Array,
        params: P,
        weights: Array | None = None,
        labels: Array | None = None,
    ) -> tuple[S, float]:
        """Expected sufficient statistics of chunk ``X`` under ``params``, and its log-likelihood.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : current parameters theta'
        weights : array of shape (n_samples,), optional
            Non-negative row weights; integer weights equal repeated rows.
        labels : int array of shape (n_samples,), optional
            Known latent values (-1 where unknown), for semi-supervised EM; models that cannot
            use them raise ``TypeError``.

        Returns
        -------
        stats : S
            Sums over the rows of the expected sufficient statistics.
        log_likelihood : float
            ``sum_n w_n log p(x_n | params)``.
        """
        ...

    def m_step(self, stats: S) -> P:
        """``argmax_theta Q(theta, theta')`` given statistics summed over all the data."""
        ...

    def log_prior(self, params: P) -> float:
        """``log p(theta)`` up to a constant; ``0.0`` when the model has no prior."""
        ...

    def n_parameters(self, n_features: int) -> int:
        """Number of free parameters, for BIC and AIC."""
        ...


@runtime_checkable
class ExponentialFamily(Protocol[P, S]):
    """One component distribution of a finite mixture, vectorised over ``n_components``.

    ``log_prob`` evaluates all components at once; ``expected_stats`` returns the
    responsibility-weighted sums of the sufficient statistics ``T(x)``; ``maximize`` is moment
    matching: it chooses the parameters whose expected ``T(x)`` equals those weighted averages
    (with a conjugate prior folded in as pseudo-observations where the family has one).
    """

    def validate_data(self, X: Array) -> Array:
        """Check that ``X`` lies in the family's support; return it."""
        ...

    def validate_params(self, params: P, n_components: int, n_features: int) -> P:
        """Check user-supplied parameters; return them (possibly with derived fields filled in)."""
        ...

    def log_prob(self, X: Array, params: P) -> Array:
        """``log p(x_n | theta_k)`` as an array of shape (n_samples, n_components)."""
        ...

    def expected_stats(self, X: Array, resp: Array, center: Array) -> S:
        """``sum_n resp[n, k] * T(x_n)`` for every component ``k``.

        ``center`` (n_components, n_features) is a reference point per component, the same for
        every chunk of one pass; families whose moments suffer from cancellation (the Gaussian)
        accumulate around it, others ignore it.
        """
        ...

    def maximize(self, stats: S, counts: Array) -> P:
        """Moment matching: parameters from summed statistics and component counts (n_components,).

        ``counts`` are already floored away from zero.
        """
        ...

    def log_prior(self, params: P) -> float:
        """``log p(theta)`` of the family's prior up to a constant; ``0.0`` without one."""
        ...

    def mean(self, params: P) -> Array:
        """Mean of each component in data space, shape (n_components, n_features)."""
        ...

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of ``n_components`` components on ``n_features`` features."""
        ...

    def sample(self, params: P, component: int, n: int, rng: np.random.Generator) -> Array:
        """``n`` draws from one component, shape (n, n_features)."""
        ...
