"""Levels of categorical columns, shared by
[`CategoricalMixture`][emkit.estimators.categorical.CategoricalMixture] and
[`MixedMixture`][emkit.estimators.mixed.MixedMixture].

A column of levels holds one kind of value: strings, booleans, integers or finite numbers
(integers and numbers together are numbers). Its levels are its distinct observed values,
sorted; the mixture is fitted to their codes ``0 .. L - 1`` (a level's position among them), and
every later row is mapped through the same levels, so a value that fit never saw is an error
naming the column, the row and the value. Missing cells (None, NaN, pandas' NA and NaT) are
found here too; whether they are allowed is the estimator's decision.

A fitted estimator saves its levels as JSON lists with the kind of each column
([`level_kind`][emkit.estimators.levels.level_kind]) and reads them back with
[`restore_levels`][emkit.estimators.levels.restore_levels], which checks them.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from emkit._backend import Array

__all__ = [
    "LEVEL_KINDS",
    "cell_text",
    "encode_levels",
    "first_row",
    "learn_levels",
    "level_kind",
    "missing_cells",
    "restore_levels",
    "typed_levels",
    "value_kind",
    "value_kinds",
]

LEVEL_KINDS = ("string", "boolean", "integer", "number")
"""The kinds of level a column may hold, as a saved file names them."""

#: The kind of a levels array by its numpy dtype kind (strings are kept as objects).
_KIND_OF_DTYPE = {"O": "string", "U": "string", "b": "boolean", "i": "integer", "u": "integer"}

#: The dtype a saved kind of level is restored as.
_DTYPE_OF_KIND: dict[str, Any] = {
    "string": object,
    "boolean": np.bool_,
    "integer": np.int64,
    "number": np.float64,
}


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return type(value).__name__ in ("NAType", "NaTType")


def value_kind(value: Any) -> str:
    """The kind of one value: ``"string"``, ``"boolean"``, ``"integer"``, ``"number"`` (finite),
    ``"infinite"``, or the name of its type for anything else (``"NoneType"``, ...).

    Parameters
    ----------
    value : object

    Returns
    -------
    str
    """
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, numbers.Integral):
        return "integer"
    if isinstance(value, numbers.Real):
        return "number" if np.isfinite(float(value)) else "infinite"
    return type(value).__name__


_missing_of = np.frompyfunc(_is_missing, 1, 1)
_kind_of = np.frompyfunc(value_kind, 1, 1)


def missing_cells(values: Array) -> Array:
    """Which cells of a column are missing: None, NaN, pandas' NA or NaT (not infinities).

    Parameters
    ----------
    values : array of shape (n_samples,)
        One column, of any dtype.

    Returns
    -------
    bool array of shape (n_samples,)
    """
    kind = values.dtype.kind
    if kind == "f":
        return np.isnan(values)
    if kind == "O":
        return np.asarray(_missing_of(values), dtype=bool)
    return np.zeros(values.shape[0], dtype=bool)


def value_kinds(values: Array) -> set[str]:
    """The kinds of the values of a column ([`value_kind`][emkit.estimators.levels.value_kind]
    of each; a numeric dtype answers without looking at every value).

    Parameters
    ----------
    values : array of shape (n_samples,)

    Returns
    -------
    set of str
    """
    kind = values.dtype.kind
    if kind in "US":
        return {"string"}
    if kind == "b":
        return {"boolean"}
    if kind in "iu":
        return {"integer"}
    if kind == "f":
        return {"number"} if np.isfinite(values).all() else {"number", "infinite"}
    return {str(k) for k in np.unique(np.asarray(_kind_of(values), dtype=object).astype(str))}


def typed_levels(observed: Array, where: str) -> Array:
    """Observed values of a column as one kind: object (strings), bool, int64 or float64.

    Parameters
    ----------
    observed : array of shape (n_observed,)
        The column's values without its missing cells.
    where : str
        The column in words (``"column 2 ('colour')"``), for the message.

    Returns
    -------
    array of shape (n_observed,)

    Raises
    ------
    ValueError
        If the values are of more than one kind (integers and numbers together are numbers).
    """
    kinds = value_kinds(observed)
    if len(kinds) > 1 and kinds != {"integer", "number"}:
        raise ValueError(
            f"`X` {where} must hold one kind of level (strings, integers, booleans or numbers); "
            f"it holds {', '.join(sorted(kinds))}"
        )
    if kinds == {"string"}:
        return observed.astype(str).astype(object)
    if kinds == {"boolean"}:
        return observed.astype(np.bool_)
    if kinds == {"integer"}:
        return observed.astype(np.int64)
    return observed.astype(np.float64)


def learn_levels(values: Array, missing: Array, where: str, rule: str) -> Array:
    """The sorted distinct observed values of a column: its levels (at least two).

    Parameters
    ----------
    values : array of shape (n_samples,)
    missing : bool array of shape (n_samples,)
        The cells left out ([`missing_cells`][emkit.estimators.levels.missing_cells]).
    where : str
        The column in words, for the messages.
    rule : str
        Who needs two levels, for the message of a constant column (``"a categorical column"``).

    Returns
    -------
    array of shape (n_levels,)
        Of the dtype of [`typed_levels`][emkit.estimators.levels.typed_levels].

    Raises
    ------
    ValueError
        If the column has no observed value, values of more than one kind, or one level.
    """
    observed = values[~missing]
    if observed.shape[0] == 0:
        raise ValueError(f"`X` {where} has no observed value; drop the column")
    levels = np.unique(typed_levels(observed, where))
    if levels.shape[0] < 2:
        raise ValueError(
            f"`X` {where} has a single level {levels.tolist()[0]!r}; {rule} needs at least 2 "
            "levels (drop a constant column)"
        )
    return levels


def level_kind(levels: Array) -> str:
    """The kind of a column's levels, one of [`LEVEL_KINDS`][emkit.estimators.levels.LEVEL_KINDS].

    Parameters
    ----------
    levels : array of shape (n_levels,)
        As [`typed_levels`][emkit.estimators.levels.typed_levels] gives them.

    Returns
    -------
    str
    """
    return _KIND_OF_DTYPE.get(levels.dtype.kind, "number")


def first_row(mask: Array) -> int:
    """The first row where ``mask`` is True (it must be somewhere).

    Parameters
    ----------
    mask : bool array of shape (n_samples,)

    Returns
    -------
    int
    """
    return int(np.flatnonzero(mask)[0])


def cell_text(value: Any) -> str:
    """A cell for a message: its ``repr``, a numpy scalar's as the Python value it holds.

    Parameters
    ----------
    value : object

    Returns
    -------
    str
    """
    return repr(value.item() if isinstance(value, np.generic) else value)


def encode_levels(values: Array, missing: Array, levels: Array, where: str) -> Array:
    """The codes of a column's values: each value's position in ``levels``.

    Parameters
    ----------
    values : array of shape (n_samples,)
    missing : bool array of shape (n_samples,)
        Cells that get no code.
    levels : array of shape (n_levels,)
        The levels fit learned ([`learn_levels`][emkit.estimators.levels.learn_levels]).
    where : str
        The column in words, for the messages.

    Returns
    -------
    float64 array of shape (n_samples,)
        The codes ``0 .. n_levels - 1``, NaN where a cell is missing.

    Raises
    ------
    ValueError
        If the values are text where the levels are not (or the other way round), or a value is
        not among the levels (naming its row).
    """
    codes = np.full(values.shape[0], np.nan)
    if (~missing).any():
        typed = typed_levels(values[~missing], where)
        if (level_kind(typed) == "string") != (level_kind(levels) == "string"):
            raise ValueError(
                f"`X` {where} holds {level_kind(typed)} values such as {typed.tolist()[0]!r}, "
                f"but its levels seen in fit are {level_kind(levels)}s: {levels.tolist()!r}"
            )
        # Sorted levels: a value's code is where it would be inserted, if it is there.
        index = np.minimum(np.searchsorted(levels, typed), levels.shape[0] - 1)
        unseen = levels[index] != typed
        if unseen.any():
            row = int(np.flatnonzero(~missing)[first_row(unseen)])
            raise ValueError(
                f"`X` {where} holds the level {cell_text(values[row])} at row {row}, which was "
                f"not seen in fit; the levels are {levels.tolist()!r}"
            )
        codes[~missing] = index
    return codes


def restore_levels(values: Any, kind: Any, n_levels: int, where: str) -> Array:
    """A column's levels read back from a saved file, checked.

    Parameters
    ----------
    values : list
        The levels as JSON values (``levels.tolist()``).
    kind : str
        Their kind, one of [`LEVEL_KINDS`][emkit.estimators.levels.LEVEL_KINDS].
    n_levels : int
        How many levels the fitted model's column has.
    where : str
        The entry in words (``"`categories[2]`"``), for the messages.

    Returns
    -------
    array of shape (n_levels,)
        Of the dtype [`learn_levels`][emkit.estimators.levels.learn_levels] gives that kind.

    Raises
    ------
    ValueError
        If the kind is unknown, a value is not of that kind, or the levels are not
        ``n_levels`` distinct values in sorted order.
    """
    if kind not in _DTYPE_OF_KIND or not isinstance(values, list):
        raise ValueError(f"{where} of kind {kind!r} is not valid: {values!r}")
    allowed = {"integer", "number"} if kind == "number" else {kind}
    if {value_kind(v) for v in values} - allowed:
        raise ValueError(f"{where} must hold {kind} levels; got {values!r}")
    level = np.empty(len(values), dtype=object)
    level[:] = values
    level = level if kind == "string" else level.astype(_DTYPE_OF_KIND[kind])
    if level.shape[0] != n_levels:
        raise ValueError(f"{where} must hold {n_levels} {kind} levels; got {values!r}")
    if level.shape[0] > 1 and not bool(np.all(level[1:] > level[:-1])):
        raise ValueError(f"{where} must be sorted and distinct; got {values!r}")
    return level
