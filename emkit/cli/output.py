"""What the command line prints and writes: the fit summary, tables, CSV."""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import attrs
import numpy as np

from emkit import io as model_io
from emkit._backend import Array
from emkit.cli.errors import CliError
from emkit.em import RESTART_BEST_ATOL, FitResult
from emkit.hmm.model import HiddenMarkovModel
from emkit.mixture import FiniteMixture
from emkit.protocols import LatentVariableModel
from emkit.selection import aic, bic
from emkit.tables import Table

__all__ = [
    "CSV_DIGITS",
    "SUMMARY_MAX_FEATURES",
    "check_writable",
    "describe_model",
    "fit_lines",
    "format_hmm_summary",
    "format_regression_summary",
    "format_summary",
    "format_table",
    "model_kind",
    "output_stream",
    "restart_report",
    "save_model",
    "score_text",
    "shape_text",
    "write_assignments",
    "write_csv",
    "write_csv_header",
    "write_text_rows",
]

#: Columns of the means shown in the ``fit`` summary; wider data is cut with "...".
SUMMARY_MAX_FEATURES = 6

#: Significant digits of numbers written to CSV output (labels are integers). 17 digits would
#: round-trip float64 exactly; 10 keep files readable and are far below sampling noise.
CSV_DIGITS = 10


def _setting_text(name: str, value: Any) -> str:
    if name == "covariance_type" and isinstance(value, str):
        return f"{value} covariance"
    if isinstance(value, float):
        return f"{name}={value:g}"
    if isinstance(value, bool | int | str) or value is None:
        return f"{name}={value!r}"
    return f"{name}=<{type(value).__name__}>"


def _differs(value: Any, default: Any) -> bool:
    try:
        return not bool(value == default)
    except (TypeError, ValueError):  # arrays and other values without one truth value
        return True


def family_settings(family: Any) -> list[str]:
    """The family's covariance type and its settings that differ from their defaults, in words."""
    if not attrs.has(type(family)):
        return []
    texts = []
    for field in attrs.fields(type(family)):
        if not field.init:
            continue
        value = getattr(family, field.name)
        default = field.default
        shown = (
            field.name == "covariance_type"
            or default is attrs.NOTHING
            or isinstance(default, attrs.Factory)  # type: ignore[arg-type]
            or _differs(value, default)
        )
        if shown:
            texts.append(_setting_text(field.alias or field.name, value))
    return texts


def model_kind(model: LatentVariableModel[Any, Any]) -> str:
    """``"Gaussian mixture"`` for a mixture of a family, ``"Poisson hidden Markov model"`` for
    an HMM, else the model's class name."""
    if isinstance(model, HiddenMarkovModel):
        return f"{type(model.emission).__name__} hidden Markov model"
    family = getattr(model, "family", None)
    if family is None:
        return type(model).__name__
    return f"{type(family).__name__} mixture"


def describe_model(model: LatentVariableModel[Any, Any]) -> str:
    """``"Gaussian mixture, full covariance, 2 components"`` or ``"Poisson hidden Markov model,
    3 states"``: the model in a few words."""
    if isinstance(model, HiddenMarkovModel):
        states = model.n_states
        parts = [model_kind(model), *family_settings(model.emission)]
        return ", ".join([*parts, f"{states} state{'s' * (states != 1)}"])
    family = getattr(model, "family", None)
    parts = [model_kind(model), *([] if family is None else family_settings(family))]
    k = getattr(model, "n_components", None)
    if isinstance(k, int):
        parts.append(f"{k} component{'s' * (k != 1)}")
    return ", ".join(parts)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Right-aligned columns separated by two spaces."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def shape_text(table: Table) -> str:
    """``"faithful (272 samples, 2 features)"``, with ``", 3 missing cells"`` when cells of a
    table read into memory are missing (NaN)."""
    n_samples, n_features = table.data.shape
    n_missing = int(np.isnan(table.data).sum()) if table.in_memory else 0
    missing = f", {n_missing} missing cell{'s' * (n_missing != 1)}" if n_missing else ""
    return (
        f"{table.source} ({n_samples} sample{'s' * (n_samples != 1)}, "
        f"{n_features} feature{'s' * (n_features != 1)}{missing})"
    )


def _column_format(values: Array) -> str:
    """One format for a column of numbers: 6 significant digits of its largest value, the same
    decimals for every row (so the column lines up); scientific for very small or odd values."""
    finite = values[np.isfinite(values)]
    largest = float(np.max(np.abs(finite))) if finite.size else 0.0
    if largest == 0.0:
        return ".6f"
    if largest < 1e-3 or largest >= 1e15:
        return ".4e"
    digits_before_point = math.floor(math.log10(largest)) + 1
    return f".{min(max(0, 6 - digits_before_point), 6)}f"


def _means_table(
    lead_header: Sequence[str],
    lead: Sequence[Sequence[str]],
    means: Array,
    names: Sequence[str],
) -> str:
    """A table of one row per component (or state): its ``lead`` cells, then its means of the
    first [`SUMMARY_MAX_FEATURES`][emkit.cli.output.SUMMARY_MAX_FEATURES] features, each column
    in one format; wider data is cut with "..."."""
    shown = min(means.shape[1], SUMMARY_MAX_FEATURES)
    cut = shown < means.shape[1]
    header = [*lead_header, *names[:shown], *([f"... ({means.shape[1]} features)"] if cut else [])]
    formats = [_column_format(means[:, j]) for j in range(shown)]
    rows = [
        [
            *cells,
            *(f"{v:{fmt}}" for v, fmt in zip(means[k, :shown], formats, strict=True)),
            *(["..."] if cut else []),
        ]
        for k, cells in enumerate(lead)
    ]
    return format_table(header, rows)


def format_summary(
    result: FitResult[Any], table: Table, seconds: float, *, tol: float, n_init: int
) -> str:
    """The readable summary printed by ``emkit fit`` (for a mixture of one family).

    Parameters
    ----------
    result : FitResult
        The fit of a mixture: ``result.model.family.mean`` gives the component means and
        ``result.params.weights`` the weights.
    table : Table
        The data, for its name, size and column names.
    seconds : float
        Time the fit took.
    tol, n_init : float, int
        The options the fit ran with.
    """
    model = result.model
    if not isinstance(model, FiniteMixture):
        raise TypeError(f"a fit summary describes a FiniteMixture; got {type(model).__name__}")
    params = result.params
    means = np.asarray(model.family.mean(params.components))
    lead = [[str(k), f"{params.weights[k]:.4f}"] for k in range(model.n_components)]
    lines = [
        describe_model(model),
        f"data: {shape_text(table)}",
        "",
        "component means:",
        _means_table(["component", "weight"], lead, means, table.names),
        "",
        *fit_lines(result, seconds, tol=tol, n_init=n_init),
    ]
    return "\n".join(lines)


def fit_lines(result: FitResult[Any], seconds: float, *, tol: float, n_init: int) -> list[str]:
    """The summary's closing lines: log-likelihood, criteria, convergence, restarts, time."""
    n = result.n_samples
    prior = [f"log-prior       {result.log_prior:.6f}"] if result.log_prior != 0.0 else []
    runs = f" (best of {n_init} runs: run {result.restart + 1})" if n_init > 1 else ""
    return [
        f"log-likelihood  {result.log_likelihood:.6f}  "
        f"({result.log_likelihood / n:.6f} per sample)",
        *prior,
        f"BIC             {bic(result):.4f}",
        f"AIC             {aic(result):.4f}",
        f"converged       {'yes' if result.converged else 'no'} (tol {tol:g} per sample)",
        f"iterations      {result.n_iter}{runs}",
        *restart_report(result, n_init),
        f"time            {seconds:.3f} s",
    ]


def format_hmm_summary(
    result: FitResult[Any],
    table: Table,
    sequences: str,
    seconds: float,
    *,
    tol: float,
    n_init: int,
) -> str:
    """The readable summary printed by ``emkit fit --model hmm``.

    One table of the states (start probability, stationary share of time, emission means), the
    transition matrix (row: from, column: to), then the same closing lines as a mixture's
    summary (log-likelihood, BIC, AIC, convergence, restarts; per sample means per time step).

    Parameters
    ----------
    result : FitResult
        The fit of a [`HiddenMarkovModel`][emkit.hmm.model.HiddenMarkovModel].
    table : Table
        The data (the features, without a sequence-id column), for its name, size and names.
    sequences : str
        The sequences in words (``"3 sequences of 40 to 120 rows"``).
    seconds : float
        Time the fit took.
    tol, n_init : float, int
        The options the fit ran with.
    """
    model = result.model
    if not isinstance(model, HiddenMarkovModel):
        raise TypeError(
            f"an HMM fit summary describes a HiddenMarkovModel; got {type(model).__name__}"
        )
    params = result.params
    k = model.n_states
    means = model.component_means(params)
    stationary = model.component_weights(params)
    lead = [
        [str(state), f"{params.startprob[state]:.4f}", f"{stationary[state]:.4f}"]
        for state in range(k)
    ]
    transitions = [[str(i), *(f"{p:.4f}" for p in params.transmat[i])] for i in range(k)]
    lines = [
        describe_model(model),
        f"data: {shape_text(table)}, {sequences}",
        "",
        "states (start: first-state probability; stationary: long-run share of time; means):",
        _means_table(["state", "start", "stationary"], lead, means, table.names),
        "",
        "transition probabilities (row: from state, column: to state):",
        format_table(["from", *(str(j) for j in range(k))], transitions),
        "",
        *fit_lines(result, seconds, tol=tol, n_init=n_init),
    ]
    return "\n".join(lines)


def format_regression_summary(
    estimator: Any, where: str, seconds: float, *, tol: float, n_init: int
) -> str:
    """The readable summary printed by ``emkit fit --model regression``.

    The model in words, the data, the component table of the fitted
    [`RegressionMixture`][emkit.estimators.regression.RegressionMixture] (weight, intercept,
    coefficients by column name, Gaussian scale), then the same closing lines as a mixture's
    summary (log-likelihood, BIC, AIC, convergence, restarts; per sample means per row).

    Parameters
    ----------
    estimator : RegressionMixture
        Fitted.
    where : str
        The data in words (``"data.csv (200 rows, target 'y', 2 covariate(s))"``).
    seconds : float
        Time the fit took.
    tol, n_init : float, int
        The options the fit ran with.
    """
    result = estimator.fitted_result()
    model = result.model
    k = model.n_components
    target = getattr(estimator, "target_name_", None)
    title = f"{str(model.family).capitalize()} regression mixture"
    if target is not None:
        title += f" of {target!r}"
    title += f", {k} component{'s' * (k != 1)}"
    if model.shared_scale:
        title += ", shared scale"
    lines = [
        title,
        f"data: {where}",
        "",
        "components (weight, intercept, coefficients by covariate; scale: the noise's "
        "standard deviation):",
        estimator.coefficient_table(),
        "",
        *fit_lines(result, seconds, tol=tol, n_init=n_init),
    ]
    return "\n".join(lines)


def restart_report(result: FitResult[Any], n_init: int) -> list[str]:
    """The summary's lines about the restarts and the cost of the starts.

    ``restarts        reached best in 7 of 10 starts`` when ``n_init > 1`` (within
    [`RESTART_BEST_ATOL`][emkit.em.RESTART_BEST_ATOL] per sample), the runs that ended with a
    collapsed component (numbered from 1, as ``best of 10 runs: run 3``) and the EM iterations
    spent choosing the starts (emEM's short runs), each only when there is something to say.

    Parameters
    ----------
    result : FitResult
    n_init : int
        The number of runs the fit made.

    Returns
    -------
    list of str
    """
    lines = []
    if n_init > 1:
        lines.append(
            f"restarts        reached best in {result.restarts_at_best} of {n_init} starts "
            f"(within {RESTART_BEST_ATOL:g} per sample)"
        )
    if result.collapsed_restarts:
        runs = ", ".join(str(r + 1) for r in result.collapsed_restarts)
        lines.append(
            f"collapsed       run(s) {runs} ended with a component of less than one row's weight"
        )
    if result.n_start_iter:
        lines.append(f"start cost      {result.n_start_iter} EM iterations in short runs (emEM)")
    return lines


def check_writable(path: str | None, option: str) -> None:
    """Fail before a long fit, not after, when an output cannot be written."""
    if path is None or path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise CliError(f"{option} {path}: is a directory")
    if not target.parent.exists():
        raise CliError(f"{option} {path}: directory {target.parent} does not exist")


@contextmanager
def output_stream(path: str | None, option: str) -> Iterator[IO[str]]:
    """A text stream to ``path``, or to standard output for ``None`` and ``-``."""
    if path is None or path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        stream = Path(path).open("w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise CliError(f"{option} {path}: cannot write ({exc.strerror or exc})") from None
    with stream:
        yield stream


def write_csv_header(stream: IO[str], header: Sequence[str]) -> None:
    """One CSV header line (names holding a comma or a quote are quoted)."""
    csv.writer(stream, lineterminator="\n").writerow(header)


def write_csv(stream: IO[str], values: Array, fmt: str) -> None:
    """Rows of numbers as CSV lines, each number formatted with ``fmt`` (``"%d"``, ...)."""
    np.savetxt(stream, values, fmt=fmt, delimiter=",")


def save_model(fitted: Any, path: str | None) -> None:
    """Save a fit or a fitted estimator to ``--output`` (when given) and say so."""
    if path is not None:
        model_io.save(fitted, path)
        print(f"model saved to {path}")


def write_text_rows(path: str | None, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A CSV file (or standard output) of text cells under a header (cells holding a comma or a
    quote are quoted)."""
    with output_stream(path, "--output") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_assignments(path: str | None, resp: Array, proba: bool) -> None:
    """``emkit predict``'s output from the posterior probabilities of the components
    (n_samples, n_components): each row's most probable component, or with ``proba`` the
    probabilities under a ``component_0, component_1, ...`` header."""
    with output_stream(path, "--output") as stream:
        if proba:
            write_csv_header(stream, [f"component_{k}" for k in range(resp.shape[1])])
            write_csv(stream, resp, f"%.{CSV_DIGITS}g")
        else:
            write_csv(stream, np.argmax(resp, axis=1)[:, None], "%d")


def score_text(n_samples: int, total: float, n_sequences: int | None = None) -> str:
    """``emkit score``'s output: the samples (and sequences), the mean log-likelihood per
    sample and the total."""
    sequences = [] if n_sequences is None else [f"sequences                  {n_sequences}"]
    return "\n".join(
        [
            f"samples                    {n_samples}",
            *sequences,
            f"mean log-likelihood        {total / n_samples:.6f}",
            f"total log-likelihood       {total:.6f}",
        ]
    )
