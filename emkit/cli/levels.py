"""Categorical data with text levels on the command line: latent class analysis of a CSV file.

``emkit fit survey.csv --family categorical -k 3`` on a file whose cells are words (``yes``,
``red``, ...) fits the estimator
[`CategoricalMixture`][emkit.estimators.categorical.CategoricalMixture] to the cells, read as
text by [`parse_cells`][emkit.tables.parse_cells]: the levels of every column are learned from
the file and saved with the model (``--output``). A column whose every cell is an integer is
read as integers, one whose every cell is a finite number as numbers, any other as strings.
A file of numbers only keeps the numeric path (a [`Categorical`][emkit.families.Categorical]
mixture of integer codes, ``--family-option n_levels=L``).

``predict``, ``score`` and ``sample`` of a saved ``CategoricalMixture`` (from the command line
or from Python) map DATA's cells through the saved levels, finding the columns by header name
when the file has a header; a level the model never saw is one error naming the line, the
column and the value.

Mixed tables: ``emkit fit table.csv --family auto`` (or ``--family COL=FAMILY,...``) chooses a
family per column, prints the choice, and fits a
[`MixedMixture`][emkit.estimators.mixed.MixedMixture] to the cells (see
[`AUTO_RULE`][emkit.cli.levels.AUTO_RULE] and [`cells_family`][emkit.cli.levels.cells_family]);
``predict``, ``score`` and ``sample`` of the saved estimator read DATA's cells through its
columns' families and levels.

Missing cells (empty, ``NA``, ``NaN``) are errors naming their line and column, unless
``--missing marginalise`` makes them values missing at random, integrated out by the model.
"""

from __future__ import annotations

import argparse
import re
import textwrap
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from emkit import io as model_io
from emkit._backend import Array
from emkit.cli.errors import CliError, exception_text
from emkit.cli.families import ColumnFamilies, FamilySetting, family_class, make_family
from emkit.cli.output import (
    CSV_DIGITS,
    check_writable,
    fit_lines,
    format_table,
    save_model,
    score_text,
    write_assignments,
    write_text_rows,
)
from emkit.estimators.categorical import CategoricalMixture
from emkit.estimators.coded import CodedMixture, NamedColumns
from emkit.estimators.columns import finite_number, whole_number
from emkit.estimators.mixed import MixedMixture, text_family
from emkit.families import Categorical
from emkit.families.product import Product
from emkit.mixture import FiniteMixture
from emkit.protocols import LatentVariableModel
from emkit.tables import (
    MISSING_MARKERS,
    TextTable,
    default_names,
    parse_cells,
    read_data,
    read_text,
)

__all__ = [
    "AUTO_RULE",
    "cells_family",
    "fit_levels",
    "fit_mixed",
    "format_levels_summary",
    "format_mixed_summary",
    "is_categorical",
    "levels_estimator",
    "mixed_estimator",
    "predict_levels",
    "predict_mixed",
    "read_levels",
    "refuse_product",
    "sample_levels",
    "sample_mixed",
    "score_levels",
    "score_mixed",
]

AUTO_RULE = (
    "numbers with a decimal point or an exponent gaussian; only 0 and 1, or only true and "
    "false, bernoulli; other whole numbers >= 0 poisson (whole numbers with a negative one "
    "gaussian); any other text categorical; missing cells do not count"
)
"""How ``--family auto`` chooses a column's family from its cells
([`cells_family`][emkit.cli.levels.cells_family])."""

#: Classes shown side by side in the ``fit`` summary; more are cut with "...".
SUMMARY_MAX_CLASSES = 8

#: Characters per line of the explanations in a summary.
SUMMARY_WIDTH = 96


def is_categorical(name: str) -> bool:
    """Whether ``--family NAME`` is the registered [`Categorical`][emkit.families.Categorical]."""
    try:
        return family_class(name) is Categorical
    except ValueError:
        return False


def refuse_product(name: str) -> None:
    """``--family product`` names the [`Product`][emkit.families.product.Product] family,
    whose parts cannot be given as settings: the command line builds it from
    ``--family auto`` or ``COL=FAMILY,...`` instead.

    Raises
    ------
    CliError
        When ``name`` is the registered Product family.
    """
    try:
        product = family_class(name) is Product
    except ValueError:
        return
    if product:
        raise CliError(
            f"--family {name}: a family per column is given as --family auto or "
            "--family COLUMN=FAMILY,... (e.g. height=gaussian,smoker=bernoulli) to emkit fit"
        )


def read_levels(spec: str) -> tuple[TextTable | None, tuple[str, str] | None]:
    """DATA read as text cells: ``(cells, None)`` when some cell is text (a level such as
    ``yes``), else ``(None, (text, source))`` for the numeric reader (``(None, None)`` for a
    ``.npy`` file or a bundled dataset).

    Missing cells are not checked here: a file of numbers keeps the numeric reader's messages.
    """
    raw = read_text(spec)
    if raw is None:
        return None, None
    cells = parse_cells(raw[0], raw[1], check_missing=False)
    return (cells, None) if cells.has_text else (None, raw)


# -- cells to levels ---------------------------------------------------------------------------
def _is_missing(cell: str) -> bool:
    return cell.lower() in MISSING_MARKERS


def _typed_column(column: Array) -> Array:
    """A column of cells as its levels (object array): integers when every observed cell is
    one, finite numbers when every observed cell is one, else the strings; a missing cell is
    None. Only the distinct cells are converted."""
    distinct, inverse = np.unique(column, return_inverse=True)
    cells = distinct.tolist()
    observed = [cell for cell in cells if not _is_missing(cell)]
    convert: Any = str
    for candidate in (whole_number, finite_number):
        if all(candidate(cell) is not None for cell in observed):
            convert = candidate
            break
    typed = np.empty(len(cells), dtype=object)
    typed[:] = [None if _is_missing(cell) else convert(cell) for cell in cells]
    return np.asarray(typed[inverse.reshape(-1)])


def _missing_cells(cells: TextTable) -> Array:
    """Which cells are missing (empty, NA, NaN), from each column's distinct cells."""
    mask = np.zeros(cells.cells.shape, dtype=bool)
    for d in range(cells.cells.shape[1]):
        distinct, inverse = np.unique(cells.cells[:, d], return_inverse=True)
        marks = np.array([_is_missing(cell) for cell in distinct.tolist()], dtype=bool)
        mask[:, d] = marks[inverse.reshape(-1)]
    return mask


def _check_missing(cells: TextTable, missing: str | None) -> int:
    """The number of missing cells; with ``--missing error`` the first is an error naming its
    line and column."""
    mask = _missing_cells(cells)
    if mask.any() and missing != "marginalise":
        # File order: the first row holding one, then its first column.
        row = int(np.flatnonzero(mask.any(axis=1))[0])
        d = int(np.flatnonzero(mask[row])[0])
        cell = str(cells.cells[row, d])
        what = "an empty cell" if cell == "" else repr(cell)
        raise CliError(
            f"{cells.place(row, d)}: {what} is a missing value; pass --missing marginalise to "
            "treat missing cells as values missing at random"
        )
    return int(mask.sum())


def _check_levels(cells: TextTable) -> None:
    """Every column needs two levels: a constant column is refused with its name."""
    for d in range(cells.cells.shape[1]):
        distinct = np.unique(
            [cell for cell in np.unique(cells.cells[:, d]).tolist() if not _is_missing(cell)]
        )
        if distinct.shape[0] < 2:
            name = f" ({cells.names[d]!r})" if cells.header else ""
            level = repr(str(distinct[0])) if distinct.shape[0] else "no level"
            raise CliError(
                f"{cells.source}, column {d + 1}{name}: the single level {level} in every row; "
                "a categorical column needs at least 2 levels (drop it)"
            )


def _fit_values(cells: TextTable) -> NamedColumns:
    """The file's cells as levels (one kind per column), named by the header."""
    n, width = cells.cells.shape
    values = np.empty((n, width), dtype=object)
    for d in range(width):
        values[:, d] = _typed_column(cells.cells[:, d])
    return NamedColumns(values, cells.names)


# -- a saved estimator of a table -------------------------------------------------------------
def _saved_level(cell: str, levels: Array) -> Any:
    """A cell as a value of the saved levels' kind (None when it cannot be one)."""
    kind = levels.dtype.kind
    if kind == "O":
        return cell
    if kind == "b":
        word = cell.lower()
        return True if word == "true" else False if word == "false" else None
    if kind in "iu":
        value = whole_number(cell)
        if value is None:
            number = finite_number(cell)
            value = int(number) if number is not None and number.is_integer() else None
        return value
    return finite_number(cell)


def _levels_text(levels: Array, limit: int = 10) -> str:
    shown = [str(v) for v in levels.tolist()[:limit]]
    more = f", ... ({levels.shape[0]} in all)" if levels.shape[0] > limit else ""
    return ", ".join(shown) + more


def _saved_columns(cells: TextTable, estimator: Any, model_path: str) -> list[int]:
    """The file's column of each of the model's features: by header name where both have
    names, else by position."""
    n_features = int(estimator.n_features_in_)
    fitted = getattr(estimator, "feature_names_in_", None)
    if cells.header and fitted is not None:
        names = [str(name) for name in fitted]
        missing = [name for name in names if name not in cells.names]
        if missing:
            raise CliError(
                f"{cells.source}: has no column {missing[0]!r}, a column of the model in "
                f"{model_path} (its columns: {', '.join(cells.names)})"
            )
        return [cells.names.index(name) for name in names]
    width = cells.cells.shape[1]
    if width != n_features:
        raise CliError(
            f"{cells.source}: has {width} column(s), but the model in {model_path} was fitted "
            f"to {n_features} feature(s)"
        )
    return list(range(width))


def _saved_level_values(
    values: Array, cells: TextTable, columns: Sequence[int], categories: Sequence[Array | None]
) -> None:
    """Fill ``values[:, d]`` with the cells of the file's column ``columns[d]`` as values of the
    saved levels ``categories[d]`` (a missing cell None), for every column that has levels.

    Raises
    ------
    CliError
        For the first cell (in file order) that is none of its column's levels.
    """
    first_unseen: tuple[int, int, Array] | None = None
    for d, (j, levels) in enumerate(zip(columns, categories, strict=True)):
        if levels is None:
            continue
        column = cells.cells[:, j]
        # Only the distinct cells are converted.
        distinct, inverse = np.unique(column, return_inverse=True)
        known = set(levels.tolist())
        converted = np.empty(distinct.shape[0], dtype=object)
        for i, cell in enumerate(distinct.tolist()):
            if _is_missing(cell):
                converted[i] = None
                continue
            value = _saved_level(cell, levels)
            if value is None or value not in known:
                row = int(np.argmax(column == cell))
                if first_unseen is None or (row, j) < first_unseen[:2]:
                    first_unseen = (row, j, levels)
            converted[i] = value
        values[:, d] = converted[inverse.reshape(-1)]
    if first_unseen is not None:
        row, j, levels = first_unseen
        raise CliError(
            f"{cells.place(row, j)}: the level {str(cells.cells[row, j])!r} was not seen in fit "
            f"(the model's levels: {_levels_text(levels)})"
        )


def _named(values: Array, estimator: CodedMixture[Any, Any]) -> Any:
    """The values named as the estimator's columns were in fit (if they had names)."""
    fitted = getattr(estimator, "feature_names_in_", None)
    return values if fitted is None else NamedColumns(values, [str(name) for name in fitted])


def _saved_estimator(args: argparse.Namespace, estimator: CodedMixture[Any, Any]) -> None:
    """The options of ``predict`` and ``score`` of a saved estimator of a table: ``--missing``
    (when given) replaces the fitted setting; the HMM and numeric options are refused."""
    for option, value in (
        ("--sequence-column", getattr(args, "sequence_column", None)),
        ("--lengths", getattr(args, "lengths", None)),
        ("--binarize", getattr(args, "binarize", None)),
    ):
        if value is not None:
            raise CliError(f"{option} does not apply to a categorical mixture of levels")
    if args.missing is not None:
        estimator.set_params(missing=args.missing)


#: Where an estimator's message places a value: a row of its table.
_AT_ROW = re.compile(r"at row (\d+)")


def _in_file(exc: BaseException, cells: TextTable) -> str:
    """An estimator's message about ``at row R`` of its table, naming the file's line."""
    message = exception_text(exc).replace("`X` ", "", 1)

    def line(match: re.Match[str]) -> str:
        return f"on line {cells.lines[int(match.group(1))]}"

    return f"{cells.source}: {_AT_ROW.sub(line, message, count=1)}"


#: Reads DATA for a saved estimator of a table: its values and the cells (for messages).
_Reader = Callable[[argparse.Namespace, Any], tuple[Any, TextTable]]


def _predict_saved(
    args: argparse.Namespace, estimator: CodedMixture[Any, Any], read: _Reader
) -> int:
    """``emkit predict`` of a saved estimator of a table: each row's most probable component,
    or with ``--proba`` the posterior probabilities."""
    check_writable(args.output, "--output")
    X, cells = read(args, estimator)
    try:
        resp = estimator.predict_proba(X)
    except ValueError as exc:
        raise CliError(_in_file(exc, cells)) from None
    write_assignments(args.output, resp, args.proba)
    return 0


def _score_saved(args: argparse.Namespace, estimator: CodedMixture[Any, Any], read: _Reader) -> int:
    """``emkit score`` of a saved estimator of a table: the log-likelihood of DATA's rows."""
    X, cells = read(args, estimator)
    try:
        per_row = estimator.score_samples(X)
    except ValueError as exc:
        raise CliError(_in_file(exc, cells)) from None
    print(score_text(int(per_row.shape[0]), float(per_row.sum())))
    return 0


def _sample_saved(
    args: argparse.Namespace, estimator: CodedMixture[Any, Any], text: Callable[[Any], str]
) -> int:
    """``emkit sample`` of a saved estimator of a table: rows of values as CSV, each cell
    written by ``text``, under the fitted columns' names."""
    check_writable(args.output, "--output")
    estimator.set_params(random_state=args.seed)
    X, labels = estimator.sample(args.n)
    rows = np.asarray(X, dtype=object)
    names = getattr(estimator, "feature_names_in_", None)
    header = list(default_names(rows.shape[1]) if names is None else (str(n) for n in names))
    if args.labels:
        header.append("component")
        rows = np.column_stack([rows, labels.astype(object)])
    write_text_rows(args.output, header, [[text(v) for v in row] for row in rows.tolist()])
    return 0


# -- fit ---------------------------------------------------------------------------------------
def _fit_estimator(estimator: CodedMixture[Any, Any], X: Any, cells: TextTable) -> float:
    """Fit ``estimator`` to ``X`` (the values of ``cells``): the seconds it took. An error of
    the estimator names the file and line."""
    start = time.perf_counter()
    try:
        estimator.fit(X)
    except (TypeError, ValueError) as exc:
        raise CliError(_in_file(exc, cells)) from None
    return time.perf_counter() - start


def _fit_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The estimator settings of the options of every ``emkit fit``."""
    return {
        "n_init": args.n_init,
        "init_params": args.init or "kmeans",
        "max_iter": args.max_iter,
        "tol": args.tol,
        "random_state": args.seed,
        "missing": args.missing,
    }


def _pseudo_count(name: str, settings: Sequence[FamilySetting]) -> float:
    """The ``pseudo_count`` of the settings (checked by the family itself), or its default."""
    values: dict[str, Any] = {}
    for setting in settings:
        if setting.key == "n_levels":
            raise CliError(
                f"{setting.option}: the levels of a file of text levels are learned from it; "
                "leave n_levels out"
            )
        if setting.key != "pseudo_count":
            make_family(name, [setting])  # raises the family's own error for this setting
        if setting.key in values:
            raise CliError(f"`{setting.key}` is set twice")
        try:
            Categorical(2, pseudo_count=setting.value)
        except (TypeError, ValueError) as exc:
            raise CliError(f"bad {setting.option}: {exception_text(exc)}") from None
        values[setting.key] = setting.value
    return float(values.get("pseudo_count", Categorical(2).pseudo_count))


def fit_levels(
    args: argparse.Namespace, k: int, cells: TextTable, settings: Sequence[FamilySetting]
) -> int:
    """``emkit fit DATA --family categorical`` on text levels: fit a
    [`CategoricalMixture`][emkit.estimators.categorical.CategoricalMixture], print its summary,
    save the estimator (its levels included)."""
    for option, value in (("--binarize", args.binarize), ("--plot", args.plot)):
        if value is not None:
            raise CliError(
                f"{option} does not apply to a file of text levels ({cells.source}); it is "
                "fitted as categorical data"
            )
    pseudo_count = _pseudo_count(args.family, settings)
    check_writable(args.output, "--output")
    _check_missing(cells, args.missing)
    _check_levels(cells)
    estimator = CategoricalMixture(k, pseudo_count=pseudo_count, **_fit_settings(args))
    seconds = _fit_estimator(estimator, _fit_values(cells), cells)
    print(format_levels_summary(estimator, cells, seconds, tol=args.tol, n_init=args.n_init))
    save_model(estimator, args.output)
    return 0


def format_levels_summary(
    estimator: CategoricalMixture, cells: TextTable, seconds: float, *, tol: float, n_init: int
) -> str:
    """The summary printed by ``emkit fit`` for text levels.

    The model in words, the data (its columns and their numbers of levels), the class weights,
    and for every column (row) and class (column) the most probable level with its
    probability, then the closing lines of every fit summary (log-likelihood, BIC, AIC,
    convergence, restarts, time).

    Parameters
    ----------
    estimator : CategoricalMixture
        Fitted.
    cells : TextTable
        The data, for its name, size and column names.
    seconds : float
        Time the fit took.
    tol, n_init : float, int
        The options the fit ran with.
    """
    result = estimator.fitted_result()
    k = int(estimator.n_components)
    shown = min(k, SUMMARY_MAX_CLASSES)
    n, width = cells.cells.shape
    levels = ", ".join(
        f"{name} {level.shape[0]}"
        for name, level in zip(cells.names, estimator.categories_, strict=True)
    )
    header = ["column", *(f"class {c}" for c in range(shown))]
    cut = ["..."] if shown < k else []
    weights = [["weight", *(f"{w:.4f}" for w in estimator.weights_[:shown]), *cut]]
    rows = []
    probabilities = vars(estimator)["probabilities_"]
    for name, level, probs in zip(
        cells.names,
        estimator.categories_,
        probabilities,
        strict=True,
    ):
        best = np.argmax(probs, axis=1)
        row = [name]
        for c in range(shown):
            row.append(f"{level[best[c]]} ({probs[c, best[c]]:.2f})")
        rows.append([*row, *cut])
    if cut:
        header.append(f"... ({k} classes)")
    lines = [
        f"Categorical mixture (latent class analysis), pseudo_count={estimator.pseudo_count:g}, "
        f"{k} class{'es' * (k != 1)}",
        f"data: {cells.source} ({n} sample{'s' * (n != 1)}, {width} column{'s' * (width != 1)} "
        f"of text levels; levels per column: {levels})",
        "",
        "most probable level of every column in every class (its probability):",
        format_table(header, weights + rows),
        "",
        *fit_lines(result, seconds, tol=tol, n_init=n_init),
    ]
    return "\n".join(lines)


# -- a saved CategoricalMixture ----------------------------------------------------------------
def levels_estimator(model: LatentVariableModel[Any, Any], path: str) -> CategoricalMixture | None:
    """The [`CategoricalMixture`][emkit.estimators.categorical.CategoricalMixture] saved in
    ``path`` (whose fitted model is ``model``), or None for any other model."""
    if not (isinstance(model, FiniteMixture) and isinstance(model.family, Categorical)):
        return None
    loaded = model_io.load(path)
    return loaded if isinstance(loaded, CategoricalMixture) else None


def _saved_data(args: argparse.Namespace, estimator: CategoricalMixture) -> tuple[Any, TextTable]:
    """DATA's cells as the saved levels, in the model's column order (a missing cell None,
    when the estimator marginalises missing values), and the cells (for messages).

    Raises
    ------
    CliError
        For DATA that is not delimited text, a missing column, a missing cell (unless
        marginalised) or a level the model never saw (line, column, value).
    """
    _saved_estimator(args, estimator)
    raw = read_text(args.data)
    if raw is None:
        raise CliError(
            f"{args.data}: the categorical mixture in {args.model} reads its levels from "
            "delimited text (CSV/TSV), not from a .npy file or a bundled dataset"
        )
    cells = parse_cells(raw[0], raw[1], check_missing=False)
    _check_missing(cells, estimator.missing)
    columns = _saved_columns(cells, estimator, args.model)
    values = np.empty((cells.cells.shape[0], len(columns)), dtype=object)
    _saved_level_values(values, cells, columns, estimator.categories_)
    return _named(values, estimator), cells


def predict_levels(args: argparse.Namespace, estimator: CategoricalMixture) -> int:
    """``emkit predict`` of a saved categorical mixture: each row's most probable class, or
    with ``--proba`` the posterior probabilities."""
    return _predict_saved(args, estimator, _saved_data)


def score_levels(args: argparse.Namespace, estimator: CategoricalMixture) -> int:
    """``emkit score`` of a saved categorical mixture: the log-likelihood of DATA's rows."""
    return _score_saved(args, estimator, _saved_data)


def sample_levels(args: argparse.Namespace, estimator: CategoricalMixture) -> int:
    """``emkit sample`` of a saved categorical mixture: rows of levels as CSV."""
    return _sample_saved(args, estimator, str)


# -- mixed tables: a family per column -----------------------------------------------------------
def cells_family(cells: Array, where: str) -> str:
    """The family ``--family auto`` gives a column of text cells
    ([`AUTO_RULE`][emkit.cli.levels.AUTO_RULE];
    [`text_family`][emkit.estimators.mixed.text_family] on its distinct observed cells).

    Missing cells (empty, ``NA``, ``NaN``) do not count.

    Parameters
    ----------
    cells : str array of shape (n_samples,)
        One column of the file.
    where : str
        The column in words, for the message.

    Returns
    -------
    str
        One of ``gaussian``, ``bernoulli``, ``poisson``, ``categorical``.

    Raises
    ------
    CliError
        If every cell of the column is missing.
    """
    observed = [cell for cell in np.unique(cells).tolist() if not _is_missing(cell)]
    if not observed:
        raise CliError(f"{where}: every cell is missing; drop the column")
    return text_family(observed)


def _number_cell(cell: str) -> Any:
    """A cell of a numeric column as a number (``true``/``false`` as 1/0), None when missing,
    else the text itself (refused by the caller)."""
    if _is_missing(cell):
        return None
    if cell.lower() in ("true", "false"):
        return int(cell.lower() == "true")
    value = whole_number(cell)
    if value is not None:
        return value
    number = finite_number(cell)
    return cell if number is None else number


def _number_column(cells: TextTable, j: int, family: str) -> Array:
    """The file's column ``j`` of a numeric family as numbers (object array, None where a cell
    is missing).

    Raises
    ------
    CliError
        For text in the column, naming its line, column and family.
    """
    column = cells.cells[:, j]
    distinct, inverse = np.unique(column, return_inverse=True)
    converted = np.empty(distinct.shape[0], dtype=object)
    converted[:] = [_number_cell(cell) for cell in distinct.tolist()]
    text = [i for i, value in enumerate(converted.tolist()) if isinstance(value, str)]
    if text:
        row = min(int(np.argmax(column == distinct[i])) for i in text)
        raise CliError(
            f"{cells.place(row, j)}: {str(column[row])!r} is not a number, but the column "
            f"is {family} (name it categorical in --family)"
        )
    return np.asarray(converted[inverse.reshape(-1)])


def _mixed_values(cells: TextTable, families: Sequence[str]) -> Array:
    """The file's cells as the values of their columns' families (object array): levels for
    categorical columns, numbers for the others, None where a cell is missing.

    Raises
    ------
    CliError
        For text in a column of numbers, naming its line, column and family.
    """
    values = np.empty(cells.cells.shape, dtype=object)
    for d, family in enumerate(families):
        if family == "categorical":
            values[:, d] = _typed_column(cells.cells[:, d])
        else:
            values[:, d] = _number_column(cells, d, family)
    return values


def _mixed_cells(spec: str, missing: str | None) -> TextTable:
    """DATA as text cells: a delimited file's own, or the numbers of a ``.npy`` file or a
    bundled dataset written as text (whole numbers without a decimal point)."""
    raw = read_text(spec)
    if raw is not None:
        return parse_cells(raw[0], raw[1], check_missing=False)
    table = read_data(spec, missing=missing == "marginalise")
    data = np.asarray(table.data, dtype=np.float64)
    cells = np.char.mod("%.17g", data).astype(str)
    lines = np.arange(1, data.shape[0] + 1) if table.lines is None else np.asarray(table.lines)
    return TextTable(cells, tuple(table.names), table.source, lines, True)


def _column_index(cells: TextTable, column: str) -> int:
    """A column of ``--family COL=FAMILY`` by header name, else by 0-based index."""
    if column in cells.names:
        return cells.names.index(column)
    index = whole_number(column)
    if index is not None and 0 <= index < len(cells.names):
        return index
    raise CliError(
        f"--family names the column {column!r}, which {cells.source} does not have (its "
        f"columns: {', '.join(cells.names)}; or a 0-based index below {len(cells.names)})"
    )


def _choose_families(cells: TextTable, spec: ColumnFamilies) -> list[tuple[str, bool]]:
    """Every column's family and whether ``auto`` chose it."""
    given: dict[int, str] = {}
    for column, family in spec.given:
        index = _column_index(cells, column)
        if index in given:
            raise CliError(
                f"bad --family {spec.text!r}: column {cells.names[index]!r} is named twice"
            )
        given[index] = family
    unnamed = [name for d, name in enumerate(cells.names) if d not in given]
    if unnamed and not spec.auto:
        raise CliError(
            f"--family {spec.text!r} names no family for column(s) {', '.join(unnamed)}; name "
            "them, or add 'auto' to the list to choose theirs from their cells"
        )
    return [
        (given[d], False)
        if d in given
        else (cells_family(cells.cells[:, d], cells.place(0, d)), True)
        for d in range(len(cells.names))
    ]


def _mixed_settings(args: argparse.Namespace, settings: Sequence[FamilySetting]) -> dict[str, Any]:
    """The MixedMixture settings of ``--covariance``, ``--reg-covar`` and
    ``--family-option pseudo_count=...``."""
    values: dict[str, Any] = {"covariance_type": args.covariance or "diag"}
    for setting in settings:
        if setting.key not in ("reg_covar", "pseudo_count"):
            raise CliError(
                f"{setting.option}: a mixed table takes --covariance, --reg-covar and "
                "--family-option pseudo_count=X (of its Bernoulli and categorical columns)"
            )
        if setting.key in values:
            raise CliError(f"`{setting.key}` is set twice")
        values[setting.key] = setting.value
    return values


def fit_mixed(
    args: argparse.Namespace, k: int, spec: ColumnFamilies, settings: Sequence[FamilySetting]
) -> int:
    """``emkit fit DATA --family auto`` (or ``COL=FAMILY,...``): choose and print every
    column's family, fit a [`MixedMixture`][emkit.estimators.mixed.MixedMixture], print its
    summary, save the estimator (its columns and levels included)."""
    for option, value in (
        ("--binarize", args.binarize),
        ("--plot", args.plot),
        ("--sequence-column", args.sequence_column),
        ("--lengths", args.lengths),
    ):
        if value is not None:
            raise CliError(f"{option} does not apply to a mixed table (--family {spec.text})")
    options = _mixed_settings(args, settings)
    check_writable(args.output, "--output")
    cells = _mixed_cells(args.data, args.missing)
    n_missing = _check_missing(cells, args.missing)
    chosen = _choose_families(cells, spec)
    families = [family for family, _ in chosen]
    values = _mixed_values(cells, families)
    estimator = MixedMixture(
        k, column_families=dict(enumerate(families)), **_fit_settings(args), **options
    )
    seconds = _fit_estimator(estimator, NamedColumns(values, cells.names), cells)
    print(
        format_mixed_summary(
            estimator, cells, chosen, n_missing, seconds, tol=args.tol, n_init=args.n_init
        )
    )
    save_model(estimator, args.output)
    return 0


def format_mixed_summary(
    estimator: MixedMixture,
    cells: TextTable,
    chosen: Sequence[tuple[str, bool]],
    n_missing: int,
    seconds: float,
    *,
    tol: float,
    n_init: int,
) -> str:
    """The summary printed by ``emkit fit`` for a mixed table.

    The data, every column's family and whether ``auto`` chose it (with the rule), the
    estimator's own [`summary`][emkit.estimators.mixed.MixedMixture.summary] (weights and every
    column in every component), then the closing lines of every fit summary.

    Parameters
    ----------
    estimator : MixedMixture
        Fitted.
    cells : TextTable
        The data, for its name, size and column names.
    chosen : sequence of (str, bool)
        Every column's family and whether ``auto`` chose it.
    n_missing : int
        Missing cells in the data.
    seconds : float
        Time the fit took.
    tol, n_init : float, int
        The options the fit ran with.
    """
    result = estimator.fitted_result()
    n, width = cells.cells.shape
    missing = (
        f"; {n_missing} missing cell{'s' * (n_missing != 1)}, marginalised" if n_missing else ""
    )
    rows = [
        [name, family, "auto" if auto else "given"]
        for name, (family, auto) in zip(cells.names, chosen, strict=True)
    ]
    rule = (
        textwrap.wrap(f"auto: {AUTO_RULE}", width=SUMMARY_WIDTH)
        if any(auto for _, auto in chosen)
        else []
    )
    lines = [
        f"data: {cells.source} ({n} sample{'s' * (n != 1)}, {width} column{'s' * (width != 1)}"
        f"{missing})",
        "",
        "family of every column:",
        format_table(["column", "family", "chosen"], rows),
        *rule,
        "",
        estimator.summary(),
        "",
        *fit_lines(result, seconds, tol=tol, n_init=n_init),
    ]
    return "\n".join(lines)


# -- a saved MixedMixture ---------------------------------------------------------------------
def mixed_estimator(model: LatentVariableModel[Any, Any], path: str) -> MixedMixture | None:
    """The [`MixedMixture`][emkit.estimators.mixed.MixedMixture] saved in ``path`` (whose fitted
    model is ``model``), or None for any other model."""
    if not (isinstance(model, FiniteMixture) and isinstance(model.family, Product)):
        return None
    loaded = model_io.load(path)
    return loaded if isinstance(loaded, MixedMixture) else None


def _saved_mixed_values(args: argparse.Namespace, estimator: MixedMixture) -> tuple[Any, TextTable]:
    """DATA's cells as the saved columns' values (levels through the saved categories), in
    the model's column order, and the cells (for messages)."""
    _saved_estimator(args, estimator)
    cells = _mixed_cells(args.data, estimator.missing)
    _check_missing(cells, estimator.missing)
    columns = _saved_columns(cells, estimator, args.model)
    families = list(estimator.column_families_.values())
    categories = [estimator.categories_.get(key) for key in estimator.column_families_]
    values = np.empty((cells.cells.shape[0], len(columns)), dtype=object)
    for d, (j, family, levels) in enumerate(zip(columns, families, categories, strict=True)):
        if levels is None:
            values[:, d] = _number_column(cells, j, family)
    _saved_level_values(values, cells, columns, categories)
    return _named(values, estimator), cells


def predict_mixed(args: argparse.Namespace, estimator: MixedMixture) -> int:
    """``emkit predict`` of a saved mixed mixture: each row's most probable component, or with
    ``--proba`` the posterior probabilities."""
    return _predict_saved(args, estimator, _saved_mixed_values)


def score_mixed(args: argparse.Namespace, estimator: MixedMixture) -> int:
    """``emkit score`` of a saved mixed mixture: the log-likelihood of DATA's rows."""
    return _score_saved(args, estimator, _saved_mixed_values)


def _cell_text(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):.{CSV_DIGITS}g}"
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return str(value)


def sample_mixed(args: argparse.Namespace, estimator: MixedMixture) -> int:
    """``emkit sample`` of a saved mixed mixture: rows of values (levels for categorical
    columns, whole numbers for Bernoulli and Poisson ones) as CSV."""
    return _sample_saved(args, estimator, _cell_text)
