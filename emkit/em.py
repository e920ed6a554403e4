"""The one EM driver: fits any [`LatentVariableModel`][emkit.protocols.LatentVariableModel] on any
data source.

Each iteration is an M-step on the statistics of the previous pass followed by one pass over the
data (the E-step at the new parameters), so every reported objective belongs to the parameters
returned with it. The objective is ``log p(X | theta) + log p(theta)``; EM never lets it go down.
The same loop runs incremental EM (an M-step after every chunk, see
[`emkit.schedules`][emkit.schedules]) and the scikit-learn-style estimators (whose stopping rule is
``stopping="lagged"``).

The driver protects a plugin author from silent failures: every M-step's output must be finite
and pass the model's own ``validate_params``, and the objective must stay finite; otherwise the
fit stops with a [`ModelError`][emkit.exceptions.ModelError] that names the model class, the
iteration and the offending parameter field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, final

import attrs
import numpy as np

from emkit._backend import Array, linear_sum_assignment
from emkit._validation import check_choice, check_float, check_int, check_random_state
from emkit.exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    LikelihoodDecreaseWarning,
    ModelError,
    warn_caller,
)
from emkit.protocols import Clustering, DataSource, Diagnosing, LatentVariableModel
from emkit.schedules import SCHEDULES, Schedule, make_schedule
from emkit.sources import as_source
from emkit.sources.chunking import per_row
from emkit.starts import ShortRuns, canonical_order, collapsed, model_start, run_short_runs
from emkit.stats import NonFinite, first_non_finite, take_components

__all__ = [
    "DECREASE_RTOL",
    "ORDERS",
    "RESTART_BEST_ATOL",
    "STOPPING_RULES",
    "FitResult",
    "IterationState",
    "Run",
    "align_to_labels",
    "check_params",
    "fit",
]

P = TypeVar("P")
S = TypeVar("S")

STOPPING_RULES = ("change", "lagged")
"""The values of ``fit(stopping=...)``.

``"change"`` stops when the objective changes by less than ``tol`` per unit weight;
``"lagged"`` (scikit-learn's rule) stops one M-step after the first such change.
"""

ORDERS = ("auto", "canonical", "start")
"""The values of ``fit(order=...)``: how the components of the result are numbered.

``"canonical"`` puts every run's components in the canonical order of
[`canonical_order`][emkit.starts.canonical_order] (decreasing weight, ties by the first
coordinate of the mean); ``"start"`` keeps the order of each run's start; ``"auto"`` is
``"start"`` when the components are tied to the user (starting parameters given as ``init``, or
``labels``) and ``"canonical"`` otherwise.
"""

RESTART_BEST_ATOL = 1e-3
"""Per unit of data weight, how far below the best final objective a restart may end and still
count as having reached the best ([`FitResult.restarts_at_best`][emkit.em.FitResult]): the default
``tol`` of [`fit`][emkit.em.fit], so runs that stopped at one optimum count together, while
distinct optima of a real problem differ by more (e.g. 0.01 per row and more on Old Faithful)."""

DECREASE_RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}
"""Relative size (per unit of |objective| + total weight) of a decrease that still counts as
floating-point noise, by the precision the E-step computes in.
"""


@final
@attrs.frozen(eq=False)
class IterationState(Generic[P]):
    """What a callback sees after every iteration (iteration 0 is the starting point).

    Attributes
    ----------
    restart : int
        Which of the ``n_init`` runs this is (0-based).
    iteration : int
        Number of M-steps taken so far.
    params : P
        The parameters after this iteration's M-step.
    log_likelihood, log_prior : float
        At ``params``.
    change : float
        Change of the objective per unit of data weight since the previous iteration (NaN at 0).
    converged : bool
        Whether the stopping rule is met here (the run then ends after the callbacks).
    """

    restart: int
    iteration: int
    params: P
    log_likelihood: float
    log_prior: float
    change: float
    converged: bool = False

    @property
    def objective(self) -> float:
        """``log_likelihood + log_prior``, the quantity EM increases."""
        return self.log_likelihood + self.log_prior


def _restart_indices(value: Any) -> tuple[int, ...]:
    return tuple(int(index) for index in value)


@final
@attrs.frozen(eq=False)
class FitResult(Generic[P]):
    """The outcome of [`fit`][emkit.em.fit]: the best of ``n_init`` runs.

    Attributes
    ----------
    model : LatentVariableModel
    params : P
        Fitted parameters.
    log_likelihood : float
        ``sum_n w_n log p(x_n | params)`` over the training data.
    log_prior : float
        ``log p(params)`` (0.0 without a prior).
    history : array of shape (n_iter + 1,)
        Objective at the start and after every iteration of the best run.
    n_iter : int
        M-steps taken by the best run.
    converged : bool
        Whether the best run met ``tol`` before ``max_iter``.
    n_samples : float
        Total weight of the data (the number of rows without weights).
    n_features : int
    restart : int
        Index of the best run.
    restart_objectives : array of shape (n_init,)
        Final objective of every run.
    collapsed_restarts : tuple of int
        The runs (0-based, the best one included) that ended with a component of weight below
        one row ([`collapsed`][emkit.starts.collapsed]); reported, not discarded: the best run is
        still the one of highest objective. Empty for models without a
        [`component_summary`][emkit.starts.component_summary].
    n_start_iter : int
        EM iterations spent choosing the starts, over all runs (emEM's short runs,
        [`ShortRuns`][emkit.starts.ShortRuns]); 0 for starts that run no EM. The whole cost of
        the fit is ``n_start_iter`` plus the iterations of every run.

    Notes
    -----
    Unless ``fit(order="start")`` (or the components are tied to given starting parameters or
    labels), the components of ``params`` are in the canonical order of
    [`canonical_order`][emkit.starts.canonical_order]: by decreasing weight, ties by the first
    coordinate of the mean. Every run is put in that order when it ends, so runs and fits of one
    model are comparable component by component.
    """

    model: LatentVariableModel[P, Any]
    params: P
    log_likelihood: float
    log_prior: float
    history: Array
    n_iter: int
    converged: bool
    n_samples: float
    n_features: int
    restart: int
    restart_objectives: Array
    collapsed_restarts: tuple[int, ...] = attrs.field(default=(), converter=_restart_indices)
    n_start_iter: int = 0

    @property
    def objective(self) -> float:
        """``log_likelihood + log_prior``."""
        return self.log_likelihood + self.log_prior

    @property
    def restarts_at_best(self) -> int:
        """How many of the ``n_init`` runs reached the best objective: those that ended within
        [`RESTART_BEST_ATOL`][emkit.em.RESTART_BEST_ATOL] per unit of data weight of it (the best
        run included, so at least 1)."""
        return self.restarts_within(RESTART_BEST_ATOL)

    def restarts_within(self, atol: float) -> int:
        """How many runs ended within ``atol`` per unit of data weight of the best objective.

        Parameters
        ----------
        atol : float
            Non-negative tolerance on the objective per unit of data weight.

        Returns
        -------
        count : int
            Between 1 and ``n_init``.
        """
        atol = check_float(atol, "atol", minimum=0.0)
        objectives = np.asarray(self.restart_objectives, dtype=np.float64)
        best = float(objectives.max())
        return int(np.count_nonzero(objectives >= best - atol * self.n_samples))

    @property
    def mean_log_likelihood(self) -> float:
        """Log-likelihood per unit of data weight (scikit-learn's ``score``)."""
        return self.log_likelihood / self.n_samples

    @classmethod
    def best_of(
        cls,
        model: LatentVariableModel[P, Any],
        runs: Sequence[Run[P]],
        n_samples: float,
        n_features: int,
    ) -> FitResult[P]:
        """The result of the run with the highest final objective (the one place a FitResult
        is assembled from runs, for every driver).

        The runs are taken as they are (the driver has put each in the order ``fit(order=...)``
        asks for); every run whose params have a collapsed component is listed in
        ``collapsed_restarts``, and the runs' ``start_iter`` are summed into ``n_start_iter``.
        """
        if not runs:
            raise ValueError("`runs` must hold at least one run")
        best = max(range(len(runs)), key=lambda r: runs[r].objective)
        run = runs[best]
        return cls(
            model=model,
            params=run.params,
            log_likelihood=run.log_likelihood,
            log_prior=run.log_prior,
            history=np.asarray(run.history, dtype=np.float64),
            n_iter=run.n_iter,
            converged=run.converged,
            n_samples=float(n_samples),
            n_features=int(n_features),
            restart=best,
            restart_objectives=np.array([r.objective for r in runs]),
            collapsed_restarts=tuple(
                index for index, r in enumerate(runs) if collapsed(model, r.params, n_samples)
            ),
            n_start_iter=sum(r.start_iter for r in runs),
        )


@final
@attrs.frozen(eq=False)
class Run(Generic[P]):
    """How one EM run ended: what [`FitResult.best_of`][emkit.em.FitResult.best_of] chooses from.

    Attributes
    ----------
    params : P
    log_likelihood, log_prior : float
        At ``params``.
    history : array of shape (n_iter + 1,)
        The objective at the start and after every iteration.
    n_iter : int
    converged : bool
    stopped_by_callback : bool
    last_change : float
        The last change of the objective per unit weight (NaN before any iteration).
    start_iter : int
        EM iterations spent choosing this run's start (emEM's short runs; 0 for other starts).
    """

    params: P
    log_likelihood: float
    log_prior: float
    history: Array
    n_iter: int
    converged: bool
    stopped_by_callback: bool = False
    last_change: float = math.nan
    start_iter: int = 0

    @property
    def objective(self) -> float:
        """``log_likelihood + log_prior``."""
        return self.log_likelihood + self.log_prior


Callback = Callable[[IterationState[Any]], Any]


def fit(
    model: LatentVariableModel[P, Any],
    X: Any,
    *,
    init: str | ShortRuns | P | Callable[[Array, np.random.Generator], P] = "kmeans",
    n_init: int = 1,
    max_iter: int = 100,
    tol: float = 1e-3,
    stopping: str = "change",
    previous_objective: float | None = None,
    schedule: str = "batch",
    sample_weight: Any = None,
    labels: Any = None,
    lengths: Any = None,
    random_state: Any = None,
    callbacks: Sequence[Callback] = (),
    chunk_size: int | None = None,
    order: str = "auto",
) -> FitResult[P]:
    """Fit ``model`` to ``X`` by Expectation-Maximization.

    Parameters
    ----------
    model : LatentVariableModel
        E.g. ``FiniteMixture(Gaussian("full"), n_components=3)``.
    X : array-like of shape (n_samples, n_features), or where such rows live
        An array (in memory), a path to a ``.npy`` file or a ``np.memmap`` (read in row
        blocks), a list of 2-D arrays or a callable returning a fresh iterator of them (chunks),
        a ``dask.array.Array`` (fitted on the active Dask cluster), or a DataSource; see
        [`emkit.sources.as_source`][emkit.sources.as_source].
    init : str, ShortRuns, parameters, or callable, default "kmeans"
        A method name for ``model.init_params`` (for mixtures: one of
        [`init_methods`][emkit.init.init_methods]), a model-level strategy (``"emEM"``, or its
        settings [`ShortRuns`][emkit.starts.ShortRuns]: short EM runs from random starts, the
        best continued; see [`emkit.starts`][emkit.starts]), starting parameters, or
        ``f(X_sample, rng) -> params``.
    n_init : int, default 1
        Number of runs from different starts; the run with the highest final objective wins.
        [`FitResult.restarts_at_best`][emkit.em.FitResult] says how many reached it and
        ``collapsed_restarts`` which ended with a collapsed component.
    max_iter : int, default 100
        Maximum number of iterations (M-steps, or sweeps for incremental EM) per run; 0
        evaluates the start only.
    tol : float, default 1e-3
        Convergence threshold on the change of the objective per unit of data weight.
    stopping : {"change", "lagged"}, default "change"
        ``"change"`` stops as soon as the objective changes by less than ``tol``;
        ``"lagged"`` is scikit-learn's rule: it stops one M-step after the first such change
        (scikit-learn compares the log-likelihoods of the E-steps *before* its M-steps), so the
        same start gives scikit-learn's parameters and iteration count.
    previous_objective : float, optional
        With ``stopping="lagged"``: the objective per unit weight of a previous fit that the
        start's objective is compared with (a warm start, as scikit-learn's ``warm_start``).
    schedule : {"batch", "incremental"}, default "batch"
        Batch EM, or incremental EM with an M-step after every chunk (see
        [`emkit.schedules`][emkit.schedules]).
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative row weights; an integer weight equals repeating the row.
    labels : int array-like of shape (n_samples,), optional
        Known latent values (-1 where unknown): semi-supervised EM with those rows'
        responsibilities fixed. Only for models whose ``e_step`` accepts labels.
    lengths : int array-like of shape (n_sequences,), optional
        The sizes of consecutive sequences (or groups) of rows, summing to n_samples
        (hmmlearn's convention), for a model whose rows come in blocks
        ([`RowBlocks`][emkit.protocols.RowBlocks], e.g. a hidden Markov model); no source cuts
        one. Without it such a model reads each array (each chunk of a chunk list) as its
        ``default_lengths``: one sequence for an HMM.
    random_state : None, int, SeedSequence or numpy Generator
        The same seed gives an identical result.
    callbacks : sequence of callables
        Each is called with an [`IterationState`][emkit.em.IterationState] after initialisation and
        after every iteration; a callback that returns ``True`` stops the run.
    chunk_size : int, optional
        Rows per E-step chunk for in-memory, memory-mapped and chunked data (default: from a
        memory budget).
    order : {"auto", "canonical", "start"}, default "auto"
        How the components of the result are numbered (for models with components, see
        [`canonical_order`][emkit.starts.canonical_order]): ``"canonical"`` by decreasing
        weight, ties by the first coordinate of the mean, so that repeated fits and restarts are
        comparable; ``"start"`` as in each run's start (what scikit-learn does, so that a fit
        from given starting values matches it component by component); ``"auto"`` keeps the
        start's order when ``init`` holds starting parameters or ``labels`` are given (the
        components are then the user's) and is canonical otherwise. ``"canonical"`` with
        ``labels`` is refused: a labelled row must stay with its component. Each run is
        reordered when it ends, before its last callback, so the last
        [`IterationState`][emkit.em.IterationState] holds the returned parameters (unless a
        callback stopped the run).

    Returns
    -------
    FitResult

    Raises
    ------
    ModelError
        The model's M-step returned non-finite parameters or parameters its own
        ``validate_params`` refuses, or the objective became non-finite.

    Warns
    -----
    ConvergenceWarning
        The best run reached ``max_iter`` without converging.
    LikelihoodDecreaseWarning
        The objective went down by more than floating-point noise (a bug in the model).
    DegenerateComponentWarning
        The model's ``diagnose`` ([`Diagnosing`][emkit.protocols.Diagnosing]) reports a degenerate
        fit.
    """
    n_init = check_int(n_init, "n_init", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    tol = check_float(tol, "tol", minimum=0.0)
    stopping = check_choice(stopping, "stopping", STOPPING_RULES)
    schedule = check_choice(schedule, "schedule", SCHEDULES)
    if previous_objective is not None:
        if stopping != "lagged":
            raise ValueError('`previous_objective` applies only to stopping="lagged"')
        previous_objective = check_float(previous_objective, "previous_objective")
    callbacks = tuple(callbacks)
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"`callbacks` must hold callables; got {callback!r}")
    order = check_choice(order, "order", ORDERS)
    source = as_source(X, sample_weight, labels, chunk_size, lengths)
    source.validate(model)
    rng = check_random_state(random_state)
    short_runs = model_start(init)
    fixed_start = short_runs is None and not isinstance(init, str) and not callable(init)
    if fixed_start and n_init > 1:
        raise ValueError(
            f"`n_init` must be 1 when `init` holds starting parameters; got n_init={n_init}"
        )
    if order == "canonical" and source.has_labels:
        raise ValueError(
            '`order` must not be "canonical" when `labels` are given: labelled rows tie the '
            'components to their labels (use order="auto" or "start")'
        )
    canonical = order == "canonical" or (
        order == "auto" and not fixed_start and not source.has_labels
    )
    loop = _Loop(
        model,
        source,
        make_schedule(schedule, model, source),
        max_iter,
        tol,
        stopping,
        -math.inf if previous_objective is None else previous_objective,
        callbacks,
        canonical=canonical,
    )
    starter = _Starter(model, source, init, short_runs, schedule)
    runs = []
    for restart, run_rng in enumerate(rng.spawn(n_init)):
        start, start_iter = starter.start(run_rng, restart)
        runs.append(loop.run(start, restart, start_iter))
    result = FitResult.best_of(model, runs, source.total_weight, source.n_features)
    run = runs[result.restart]
    if not run.converged and max_iter > 0 and not run.stopped_by_callback:
        warn_caller(
            f"EM did not converge in max_iter={max_iter} iterations for {_name(model)} (last "
            f"change {run.last_change:.3g} per sample, tol={tol:g}); increase max_iter or tol, "
            "or check the initialisation",
            ConvergenceWarning,
        )
    if isinstance(model, Diagnosing):
        for message in model.diagnose(loop.final_stats[result.restart], run.params):
            warn_caller(message, DegenerateComponentWarning)
    return result


def _name(model: object) -> str:
    return type(model).__name__


def _start(
    model: LatentVariableModel[P, Any], source: DataSource, init: Any, rng: np.random.Generator
) -> P:
    """A start by an init method name, a callable or given parameters (aligned to the labels
    when some rows carry them and the start comes from data)."""
    if isinstance(init, str):
        X, weights = source.init_sample(rng)
        params = model.init_params(X, rng, init, weights)
        check_params(model, params, source.n_features, f"{_name(model)}.init_params")
    elif callable(init):
        X, _ = source.init_sample(rng)
        params = model.validate_params(init(X, rng), source.n_features)
    else:
        return model.validate_params(init, source.n_features)
    if source.has_labels:
        params = align_to_labels(model, source, params)
    return params


class _Starter(Generic[P, S]):
    """Where each run starts: ``start(rng) -> (params, EM iterations spent finding them)``.

    Model-level strategies ([`emkit.starts`][emkit.starts]) run the driver's own loop: emEM's
    short runs are ``_Loop`` runs with the short settings, left in their start's order (only the
    best one's objective matters) and without the user's callbacks.
    """

    def __init__(
        self,
        model: LatentVariableModel[P, S],
        source: DataSource,
        init: Any,
        short_runs: ShortRuns | None,
        schedule: str,
    ) -> None:
        self.model, self.source, self.init, self.short_runs = model, source, init, short_runs
        self.short_loop: _Loop[P, S] | None = None
        if short_runs is not None:
            self.short_loop = _Loop(
                model,
                source,
                make_schedule(schedule, model, source),
                short_runs.n_iter,
                short_runs.tol,
                "change",
                -math.inf,
                (),
                keep_final_stats=False,
            )

    def _draw(self, method: str, rng: np.random.Generator) -> P:
        return _start(self.model, self.source, method, rng)

    def start(self, rng: np.random.Generator, restart: int) -> tuple[P, int]:
        if self.short_runs is None or self.short_loop is None:
            return _start(self.model, self.source, self.init, rng), 0
        loop = self.short_loop

        def short_run(params: P) -> tuple[P, float, int]:
            run = loop.run(params, restart)
            return run.params, run.objective, run.n_iter

        return run_short_runs(self.short_runs, self._draw, short_run, rng)


def align_to_labels(model: LatentVariableModel[P, Any], source: DataSource, params: P) -> P:
    """Starting parameters with their components renumbered to agree best with known labels.

    A start from data numbers its components arbitrarily, and a few labelled rows cannot swap
    two components once EM has begun: with known labels (-1 for unknown) the components are
    renumbered so that ``sum`` over labelled rows of the responsibility of the row's label is
    the largest possible (an assignment on the K x K table of responsibilities summed per
    label). Needs [`Clustering`][emkit.protocols.Clustering]; other models keep their start. It
    costs one pass over the source's chunks (responsibilities of the labelled rows only),
    once per restart and only when some rows carry labels.
    """
    if not isinstance(model, Clustering):
        return params
    k = model.n_components
    table = np.zeros((k, k))
    for chunk in source.iter_chunks(model):
        labels, weights = chunk.labels, chunk.weights
        if labels is None or not (labels >= 0).any():
            continue
        known = labels >= 0
        if chunk.lengths is None:
            resp = model.responsibilities(chunk.X[known], params)
        else:
            # Rows of a sequence depend on each other: responsibilities of the whole blocks.
            resp = per_row(model.responsibilities, chunk, params)[known]
        if weights is not None:
            resp = resp * weights[known][:, None]
        np.add.at(table, labels[known], resp)
    order = linear_sum_assignment(table)
    if not table.any() or np.array_equal(order, np.arange(k)):
        return params
    aligned: P = take_components(params, order)
    check_params(model, aligned, source.n_features, "relabelling the start to the known labels")
    return aligned


# -- guards ----------------------------------------------------------------------------------------
def _describe(bad: NonFinite) -> str:
    """``holds nan at index (1, 0)`` (one number per axis; none for a scalar)."""
    if not bad.position:
        return f"holds {bad.value}"
    index = bad.position if len(bad.position) > 1 else bad.position[0]
    return f"holds {bad.value} at index {index}"


def check_params(
    model: LatentVariableModel[P, Any], params: P, n_features: int, step: str, where: str = ""
) -> None:
    """Raise [`ModelError`][emkit.exceptions.ModelError] unless ``params`` (from ``step``) are
    finite and pass the model's own ``validate_params``; ``where`` says when (iteration and
    restart)."""
    bad = first_non_finite(params, "params")
    if bad is not None:
        raise ModelError(
            f"{step} returned a non-finite parameter{where}: `{bad.path}` {_describe(bad)}. EM "
            "cannot continue from it; check the arithmetic of the step (a division by a count that "
            "can be 0, a log of 0, an overflow)"
        )
    try:
        model.validate_params(params, n_features)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"{step} returned parameters that {_name(model)}.validate_params refuses{where}: {exc}"
        ) from exc


def _check_objective(
    model: LatentVariableModel[P, Any],
    params: P,
    log_likelihood: float,
    log_prior: float,
    where: str,
) -> None:
    if math.isfinite(log_likelihood) and math.isfinite(log_prior):
        return
    bad = first_non_finite(params, "params")
    if bad is not None:
        raise ModelError(
            f"the EM objective of {_name(model)} is not finite{where}: `{bad.path}` "
            f"{_describe(bad)}"
        )
    culprit, value = (
        ("e_step", log_likelihood)
        if not math.isfinite(log_likelihood)
        else ("log_prior", log_prior)
    )
    raise ModelError(
        f"the EM objective of {_name(model)} is not finite{where}: {_name(model)}.{culprit} "
        f"returned {value} although every parameter is finite"
    )


# -- the loop --------------------------------------------------------------------------------------
class _Loop(Generic[P, S]):
    """The one EM loop; ``run`` is one run from one start."""

    def __init__(
        self,
        model: LatentVariableModel[P, S],
        source: DataSource,
        schedule: Schedule[P, S],
        max_iter: int,
        tol: float,
        stopping: str,
        previous_objective: float,
        callbacks: tuple[Callback, ...],
        *,
        canonical: bool = False,
        keep_final_stats: bool = True,
    ) -> None:
        self.model, self.source, self.schedule = model, source, schedule
        self.max_iter, self.tol, self.stopping = max_iter, tol, stopping
        self.previous_objective = previous_objective
        self.callbacks = callbacks
        self.canonical, self.keep_final_stats = canonical, keep_final_stats
        self.noise_rtol = DECREASE_RTOL.get(np.dtype(source.dtype), 1e-10)
        self.final_stats: list[S] = []

    def _ordered(self, params: P, stats: S) -> tuple[P, S]:
        """``params`` and their statistics in the canonical order (when asked for)."""
        if not self.canonical:
            return params, stats
        order = canonical_order(self.model, params)
        if order is None or np.array_equal(order, np.arange(order.shape[0])):
            return params, stats
        ordered: P = take_components(params, order)
        check_params(self.model, ordered, self.source.n_features, "reordering the components")
        ordered_stats: S = take_components(stats, order)
        return ordered, ordered_stats

    def _m_step(self, where: str) -> Callable[[S], P]:
        model, n_features = self.model, self.source.n_features

        def m_step(stats: S) -> P:
            params = model.m_step(stats)
            check_params(model, params, n_features, f"{_name(model)}.m_step", where)
            return params

        return m_step

    def _notify(self, state: IterationState[P]) -> bool:
        stop = False
        for callback in self.callbacks:
            stop = callback(state) is True or stop
        return stop

    def run(self, params: P, restart: int, start_iter: int = 0) -> Run[P]:
        """One run from ``params``; ``start_iter`` EM iterations were spent finding them."""
        model, schedule, total_weight = self.model, self.schedule, self.source.total_weight
        stats, log_likelihood = schedule.start(params)
        log_prior = model.log_prior(params)
        _check_objective(
            model, params, log_likelihood, log_prior, f" at the start (restart {restart})"
        )
        objective = log_likelihood + log_prior
        history = [objective]
        # The lagged rule compares the start with a previous fit's objective (-inf: none).
        change = objective / total_weight - self.previous_objective
        n_iter, converged, stopped = 0, False, False
        last_change = math.nan
        if self.max_iter == 0:
            params, stats = self._ordered(params, stats)
        stopped = self._notify(
            IterationState(restart, 0, params, log_likelihood, log_prior, math.nan)
        )
        while not stopped and not converged and n_iter < self.max_iter:
            n_iter += 1
            where = f" at iteration {n_iter} (restart {restart})"
            params, stats, log_likelihood = schedule.iterate(stats, self._m_step(where))
            log_prior = model.log_prior(params)
            _check_objective(model, params, log_likelihood, log_prior, where)
            previous, objective = objective, log_likelihood + log_prior
            history.append(objective)
            previous_change, change = change, (objective - previous) / total_weight
            last_change = change
            if schedule.monotone and objective < previous - self.noise_rtol * (
                abs(previous) + total_weight
            ):
                warn_caller(
                    f"the EM objective of {_name(model)} decreased from {previous!r} to "
                    f"{objective!r}{where}. EM never decreases it, so {_name(model)}.m_step "
                    f"does not maximise the expected complete-data log-likelihood of its "
                    "e_step (or log_prior does not match the prior the M-step uses); "
                    "emkit.testing.check_model finds the usual causes",
                    LikelihoodDecreaseWarning,
                )
            settled = previous_change if self.stopping == "lagged" else change
            converged = abs(settled) < self.tol
            if converged or n_iter == self.max_iter:
                params, stats = self._ordered(params, stats)
            stopped = self._notify(
                IterationState(
                    restart, n_iter, params, log_likelihood, log_prior, change, converged
                )
            )
        if stopped and not converged and n_iter < self.max_iter:
            params, stats = self._ordered(params, stats)  # a callback ended the run early
        stats, log_likelihood = schedule.finish(params, stats, log_likelihood)
        if self.keep_final_stats:
            self.final_stats.append(stats)
        return Run(
            params=params,
            log_likelihood=log_likelihood,
            log_prior=log_prior,
            history=np.asarray(history),
            n_iter=n_iter,
            converged=converged,
            stopped_by_callback=stopped and not converged,
            last_change=last_change,
            start_iter=start_iter,
        )
