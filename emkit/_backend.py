"""The few numerical primitives emkit takes from scipy, kept behind one seam.

Everything else in emkit is written as plain array expressions, so a later GPU path (array API:
CuPy, torch) only has to supply these functions.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.special
from numpy.typing import NDArray

Array = NDArray[Any]

__all__ = [
    "ENGINES",
    "Array",
    "cholesky",
    "compiled_kernels",
    "gammaln",
    "linear_sum_assignment",
    "logsumexp",
    "parallel_map",
    "solve_triangular",
    "worker_count",
    "xlogy",
]

T = TypeVar("T")
R = TypeVar("R")

ENGINES = ("auto", "numpy", "numba")
"""The engines of code with compiled kernels: ``"numpy"``, ``"numba"`` (the kernels, numba being
the optional ``fast`` extra) or ``"auto"`` (the kernels when numba imports, else numpy)."""


def compiled_kernels(
    engine: Any, loaded: ModuleType | ImportError | None, module: str
) -> tuple[ModuleType | ImportError | None, ModuleType | None]:
    """The compiled kernels of ``module`` for ``engine``, imported on first use.

    ``loaded`` is the caller's memory of the one import attempt (``None`` before it, the module
    or its ImportError after); the caller keeps the first value returned for the next call.

    Returns
    -------
    loaded : module, ImportError or None
    kernels : module or None
        ``None``: run the numpy engine.

    Raises
    ------
    ValueError
        For an ``engine`` not in ``ENGINES``.
    ImportError
        For ``engine="numba"`` when numba cannot be imported.
    """
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"`engine` must be one of {ENGINES}; got {engine!r}")
    if engine == "numpy":
        return loaded, None
    if loaded is None:
        try:
            loaded = importlib.import_module(module)
        except ImportError as exc:
            loaded = exc
    if isinstance(loaded, ImportError):
        if engine == "numba":
            raise ImportError(
                f"engine='numba' needs numba, which cannot be imported ({loaded}); install "
                "it with: pip install 'emkit[fast]' (or pass engine='numpy')"
            ) from loaded
        return loaded, None
    return loaded, loaded


def cholesky(a: Array) -> Array:
    """Lower Cholesky factor of a stack of symmetric positive-definite matrices, shape (..., D, D).

    Raises ``numpy.linalg.LinAlgError`` when a matrix is not positive definite.
    """
    return np.linalg.cholesky(a)


def solve_triangular(a: Array, b: Array, *, lower: bool) -> Array:
    """Solve ``a @ x = b`` for triangular ``a``; stacks of shape (..., D, D) are batched."""
    return np.asarray(scipy.linalg.solve_triangular(a, b, lower=lower, check_finite=False))


def logsumexp(a: Array, axis: int) -> Array:
    """``log(sum(exp(a), axis))`` without overflow; rows of ``-inf`` give ``-inf``."""
    return np.asarray(scipy.special.logsumexp(a, axis=axis))


def gammaln(x: Array) -> Array:
    """``log(abs(gamma(x)))``, elementwise."""
    return np.asarray(scipy.special.gammaln(x))


def linear_sum_assignment(table: Array) -> Array:
    """For a square ``table`` (K, K): the column matched to each row so that the matched
    entries have the largest possible sum (each column used once), shape (K,)."""
    _, columns = scipy.optimize.linear_sum_assignment(table, maximize=True)
    return np.asarray(columns)


def xlogy(x: Array, y: Array) -> Array:
    """``x * log(y)`` with the convention ``0 * log(0) = 0``."""
    return np.asarray(scipy.special.xlogy(x, y))


# -- threads ------------------------------------------------------------------------------------
#
# The E-step of a chunk is a few matrix products plus elementwise passes (forming features,
# log-sum-exp). Threaded BLAS only speeds up the products, and on a busy machine its spinning
# threads fight for the cores. emkit therefore splits a chunk into row blocks evaluated by a pool of
# Python threads (numpy releases the GIL in both products and ufuncs) while BLAS runs one thread
# per call: every pass is parallel and nothing is oversubscribed. This needs threadpoolctl to
# pin BLAS to one thread; without it, chunks run serially with BLAS's own threads.

_POOL_LOCK = threading.Lock()
_POOL: ThreadPoolExecutor | None = None
_CONTROLLER: Any = None
_CONTROLLER_MISSING = False
_IN_WORKER = threading.local()


def _controller() -> Any:
    global _CONTROLLER, _CONTROLLER_MISSING
    if _CONTROLLER is None and not _CONTROLLER_MISSING:
        try:
            import threadpoolctl
        except ImportError:
            _CONTROLLER_MISSING = True
            return None
        _CONTROLLER = threadpoolctl.ThreadpoolController()
    return _CONTROLLER


def worker_count() -> int:
    """Threads an E-step may use: BLAS's current thread count (1 without threadpoolctl).

    Following BLAS's setting means ``threadpoolctl.threadpool_limits(1)`` (or
    ``OPENBLAS_NUM_THREADS=1``) around a fit makes emkit single-threaded too.
    """
    if getattr(_IN_WORKER, "active", False):
        return 1
    controller = _controller()
    if controller is None:
        return 1
    blas = controller.select(user_api="blas").lib_controllers
    if not blas:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(int(blas[0].num_threads), cores or 1))


def _pool(workers: int) -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < workers:
            _POOL = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="emkit")
        return _POOL


def _forget_pool() -> None:
    # A forked child inherits the pool object but not its threads: start a fresh one there.
    global _POOL, _PIN_COUNT, _PIN_LIMITER
    _POOL, _PIN_COUNT, _PIN_LIMITER = None, 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _run_in_worker(fn: Callable[[T], R], item: T) -> R:
    _IN_WORKER.active = True
    try:
        return fn(item)
    finally:
        _IN_WORKER.active = False


def parallel_map(fn: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[fn(item) for item in items]`` on ``workers`` threads with BLAS pinned to one thread."""
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    pool = _pool(workers)
    _pin_blas()
    try:
        futures = [pool.submit(_run_in_worker, fn, item) for item in items]
        return [future.result() for future in futures]
    finally:
        _unpin_blas()


_PIN_LOCK = threading.Lock()
_PIN_COUNT = 0
_PIN_LIMITER: Any = None


def _pin_blas() -> None:
    # BLAS thread counts are process-wide: concurrent E-steps (say on Dask threads) share one
    # pin, set by the first and restored by the last, so the user's setting always comes back.
    global _PIN_COUNT, _PIN_LIMITER
    with _PIN_LOCK:
        if _PIN_COUNT == 0:
            _PIN_LIMITER = _controller().limit(limits=1, user_api="blas")
        _PIN_COUNT += 1


def _unpin_blas() -> None:
    global _PIN_COUNT, _PIN_LIMITER
    with _PIN_LOCK:
        _PIN_COUNT -= 1
        if _PIN_COUNT == 0 and _PIN_LIMITER is not None:
            _PIN_LIMITER.restore_original_limits()
            _PIN_LIMITER = None
