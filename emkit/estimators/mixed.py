"""Mixed-type tables: [`MixedMixture`][emkit.estimators.mixed.MixedMixture], a mixture whose columns
follow different families (measurements, yes/no answers, counts, categories).

Within a component the columns are independent blocks, each with its own family (a
[`Product`][emkit.families.product.Product]): every Gaussian column together in one Gaussian
block (diagonal covariance unless ``covariance_type`` says otherwise), Bernoulli columns in one
Bernoulli block, Poisson columns in one Poisson block, categorical columns in one
[`Categorical`][emkit.families.Categorical] block whose levels are learned from the data.

The dtype rule ([`infer_column_families`][emkit.estimators.mixed.infer_column_families])
    A column not named in ``column_families`` gets its family from its dtype:

    * floating point: ``"gaussian"`` (an integer column with missing values that pandas read as
      float64 too: convert it with ``astype("Int64")`` or name it in ``column_families``);
    * boolean (numpy ``bool``, pandas ``"boolean"``): ``"bernoulli"``;
    * integer (numpy or pandas' nullable ``"Int64"``): ``"bernoulli"`` when its observed values
      are all 0 or 1 (an indicator), else ``"poisson"`` (counts; a negative value is an error
      that says which family to name instead);
    * category, string or object of strings: ``"categorical"``;
    * object columns of Python values by what they hold: booleans ``"bernoulli"``, integers as
      integer columns, other numbers ``"gaussian"``, strings ``"categorical"`` (one kind per
      column).

Levels and codes
    A categorical column's levels are its distinct observed values, sorted (``categories_``);
    the mixture is fitted to their codes ``0 .. L - 1`` and every method maps its rows through
    the same levels (an unseen level is an error naming the column and the value). ``sample``
    and ``impute`` map codes back to levels.

Missing values
    ``None``, NaN and pandas' NA are missing cells. With ``missing="error"`` (the default) they
    are refused, naming the column and row; with ``missing="marginalise"`` they are values
    missing at random, integrated out exactly by every family, and ``impute`` fills them in.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any, final

import attrs
import numpy as np

from emkit import registry
from emkit._backend import Array
from emkit._validation import check_choice
from emkit.estimators.base import MixtureEstimator, StartFromData
from emkit.estimators.inputs import check_feature_names, check_weights_init
from emkit.families import COVARIANCE_TYPES, Bernoulli, Categorical, Gaussian, Poisson
from emkit.families.product import Product, ProductParams
from emkit.init import initial_responsibilities
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.protocols import ExponentialFamily
from emkit.registry import register_estimator
from emkit.starts import model_start

__all__ = ["FAMILY_NAMES", "MixedMixture", "infer_column_families", "text_family"]

FAMILY_NAMES = ("gaussian", "bernoulli", "poisson", "categorical")
"""The family names ``column_families`` takes (besides family instances)."""

#: The kinds of value a categorical column's levels may be, as fitted_state names them.
_KIND_NAMES = {"U": "string", "b": "boolean", "i": "integer", "f": "number"}

#: How a one-hot code is scaled in the start's k-means: a row that differs from another in one
#: categorical column is as far from it as one standard deviation of a numeric column.
_ONE_HOT_SCALE = float(np.sqrt(0.5))

#: The smallest standard deviation a column is scaled by in the start (a constant column).
_START_SD_FLOOR = 1e-12


# -- reading a table -----------------------------------------------------------------------------
@final
@attrs.frozen(eq=False)
class _Table:
    """The columns of ``X`` as 1-D arrays, their keys (names, else positions) and dtypes."""

    columns: list[Array]
    keys: list[Any]
    labels: list[str]
    dtypes: list[Any]
    frame: bool

    def where(self, j: int) -> str:
        return self.labels[j]


def _is_frame(X: Any) -> bool:
    return hasattr(X, "columns") and hasattr(X, "dtypes") and not isinstance(X, np.ndarray)


def _table(X: Any) -> _Table:
    """``X`` (a DataFrame, an array or nested lists) column by column, without importing
    pandas."""
    if _is_frame(X):
        names = list(X.columns)
        if not names or len(X) == 0:
            raise ValueError(f"`X` must have at least one row and one column; got {X.shape}")
        columns, dtypes = [], []
        for j in range(len(names)):
            series = X.iloc[:, j]
            dtype = series.dtype
            # pandas' extension dtypes (nullable integers, strings, categories) through object,
            # so that their missing values (pd.NA) are visible as such.
            values = series.to_numpy() if isinstance(dtype, np.dtype) else series.to_numpy(object)
            columns.append(np.asarray(values))
            dtypes.append(dtype)
        return _Table(columns, *_keys_and_labels(names), dtypes, True)
    column_names: Any = getattr(X, "columns", None)
    try:
        if column_names is not None and hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
            # A table with named columns that is not a DataFrame (e.g. the command line's
            # cells): its values as objects, its names as a DataFrame's.
            arr = np.asarray(X.to_numpy(dtype=object))
        else:
            # Nested lists keep each cell's own type (numpy would turn a row of a string and
            # numbers into strings); an array keeps its dtype.
            column_names = None
            arr = X if isinstance(X, np.ndarray) else np.asarray(X, dtype=object)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`X` must be a rectangular table of values; {exc}") from None
    if arr.ndim != 2:
        raise ValueError(f"`X` must be a 2-D table (n_samples, n_features); got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"`X` must have at least one row and one column; got shape {arr.shape}")
    if arr.dtype.kind == "c":
        raise TypeError(f"`X` must be real; got dtype {arr.dtype}")
    if arr.dtype.kind == "S":
        arr = arr.astype(str)
    width = arr.shape[1]
    if column_names is None:
        keys: list[Any] = list(range(width))
        labels = [f"column {j}" for j in range(width)]
    else:
        if len(column_names) != width:
            raise ValueError(f"`X` names {len(column_names)} columns but has {width}")
        keys, labels = _keys_and_labels(list(column_names))
    return _Table([arr[:, j] for j in range(width)], keys, labels, [arr.dtype] * width, False)


def _keys_and_labels(names: list[Any]) -> tuple[list[Any], list[str]]:
    """Columns are keyed by their names when all are strings (scikit-learn's rule), else by
    position; messages name both."""
    keys = names if all(isinstance(n, str) for n in names) else list(range(len(names)))
    return keys, [f"column {j} ({name!r})" for j, name in enumerate(names)]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return type(value).__name__ in ("NAType", "NaTType")


def _value_kind(value: Any) -> str:
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
_kind_of = np.frompyfunc(_value_kind, 1, 1)


def _missing_mask(values: Array) -> Array:
    """Which cells of a column are missing (None, NaN, pandas' NA)."""
    kind = values.dtype.kind
    if kind == "f":
        return np.isnan(values)
    if kind == "O":
        return np.asarray(_missing_of(values), dtype=bool)
    return np.zeros(values.shape[0], dtype=bool)


def _kinds(values: Array) -> set[str]:
    """The kinds of the (observed) values of a column: string, boolean, integer, number."""
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


def _infer(values: Array, dtype: Any, where: str) -> str:
    """The dtype rule for one column (see the module docstring)."""
    if getattr(dtype, "name", None) == "category":
        return "categorical"
    kind = getattr(dtype, "kind", "O")
    observed = values[~_missing_mask(values)]
    if kind == "b":
        return "bernoulli"
    if kind in "iu":
        return _integer_family(observed)
    if kind == "f":
        return "gaussian"
    if kind in "US":
        return "categorical"
    if kind != "O":
        raise TypeError(
            f"`X` {where} has dtype {dtype}, which no family models; convert it to numbers or "
            "strings, or drop it"
        )
    kinds = _kinds(observed)
    if not kinds:
        raise ValueError(f"`X` {where} has no observed value; drop it")
    if kinds == {"string"}:
        return "categorical"
    if kinds == {"boolean"}:
        return "bernoulli"
    if kinds == {"integer"}:
        return _integer_family(observed)
    if kinds <= {"integer", "number"}:
        return "gaussian"
    raise ValueError(
        f"`X` {where} mixes kinds of value ({', '.join(sorted(kinds))}); a column holds one "
        "kind: numbers, booleans or strings"
    )


def _integer_family(observed: Array) -> str:
    values = observed.astype(np.float64)
    return "bernoulli" if bool(np.all((values == 0) | (values == 1))) else "poisson"


def infer_column_families(X: Any) -> dict[Any, str]:
    """The family of every column of ``X`` by the dtype rule.

    Floating point columns are ``"gaussian"``; boolean ones ``"bernoulli"``; integer ones
    ``"bernoulli"`` when every observed value is 0 or 1, else ``"poisson"``; category, string
    and object columns of strings ``"categorical"`` (object columns of numbers or booleans as
    their values say). See the module docstring for the details.

    Parameters
    ----------
    X : DataFrame, array or nested lists of shape (n_samples, n_features)

    Returns
    -------
    families : dict
        Column name (a DataFrame whose column names are all strings) or position (anything
        else) to one of [`FAMILY_NAMES`][emkit.estimators.mixed.FAMILY_NAMES], in column order.

    Raises
    ------
    ValueError
        If a column has no observed value or mixes kinds of value.
    TypeError
        If a column's dtype is neither numeric, boolean nor text (e.g. datetimes).
    """
    table = _table(X)
    return {
        key: _infer(values, dtype, table.where(j))
        for j, (key, values, dtype) in enumerate(
            zip(table.keys, table.columns, table.dtypes, strict=True)
        )
    }


def _whole_number(cell: str) -> int | None:
    try:
        return int(cell)
    except ValueError:
        return None


def _finite_number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def text_family(cells: Sequence[str]) -> str:
    """The family of a column given as text cells (a CSV file's), by the text rule.

    Only 0 and 1, or only ``true`` and ``false`` (any case), is ``"bernoulli"``; other whole
    numbers (no decimal point, no exponent) are ``"poisson"`` when all are >= 0, else
    ``"gaussian"``; numbers with a decimal point or an exponent are ``"gaussian"``; anything
    else is ``"categorical"``. The command line's ``--family auto`` applies it to every column
    of a file.

    Parameters
    ----------
    cells : sequence of str
        The column's observed cells (missing cells left out), e.g. its distinct cells.

    Returns
    -------
    str
        One of [`FAMILY_NAMES`][emkit.estimators.mixed.FAMILY_NAMES].

    Raises
    ------
    ValueError
        If ``cells`` is empty.
    """
    if not cells:
        raise ValueError("`cells` must hold at least one observed cell")
    if {cell.lower() for cell in cells} <= {"true", "false"}:
        return "bernoulli"
    whole = [_whole_number(cell) for cell in cells]
    if all(value is not None for value in whole):
        values = {value for value in whole if value is not None}
        if values <= {0, 1}:
            return "bernoulli"
        return "poisson" if min(values) >= 0 else "gaussian"
    if all(_finite_number(cell) is not None for cell in cells):
        return "gaussian"
    return "categorical"


# -- the choice of every column --------------------------------------------------------------
def _check_family_value(value: Any, key: Any) -> str | ExponentialFamily[Any, Any]:
    if isinstance(value, str):
        name = value.strip().lower()
        if name not in FAMILY_NAMES:
            raise ValueError(
                f"`column_families[{key!r}]` must be one of {', '.join(FAMILY_NAMES)} or a family "
                f"instance; got {value!r}"
            )
        return name
    if isinstance(value, type) or not isinstance(value, ExponentialFamily):
        raise TypeError(
            f"`column_families[{key!r}]` must be a family name ({', '.join(FAMILY_NAMES)}) or a "
            f"family instance such as Gaussian('full'); got {value!r}"
        )
    if isinstance(value, Categorical) and not isinstance(value.n_levels, int):
        raise ValueError(
            f"`column_families[{key!r}]`: a Categorical instance applies to one column at a time "
            f"and needs one number of levels (its codes 0 .. n_levels - 1); got n_levels="
            f"{value.n_levels!r} (or name the column 'categorical' to learn its levels)"
        )
    return value


def _check_spec(spec: Any) -> dict[Any, str | ExponentialFamily[Any, Any]]:
    """``column_families`` with names lowered and values checked (keys are checked at fit)."""
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise TypeError(
            "`column_families` must be a dict from column name (or index) to a family name or "
            f"instance; got {type(spec).__name__}"
        )
    return {key: _check_family_value(value, key) for key, value in spec.items()}


def _resolve_keys(
    spec: Mapping[Any, str | ExponentialFamily[Any, Any]], table: _Table
) -> dict[int, str | ExponentialFamily[Any, Any]]:
    """``column_families`` by column position: a key is a column name, else an integer
    position."""
    positions: dict[int, str | ExponentialFamily[Any, Any]] = {}
    names = [str(key) for key in table.keys] if table.frame else None
    for key, value in spec.items():
        if key in table.keys:
            j = table.keys.index(key)
        elif (
            isinstance(key, int | np.integer)
            and not isinstance(key, bool)
            and (0 <= int(key) < len(table.keys))
        ):
            j = int(key)
        else:
            known = ", ".join(names) if names else f"positions 0 .. {len(table.keys) - 1}"
            raise ValueError(
                f"`column_families` names the column {key!r}, which `X` does not have (its "
                f"columns: {known})"
            )
        if j in positions:
            raise ValueError(f"`column_families` gives column {table.keys[j]!r} twice")
        positions[j] = value
    return positions


# -- encoding columns ------------------------------------------------------------------------------
def _numbers(values: Array, missing: Array, where: str, what: str) -> Array:
    """A column as float64 (NaN where missing); text is refused naming the row."""
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    if values.dtype.kind in "US":
        raise ValueError(
            f"`X` {where} holds text ({_shown(values[0])} at row 0), but {what} needs numbers "
            "(name the column 'categorical' in column_families)"
        )
    filled = np.where(missing, np.nan, values)
    try:
        return filled.astype(np.float64)
    except (TypeError, ValueError):
        kinds = np.asarray(_kind_of(np.where(missing, 0.0, values)), dtype=object)
        row = int(np.flatnonzero(~np.isin(kinds.astype(str), ["integer", "number", "boolean"]))[0])
        raise ValueError(
            f"`X` {where} holds {_shown(values[row])} at row {row}, but {what} needs numbers "
            "(name the column 'categorical' in column_families)"
        ) from None


def _first(mask: Array) -> int:
    return int(np.flatnonzero(mask)[0])


def _shown(value: Any) -> str:
    """A cell for a message: numpy scalars as the Python value they hold."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _encode_numeric(
    values: Array, missing: Array, family: str | ExponentialFamily[Any, Any], where: str
) -> Array:
    """A Gaussian, Bernoulli, Poisson (or plugin family's) column as float64 values."""
    name = family if isinstance(family, str) else type(family).__name__
    x = _numbers(values, missing, where, f"a {name} column")
    observed = ~np.isnan(x)
    if np.isinf(x).any():
        row = _first(np.isinf(x))
        raise ValueError(f"`X` {where} holds {x[row]} at row {row}; values must be finite")
    if family == "bernoulli" or isinstance(family, Bernoulli):
        bad = observed & (x != 0) & (x != 1)
        if bad.any():
            row = _first(bad)
            raise ValueError(
                f"`X` {where} holds {_shown(values[row])} at row {row}, but a Bernoulli column "
                "holds 0/1 or booleans (name the column 'categorical' or 'poisson' in "
                "column_families)"
            )
    if family == "poisson" or isinstance(family, Poisson):
        negative = observed & (x < 0)
        if negative.any():
            row = _first(negative)
            raise ValueError(
                f"`X` {where} holds the negative value {_shown(values[row])} at row {row}, but a "
                "Poisson column holds counts >= 0; name the column 'gaussian' (or 'categorical') "
                "in column_families"
            )
        fraction = observed & (x != np.round(x))
        if fraction.any():
            row = _first(fraction)
            raise ValueError(
                f"`X` {where} holds {_shown(values[row])} at row {row}, but a Poisson column "
                "holds whole counts; name the column 'gaussian' in column_families"
            )
    return x


def _typed_levels(observed: Array, where: str) -> Array:
    """Observed categorical values as one kind: object (strings), bool, int64 or float64."""
    kinds = _kinds(observed)
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


def _learn_levels(values: Array, missing: Array, where: str) -> Array:
    observed = values[~missing]
    if observed.shape[0] == 0:
        raise ValueError(f"`X` {where} has no observed value; drop it")
    levels = np.unique(_typed_levels(observed, where))
    if levels.shape[0] < 2:
        raise ValueError(
            f"`X` {where} has a single level {levels.tolist()[0]!r}; a categorical column needs "
            "at least 2 levels (drop a constant column)"
        )
    return levels


def _level_kind(levels: Array) -> str:
    kind = levels.dtype.kind
    return _KIND_NAMES["U" if kind == "O" else "i" if kind == "u" else kind]


def _encode_levels(values: Array, missing: Array, levels: Array, where: str) -> Array:
    """Codes (float64, NaN where missing) of a column's values in ``levels``."""
    codes = np.full(values.shape[0], np.nan)
    if (~missing).any():
        typed = _typed_levels(values[~missing], where)
        if (_level_kind(typed) == "string") != (_level_kind(levels) == "string"):
            raise ValueError(
                f"`X` {where} holds {_level_kind(typed)} values such as {typed.tolist()[0]!r}, "
                f"but its levels seen in fit are {_level_kind(levels)}s: {levels.tolist()!r}"
            )
        index = np.minimum(np.searchsorted(levels, typed), levels.shape[0] - 1)
        unseen = levels[index] != typed
        if unseen.any():
            row = int(np.flatnonzero(~missing)[_first(unseen)])
            raise ValueError(
                f"`X` {where} holds the level {_shown(values[row])} at row {row}, which was not "
                f"seen in fit; the levels are {levels.tolist()!r}"
            )
        codes[~missing] = index
    return codes


# -- the fitted layout -------------------------------------------------------------------------
@final
@attrs.frozen(eq=False)
class _Layout:
    """What a fit learned about the columns: their keys, family choices, levels and dtypes, and
    the product family built from them."""

    keys: tuple[Any, ...]
    choices: tuple[str | ExponentialFamily[Any, Any], ...]
    categories: tuple[Array | None, ...]
    dtypes: tuple[str | None, ...]
    frame: bool
    array_dtype: str | None
    product: Product

    def family_names(self) -> list[str]:
        """The family of every column in words: a name of FAMILY_NAMES or a registered name."""
        return [
            choice if isinstance(choice, str) else registry.family_name(choice).lower()
            for choice in self.choices
        ]

    def encode(self, table: _Table, allow_missing: bool) -> Array:
        """The table's columns as the mixture's numbers (float64, NaN where missing)."""
        out = np.empty((table.columns[0].shape[0], len(self.keys)), dtype=np.float64)
        for j, (values, choice, levels) in enumerate(
            zip(table.columns, self.choices, self.categories, strict=True)
        ):
            where = table.where(j)
            missing = _missing_mask(values)
            if missing.any() and not allow_missing:
                row = _first(missing)
                raise ValueError(
                    f"`X` {where} has a missing value {_shown(values[row])} at row {row}; pass "
                    "missing='marginalise' to treat missing cells as values missing at random"
                )
            if levels is not None and not isinstance(choice, Categorical):
                out[:, j] = _encode_levels(values, missing, levels, where)
            elif isinstance(choice, Categorical):
                out[:, j] = _encode_codes(values, missing, choice, where)
            else:
                out[:, j] = _encode_numeric(values, missing, choice, where)
        return out

    def decode(self, codes: Array) -> list[Array]:
        """Columns of the mixture's numbers as values: levels for categorical columns, numbers
        for the others (bool or int64 where the column was of a boolean or integer dtype and
        the numbers allow it)."""
        columns = []
        for j, levels in enumerate(self.categories):
            x = codes[:, j]
            if levels is not None:
                columns.append(levels[x.astype(np.intp)])
                continue
            kind = _numpy_kind(self.dtypes[j] if self.frame else self.array_dtype)
            if kind == "b" and bool(np.isin(x, (0.0, 1.0)).all()):
                columns.append(x.astype(np.bool_))
            elif kind in ("i", "u") and bool(np.array_equal(x, np.round(x))):
                columns.append(x.astype(np.int64))
            else:
                columns.append(x)
        return columns


def _numpy_kind(name: str | None) -> str | None:
    """The numpy kind of a dtype name, or None for pandas' own dtypes (category, Int64, ...)."""
    if name is None:
        return None
    try:
        return np.dtype(name).kind
    except TypeError:
        lowered = name.lower()
        if lowered == "boolean":
            return "b"
        if lowered.startswith(("int", "uint")):
            return "i"
        return None


def _encode_codes(values: Array, missing: Array, family: Categorical, where: str) -> Array:
    """A column of integer codes for a Categorical instance with its own number of levels."""
    x = _numbers(values, missing, where, "a Categorical column of codes")
    levels = int(family.n_levels)  # type: ignore[arg-type]
    observed = ~np.isnan(x)
    bad = observed & ((x != np.round(x)) | (x < 0) | (x >= levels))
    if bad.any():
        row = _first(bad)
        raise ValueError(
            f"`X` {where} holds {_shown(values[row])} at row {row}, but its Categorical({levels}) "
            f"holds the codes 0 .. {levels - 1} (or name the column 'categorical' to learn its "
            "levels)"
        )
    return x


def _product(
    choices: Sequence[str | ExponentialFamily[Any, Any]],
    categories: Sequence[Array | None],
    covariance_type: str,
    reg_covar: float,
    pseudo_count: float,
) -> Product:
    """The product family of the columns: one block per family name (and per distinct family
    instance), in the order of each block's first column."""
    blocks: list[tuple[Any, list[int]]] = []
    for j, choice in enumerate(choices):
        for key, columns in blocks:
            if key == choice:
                columns.append(j)
                break
        else:
            blocks.append((choice, [j]))
    parts = []
    for key, columns in blocks:
        family: ExponentialFamily[Any, Any]
        if key == "gaussian":
            family = Gaussian(covariance_type, reg_covar=reg_covar)
        elif key == "bernoulli":
            family = Bernoulli(pseudo_count)
        elif key == "poisson":
            family = Poisson()
        elif key == "categorical":
            levels = tuple(int(categories[j].shape[0]) for j in columns)  # type: ignore[union-attr]
            family = Categorical(levels, pseudo_count=pseudo_count)
        else:
            family = key
        parts.append((family, tuple(columns)))
    return Product(tuple(parts))


def _dtype_name(dtype: Any) -> str:
    """A dtype as text that ``np.dtype`` (numpy's) or ``astype`` (pandas') reads back."""
    return dtype.str if isinstance(dtype, np.dtype) else str(dtype)


# -- the estimator -------------------------------------------------------------------------------
class MixedMixture(MixtureEstimator):
    """Mixture of mixed-type data: a family per column, independent within a component.

    Parameters
    ----------
    n_components : int, default 1
    column_families : dict, optional
        Column name (a DataFrame) or position (0-based; also for a DataFrame) to a family: one
        of [`FAMILY_NAMES`][emkit.estimators.mixed.FAMILY_NAMES] (``"gaussian"``,
        ``"bernoulli"``, ``"poisson"``, ``"categorical"``, any case) or a family instance (e.g.
        ``Gaussian("full")``: columns given equal instances form one block, so a full covariance
        spans them; ``Categorical(L)`` reads a column of codes ``0 .. L - 1``). Columns not
        named get their family by the dtype rule
        ([`infer_column_families`][emkit.estimators.mixed.infer_column_families]).
    covariance_type : {"full", "tied", "diag", "spherical"}, default "diag"
        Of the block of columns named (or inferred) ``"gaussian"``.
    reg_covar : float, default 1e-6
        Added to the Gaussian block's variances.
    pseudo_count : float, default 0.01
        The prior's pseudo-observations of the Bernoulli and categorical blocks (see
        [`Bernoulli`][emkit.families.Bernoulli], [`Categorical`][emkit.families.Categorical]):
        every probability stays inside (0, 1).
    tol, max_iter, n_init, random_state, warm_start, verbose, verbose_interval
        As for [`GaussianMixture`][emkit.estimators.GaussianMixture].
    init_params : str, default "kmeans"
        One of [`emkit.init.init_methods`][emkit.init.init_methods]() or ``"emEM"``. The
        data-driven methods run on standardised numeric columns and one-hot categorical
        columns (missing cells at the column mean), so no column dominates by its units; the
        starting components are numbered by decreasing size.
    weights_init : array of shape (n_components,), optional
    weight_concentration : float, default 1.0
        Symmetric Dirichlet prior (>= 1) on the weights; 1 is none.
    missing : {"error", "marginalise"}, default "error"
        What a missing cell (None, NaN, pandas' NA) is: refused, naming its column and row, or
        a value missing at random, integrated out exactly (``impute`` fills it in).

    Attributes
    ----------
    column_families_ : dict
        Column name (or position) to its family: a name of ``FAMILY_NAMES``, or the registered
        name of the family instance given for it.
    categories_ : dict
        Column name (or position) to its sorted levels, for every categorical column.
    parts_ : list of dict
        The fitted parameters of every block, readable: ``"family"`` and ``"columns"`` (names),
        then ``"means"`` and ``"covariances"`` (Gaussian, shapes as
        [`GaussianMixture`][emkit.estimators.GaussianMixture]'s for the block's columns),
        ``"probabilities"`` (Bernoulli: (n_components, n_columns), the probability of a 1 or
        ``True``), ``"rates"`` (Poisson: (n_components, n_columns)), or ``"probabilities"`` and
        ``"levels"`` (categorical: one (n_components, L) array and one levels array per column);
        another family's parameter fields under their own names.
    weights_ : array of shape (n_components,)
    n_features_in_ : int
    feature_names_in_ : array of str
        The column names of a DataFrame whose names are all strings.
    converged_, n_iter_, lower_bound_, lower_bounds_, result_
        As for [`GaussianMixture`][emkit.estimators.GaussianMixture]. ``result_`` is the fit of
        the [`Product`][emkit.families.product.Product] mixture to the columns' numbers (level
        codes for categorical columns).

    Notes
    -----
    The number of free parameters (``bic``, ``aic``) is ``n_components - 1`` plus every block's
    own count. Rows must be in memory (a DataFrame, an array or nested lists): levels are
    learned from all of them.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        column_families: Any = None,
        covariance_type: str = "diag",
        reg_covar: float = 1e-6,
        pseudo_count: float = 0.01,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        weight_concentration: float = 1.0,
        missing: str = "error",
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
    ) -> None:
        self.n_components = n_components
        self.column_families = column_families
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.pseudo_count = pseudo_count
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.weight_concentration = weight_concentration
        self.missing = missing
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    column_families_: dict[Any, str]
    categories_: dict[Any, Array]
    parts_: list[dict[str, Any]]

    # -- the family ----------------------------------------------------------------------------
    def _settings_family(self) -> Product:
        """A product with the estimator's Gaussian, Bernoulli and categorical settings (they are
        checked by the families' own constructors)."""
        check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        return _product(
            ("gaussian", "bernoulli", "categorical"),
            (None, None, np.arange(2)),
            self.covariance_type,
            self.reg_covar,
            self.pseudo_count,
        )

    def _build_family(self) -> Product:
        layout = self.__dict__.get("_layout_for_fit") or self.__dict__.get("_fitted_layout")
        if layout is not None:
            product: Product = layout.product
            return product
        return self._settings_family()

    def _weight_concentration(self) -> Any:
        return self.weight_concentration

    def validate_settings(self) -> None:
        """Check every constructor parameter (``ValueError``/``TypeError`` naming the bad one)."""
        self._settings_family()
        _check_spec(self.column_families)
        super().validate_settings()

    def _start_params(self, model: FiniteMixture[Any, Any], n_features: int) -> dict[str, Any]:
        if self.weights_init is None:
            return {}
        return {"weights": check_weights_init(self.weights_init, model.n_components)}

    def _component_attributes(
        self, model: FiniteMixture[Any, Any], components: Any
    ) -> dict[str, Any]:
        return {}  # set with the columns' names by restore_fit

    def _initializer(
        self,
        model: FiniteMixture[Any, Any],
        data: Array,
        n_features: int,
        method: str,
        weights: Array | None,
    ) -> Any:
        if model_start(method) is not None:
            return super()._initializer(model, data, n_features, method, weights)
        return _ScaledStart(model, data, method, weights, self._start_params(model, n_features))

    def _allows_missing(self) -> bool:
        return bool(check_choice(self.missing, "missing", ("error", "marginalise")) != "error")

    def _layout(self, table: _Table) -> _Layout:
        """The columns' families (``column_families``, else the dtype rule) and levels."""
        given = _resolve_keys(_check_spec(self.column_families), table)
        choices: list[str | ExponentialFamily[Any, Any]] = []
        categories: list[Array | None] = []
        for j, (values, dtype) in enumerate(zip(table.columns, table.dtypes, strict=True)):
            choice = given.get(j)
            if choice is None:
                choice = _infer(values, dtype, table.where(j))
            choices.append(choice)
            if choice == "categorical":
                categories.append(_learn_levels(values, _missing_mask(values), table.where(j)))
            elif isinstance(choice, Categorical):
                categories.append(np.arange(int(choice.n_levels), dtype=np.int64))  # type: ignore[arg-type]
            else:
                categories.append(None)
        product = _product(
            choices, categories, self.covariance_type, self.reg_covar, self.pseudo_count
        )
        array_dtype = None if table.frame else _dtype_name(table.dtypes[0])
        return _Layout(
            tuple(table.keys),
            tuple(choices),
            tuple(categories),
            tuple(_dtype_name(d) for d in table.dtypes) if table.frame else (None,) * len(choices),
            table.frame,
            array_dtype,
            product,
        )

    # -- fitting -------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        labels: Any = None,
        sample_weight: Any = None,
        groups: Any = None,
    ) -> MixedMixture:
        """Choose every column's family, learn the categorical levels, then fit by EM.

        Parameters
        ----------
        X : DataFrame, array or nested lists of shape (n_samples, n_features)
        y : ignored
        labels : int array-like of shape (n_samples,), optional
            A known component for some rows and -1 for the rest (semi-supervised EM).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative row weights.
        groups : array-like of shape (n_samples,), optional
            Ids of groups of rows that share one component (see
            [`MixtureEstimator.fit`][emkit.estimators.MixtureEstimator.fit]).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For an unknown family name or column, a value outside its column's family (a
            negative count, text in a numeric column), a missing cell with
            ``missing="error"``, or a categorical column with a single level.
        TypeError
            For a ``column_families`` value that is neither a name nor a family instance.
        """
        table = _table(X)
        layout = self._layout(table)
        codes = layout.encode(table, self._allows_missing())
        self._run_with_layout(
            layout, lambda: self._fit(_Coded(codes, X), labels, sample_weight, groups)
        )
        return self

    def fit_predict(
        self,
        X: Any,
        y: Any = None,
        *,
        labels: Any = None,
        sample_weight: Any = None,
        groups: Any = None,
    ) -> Array:
        """Fit, then return the most probable component of every row, shape (n_samples,)."""
        self.fit(X, labels=labels, sample_weight=sample_weight, groups=groups)
        return self.predict(X, groups=groups)

    def partial_fit(self, X: Any, y: Any = None, *, sample_weight: Any = None) -> MixedMixture:
        """One step of online EM on the mini-batch ``X`` (see
        [`MixtureEstimator.partial_fit`][emkit.estimators.MixtureEstimator.partial_fit]).

        The columns' families and levels are those of an earlier ``fit`` (or of the first
        batch): every later batch must use only those levels.
        """
        table = _table(X)
        layout = self.__dict__.get("_fitted_layout")
        if layout is None or not hasattr(self, "result_"):
            layout = self._layout(table)
        codes = layout.encode(table, self._allows_missing())
        self._run_with_layout(
            layout,
            lambda: MixtureEstimator.partial_fit(
                self, _Coded(codes, X), sample_weight=sample_weight
            ),
        )
        return self

    def _run_with_layout(self, layout: _Layout, run: Callable[[], Any]) -> None:
        self._layout_for_fit = layout
        try:
            run()
        finally:
            self.__dict__.pop("_layout_for_fit", None)

    def restore_fit(self, result: Any, feature_names: Array | None = None) -> None:
        """Set every fitted attribute from a FitResult (used by ``fit`` and by ``emkit.load``).

        The columns are those being fitted, or else (a loaded file, before
        [`restore_fitted_state`][emkit.estimators.mixed.MixedMixture.restore_fitted_state])
        named by position with the codes ``0 .. L - 1`` as levels.
        """
        super().restore_fit(result, feature_names)
        layout = self.__dict__.get("_layout_for_fit")
        if layout is None:
            layout = _layout_of_model(result.model)
        self._fitted_layout = layout
        self._set_readable()

    def _set_readable(self) -> None:
        layout: _Layout = self._fitted_layout
        result = self.fitted_result()
        self.column_families_ = dict(zip(layout.keys, layout.family_names(), strict=True))
        self.categories_ = {
            key: levels
            for key, levels in zip(layout.keys, layout.categories, strict=True)
            if levels is not None
        }
        self.parts_ = _readable_parts(layout, result.params.components)

    # -- the fitted columns in a saved file ----------------------------------------------------
    def fitted_state(self) -> dict[str, Any]:
        """The columns' names, families, levels and dtypes as JSON values, for ``emkit.save``.

        Returns
        -------
        state : dict
            ``columns`` (names or positions), ``families`` (as ``column_families_``),
            ``categories`` (a list of levels, or null, per column), ``kinds`` (the kind of each
            column's levels, or null), ``dtypes`` (a DataFrame's column dtypes, or null),
            ``frame`` and ``array_dtype``.
        """
        self.fitted_result()
        layout: _Layout = self._fitted_layout
        return {
            "columns": list(layout.keys),
            "families": layout.family_names(),
            "categories": [None if c is None else c.tolist() for c in layout.categories],
            "kinds": [None if c is None else _level_kind(c) for c in layout.categories],
            "dtypes": list(layout.dtypes),
            "frame": layout.frame,
            "array_dtype": layout.array_dtype,
        }

    def restore_fitted_state(self, state: Mapping[str, Any]) -> None:
        """Restore what ``fitted_state`` wrote (``emkit.load`` calls it after ``restore_fit``).

        Raises
        ------
        ValueError
            If the state does not describe the fitted model's columns.
        """
        self.fitted_result()
        expected = {"columns", "families", "categories", "kinds", "dtypes", "frame", "array_dtype"}
        if not isinstance(state, Mapping) or set(state) != expected:
            raise ValueError(
                f"the state of a MixedMixture must have the keys {sorted(expected)}; got {state!r}"
            )
        fitted: _Layout = self._fitted_layout
        n = len(fitted.keys)
        lists = ("columns", "families", "categories", "kinds", "dtypes")
        if not all(isinstance(state[k], list) and len(state[k]) == n for k in lists):
            raise ValueError(f"`{', '.join(lists)}` must be lists of {n} entries (one per column)")
        if state["families"] != fitted.family_names():
            raise ValueError(
                f"`families` {state['families']!r} do not match the model's columns "
                f"{fitted.family_names()!r}"
            )
        categories: list[Array | None] = []
        for j, (values, kind, now) in enumerate(
            zip(state["categories"], state["kinds"], fitted.categories, strict=True)
        ):
            if (values is None) != (now is None):
                raise ValueError(f"`categories[{j}]` must be {'null' if now is None else 'a list'}")
            if values is None or now is None:
                categories.append(None)
                continue
            categories.append(_restored_levels(values, kind, now.shape[0], j))
        for key in state["columns"]:
            if isinstance(key, bool) or not isinstance(key, str | int):
                raise ValueError(f"`columns` must hold names or positions; got {key!r}")
        self._fitted_layout = attrs.evolve(
            fitted,
            keys=tuple(state["columns"]),
            categories=tuple(categories),
            dtypes=tuple(state["dtypes"]),
            frame=bool(state["frame"]),
            array_dtype=state["array_dtype"],
        )
        self._set_readable()

    # -- using the fitted model ----------------------------------------------------------------
    def _check_predict_x(self, X: Any) -> tuple[Any, FiniteMixture[Any, Any], Array]:
        result = self.fitted_result()
        check_feature_names(getattr(self, "feature_names_in_", None), X, type(self).__name__)
        table = _table(X)
        if len(table.columns) != result.n_features:
            raise ValueError(
                f"X has {len(table.columns)} features, but {type(self).__name__} is expecting "
                f"{result.n_features} features as input."
            )
        codes = self._fitted_layout.encode(table, self._allows_missing())
        mixture = result.model
        assert isinstance(mixture, FiniteMixture)
        if mixture.missing != self.missing:
            # The estimator's current `missing` decides what a missing cell is.
            mixture = attrs.evolve(mixture, missing=self.missing)
        mixture.validate_data(codes)
        return result, mixture, codes

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on ``X``: ``-2 L + p log n`` (lower is better)."""
        log_prob = self.score_samples(X)
        n = float(np.log(log_prob.shape[0]))
        return -2.0 * float(log_prob.sum()) + self._n_parameters() * n

    def impute(self, X: Any, groups: Any = None) -> Any:
        """``X`` with every missing cell filled in (needs ``missing="marginalise"``).

        A Gaussian, Bernoulli or Poisson cell gets its posterior mean ``E[x | x_obs]`` (for a
        Bernoulli column the probability of a 1, for a Poisson column a mean count: such a
        column comes back as floats), a categorical cell its most probable level.

        Parameters
        ----------
        X : DataFrame, array or nested lists of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), optional
            Ids of groups of rows that share one component (as for ``fit``).

        Returns
        -------
        X_imputed : DataFrame or array
            A DataFrame for a DataFrame (a copy), else an array; observed cells unchanged.
        """
        if not self._allows_missing():
            raise ValueError(
                "impute needs missing='marginalise'; this MixedMixture has missing='error' (set "
                "it with set_params(missing='marginalise'))"
            )
        filled = super().impute(X, groups=groups)
        table = _table(X)
        layout: _Layout = self._fitted_layout
        values = layout.decode(filled)
        if table.frame:
            out = X.copy()
            for j, column in enumerate(values):
                missing = _missing_mask(table.columns[j])
                if not missing.any():
                    continue
                if layout.categories[j] is None:
                    # Posterior means: the column becomes float64.
                    merged = np.where(missing, column, table.columns[j]).astype(np.float64)
                    out[out.columns[j]] = merged
                else:
                    # Levels: written into the column as it is (its dtype kept).
                    out.iloc[np.flatnonzero(missing), j] = column[missing]
            return out
        n, width = filled.shape
        out_array = np.empty((n, width), dtype=object)
        for j, column in enumerate(values):
            missing = _missing_mask(table.columns[j])
            out_array[:, j] = np.where(missing, column.astype(object), table.columns[j])
        numeric = all(levels is None for levels in layout.categories)
        return out_array.astype(np.float64) if numeric else out_array

    def sample(self, n_samples: int = 1) -> tuple[Any, Array]:
        """Draw ``n_samples`` rows from the fitted mixture.

        Returns
        -------
        X : DataFrame or array of shape (n_samples, n_features)
            A DataFrame with the fitted columns' names and dtypes (categorical columns as their
            levels) when fitted on one, else an array: of the fitted array's dtype when every
            value fits it, else dtype object.
        y : int array of shape (n_samples,)
            The component each row was drawn from, in draw order.
        """
        codes, y = super().sample(n_samples)
        layout: _Layout = self._fitted_layout
        columns = layout.decode(codes)
        if layout.frame:
            import pandas as pd  # a DataFrame was fitted, so pandas is installed

            data = {}
            for key, column, dtype, levels in zip(
                layout.keys, columns, layout.dtypes, layout.categories, strict=True
            ):
                series = pd.Series(column)
                if dtype == "category" and levels is not None:
                    series = pd.Series(pd.Categorical(column, categories=levels))
                elif dtype is not None:
                    # As the fitted column when the drawn values fit its dtype, else as drawn.
                    with contextlib.suppress(TypeError, ValueError):
                        series = series.astype(dtype)
                data[key] = series
            frame = pd.DataFrame(data)
            if all(isinstance(k, int) for k in layout.keys):
                frame.columns = list(range(len(layout.keys)))
            return frame, y
        kind = _numpy_kind(layout.array_dtype)
        if kind in ("b", "i", "u", "f"):
            stacked = np.column_stack(columns).astype(np.float64)
            converted = stacked.astype(np.dtype(layout.array_dtype))
            # The fitted array's dtype when every drawn value fits it (0/1 in a bool array,
            # counts in an integer one), else float64.
            return (converted if np.array_equal(converted, stacked) else stacked), y
        out = np.empty((codes.shape[0], len(columns)), dtype=object)
        for j, column in enumerate(columns):
            out[:, j] = column
        return (out.astype(str) if kind == "U" else out), y

    def summary(self) -> str:
        """The fitted model as text: the weights, then every column (row) in every component
        (column): a Gaussian column's mean and standard deviation, a Bernoulli column's
        probability of a 1, a Poisson column's rate, a categorical column's most probable level
        with its probability.

        Returns
        -------
        str
        """
        result = self.fitted_result()
        layout: _Layout = self._fitted_layout
        k = int(result.params.weights.shape[0])
        header = ["column", "family", *(f"component {c}" for c in range(k))]
        rows = [["weight", "", *(f"{w:.4f}" for w in result.params.weights)]]
        cells = _column_cells(layout, result.params.components, k)
        for key, family, texts in zip(layout.keys, layout.family_names(), cells, strict=True):
            rows.append([str(key), family, *texts])
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        n = len(layout.keys)
        title = (
            f"MixedMixture: {k} component{'s' * (k != 1)}, {n} column{'s' * (n != 1)} "
            f"({_family_counts(layout.family_names())})"
        )
        return "\n".join([title, *lines])


# -- readable parameters -------------------------------------------------------------------------
def _family_counts(names: list[str]) -> str:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def _readable_parts(layout: _Layout, params: ProductParams) -> list[dict[str, Any]]:
    parts = []
    for (family, columns), value in zip(layout.product.parts, params.parts, strict=True):
        names = [layout.keys[j] for j in columns]
        entry: dict[str, Any] = {"family": registry.family_name(family).lower(), "columns": names}
        if isinstance(family, Gaussian):
            entry.update(means=np.asarray(value.means), covariances=np.asarray(value.covariances))
        elif isinstance(family, Bernoulli):
            entry.update(probabilities=np.asarray(value.mean))
        elif isinstance(family, Poisson):
            entry.update(rates=np.asarray(value.mean))
        elif isinstance(family, Categorical):
            levels = family.levels(len(columns))
            edges = np.cumsum(levels)[:-1]
            entry.update(
                probabilities=np.split(np.asarray(value.mean), edges, axis=1),
                levels=[layout.categories[j] for j in columns],
            )
        else:
            entry.update(
                {f.name: getattr(value, f.name) for f in attrs.fields(type(value)) if f.init}
            )
        parts.append(entry)
    return parts


def _column_cells(layout: _Layout, params: ProductParams, k: int) -> list[list[str]]:
    """The summary's text of every column in every component."""
    cells: list[list[str]] = [[] for _ in layout.keys]
    means = layout.product.mean(params)
    for (family, columns), value in zip(layout.product.parts, params.parts, strict=True):
        if isinstance(family, Gaussian):
            variances = np.diagonal(family.covariances(value), axis1=1, axis2=2)
            for i, j in enumerate(columns):
                cells[j] = [
                    f"{value.means[c, i]:.4g} (sd {np.sqrt(variances[c, i]):.3g})" for c in range(k)
                ]
        elif isinstance(family, Bernoulli):
            for i, j in enumerate(columns):
                cells[j] = [f"p={value.mean[c, i]:.3f}" for c in range(k)]
        elif isinstance(family, Poisson):
            for i, j in enumerate(columns):
                cells[j] = [f"rate={value.mean[c, i]:.4g}" for c in range(k)]
        elif isinstance(family, Categorical):
            levels = family.levels(len(columns))
            starts = np.concatenate(([0], np.cumsum(levels)[:-1]))
            for i, j in enumerate(columns):
                probs = value.mean[:, starts[i] : starts[i] + levels[i]]
                names = layout.categories[j]
                best = np.argmax(probs, axis=1)
                cells[j] = [
                    f"{names[best[c]] if names is not None else best[c]} ({probs[c, best[c]]:.2f})"
                    for c in range(k)
                ]
        else:
            for j in columns:
                cells[j] = [f"mean={means[c, j]:.4g}" for c in range(k)]
    return cells


def _layout_of_model(model: Any) -> _Layout:
    """The layout a fitted model implies without its saved state: columns by position, levels
    as codes."""
    product = model.family
    if not isinstance(product, Product):
        raise TypeError(
            f"a MixedMixture's model must be a mixture of a Product family; got {model!r}"
        )
    n = product.n_features
    choices: list[str | ExponentialFamily[Any, Any]] = [""] * n
    categories: list[Array | None] = [None] * n
    for family, columns in product.parts:
        for i, j in enumerate(columns):
            if isinstance(family, Categorical):
                levels = int(family.levels(len(columns))[i])
                categories[j] = np.arange(levels, dtype=np.int64)
            choices[j] = _choice_of(family)
    return _Layout(
        tuple(range(n)), tuple(choices), tuple(categories), (None,) * n, False, None, product
    )


def _choice_of(family: Any) -> str | ExponentialFamily[Any, Any]:
    """How a block's columns are read: learned levels for a categorical block built from the
    name (its levels are a tuple), else as the block's family reads them."""
    if isinstance(family, Categorical) and isinstance(family.n_levels, tuple):
        return "categorical"
    return family  # type: ignore[no-any-return]


def _restored_levels(values: Any, kind: Any, n_levels: int, j: int) -> Array:
    dtypes = {"string": object, "boolean": np.bool_, "integer": np.int64, "number": np.float64}
    if kind not in dtypes or not isinstance(values, list):
        raise ValueError(f"`categories[{j}]` of kind {kind!r} is not valid: {values!r}")
    level = np.empty(len(values), dtype=object)
    level[:] = values
    level = level if kind == "string" else level.astype(dtypes[kind])
    if level.shape[0] != n_levels:
        raise ValueError(f"`categories[{j}]` must hold {n_levels} levels; got {values!r}")
    if level.shape[0] > 1 and not bool(np.all(level[1:] > level[:-1])):
        raise ValueError(f"`categories[{j}]` must be sorted and distinct; got {values!r}")
    return level


# -- the start and the coded data ----------------------------------------------------------------
class _ScaledStart(StartFromData):
    """``init_params`` on standardised numeric columns and one-hot categorical ones (missing
    cells at the column mean), then one M-step; components numbered by decreasing size."""

    def __call__(self, sample: Array, rng: np.random.Generator) -> MixtureParams[Any]:
        X = self.data if isinstance(self.data, np.ndarray) else sample
        weights = self.weights if isinstance(self.data, np.ndarray) else None
        family = self.model.family
        assert isinstance(family, Product)
        features = _start_features(X, family)
        resp = initial_responsibilities(
            features, self.model.n_components, self.method, rng, weights
        )
        sizes = resp.sum(axis=0) if weights is None else weights @ resp
        resp = resp[:, np.argsort(-sizes, kind="stable")]
        start = self.model.params_from_responsibilities(X, resp, weights)
        return MixtureParams(self.given.get("weights", start.weights), start.components)


def _start_features(X: Array, family: Product) -> Array:
    """The columns the start clusters on: z-scores of numeric columns, scaled one-hot codes of
    categorical ones; a missing cell contributes 0 (its column's mean)."""
    blocks = []
    for (part, columns), block in zip(family.parts, family.columns_of(X), strict=True):
        missing = np.isnan(block)
        if isinstance(part, Categorical):
            levels = part.levels(len(columns))
            for i in range(len(columns)):
                codes = np.where(missing[:, i], 0, block[:, i]).astype(np.intp)
                one_hot = np.eye(int(levels[i]))[codes]
                one_hot[missing[:, i]] = np.nan
                centred = one_hot - np.nanmean(one_hot, axis=0)
                blocks.append(_ONE_HOT_SCALE * np.where(np.isnan(centred), 0.0, centred))
            continue
        mean = np.nanmean(block, axis=0)
        sd = np.maximum(np.nanstd(block, axis=0), _START_SD_FLOOR)
        blocks.append(np.where(missing, 0.0, (block - mean) / sd))
    return np.hstack(blocks)


class _Coded:
    """The numbers of ``X`` with ``X``'s column names: what the shared machinery fits and
    checks."""

    def __init__(self, codes: Array, X: Any) -> None:
        self.codes = codes
        self.columns = getattr(X, "columns", None)

    def to_numpy(self, dtype: Any = None) -> Array:
        return self.codes if dtype is None else self.codes.astype(dtype)


register_estimator(MixedMixture)
