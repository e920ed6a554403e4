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
  The prior is a density in ``eta``, and so the MAP is its mode in ``eta``, which differs from
  the mode of the same prior written as a density in ``mu`` (the Jacobian moves it).

A new family of this kind is one short file: see
[`emkit.families.bernoulli`][emkit.families.bernoulli].
"""

from __future__ import annotations

import abc
import threading
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_array

__all__ = ["CanonicalFamily", "MeanParams", "MeanStats"]

# eta^T and -A(eta) per parameter object and (family, dtype): parameters are frozen values, so
# the entry is valid while they live and is dropped with them.
_CACHE_LOCK = threading.Lock()
_NATURAL_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[Any, str], tuple[Any, Any]]] = (
    weakref.WeakKeyDictionary()
)


def settings_key(value: Any) -> Any:
    """A hashable key equal for equal settings: attrs values by class and fields, arrays by
    dtype, shape and bytes, sequences item by item (settings may hold arrays and tuples)."""
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return (type(value), *(settings_key(getattr(value, f.name)) for f in fields if f.init))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, list | tuple):
        return (type(value).__name__, *(settings_key(item) for item in value))
    if isinstance(value, dict):
        return ("dict", *sorted((str(k), settings_key(v)) for k, v in value.items()))
    return value


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

    A subclass is a frozen attrs class that implements the seven abstract methods: the four
    ingredients
    ([`sufficient_statistics`][emkit.families.canonical.CanonicalFamily.sufficient_statistics],
    [`natural_parameters`][emkit.families.canonical.CanonicalFamily.natural_parameters],
    [`log_partition`][emkit.families.canonical.CanonicalFamily.log_partition],
    [`log_base_measure`][emkit.families.canonical.CanonicalFamily.log_base_measure]), the domain
    checks ([`check_support`][emkit.families.canonical.CanonicalFamily.check_support],
    [`check_mean`][emkit.families.canonical.CanonicalFamily.check_mean]) and
    [`sample`][emkit.families.canonical.CanonicalFamily.sample]. It may set the conjugate prior
    through [`prior`][emkit.families.canonical.CanonicalFamily.prior] (``tau = 0``, the default,
    means no prior: plain maximum likelihood). Everything else, the
    [`ExponentialFamily`][emkit.protocols.ExponentialFamily] methods a mixture calls
    ([`log_prob`][emkit.families.canonical.CanonicalFamily.log_prob],
    [`expected_stats`][emkit.families.canonical.CanonicalFamily.expected_stats],
    [`maximize`][emkit.families.canonical.CanonicalFamily.maximize],
    [`log_prior`][emkit.families.canonical.CanonicalFamily.log_prior], ...), is derived here.

    Shapes are in terms of ``n_stats``, the length of ``T(x)``: the parameters are the mean
    parameters ``mu = E[T(x)]`` of shape (n_components, n_stats), which is (n_components,
    n_features) only when ``T(x) = x`` (Bernoulli, Poisson).
    """

    # -- the four ingredients ------------------------------------------------------------------
    @abc.abstractmethod
    def sufficient_statistics(self, X: Array) -> Array:
        """The sufficient statistics ``T(x)`` of every row.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        T : array of shape (n_samples, n_stats)
            May be ``X`` itself when ``T(x) = x``.
        """

    @abc.abstractmethod
    def natural_parameters(self, mean: Array) -> Array:
        """The natural parameters ``eta`` of the given mean parameters ``mu = E[T(x)]``.

        The inverse of the gradient map ``mu = grad A(eta)``.

        Parameters
        ----------
        mean : array of shape (n_components, n_stats)

        Returns
        -------
        natural : array of shape (n_components, n_stats)
        """

    @abc.abstractmethod
    def log_partition(self, natural: Array) -> Array:
        """The log-partition function ``A(eta) = log integral h(x) exp(eta . T(x)) dx``.

        It normalises the density; its gradient is the mean, ``grad A(eta) = E[T(x)]``.

        Parameters
        ----------
        natural : array of shape (n_components, n_stats)

        Returns
        -------
        log_partition : array of shape (n_components,)
        """

    @abc.abstractmethod
    def log_base_measure(self, X: Array) -> Array:
        """The log base measure ``log h(x)`` of every row.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        log_h : array of shape (n_samples,)
        """

    # -- the domain -------------------------------------------------------------------------------
    @abc.abstractmethod
    def check_support(self, X: Array) -> None:
        """Check that every value of ``X`` lies in the support.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Raises
        ------
        ValueError
            Naming the first value outside the support, its row and column.
        """

    @abc.abstractmethod
    def check_mean(self, mean: Array) -> None:
        """Check that user-given mean parameters lie in the parameter space.

        Parameters
        ----------
        mean : array of shape (n_components, n_stats)

        Raises
        ------
        ValueError
            Naming the first value outside, its component and entry.
        """

    @abc.abstractmethod
    def sample(self, params: MeanParams, component: int, n: int, rng: np.random.Generator) -> Array:
        """``n`` draws from one component.

        Parameters
        ----------
        params : MeanParams
            ``mean`` of shape (n_components, n_stats).
        component : int
            Index ``k`` of the component, ``0 <= k < n_components``.
        n : int
            Number of draws.
        rng : numpy.random.Generator

        Returns
        -------
        X : array of shape (n, n_features)
        """

    params_type: ClassVar[type] = MeanParams
    """The class of the parameters (for
    [`register_family`][emkit.registry.register_family])."""

    zero_base_measure: ClassVar[bool] = False
    """True when ``log h(x) = 0`` for every x (the E-step then skips it)."""

    independent_features: ClassVar[bool] = False
    """True when the features are independent given the component: ``T(x)``, ``log h(x)`` and
    ``A(eta)`` split into one part per feature
    ([`feature_of_stats`][emkit.families.canonical.CanonicalFamily.feature_of_stats],
    [`feature_log_partition`][emkit.families.canonical.CanonicalFamily.feature_log_partition]).
    Such a family handles missing values (NaN) exactly: a missing entry's factor integrates to
    one, so it leaves the log-density, and its expected statistics are the component's mean
    parameters."""

    missing_fill: ClassVar[float] = 0.0
    """A value in the support, with ``log h = 0`` in its feature, that stands in for a missing
    entry before ``T(x)`` and ``log h(x)`` are evaluated (its statistics are then replaced)."""

    @property
    def handles_missing(self) -> bool:
        """Whether NaN entries are missing values: exactly when the features are independent
        ([`independent_features`][emkit.families.canonical.CanonicalFamily.independent_features])."""
        return self.independent_features

    def feature_of_stats(self, n_features: int) -> Array:
        """The feature each entry of ``T(x)`` belongs to (families with independent features).

        The default is ``T(x) = x``: entry ``d`` belongs to feature ``d``.

        Parameters
        ----------
        n_features : int

        Returns
        -------
        feature_of : int array of shape (n_stats,)
        """
        return np.arange(n_features)

    def feature_log_partition(self, mean: Array) -> Array:
        """The log-partition of every feature: ``A(eta) = sum_d A_d(eta_d)``.

        Only families with
        [`independent_features`][emkit.families.canonical.CanonicalFamily.independent_features]
        provide it; the missing-value E-step subtracts ``A_d`` only where feature ``d`` is
        observed.

        Parameters
        ----------
        mean : array of shape (n_components, n_stats)
            Mean parameters.

        Returns
        -------
        feature_log_partition : array of shape (n_components, n_features)

        Raises
        ------
        NotImplementedError
            For a family whose features are not independent.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not split its log-partition by feature "
            "(independent_features is False)"
        )

    def prior(self) -> tuple[float, Array | float]:
        """The conjugate prior as ``(tau, m0)``: ``tau`` pseudo-observations with mean ``m0``.

        The prior is the density in the natural parameters
        ``p(eta) ∝ exp(tau (m0 . eta - A(eta)))`` for every component. The default ``(0.0, 0.0)``
        is no prior.

        Returns
        -------
        tau : float
            Prior strength, ``tau >= 0``, in units of observations.
        m0 : float or array broadcastable to (n_components, n_stats)
            Prior mean of ``T(x)``.
        """
        return 0.0, 0.0

    # -- everything else follows -------------------------------------------------------------
    def validate_data(self, X: Array) -> Array:
        """Check that ``X`` lies in the support (by
        [`check_support`][emkit.families.canonical.CanonicalFamily.check_support]); return it.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        X : array of shape (n_samples, n_features)
            The same array.

        Raises
        ------
        ValueError
            If a value lies outside the support.
        """
        if self.independent_features:
            missing = np.isnan(X)
            if missing.any():
                self.check_support(np.where(missing, np.asarray(self.missing_fill, X.dtype), X))
                return X
        self.check_support(X)
        return X

    def validate_params(self, params: Any, n_components: int, n_features: int) -> MeanParams:
        """Check user-given mean parameters: type, shape and range.

        Parameters
        ----------
        params : MeanParams
            ``mean`` of shape (n_components, n_stats).
        n_components : int
        n_features : int

        Returns
        -------
        params : MeanParams
            With ``mean`` converted to float64.

        Raises
        ------
        TypeError
            If ``params`` is not a [`MeanParams`][emkit.families.canonical.MeanParams].
        ValueError
            If ``mean`` has the wrong shape, or lies outside the parameter space
            ([`check_mean`][emkit.families.canonical.CanonicalFamily.check_mean]).
        """
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
        """``log p(x_n | eta_k) = eta_k . T(x_n) - A(eta_k) + log h(x_n)``, all rows and components.

        One matrix product ``T(X) @ eta^T`` for all rows and components.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : MeanParams
            ``mean`` of shape (n_components, n_stats); ``eta`` is its
            [`natural_parameters`][emkit.families.canonical.CanonicalFamily.natural_parameters].

        Returns
        -------
        log_prob : array of shape (n_samples, n_components)
            In the precision of ``X``.
        """
        log_p, row_offset, _ = self.log_prob_with_stats(X, params)
        if row_offset is not None:
            log_p += row_offset[:, None].astype(log_p.dtype)
        return log_p

    def expected_stats(self, X: Array, resp: Array, center: Array) -> MeanStats:
        """The responsibility-weighted sums ``sum_n r_nk T(x_n)`` of every component.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        resp : array of shape (n_samples, n_components)
            The responsibilities ``r_nk``, already multiplied by the row weights.
        center : array
            Ignored: sums of ``T(x)`` need no reference point.

        Returns
        -------
        stats : MeanStats
            ``sum_t`` of shape (n_components, n_stats), in float64.
        """
        if np.isnan(X).any():
            raise ValueError(
                f"{type(self).__name__}.expected_stats cannot fill in missing values (NaN) "
                "without the parameters; use log_prob_with_stats, whose statistics do"
            )
        t = self.sufficient_statistics(X)
        resp = resp.astype(t.dtype, copy=False)
        return MeanStats(sum_t=(resp.T @ t).astype(np.float64, copy=False))

    def log_prob_with_stats(
        self, X: Array, params: MeanParams
    ) -> tuple[Array, Array | None, Callable[[Array], MeanStats]]:
        """The fused E-step of a chunk: two matrix products in all.

        ``log h(X)`` is the same for every component, so a mixture adds it to the row's
        log-likelihood only (it does not change the responsibilities).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : MeanParams
            ``mean`` of shape (n_components, n_stats).

        Returns
        -------
        log_prob : array of shape (n_samples, n_components)
            ``T(X) @ eta^T - A(eta)``, without ``log h(X)``.
        row_offset : array of shape (n_samples,) or None
            ``log h(X)``; ``None`` when it is 0
            ([`zero_base_measure`][emkit.families.canonical.CanonicalFamily.zero_base_measure]).
        stats_of : callable
            ``stats_of(resp)`` with ``resp`` of shape (n_samples, n_components) returns the
            [`MeanStats`][emkit.families.canonical.MeanStats] ``resp^T @ T(X)``, reusing ``T(X)``.
        """
        if self.independent_features:
            missing = np.isnan(X)
            if missing.any():
                return self._observed_log_prob_with_stats(X, missing, params)
        natural, neg_log_partition = self._natural(params, X.dtype)
        t = self.sufficient_statistics(X)
        # One matrix product for all rows and components, in X's precision. As (eta @ T^T)^T
        # the result is column-major: the per-row log-sum-exp over K then runs over K long
        # contiguous columns instead of n short rows.
        log_p = (natural @ t.T).T
        log_p += neg_log_partition
        row_offset = None if self.zero_base_measure else self.log_base_measure(X)

        def stats_of(resp: Array) -> MeanStats:
            resp = resp.astype(t.dtype, copy=False)
            return MeanStats(sum_t=(resp.T @ t).astype(np.float64, copy=False))

        return np.asarray(log_p), row_offset, stats_of

    def _observed_log_prob_with_stats(
        self, X: Array, missing: Array, params: MeanParams
    ) -> tuple[Array, Array | None, Callable[[Array], MeanStats]]:
        # Features are independent given the component, so integrating a missing entry out of
        # p(x | eta_k) removes its factor: eta_k . T(x) - A(eta_k) + log h(x) summed over the
        # observed features only. The missing entries are replaced by `missing_fill` (a value
        # in the support with log h = 0), their statistics zeroed, and the log-partition of
        # each feature subtracted only where it is observed: still two matrix products.
        natural, _ = self._natural(params, X.dtype)
        feature_of = self.feature_of_stats(X.shape[1])
        observed = ~missing
        filled = np.where(missing, np.asarray(self.missing_fill, dtype=X.dtype), X)
        t = np.where(observed[:, feature_of], self.sufficient_statistics(filled), 0).astype(
            X.dtype, copy=False
        )
        feature_log_partition = self.feature_log_partition(params.mean).astype(X.dtype)
        log_p = (natural @ t.T).T - observed.astype(X.dtype) @ feature_log_partition.T
        row_offset = None if self.zero_base_measure else self.log_base_measure(filled)
        missing_stats = missing.astype(X.dtype)
        expected_t = np.asarray(params.mean, dtype=np.float64)

        def stats_of(resp: Array) -> MeanStats:
            # E[T(x_d) | x_obs, z = k] of a missing feature is the component's mean parameter
            # mu_kd (the features are independent): the expected statistics of the missing
            # entries are the responsibility mass of each feature's missing rows times mu_k.
            resp = resp.astype(t.dtype, copy=False)
            observed_part = (resp.T @ t).astype(np.float64, copy=False)
            missing_mass = (resp.T @ missing_stats).astype(np.float64, copy=False)
            return MeanStats(sum_t=observed_part + missing_mass[:, feature_of] * expected_t)

        return np.asarray(log_p), row_offset, stats_of

    def bytes_per_row(self, n_components: int, n_features: int, itemsize: int) -> int:
        """Bytes of the per-row temporaries of one chunk (for automatic chunk sizes).

        Parameters
        ----------
        n_components : int
        n_features : int
        itemsize : int
            Bytes of one number of the data's dtype.

        Returns
        -------
        bytes_per_row : int
        """
        # T(X) unless it is X itself, and the integer/float temporaries of log h(X).
        probe = np.zeros((1, n_features))
        statistics = self.sufficient_statistics(probe)
        cost = 0 if statistics is probe else itemsize * statistics.shape[1]
        return cost + (0 if self.zero_base_measure else 16 * n_features)

    def _natural(self, params: MeanParams, dtype: np.dtype[Any]) -> tuple[Array, Array]:
        # eta and -A(eta) in the data's dtype, computed once per parameter object (once per
        # EM iteration), not once per chunk.
        key = (settings_key(self), np.dtype(dtype).str)
        with _CACHE_LOCK:
            per_params = _NATURAL_CACHE.setdefault(params, {})
            cached = per_params.get(key)
        if cached is None:
            natural = self.natural_parameters(params.mean)
            cached = (
                np.ascontiguousarray(natural, dtype=dtype),
                np.asarray(-self.log_partition(natural), dtype=dtype),
            )
            per_params[key] = cached
        return cached

    def maximize(self, stats: MeanStats, counts: Array) -> MeanParams:
        """The M-step of every component: moment matching, with the prior as pseudo-observations.

        ``mu_k = (sum_n r_nk T(x_n) + tau m0) / (n_k + tau)``, with ``(tau, m0)`` from
        [`prior`][emkit.families.canonical.CanonicalFamily.prior]. This is the maximiser over
        the natural parameters ``eta_k`` of ``sum_n r_nk log p(x_n | eta_k) + log p(eta_k)``:
        its gradient vanishes where ``grad A(eta_k) = E[T(x)] = mu_k`` equals that average.
        Without a prior (``tau = 0``) it is the maximum-likelihood estimate.

        Parameters
        ----------
        stats : MeanStats
            ``sum_t`` of shape (n_components, n_stats), summed over all the data.
        counts : array of shape (n_components,)
            ``n_k = sum_n r_nk``, already floored away from zero.

        Returns
        -------
        params : MeanParams
            ``mean`` of shape (n_components, n_stats).
        """
        tau, m0 = self.prior()
        mean = (stats.sum_t + tau * np.asarray(m0)) / (counts[:, None] + tau)
        return MeanParams(mean)

    def log_prior(self, params: MeanParams) -> float:
        """``sum_k tau (m0 . eta_k - A(eta_k))``: the log conjugate prior, up to a constant.

        Parameters
        ----------
        params : MeanParams
            ``mean`` of shape (n_components, n_stats).

        Returns
        -------
        log_prior : float
            ``0.0`` when ``tau = 0`` (no prior).
        """
        tau, m0 = self.prior()
        if tau == 0.0:
            return 0.0
        natural = self.natural_parameters(params.mean)
        m0 = np.broadcast_to(np.asarray(m0, dtype=np.float64), natural.shape)
        return float(tau * (np.sum(m0 * natural) - np.sum(self.log_partition(natural))))

    def mean(self, params: MeanParams) -> Array:
        """The mean parameters ``E[T(x)]`` of every component.

        Parameters
        ----------
        params : MeanParams

        Returns
        -------
        mean : array of shape (n_components, n_stats)
            The mean in data space, (n_components, n_features), when ``T(x) = x``.
        """
        return params.mean

    def impute(self, X: Array, resp: Array, params: MeanParams) -> Array:
        """Missing entries filled in with ``sum_k resp[n, k] E[x_d | z = k]``.

        With independent features a missing entry's conditional mean given the row's observed
        entries and the component is the component's mean in data space
        ([`mean`][emkit.families.canonical.CanonicalFamily.mean], shape (n_components,
        n_features)); a family whose ``mean`` is not in data space overrides this.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            May hold NaN.
        resp : array of shape (n_samples, n_components)
            ``p(z_n = k | x_obs)``.
        params : MeanParams

        Returns
        -------
        X_imputed : array of shape (n_samples, n_features)
        """
        missing = np.isnan(X)
        expected = np.asarray(resp, dtype=np.float64) @ np.asarray(self.mean(params))
        return np.where(missing, expected, X).astype(X.dtype, copy=False)

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters: ``n_components * n_stats``.

        Parameters
        ----------
        n_components : int
        n_features : int

        Returns
        -------
        n_parameters : int
        """
        n_stats = int(self.sufficient_statistics(np.zeros((1, n_features))).shape[1])
        return n_components * n_stats
