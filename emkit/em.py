"""The one EM driver: fits any :class:`~emkit.protocols.LatentVariableModel` on any data source.

Each iteration is an M-step on the statistics of the previous pass followed by one pass over the
data (the E-step at the new parameters), so every reported objective belongs to the parameters
returned with it. The objective is ``log p(X | theta) + log p(theta)``; EM never lets it go down.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, final

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_float, check_int, check_random_state
from emkit.exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    LikelihoodDecreaseWarning,
)
from emkit.protocols import LatentVariableModel
from emkit.sources import DataSource, as_source, check_labels

__all__ = ["DECREASE_RTOL", "FitResult", "IterationState", "fit"]

P = TypeVar("P")

#: Relative size (per unit of |objective| + total weight) of a decrease that still counts as
#: floating-point noise, by the precision the E-step computes in.
DECREASE_RTOL = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-4}


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
    """

    restart: int
    iteration: int
    params: P
    log_likelihood: float
    log_prior: float
    change: float

    @property
    def objective(self) -> float:
        """``log_likelihood + log_prior``, the quantity EM increases."""
        return self.log_likelihood + self.log_prior


@final
@attrs.frozen(eq=False)
class FitResult(Generic[P]):
    """The outcome of :func:`fit`: the best of ``n_init`` runs.

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
    """

    model: Any
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

    @property
    def objective(self) -> float:
        """``log_likelihood + log_prior``."""
        return self.log_likelihood + self.log_prior

    @property
    def mean_log_likelihood(self) -> float:
        """Log-likelihood per unit of data weight (scikit-learn's ``score``)."""
        return self.log_likelihood / self.n_samples


Callback = Callable[[IterationState[Any]], Any]


def fit(
    model: LatentVariableModel[P, Any],
    X: Any,
    *,
    init: str | P | Callable[[Array, np.random.Generator], P] = "kmeans",
    n_init: int = 1,
    max_iter: int = 100,
    tol: float = 1e-3,
    sample_weight: Any = None,
    labels: Any = None,
    random_state: Any = None,
    callbacks: Sequence[Callback] = (),
    chunk_size: int | None = None,
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
        :func:`emkit.sources.as_source`.
    init : str, parameters, or callable, default "kmeans"
        A method name for ``model.init_params`` (for mixtures: "kmeans", "k-means++",
        "random", "random_from_data"), starting parameters, or ``f(X_sample, rng) -> params``.
    n_init : int, default 1
        Number of runs from different starts; the run with the highest final objective wins.
    max_iter : int, default 100
        Maximum number of iterations (M-steps) per run; 0 evaluates the start only.
    tol : float, default 1e-3
        Stop when the objective changes by less than ``tol`` per unit of data weight.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative row weights; an integer weight equals repeating the row.
    labels : int array-like of shape (n_samples,), optional
        Known components (-1 where unknown): semi-supervised EM with those rows' responsibilities
        fixed. Only for models whose ``e_step`` accepts labels.
    random_state : None, int, SeedSequence or numpy Generator
        The same seed gives an identical result.
    callbacks : sequence of callables
        Each is called with an :class:`IterationState` after initialisation and after every
        iteration; a callback that returns ``True`` stops the run.
    chunk_size : int, optional
        Rows per E-step chunk for in-memory, memory-mapped and chunked data (default: from a
        memory budget).

    Returns
    -------
    FitResult

    Warns
    -----
    ConvergenceWarning
        The best run reached ``max_iter`` without converging.
    LikelihoodDecreaseWarning
        The objective went down by more than floating-point noise (a bug in the model).
    DegenerateComponentWarning
        A component of the fitted model holds (almost) no data.
    """
    n_init = check_int(n_init, "n_init", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    tol = check_float(tol, "tol", minimum=0.0)
    callbacks = tuple(callbacks)
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(f"`callbacks` must hold callables; got {callback!r}")
    source = as_source(X, sample_weight, labels, chunk_size)
    source.validate(model)
    source_labels = getattr(source, "labels", None)
    if source_labels is not None:
        check_labels(source_labels, source.n_samples, getattr(model, "n_components", None))
    rng = check_random_state(random_state)
    fixed_start = not isinstance(init, str) and not callable(init)
    if fixed_start and n_init > 1:
        raise ValueError(
            f"`n_init` must be 1 when `init` holds starting parameters; got n_init={n_init}"
        )

    runs = []
    for restart, run_rng in enumerate(rng.spawn(n_init)):
        params = _start(model, source, init, run_rng)
        runs.append(_run(model, source, params, restart, max_iter, tol, callbacks))
    best = max(range(n_init), key=lambda r: runs[r].objective)
    run = runs[best]
    if not run.converged and max_iter > 0 and not run.stopped_by_callback:
        warnings.warn(
            f"EM did not converge in max_iter={max_iter} iterations (last change "
            f"{run.last_change:.3g} per sample, tol={tol:g}); increase max_iter or tol, "
            "or check the initialisation",
            ConvergenceWarning,
            stacklevel=2,
        )
    diagnose = getattr(model, "diagnose", None)
    if diagnose is not None:
        for message in diagnose(run.stats, run.params):
            warnings.warn(message, DegenerateComponentWarning, stacklevel=2)
    return FitResult(
        model=model,
        params=run.params,
        log_likelihood=run.log_likelihood,
        log_prior=run.log_prior,
        history=np.asarray(run.history),
        n_iter=run.n_iter,
        converged=run.converged,
        n_samples=source.total_weight,
        n_features=source.n_features,
        restart=best,
        restart_objectives=np.array([r.objective for r in runs]),
    )


def _start(model: Any, source: DataSource, init: Any, rng: np.random.Generator) -> Any:
    if isinstance(init, str):
        X, weights = source.init_sample(rng)
        return model.init_params(X, rng, init, weights)
    if callable(init):
        X, _ = source.init_sample(rng)
        return model.validate_params(init(X, rng), source.n_features)
    return model.validate_params(init, source.n_features)


@attrs.define
class _Run:
    params: Any
    stats: Any
    log_likelihood: float
    log_prior: float
    history: list[float]
    n_iter: int = 0
    converged: bool = False
    stopped_by_callback: bool = False
    last_change: float = float("nan")

    @property
    def objective(self) -> float:
        return self.log_likelihood + self.log_prior


def _run(
    model: Any,
    source: DataSource,
    params: Any,
    restart: int,
    max_iter: int,
    tol: float,
    callbacks: tuple[Callback, ...],
) -> _Run:
    total_weight = source.total_weight
    stats, log_likelihood = source.expectation(model, params)
    run = _Run(params, stats, log_likelihood, model.log_prior(params), [])
    run.history.append(run.objective)
    noise_rtol = DECREASE_RTOL.get(np.dtype(getattr(source, "dtype", np.float64)), 1e-10)
    if _notify(
        callbacks, IterationState(restart, 0, params, log_likelihood, run.log_prior, np.nan)
    ):
        run.stopped_by_callback = True
        return run
    for iteration in range(1, max_iter + 1):
        params = model.m_step(run.stats)
        stats, log_likelihood = source.expectation(model, params)
        log_prior = model.log_prior(params)
        previous = run.objective
        run.params, run.stats = params, stats
        run.log_likelihood, run.log_prior, run.n_iter = log_likelihood, log_prior, iteration
        run.history.append(run.objective)
        change = (run.objective - previous) / total_weight
        run.last_change = change
        if run.objective < previous - noise_rtol * (abs(previous) + total_weight):
            warnings.warn(
                f"the EM objective decreased from {previous!r} to {run.objective!r} at "
                f"iteration {iteration} (restart {restart}); EM never decreases it, so the "
                f"M-step of {type(model).__name__} is not maximising Q. Please report this.",
                LikelihoodDecreaseWarning,
                stacklevel=3,
            )
        state = IterationState(restart, iteration, params, log_likelihood, log_prior, change)
        if _notify(callbacks, state):
            run.stopped_by_callback = True
            break
        if abs(change) < tol:
            run.converged = True
            break
    return run


def _notify(callbacks: tuple[Callback, ...], state: IterationState[Any]) -> bool:
    stop = False
    for callback in callbacks:
        stop = callback(state) is True or stop
    return stop
