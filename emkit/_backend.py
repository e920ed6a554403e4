"""The few numerical primitives emkit takes from scipy, kept behind one seam.

Everything else in emkit is written as plain array expressions, so a later GPU path (array API:
CuPy, torch) only has to supply these functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.special
from numpy.typing import NDArray

Array = NDArray[Any]

__all__ = ["Array", "cholesky", "gammaln", "logsumexp", "solve_triangular", "xlogy"]


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


def xlogy(x: Array, y: Array) -> Array:
    """``x * log(y)`` with the convention ``0 * log(0) = 0``."""
    return np.asarray(scipy.special.xlogy(x, y))
