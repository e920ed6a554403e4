"""The subcommands: ``fit``, ``predict``, ``score``, ``sample`` and ``select``.

Each reads its input, calls the library, and prints; everything numerical happens in the
library. ``fit --model regression`` fits a mixture of regressions
([`emkit.cli.regression`][emkit.cli.regression]), saved as its estimator. ``fit --model hmm``
fits a [`HiddenMarkovModel`][emkit.hmm.model.HiddenMarkovModel] whose sequences come from
``--sequence-column`` or ``--lengths``
([`emkit.cli.sequences`][emkit.cli.sequences]); ``predict`` and ``score`` of a saved HMM read
the sequences the same way and work on whole sequences.

A saved model is used through its capabilities
([`emkit.protocols.Clustering`][emkit.protocols.Clustering], [`Scoring`][emkit.protocols.Scoring],
[`Sampling`][emkit.protocols.Sampling]), so any registered model that has them works, and one that
lacks one is told so in one line.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from emkit import io as model_io
from emkit._backend import Array
from emkit.cli.data import by_chunks, data_for
from emkit.cli.errors import CliError, one_line
from emkit.cli.families import FamilySetting, column_families, make_family
from emkit.cli.levels import (
    fit_levels,
    fit_mixed,
    is_categorical,
    levels_estimator,
    mixed_estimator,
    predict_levels,
    predict_mixed,
    read_levels,
    refuse_product,
    sample_levels,
    sample_mixed,
    score_levels,
    score_mixed,
)
from emkit.cli.options import parse_components, parse_covariance_list
from emkit.cli.output import (
    CSV_DIGITS,
    check_writable,
    format_hmm_summary,
    format_summary,
    model_kind,
    output_stream,
    save_model,
    score_text,
    shape_text,
    write_csv,
    write_csv_header,
)
from emkit.cli.plots import check_plot_target, save_fit_plot, save_hmm_plot, save_selection_plot
from emkit.cli.progress import Progress, reported_warnings
from emkit.cli.regression import (
    fit_regression,
    predict_regression,
    sample_regression,
    score_regression,
)
from emkit.cli.sequences import by_sequences, lengths_text, read_sequences
from emkit.em import FitResult, fit
from emkit.estimators.categorical import CategoricalMixture
from emkit.estimators.mixed import MixedMixture
from emkit.estimators.regression import RegressionMixture
from emkit.hmm.model import HiddenMarkovModel
from emkit.mixture import FiniteMixture
from emkit.protocols import (
    Clustering,
    LatentVariableModel,
    MissingValues,
    RowBlocks,
    Sampling,
    Scoring,
)
from emkit.regression import RegressionMixture as RegressionModel
from emkit.selection import select
from emkit.tables import DataFileError, Table, default_names, parse_table, read_data

__all__ = [
    "cmd_fit",
    "cmd_predict",
    "cmd_sample",
    "cmd_score",
    "cmd_select",
    "family_settings",
    "load_model",
    "model_data",
    "n_latent",
    "saved_model",
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
#: Components of a mixture, and states of an HMM, when neither -k nor --states is given.
DEFAULT_COMPONENTS = 2


def n_latent(args: argparse.Namespace) -> int:
    """The number of components (``--model mixture``) or states (``--model hmm``) asked for.

    Raises
    ------
    CliError
        For ``--states`` with a mixture, or ``--states`` and ``--components`` that disagree.
    """
    if args.model != "hmm":
        if args.states is not None:
            raise CliError(
                f"--states {args.states} applies to --model hmm; a mixture's number of "
                "components is -k/--components"
            )
        return DEFAULT_COMPONENTS if args.components is None else int(args.components)
    if args.states is not None and args.components is not None and args.states != args.components:
        raise CliError(
            f"--states {args.states} and --components {args.components} disagree; for "
            "--model hmm both give the number of states: give one of them"
        )
    given = args.states if args.states is not None else args.components
    return DEFAULT_COMPONENTS if given is None else int(given)


def cmd_fit(args: argparse.Namespace) -> int:
    """``emkit fit``: fit a mixture or an HMM, print a summary, save the model and a figure."""
    k = n_latent(args)
    if args.model == "regression":
        return fit_regression(args, k)
    for option, value in (("--target", args.target), ("--groups", args.groups)):
        if value is not None:
            raise CliError(f"{option} {value!r} applies to --model regression")
    hmm = args.model == "hmm"
    if not hmm:
        for option, value in (
            ("--sequence-column", args.sequence_column),
            ("--lengths", args.lengths),
        ):
            if value is not None:
                raise CliError(
                    f"{option} {value!r} applies to --model hmm; a mixture treats rows as "
                    "independent"
                )
    spec = column_families(args.family)
    if spec is not None:
        if hmm:
            raise CliError(
                f"--family {args.family} (a family per column) applies to a mixture, not to "
                "--model hmm"
            )
        return fit_mixed(args, k, spec, family_settings(args))
    refuse_product(args.family)
    settings = family_settings(args)
    if args.covariance is not None:
        settings.insert(
            0, FamilySetting("covariance_type", args.covariance, "--covariance", args.covariance)
        )
    marginalise = args.missing == "marginalise"
    levels = not hmm and is_categorical(args.family)
    family_error: CliError | None = None
    try:
        family = make_family(args.family, settings)
    except CliError as exc:
        if not levels:
            raise
        family_error = exc  # no n_levels: fine for text levels, learned from the file
    numeric: tuple[str, str] | None = None
    if levels:
        # --family categorical on a file of text levels: latent class analysis by the estimator.
        try:
            cells, numeric = read_levels(args.data)
        except DataFileError:
            if family_error is not None:
                raise family_error from None
            raise
        if cells is not None:
            return fit_levels(args, k, cells, settings)
        if family_error is not None:
            raise family_error
    check_writable(args.output, "--output")
    check_plot_target(args.plot)
    if numeric is not None:
        # A file of numbers for --family categorical: the numeric reader on the text read once.
        table, lengths = parse_table(*numeric, missing=marginalise), None
        if args.binarize is not None:
            table = table.binarized(args.binarize)
    else:
        table, lengths = read_sequences(
            args.data,
            threshold=args.binarize,
            sequence_column=args.sequence_column,
            lengths_file=args.lengths,
            missing=marginalise,
        )
    model: FiniteMixture[Any, Any] | HiddenMarkovModel[Any, Any]
    if hmm:
        model = HiddenMarkovModel(family, k, missing=args.missing)
    else:
        model = FiniteMixture(family, k, missing=args.missing)
    table = data_for(model, table, f"--family {args.family}", may_binarize=args.binarize is None)
    progress = Progress(sys.stderr, args.n_init)
    start = time.perf_counter()
    with reported_warnings():
        try:
            # A .npy file goes in as its memory map: emkit.fit reads it in row blocks.
            result = fit(
                model,
                table.data,
                lengths=lengths,
                init=args.init or "kmeans",
                n_init=args.n_init,
                max_iter=args.max_iter,
                tol=args.tol,
                random_state=args.seed,
                callbacks=() if args.quiet else (progress,),
            )
        finally:
            progress.finish()
    seconds = time.perf_counter() - start
    if hmm:
        sequences = lengths_text(lengths, table.data.shape[0])
        print(
            format_hmm_summary(result, table, sequences, seconds, tol=args.tol, n_init=args.n_init)
        )
    else:
        print(format_summary(result, table, seconds, tol=args.tol, n_init=args.n_init))
    save_model(result, args.output)
    if args.plot is not None:
        if hmm:
            save_hmm_plot(args.plot, result, table, lengths)
        else:
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


def _regression_estimator(
    result: FitResult[Any], path: str, args: argparse.Namespace
) -> RegressionMixture | None:
    """The saved regression mixture estimator in ``path`` (whose fit is ``result``), or None
    for any other model (which takes no ``--groups``)."""
    loaded = model_io.load(path) if isinstance(result.model, RegressionModel) else None
    if isinstance(loaded, RegressionMixture):
        return loaded
    groups = getattr(args, "groups", None)
    if groups is not None:
        raise CliError(
            f"--groups {groups!r} applies to a regression mixture saved by 'emkit fit --model "
            f"regression'; {path} holds a {type(result.model).__name__}"
        )
    return None


def _incapable(model: LatentVariableModel[Any, Any], path: str, what: str) -> CliError:
    return CliError(f"the model in {path} ({type(model).__name__}) cannot {what}")


def saved_model(
    result: FitResult[Any], path: str, missing: str | None
) -> LatentVariableModel[Any, Any]:
    """The model of a saved fit, with ``--missing`` (when given) deciding what a NaN is.

    Raises
    ------
    CliError
        For ``--missing`` with a model that has no such setting.
    """
    model = result.model
    if missing is None or getattr(model, "missing", None) == missing:
        return model
    settings = attrs.fields_dict(type(model)) if attrs.has(type(model)) else {}  # type: ignore[arg-type]
    if "missing" not in settings:
        raise CliError(
            f"--missing {missing} applies to a mixture or a hidden Markov model; the model in "
            f"{path} is a {type(model).__name__}"
        )
    evolved: LatentVariableModel[Any, Any] = attrs.evolve(model, missing=missing)  # type: ignore[misc]
    return evolved


def model_data(
    result: FitResult[Any],
    model_path: str,
    spec: str,
    threshold: float | None,
    sequence_column: str | None = None,
    lengths_file: str | None = None,
    missing: str | None = None,
) -> tuple[Table, Array | None]:
    """DATA read and checked for the model in ``model_path`` (its width and its domain), with
    its sequences (``None``: one sequence, or rows of a mixture); ``missing`` as ``--missing``
    (``None``: as the model was fitted)."""
    model = saved_model(result, model_path, missing)
    # A model that reads rows as sequences unless told otherwise (an HMM); a mixture's optional
    # groups are not offered on the command line.
    sequential = isinstance(model, RowBlocks) and model.default_lengths(1) is not None
    if not sequential:
        for option, value in (("--sequence-column", sequence_column), ("--lengths", lengths_file)):
            if value is not None:
                raise CliError(
                    f"{option} {value!r} applies to a hidden Markov model; the "
                    f"{model_kind(model)} in {model_path} treats rows as independent"
                )
    table, lengths = read_sequences(
        spec,
        threshold=threshold,
        sequence_column=sequence_column,
        lengths_file=lengths_file,
        missing=isinstance(model, MissingValues) and model.handles_missing,
    )
    if table.data.shape[1] != result.n_features:
        hint = (
            " (is one of them a column of sequence ids? name it with --sequence-column)"
            if sequential
            and sequence_column is None
            and table.data.shape[1] == result.n_features + 1
            else ""
        )
        raise CliError(
            f"{table.source}: has {table.data.shape[1]} column(s), but the model in "
            f"{model_path} was fitted to {result.n_features} feature(s){hint}"
        )
    what = f"the {model_kind(model)} in {model_path}"
    return data_for(model, table, what, may_binarize=threshold is None), lengths


def _command_data(result: FitResult[Any], args: argparse.Namespace) -> tuple[Table, Array | None]:
    """DATA of ``predict`` or ``score`` as [`model_data`][emkit.cli.commands.model_data] reads it
    for the saved model, with the command's options."""
    return model_data(
        result,
        args.model,
        args.data,
        args.binarize,
        args.sequence_column,
        args.lengths,
        args.missing,
    )


#: The ``predict``, ``score`` or ``sample`` of a saved regression mixture, categorical mixture
#: of levels and mixed-table mixture: estimators whose rows the command line reads its own way.
_EstimatorCommands = tuple[
    Callable[[argparse.Namespace, RegressionMixture], int],
    Callable[[argparse.Namespace, CategoricalMixture], int],
    Callable[[argparse.Namespace, MixedMixture], int],
]

_ESTIMATOR_COMMANDS: dict[str, _EstimatorCommands] = {
    "predict": (predict_regression, predict_levels, predict_mixed),
    "score": (score_regression, score_levels, score_mixed),
    "sample": (sample_regression, sample_levels, sample_mixed),
}


def _by_estimator(command: str, args: argparse.Namespace, result: FitResult[Any]) -> int | None:
    """``command`` run through the saved estimator's own path when ``args.model`` holds one of
    those estimators (its exit status), else None."""
    regression, levels, mixed = _ESTIMATOR_COMMANDS[command]
    estimator = _regression_estimator(result, args.model, args)
    if estimator is not None:
        return regression(args, estimator)
    categorical = levels_estimator(result.model, args.model)
    if categorical is not None:
        return levels(args, categorical)
    table = mixed_estimator(result.model, args.model)
    if table is not None:
        return mixed(args, table)
    return None


def cmd_predict(args: argparse.Namespace) -> int:
    """``emkit predict``: the most probable component of each row, or all probabilities; for
    an HMM the Viterbi state of each row, or the state posteriors."""
    result, _ = load_model(args.model)
    done = _by_estimator("predict", args, result)
    if done is not None:
        return done
    model, params = saved_model(result, args.model, args.missing), result.params
    if isinstance(model, HiddenMarkovModel):
        return _predict_hmm(args, result, model)
    if not isinstance(model, Clustering):
        raise _incapable(model, args.model, "predict components")
    check_writable(args.output, "--output")
    table, _ = _command_data(result, args)
    with output_stream(args.output, "--output") as stream:
        if args.proba:
            write_csv_header(stream, [f"component_{k}" for k in range(model.n_components)])
            for resp in by_chunks(model, table.data, lambda X: model.responsibilities(X, params)):
                write_csv(stream, resp, f"%.{CSV_DIGITS}g")
        else:
            for labels in by_chunks(model, table.data, lambda X: model.predict(X, params)):
                write_csv(stream, np.asarray(labels)[:, None], "%d")
    return 0


def _predict_hmm(
    args: argparse.Namespace, result: FitResult[Any], hmm: HiddenMarkovModel[Any, Any]
) -> int:
    """``emkit predict`` of an HMM: Viterbi states or state posteriors, sequence by sequence."""
    params = result.params
    check_writable(args.output, "--output")
    table, lengths = _command_data(result, args)
    with output_stream(args.output, "--output") as stream:
        if args.proba:
            write_csv_header(stream, [f"state_{k}" for k in range(hmm.n_states)])
            for post in by_sequences(
                hmm, table.data, lengths, lambda X, n: hmm.responsibilities(X, params, n)
            ):
                write_csv(stream, post, f"%.{CSV_DIGITS}g")
        else:
            for states in by_sequences(
                hmm, table.data, lengths, lambda X, n: hmm.predict(X, params, n)
            ):
                write_csv(stream, np.asarray(states)[:, None], "%d")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """``emkit score``: the mean and total log-likelihood of DATA under a model."""
    result, _ = load_model(args.model)
    done = _by_estimator("score", args, result)
    if done is not None:
        return done
    model, params = saved_model(result, args.model, args.missing), result.params
    if isinstance(model, HiddenMarkovModel):
        return _score_hmm(args, result, model)
    if not isinstance(model, Scoring):
        raise _incapable(model, args.model, "score data")
    table, _ = _command_data(result, args)
    total = 0.0
    for per_row in by_chunks(model, table.data, lambda X: model.score_samples(X, params)):
        total += float(np.sum(per_row, dtype=np.float64))
    print(score_text(table.data.shape[0], total))
    return 0


def _score_hmm(
    args: argparse.Namespace, result: FitResult[Any], model: HiddenMarkovModel[Any, Any]
) -> int:
    """``emkit score`` of an HMM: the forward pass over whole sequences, summed."""
    params = result.params
    table, lengths = _command_data(result, args)
    total = 0.0
    n_sequences = 0
    for per_sequence in by_sequences(
        model, table.data, lengths, lambda X, n: model.log_likelihood(X, params, n)
    ):
        total += float(np.sum(per_sequence, dtype=np.float64))
        n_sequences += int(per_sequence.shape[0])
    print(score_text(table.data.shape[0], total, n_sequences))
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    """``emkit sample``: N random rows from a model (one sequence from an HMM), as CSV."""
    result, names = load_model(args.model)
    done = _by_estimator("sample", args, result)
    if done is not None:
        return done
    model = result.model
    label = "state" if isinstance(model, HiddenMarkovModel) else "component"
    if not isinstance(model, Sampling):
        raise _incapable(model, args.model, "draw samples")
    check_writable(args.output, "--output")
    X, labels = model.sample(result.params, args.n, np.random.default_rng(args.seed))
    header = list(names or default_names(X.shape[1]))
    values = X
    if args.labels:
        header.append(label)
        values = np.column_stack([X, labels])
    with output_stream(args.output, "--output") as stream:
        write_csv_header(stream, header)
        write_csv(stream, values, f"%.{CSV_DIGITS}g")
    return 0


# -- select ------------------------------------------------------------------------------------
def cmd_select(args: argparse.Namespace) -> int:
    """``emkit select``: compare numbers of components (and covariance types) by a criterion."""
    ks = parse_components(args.components)
    if column_families(args.family) is not None:
        raise CliError(
            f"--family {args.family} (a family per column) applies to 'emkit fit'; select "
            "compares mixtures of one family"
        )
    refuse_product(args.family)
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
    marginalise = args.missing == "marginalise"
    table = read_data(args.data, threshold=args.binarize, missing=marginalise)
    table = data_for(
        FiniteMixture(families[0], 1, missing=args.missing),
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
        missing=args.missing,
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
