"""Walking, reading and comparing attrs trees (statistics and parameters) by attribute path.

Statistics and parameters are frozen attrs classes of arrays, possibly nested (a mixture's
statistics hold its family's). The checks name a leaf by its attribute path from the root, such
as ``stats.components.sum_x``, so that a message points at the field at fault.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np

from emkit._backend import Array
from emkit.stats import NonFinite
from emkit.stats import first_non_finite as stats_first_non_finite
from emkit.stats import leaves as stats_leaves

__all__ = [
    "as_numeric",
    "assert_trees_close",
    "first_non_finite",
    "get_path",
    "index_text",
    "leaves",
    "reference_paths",
]


def leaves(obj: Any, path: str) -> list[tuple[str, Any]]:
    """Every leaf of an attrs tree with its attribute path, derived fields included.

    [`emkit.stats.leaves`][emkit.stats.leaves] with ``derived=True``: a check also looks at the
    fields a plugin's constructor computes, since a wrong derivation is a plugin bug too.
    """
    return stats_leaves(obj, path, derived=True)


def reference_paths(obj: Any, path: str) -> list[str]:
    """Attribute paths of the fields marked ``NOT_ADDITIVE`` (reference points).

    Parameters
    ----------
    obj : object
        An attrs instance of statistics, possibly nested.
    path : str
        The name of ``obj`` in the paths, e.g. ``"stats"``.

    Returns
    -------
    list of str
        The paths of the fields whose metadata says ``additive=False``, in field order.
    """
    found: list[str] = []
    if isinstance(obj, tuple):
        for i, item in enumerate(obj):
            found.extend(reference_paths(item, f"{path}[{i}]"))
    elif attrs.has(type(obj)):
        for field in attrs.fields(type(obj)):
            value = getattr(obj, field.name)
            if attrs.has(type(value)) or isinstance(value, tuple):
                found.extend(reference_paths(value, f"{path}.{field.name}"))
            elif field.metadata.get("additive", True) is False:
                found.append(f"{path}.{field.name}")
    return found


def get_path(obj: Any, path: str) -> Any:
    """The value at an attribute path of ``leaves`` or ``reference_paths``.

    Parameters
    ----------
    obj : object
        The root of the tree.
    path : str
        A path that starts with the root's name, e.g. ``"stats.components.reference"``.

    Returns
    -------
    object
        ``obj.components.reference`` for that example; an item of a tuple field is named by
        its index, ``"stats.components.parts[0].center"``.
    """
    for name in path.split(".")[1:]:
        field, *indices = name.split("[")
        obj = getattr(obj, field)
        for index in indices:
            obj = obj[int(index.rstrip("]"))]
    return obj


def as_numeric(value: Any) -> Array | None:
    """A leaf as a float64 array, or None when it is not numeric.

    Parameters
    ----------
    value : object
        A leaf of an attrs tree.

    Returns
    -------
    numpy.ndarray or None
        ``np.asarray(value, dtype=np.float64)``; None for None, strings, bytes and anything
        numpy cannot convert.
    """
    if value is None or isinstance(value, str | bytes):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def index_text(index: tuple[int, ...]) -> str:
    """Where in an array an entry is, for messages.

    Parameters
    ----------
    index : tuple of int
        The entry's index; empty for a scalar.

    Returns
    -------
    str
        ``""`` for a scalar, ``" at index 3"`` or ``" at index (1, 2)"`` otherwise.
    """
    return "" if not index else f" at index {index[0] if len(index) == 1 else index}"


def assert_trees_close(
    a: Any,
    b: Any,
    rtol: float,
    what: str,
    root: str = "stats",
    labels: tuple[str, str] = ("got", "expected"),
    hint: str = "",
) -> None:
    """Two attrs trees agree leaf by leaf, within a relative tolerance.

    Every numeric leaf of ``a`` lies within ``rtol`` times the largest finite magnitude of the
    two leaves (at least 1) of the matching leaf of ``b``; equal infinities agree, NaN never
    does. Leaves that are not numeric (None, strings) are skipped.

    Parameters
    ----------
    a, b : object
        The two trees (statistics or parameters).
    rtol : float
        The allowed relative difference.
    what : str
        What is compared, the start of the message.
    root : str, default "stats"
        The name of the trees' roots in the attribute paths of the message.
    labels : (str, str), default ("got", "expected")
        How the message names ``a`` and ``b``.
    hint : str, default ""
        Appended to the message (the usual causes).

    Raises
    ------
    AssertionError
        The trees have different fields, a leaf has different shapes, is NaN or differs by
        more than allowed; the message names the leaf by its attribute path and gives the
        entry at fault.
    """
    left, right = leaves(a, root), leaves(b, root)
    if [p for p, _ in left] != [p for p, _ in right]:
        raise AssertionError(
            f"{what}: the results have different fields: {[p for p, _ in left]} (from "
            f"{labels[0]}) and {[p for p, _ in right]} (from {labels[1]}){hint}"
        )
    for (path, x), (_, y) in zip(left, right, strict=True):
        xa, ya = as_numeric(x), as_numeric(y)
        if xa is None or ya is None:
            continue
        if xa.shape != ya.shape:
            raise AssertionError(
                f"{what}: `{path}` has shape {xa.shape} from {labels[0]} but {ya.shape} from "
                f"{labels[1]}{hint}"
            )
        if xa.size == 0:
            continue
        nan = np.isnan(xa) | np.isnan(ya)
        if nan.any():
            index = tuple(int(i) for i in np.argwhere(nan)[0])
            raise AssertionError(
                f"{what}: `{path}` is NaN{index_text(index)} ({labels[0]}: {xa[index]}, "
                f"{labels[1]}: {ya[index]}){hint}"
            )
        same = xa == ya  # equal infinities included
        diff = np.where(same, 0.0, np.abs(np.where(same, 0.0, xa) - np.where(same, 0.0, ya)))
        finite = np.concatenate([np.abs(xa[np.isfinite(xa)]), np.abs(ya[np.isfinite(ya)])])
        size = max(float(np.max(finite, initial=0.0)), 1.0)
        worst = float(np.max(diff))
        if not worst <= rtol * size:
            index = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
            raise AssertionError(
                f"{what}: `{path}` differs by {worst:.3g}{index_text(index)} ({labels[0]}: "
                f"{xa[index]!r}, {labels[1]}: {ya[index]!r}; allowed {rtol:g} x {size:.3g})"
                f"{hint}"
            )


def first_non_finite(tree: Any, root: str) -> NonFinite | None:
    """The first non-finite entry of an attrs tree, derived fields included.

    [`emkit.stats.first_non_finite`][emkit.stats.first_non_finite] with ``derived=True``:
    ``(path, index, value, count)`` or ``None`` when every entry is finite.
    """
    return stats_first_non_finite(tree, root, derived=True)
