"""Missing values in the contract checks: planting them, and the law of a row with none observed.

A model with the [`MissingValues`][emkit.protocols.MissingValues] capability must keep every law
of [`check_model`][emkit.testing.check_model] when values are missing;
[`check_missing_values`][emkit.testing.check_missing_values] (in ``emkit.testing.model``) runs
them on data that [`with_missing`][emkit.testing.with_missing] gives holes.
[`check_missing_row`][emkit.testing.check_missing_row] asks a family for the log-density of a
row with nothing observed, which must be 0 (an HMM's missing frame).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emkit._backend import Array
from emkit.protocols import ExponentialFamily, MissingValues
from emkit.testing.reporting import call_plugin, describe
from emkit.testing.tolerances import MISSING_FRACTION, MISSING_ROW_ATOL

__all__ = ["check_missing_row", "handles_missing", "with_missing"]


def handles_missing(model_or_family: Any) -> bool:
    """Whether the model or family has the capability and says it takes NaN as missing."""
    return isinstance(model_or_family, MissingValues) and bool(model_or_family.handles_missing)


def with_missing(X: Array, rng: np.random.Generator, fraction: float = MISSING_FRACTION) -> Array:
    """A copy of ``X`` with about ``fraction`` of its entries missing (NaN), completely at
    random, every row keeping at least one observed entry (so more than one pattern appears as
    soon as ``X`` has two columns).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    rng : numpy.random.Generator
    fraction : float, default ``MISSING_FRACTION``

    Returns
    -------
    X_missing : array of shape (n_samples, n_features)
    """
    missing = rng.random(X.shape) < fraction
    # One entry per row stays observed: a row with nothing observed is refused by a mixture.
    keep = rng.integers(0, X.shape[1], size=X.shape[0])
    missing[np.arange(X.shape[0]), keep] = False
    return np.where(missing, np.nan, X).astype(X.dtype, copy=False)


def check_missing_row(family: ExponentialFamily[Any, Any], params: Any, n_features: int) -> None:
    """A row with every entry missing has log-density 0 under every component.

    Parameters
    ----------
    family : ExponentialFamily
        A family whose ``handles_missing`` is true.
    params : parameters of all components
    n_features : int

    Raises
    ------
    AssertionError
        If the log-density of an entirely missing row is not 0.
    """
    name = describe(family)
    empty = np.full((2, n_features), np.nan)
    log_p = np.asarray(call_plugin(f"{name}.log_prob(all NaN)", family.log_prob, empty, params))
    if not np.allclose(log_p, 0.0, rtol=0.0, atol=MISSING_ROW_ATOL):
        raise AssertionError(
            f"{name}.log_prob of a row with every entry missing is {log_p[0].tolist()}, not 0: "
            "integrating every entry out of a density leaves probability 1 (the log-partition "
            "of a missing entry must not be subtracted)"
        )
