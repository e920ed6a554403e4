"""Input checks of the estimators, with scikit-learn's wording for the common mistakes."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
import scipy.sparse

from emkit._backend import Array
from emkit._validation import check_array, check_sample_weight

__all__ = [
    "WEIGHTS_INIT_ATOL",
    "check_feature_names",
    "check_nonnegative",
    "check_shape",
    "check_weights",
    "check_weights_init",
    "check_x",
    "feature_names",
    "same_value",
]

#: How far ``weights_init`` may sum from 1 (scikit-learn's ``np.allclose`` default tolerance).
WEIGHTS_INIT_ATOL = 1e-8


def check_weights_init(value: Any, n_components: int) -> Array:
    weights = check_shape(value, "weights_init", (n_components,))
    if (weights < 0).any() or (weights > 1).any():
        raise ValueError(f"`weights_init` must lie in [0, 1]; got {weights.tolist()}")
    total = float(weights.sum())
    if abs(total - 1.0) > WEIGHTS_INIT_ATOL:
        raise ValueError(f"`weights_init` must sum to 1; got {weights.tolist()} (sum {total!r})")
    return weights


def check_shape(value: Any, name: str, shape: tuple[int, ...]) -> Array:
    arr = check_array(value, name, ndim=len(shape), dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"`{name}` must have shape {shape}; got {arr.shape}")
    return arr


def check_nonnegative(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number; got {value!r}")
    result = float(value)
    if not np.isfinite(result) or result < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0; got {value!r}")
    return result


def check_x(X: Any, name: str, positive_only: bool = False, missing: str | None = "error") -> Array:
    """``X`` as a finite 2-D float array, with scikit-learn's wording for the common mistakes.

    ``name`` is the estimator's class name; ``positive_only`` refuses negative values;
    ``missing="marginalise"`` lets NaN (and pandas' missing values) through as missing values,
    ``"error"`` refuses them and names the option, ``None`` (an estimator without missing
    values) refuses them with the advice to drop or fill them.
    """
    if scipy.sparse.issparse(X):
        raise TypeError(
            "`X` is a sparse matrix, and these estimators need dense input; use X.toarray()"
        )
    allow_missing = missing == "marginalise"
    if allow_missing:
        # pandas' missing values (None, pd.NA) become NaN first.
        return _check_x_values(
            check_array(X, "X", allow_missing=True), name, positive_only, missing
        )
    raw = X.to_numpy() if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray) else X
    try:
        arr = np.asarray(raw)
    except (TypeError, ValueError):
        return check_array(X, "X")  # its message explains what is not rectangular
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`X` must be numeric; converting it failed: {exc}") from None
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"`X` must be real: Complex data not supported; got dtype {arr.dtype}")
    if arr.ndim == 1:
        raise ValueError(
            f"`X` must be a 2-D array; got 1-D with shape {arr.shape}. Reshape your data with "
            "X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample"
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(
            f"`X` has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required."
        )
    if np.issubdtype(arr.dtype, np.number):
        _check_x_values(arr, name, positive_only, missing)
    return check_array(arr, "X")


def _check_x_values(arr: Array, name: str, positive_only: bool, missing: str | None) -> Array:
    finite = np.isfinite(arr)
    if not finite.all():
        bad = ~finite & ~np.isnan(arr) if missing == "marginalise" else ~finite
        if bad.any():
            row, column = (int(i) for i in np.argwhere(bad)[0][:2])
            value = arr[row, column]
            hint = ""
            if np.isnan(value):
                hint = (
                    f" ({name} does not take missing values: drop or fill them)"
                    if missing is None
                    else " (or pass missing='marginalise' to treat NaN as values missing at random)"
                )
            raise ValueError(
                f"`X` must not contain NaN or inf; found {value} at row {row}, "
                f"column {column}{hint}"
            )
    if positive_only and arr.ndim == 2 and (arr < 0).any():
        row, column = (int(i) for i in np.argwhere(arr < 0)[0])
        raise ValueError(
            f"Negative values in data passed to {name}: `X` must be "
            f"non-negative; found {arr[row, column]} at row {row}, column {column}"
        )
    return arr


def check_weights(sample_weight: Any, n_samples: int) -> Array | None:
    """Validated ``sample_weight`` (float64, non-negative, positive sum) or None."""
    if sample_weight is None:
        return None
    weights = check_array(sample_weight, "sample_weight", ndim=1, dtype=np.float64)
    if weights.shape[0] == n_samples and not weights.any():
        raise ValueError(
            "`sample_weight` is zero for every row; at least one weight must be positive"
        )
    return check_sample_weight(weights, n_samples)


def feature_names(X: Any) -> Array | None:
    """Column names of a DataFrame when all are strings (scikit-learn's rule), else None."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size == 0:
        return None
    types = sorted({type(name).__qualname__ for name in names})
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, but "
            f"your input has {types} as feature name / column name types; convert them all to "
            "strings, e.g. X.columns = X.columns.astype(str)"
        )
    return names if types == ["str"] else None


def check_feature_names(fitted: Array | None, X: Any, name: str) -> None:
    """The column names of ``X`` must be those seen in fit (``fitted``; scikit-learn's rules)."""
    given = feature_names(X)
    if fitted is None and given is None:
        return
    if fitted is None:
        warnings.warn(
            f"X has feature names, but {name} was fitted without feature names", stacklevel=3
        )
        return
    if given is None:
        warnings.warn(
            f"X does not have valid feature names, but {name} was fitted with feature names",
            stacklevel=3,
        )
        return
    if len(fitted) == len(given) and np.all(fitted == given):
        return
    message = "The feature names should match those that were passed during fit.\n"
    unexpected = sorted(set(given) - set(fitted))
    missing = sorted(set(fitted) - set(given))
    if unexpected:
        message += "Feature names unseen at fit time:\n" + _list_names(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + _list_names(missing)
    if not unexpected and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def _list_names(names: list[str], limit: int = 5) -> str:
    shown = "".join(f"- {name}\n" for name in names[:limit])
    return shown + ("- ...\n" if len(names) > limit else "")


def same_value(value: Any, default: Any) -> bool:
    if value is default:
        return True
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return False
    try:
        return bool(type(value) is type(default) and value == default)
    except (TypeError, ValueError):
        return False
