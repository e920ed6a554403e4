"""Categorical components for nominal data, as a canonical exponential family.

Each feature ``d`` takes one of ``L_d`` levels, coded as the integers ``0 .. L_d - 1``, and the
features are independent given the component: ``p(x | p) = prod_d p_{d, x_d}``. A mixture of
categoricals is latent class analysis.

The ingredients
    ``T(x)`` is the one-hot code of every feature, concatenated: ``n_stats = sum_d L_d``. The mean
    parameters ``E[T(x)]`` are the level probabilities ``p_dl`` of every feature, side by side.
    The natural parameters are the log-odds against each feature's last level,
    ``eta_dl = log p_dl - log p_{d, L_d - 1}`` (so the last level's entry is 0: an identifiable
    form), ``A(eta) = sum_d logsumexp_l eta_dl = -sum_d log p_{d, L_d - 1}`` and ``h(x) = 1``.

Keeping probabilities positive
    The M-step is the MAP estimate under a symmetric Dirichlet prior worth ``pseudo_count``
    observations per feature and component, spread evenly over the levels:
    ``p_kdl = (sum_n r_nk [x_nd = l] + c / L_d) / (n_k + c)``. With ``c > 0`` every probability
    is positive, so a level never seen in a component never produces ``log(0)``.
"""

from __future__ import annotations

from typing import Any, final

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_float, check_int, first_offender
from emkit.families.canonical import CanonicalFamily, MeanParams
from emkit.registry import register_family

__all__ = ["PROBABILITY_SUM_ATOL", "Categorical"]

PROBABILITY_SUM_ATOL = 1e-5
"""How far the level probabilities of one feature may sum from 1 in
[`check_mean`][emkit.families.categorical.Categorical.check_mean] (float32 data sums its
statistics in float32)."""


def _check_n_levels(value: Any) -> int | tuple[int, ...]:
    if isinstance(value, list | tuple | np.ndarray):
        levels = tuple(value)
        if not levels:
            raise ValueError("`n_levels` must name at least one feature; got an empty sequence")
        return tuple(
            check_int(level, f"n_levels[{d}]", minimum=2) for d, level in enumerate(levels)
        )
    return check_int(value, "n_levels", minimum=2)


def _check_pseudo_count(value: Any) -> float:
    return check_float(value, "pseudo_count", minimum=0.0, exclusive_minimum=True)


@final
@attrs.frozen
class Categorical(CanonicalFamily):
    """Independent categorical features per component (latent class analysis in a mixture).

    Parameters
    ----------
    n_levels : int or tuple of int
        The number of levels ``L_d >= 2`` of every feature (one int for all features) or of each
        feature (a tuple, one entry per feature). Feature ``d`` takes the integer codes
        ``0 .. L_d - 1``.
    pseudo_count : float, default 0.01
        Pseudo-observations of the symmetric Dirichlet prior per feature and component, spread
        evenly over the feature's levels (``pseudo_count / L_d`` on each); must be > 0.

    Notes
    -----
    Parameters of a mixture are [`MeanParams`][emkit.families.canonical.MeanParams] with
    ``mean`` (n_components, n_stats), ``n_stats = sum_d L_d``: the level probabilities of feature
    0, then of feature 1, and so on (``mean[k, offset_d + l] = P(x_d = l | z = k)``).

    Codes are nominal, so an expected code means nothing:
    [`mean`][emkit.families.categorical.Categorical.mean] returns each component's most probable
    level of every feature instead (its mode), of shape (n_components, n_features).

    The E-step and M-step ([`log_prob`][emkit.families.canonical.CanonicalFamily.log_prob],
    [`expected_stats`][emkit.families.canonical.CanonicalFamily.expected_stats],
    [`maximize`][emkit.families.canonical.CanonicalFamily.maximize],
    [`log_prior`][emkit.families.canonical.CanonicalFamily.log_prior], ...) are those of
    [`CanonicalFamily`][emkit.families.canonical.CanonicalFamily], built from the methods below.
    """

    n_levels: int | tuple[int, ...] = attrs.field(converter=_check_n_levels)
    pseudo_count: float = attrs.field(default=0.01, converter=_check_pseudo_count)
    zero_base_measure = True
    independent_features = True

    # -- the layout of T(x) ------------------------------------------------------------------
    def levels(self, n_features: int) -> Array:
        """The number of levels of every feature.

        Parameters
        ----------
        n_features : int

        Returns
        -------
        levels : int array of shape (n_features,)

        Raises
        ------
        ValueError
            If ``n_levels`` is a tuple whose length is not ``n_features``.
        """
        if isinstance(self.n_levels, tuple):
            if len(self.n_levels) != n_features:
                raise ValueError(
                    f"`n_levels` gives {len(self.n_levels)} features but the data have "
                    f"{n_features} columns"
                )
            return np.asarray(self.n_levels, dtype=np.intp)
        return np.full(n_features, self.n_levels, dtype=np.intp)

    def _levels_of_stats(self, n_stats: int) -> Array:
        """The levels of every feature from the length of ``T(x)``."""
        if isinstance(self.n_levels, tuple):
            levels = np.asarray(self.n_levels, dtype=np.intp)
        else:
            levels = np.full(max(n_stats // self.n_levels, 1), self.n_levels, dtype=np.intp)
        if int(levels.sum()) != n_stats:
            raise ValueError(
                f"Categorical parameters must have n_stats = sum of `n_levels` = "
                f"{int(levels.sum())} entries per component; got {n_stats}"
            )
        return levels

    @staticmethod
    def _starts(levels: Array) -> Array:
        return np.concatenate(([0], np.cumsum(levels)[:-1])).astype(np.intp)

    # -- the four ingredients ------------------------------------------------------------------
    def sufficient_statistics(self, X: Array) -> Array:
        """``T(x)``: the one-hot code of every feature, concatenated.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Integer codes, ``0 <= x_d < L_d``.

        Returns
        -------
        T : array of shape (n_samples, sum_d L_d)
            In ``X``'s floating dtype (float64 for integer ``X``).
        """
        levels = self.levels(X.shape[1])
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.dtype(np.float64)
        n = X.shape[0]
        t = np.zeros((n, int(levels.sum())), dtype=dtype)
        columns = X.astype(np.intp) + self._starts(levels)
        t[np.arange(n)[:, None], columns] = 1
        return t

    def natural_parameters(self, mean: Array) -> Array:
        """The log-odds against each feature's last level, ``eta_dl = log p_dl - log p_d,last``.

        Parameters
        ----------
        mean : array of shape (n_components, n_stats)
            Level probabilities, positive.

        Returns
        -------
        natural : array of shape (n_components, n_stats)
            Zero at the last level of every feature.
        """
        levels = self._levels_of_stats(mean.shape[1])
        log_p = np.log(mean)
        last = np.cumsum(levels) - 1
        return np.asarray(log_p - np.repeat(log_p[:, last], levels, axis=1))

    def log_partition(self, natural: Array) -> Array:
        """``A(eta) = sum_d logsumexp_l eta_dl``, one log-sum-exp per feature segment.

        Parameters
        ----------
        natural : array of shape (n_components, n_stats)

        Returns
        -------
        log_partition : array of shape (n_components,)
        """
        levels = self._levels_of_stats(natural.shape[1])
        starts = self._starts(levels)
        top = np.maximum.reduceat(natural, starts, axis=1)
        total = np.add.reduceat(np.exp(natural - np.repeat(top, levels, axis=1)), starts, axis=1)
        return np.asarray(np.sum(top + np.log(total), axis=1))

    def feature_of_stats(self, n_features: int) -> Array:
        """The feature of every entry of the one-hot ``T(x)``: feature ``d`` ``L_d`` times.

        Parameters
        ----------
        n_features : int

        Returns
        -------
        feature_of : int array of shape (sum_d L_d,)
        """
        return np.repeat(np.arange(n_features), self.levels(n_features))

    def feature_log_partition(self, mean: Array) -> Array:
        """``A_d = -log p_d,last`` of every feature (NaN-aware E-step).

        Parameters
        ----------
        mean : array of shape (n_components, sum_d L_d)

        Returns
        -------
        feature_log_partition : array of shape (n_components, n_features)
        """
        levels = self._levels_of_stats(mean.shape[1])
        return np.asarray(-np.log(mean[:, np.cumsum(levels) - 1]))

    def impute(self, X: Array, resp: Array, params: MeanParams) -> Array:
        """Missing codes filled in with the most probable level under the row's posterior,
        ``argmax_l sum_k resp[n, k] p_kdl`` (an average code would mean nothing).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Codes, NaN where missing.
        resp : array of shape (n_samples, n_components)
        params : MeanParams

        Returns
        -------
        X_imputed : array of shape (n_samples, n_features)
            Codes; ties go to the lowest.
        """
        missing = np.isnan(X)
        levels = self.levels(X.shape[1])
        predictive = np.asarray(resp, dtype=np.float64) @ np.asarray(params.mean)
        filled = np.array(X, copy=True)
        for d, start in enumerate(self._starts(levels)):
            rows = missing[:, d]
            if rows.any():
                block = predictive[rows, start : start + levels[d]]
                filled[rows, d] = np.argmax(block, axis=1)
        return filled

    def log_base_measure(self, X: Array) -> Array:
        """``log h(x) = 0``: the base measure is 1 on the codes.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        log_h : array of shape (n_samples,)
            Zeros (the E-step skips them: ``zero_base_measure`` is True).
        """
        dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.dtype(np.float64)
        return np.zeros(X.shape[0], dtype=dtype)

    def prior(self) -> tuple[float, Array | float]:
        """``(tau, m0) = (c, 1 / L_d per level)``: ``c = pseudo_count`` observations per feature.

        As a density in the natural parameters ``eta`` (the log-odds) the prior is
        ``p(eta) ∝ exp(c (m0 . eta - A(eta))) = prod_d prod_l p_dl^(c / L_d)``; in the
        probabilities (the Jacobian of the softmax is ``prod_l p_dl``) it is a symmetric
        Dirichlet with concentration ``c / L_d`` per feature. The M-step takes the MAP in
        ``eta``, ``p_kdl = (sum_n r_nk [x_nd = l] + c / L_d) / (n_k + c)``, which is positive.

        Returns
        -------
        tau : float
            ``pseudo_count``.
        m0 : float or array of shape (n_stats,)
            ``1 / L_d`` at every level of feature ``d`` (a float when ``n_levels`` is an int).
        """
        if isinstance(self.n_levels, tuple):
            levels = np.asarray(self.n_levels, dtype=np.float64)
            return self.pseudo_count, np.repeat(1.0 / levels, self.n_levels)
        return self.pseudo_count, 1.0 / self.n_levels

    # -- the domain -------------------------------------------------------------------------------
    def check_support(self, X: Array) -> None:
        """Check that every column holds integer codes ``0 .. L_d - 1``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Raises
        ------
        ValueError
            If the number of columns does not match ``n_levels``, or naming the first value that
            is not finite, not an integer or out of range, its row and column.
        """
        levels = self.levels(X.shape[1])
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(X) | (np.round(X) != X) | (X < 0) | (levels <= X)
        if bad.any():
            row, column = first_offender(bad)
            raise ValueError(
                "`X` must hold integer level codes 0 .. n_levels - 1 for a Categorical mixture; "
                f"found {X[row, column]} at row {row}, column {column}, which has "
                f"{int(levels[column])} levels (codes 0 .. {int(levels[column]) - 1})"
            )

    def check_mean(self, mean: Array) -> None:
        """Check that every feature's level probabilities are positive and sum to 1.

        Parameters
        ----------
        mean : array of shape (n_components, n_stats)

        Raises
        ------
        ValueError
            Naming the first probability that is not finite or not in (0, 1], or the first
            feature whose probabilities do not sum to 1 within ``PROBABILITY_SUM_ATOL``.
        """
        levels = self._levels_of_stats(mean.shape[1])
        bad = ~np.isfinite(mean) | (mean <= 0) | (mean > 1)
        if bad.any():
            index = first_offender(bad)
            raise ValueError(
                "Categorical probabilities `params.mean` must lie in (0, 1]; found "
                f"{mean[index]} at component {index[0]}, entry {index[1]}"
            )
        sums = np.add.reduceat(mean, self._starts(levels), axis=1)
        off = np.abs(sums - 1.0) > PROBABILITY_SUM_ATOL
        if off.any():
            k, d = first_offender(off)
            raise ValueError(
                "Categorical probabilities `params.mean` of every feature must sum to 1 (within "
                f"PROBABILITY_SUM_ATOL = {PROBABILITY_SUM_ATOL}); those of component {k}, "
                f"feature {d} sum to {sums[k, d]}"
            )

    def sample(self, params: MeanParams, component: int, n: int, rng: np.random.Generator) -> Array:
        """``n`` draws of independent categorical features from one component.

        Parameters
        ----------
        params : MeanParams
            ``mean`` of shape (n_components, n_stats).
        component : int
            Index ``k`` of the component.
        n : int
            Number of draws.
        rng : numpy.random.Generator

        Returns
        -------
        X : array of shape (n, n_features)
            Integer codes, as float64.
        """
        p = np.asarray(params.mean[component], dtype=np.float64)
        levels = self._levels_of_stats(p.shape[0])
        u = rng.random((n, levels.shape[0]))
        X = np.empty((n, levels.shape[0]), dtype=np.float64)
        for d, start in enumerate(self._starts(levels)):
            cumulative = np.cumsum(p[start : start + levels[d]])
            codes = np.searchsorted(cumulative / cumulative[-1], u[:, d], side="right")
            X[:, d] = np.minimum(codes, levels[d] - 1)
        return X

    # -- overridden defaults ------------------------------------------------------------------
    def mean(self, params: MeanParams) -> Array:
        """The most probable level of every feature in every component (codes are nominal, so
        an expected code would mean nothing).

        Parameters
        ----------
        params : MeanParams

        Returns
        -------
        mode : array of shape (n_components, n_features)
            Level codes as float64; ties go to the lowest code.
        """
        mean = np.asarray(params.mean, dtype=np.float64)
        levels = self._levels_of_stats(mean.shape[1])
        starts = self._starts(levels)
        mode = np.empty((mean.shape[0], levels.shape[0]), dtype=np.float64)
        for d, start in enumerate(starts):
            mode[:, d] = np.argmax(mean[:, start : start + levels[d]], axis=1)
        return mode

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters: ``n_components * sum_d (L_d - 1)`` (each feature's sum to 1).

        Parameters
        ----------
        n_components : int
        n_features : int

        Returns
        -------
        n_parameters : int
        """
        return n_components * int(np.sum(self.levels(n_features) - 1))


register_family(Categorical)
