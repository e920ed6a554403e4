"""Running ``emkit.cli.main`` in this process, for the command-line tests of the estimators of
tables (text levels, mixed tables): a command that succeeds, one that fails with one error
line, a printed number, a saved estimator's answers against the library's, and a copy of a
CSV file with one cell changed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emkit import cli

#: The summary and ``score`` print log-likelihoods with 6 decimals: agreement to the last digit.
PRINTED_ATOL = 1e-6
#: ``predict --proba`` writes posteriors with 10 significant digits.
PROBA_ATOL = 1e-9


def run_ok(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    """Run a command that must succeed; its standard output."""
    status = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


def fails(capsys: pytest.CaptureFixture[str], *args: str | Path, match: str) -> str:
    """Run a command that must fail with one ``emkit: error:`` line holding ``match``; the
    standard error."""
    status = cli.main([str(a) for a in args])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith("emkit: error: ")
    assert "Traceback" not in err
    assert match in err, err
    assert len(err.strip().splitlines()) == 1
    return err


def value_after(out: str, label: str) -> float:
    """The number after ``label`` on the first line of ``out`` that starts with it."""
    line = next(line for line in out.splitlines() if line.startswith(label))
    return float(line[len(label) :].split()[0])


def with_cell(source: Path, target: Path, line: int, column: int, cell: str) -> Path:
    """A copy of the CSV file ``source`` at ``target`` with the cell on ``line`` in ``column``
    (both 1-based, as the command line names them) replaced by ``cell``."""
    lines = source.read_text().splitlines()
    row = lines[line - 1].split(",")
    row[column - 1] = cell
    lines[line - 1] = ",".join(row)
    target.write_text("\n".join(lines) + "\n")
    return target


def assert_saved_answers(
    capsys: pytest.CaptureFixture[str], model: Path, data: Path, estimator: Any, X: Any
) -> None:
    """``emkit predict`` (labels and ``--proba``) and ``emkit score`` of the saved ``model`` on
    the file ``data`` give the answers of the library's ``estimator`` on ``X`` (the same rows)."""
    labels = np.loadtxt(io.StringIO(run_ok(capsys, "predict", model, data)), dtype=int)
    np.testing.assert_array_equal(labels, estimator.predict(X))
    proba = np.loadtxt(
        io.StringIO(run_ok(capsys, "predict", model, data, "--proba")), delimiter=",", skiprows=1
    )
    np.testing.assert_allclose(proba, estimator.predict_proba(X), atol=PROBA_ATOL)
    total = value_after(run_ok(capsys, "score", model, data), "total log-likelihood")
    assert total == pytest.approx(float(estimator.score_samples(X).sum()), abs=PRINTED_ATOL)
