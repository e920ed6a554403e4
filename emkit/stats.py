"""Fieldwise arithmetic on statistics and parameters: frozen attrs classes of arrays.

Expected sufficient statistics are *additive*: the statistics of two chunks of data are the
fieldwise sum of each chunk's statistics. These helpers do that arithmetic for any attrs class,
recursing into nested attrs values (a mixture's statistics hold its family's statistics).

Two field conventions:

* a field declared with ``metadata={"additive": False}`` is a reference value that every chunk of
  one pass shares (e.g. the point a Gaussian accumulates second moments around); ``add`` checks
  that both sides agree and keeps it, ``scale`` leaves it alone;
* along axis 0 an array holds one entry per component; a leading axis of length 1 is shared by all
  components (a tied covariance), so ``take_components`` leaves it alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import reduce
from typing import Any, NamedTuple, TypeVar

import attrs
import numpy as np

from emkit._backend import Array
from emkit.protocols import Recenterable, Relabelable

__all__ = [
    "NOT_ADDITIVE",
    "NonFinite",
    "add",
    "first_non_finite",
    "init_fields",
    "interpolate_params",
    "leaves",
    "recenter",
    "references",
    "same_references",
    "scale",
    "sum_all",
    "take_components",
    "zeros_like",
]

T = TypeVar("T")

NOT_ADDITIVE = {"additive": False}
"""Field metadata marking a statistic that is shared by every chunk rather than summed."""


def init_fields(value: Any) -> list[attrs.Attribute[Any]]:
    """The fields an attrs value (or class) is built from, in definition order.

    Derived fields (``init=False``, e.g. a Gaussian's precision Cholesky factor) are left out:
    the constructor recomputes them.
    """
    cls = value if isinstance(value, type) else type(value)
    return [f for f in attrs.fields(cls) if f.init]


def leaves(tree: Any, path: str, *, derived: bool = False) -> list[tuple[str, Any]]:
    """Every leaf of an attrs tree with its attribute path, in field order.

    Parameters
    ----------
    tree : object
        Parameters or statistics, possibly nested; anything that is not attrs is a leaf.
    path : str
        The name of ``tree`` in the paths, e.g. ``"params"``.
    derived : bool, default False
        Include derived (``init=False``) fields too.

    Returns
    -------
    list of (str, object)
        ``(path, value)`` pairs, e.g. ``("params.components.means", array)``.
    """
    if isinstance(tree, tuple):
        return [
            pair
            for i, item in enumerate(tree)
            for pair in leaves(item, f"{path}[{i}]", derived=derived)
        ]
    if not attrs.has(type(tree)):
        return [(path, tree)]
    fields = attrs.fields(type(tree)) if derived else init_fields(tree)
    found: list[tuple[str, Any]] = []
    for field in fields:
        found.extend(leaves(getattr(tree, field.name), f"{path}.{field.name}", derived=derived))
    return found


class NonFinite(NamedTuple):
    """Where a tree first holds NaN or infinity: the leaf's path, the entry's position (``()``
    for a scalar) and value, and how many entries of that leaf are not finite."""

    path: str
    position: tuple[int, ...]
    value: float
    n_entries: int


def first_non_finite(tree: Any, path: str, *, derived: bool = False) -> NonFinite | None:
    """The first NaN or infinity among the numeric leaves of an attrs tree, or ``None``.

    Leaves that are not numbers or arrays of numbers (strings, ``None``) are skipped.
    """
    for where, leaf in leaves(tree, path, derived=derived):
        if isinstance(leaf, bool | str | bytes) or leaf is None:
            continue
        try:
            values = np.asarray(leaf, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        bad = ~np.isfinite(values)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0]) if values.ndim else ()
            return NonFinite(where, index, float(values[index]), int(bad.sum()))
    return None


def _is_additive(field: attrs.Attribute[Any]) -> bool:
    return bool(field.metadata.get("additive", True))


def _map(fn: Callable[..., Any], first: T, *rest: T, keep: Callable[..., Any] | None = None) -> T:
    """Apply ``fn`` to matching leaves of attrs trees; non-additive leaves go through ``keep``.

    A tuple field holds one subtree per item (a product family's parts), mapped item by item.
    """
    if attrs.has(type(first)):
        changes = {}
        for field in init_fields(first):
            values = [getattr(obj, field.name) for obj in (first, *rest)]
            changes[field.name] = _map_field(fn, values, _is_additive(field), keep)
        return attrs.evolve(first, **changes)  # type: ignore[misc]
    return fn(first, *rest)  # type: ignore[no-any-return]


def _map_field(
    fn: Callable[..., Any], values: list[Any], additive: bool, keep: Callable[..., Any] | None
) -> Any:
    if isinstance(values[0], tuple):
        return tuple(
            _map_field(fn, list(items), additive, keep) for items in zip(*values, strict=True)
        )
    if attrs.has(type(values[0])):
        return _map(fn, *values, keep=keep)
    if not additive or not _is_numeric(values[0]):
        return keep(*values) if keep is not None else values[0]
    return fn(*values)


def _is_numeric(value: Any) -> bool:
    return isinstance(
        value, np.ndarray | float | int | np.floating | np.integer
    ) and not isinstance(value, bool)


def _same(a: Any, *others: Any) -> Any:
    for b in others:
        if a is not b and not np.array_equal(a, b):
            raise ValueError(
                "cannot add statistics accumulated around different reference points; "
                "every chunk of one pass must use the same parameters"
            )
    return a


def add(a: T, b: T) -> T:
    """Fieldwise ``a + b`` of two statistics of the same class."""
    if type(a) is not type(b):
        raise TypeError(f"cannot add {type(a).__name__} and {type(b).__name__}")
    return _map(np.add, a, b, keep=_same)


def scale(a: T, factor: float) -> T:
    """Fieldwise ``factor * a`` (reference fields unchanged)."""
    return _map(lambda x: x * factor, a)


def zeros_like(a: T) -> T:
    """Statistics of no data: every additive field set to zero."""
    return _map(np.zeros_like, a)


def sum_all(items: Iterable[T]) -> T:
    """Fieldwise sum of a non-empty iterable of statistics."""
    return reduce(add, items)


def references(stats: Any) -> list[Array]:
    """The reference (``NOT_ADDITIVE``) leaves of a statistics tree, in field order."""
    found: list[Array] = []
    if isinstance(stats, tuple):
        for item in stats:
            found.extend(references(item))
    elif attrs.has(type(stats)):
        for field in init_fields(stats):
            value = getattr(stats, field.name)
            if attrs.has(type(value)) or isinstance(value, tuple):
                found.extend(references(value))
            elif not _is_additive(field):
                found.append(np.asarray(value))
    return found


def same_references(a: Any, b: Any) -> bool:
    """Whether two statistics trees hold equal reference (``NOT_ADDITIVE``) leaves."""
    return all(np.array_equal(x, y) for x, y in zip(references(a), references(b), strict=True))


def recenter(stats: T, like: T) -> T:
    """``stats`` re-expressed around the reference points of ``like`` (same statistics type).

    Statistics of different EM iterations can be added only once they share their reference
    fields (see [`Recenterable`][emkit.protocols.Recenterable]). Statistics without reference
    fields, or already around the same points, come back unchanged; others are moved by their own
    ``recenter`` method.

    Raises
    ------
    TypeError
        For statistics with reference fields that cannot move them.
    """
    if type(stats) is not type(like):
        raise TypeError(f"cannot recenter {type(stats).__name__} like {type(like).__name__}")
    if same_references(stats, like):
        return stats
    if isinstance(stats, Recenterable):
        moved: T = stats.recenter(like)  # type: ignore[arg-type]
        return moved
    raise TypeError(
        f"cannot combine {type(stats).__name__} statistics computed at different parameters: "
        "they hold reference fields (marked NOT_ADDITIVE) but no `recenter(like)` method to move "
        "them; online and incremental EM need it (see emkit.protocols.Recenterable)"
    )


def take_components(a: T, order: Array) -> T:
    """Reorder the components of parameters or statistics: entry ``k`` becomes ``a[order[k]]``.

    Arrays with a leading axis of length 1 are shared across components and kept as they are.
    A value that is [`Relabelable`][emkit.protocols.Relabelable] (an HMM's transition matrix has
    components along two axes) reorders itself.
    """
    order = np.asarray(order)
    if isinstance(a, Relabelable):
        return a.relabel(order)

    def take(x: Any) -> Any:
        if isinstance(x, np.ndarray) and x.ndim > 0 and x.shape[0] != 1:
            return x[order]
        return x

    def _take_tree(obj: Any) -> Any:
        if isinstance(obj, Relabelable):
            return obj.relabel(order)
        if attrs.has(type(obj)):
            return attrs.evolve(
                obj, **{f.name: _take_tree(getattr(obj, f.name)) for f in init_fields(obj)}
            )
        if isinstance(obj, tuple):
            return tuple(_take_tree(item) for item in obj)
        return take(obj)

    return _take_tree(a)  # type: ignore[no-any-return]


def interpolate_params(a: Any, b: Any, step: float) -> Any:
    """``a + step (b - a)`` on the constructor fields of a parameter tree.

    Derived fields (a Gaussian's precision Cholesky factor) are rebuilt by the constructor. A
    convex combination (``0 <= step <= 1``) of valid parameters stays valid for the parameters
    emkit's models use: weights still sum to 1, covariances stay positive definite, means and
    coefficients stay in their range. Online EM averages iterates with it (Polyak), generalised
    EM halves a step that went too far.
    """
    if attrs.has(type(a)):
        values = {
            f.name: interpolate_params(getattr(a, f.name), getattr(b, f.name), step)
            for f in init_fields(a)
        }
        return type(a)(**values)
    if isinstance(a, tuple):
        return tuple(interpolate_params(x, y, step) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray | float | np.floating):
        return a + step * (b - a)
    return a
