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
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from emkit import io as model_io
from emkit._backend import Array
from emkit.cli.errors import CliError, exception_text
from emkit.cli.families import FamilySetting, family_class, make_family
from emkit.cli.output import (
    CSV_DIGITS,
    check_writable,
    fit_lines,
    format_table,
    output_stream,
    write_csv,
    write_csv_header,
)
from emkit.estimators.categorical import CategoricalMixture
from emkit.families import Categorical
from emkit.mixture import FiniteMixture
from emkit.protocols import LatentVariableModel
from emkit.tables import TextTable, default_names, parse_cells, read_text

__all__ = [
    "fit_levels",
    "format_levels_summary",
    "is_categorical",
    "levels_estimator",
    "predict_levels",
    "read_levels",
    "sample_levels",
    "score_levels",
]

#: Classes shown side by side in the ``fit`` summary; more are cut with "...".
SUMMARY_MAX_CLASSES = 8


class _Named:
    """Columns of levels with names, read by the estimator as it reads a DataFrame."""

    def __init__(self, values: Array, names: Sequence[str]) -> None:
        self.values, self.columns = values, list(names)

    def to_numpy(self, dtype: Any = None) -> Array:
        return self.values if dtype is None else self.values.astype(dtype)


def is_categorical(name: str) -> bool:
    """Whether ``--family NAME`` is the registered [`Categorical`][emkit.families.Categorical]."""
    try:
        return family_class(name) is Categorical
    except ValueError:
        return False


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
def _as_int(cell: str) -> int | None:
    try:
        return int(cell)
    except ValueError:
        return None


def _as_number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _typed_column(column: Array) -> Array:
    """A column of cells as its levels (object array): integers when every cell is one, finite
    numbers when every cell is one, else the strings. Only the distinct cells are converted."""
    distinct, inverse = np.unique(column, return_inverse=True)
    cells = distinct.tolist()
    for convert in (_as_int, _as_number):
        values = [convert(cell) for cell in cells]
        if all(v is not None for v in values):
            break
    else:
        values = cells
    typed = np.empty(len(values), dtype=object)
    typed[:] = values
    return np.asarray(typed[inverse.reshape(-1)])


def _check_levels(cells: TextTable) -> None:
    """Every column needs two levels: a constant column is refused with its name."""
    for d in range(cells.cells.shape[1]):
        distinct = np.unique(cells.cells[:, d])
        if distinct.shape[0] < 2:
            name = f" ({cells.names[d]!r})" if cells.header else ""
            raise CliError(
                f"{cells.source}, column {d + 1}{name}: the single level {str(distinct[0])!r} "
                "in every row; a categorical column needs at least 2 levels (drop it)"
            )


def _fit_values(cells: TextTable) -> _Named:
    """The file's cells as levels (one kind per column), named by the header."""
    n, width = cells.cells.shape
    values = np.empty((n, width), dtype=object)
    for d in range(width):
        values[:, d] = _typed_column(cells.cells[:, d])
    return _Named(values, cells.names)


def _saved_level(cell: str, levels: Array) -> Any:
    """A cell as a value of the saved levels' kind (None when it cannot be one)."""
    kind = levels.dtype.kind
    if kind == "O":
        return cell
    if kind == "b":
        word = cell.lower()
        return True if word == "true" else False if word == "false" else None
    if kind in "iu":
        value = _as_int(cell)
        if value is None:
            number = _as_number(cell)
            value = int(number) if number is not None and number.is_integer() else None
        return value
    return _as_number(cell)


def _levels_text(levels: Array, limit: int = 10) -> str:
    shown = [str(v) for v in levels.tolist()[:limit]]
    more = f", ... ({levels.shape[0]} in all)" if levels.shape[0] > limit else ""
    return ", ".join(shown) + more


def _saved_columns(cells: TextTable, estimator: CategoricalMixture, model_path: str) -> list[int]:
    """The file's column of each of the model's features: by header name where both have
    names, else by position."""
    n_features = len(estimator.categories_)
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


def _saved_values(cells: TextTable, estimator: CategoricalMixture, model_path: str) -> Any:
    """DATA's cells as the saved levels, in the model's column order.

    Raises
    ------
    CliError
        For a missing column, a missing cell or a level the model never saw (line, column,
        value).
    """
    cells.check_missing()
    columns = _saved_columns(cells, estimator, model_path)
    n = cells.cells.shape[0]
    values = np.empty((n, len(columns)), dtype=object)
    first_unseen: tuple[int, int, str, Array] | None = None
    for d, (j, levels) in enumerate(zip(columns, estimator.categories_, strict=True)):
        column = cells.cells[:, j]
        distinct, inverse = np.unique(column, return_inverse=True)
        known = set(levels.tolist())
        converted = np.empty(distinct.shape[0], dtype=object)
        for i, cell in enumerate(distinct.tolist()):
            value = _saved_level(cell, levels)
            if value is None or value not in known:
                row = int(np.argmax(column == cell))
                if first_unseen is None or (row, j) < first_unseen[:2]:
                    first_unseen = (row, j, cell, levels)
            converted[i] = value
        values[:, d] = converted[inverse.reshape(-1)]
    if first_unseen is not None:
        row, j, cell, levels = first_unseen
        raise CliError(
            f"{cells.place(row, j)}: the level {cell!r} was not seen in fit (the model's "
            f"levels: {_levels_text(levels)})"
        )
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is None:
        return values
    return _Named(values, [str(name) for name in fitted])


# -- fit ---------------------------------------------------------------------------------------
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
    cells.check_missing()
    _check_levels(cells)
    estimator = CategoricalMixture(
        k,
        pseudo_count=pseudo_count,
        n_init=args.n_init,
        init_params=args.init or "kmeans",
        max_iter=args.max_iter,
        tol=args.tol,
        random_state=args.seed,
    )
    start = time.perf_counter()
    try:
        estimator.fit(_fit_values(cells))
    except ValueError as exc:
        raise CliError(f"{cells.source}: {exception_text(exc)}") from None
    seconds = time.perf_counter() - start
    print(format_levels_summary(estimator, cells, seconds, tol=args.tol, n_init=args.n_init))
    if args.output is not None:
        model_io.save(estimator, args.output)
        print(f"model saved to {args.output}")
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


def _refuse_options(args: argparse.Namespace) -> None:
    for option, value in (
        ("--sequence-column", getattr(args, "sequence_column", None)),
        ("--lengths", getattr(args, "lengths", None)),
        ("--binarize", getattr(args, "binarize", None)),
    ):
        if value is not None:
            raise CliError(f"{option} does not apply to a categorical mixture of levels")


def _saved_data(args: argparse.Namespace, estimator: CategoricalMixture) -> Any:
    _refuse_options(args)
    raw = read_text(args.data)
    if raw is None:
        raise CliError(
            f"{args.data}: the categorical mixture in {args.model} reads its levels from "
            "delimited text (CSV/TSV), not from a .npy file or a bundled dataset"
        )
    cells = parse_cells(raw[0], raw[1], check_missing=False)
    return _saved_values(cells, estimator, args.model)


def predict_levels(args: argparse.Namespace, estimator: CategoricalMixture) -> int:
    """``emkit predict`` of a saved categorical mixture: each row's most probable class, or
    with ``--proba`` the posterior probabilities."""
    check_writable(args.output, "--output")
    X = _saved_data(args, estimator)
    resp = estimator.predict_proba(X)
    with output_stream(args.output, "--output") as stream:
        if args.proba:
            write_csv_header(stream, [f"component_{c}" for c in range(resp.shape[1])])
            write_csv(stream, resp, f"%.{CSV_DIGITS}g")
        else:
            write_csv(stream, np.argmax(resp, axis=1)[:, None], "%d")
    return 0


def score_levels(args: argparse.Namespace, estimator: CategoricalMixture) -> int:
    """``emkit score`` of a saved categorical mixture: the log-likelihood of DATA's rows."""
    per_row = estimator.score_samples(_saved_data(args, estimator))
    total = float(per_row.sum())
    n = int(per_row.shape[0])
    print(f"samples                    {n}")
    print(f"mean log-likelihood        {total / n:.6f}")
    print(f"total log-likelihood       {total:.6f}")
    return 0


def sample_levels(args: argparse.Namespace, estimator: CategoricalMixture) -> int:
    """``emkit sample`` of a saved categorical mixture: rows of levels as CSV."""
    check_writable(args.output, "--output")
    estimator.set_params(random_state=args.seed)
    X, labels = estimator.sample(args.n)
    names = getattr(estimator, "feature_names_in_", None)
    header = list(default_names(X.shape[1]) if names is None else (str(n) for n in names))
    rows: Any = X.astype(object)
    if args.labels:
        header.append("component")
        rows = np.column_stack([rows, labels.astype(object)])
    with output_stream(args.output, "--output") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows.tolist())
    return 0
