"""Argument checks shared by every layer.

Every message names the argument, the rule and the offending value, so that bad input never
travels further and turns into NaN deep inside a computation.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from emkit._backend import Array

__all__ = [
    "MISSING_CHOICES",
    "block_starts",
    "block_weights",
    "check_array",
    "check_choice",
    "check_float",
    "check_int",
    "check_lengths",
    "check_missing_choice",
    "check_observed_rows",
    "check_random_state",
    "check_sample_weight",
    "first_offender",
    "group_order",
    "refuse_missing",
]


def first_offender(mask: Array) -> tuple[int, ...]:
    """Index of the first ``True`` entry of ``mask`` (row-major), for error messages."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _where(index: tuple[int, ...]) -> str:
    if len(index) == 2:
        return f"row {index[0]}, column {index[1]}"
    return f"index {index[0]}" if len(index) == 1 else f"index {index}"


def check_array(
    X: Any,
    name: str = "X",
    *,
    ndim: int = 2,
    min_rows: int = 1,
    dtype: Any = None,
    allow_missing: bool = False,
) -> Array:
    """Return ``X`` as a finite floating array of ``ndim`` dimensions.

    float32 and float64 input keep their dtype (unless ``dtype`` is given); integer and boolean
    input becomes float64. Pandas objects and nested lists are accepted (pandas' missing values,
    ``None`` and ``pd.NA``, become NaN). With ``allow_missing`` NaN entries (missing values) pass;
    infinities never do.

    Raises
    ------
    TypeError
        If ``X`` is not numeric.
    ValueError
        If ``X`` has the wrong number of dimensions, too few rows, no columns, or a NaN/inf.
    """
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        X = _frame_to_numpy(X)
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"`{name}` must be a rectangular numeric array; {exc}") from None
    if arr.dtype == object:
        try:
            arr = np.where(_is_missing_object(arr), np.nan, arr).astype(np.float64)
        except (ValueError, TypeError):
            raise TypeError(
                f"`{name}` must be numeric; it holds non-numeric values (dtype object), "
                f"e.g. {_first_non_numeric(arr)!r}"
            ) from None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"`{name}` must be numeric; got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"`{name}` must be real; got dtype {arr.dtype}")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if arr.ndim != ndim:
        hint = " (use X.reshape(-1, 1) for a single feature)" if ndim == 2 and arr.ndim == 1 else ""
        raise ValueError(
            f"`{name}` must be a {ndim}-D array; got {arr.ndim}-D with shape {arr.shape}{hint}"
        )
    if arr.shape[0] < min_rows:
        raise ValueError(f"`{name}` must have at least {min_rows} row(s); got shape {arr.shape}")
    if ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"`{name}` must have at least one column; got shape {arr.shape}")
    finite = np.isfinite(arr)
    if not finite.all():
        bad = ~finite & ~np.isnan(arr) if allow_missing else ~finite
        if bad.any():
            index = first_offender(bad)
            raise ValueError(
                f"`{name}` must contain only finite values; found {arr[index]} at {_where(index)}"
            )
    return arr


MISSING_CHOICES = ("error", "marginalise")
"""What a NaN in the data may be: a mistake (refused) or a value missing at random."""


def check_missing_choice(value: Any) -> str:
    """``missing`` must be ``"error"`` or ``"marginalise"``."""
    return check_choice(value, "missing", MISSING_CHOICES)


def refuse_missing(X: Array, name: str, owner: str) -> None:
    """Raise the error of a NaN in ``X`` for an ``owner`` that does not take missing values.

    ``owner`` says who refuses and what to do instead (it ends the message in parentheses).
    """
    missing = np.isnan(X)
    if missing.any():
        index = first_offender(missing)
        raise ValueError(
            f"`{name}` must contain only finite values; found nan at {_where(index)} ({owner})"
        )


def check_observed_rows(X: Array, name: str = "X") -> None:
    """Refuse a row whose every entry is missing (it carries no information about its row)."""
    empty = np.isnan(X).all(axis=1)
    if empty.any():
        rows = np.flatnonzero(empty)
        shown = ", ".join(str(int(r)) for r in rows[:5]) + (", ..." if rows.size > 5 else "")
        raise ValueError(
            f"every row of `{name}` must have at least one observed value; row(s) {shown} "
            f"({rows.size} in all) are entirely missing (NaN): drop them, e.g. "
            "X[~np.isnan(X).all(axis=1)]"
        )


def _frame_to_numpy(X: Any) -> Any:
    # A DataFrame of nullable dtypes holds pd.NA, which numpy cannot convert to float; ask for
    # NaN instead where pandas allows it.
    try:
        return X.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        return X.to_numpy()


def _is_missing_object(arr: Array) -> Array:
    # None and pandas' NA in an object array are missing values (NaN after conversion).
    is_missing = np.frompyfunc(lambda v: v is None or type(v).__name__ == "NAType", 1, 1)
    return np.asarray(is_missing(arr), dtype=bool)


def _first_non_numeric(arr: Array) -> Any:
    for value in arr.ravel():
        try:
            float(value)
        except (ValueError, TypeError):
            return value
    return None


def check_int(
    value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an ``int`` within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be an integer; got {value!r} of type {type(value).__name__}"
        )
    result = int(value)
    if minimum is not None and result < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}; got {result}")
    if maximum is not None and result > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}; got {result}")
    return result


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    exclusive_minimum: bool = False,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite ``float``; ``minimum`` is inclusive unless stated."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a real number; got {value!r} of type {type(value).__name__}"
        )
    result = float(value)
    if not np.isfinite(result):
        raise ValueError(f"`{name}` must be finite; got {result}")
    if minimum is not None:
        if exclusive_minimum and result <= minimum:
            raise ValueError(f"`{name}` must be > {minimum}; got {result}")
        if not exclusive_minimum and result < minimum:
            raise ValueError(f"`{name}` must be >= {minimum}; got {result}")
    if maximum is not None and result > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}; got {result}")
    return result


def check_choice(value: Any, name: str, options: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``options``."""
    options = tuple(options)
    if value not in options:
        raise ValueError(f"`{name}` must be one of {', '.join(map(repr, options))}; got {value!r}")
    return str(value)


def check_sample_weight(sample_weight: Any, n_samples: int) -> Array | None:
    """Return non-negative finite float64 weights of shape (n_samples,), or ``None``."""
    if sample_weight is None:
        return None
    w = check_array(sample_weight, "sample_weight", ndim=1, dtype=np.float64)
    if w.shape[0] != n_samples:
        raise ValueError(
            f"`sample_weight` must have one entry per row of X ({n_samples}); got {w.shape[0]}"
        )
    if (w < 0).any():
        index = first_offender(w < 0)
        raise ValueError(f"`sample_weight` must be >= 0; found {w[index]} at index {index[0]}")
    if not w.any():
        raise ValueError("`sample_weight` must have at least one positive entry; all are 0")
    return w


def check_random_state(random_state: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``None``, an int seed, a SeedSequence or a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(random_state, numbers.Integral | np.random.SeedSequence):
        if isinstance(random_state, numbers.Integral) and int(random_state) < 0:
            raise ValueError(f"`random_state` must be a non-negative seed; got {random_state}")
        return np.random.default_rng(random_state)  # type: ignore[arg-type]
    raise TypeError(
        "`random_state` must be None, an int seed, a numpy SeedSequence or Generator; "
        f"got {random_state!r}"
    )


def block_starts(lengths: Array) -> Array:
    """The first row of every block (sequence, group) of consecutive rows of sizes ``lengths``."""
    return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp)


def block_weights(weights: Array | None, lengths: Array, what: str) -> Array | None:
    """One weight per block from row weights that are the same on every row of a block.

    A block's weight counts it that many times (a sequence of weight 2 is the sequence twice),
    which needs the weight to be constant within the block; ``what`` names the blocks in the
    message ("sequence", "group").
    """
    if weights is None:
        return None
    per_block = weights[block_starts(lengths)]
    varies = np.repeat(per_block, lengths) != weights
    if varies.any():
        row = int(np.flatnonzero(varies)[0])
        block = int(np.searchsorted(np.cumsum(lengths), row, side="right"))
        raise ValueError(
            f"`sample_weight` must be the same on every row of a {what} (a {what}'s weight "
            f"counts it that many times); {what} {block} has {per_block[block]} and "
            f"{weights[row]} (row {row})"
        )
    return np.asarray(per_block, dtype=np.float64)


def check_lengths(lengths: Any, n_samples: int, name: str = "lengths") -> Array:
    """Positive integer block sizes (n_blocks,) that sum to ``n_samples``.

    Blocks are consecutive rows that belong together (the sequences of a hidden Markov model,
    hmmlearn's ``lengths``; the groups of a grouped mixture).
    """
    arr = np.asarray(lengths)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise ValueError(
            f"`{name}` must be a non-empty 1-D sequence of block sizes; got shape {arr.shape}"
        )
    whole_floats = (
        np.issubdtype(arr.dtype, np.floating)
        and bool(np.all(np.isfinite(arr)))
        and bool(np.all(arr == np.round(arr)))
    )
    if not np.issubdtype(arr.dtype, np.integer) and not whole_floats:
        raise TypeError(f"`{name}` must hold integers; got dtype {arr.dtype}")
    arr = arr.astype(np.intp)
    if (arr < 1).any():
        index = int(np.flatnonzero(arr < 1)[0])
        raise ValueError(
            f"`{name}` must hold positive sizes (every sequence or group has a row); found "
            f"{arr[index]} at index {index}"
        )
    total = int(arr.sum())
    if total != n_samples:
        raise ValueError(
            f"`{name}` must sum to the number of rows of X ({n_samples}); got {total} "
            f"(over {arr.shape[0]} blocks)"
        )
    return arr


def group_order(groups: Any, n: int) -> tuple[Array, Array, Array]:
    """The stable order that puts the rows of each group together.

    Rows with one id form a group wherever they are (a subject's repeated measurements); groups
    keep the order of their first row and rows their order within a group, so data whose
    groups are already consecutive keeps its order.

    Parameters
    ----------
    groups : array-like or pandas Series of shape (n,)
        One id per row: numbers or strings (one kind), none missing.
    n : int
        Rows of the data.

    Returns
    -------
    order : int array of shape (n,)
        The rows in group order: ``X[order]`` has each group's rows together.
    lengths : int array of shape (n_groups,)
        The group sizes in that order (``lengths=`` of the models).
    first_row : int array of shape (n,)
        The first row (in the caller's order) of each row's group.
    """
    raw = groups.to_numpy() if hasattr(groups, "to_numpy") else groups
    ids = np.asarray(raw)
    if ids.ndim != 1 or ids.shape[0] != n:
        raise ValueError(f"`groups` must hold one id per row: shape ({n},); got shape {ids.shape}")
    if ids.dtype.kind == "f" and not np.isfinite(ids).all():
        row = int(np.flatnonzero(~np.isfinite(ids))[0])
        raise ValueError(f"`groups` has a missing id {ids[row]} at row {row}")
    if ids.dtype == object:
        missing = [i for i, v in enumerate(ids) if v is None or (isinstance(v, float) and v != v)]
        if missing:
            raise ValueError(f"`groups` has a missing id {ids[missing[0]]!r} at row {missing[0]}")
    try:
        _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
    except TypeError:
        raise TypeError(
            "`groups` must hold ids of one kind (all numbers or all strings) that can be sorted"
        ) from None
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(first.shape[0])
    group = rank[np.asarray(inverse).reshape(-1)]
    order = np.argsort(group, kind="stable")
    lengths = np.bincount(group).astype(np.intp)
    first_row = np.sort(first)[group]
    return order, lengths, first_row
