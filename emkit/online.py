"""Online and incremental EM: parameters that move before the whole data has been seen.

Both drivers work on the same additive statistics as [`emkit.fit`][emkit.em.fit], and differ from it
only in *which* statistics the M-step sees.

Online EM (Cappé & Moulines, 2009)
    For a one-shot stream of mini-batches. A running average ``s`` of the *per-sample* expected
    statistics is moved towards each batch's per-sample statistics by a stochastic-approximation
    step, ``s <- s + gamma_t (s_batch / w_batch - s)`` with ``gamma_t = (t + t0)^-kappa``,
    ``kappa`` in (0.5, 1], and the M-step runs on it. The first ``warmup`` batches are averaged
    exactly (``gamma_t = 1/t`` for equal batches) before the first M-step, and the parameters
    may be Polyak averaged. [`online_step`][emkit.online.online_step] is one such step on a frozen
    [`OnlineState`][emkit.online.OnlineState]; [`fit_online`][emkit.online.fit_online] runs it over
    a stream.

Incremental EM (Neal & Hinton, 1998)
    For a re-iterable source of blocks (anything
    [`emkit.sources.as_source`][emkit.sources.as_source] accepts). Each block's statistics are kept;
    visiting a block replaces its contribution to the total with its statistics at the current
    parameters, and an M-step follows every block. This is coordinate ascent on the free energy, so
    it never decreases that lower bound, and it reaches the fixed points of batch EM, usually in
    fewer passes. [`fit_incremental`][emkit.online.fit_incremental] runs it.

The scale of the statistics and the prior
    An M-step that includes a prior (a Dirichlet on the weights, the Bernoulli pseudo-counts, the
    Gamma prior of a Poisson) weighs the prior against the data by the *size* of the
    statistics: ``pi_k ∝ n_k + alpha - 1`` only means "alpha - 1 pseudo-observations" if ``n_k``
    counts observations. Online EM keeps per-sample statistics (each batch is divided by its
    weight), so before every M-step they are multiplied back by a number of samples ``N``:
    the weight of all the data seen so far, or the dataset size the user declares
    (``n_samples``). The M-step then is the MAP estimate for ``N`` samples whose average
    statistics are ``s``: exactly the batch MAP estimate when ``s`` is the average over the data.

Moving statistics to a new reference point
    Statistics stored around a reference point that depends on the parameters of the E-step
    (a Gaussian's center, a regression's reference coefficients) cannot simply be added across
    iterations. Both drivers first move the old statistics to the new points with
    [`emkit.stats.recenter`][emkit.stats.recenter], which asks the statistics themselves
    ([`Recenterable`][emkit.protocols.Recenterable]): this module knows no family.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar, final

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_array, check_float, check_int, check_random_state
from emkit.em import Callback, FitResult, Run, check_params, fit
from emkit.protocols import LatentVariableModel
from emkit.sources import ArraySource
from emkit.sources.chunking import validate_rows
from emkit.stats import add, interpolate_params, recenter, scale

__all__ = [
    "OnlineResult",
    "OnlineSettings",
    "OnlineState",
    "as_fit_result",
    "fit_incremental",
    "fit_online",
    "online_step",
    "start_online",
]

P = TypeVar("P")
S = TypeVar("S")


def _interpolate(old: S, new: S, step: float) -> S:
    """``old + step (new - old)`` for statistics, with ``old`` first moved to ``new``'s points."""
    return add(scale(recenter(old, new), 1.0 - step), scale(new, step))


# -- online EM ---------------------------------------------------------------------------------
def _check_kappa(value: Any) -> float:
    return check_float(value, "kappa", minimum=0.5, exclusive_minimum=True, maximum=1.0)


def _check_offset(value: Any) -> float:
    return check_float(value, "offset", minimum=0.0)


def _check_warmup(value: Any) -> int:
    return check_int(value, "warmup", minimum=1)


def _check_average_after(value: Any) -> int | None:
    return None if value is None else check_int(value, "average_after", minimum=0)


def _check_n_samples(value: Any) -> float | None:
    if value is None:
        return None
    return check_float(value, "n_samples", minimum=0.0, exclusive_minimum=True)


@final
@attrs.frozen
class OnlineSettings:
    """The knobs of online EM.

    Parameters
    ----------
    kappa : float in (0.5, 1], default 0.6
        Decay of the step size ``gamma_t = (t + offset)^-kappa`` of batch ``t`` (1-based). The
        stochastic-approximation conditions (sum gamma = inf, sum gamma^2 < inf) hold for
        ``kappa`` in (0.5, 1]; smaller values forget old batches faster.
    offset : float >= 0, default 2.0
        ``t0``: damps the first steps after the warm-up.
    warmup : int >= 1, default 1
        Number of batches averaged exactly (each weighted by its share of the rows, so
        ``gamma_t = 1/t`` for equal batches) before the first M-step; the parameters stay at
        their start until then.
    average_after : int, optional
        Polyak averaging: the reported parameters are the running mean of the iterates from
        this batch on (``None``: no averaging, report the last iterate).
    n_samples : float, optional
        The number of samples the M-step weighs the prior against (see the module docstring):
        the size of the dataset the stream is drawn from. By default the total weight seen.
    """

    kappa: float = attrs.field(default=0.6, converter=_check_kappa)
    offset: float = attrs.field(default=2.0, converter=_check_offset)
    warmup: int = attrs.field(default=1, converter=_check_warmup)
    average_after: int | None = attrs.field(default=None, converter=_check_average_after)
    n_samples: float | None = attrs.field(default=None, converter=_check_n_samples)

    def step_size(self, t: int, batch_weight: float = 1.0, seen_weight: float = 1.0) -> float:
        """``gamma_t`` of batch ``t`` (from 1).

        In the warm-up, ``batch_weight / seen_weight`` (the batch's share of all the weight seen
        including it), which makes the running statistics the exact weighted mean of the batches
        (``1/t`` for batches of equal weight); after it, ``(t + t0)^-kappa``.
        """
        if t <= self.warmup:
            return batch_weight / seen_weight
        return min(1.0, float((t + self.offset) ** -self.kappa))


@final
@attrs.frozen(eq=False)
class OnlineState(Generic[P]):
    """Everything online EM carries from one mini-batch to the next (a frozen value).

    Attributes
    ----------
    settings : OnlineSettings
    params : P
        The current iterate: the parameters the next batch's E-step uses.
    stats : statistics or None
        Running average of the per-sample expected statistics (``None`` before any batch).
    log_likelihood : float
        Running average (same steps) of each batch's log-likelihood per sample under the
        parameters it was evaluated at: a prequential estimate of the fit (NaN before any batch).
    n_batches : int
        Batches seen.
    n_seen : float
        Total weight of the rows seen.
    n_features : int
    averaged_params : P or None
        Polyak average of the iterates (``None`` until averaging starts).
    n_averaged : int
        Iterates in that average.
    """

    settings: OnlineSettings
    params: P
    stats: Any
    log_likelihood: float
    n_batches: int
    n_seen: float
    n_features: int
    averaged_params: P | None = None
    n_averaged: int = 0

    @property
    def estimate(self) -> P:
        """The parameters to report: the Polyak average when there is one, else the iterate."""
        return self.averaged_params if self.averaged_params is not None else self.params


def start_online(
    model: LatentVariableModel[P, Any],
    X: Any,
    *,
    init: Any = "kmeans",
    sample_weight: Any = None,
    random_state: Any = None,
    settings: OnlineSettings | None = None,
) -> OnlineState[P]:
    """A fresh [`OnlineState`][emkit.online.OnlineState] whose starting parameters come from the
    batch ``X``.

    ``X`` is only used to initialise (by ``model.init_params`` with the method ``init``, a
    callable ``f(X, rng) -> params``, or given parameters); pass it to
    [`online_step`][emkit.online.online_step] afterwards to learn from it.
    """
    X, weights = _check_batch(model, X, sample_weight, None)
    rng = check_random_state(random_state)
    if isinstance(init, str):
        params = model.init_params(X, rng, init, weights)
        check_params(model, params, X.shape[1], f"{type(model).__name__}.init_params")
    elif callable(init):
        params = model.validate_params(init(X, rng), X.shape[1])
    else:
        params = model.validate_params(init, X.shape[1])
    return OnlineState(
        settings=settings if settings is not None else OnlineSettings(),
        params=params,
        stats=None,
        log_likelihood=math.nan,
        n_batches=0,
        n_seen=0.0,
        n_features=int(X.shape[1]),
    )


def _check_batch(
    model: LatentVariableModel[Any, Any], X: Any, sample_weight: Any, n_features: int | None
) -> tuple[Array, Array | None]:
    X = check_array(X, "X", allow_missing=True)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"`X` must have {n_features} columns like the batches before it; got shape {X.shape}"
        )
    validate_rows(model, X)
    source = ArraySource(X, sample_weight)
    return source.X, source.weights


def online_step(
    model: LatentVariableModel[P, Any],
    state: OnlineState[P],
    X: Any,
    sample_weight: Any = None,
    lengths: Any = None,
) -> OnlineState[P]:
    """One step of online EM on the mini-batch ``X``: returns the next state.

    Parameters
    ----------
    model : LatentVariableModel
    state : OnlineState
        From [`start_online`][emkit.online.start_online] or a previous step.
    X : array-like of shape (n_batch, n_features)
    sample_weight : array-like of shape (n_batch,), optional
    lengths : int array-like of shape (n_sequences,), optional
        For a model whose rows come in blocks ([`RowBlocks`][emkit.protocols.RowBlocks], e.g. a
        hidden Markov model): the sizes of the whole sequences in the batch (default: the
        model's ``default_lengths``, one sequence for an HMM).

    Returns
    -------
    OnlineState
        E-step of the batch at ``state.params``, stochastic-approximation update of the running
        per-sample statistics, and (after the warm-up) an M-step on them scaled to ``N`` samples.
    """
    X, weights = _check_batch(model, X, sample_weight, state.n_features)
    source = ArraySource(X, weights, lengths=lengths)
    batch_weight = source.total_weight
    if batch_weight <= 0:
        raise ValueError("`sample_weight` of a batch must have at least one positive entry")
    stats, log_likelihood = source.expectation(model, state.params)
    per_sample = scale(stats, 1.0 / batch_weight)
    t = state.n_batches + 1
    settings = state.settings
    n_seen = state.n_seen + batch_weight
    step = settings.step_size(t, batch_weight, n_seen)
    if state.stats is None:
        running, running_ll = per_sample, log_likelihood / batch_weight
    else:
        running = _interpolate(state.stats, per_sample, step)
        running_ll = state.log_likelihood + step * (
            log_likelihood / batch_weight - state.log_likelihood
        )
    params, averaged, n_averaged = state.params, state.averaged_params, state.n_averaged
    if t >= settings.warmup:
        # Per-sample statistics times N samples: the prior keeps its batch-EM weight.
        n_scale = settings.n_samples if settings.n_samples is not None else n_seen
        params = model.m_step(scale(running, n_scale))
        check_params(
            model, params, state.n_features, f"{type(model).__name__}.m_step", f" at batch {t}"
        )
        if settings.average_after is not None and t >= settings.average_after:
            n_averaged += 1
            averaged = (
                params
                if averaged is None
                else interpolate_params(averaged, params, 1.0 / n_averaged)
            )
    return attrs.evolve(
        state,
        params=params,
        stats=running,
        log_likelihood=running_ll,
        n_batches=t,
        n_seen=n_seen,
        averaged_params=averaged,
        n_averaged=n_averaged,
    )


@final
@attrs.frozen(eq=False)
class OnlineResult(Generic[P]):
    """The outcome of [`fit_online`][emkit.online.fit_online].

    Attributes
    ----------
    model : LatentVariableModel
    params : P
        The final estimate (Polyak-averaged when averaging is on).
    state : OnlineState
        The final state: pass it to [`online_step`][emkit.online.online_step] to keep learning.
    history : array of shape (n_batches,)
        The running per-sample log-likelihood after every batch (see
        [`OnlineState.log_likelihood`][emkit.online.OnlineState]).
    n_batches : int
    n_samples : float
        Total weight of the rows seen.
    """

    model: LatentVariableModel[P, Any]
    params: P
    state: OnlineState[P]
    history: Array
    n_batches: int
    n_samples: float


OnlineCallback = Callable[[OnlineState[Any]], Any]


def as_fit_result(
    model: LatentVariableModel[P, Any], state: OnlineState[P], history: Sequence[float]
) -> FitResult[P]:
    """A [`FitResult`][emkit.em.FitResult] of online EM so far (what ``partial_fit`` reports).

    ``history`` holds the running objective per sample after every batch. The result's
    log-likelihood is the running per-sample log-likelihood times the weight seen (a
    prequential estimate: each batch was scored at the parameters it met), ``n_iter`` counts
    batches, and ``converged`` is False: a stream has no end to converge at.
    """
    params = state.estimate
    log_prior = model.log_prior(params)
    bounds = np.asarray([history[0], *history], dtype=np.float64) * state.n_seen
    run = Run(
        params=params,
        log_likelihood=state.log_likelihood * state.n_seen,
        log_prior=log_prior,
        history=bounds,
        n_iter=state.n_batches,
        converged=False,
    )
    return FitResult.best_of(model, [run], state.n_seen, state.n_features)


def _split_batch(item: Any) -> tuple[Any, Any, Any]:
    if isinstance(item, tuple):
        if len(item) not in (2, 3):
            raise ValueError(
                f"a batch must be an array or a tuple (X, sample_weight[, lengths]); got a tuple "
                f"of {len(item)} items"
            )
        return (*item, None)[:3]
    return item, None, None


def fit_online(
    model: LatentVariableModel[P, Any],
    batches: Iterable[Any],
    *,
    init: Any = "kmeans",
    kappa: float = 0.6,
    offset: float = 2.0,
    warmup: int = 1,
    average_after: int | None = None,
    n_samples: float | None = None,
    random_state: Any = None,
    callbacks: Sequence[OnlineCallback] = (),
) -> OnlineResult[P]:
    """Online EM over a one-shot stream of mini-batches (each batch is read once).

    Parameters
    ----------
    model : LatentVariableModel
    batches : iterable
        Arrays of shape (n_batch, n_features), or ``(X, sample_weight)`` or ``(X,
        sample_weight, lengths)`` tuples (``lengths``: the whole sequences of the batch, for a
        hidden Markov model; an array alone is one sequence). A generator is fine: the stream
        is read once, in order.
    init : str, parameters, or callable, default "kmeans"
        Starting parameters, computed from the first batch when given as a method name or a
        callable ``f(X, rng)``.
    kappa, offset, warmup, average_after, n_samples
        See [`OnlineSettings`][emkit.online.OnlineSettings].
    random_state : None, int, SeedSequence or Generator
        For the initialisation.
    callbacks : sequence of callables
        Each is called with the [`OnlineState`][emkit.online.OnlineState] after every batch;
        returning ``True`` stops the fit.

    Returns
    -------
    OnlineResult
    """
    settings = OnlineSettings(kappa, offset, warmup, average_after, n_samples)
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"`callbacks` must hold callables; got {callback!r}")
    state: OnlineState[P] | None = None
    history: list[float] = []
    for item in batches:
        X, weights, lengths = _split_batch(item)
        if state is None:
            state = start_online(
                model,
                X,
                init=init,
                sample_weight=weights,
                random_state=random_state,
                settings=settings,
            )
        state = online_step(model, state, X, weights, lengths)
        history.append(state.log_likelihood)
        stop = False
        for callback in callbacks:
            stop = callback(state) is True or stop
        if stop:
            break
    if state is None:
        raise ValueError("`batches` must yield at least one mini-batch; it was empty")
    return OnlineResult(
        model=model,
        params=state.estimate,
        state=state,
        history=np.asarray(history),
        n_batches=state.n_batches,
        n_samples=state.n_seen,
    )


# -- incremental EM ----------------------------------------------------------------------------
def fit_incremental(
    model: LatentVariableModel[P, Any],
    X: Any,
    *,
    init: Any = "kmeans",
    max_sweeps: int = 50,
    tol: float = 1e-3,
    n_init: int = 1,
    sample_weight: Any = None,
    labels: Any = None,
    random_state: Any = None,
    callbacks: Sequence[Callback] = (),
    chunk_size: int | None = None,
) -> FitResult[P]:
    """Incremental EM (Neal & Hinton): an M-step after every block of rows.

    This is [`emkit.fit`][emkit.em.fit] with ``schedule="incremental"`` (see
    [`emkit.schedules`][emkit.schedules]): the same loop, guards, warnings and result. The blocks
    are the chunks of the source (``chunk_size`` rows for arrays and memory maps, the given chunks
    of a chunk stream, the blocks of a Dask array). After one pass at the start, every visit of
    block ``b`` computes its statistics at the current parameters, replaces its previous
    contribution to the total, and runs an M-step on the total.

    Parameters
    ----------
    model : LatentVariableModel
    X : anything [`emkit.sources.as_source`][emkit.sources.as_source] accepts
    init : str, parameters, or callable, default "kmeans"
        As in [`emkit.fit`][emkit.em.fit].
    max_sweeps : int, default 50
        Maximum number of passes over all the blocks after the initial one.
    tol : float, default 1e-3
        Stop when the sweep objective changes by less than ``tol`` per unit of data weight.
    n_init, sample_weight, labels, random_state, chunk_size
        As in [`emkit.fit`][emkit.em.fit].
    callbacks : sequence of callables
        Called with an [`IterationState`][emkit.em.IterationState] after the initial pass and after
        every sweep (``iteration`` counts sweeps); returning ``True`` stops.

    Returns
    -------
    FitResult
        ``history`` holds the sweep objectives: the sum over blocks of each block's
        log-likelihood at the parameters it was last visited with, plus the log-prior of the
        parameters after the sweep. ``log_likelihood`` is exact: one more pass at the returned
        parameters.

    Notes
    -----
    Every block visit raises the free energy ``F(q, theta)``, a lower bound of the objective, so
    incremental EM never goes downhill on it, and its fixed points are those of batch EM. The
    full-data objective at the end of each sweep is not bounded below by the previous one in
    theory, but climbs in practice (emkit's tests check this on every family).
    """
    max_sweeps = check_int(max_sweeps, "max_sweeps", minimum=0)
    return fit(
        model,
        X,
        init=init,
        n_init=n_init,
        max_iter=max_sweeps,
        tol=tol,
        schedule="incremental",
        sample_weight=sample_weight,
        labels=labels,
        random_state=random_state,
        callbacks=callbacks,
        chunk_size=chunk_size,
    )
