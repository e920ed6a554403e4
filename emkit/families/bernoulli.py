"""Bernoulli components for binary data, as a canonical exponential family.

``p(x | p) = prod_d p_d^x_d (1 - p_d)^(1 - x_d)``: T(x) = x, eta = logit(p),
A(eta) = sum_d log(1 + e^eta_d) = -sum_d log(1 - p_d), h(x) = 1.

Keeping probabilities inside (0, 1)
    The M-step is the MAP estimate under a symmetric conjugate prior worth ``pseudo_count``
    observations of 0 and ``pseudo_count`` observations of 1 for every pixel of every component:
    ``p_kd = (sum_n r_nk x_nd + c) / (n_k + 2 c)``. With ``c > 0`` every probability lies strictly
    inside (0, 1), so a column that is constant (all 0 or all 1) never produces ``log(0)``.
"""

from __future__ import annotations

from typing import Any, final

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_float, first_offender
from emkit.families.canonical import CanonicalFamily, MeanParams
from emkit.registry import register_family

__all__ = ["Bernoulli"]


def _check_pseudo_count(value: Any) -> float:
    return check_float(value, "pseudo_count", minimum=0.0, exclusive_minimum=True)


@final
@attrs.frozen
class Bernoulli(CanonicalFamily):
    """Independent Bernoulli features (multivariate Bernoulli) per component.

    Parameters
    ----------
    pseudo_count : float, default 0.01
        Pseudo-observations of each outcome (0 and 1) per feature and component; must be > 0.

    Notes
    -----
    Parameters of a mixture are [`MeanParams`][emkit.families.canonical.MeanParams] with
    ``mean`` (n_components, n_features) holding the probabilities of a 1; ``T(x) = x``, so
    n_stats = n_features.

    The E-step and M-step ([`log_prob`][emkit.families.canonical.CanonicalFamily.log_prob],
    [`expected_stats`][emkit.families.canonical.CanonicalFamily.expected_stats],
    [`maximize`][emkit.families.canonical.CanonicalFamily.maximize],
    [`log_prior`][emkit.families.canonical.CanonicalFamily.log_prior], ...) are those of
    [`CanonicalFamily`][emkit.families.canonical.CanonicalFamily], built from the methods below.
    """

    pseudo_count: float = attrs.field(default=0.01, converter=_check_pseudo_count)
    zero_base_measure = True
    independent_features = True

    def sufficient_statistics(self, X: Array) -> Array:
        """``T(x) = x``: the data itself.

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
        """The log-odds ``eta = logit(p) = log p - log(1 - p)``.

        Parameters
        ----------
        mean : array of shape (n_components, n_features)
            Probabilities ``p`` of a 1, strictly inside (0, 1).

        Returns
        -------
        natural : array of shape (n_components, n_features)
        """
        return np.log(mean) - np.log1p(-mean)

    def log_partition(self, natural: Array) -> Array:
        """``A(eta) = sum_d log(1 + e^eta_d) = -sum_d log(1 - p_d)``.

        Parameters
        ----------
        natural : array of shape (n_components, n_features)

        Returns
        -------
        log_partition : array of shape (n_components,)
        """
        return np.asarray(np.sum(np.logaddexp(0.0, natural), axis=1))

    def feature_log_partition(self, mean: Array) -> Array:
        """``A_d = log(1 + e^eta_d) = -log(1 - p_d)`` of every feature (NaN-aware E-step).

        Parameters
        ----------
        mean : array of shape (n_components, n_features)

        Returns
        -------
        feature_log_partition : array of shape (n_components, n_features)
        """
        return np.asarray(-np.log1p(-mean))

    def log_base_measure(self, X: Array) -> Array:
        """``log h(x) = 0``: the base measure is 1 on {0, 1}.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        log_h : array of shape (n_samples,)
            Zeros (the E-step skips them: ``zero_base_measure`` is True).
        """
        return np.zeros(X.shape[0], dtype=X.dtype)

    def prior(self) -> tuple[float, float]:
        """``(tau, m0) = (2c, 1/2)``: ``c = pseudo_count`` pseudo-observations of 0 and ``c`` of 1.

        As a density in the log-odds ``eta`` the prior is
        ``p(eta) ∝ exp(2c (eta / 2 - log(1 + e^eta))) = (p (1 - p))^c``; in ``p`` (Jacobian
        ``dp/deta = p (1 - p)``) it is Beta(c, c). The M-step takes the MAP in ``eta``,
        ``p_kd = (sum_n r_nk x_nd + c) / (n_k + 2c)``, which lies strictly inside (0, 1).

        Returns
        -------
        tau : float
            ``2 * pseudo_count``.
        m0 : float
            ``0.5``, the same for every feature and component.
        """
        return 2.0 * self.pseudo_count, 0.5

    def check_support(self, X: Array) -> None:
        """Check that ``X`` holds only 0 and 1.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Raises
        ------
        ValueError
            Naming the first other value, its row and column.
        """
        bad = (X != 0) & (X != 1)
        if bad.any():
            index = first_offender(bad)
            raise ValueError(
                "`X` must contain only 0 and 1 for a Bernoulli mixture; found "
                f"{X[index]} at row {index[0]}, column {index[1]} "
                "(binarize it first, e.g. X >= threshold)"
            )

    def check_mean(self, mean: Array) -> None:
        """Check that the probabilities lie strictly inside (0, 1) (their log-odds are finite).

        Parameters
        ----------
        mean : array of shape (n_components, n_features)

        Raises
        ------
        ValueError
            Naming the first probability outside, its component and feature.
        """
        bad = (mean <= 0) | (mean >= 1)
        if bad.any():
            index = first_offender(bad)
            raise ValueError(
                "Bernoulli probabilities `params.mean` must lie strictly inside (0, 1); found "
                f"{mean[index]} at component {index[0]}, feature {index[1]}"
            )

    def sample(self, params: MeanParams, component: int, n: int, rng: np.random.Generator) -> Array:
        """``n`` draws of independent Bernoulli features from one component.

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
            Zeros and ones, as float64.
        """
        p = params.mean[component]
        return np.asarray(rng.random((n, p.shape[0])) < p, dtype=np.float64)


register_family(Bernoulli)
