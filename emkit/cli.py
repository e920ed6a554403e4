"""The ``emkit`` command: fit, use and compare mixture models from the shell.

::

    emkit fit faithful --components 2 --output model.json --plot fit.png
    emkit predict model.json data.csv --proba
    emkit score model.json data.csv
    emkit sample model.json -n 100 --seed 1
    emkit select data.csv --components 1-6 --covariance all --plot bic.png

DATA is a CSV or TSV file (header row optional, detected), a ``.npy`` file, ``-`` for CSV on
standard input, or the name of a bundled dataset (faithful, earthquakes, digits). Bad input
prints one line ``emkit: error: ...`` on stderr and exits with status 2 (``--debug`` adds the
traceback). Everything numerical happens in the library: this module only reads, prints and
writes.
"""

from __future__ import annotations

import argparse
import io
import math
import re
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn

import attrs
import numpy as np

from emkit._backend import Array
from emkit.em import FitResult, IterationState, fit
from emkit.families import COVARIANCE_TYPES, Bernoulli, Gaussian, Poisson
from emkit.init import INIT_METHODS
from emkit.mixture import FiniteMixture
from emkit.plotting import INSTALL_HINT
from emkit.selection import CRITERIA, Candidate, Selection, aic, bic, select
from emkit.sources import chunk_rows_for
from emkit.tables import DataFileError, Table, default_names, parse_table, read_data

__all__ = [
    "CliError",
    "DataFileError",
    "Table",
    "main",
    "parse_components",
    "parse_table",
    "read_data",
]

FAMILIES = ("gaussian", "bernoulli", "poisson")

#: Columns of the means shown in the ``fit`` summary; wider data is cut with "...".
SUMMARY_MAX_FEATURES = 6

#: Significant digits of numbers written to CSV output (labels are integers). 17 digits would
#: round-trip float64 exactly; 10 keep files readable and are far below sampling noise.
CSV_DIGITS = 10


class CliError(Exception):
    """Bad input found by the command line itself; printed as one line, exit status 2."""


# -- parsing options ---------------------------------------------------------------------------
def parse_components(text: str) -> list[int]:
    """Numbers of components from ``"3"``, ``"1-8"`` or ``"1-4,6,8"`` (sorted, unique)."""
    values: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if match is None:
            raise CliError(
                f"bad --components {text!r}: use a number (3), a range (1-8) or a list (1-4,6)"
            )
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if low < 1 or high < low:
            raise CliError(
                f"bad --components {text!r}: {part!r} must be an increasing range of numbers >= 1"
            )
        values.update(range(low, high + 1))
    return sorted(values)


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number >= {minimum}; got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}; got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0; got {text!r}") from None
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0; got {text!r}")
    return value


def _covariance_list(text: str) -> list[str]:
    if text.strip() == "all":
        return list(COVARIANCE_TYPES)
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    bad = [kind for kind in kinds if kind not in COVARIANCE_TYPES]
    if not kinds or bad:
        raise CliError(
            f"bad --covariance {text!r}: use 'all' or a comma-separated list of "
            f"{', '.join(COVARIANCE_TYPES)}"
        )
    return list(dict.fromkeys(kinds))


def _make_family(name: str, covariance: str | None, reg_covar: float | None) -> Any:
    if name != "gaussian":
        for option, value in (("--covariance", covariance), ("--reg-covar", reg_covar)):
            if value is not None:
                raise CliError(f"{option} applies only to --family gaussian, not {name}")
        return Bernoulli() if name == "bernoulli" else Poisson()
    return Gaussian(
        covariance_type=covariance or "full", reg_covar=1e-6 if reg_covar is None else reg_covar
    )


def _describe_model(model: Any) -> str:
    family = model.family
    kind = getattr(family, "covariance_type", None)
    name = f"{type(family).__name__} mixture" + (f", {kind} covariance" if kind else "")
    return f"{name}, {model.n_components} component{'s' * (model.n_components != 1)}"


def _check_family_data(model: Any, table: Table, what: str) -> None:
    try:
        model.validate_data(table.data)
    except ValueError as exc:
        message = str(exc)
        if table.lines is not None:
            # The library counts rows and columns from 0; a text file is read by line number.
            lines = table.lines

            def to_line(match: re.Match[str]) -> str:
                row, column = int(match.group(1)), int(match.group(2))
                return f"line {lines[row]}, column {column + 1}"

            message = re.sub(r"row (\d+), column (\d+)", to_line, message, count=1)
        raise CliError(f"{table.source}: not valid data for {what}: {message}") from None


def _check_writable(path: str | None, option: str) -> None:
    """Fail before a long fit, not after, when an output cannot be written."""
    if path is None or path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise CliError(f"{option} {path}: is a directory")
    if not target.parent.exists():
        raise CliError(f"{option} {path}: directory {target.parent} does not exist")


def _check_plot_target(path: str | None) -> None:
    if path is None:
        return
    _check_writable(path, "--plot")
    from emkit.plotting import require_matplotlib

    require_matplotlib()
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in formats:
        raise CliError(
            f"--plot {path}: unknown image format {suffix!r}; use one of "
            f"{', '.join(sorted(formats))}"
        )


# -- progress and warnings ---------------------------------------------------------------------
class Progress:
    """EM progress on a stream: one line per iteration, or one updating line on a terminal."""

    def __init__(self, stream: IO[str], n_init: int, prefix: str = "", every: bool = True):
        self.stream = stream
        self.n_init = n_init
        self.prefix = prefix
        self.every = every
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.pending = False
        self.last = ""
        self.restart = 0

    def __call__(self, state: IterationState[Any]) -> None:
        run = f"run {state.restart + 1}/{self.n_init}  " if self.n_init > 1 else ""
        change = "-" if math.isnan(state.change) else f"{state.change:+.3e}"
        line = (
            f"{self.prefix}{run}iteration {state.iteration:4d}  "
            f"log-likelihood {state.log_likelihood:.6f}  change/sample {change}"
        )
        self.last = line
        if self.tty:
            if self.pending and state.restart != self.restart:
                self.stream.write("\n")  # keep the final line of the previous run
            # \r returns to the start of the line, ESC[K clears what the previous one left.
            self.stream.write(f"\r{line}\x1b[K")
            self.pending = True
            self.restart = state.restart
        elif self.every:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the updating line (terminal) or print the last state (non-terminal, quiet)."""
        if self.tty and self.pending:
            self.stream.write("\n")
        elif not self.tty and not self.every and self.last:
            self.stream.write(self.last + "\n")
        self.pending = False
        self.last = ""
        self.stream.flush()


@contextmanager
def _reported_warnings(prefix: str = "") -> Iterator[None]:
    """Print warnings raised inside as ``emkit: warning: ...`` lines on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for item in caught:
                print(f"emkit: warning: {prefix}{_one_line(str(item.message))}", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- output ------------------------------------------------------------------------------------
def _format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def _shape_text(table: Table) -> str:
    n_samples, n_features = table.data.shape
    return (
        f"{table.source} ({n_samples} sample{'s' * (n_samples != 1)}, "
        f"{n_features} feature{'s' * (n_features != 1)})"
    )


def _means_caption(model: Any) -> str:
    family = model.family
    if isinstance(family, Gaussian):
        return "component means"
    if isinstance(family, Bernoulli):
        return "component means (probability of a 1 per feature)"
    if isinstance(family, Poisson):
        return "component means (Poisson rate per feature)"
    return "component means"


def format_summary(
    result: FitResult[Any], table: Table, seconds: float, *, tol: float, n_init: int
) -> str:
    """The readable summary printed by ``emkit fit``."""
    model = result.model
    params = result.params
    means = np.asarray(model.family.mean(params.components))
    shown = min(means.shape[1], SUMMARY_MAX_FEATURES)
    header = ["component", "weight", *table.names[:shown]]
    if shown < means.shape[1]:
        header.append(f"... ({means.shape[1]} features)")
    # Probabilities read best with fixed decimals; means and rates with significant digits.
    fmt = ".3f" if isinstance(model.family, Bernoulli) else ".6g"
    rows = []
    for k in range(model.n_components):
        row = [str(k), f"{params.weights[k]:.4f}", *(f"{v:{fmt}}" for v in means[k, :shown])]
        if shown < means.shape[1]:
            row.append("...")
        rows.append(row)
    n = result.n_samples
    prior = [f"log-prior       {result.log_prior:.6f}"] if result.log_prior != 0.0 else []
    runs = f" (best of {n_init} runs: run {result.restart + 1})" if n_init > 1 else ""
    lines = [
        _describe_model(model),
        f"data: {_shape_text(table)}",
        "",
        _means_caption(model) + ":",
        _format_table(header, rows),
        "",
        f"log-likelihood  {result.log_likelihood:.6f}  "
        f"({result.log_likelihood / n:.6f} per sample)",
        *prior,
        f"BIC             {bic(result):.4f}",
        f"AIC             {aic(result):.4f}",
        f"converged       {'yes' if result.converged else 'no'} (tol {tol:g} per sample)",
        f"iterations      {result.n_iter}{runs}",
        f"time            {seconds:.3f} s",
    ]
    return "\n".join(lines)


def _write_text(path: str | None, text: str, option: str) -> None:
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{option} {path}: cannot write ({exc.strerror or exc})") from None


def _csv(values: Array, header: Sequence[str] | None, fmt: str) -> str:
    buffer = io.StringIO()
    np.savetxt(buffer, values, fmt=fmt, delimiter=",")
    head = ",".join(header) + "\n" if header is not None else ""
    return head + buffer.getvalue()


# -- plots ------------------------------------------------------------------------------------
def _save_fit_plot(path: str, result: FitResult[Any], table: Table) -> None:
    from matplotlib.figure import Figure

    from emkit import plotting

    n_features = table.data.shape[1]
    side = math.isqrt(n_features)
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    if n_features >= 16 and side * side == n_features:
        panels = fig.subfigures(1, 2, width_ratios=[1.4, 1.0])
        left, right = np.asarray(panels, dtype=object).ravel()
        plotting.plot_component_images(result, fig=left)
        left.suptitle("component means (title: index: weight)")
        plotting.plot_history(result, ax=right.add_subplot())
    else:
        ax_data, ax_history = fig.subplots(1, 2, width_ratios=[1.4, 1.0])
        plotting.plot_mixture(table.data, result, ax=ax_data, feature_names=table.names)
        plotting.plot_history(result, ax=ax_history)
    fig.suptitle(f"{_describe_model(result.model)}: {table.source}")
    _save_figure(fig, path)


def _save_figure(fig: Any, path: str) -> None:
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise CliError(f"--plot {path}: cannot write ({exc.strerror or exc})") from None


# -- subcommands ------------------------------------------------------------------------------
def _cmd_fit(args: argparse.Namespace) -> int:
    family = _make_family(args.family, args.covariance, args.reg_covar)
    _check_writable(args.output, "--output")
    _check_plot_target(args.plot)
    if args.output is not None:
        from emkit import io as model_io
    table = read_data(args.data, binarize=args.family == "bernoulli")
    model = FiniteMixture(family, args.components)
    _check_family_data(model, table, f"--family {args.family}")
    progress = Progress(sys.stderr, args.n_init)
    start = time.perf_counter()
    with _reported_warnings():
        try:
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
        _save_fit_plot(args.plot, result, table)
        print(f"plot saved to {args.plot}")
    return 0


def _load_model(path: str) -> tuple[FitResult[Any], tuple[str, ...] | None]:
    """The fitted result in a model file (from ``emkit fit`` or a saved estimator)."""
    from emkit import io as model_io

    if not Path(path).is_file():
        raise CliError(f"{path}: no such model file")
    try:
        loaded = model_io.load(path)
    except ValueError as exc:
        message = _one_line(str(exc))
        prefix = f"{path}: "
        raise CliError(message if message.startswith(prefix) else prefix + message) from None
    names = None
    if isinstance(loaded, FitResult):
        return loaded, names
    result = getattr(loaded, "result_", None)
    if not isinstance(result, FitResult):
        raise CliError(f"{path}: holds a {type(loaded).__name__}, not a fitted mixture")
    feature_names = getattr(loaded, "feature_names_in_", None)
    if feature_names is not None:
        names = tuple(str(n) for n in feature_names)
    return result, names


def _model_data(result: FitResult[Any], model_path: str, spec: str) -> Table:
    model = result.model
    table = read_data(spec, binarize=isinstance(model.family, Bernoulli))
    if table.data.shape[1] != result.n_features:
        raise CliError(
            f"{table.source}: has {table.data.shape[1]} column(s), but the model in "
            f"{model_path} was fitted to {result.n_features} feature(s)"
        )
    _check_family_data(model, table, f"the {type(model.family).__name__} model in {model_path}")
    return table


def _by_chunks(model: Any, X: Array, compute: Callable[[Array], Array]) -> Array:
    """``compute`` over row chunks sized like the E-step's, so temporaries stay bounded."""
    rows = chunk_rows_for(model, X.shape[1], X.dtype.itemsize)
    return np.concatenate([compute(X[start : start + rows]) for start in range(0, len(X), rows)])


def _cmd_predict(args: argparse.Namespace) -> int:
    result, _ = _load_model(args.model)
    _check_writable(args.output, "--output")
    table = _model_data(result, args.model, args.data)
    model, params = result.model, result.params
    if args.proba:
        resp = _by_chunks(model, table.data, lambda X: model.responsibilities(X, params))
        header = [f"component_{k}" for k in range(model.n_components)]
        text = _csv(resp, header, f"%.{CSV_DIGITS}g")
    else:
        labels = _by_chunks(model, table.data, lambda X: model.predict(X, params))
        text = _csv(labels[:, None], None, "%d")
    _write_text(args.output, text, "--output")
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    result, _ = _load_model(args.model)
    table = _model_data(result, args.model, args.data)
    model, params = result.model, result.params
    per_row = _by_chunks(model, table.data, lambda X: model.score_samples(X, params))
    total = float(np.sum(per_row, dtype=np.float64))
    n = per_row.shape[0]
    print(f"samples                    {n}")
    print(f"mean log-likelihood        {total / n:.6f}")
    print(f"total log-likelihood       {total:.6f}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    result, names = _load_model(args.model)
    _check_writable(args.output, "--output")
    X, labels = result.model.sample(result.params, args.n, np.random.default_rng(args.seed))
    header = list(names or default_names(X.shape[1]))
    values = X
    if args.labels:
        header.append("component")
        values = np.column_stack([X, labels])
    _write_text(args.output, _csv(values, header, f"%.{CSV_DIGITS}g"), "--output")
    return 0


def _cmd_select(args: argparse.Namespace) -> int:
    ks = parse_components(args.components)
    covariances = _covariance_list(args.covariance) if args.covariance is not None else None
    family = _make_family(args.family, None if covariances is None else "full", args.reg_covar)
    _check_plot_target(args.plot)
    table = read_data(args.data, binarize=args.family == "bernoulli")
    families = (
        [attrs.evolve(family, covariance_type=kind) for kind in covariances]
        if covariances
        else [family]
    )
    _check_family_data(FiniteMixture(families[0], 1), table, f"--family {args.family}")
    candidates: list[Candidate] = []
    for fam in families:
        for k in ks:
            label = f"{type(fam).__name__}"
            kind = getattr(fam, "covariance_type", None)
            label += f"({kind})" if kind else ""
            prefix = f"{label} K={k}: "
            progress = Progress(sys.stderr, args.n_init, prefix=prefix, every=False)
            with _reported_warnings(prefix):
                try:
                    one = select(
                        table.data,
                        fam,
                        [k],
                        criterion=args.criterion,
                        n_init=args.n_init,
                        max_iter=args.max_iter,
                        tol=args.tol,
                        random_state=args.seed,
                        callbacks=() if args.quiet else (progress,),
                    )
                except ValueError as exc:
                    progress.finish()
                    print(
                        f"emkit: warning: {prefix}fit failed, skipped: {_one_line(str(exc))}",
                        file=sys.stderr,
                    )
                    continue
                progress.finish()
            candidates.extend(one.candidates)
    if not candidates:
        raise CliError("every candidate model failed to fit; see the warnings above")
    selection = Selection(tuple(candidates), args.criterion)
    best = selection.best
    print(f"data: {_shape_text(table)}")
    print(selection.table())
    print(
        f"best by {args.criterion.upper()} (*): {best.label} with {best.n_components} "
        f"component{'s' * (best.n_components != 1)}"
    )
    if args.plot is not None:
        _save_selection_plot(args.plot, selection)
        print(f"plot saved to {args.plot}")
    return 0


def _save_selection_plot(path: str, selection: Selection) -> None:
    from matplotlib.figure import Figure

    from emkit import plotting

    criteria = ("bic", "aic") if selection.criterion != "icl" else ("bic", "icl")
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    plotting.plot_selection(selection, criteria, ax=fig.add_subplot())
    _save_figure(fig, path)


# -- the parser ------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``emkit: error:`` line, status 2."""

    def error(self, message: str) -> NoReturn:
        hint = f" (see '{self.prog} --help')"
        self.exit(2, f"emkit: error: {_one_line(message)}{hint}\n")


_FORMATTER = argparse.HelpFormatter

_DATA_HELP = (
    "CSV/TSV file (header row optional), .npy file, '-' for CSV on stdin, or a bundled "
    "dataset: faithful, earthquakes, digits (digits is binarized for --family bernoulli)"
)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the Python traceback of an error",
    )


def _add_fit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--family",
        choices=FAMILIES,
        default="gaussian",
        help="component distribution (default: %(default)s)",
    )
    parser.add_argument(
        "--reg-covar",
        type=_non_negative_float,
        default=None,
        metavar="X",
        help="Gaussian only: added to covariance diagonals to keep them positive definite "
        "(default: 1e-6)",
    )
    parser.add_argument(
        "--n-init",
        type=_positive_int,
        default=1,
        metavar="N",
        help="EM runs from different starts; the best is kept (default: %(default)s)",
    )
    parser.add_argument(
        "--max-iter",
        type=_non_negative_int,
        default=100,
        metavar="N",
        help="maximum EM iterations per run (default: %(default)s)",
    )
    parser.add_argument(
        "--tol",
        type=_non_negative_float,
        default=1e-3,
        metavar="X",
        help="stop when the log-likelihood per sample changes by less than this "
        "(default: %(default)g)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="random seed; the same seed gives the same result (default: %(default)s)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="do not show progress on stderr (default: show it)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``emkit`` argument parser with all its subcommands."""
    parser = _Parser(
        prog="emkit",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fit mixture models by Expectation-Maximization, and use them.",
        epilog=(
            "examples:\n"
            "  emkit fit faithful --components 2 --output model.json --plot fit.png\n"
            "  emkit fit digits --family bernoulli --components 10 --plot digits.png\n"
            "  emkit predict model.json data.csv --proba\n"
            "  emkit score model.json data.csv\n"
            "  emkit sample model.json -n 100 --output sample.csv\n"
            "  emkit select faithful --components 1-6 --covariance all --plot bic.png\n"
            "\n"
            "Errors print one line 'emkit: error: ...' and exit with status 2.\n"
            "Run 'emkit COMMAND --help' for the options of each command."
        ),
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an error"
    )
    from emkit import __version__

    parser.add_argument("--version", action="version", version=f"emkit {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )

    p = sub.add_parser(
        "fit",
        help="fit a mixture model to data",
        description="Fit a finite mixture by EM, print a summary, optionally save the model "
        "(JSON) and a figure. Progress (iteration, log-likelihood, change per sample) goes to "
        "stderr, one line per iteration (an updating line on a terminal).",
        formatter_class=_FORMATTER,
    )
    p.add_argument(
        "data",
        nargs="?",
        default="faithful",
        metavar="DATA",
        help=_DATA_HELP + " (default: faithful)",
    )
    p.add_argument(
        "-k",
        "--components",
        type=_positive_int,
        default=2,
        metavar="K",
        help="number of mixture components (default: %(default)s)",
    )
    p.add_argument(
        "--covariance",
        choices=COVARIANCE_TYPES,
        default=None,
        help="Gaussian covariance type (default: full)",
    )
    p.add_argument(
        "--init",
        choices=INIT_METHODS,
        default="kmeans",
        help="how each run starts (default: %(default)s)",
    )
    _add_fit_options(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default=None,
        help="save the fitted model as JSON, for predict/score/sample (default: not saved)",
    )
    p.add_argument(
        "--plot",
        metavar="FILE",
        default=None,
        help="save a figure (format from the extension, e.g. .png, .pdf): the data coloured "
        "by component with covariance ellipses (first two features), component images for "
        "square pixel data, a histogram for one feature; and the log-likelihood by iteration; "
        "needs matplotlib (default: no figure)",
    )
    _add_common(p)
    p.set_defaults(handler=_cmd_fit)

    p = sub.add_parser(
        "predict",
        help="most probable component of each row (or all probabilities)",
        description="Assign each row of DATA to its most probable component (0-based), "
        "one label per line; with --proba write the posterior probability of every "
        "component as CSV with a header.",
        formatter_class=_FORMATTER,
    )
    p.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit --output'")
    p.add_argument("data", metavar="DATA", help=_DATA_HELP)
    p.add_argument(
        "--proba",
        action="store_true",
        help="write component probabilities instead of labels (default: labels)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", default=None, help="write here (default: stdout)"
    )
    _add_common(p)
    p.set_defaults(handler=_cmd_predict)

    p = sub.add_parser(
        "score",
        help="log-likelihood of data under a model",
        description="Print the number of rows of DATA, their mean log-likelihood per sample "
        "and the total log-likelihood under the model.",
        formatter_class=_FORMATTER,
    )
    p.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit --output'")
    p.add_argument("data", metavar="DATA", help=_DATA_HELP)
    _add_common(p)
    p.set_defaults(handler=_cmd_score)

    p = sub.add_parser(
        "sample",
        help="draw random rows from a model",
        description="Draw N rows from the fitted mixture and write them as CSV with a header.",
        formatter_class=_FORMATTER,
    )
    p.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit --output'")
    p.add_argument(
        "-n",
        "--n-samples",
        dest="n",
        type=_positive_int,
        required=True,
        metavar="N",
        help="number of rows to draw (required)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    p.add_argument(
        "--labels",
        action="store_true",
        help="add a last column 'component' with each row's component (default: no)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", default=None, help="write here (default: stdout)"
    )
    _add_common(p)
    p.set_defaults(handler=_cmd_sample)

    p = sub.add_parser(
        "select",
        help="compare numbers of components (and covariance types) by BIC/AIC/ICL",
        description="Fit one mixture per number of components (and per covariance type), "
        "print log-likelihood, BIC, AIC and ICL of each with the best marked '*', and "
        "optionally plot the criteria against the number of components.",
        formatter_class=_FORMATTER,
    )
    p.add_argument("data", metavar="DATA", help=_DATA_HELP)
    p.add_argument(
        "-k",
        "--components",
        default="1-8",
        metavar="RANGE",
        help="numbers of components to try: 3, 1-8 or 1-4,6 (default: %(default)s)",
    )
    p.add_argument(
        "--covariance",
        default=None,
        metavar="TYPES",
        help="Gaussian covariance types to try: 'all' or a comma-separated list of "
        f"{', '.join(COVARIANCE_TYPES)} (default: full)",
    )
    p.add_argument(
        "--criterion",
        choices=CRITERIA,
        default="bic",
        help="criterion that picks the best model, lower is better (default: %(default)s)",
    )
    _add_fit_options(p)
    p.add_argument(
        "--plot",
        metavar="FILE",
        default=None,
        help="save a figure of BIC and AIC (BIC and ICL with --criterion icl) against the "
        "number of components; needs matplotlib (default: no figure)",
    )
    _add_common(p)
    p.set_defaults(handler=_cmd_select)
    return parser


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return _one_line(str(exc)) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``emkit`` command; returns the exit status (0 ok, 2 bad input, 1 internal error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("emkit: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            traceback.print_exc()
        if _is_user_error(exc):
            print(f"emkit: error: {_error_message(exc)}", file=sys.stderr)
            return 2
        print(
            f"emkit: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
            "(please report it; --debug shows the traceback)",
            file=sys.stderr,
        )
        return 1


def _is_user_error(exc: BaseException) -> bool:
    """Bad input (a file, a value, a missing optional package), not a bug in emkit."""
    if isinstance(exc, ImportError):
        return INSTALL_HINT in str(exc)
    return isinstance(exc, (CliError, ValueError, TypeError, OSError))


if __name__ == "__main__":
    sys.exit(main())
