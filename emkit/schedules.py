"""Which statistics each M-step sees: the schedules of the one EM driver.

[`emkit.fit`][emkit.em.fit] runs one loop for every kind of EM; a schedule says what one iteration
does.

``"batch"`` ([`BatchEM`][emkit.schedules.BatchEM])
    One M-step on the statistics of the whole data, then one pass over all of it (the E-step
    at the new parameters). The objective never decreases.

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

from emkit.protocols import DataSource, LatentVariableModel
from emkit.sources.chunking import chunk_e_step
from emkit.stats import add, recenter, scale

__all__ = ["SCHEDULES", "BatchEM", "IncrementalEM", "Schedule", "make_schedule"]

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
class BatchEM(Generic[P, S]):
    """Classical EM: an M-step on all the statistics, then an E-step pass at the new parameters."""

    monotone = True

    def __init__(self, model: LatentVariableModel[P, S], source: DataSource) -> None:
        self.model, self.source = model, source

    def start(self, params: P) -> tuple[S, float]:
        return self.source.expectation(self.model, params)

    def iterate(self, stats: S, m_step: Callable[[S], P]) -> tuple[P, S, float]:
        params = m_step(stats)
        new_stats, log_likelihood = self.source.expectation(self.model, params)
        return params, new_stats, log_likelihood

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
