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

    Subclasses are frozen attrs classes; they set the conjugate prior through
    [`prior`][emkit.families.canonical.CanonicalFamily.prior] (``tau = 0`` means no prior, plain
    maximum likelihood).
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

    #: The class of the parameters (for ``emkit.registry.register_family``).
    params_type: ClassVar[type] = MeanParams

    #: True when ``log h(x) = 0`` for every x (the E-step then skips it).
    zero_base_measure: ClassVar[bool] = False

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
        log_p, row_offset, _ = self.log_prob_with_stats(X, params)
        if row_offset is not None:
            log_p += row_offset[:, None].astype(log_p.dtype)
        return log_p

    def expected_stats(self, X: Array, resp: Array, center: Array) -> MeanStats:
        t = self.sufficient_statistics(X)
        resp = resp.astype(t.dtype, copy=False)
        return MeanStats(sum_t=(resp.T @ t).astype(np.float64, copy=False))

    def log_prob_with_stats(
        self, X: Array, params: MeanParams
    ) -> tuple[Array, Array | None, Callable[[Array], MeanStats]]:
        """The fused E-step of a chunk: two matrix products in all.

        Returns ``(T(X) @ eta^T - A(eta)`` (n, K), ``log h(X)`` (n,) or None when it is 0, and
        a function of the responsibilities giving ``resp^T @ T(X)``). ``log h(X)`` is the same
        for every component, so a mixture adds it to the row's log-likelihood only.
        """
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

    def bytes_per_row(self, n_components: int, n_features: int, itemsize: int) -> int:
        """Bytes of the per-row temporaries of one chunk (for automatic chunk sizes)."""
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
