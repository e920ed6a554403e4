"""The subcommands: ``fit``, ``predict``, ``score``, ``sample`` and ``select``.

Each reads its input, calls the library, and prints; everything numerical happens in the
library. A saved model is used through its capabilities
([`emkit.protocols.Clustering`][emkit.protocols.Clustering], [`Scoring`][emkit.protocols.Scoring],
[`Sampling`][emkit.protocols.Sampling]), so any registered model that has them works, and one that
lacks one is told so in one line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from emkit import io as model_io
from emkit.cli.data import by_chunks, data_for
from emkit.cli.errors import CliError, one_line
from emkit.cli.families import FamilySetting, make_family
from emkit.cli.options import parse_components, parse_covariance_list
from emkit.cli.output import (
    CSV_DIGITS,
    check_writable,
    format_summary,
    model_kind,
    output_stream,
    shape_text,
    write_csv,
    write_csv_header,
)
from emkit.cli.plots import check_plot_target, save_fit_plot, save_selection_plot
from emkit.cli.progress import Progress, reported_warnings
from emkit.em import FitResult, fit
from emkit.mixture import FiniteMixture
from emkit.protocols import Clustering, LatentVariableModel, Sampling, Scoring
from emkit.selection import select
from emkit.tables import Table, default_names, read_data

__all__ = [
    "cmd_fit",
    "cmd_predict",
    "cmd_sample",
    "cmd_score",
    "cmd_select",
    "family_settings",
    "load_model",
    "model_data",
]


def family_settings(args: argparse.Namespace) -> list[FamilySetting]:
    """The family settings of the options common to ``fit`` and ``select``."""
    settings = []
    if args.reg_covar is not None:
        settings.append(
            FamilySetting("reg_covar", args.reg_covar, "--reg-covar", f"{args.reg_covar:g}")
        )
    settings.extend(args.family_option or ())
    return settings


# -- fit ---------------------------------------------------------------------------------------
def cmd_fit(args: argparse.Namespace) -> int:
    """``emkit fit``: fit a mixture, print a summary, save the model and a figure."""
    settings = family_settings(args)
    if args.covariance is not None:
        settings.insert(
            0, FamilySetting("covariance_type", args.covariance, "--covariance", args.covariance)
        )
    family = make_family(args.family, settings)
    check_writable(args.output, "--output")
    check_plot_target(args.plot)
    table = read_data(args.data, threshold=args.binarize)
    model = FiniteMixture(family, args.components)
    table = data_for(model, table, f"--family {args.family}", may_binarize=args.binarize is None)
    progress = Progress(sys.stderr, args.n_init)
    start = time.perf_counter()
    with reported_warnings():
        try:
            # A .npy file goes in as its memory map: emkit.fit reads it in row blocks.
            result = fit(
                model,
                table.data,
                init=args.init,
                n_init=args.n_init,
                max_iter=args.max_iter,
                tol=args.tol,
                random_state=args.seed,
                callbacks=() if args.quiet else (progress,),
            )
        finally:
            progress.finish()
    seconds = time.perf_counter() - start
    print(format_summary(result, table, seconds, tol=args.tol, n_init=args.n_init))
    if args.output is not None:
        model_io.save(result, args.output)
        print(f"model saved to {args.output}")
    if args.plot is not None:
        save_fit_plot(args.plot, result, table)
        print(f"plot saved to {args.plot}")
    return 0


# -- a saved model -----------------------------------------------------------------------------
def load_model(path: str) -> tuple[FitResult[Any], tuple[str, ...] | None]:
    """The fitted result in a model file (from ``emkit fit`` or a saved estimator), and the
    feature names the estimator saw, if it kept them."""
    if not Path(path).is_file():
        raise CliError(f"{path}: no such model file")
    try:
        loaded = model_io.load(path)
    except ValueError as exc:
        message = one_line(str(exc))
        prefix = f"{path}: "
        raise CliError(message if message.startswith(prefix) else prefix + message) from None
    if isinstance(loaded, FitResult):
        return loaded, None
    result = getattr(loaded, "result_", None)
    if not isinstance(result, FitResult):
        raise CliError(f"{path}: holds a {type(loaded).__name__}, not a fitted model")
    feature_names = getattr(loaded, "feature_names_in_", None)
    names = None if feature_names is None else tuple(str(n) for n in feature_names)
    return result, names


def _incapable(model: LatentVariableModel[Any, Any], path: str, what: str) -> CliError:
    return CliError(f"the model in {path} ({type(model).__name__}) cannot {what}")


def model_data(
    result: FitResult[Any], model_path: str, spec: str, threshold: float | None
) -> Table:
    """DATA read and checked for the model in ``model_path``: its width and its domain."""
    model = result.model
    table = read_data(spec, threshold=threshold)
    if table.data.shape[1] != result.n_features:
        raise CliError(
            f"{table.source}: has {table.data.shape[1]} column(s), but the model in "
            f"{model_path} was fitted to {result.n_features} feature(s)"
        )
    what = f"the {model_kind(model)} in {model_path}"
    return data_for(model, table, what, may_binarize=threshold is None)


def cmd_predict(args: argparse.Namespace) -> int:
    """``emkit predict``: the most probable component of each row, or all probabilities."""
    result, _ = load_model(args.model)
    model, params = result.model, result.params
    if not isinstance(model, Clustering):
        raise _incapable(model, args.model, "predict components")
    check_writable(args.output, "--output")
    table = model_data(result, args.model, args.data, args.binarize)
    with output_stream(args.output, "--output") as stream:
        if args.proba:
            write_csv_header(stream, [f"component_{k}" for k in range(model.n_components)])
            for resp in by_chunks(model, table.data, lambda X: model.responsibilities(X, params)):
                write_csv(stream, resp, f"%.{CSV_DIGITS}g")
        else:
            for labels in by_chunks(model, table.data, lambda X: model.predict(X, params)):
                write_csv(stream, np.asarray(labels)[:, None], "%d")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """``emkit score``: the mean and total log-likelihood of DATA under a model."""
    result, _ = load_model(args.model)
    model, params = result.model, result.params
    if not isinstance(model, Scoring):
        raise _incapable(model, args.model, "score data")
    table = model_data(result, args.model, args.data, args.binarize)
    total = 0.0
    for per_row in by_chunks(model, table.data, lambda X: model.score_samples(X, params)):
        total += float(np.sum(per_row, dtype=np.float64))
    n = table.data.shape[0]
    print(f"samples                    {n}")
    print(f"mean log-likelihood        {total / n:.6f}")
    print(f"total log-likelihood       {total:.6f}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """``emkit sample``: N random rows from a model, as CSV."""
    result, names = load_model(args.model)
    model = result.model
    if not isinstance(model, Sampling):
        raise _incapable(model, args.model, "draw samples")
    check_writable(args.output, "--output")
    X, labels = model.sample(result.params, args.n, np.random.default_rng(args.seed))
    header = list(names or default_names(X.shape[1]))
    values = X
    if args.labels:
        header.append("component")
        values = np.column_stack([X, labels])
    with output_stream(args.output, "--output") as stream:
        write_csv_header(stream, header)
        write_csv(stream, values, f"%.{CSV_DIGITS}g")
    return 0


# -- select ------------------------------------------------------------------------------------
def cmd_select(args: argparse.Namespace) -> int:
    """``emkit select``: compare numbers of components (and covariance types) by a criterion."""
    ks = parse_components(args.components)
    settings = family_settings(args)
    kinds = None if args.covariance is None else parse_covariance_list(args.covariance)
    families = [
        make_family(
            args.family,
            [*settings, FamilySetting("covariance_type", kind, "--covariance", args.covariance)],
        )
        for kind in kinds or ()
    ] or [make_family(args.family, settings)]
    check_plot_target(args.plot)
    table = read_data(args.data, threshold=args.binarize)
    table = data_for(
        FiniteMixture(families[0], 1),
        table,
        f"--family {args.family}",
        may_binarize=args.binarize is None,
    )

    @contextmanager
    def candidate(label: str, k: int) -> Iterator[Sequence[Any]]:
        prefix = f"{label} K={k}: "
        progress = Progress(sys.stderr, args.n_init, prefix=prefix, every=False)
        callbacks: tuple[Progress, ...] = () if args.quiet else (progress,)
        with reported_warnings(prefix):
            try:
                yield callbacks
            except ValueError as exc:
                progress.finish()
                print(
                    f"emkit: warning: {prefix}fit failed, skipped: {one_line(str(exc))}",
                    file=sys.stderr,
                )
                raise
            finally:
                progress.finish()

    selection = select(
        table.data,
        families[0],
        ks,
        covariance_types=kinds,
        criterion=args.criterion,
        on_candidate=candidate,
        skip_failures=True,
        grow=args.grow,
        n_init=args.n_init,
        max_iter=args.max_iter,
        tol=args.tol,
        random_state=args.seed,
    )
    best = selection.best
    print(f"data: {shape_text(table)}")
    print(selection.table())
    print(
        f"best by {args.criterion.upper()} (*): {best.label} with {best.n_components} "
        f"component{'s' * (best.n_components != 1)}"
    )
    if args.plot is not None:
        save_selection_plot(args.plot, selection)
        print(f"plot saved to {args.plot}")
    return 0
