"""Calling a plugin's methods so that whatever goes wrong reads as a finding of a check.

A contract check calls the plugin's own code (``e_step``, ``m_step``, ``log_prob``...). When
that code crashes, the check reports the crash as an ``AssertionError`` that names the call, in
the same words as the laws it checks; the names used in messages come from ``describe``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from emkit._backend import Array
from emkit.mixture import FiniteMixture
from emkit.protocols import LatentVariableModel

__all__ = ["call_e_step", "call_plugin", "describe"]

R = TypeVar("R")


def describe(obj: Any) -> str:
    """A short name of a model or family for messages.

    Parameters
    ----------
    obj : object
        A model or a family.

    Returns
    -------
    str
        The class name (``Poisson``), or ``FiniteMixture(Poisson)`` for a finite mixture.
    """
    if isinstance(obj, FiniteMixture):
        return f"FiniteMixture({type(obj.family).__name__})"
    return type(obj).__name__


def call_plugin(what: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Call a plugin's method; a crash becomes an ``AssertionError`` that names the call.

    Parameters
    ----------
    what : str
        The call as the message shows it, e.g. ``"MyModel.m_step(stats)"``.
    fn : callable
        The method to call.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    object
        ``fn(*args, **kwargs)``.

    Raises
    ------
    AssertionError
        ``fn`` raised an ``AssertionError`` (passed on as it is) or any other exception
        (reported as ``"{what} raised {type}: {message}"``, chained to the original).
    """
    try:
        return fn(*args, **kwargs)
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc


def call_e_step(
    model: LatentVariableModel[Any, Any], X: Array, params: Any, what: str, **kwargs: Any
) -> tuple[Any, float]:
    """``model.e_step(X, params, **kwargs)``, checked to return a pair.

    Parameters
    ----------
    model : LatentVariableModel
    X : array of shape (n_samples, n_features)
    params : parameters of ``model``
    what : str
        The arguments as the message shows them, e.g. ``"X, params"``.
    **kwargs
        Passed on to ``e_step`` (e.g. ``weights``).

    Returns
    -------
    stats : object
        The statistics, as returned.
    log_likelihood : float

    Raises
    ------
    AssertionError
        ``e_step`` crashed, or did not return a pair ``(stats, log_likelihood)``.
    """
    result = call_plugin(f"{describe(model)}.e_step({what})", model.e_step, X, params, **kwargs)
    try:
        stats, log_likelihood = result
    except (TypeError, ValueError):
        raise AssertionError(
            f"{describe(model)}.e_step must return a pair (stats, log_likelihood); got "
            f"{type(result).__name__}"
        ) from None
    return stats, float(log_likelihood)
