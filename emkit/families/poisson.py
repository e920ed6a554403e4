"""Poisson components for count data, as a canonical exponential family.

``p(x | lam) = prod_d lam_d^x_d e^-lam_d / x_d!``: T(x) = x, eta = log(lam),
A(eta) = sum_d e^eta_d, log h(x) = -sum_d log(x_d!).

A column that is all zero is legal: its rate is 0, ``eta`` is clamped to ``log(tiny)`` (about
-708) so the matrix product ``x @ eta`` stays finite, and ``0 * eta = 0`` gives exactly the right
log-probability ``log P(0 | 0) = 0``. An optional conjugate Gamma prior keeps rates positive.
"""

from __future__ import annotations

import functools
from typing import Any, final

import attrs
import numpy as np

from emkit._backend import Array, gammaln
from emkit._validation import check_float, first_offender
from emkit.families.canonical import CanonicalFamily, MeanParams
from emkit.registry import register_family

__all__ = ["Poisson"]

_TINY = np.finfo(np.float64).tiny

#: Largest count whose log-factorial is looked up in a table; larger counts use gammaln.
_TABLE_MAX = 1 << 16


@functools.lru_cache(maxsize=8)
def _log_factorials(top: int) -> Array:
    """``log(k!)`` for k = 0 .. top, float64 (sized to a power of two so few tables exist)."""
    size = 1 << max(int(top), 1).bit_length()
    return np.asarray(gammaln(np.arange(size, dtype=np.float64) + 1.0))


def _check_strength(value: Any) -> float:
    return check_float(value, "prior_strength", minimum=0.0)


def _check_rate(value: Any) -> float:
    return check_float(value, "prior_rate", minimum=0.0, exclusive_minimum=True)


@final
@attrs.frozen
class Poisson(CanonicalFamily):
    """Independent Poisson counts per feature and component.

    Parameters
    ----------
    prior_strength : float, default 0.0
        Number of pseudo-observations of the conjugate Gamma prior (0: maximum likelihood).
    prior_rate : float, default 1.0
        Mean rate of those pseudo-observations. The M-step is
        ``lam_kd = (sum_n r_nk x_nd + strength * rate) / (n_k + strength)``.

    Notes
    -----
    Parameters of a mixture are [`MeanParams`][emkit.families.canonical.MeanParams] with
    ``mean`` (n_components, n_features) holding the rates; ``T(x) = x``, so n_stats = n_features.

    The E-step and M-step ([`log_prob`][emkit.families.canonical.CanonicalFamily.log_prob],
    [`expected_stats`][emkit.families.canonical.CanonicalFamily.expected_stats],
    [`maximize`][emkit.families.canonical.CanonicalFamily.maximize],
    [`log_prior`][emkit.families.canonical.CanonicalFamily.log_prior], ...) are those of
    [`CanonicalFamily`][emkit.families.canonical.CanonicalFamily], built from the methods below.
    """

    prior_strength: float = attrs.field(default=0.0, converter=_check_strength)
    prior_rate: float = attrs.field(default=1.0, converter=_check_rate)
    independent_features = True

    def sufficient_statistics(self, X: Array) -> Array:
        """``T(x) = x``: the counts themselves.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        T : array of shape (n_samples, n_features)
            ``X`` itself (not a copy).
        """
        return X

    def natural_parameters(self, mean: Array) -> Array:
        """``eta = log(lam)``, with a rate of 0 clamped to ``log(tiny)`` (about -708).

        The clamp keeps ``x @ eta`` finite; a zero rate only meets zero counts, and
        ``0 * eta = 0``.

        Parameters
        ----------
        mean : array of shape (n_components, n_features)
            Rates ``lam >= 0``.

        Returns
        -------
        natural : array of shape (n_components, n_features)
        """
        return np.log(np.maximum(mean, _TINY))

    def log_partition(self, natural: Array) -> Array:
        """``A(eta) = sum_d e^eta_d = sum_d lam_d``.

        Parameters
        ----------
        natural : array of shape (n_components, n_features)

        Returns
        -------
        log_partition : array of shape (n_components,)
        """
        return np.asarray(np.sum(np.exp(natural), axis=1))

    def feature_log_partition(self, mean: Array) -> Array:
        """``A_d = e^eta_d = lam_d`` of every feature (NaN-aware E-step).

        Parameters
        ----------
        mean : array of shape (n_components, n_features)

        Returns
        -------
        feature_log_partition : array of shape (n_components, n_features)
        """
        return np.asarray(np.exp(self.natural_parameters(mean)))

    def log_base_measure(self, X: Array) -> Array:
        """``log h(x) = -sum_d log(x_d!)``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Non-negative integer counts.

        Returns
        -------
        log_h : array of shape (n_samples,)
        """
        # Counts are integers: look log(x!) up in a table instead of evaluating gammaln on
        # every entry (about 10x faster, and the E-step needs it for every chunk).
        top = float(X.max(initial=0.0))
        if top <= _TABLE_MAX:
            table = _log_factorials(int(top))
            # Row sums as a matrix-vector product: a reduction over a few contiguous columns
            # per row is numpy's slowest axis, BLAS streams it.
            return np.asarray(-(table[X.astype(np.intp)] @ np.ones(X.shape[1])))
        return np.asarray(-np.sum(gammaln(X + 1.0), axis=1))

    def prior(self) -> tuple[float, float]:
        """The conjugate Gamma prior as ``(tau, m0) = (s, m)``.

        ``s = prior_strength`` pseudo-observations of mean rate ``m = prior_rate``. As a density
        in ``eta = log(lam)`` the prior is
        ``p(eta) ∝ exp(s (m eta - e^eta)) = lam^(s m) e^(-s lam)``; in ``lam`` (Jacobian
        ``dlam/deta = lam``) it is Gamma(shape s m, rate s). The M-step takes the MAP in ``eta``,
        ``lam_kd = (sum_n r_nk x_nd + s m) / (n_k + s)``. ``s = 0`` (the default) is no prior.

        Returns
        -------
        tau : float
            ``prior_strength``.
        m0 : float
            ``prior_rate``, the same for every feature and component.
        """
        return self.prior_strength, self.prior_rate

    def check_support(self, X: Array) -> None:
        """Check that ``X`` holds only non-negative integers.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Raises
        ------
        ValueError
            Naming the first other value, its row and column.
        """
        bad = (X < 0) | (np.round(X) != X)
        if bad.any():
            index = first_offender(bad)
            raise ValueError(
                "`X` must contain only non-negative integer counts for a Poisson mixture; found "
                f"{X[index]} at row {index[0]}, column {index[1]}"
            )

    def check_mean(self, mean: Array) -> None:
        """Check that the rates are non-negative (a rate of 0 is legal).

        Parameters
        ----------
        mean : array of shape (n_components, n_features)

        Raises
        ------
        ValueError
            Naming the first negative rate, its component and feature.
        """
        if (mean < 0).any():
            index = first_offender(mean < 0)
            raise ValueError(
                "Poisson rates `params.mean` must be >= 0; found "
                f"{mean[index]} at component {index[0]}, feature {index[1]}"
            )

    def sample(self, params: MeanParams, component: int, n: int, rng: np.random.Generator) -> Array:
        """``n`` draws of independent Poisson counts from one component.

        Parameters
        ----------
        params : MeanParams
            ``mean`` of shape (n_components, n_features).
        component : int
            Index ``k`` of the component.
        n : int
            Number of draws.
        rng : numpy.random.Generator

        Returns
        -------
        X : array of shape (n, n_features)
            Counts, as float64.
        """
        lam = params.mean[component]
        return rng.poisson(lam, size=(n, lam.shape[0])).astype(np.float64)


register_family(Poisson)
