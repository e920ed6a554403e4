"""The ``emkit`` command: fit, use and compare mixture models and hidden Markov models from the
shell.

::

    emkit fit faithful --components 2 --output model.json --plot fit.png
    emkit fit digits --family bernoulli --components 10
    emkit fit series.csv --model hmm --states 3 --sequence-column id -o hmm.json --plot hmm.png
    emkit predict hmm.json series.csv --sequence-column id
    emkit predict model.json data.csv --proba
    emkit fit data.csv --model regression --target y --components 2 --output reg.json
    emkit predict reg.json data.csv
    emkit fit survey.csv --family categorical -k 3 --output lca.json
    emkit score model.json data.csv
    emkit sample model.json -n 100 --seed 1
    emkit select data.csv --components 1-6 --covariance all --plot bic.png

DATA is a CSV or TSV file (header row optional, detected; quoted fields allowed), a ``.npy``
file (memory-mapped and read in row blocks, never loaded whole), ``-`` for CSV on standard
input, or the name of a bundled dataset (faithful, earthquakes, digits). ``--family`` takes any
family of [`emkit.registry`][emkit.registry] (plugins included) and sets its settings by name. Bad
input prints one line ``emkit: error: ...`` on stderr and exits with status 2 (``--debug`` adds the
traceback). Everything numerical happens in the library: this package only reads, prints and
writes.

``--model hmm`` fits a [`HiddenMarkovModel`][emkit.hmm.model.HiddenMarkovModel] of the family
(``--states K``, or ``-k K``); its rows are the time steps of sequences, told by a column of
sequence ids (``--sequence-column``, whose consecutive equal ids make one sequence) or a file of
sequence sizes (``--lengths``), else the whole file is one sequence. ``predict`` of a saved HMM
writes each row's state on the Viterbi path of its sequence (``--proba``: the state posteriors),
``score`` sums the log-likelihoods of the sequences, ``sample`` draws one sequence.

``--model regression`` fits a mixture of regressions
([`RegressionMixture`][emkit.estimators.regression.RegressionMixture]) of the ``--target``
column on the other columns (``--family`` gaussian, poisson or bernoulli), with rows of one
``--groups`` id sharing a component; ``predict`` of the saved model writes each row's posterior
component (``--proba``: the posterior probabilities), finding the columns by name.

Modules
    ``parser`` (the argument parser), ``commands`` (one function per subcommand),
    ``families`` (``--family`` and its settings), ``data`` (data checked against a model, row
    chunks), ``output`` (summary, tables, CSV), ``progress`` (progress lines and warnings),
    ``plots`` (figures), ``options`` (option values), ``errors`` (error lines), ``sequences``
    (``--sequence-column`` and ``--lengths``, whole sequences in chunks), ``regression``
    (``--model regression``: ``--target``, ``--groups``, and a saved regression mixture's
    predict / score / sample), ``levels`` (``--family categorical`` on a CSV of text levels:
    latent class analysis by
    [`CategoricalMixture`][emkit.estimators.categorical.CategoricalMixture],
    and a saved one's predict / score / sample).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence

from emkit.cli.errors import CliError, error_message, is_user_error, one_line
from emkit.cli.options import parse_components
from emkit.cli.output import format_summary
from emkit.cli.parser import build_parser
from emkit.cli.progress import Progress
from emkit.tables import DataFileError, Table, parse_table, read_data

__all__ = [
    "CliError",
    "DataFileError",
    "Progress",
    "Table",
    "build_parser",
    "format_summary",
    "main",
    "parse_components",
    "parse_table",
    "read_data",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``emkit`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 ok, 2 bad input (one ``emkit: error:`` line on stderr), 1 an
        internal error, 130 interrupted. Usage errors and ``--help`` exit from inside argument
        parsing with ``SystemExit``, as argparse does.
    """
    try:
        args = build_parser().parse_args(argv)
    except CliError as exc:  # e.g. an installed plugin that fails to load
        print(f"emkit: error: {error_message(exc)}", file=sys.stderr)
        return 2
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
        if is_user_error(exc):
            print(f"emkit: error: {error_message(exc)}", file=sys.stderr)
            return 2
        print(
            f"emkit: internal error: {type(exc).__name__}: {one_line(str(exc))} "
            "(please report it; --debug shows the traceback)",
            file=sys.stderr,
        )
        return 1
