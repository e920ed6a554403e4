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
    ``mean`` (n_components, n_features) holding the rates.
    """

    prior_strength: float = attrs.field(default=0.0, converter=_check_strength)
    prior_rate: float = attrs.field(default=1.0, converter=_check_rate)

    def sufficient_statistics(self, X: Array) -> Array:
        return X

    def natural_parameters(self, mean: Array) -> Array:
        return np.log(np.maximum(mean, _TINY))

    def log_partition(self, natural: Array) -> Array:
        return np.asarray(np.sum(np.exp(natural), axis=1))

    def log_base_measure(self, X: Array) -> Array:
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
        return self.prior_strength, self.prior_rate

    def check_support(self, X: Array) -> None:
        bad = (X < 0) | (np.round(X) != X)
        if bad.any():
            index = first_offender(bad)
            raise ValueError(
                "`X` must contain only non-negative integer counts for a Poisson mixture; found "
                f"{X[index]} at row {index[0]}, column {index[1]}"
            )

    def check_mean(self, mean: Array) -> None:
        if (mean < 0).any():
            index = first_offender(mean < 0)
            raise ValueError(
                "Poisson rates `params.mean` must be >= 0; found "
                f"{mean[index]} at component {index[0]}, feature {index[1]}"
            )

    def sample(self, params: MeanParams, component: int, n: int, rng: np.random.Generator) -> Array:
        lam = params.mean[component]
        return rng.poisson(lam, size=(n, lam.shape[0])).astype(np.float64)


register_family(Poisson)
