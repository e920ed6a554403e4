"""Mixed-type tables column by column, for [`MixedMixture`][emkit.estimators.mixed.MixedMixture].

Reading a table (a DataFrame, an array or nested lists) column by column without importing
pandas; the dtype rule ([`infer_column_families`][emkit.estimators.mixed.infer_column_families])
and the text rule ([`text_family`][emkit.estimators.mixed.text_family]) that choose a column's
family; the ``column_families`` setting; and the fitted
[`ColumnLayout`][emkit.estimators.columns.ColumnLayout]: every column's key, family, levels and
dtype, the [`Product`][emkit.families.product.Product] family built from them, and the mapping
of rows to the mixture's numbers and back (encoding, decoding, the saved state). Categorical
columns' levels are handled by [`emkit.estimators.levels`][emkit.estimators.levels].
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any, final

import attrs
import numpy as np

from emkit import registry
from emkit._backend import Array
from emkit.estimators.levels import (
    cell_text,
    encode_levels,
    first_row,
    learn_levels,
    level_kind,
    missing_cells,
    restore_levels,
    value_kind,
    value_kinds,
)
from emkit.families import Bernoulli, Categorical, Gaussian, Poisson
from emkit.families.product import Product
from emkit.protocols import ExponentialFamily

__all__ = [
    "FAMILY_NAMES",
    "ColumnLayout",
    "ColumnTable",
    "check_column_families",
    "column_family",
    "finite_number",
    "infer_column_families",
    "layout_of_model",
    "learn_layout",
    "product_of",
    "read_table",
    "text_family",
    "whole_number",
]

FAMILY_NAMES = ("gaussian", "bernoulli", "poisson", "categorical")
"""The family names ``column_families`` takes (besides family instances)."""

_kind_of = np.frompyfunc(value_kind, 1, 1)

#: What a saved layout holds (``ColumnLayout.state``).
_STATE_KEYS = ("columns", "families", "categories", "kinds", "dtypes", "frame", "array_dtype")


# -- reading a table -----------------------------------------------------------------------------
@final
@attrs.frozen(eq=False)
class ColumnTable:
    """The columns of ``X`` as 1-D arrays, their keys (names, else positions) and dtypes.

    Attributes
    ----------
    columns : list of arrays of shape (n_samples,)
    keys : list
        Column names when ``X`` names its columns with strings, else positions.
    labels : list of str
        Every column in words, for messages (``"column 2 ('region')"``).
    dtypes : list
        Every column's dtype (a DataFrame's own, pandas' extension dtypes included).
    frame : bool
        Whether ``X`` is a DataFrame.
    """

    columns: list[Array]
    keys: list[Any]
    labels: list[str]
    dtypes: list[Any]
    frame: bool

    def where(self, j: int) -> str:
        """Column ``j`` in words, for messages.

        Parameters
        ----------
        j : int

        Returns
        -------
        str
        """
        return self.labels[j]


def _is_frame(X: Any) -> bool:
    return hasattr(X, "columns") and hasattr(X, "dtypes") and not isinstance(X, np.ndarray)


def _category_values(series: Any) -> Array:
    """A pandas categorical column as objects of its categories' own type, None where missing."""
    categories = np.empty(len(series.cat.categories), dtype=object)
    categories[:] = series.cat.categories.tolist()
    codes = np.asarray(series.cat.codes)
    values = np.full(codes.shape[0], None, dtype=object)
    present = codes >= 0
    values[present] = categories[codes[present]]
    return values


def read_table(X: Any) -> ColumnTable:
    """``X`` (a DataFrame, an array or nested lists) column by column, without importing pandas.

    Parameters
    ----------
    X : DataFrame, array, nested lists, or an object with ``columns`` and ``to_numpy``
        Of shape (n_samples, n_features).

    Returns
    -------
    ColumnTable

    Raises
    ------
    ValueError
        If ``X`` is not a rectangular 2-D table with at least one row and one column.
    TypeError
        If ``X`` holds complex numbers.
    """
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
            if str(dtype) == "category":
                # Through the codes: a category column with a missing cell would give its
                # integer categories as floats.
                values = _category_values(series)
            columns.append(np.asarray(values))
            dtypes.append(dtype)
        return ColumnTable(columns, *_keys_and_labels(names), dtypes, True)
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
    return ColumnTable([arr[:, j] for j in range(width)], keys, labels, [arr.dtype] * width, False)


def _keys_and_labels(names: list[Any]) -> tuple[list[Any], list[str]]:
    """Columns are keyed by their names when all are strings (scikit-learn's rule), else by
    position; messages name both."""
    keys = names if all(isinstance(n, str) for n in names) else list(range(len(names)))
    return keys, [f"column {j} ({name!r})" for j, name in enumerate(names)]


# -- the dtype rule and the text rule ------------------------------------------------------------
def column_family(values: Array, dtype: Any, where: str) -> str:
    """The dtype rule for one column (see
    [`infer_column_families`][emkit.estimators.mixed.infer_column_families]).

    Parameters
    ----------
    values : array of shape (n_samples,)
    dtype : numpy or pandas dtype
        The column's dtype (pandas' ``category`` is categorical whatever its values).
    where : str
        The column in words, for the messages.

    Returns
    -------
    str
        One of [`FAMILY_NAMES`][emkit.estimators.mixed.FAMILY_NAMES].

    Raises
    ------
    ValueError
        If the column has no observed value or mixes kinds of value.
    TypeError
        If its dtype is neither numeric, boolean nor text.
    """
    if getattr(dtype, "name", None) == "category":
        return "categorical"
    kind = getattr(dtype, "kind", "O")
    observed = values[~missing_cells(values)]
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
    kinds = value_kinds(observed)
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
    their values say). See the module docstring of
    [`emkit.estimators.mixed`][emkit.estimators.mixed] for the details.

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
    table = read_table(X)
    return {
        key: column_family(values, dtype, table.where(j))
        for j, (key, values, dtype) in enumerate(
            zip(table.keys, table.columns, table.dtypes, strict=True)
        )
    }


def whole_number(cell: str) -> int | None:
    """A text cell as a whole number (``"12"``, ``"-3"``; no decimal point, no exponent).

    Parameters
    ----------
    cell : str

    Returns
    -------
    int or None
        None when the cell is not one.
    """
    try:
        return int(cell)
    except ValueError:
        return None


def finite_number(cell: str) -> float | None:
    """A text cell as a finite number (``"1.5"``, ``"1e3"``, ``"7"``).

    Parameters
    ----------
    cell : str

    Returns
    -------
    float or None
        None when the cell is not one (text, ``nan``, ``inf``).
    """
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
    whole = [whole_number(cell) for cell in cells]
    if all(value is not None for value in whole):
        values = {value for value in whole if value is not None}
        if values <= {0, 1}:
            return "bernoulli"
        return "poisson" if min(values) >= 0 else "gaussian"
    if all(finite_number(cell) is not None for cell in cells):
        return "gaussian"
    return "categorical"


# -- the choice of every column ------------------------------------------------------------------
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


def check_column_families(spec: Any) -> dict[Any, str | ExponentialFamily[Any, Any]]:
    """``column_families`` with names lowered and values checked (keys are checked at fit).

    Parameters
    ----------
    spec : dict or None
        Column name (or position) to a family name or instance.

    Returns
    -------
    dict
        Empty for None.

    Raises
    ------
    TypeError
        If ``spec`` is not a mapping, or a value is neither a name nor a family instance.
    ValueError
        For an unknown family name, or a Categorical instance without one number of levels.
    """
    if spec is None:
        return {}
    if not isinstance(spec, Mapping):
        raise TypeError(
            "`column_families` must be a dict from column name (or index) to a family name or "
            f"instance; got {type(spec).__name__}"
        )
    return {key: _check_family_value(value, key) for key, value in spec.items()}


def _resolve_keys(
    spec: Mapping[Any, str | ExponentialFamily[Any, Any]], table: ColumnTable
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


# -- encoding numeric columns ----------------------------------------------------------------------
def _numbers(values: Array, missing: Array, where: str, what: str) -> Array:
    """A column as float64 (NaN where missing); text is refused naming the row."""
    if values.dtype.kind in "biuf":
        return values.astype(np.float64)
    if values.dtype.kind in "US":
        raise ValueError(
            f"`X` {where} holds text ({cell_text(values[0])} at row 0), but {what} needs numbers "
            "(name the column 'categorical' in column_families)"
        )
    filled = np.where(missing, np.nan, values)
    try:
        return filled.astype(np.float64)
    except (TypeError, ValueError):
        kinds = np.asarray(_kind_of(np.where(missing, 0.0, values)), dtype=object).astype(str)
        row = first_row(~np.isin(kinds, ["integer", "number", "boolean"]))
        raise ValueError(
            f"`X` {where} holds {cell_text(values[row])} at row {row}, but {what} needs numbers "
            "(name the column 'categorical' in column_families)"
        ) from None


def _encode_numeric(
    values: Array, missing: Array, family: str | ExponentialFamily[Any, Any], where: str
) -> Array:
    """A Gaussian, Bernoulli, Poisson (or plugin family's) column as float64 values."""
    name = family if isinstance(family, str) else type(family).__name__
    x = _numbers(values, missing, where, f"a {name} column")
    observed = ~np.isnan(x)
    if np.isinf(x).any():
        row = first_row(np.isinf(x))
        raise ValueError(f"`X` {where} holds {x[row]} at row {row}; values must be finite")
    if family == "bernoulli" or isinstance(family, Bernoulli):
        bad = observed & (x != 0) & (x != 1)
        if bad.any():
            row = first_row(bad)
            raise ValueError(
                f"`X` {where} holds {cell_text(values[row])} at row {row}, but a Bernoulli "
                "column holds 0/1 or booleans (name the column 'categorical' or 'poisson' in "
                "column_families)"
            )
    if family == "poisson" or isinstance(family, Poisson):
        negative = observed & (x < 0)
        if negative.any():
            row = first_row(negative)
            raise ValueError(
                f"`X` {where} holds the negative value {cell_text(values[row])} at row {row}, but "
                "a Poisson column holds counts >= 0; name the column 'gaussian' (or "
                "'categorical') in column_families"
            )
        fraction = observed & (x != np.round(x))
        if fraction.any():
            row = first_row(fraction)
            raise ValueError(
                f"`X` {where} holds {cell_text(values[row])} at row {row}, but a Poisson column "
                "holds whole counts; name the column 'gaussian' in column_families"
            )
    return x


def _encode_codes(values: Array, missing: Array, family: Categorical, where: str) -> Array:
    """A column of integer codes for a Categorical instance with its own number of levels."""
    x = _numbers(values, missing, where, "a Categorical column of codes")
    levels = int(family.n_levels)  # type: ignore[arg-type]
    observed = ~np.isnan(x)
    bad = observed & ((x != np.round(x)) | (x < 0) | (x >= levels))
    if bad.any():
        row = first_row(bad)
        raise ValueError(
            f"`X` {where} holds {cell_text(values[row])} at row {row}, but its "
            f"Categorical({levels}) holds the codes 0 .. {levels - 1} (or name the column "
            "'categorical' to learn its levels)"
        )
    return x


# -- the fitted layout ---------------------------------------------------------------------------
@final
@attrs.frozen(eq=False)
class ColumnLayout:
    """What a fit learned about the columns: their keys, family choices, levels and dtypes, and
    the product family built from them.

    Attributes
    ----------
    keys : tuple
        Column names (or positions).
    choices : tuple
        Every column's family: a name of ``FAMILY_NAMES`` or a family instance.
    categories : tuple of (array or None)
        Every column's levels (a categorical column, or a Categorical instance's codes), else
        None.
    dtypes : tuple of (str or None)
        A DataFrame's column dtypes as text, else None.
    frame : bool
        Whether the fit was on a DataFrame.
    array_dtype : str or None
        The fitted array's dtype as text, else None.
    product : Product
        The mixture's family: one block per family of the columns.
    """

    keys: tuple[Any, ...]
    choices: tuple[str | ExponentialFamily[Any, Any], ...]
    categories: tuple[Array | None, ...]
    dtypes: tuple[str | None, ...]
    frame: bool
    array_dtype: str | None
    product: Product

    def family_names(self) -> list[str]:
        """The family of every column in words.

        Returns
        -------
        list of str
            A name of ``FAMILY_NAMES``, or the registered name of a family instance.
        """
        return [
            choice if isinstance(choice, str) else registry.family_name(choice).lower()
            for choice in self.choices
        ]

    def encode(self, table: ColumnTable, allow_missing: bool) -> Array:
        """The table's columns as the mixture's numbers.

        Parameters
        ----------
        table : ColumnTable
            With the fitted number of columns.
        allow_missing : bool
            Whether a missing cell is a value missing at random (else an error).

        Returns
        -------
        float64 array of shape (n_samples, n_features)
            Numbers, level codes for categorical columns, NaN where a cell is missing.

        Raises
        ------
        ValueError
            For a missing cell that is not allowed, or a value outside its column's family.
        """
        out = np.empty((table.columns[0].shape[0], len(self.keys)), dtype=np.float64)
        for j, (values, choice, levels) in enumerate(
            zip(table.columns, self.choices, self.categories, strict=True)
        ):
            where = table.where(j)
            missing = missing_cells(values)
            if missing.any() and not allow_missing:
                row = first_row(missing)
                raise ValueError(
                    f"`X` {where} has a missing value {cell_text(values[row])} at row {row}; pass "
                    "missing='marginalise' to treat missing cells as values missing at random"
                )
            if levels is not None and not isinstance(choice, Categorical):
                out[:, j] = encode_levels(values, missing, levels, where)
            elif isinstance(choice, Categorical):
                out[:, j] = _encode_codes(values, missing, choice, where)
            else:
                out[:, j] = _encode_numeric(values, missing, choice, where)
        return out

    def decode(self, codes: Array) -> list[Array]:
        """Columns of the mixture's numbers as values.

        Parameters
        ----------
        codes : array of shape (n_samples, n_features)
            Without missing cells (drawn or imputed).

        Returns
        -------
        list of arrays of shape (n_samples,)
            Levels for categorical columns, numbers for the others (bool or int64 where the
            column was of a boolean or integer dtype and the numbers allow it).
        """
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

    def as_table(self, codes: Array) -> Any:
        """Rows of the mixture's numbers (drawn ones) as a table like the fitted one.

        Parameters
        ----------
        codes : array of shape (n_samples, n_features)

        Returns
        -------
        DataFrame or array of shape (n_samples, n_features)
            A DataFrame with the fitted columns' names and dtypes (categorical columns as their
            levels) when fitted on one, else an array: of the fitted array's dtype when every
            value fits it, else dtype object.
        """
        columns = self.decode(codes)
        if self.frame:
            import pandas as pd  # a DataFrame was fitted, so pandas is installed

            data = {}
            for key, column, dtype, levels in zip(
                self.keys, columns, self.dtypes, self.categories, strict=True
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
            if all(isinstance(k, int) for k in self.keys):
                frame.columns = list(range(len(self.keys)))
            return frame
        kind = _numpy_kind(self.array_dtype)
        if kind in ("b", "i", "u", "f"):
            stacked = np.column_stack(columns).astype(np.float64)
            converted = stacked.astype(np.dtype(self.array_dtype))
            # The fitted array's dtype when every drawn value fits it (0/1 in a bool array,
            # counts in an integer one), else float64.
            return converted if np.array_equal(converted, stacked) else stacked
        out = np.empty((codes.shape[0], len(columns)), dtype=object)
        for j, column in enumerate(columns):
            out[:, j] = column
        return out.astype(str) if kind == "U" else out

    def filled(self, X: Any, table: ColumnTable, codes: Array) -> Any:
        """``X`` with its missing cells replaced by the values of ``codes`` (imputed numbers).

        Parameters
        ----------
        X : DataFrame, array or nested lists of shape (n_samples, n_features)
        table : ColumnTable
            ``X`` read by [`read_table`][emkit.estimators.columns.read_table].
        codes : array of shape (n_samples, n_features)
            The mixture's numbers with every missing cell filled in.

        Returns
        -------
        DataFrame or array
            A DataFrame for a DataFrame (a copy), else an array; observed cells unchanged.
        """
        values = self.decode(codes)
        if table.frame:
            out = X.copy()
            for j, column in enumerate(values):
                missing = missing_cells(table.columns[j])
                if not missing.any():
                    continue
                if self.categories[j] is None:
                    # Posterior means: the column becomes float64.
                    merged = np.where(missing, column, table.columns[j]).astype(np.float64)
                    out[out.columns[j]] = merged
                else:
                    # Levels: written into the column as it is (its dtype kept).
                    out.iloc[np.flatnonzero(missing), j] = column[missing]
            return out
        n, width = codes.shape
        out_array = np.empty((n, width), dtype=object)
        for j, column in enumerate(values):
            missing = missing_cells(table.columns[j])
            out_array[:, j] = np.where(missing, column.astype(object), table.columns[j])
        numeric = all(levels is None for levels in self.categories)
        return out_array.astype(np.float64) if numeric else out_array

    def state(self) -> dict[str, Any]:
        """The layout as JSON values, for a saved file (what the product does not say).

        Returns
        -------
        dict
            ``columns`` (names or positions), ``families`` (``family_names()``),
            ``categories`` (a list of levels, or null, per column), ``kinds`` (the kind of each
            column's levels, or null), ``dtypes`` (a DataFrame's column dtypes, or null),
            ``frame`` and ``array_dtype``.
        """
        return {
            "columns": list(self.keys),
            "families": self.family_names(),
            "categories": [None if c is None else c.tolist() for c in self.categories],
            "kinds": [None if c is None else level_kind(c) for c in self.categories],
            "dtypes": list(self.dtypes),
            "frame": self.frame,
            "array_dtype": self.array_dtype,
        }

    def restored(self, state: Any) -> ColumnLayout:
        """This layout (of a loaded model) with the names, levels and dtypes of a saved
        ``state()``.

        Parameters
        ----------
        state : dict
            As [`state`][emkit.estimators.columns.ColumnLayout.state] wrote it.

        Returns
        -------
        ColumnLayout

        Raises
        ------
        ValueError
            If the state does not describe this layout's columns.
        """
        if not isinstance(state, Mapping) or set(state) != set(_STATE_KEYS):
            raise ValueError(
                f"the state of a MixedMixture must have the keys {sorted(_STATE_KEYS)}; got "
                f"{state!r}"
            )
        n = len(self.keys)
        lists = ("columns", "families", "categories", "kinds", "dtypes")
        if not all(isinstance(state[k], list) and len(state[k]) == n for k in lists):
            raise ValueError(f"`{', '.join(lists)}` must be lists of {n} entries (one per column)")
        if state["families"] != self.family_names():
            raise ValueError(
                f"`families` {state['families']!r} do not match the model's columns "
                f"{self.family_names()!r}"
            )
        categories: list[Array | None] = []
        for j, (values, kind, now) in enumerate(
            zip(state["categories"], state["kinds"], self.categories, strict=True)
        ):
            if (values is None) != (now is None):
                raise ValueError(f"`categories[{j}]` must be {'null' if now is None else 'a list'}")
            if values is None or now is None:
                categories.append(None)
                continue
            categories.append(restore_levels(values, kind, now.shape[0], f"`categories[{j}]`"))
        for key in state["columns"]:
            if isinstance(key, bool) or not isinstance(key, str | int):
                raise ValueError(f"`columns` must hold names or positions; got {key!r}")
        return attrs.evolve(
            self,
            keys=tuple(state["columns"]),
            categories=tuple(categories),
            dtypes=tuple(state["dtypes"]),
            frame=bool(state["frame"]),
            array_dtype=state["array_dtype"],
        )


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


def product_of(
    choices: Sequence[str | ExponentialFamily[Any, Any]],
    categories: Sequence[Array | None],
    covariance_type: str,
    reg_covar: float,
    pseudo_count: float,
) -> Product:
    """The product family of the columns: one block per family name (and per distinct family
    instance), in the order of each block's first column.

    Parameters
    ----------
    choices : sequence
        Every column's family: a name of ``FAMILY_NAMES`` or a family instance.
    categories : sequence of (array or None)
        Every column's levels (needed for a column named ``"categorical"``).
    covariance_type, reg_covar : str, float
        Of the Gaussian block.
    pseudo_count : float
        Of the Bernoulli and categorical blocks.

    Returns
    -------
    Product
    """
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


def learn_layout(
    table: ColumnTable,
    column_families: Any,
    covariance_type: str,
    reg_covar: float,
    pseudo_count: float,
) -> ColumnLayout:
    """The columns' families (``column_families``, else the dtype rule) and levels.

    Parameters
    ----------
    table : ColumnTable
    column_families : dict or None
        The estimator's setting (checked here).
    covariance_type, reg_covar, pseudo_count
        The estimator's settings of the blocks (see
        [`product_of`][emkit.estimators.columns.product_of]).

    Returns
    -------
    ColumnLayout

    Raises
    ------
    ValueError
        For a column ``column_families`` names that the table lacks, a column the dtype rule
        cannot place, or a categorical column without two levels.
    """
    given = _resolve_keys(check_column_families(column_families), table)
    choices: list[str | ExponentialFamily[Any, Any]] = []
    categories: list[Array | None] = []
    for j, (values, dtype) in enumerate(zip(table.columns, table.dtypes, strict=True)):
        choice = given.get(j)
        if choice is None:
            choice = column_family(values, dtype, table.where(j))
        choices.append(choice)
        if choice == "categorical":
            missing = missing_cells(values)
            categories.append(learn_levels(values, missing, table.where(j), "a categorical column"))
        elif isinstance(choice, Categorical):
            categories.append(np.arange(int(choice.n_levels), dtype=np.int64))  # type: ignore[arg-type]
        else:
            categories.append(None)
    product = product_of(choices, categories, covariance_type, reg_covar, pseudo_count)
    return ColumnLayout(
        tuple(table.keys),
        tuple(choices),
        tuple(categories),
        tuple(_dtype_name(d) for d in table.dtypes) if table.frame else (None,) * len(choices),
        table.frame,
        None if table.frame else _dtype_name(table.dtypes[0]),
        product,
    )


def layout_of_model(model: Any) -> ColumnLayout:
    """The layout a fitted model implies without its saved state: columns by position, levels
    as codes.

    Parameters
    ----------
    model : FiniteMixture
        A mixture of a [`Product`][emkit.families.product.Product] family.

    Returns
    -------
    ColumnLayout

    Raises
    ------
    TypeError
        If the model's family is not a Product.
    """
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
    return ColumnLayout(
        tuple(range(n)), tuple(choices), tuple(categories), (None,) * n, False, None, product
    )


def _choice_of(family: Any) -> str | ExponentialFamily[Any, Any]:
    """How a block's columns are read: learned levels for a categorical block built from the
    name (its levels are a tuple), else as the block's family reads them."""
    if isinstance(family, Categorical) and isinstance(family.n_levels, tuple):
        return "categorical"
    return family  # type: ignore[no-any-return]
