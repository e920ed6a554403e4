"""The ``emkit`` argument parser: subcommands, options, help texts."""

from __future__ import annotations

import argparse
from typing import NoReturn

from emkit._version import __version__
from emkit.cli import commands
from emkit.cli.errors import one_line
from emkit.cli.families import family_names, family_option, family_type
from emkit.cli.options import non_negative_float, non_negative_int, number, positive_int
from emkit.selection import CRITERIA
from emkit.starts import start_names

__all__ = ["Parser", "build_parser"]


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``emkit: error:`` line, status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``emkit: error: MESSAGE (see 'PROG --help')`` and exit with status 2."""
        hint = f" (see '{self.prog} --help')"
        self.exit(2, f"emkit: error: {one_line(message)}{hint}\n")


_FORMATTER = argparse.HelpFormatter

_DATA_HELP = (
    "CSV/TSV file (header row optional, quoted fields allowed), .npy file (memory-mapped, "
    "not loaded whole), '-' for CSV on stdin, or a bundled dataset: faithful, earthquakes, "
    "digits (pixel intensities 0-16; their 0/1 form, intensity >= 8, for a family that "
    "accepts only 0 and 1)"
)

_BINARIZE_HELP = (
    "turn the data into 0/1 first: 1 where a value is >= T, for a family of binary data "
    "(default: the data as it is)"
)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the Python traceback of an error",
    )


def _add_family_options(parser: argparse.ArgumentParser) -> None:
    names = ", ".join(family_names())
    parser.add_argument(
        "--family",
        type=family_type,
        default="gaussian",
        metavar="NAME",
        help=f"component distribution: a registered family, in any case ({names}; installed "
        "plugins add theirs). For a table of mixed columns (emkit fit only): 'auto' chooses "
        "each column's family from its cells (decimals gaussian; only 0/1 or true/false "
        "bernoulli; other whole numbers >= 0 poisson; text categorical), and "
        "COLUMN=FAMILY,... (e.g. height=gaussian,smoker=bernoulli) names them, every column "
        "unless the list also holds 'auto' (default: %(default)s)",
    )
    parser.add_argument(
        "--family-option",
        type=family_option,
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="set the family's setting KEY (a number, true/false, none or a word), checked by "
        "the family itself, e.g. --family bernoulli --family-option pseudo_count=0.5; "
        "repeatable (default: the family's own settings)",
    )
    parser.add_argument(
        "--reg-covar",
        type=number,
        default=None,
        metavar="X",
        help="the family's `reg_covar` setting; for the Gaussian, added to covariance "
        "diagonals to keep them positive definite (default: the family's, 1e-6)",
    )
    parser.add_argument("--binarize", type=number, default=None, metavar="T", help=_BINARIZE_HELP)


def _add_missing_option(parser: argparse.ArgumentParser, *, saved: bool) -> None:
    default = "as the model was fitted" if saved else "error: a missing cell is an error naming it"
    parser.add_argument(
        "--missing",
        choices=("error", "marginalise"),
        default=None if saved else "error",
        help="what an empty cell, NA or NaN in DATA is: an error, or a value missing at "
        f"random that the model integrates out (marginalise) (default: {default})",
    )


def _add_fit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--n-init",
        type=positive_int,
        default=1,
        metavar="N",
        help="EM runs from different starts; the best is kept (default: %(default)s)",
    )
    parser.add_argument(
        "--max-iter",
        type=non_negative_int,
        default=100,
        metavar="N",
        help="maximum EM iterations per run (default: %(default)s)",
    )
    parser.add_argument(
        "--tol",
        type=non_negative_float,
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


def _add_sequence_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--sequence-column",
        default=None,
        metavar="COL",
        help=f"{what}: a column of sequence ids (a header name or a 0-based index), not a "
        "feature; a sequence is a run of consecutive rows with the same id, and an id that "
        "comes back after another id is an error (sort the rows by id first). Not for .npy "
        "files: use --lengths (default: the whole file is one sequence)",
    )
    parser.add_argument(
        "--lengths",
        default=None,
        metavar="FILE",
        help=f"{what}: the sizes of the sequences, one after another in DATA: a .npy file or a "
        "text file of whole numbers summing to the rows of DATA (default: the whole file is "
        "one sequence)",
    )


def _add_groups_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--groups",
        default=None,
        metavar="COL",
        help="for a regression mixture: a column of group ids (a header name or a 0-based "
        "index), not a covariate; all rows with the same id share one component, wherever "
        "they are in the file (default: every row on its own)",
    )


def _add_model_and_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit --output'")
    parser.add_argument("data", metavar="DATA", help=_DATA_HELP)
    parser.add_argument("--binarize", type=number, default=None, metavar="T", help=_BINARIZE_HELP)
    _add_missing_option(parser, saved=True)
    _add_sequence_options(parser, "for a hidden Markov model")
    _add_groups_option(parser)


def build_parser() -> argparse.ArgumentParser:
    """The ``emkit`` argument parser with all its subcommands."""
    parser = Parser(
        prog="emkit",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fit mixture models and hidden Markov models by Expectation-Maximization, "
        "and use them.",
        epilog=(
            "examples:\n"
            "  emkit fit faithful --components 2 --output model.json --plot fit.png\n"
            "  emkit fit digits --family bernoulli --components 10 --plot digits.png\n"
            "  emkit fit earthquakes --family poisson --family-option prior_strength=1\n"
            "  emkit fit earthquakes --model hmm --states 3 --family poisson --plot states.png\n"
            "  emkit fit series.csv --model hmm --states 3 --sequence-column id -o hmm.json\n"
            "  emkit predict hmm.json series.csv --sequence-column id\n"
            "  emkit fit data.csv --model regression --target y -k 2 -o reg.json\n"
            "  emkit fit survey.csv --family auto -k 3 --missing marginalise -o mixed.json\n"
            "  emkit predict reg.json data.csv\n"
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
    parser.add_argument("--version", action="version", version=f"emkit {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=Parser
    )

    p = sub.add_parser(
        "fit",
        help="fit a mixture model or a hidden Markov model to data",
        description="Fit a finite mixture (or, with --model hmm, a hidden Markov model: "
        "Baum-Welch) by EM, print a summary, optionally save the model (JSON) and a figure. "
        "Progress (iteration, log-likelihood, change per sample) goes to stderr, one line per "
        "iteration (an updating line on a terminal).",
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
        "--model",
        choices=("mixture", "hmm", "regression"),
        default="mixture",
        help="mixture: a finite mixture of --family (rows independent); hmm: a hidden Markov "
        "model whose states emit from --family (rows are time steps of sequences, see "
        "--sequence-column); regression: a mixture of regressions of --target on the other "
        "columns, components of --family gaussian, poisson or bernoulli (default: %(default)s)",
    )
    p.add_argument(
        "--target",
        default=None,
        metavar="COL",
        help="for --model regression (required there): the response column, a header name or "
        "a 0-based index; every other column (but --groups) is a covariate",
    )
    _add_groups_option(p)
    p.add_argument(
        "-k",
        "--components",
        type=positive_int,
        default=None,
        metavar="K",
        help="number of mixture components; for --model hmm the number of states, as "
        "--states (default: 2)",
    )
    p.add_argument(
        "--states",
        type=positive_int,
        default=None,
        metavar="K",
        help="number of hidden states of --model hmm (-k/--components says the same) (default: 2)",
    )
    _add_sequence_options(p, "--model hmm")
    p.add_argument(
        "--covariance",
        default=None,
        metavar="KIND",
        help="the family's `covariance_type` setting; for the Gaussian one of full, tied, "
        "diag, spherical (default: the family's, full)",
    )
    _add_family_options(p)
    _add_missing_option(p, saved=False)
    p.add_argument(
        "--init",
        choices=start_names(),
        default=None,
        help="how each run starts (default: kmeans; random partitions for --model regression, "
        "whose components are lines, not clusters)",
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
        "square pixel data, a histogram for one feature; for --model hmm the first feature "
        "over time coloured by decoded (Viterbi) state with the state means, and the state "
        "posteriors; and the log-likelihood by iteration; needs matplotlib (default: no "
        "figure)",
    )
    _add_common(p)
    p.set_defaults(handler=commands.cmd_fit)

    p = sub.add_parser(
        "predict",
        help="most probable component (or HMM state) of each row, or all probabilities",
        description="Assign each row of DATA to its most probable component (0-based), "
        "one label per line; with --proba write the posterior probability of every "
        "component as CSV with a header. For a hidden Markov model: the state of each row on "
        "the most probable state path of its sequence (Viterbi), or with --proba the state "
        "posteriors (forward-backward). DATA is processed in row chunks (whole sequences).",
        formatter_class=_FORMATTER,
    )
    _add_model_and_data(p)
    p.add_argument(
        "--proba",
        action="store_true",
        help="write component (HMM: state) probabilities instead of labels (default: labels)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", default=None, help="write here (default: stdout)"
    )
    _add_common(p)
    p.set_defaults(handler=commands.cmd_predict)

    p = sub.add_parser(
        "score",
        help="log-likelihood of data under a model",
        description="Print the number of rows of DATA, their mean log-likelihood per sample "
        "and the total log-likelihood under the model (for a hidden Markov model also the "
        "number of sequences; the total is the sum over sequences). DATA is processed in row "
        "chunks (whole sequences).",
        formatter_class=_FORMATTER,
    )
    _add_model_and_data(p)
    _add_common(p)
    p.set_defaults(handler=commands.cmd_score)

    p = sub.add_parser(
        "sample",
        help="draw random rows from a model",
        description="Draw N rows from the fitted model and write them as CSV with a header; "
        "from a hidden Markov model, one sequence of N time steps.",
        formatter_class=_FORMATTER,
    )
    p.add_argument("model", metavar="MODEL", help="model file written by 'emkit fit --output'")
    p.add_argument(
        "-n",
        "--n-samples",
        dest="n",
        type=positive_int,
        required=True,
        metavar="N",
        help="number of rows to draw (required)",
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    p.add_argument(
        "--labels",
        action="store_true",
        help="add a last column 'component' with each row's component ('state' with each "
        "time step's hidden state, for a hidden Markov model) (default: no)",
    )
    p.add_argument(
        "-o", "--output", metavar="FILE", default=None, help="write here (default: stdout)"
    )
    _add_common(p)
    p.set_defaults(handler=commands.cmd_sample)

    p = sub.add_parser(
        "select",
        help="compare numbers of components (and covariance types) by BIC/AIC/ICL",
        description="Fit one mixture per number of components (and per covariance type), "
        "print log-likelihood, BIC, AIC and ICL of each with the best marked '*', and "
        "optionally plot the criteria against the number of components. A candidate whose "
        "fit fails (say, more components than rows) is skipped with a warning.",
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
        help="covariance types to try, for a family with a `covariance_type` setting: 'all' "
        "(full, tied, diag, spherical) or a comma-separated list (default: the family's, full)",
    )
    _add_family_options(p)
    _add_missing_option(p, saved=False)
    p.add_argument(
        "--criterion",
        choices=CRITERIA,
        default="bic",
        help="criterion that picks the best model, lower is better (default: %(default)s)",
    )
    _add_fit_options(p)
    p.add_argument(
        "--no-grow",
        dest="grow",
        action="store_false",
        help="fit every candidate from its own starts only; by default each is also started "
        "from the candidate with one component fewer (a component split in two), and the "
        "log-likelihood never drops as components are added (the table's 'start' column)",
    )
    p.add_argument(
        "--plot",
        metavar="FILE",
        default=None,
        help="save a figure of BIC and AIC (BIC and ICL with --criterion icl) against the "
        "number of components; needs matplotlib (default: no figure)",
    )
    _add_common(p)
    p.set_defaults(handler=commands.cmd_select)
    return parser
