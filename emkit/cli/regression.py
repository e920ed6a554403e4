"""Mixtures of regressions on the command line: ``emkit fit --model regression --target y``.

The target column (``--target``, a header name or a 0-based index) is regressed on every other
column, except a column of group ids (``--groups``): rows with the same id share one component,
wherever they are in the file. The fit is the estimator
[`RegressionMixture`][emkit.estimators.regression.RegressionMixture] (a saved model is that
estimator, with the column names), so ``predict``, ``score`` and ``sample`` of the saved file
find the covariates and the target by name in their DATA.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from emkit._backend import Array
from emkit.cli.errors import CliError
from emkit.cli.output import (
    CSV_DIGITS,
    check_writable,
    format_regression_summary,
    output_stream,
    save_model,
    score_text,
    write_assignments,
    write_csv,
    write_csv_header,
)
from emkit.cli.progress import Progress, reported_warnings
from emkit.estimators.coded import NamedColumns
from emkit.estimators.regression import RegressionMixture
from emkit.regression import FAMILIES
from emkit.tables import KeyColumnError, Table, read_data

__all__ = [
    "RegressionData",
    "fit_regression",
    "predict_regression",
    "read_regression_data",
    "sample_regression",
    "score_regression",
]


class _Target:
    """A named response column, read by the estimator as a named Series."""

    def __init__(self, values: Array, name: str) -> None:
        self.values, self.name = values, name

    def to_numpy(self) -> Array:
        return self.values


class RegressionData:
    """DATA split into covariates, the target and the group ids.

    Attributes
    ----------
    table : Table
        The file as read (for its name and line numbers).
    X : object with ``columns`` and ``to_numpy``
        The covariates, named.
    y : object with ``name`` and ``to_numpy``
        The target column, named.
    groups : array of shape (n_rows,) or None
        The group ids (text or numbers).
    """

    def __init__(self, table: Table, X: NamedColumns, y: _Target, groups: Array | None) -> None:
        self.table, self.X, self.y, self.groups = table, X, y, groups

    @property
    def n_rows(self) -> int:
        return int(self.X.values.shape[0])


def _column(names: tuple[str, ...], text: str, option: str, source: str) -> int:
    """The column named ``text`` (a header name first, else a 0-based index)."""
    if text in names:
        return names.index(text)
    try:
        index = int(text)
    except ValueError:
        raise CliError(
            f"{option} {text!r}: {source} has no column of that name (its columns: "
            f"{', '.join(names)}); give a header name or a 0-based column index"
        ) from None
    if not 0 <= index < len(names):
        raise CliError(
            f"{option} {text!r}: {source} has {len(names)} column(s), so a 0-based index must "
            f"be 0 to {len(names) - 1}"
        )
    return index


def read_regression_data(
    spec: str, target: str | None, groups: str | None, *, covariates: tuple[str, ...] | None = None
) -> RegressionData:
    """DATA with its target column, covariates and group ids.

    Parameters
    ----------
    spec : str
        DATA as ``emkit fit`` takes it.
    target : str
        ``--target``: a header name or a 0-based index.
    groups : str, optional
        ``--groups``: the column of group ids (kept as text in a text file).
    covariates : tuple of str, optional
        The covariates a saved model was fitted on, in order (found by name); default: every
        column but the target and the groups.

    Raises
    ------
    CliError
        For a missing ``--target``, an unknown column, a target that is also the groups column,
        or no covariate left.
    """
    if target is None:
        raise CliError("--model regression needs --target COL: the column to regress on the others")
    if not str(spec).endswith(".npy") and groups is not None:
        try:
            table = read_data(spec, key_column=groups)
        except KeyColumnError as exc:
            raise CliError(f"--groups {groups!r}: {exc}") from None
    else:
        table = read_data(spec)
    names = table.names
    data = np.asarray(table.data, dtype=np.float64)
    ids: Array | None = None
    keep = list(range(len(names)))
    if groups is not None:
        if table.keys is not None:
            ids = np.asarray(table.keys)
        else:
            index = _column(names, groups, "--groups", table.source)
            ids = data[:, index]
            keep.remove(index)
    kept = tuple(names[j] for j in keep)
    t = _column(kept, target, "--target", table.source)
    if groups is not None and kept[t] == (table.key_name or groups):
        raise CliError(f"--target {target!r} is also the --groups column")
    rest = [j for i, j in enumerate(keep) if i != t]
    if covariates is not None:
        available = tuple(names[j] for j in rest)
        missing = [name for name in covariates if name not in available]
        if missing:
            raise CliError(
                f"{table.source}: has no column {missing[0]!r}, a covariate of the model (its "
                f"columns: {', '.join(names)})"
            )
        rest = [rest[available.index(name)] for name in covariates]
    if not rest:
        raise CliError(
            f"{table.source}: no covariate left besides the target {kept[t]!r}"
            + (" and the groups" if groups is not None else "")
        )
    X = NamedColumns(np.ascontiguousarray(data[:, rest]), [names[j] for j in rest])
    y = _Target(np.ascontiguousarray(data[:, keep[t]]), kept[t])
    return RegressionData(table, X, y, ids)


def _groups_text(groups: Array | None) -> str:
    if groups is None:
        return ""
    _, sizes = np.unique(groups, return_counts=True)
    low, high = int(sizes.min()), int(sizes.max())
    each = f"{low} rows each" if low == high else f"{low} to {high} rows"
    return f", {sizes.shape[0]} groups of {each}"


def fit_regression(args: argparse.Namespace, k: int) -> int:
    """``emkit fit --model regression``: fit, print the summary, save the estimator."""
    for option, value in (
        ("--sequence-column", args.sequence_column),
        ("--lengths", args.lengths),
        ("--covariance", args.covariance),
        ("--reg-covar", args.reg_covar),
        ("--family-option", args.family_option),
        ("--binarize", args.binarize),
        ("--plot", args.plot),
    ):
        if value is not None:
            raise CliError(f"{option} does not apply to --model regression")
    if args.missing == "marginalise":
        raise CliError(
            "--missing marginalise does not apply to --model regression: a mixture of "
            "regressions does not take missing values; drop or fill those cells"
        )
    family = str(args.family).lower()
    if family not in FAMILIES:
        raise CliError(
            f"--family {args.family}: a regression mixture's components are {', '.join(FAMILIES)}"
        )
    check_writable(args.output, "--output")
    data = read_regression_data(args.data, args.target, args.groups)
    estimator = RegressionMixture(
        k,
        family,
        n_init=args.n_init,
        init_params=args.init or "random",
        max_iter=args.max_iter,
        tol=args.tol,
        random_state=args.seed,
    )
    progress = Progress(sys.stderr, args.n_init)
    start = time.perf_counter()
    with reported_warnings():
        try:
            estimator.fit(
                data.X, data.y, groups=data.groups, callbacks=() if args.quiet else (progress,)
            )
        except ValueError as exc:
            raise CliError(f"{data.table.source}: {exc}") from None
        finally:
            progress.finish()
    seconds = time.perf_counter() - start
    where = (
        f"{data.table.source} ({data.n_rows} rows, target {data.y.name!r}, "
        f"{data.X.values.shape[1]} covariate(s){_groups_text(data.groups)})"
    )
    print(format_regression_summary(estimator, where, seconds, tol=args.tol, n_init=args.n_init))
    save_model(estimator, args.output)
    return 0


def _saved_data(args: argparse.Namespace, estimator: RegressionMixture) -> RegressionData:
    if getattr(args, "sequence_column", None) is not None or getattr(args, "lengths", None):
        raise CliError(
            "--sequence-column and --lengths apply to a hidden Markov model; give a regression "
            "mixture's groups with --groups"
        )
    if getattr(args, "binarize", None) is not None:
        raise CliError("--binarize does not apply to a regression mixture")
    target = getattr(estimator, "target_name_", None)
    names = getattr(estimator, "feature_names_in_", None)
    if target is None or names is None:
        raise CliError(
            f"{args.model}: the regression mixture was saved without column names; use it from "
            "Python (emkit.load), or fit it with 'emkit fit --model regression'"
        )
    if estimator.n_concomitant_in_:
        raise CliError(
            f"{args.model}: a regression mixture with concomitant variables is used from Python"
        )
    return read_regression_data(
        args.data, target, args.groups, covariates=tuple(str(n) for n in names)
    )


def predict_regression(args: argparse.Namespace, estimator: RegressionMixture) -> int:
    """``emkit predict`` of a saved regression mixture: the posterior component of each row
    (of its group), or with ``--proba`` the posterior probabilities."""
    check_writable(args.output, "--output")
    data = _saved_data(args, estimator)
    try:
        resp = estimator.predict_proba(data.X, data.y, groups=data.groups)
    except ValueError as exc:
        raise CliError(f"{data.table.source}: {exc}") from None
    write_assignments(args.output, resp, args.proba)
    return 0


def score_regression(args: argparse.Namespace, estimator: RegressionMixture) -> int:
    """``emkit score`` of a saved regression mixture: the log-likelihood of the rows."""
    data = _saved_data(args, estimator)
    try:
        per_row = estimator.score_samples(data.X, data.y, groups=data.groups)
    except ValueError as exc:
        raise CliError(f"{data.table.source}: {exc}") from None
    print(score_text(data.n_rows, float(per_row.sum())))
    return 0


def sample_regression(args: argparse.Namespace, estimator: RegressionMixture) -> int:
    """``emkit sample`` of a saved regression mixture: standard normal covariates and a
    response drawn for each."""
    if estimator.n_concomitant_in_:
        raise CliError(
            f"{args.model}: a regression mixture with concomitant variables samples responses "
            "for given rows; use it from Python"
        )
    check_writable(args.output, "--output")
    estimator.set_params(random_state=args.seed)
    X, y, labels = estimator.sample(args.n)
    names = getattr(estimator, "feature_names_in_", None)
    header = [f"x{j + 1}" for j in range(X.shape[1])] if names is None else [str(n) for n in names]
    header.append(str(getattr(estimator, "target_name_", None) or "y"))
    values: Any = np.column_stack([X, y])
    if args.labels:
        header.append("component")
        values = np.column_stack([values, labels])
    with output_stream(args.output, "--output") as stream:
        write_csv_header(stream, header)
        write_csv(stream, values, f"%.{CSV_DIGITS}g")
    return 0
