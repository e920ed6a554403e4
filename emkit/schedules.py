"""Which statistics each M-step sees: the schedules of the one EM driver.

[`emkit.fit`][emkit.em.fit] runs one loop for every kind of EM; a schedule says what one iteration
does.

``"batch"`` ([`BatchEM`][emkit.schedules.BatchEM])
    One M-step on the statistics of the whole data, then one pass over all of it (the E-step
    at the new parameters). The objective never decreases. For a model whose M-step is itself
    iterative ([`IterativeMStep`][emkit.protocols.IterativeMStep]) the M-step is a loop of inner
    passes with the latent posteriors held fixed (generalised EM; see
    [`BatchEM`][emkit.schedules.BatchEM]).

``"incremental"`` ([`IncrementalEM`][emkit.schedules.IncrementalEM], Neal & Hinton 1998)
    One iteration is a *sweep* over the source's chunks: each chunk's statistics are kept, and
    visiting a chunk replaces its contribution to the total with its statistics at the current
    parameters, followed by an M-step. It is coordinate ascent on the free energy, so it never
    decreases that lower bound and it reaches the fixed points of batch EM, usually in fewer
    passes. The objective a sweep reports is the sum of each chunk's log-likelihood at the
    parameters it was visited with (plus the log-prior after the sweep); the exact
    log-likelihood at the final parameters comes from one more pass.

Statistics of different iterations are combined with [`emkit.stats.recenter`][emkit.stats.recenter]
first, so a model whose statistics are stored around a reference point works with either schedule.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, final

import attrs
import numpy as np

from emkit._backend import Array
from emkit.protocols import ChunkCost, DataSource, IterativeMStep, LatentVariableModel, RowBlocks
from emkit.sources.chunking import chunk_e_step
from emkit.stats import add, interpolate_params, recenter, scale

__all__ = [
    "ASCENT_RTOL",
    "MAX_HALVINGS",
    "SCHEDULES",
    "BatchEM",
    "IncrementalEM",
    "InnerPass",
    "Schedule",
    "make_schedule",
]

ASCENT_RTOL = 1e-12
"""An inner candidate of generalised EM counts as no worse than the best so far when its bound
is below it by at most this much relative to ``|bound| + total weight`` (rounding)."""

MAX_HALVINGS = 8
"""How many times generalised EM moves a candidate that lowers the bound halfway back towards
the best parameters before it gives up on the inner step."""

P = TypeVar("P")
S = TypeVar("S")

SCHEDULES = ("batch", "incremental")
"""The schedule names [`emkit.fit`][emkit.em.fit] accepts."""


class Schedule(Protocol[P, S]):
    """One iteration of EM, as the driver sees it.

    ``m_step`` is the driver's guarded M-step: it checks the model's output before returning it.
    """

    #: Whether the objective this schedule reports can never decrease (the driver then warns
    #: about a decrease beyond rounding).
    monotone: bool

    def start(self, params: P) -> tuple[S, float]:
        """Statistics and log-likelihood at the starting parameters."""
        ...

    def iterate(self, stats: S, m_step: Callable[[S], P]) -> tuple[P, S, float]:
        """From the previous statistics to ``(params, stats, log_likelihood)``."""
        ...

    def finish(self, params: P, stats: S, log_likelihood: float) -> tuple[S, float]:
        """The exact statistics and log-likelihood at the final parameters."""
        ...


@final
@attrs.frozen(eq=False)
class InnerPass(Generic[P, S]):
    """A model's inner passes as a model of their own, so that every source can run them.

    ``e_step(X, current)`` is ``model.inner_e_step(X, outer, current)``: the statistics of one
    inner step of generalised EM with the latent posteriors of ``outer`` (see
    [`IterativeMStep`][emkit.protocols.IterativeMStep]). Chunk sizes and blocks are the model's.
    """

    model: LatentVariableModel[P, S]
    outer: P

    def validate_data(self, X: Array) -> Array:
        return self.model.validate_data(X)

    def init_params(
        self, X: Array, rng: np.random.Generator, method: str, weights: Array | None = None
    ) -> P:
        return self.model.init_params(X, rng, method, weights)

    def validate_params(self, params: P, n_features: int) -> P:
        return self.model.validate_params(params, n_features)

    def m_step(self, stats: S) -> P:
        return self.model.m_step(stats)

    def log_prior(self, params: P) -> float:
        return self.model.log_prior(params)

    def n_parameters(self, n_features: int) -> int:
        return self.model.n_parameters(n_features)

    def default_lengths(self, n_samples: int) -> Array | None:
        model = self.model
        return model.default_lengths(n_samples) if isinstance(model, RowBlocks) else None

    def bytes_per_row(self, n_features: int, itemsize: int) -> int:
        model = self.model
        if isinstance(model, ChunkCost):
            return model.bytes_per_row(n_features, itemsize)
        return 16 * itemsize * n_features

    def e_step(
        self,
        X: Array,
        params: P,
        weights: Array | None = None,
        labels: Array | None = None,
        lengths: Array | None = None,
    ) -> tuple[S, float]:
        model = self.model
        if not isinstance(model, IterativeMStep):
            raise TypeError(f"{type(model).__name__} has no inner passes (IterativeMStep)")
        stats: S
        stats, bound = model.inner_e_step(X, self.outer, params, weights, labels, lengths)
        return stats, bound


@final
class BatchEM(Generic[P, S]):
    """Classical EM: an M-step on all the statistics, then an E-step pass at the new parameters.

    For a model whose M-step is iterative ([`IterativeMStep`][emkit.protocols.IterativeMStep])
    the M-step is generalised EM's inner loop: ``m_step`` makes one step from the E-step's
    statistics; each inner pass over the data (latent posteriors of the E-step's parameters
    ``outer`` held fixed) gives the statistics for the next step and the bound
    ``F(candidate; outer)``. A candidate whose bound (plus log-prior) falls below the best one
    so far (at first the log-likelihood plus log-prior at ``outer``) is moved halfway back
    towards the best parameters, up to [`MAX_HALVINGS`][emkit.schedules.MAX_HALVINGS] times;
    the loop ends when no ascent is found, when the model says its inner iteration has
    converged, or after ``max_inner_steps`` passes. The accepted parameters never lower the
    bound, so the log-likelihood never decreases.
    """

    monotone = True

    def __init__(self, model: LatentVariableModel[P, S], source: DataSource) -> None:
        self.model, self.source = model, source
        self._params: P | None = None
        self._log_likelihood = math.nan
        #: Inner passes made by the last iteration (0 for a model without them).
        self.inner_passes = 0

    def start(self, params: P) -> tuple[S, float]:
        stats, log_likelihood = self.source.expectation(self.model, params)
        self._params, self._log_likelihood = params, log_likelihood
        return stats, log_likelihood

    def iterate(self, stats: S, m_step: Callable[[S], P]) -> tuple[P, S, float]:
        model = self.model
        if (
            isinstance(model, IterativeMStep)
            and model.max_inner_steps > 0
            and self._params is not None
        ):
            params = self._inner_loop(model, self._params, stats, m_step)
        else:
            params = m_step(stats)
        new_stats, log_likelihood = self.source.expectation(self.model, params)
        self._params, self._log_likelihood = params, log_likelihood
        return params, new_stats, log_likelihood

    def _inner_loop(
        self, model: IterativeMStep[P, S], outer: P, stats: S, m_step: Callable[[S], P]
    ) -> P:
        log_prior = self.model.log_prior
        inner: InnerPass[P, S] = InnerPass(self.model, outer)
        noise = ASCENT_RTOL * (abs(self._log_likelihood) + self.source.total_weight)
        best, best_value = outer, self._log_likelihood + log_prior(outer)
        candidate = m_step(stats)
        self.inner_passes = 0
        inner_stats: S
        for _ in range(model.max_inner_steps):
            inner_stats, bound = self.source.expectation(inner, candidate)
            self.inner_passes += 1
            value = bound + log_prior(candidate)
            halvings = 0
            while not value >= best_value - noise and halvings < MAX_HALVINGS:
                # Too far along the step: halfway back towards the best parameters.
                candidate = interpolate_params(best, candidate, 0.5)
                inner_stats, bound = self.source.expectation(inner, candidate)
                self.inner_passes += 1
                value = bound + log_prior(candidate)
                halvings += 1
            if not value >= best_value - noise:
                break  # no ascent along this step: keep the best parameters
            previous, best, best_value = best, candidate, max(value, best_value)
            if model.inner_converged(previous, candidate):
                break
            candidate = m_step(inner_stats)
        return best

    def finish(self, params: P, stats: S, log_likelihood: float) -> tuple[S, float]:
        # The last pass was at the final parameters already.
        return stats, log_likelihood


@final
class IncrementalEM(Generic[P, S]):
    """Incremental EM: an M-step after every chunk of the source (see the module docstring)."""

    monotone = False  # the free energy never decreases; the sweep objective may, a little

    def __init__(self, model: LatentVariableModel[P, S], source: DataSource) -> None:
        self.model, self.source = model, source
        self.chunk_stats: list[S] = []
        self.chunk_ll: list[float] = []

    def start(self, params: P) -> tuple[S, float]:
        self.chunk_stats, self.chunk_ll = [], []
        for chunk in self.source.iter_chunks(self.model):
            stats, ll = chunk_e_step(self.model, chunk, params)
            self.chunk_stats.append(stats)
            self.chunk_ll.append(ll)
        if not self.chunk_stats:
            raise ValueError("the data source yielded no rows")
        return _sum_recentered(self.chunk_stats), math.fsum(self.chunk_ll)

    def iterate(self, stats: S, m_step: Callable[[S], P]) -> tuple[P, S, float]:
        total = stats
        for index, chunk in enumerate(self.source.iter_chunks(self.model)):
            params = m_step(total)
            new, ll = chunk_e_step(self.model, chunk, params)
            # Replace the chunk's old contribution, everything moved to the new reference point.
            old = recenter(self.chunk_stats[index], new)
            total = add(add(recenter(total, new), scale(old, -1.0)), new)
            self.chunk_stats[index], self.chunk_ll[index] = new, ll
        # Re-sum exactly once per sweep so that subtraction errors never accumulate.
        total = _sum_recentered(self.chunk_stats)
        return m_step(total), total, math.fsum(self.chunk_ll)

    def finish(self, params: P, stats: S, log_likelihood: float) -> tuple[S, float]:
        return self.source.expectation(self.model, params)


def _sum_recentered(items: list[S]) -> S:
    """Sum of statistics from different parameters, all moved to the last one's points."""
    last = items[-1]
    total = recenter(items[0], last)
    for item in items[1:]:
        total = add(total, recenter(item, last))
    return total


def make_schedule(
    name: str, model: LatentVariableModel[P, S], source: DataSource
) -> Schedule[P, S]:
    """The schedule called ``name`` (one of [`SCHEDULES`][emkit.schedules.SCHEDULES]) for ``model``
    on ``source``."""
    schedules: dict[str, Any] = {"batch": BatchEM, "incremental": IncrementalEM}
    schedule: Schedule[P, S] = schedules[name](model, source)
    return schedule
