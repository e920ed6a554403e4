"""The restart report: FitResult.restarts_at_best, collapsed_restarts and n_start_iter; their
place in the estimators, the command line's fit summary and saved model files."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import emkit
from emkit import cli
from emkit.cli.output import restart_report
from emkit.em import RESTART_BEST_ATOL, FitResult, Run
from emkit.io import from_dict, to_dict
from emkit.mixture import COLLAPSE_COUNT
from emkit.starts import ShortRuns

# Per-sample log-likelihoods of two fits stopped by different rules at one optimum.
SAME_OPTIMUM_ATOL = 1e-4

#: Rows of the constructed fits (the objectives below are per row).
N_ROWS = 200.0


def _params(weights: list[float]) -> emkit.MixtureParams:
    k = len(weights)
    return emkit.MixtureParams(
        np.asarray(weights),
        emkit.GaussianParams(np.arange(2.0 * k).reshape(k, 2), np.tile(np.eye(2), (k, 1, 1))),
    )


def _run(objective_per_row: float, weights: list[float] | None = None) -> Run[Any]:
    return Run(
        params=_params(weights or [0.6, 0.4]),
        log_likelihood=objective_per_row * N_ROWS,
        log_prior=0.0,
        history=np.array([objective_per_row * N_ROWS]),
        n_iter=0,
        converged=True,
    )


def _result(runs: list[Run[Any]]) -> FitResult[Any]:
    model = emkit.FiniteMixture(emkit.Gaussian("full"), len(runs[0].params.weights))
    return FitResult.best_of(model, runs, N_ROWS, 2)


def test_restarts_at_best_counts_runs_within_the_tolerance() -> None:
    best = -2.0
    objectives = [
        best - 2 * RESTART_BEST_ATOL,  # another optimum
        best,
        best - RESTART_BEST_ATOL / 2,  # the same optimum, stopped a little short
        best - RESTART_BEST_ATOL,  # on the boundary: counts
        best - 1.01 * RESTART_BEST_ATOL,
        best - 1.0,
    ]
    result = _result([_run(o) for o in objectives])
    assert result.restart == 1
    assert result.restarts_at_best == 3
    assert result.restarts_within(0.0) == 1
    assert result.restarts_within(3 * RESTART_BEST_ATOL) == 5
    assert result.restarts_within(10.0) == len(objectives)
    with pytest.raises(ValueError, match="`atol`"):
        result.restarts_within(-1.0)


def test_a_single_run_reached_the_best() -> None:
    assert _result([_run(-3.0)]).restarts_at_best == 1


def test_collapsed_runs_are_reported_not_discarded() -> None:
    tiny = 0.5 * COLLAPSE_COUNT / N_ROWS  # half a row's weight
    enough = 1.5 * COLLAPSE_COUNT / N_ROWS
    runs = [
        _run(-2.0, [1.0 - tiny, tiny]),
        _run(-2.5, [1.0 - enough, enough]),
        _run(-1.0, [1.0 - tiny, tiny]),  # the best run collapsed too: still the best
    ]
    result = _result(runs)
    assert result.collapsed_restarts == (0, 2)
    assert result.restart == 2
    assert _result([_run(-2.0)]).collapsed_restarts == ()


def test_a_fit_that_collapses_a_component_reports_it() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(0.0, 1.0, (100, 2))
    model = emkit.FiniteMixture(emkit.Gaussian("full"), 2)
    far = emkit.MixtureParams(
        np.array([0.5, 0.5]),
        emkit.GaussianParams(np.array([[0.0, 0.0], [1e3, 1e3]]), np.tile(np.eye(2), (2, 1, 1))),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
        result = emkit.fit(model, X, init=far, max_iter=5)
    assert result.collapsed_restarts == (0,)
    # Put in canonical order, the collapsed component moves last, and so do its statistics:
    # the driver's diagnosis names it there.
    starts_far_first = attrs.evolve(
        far,
        weights=far.weights[::-1].copy(),
        components=emkit.GaussianParams(
            far.components.means[::-1].copy(), far.components.covariances
        ),
    )
    with pytest.warns(
        emkit.DegenerateComponentWarning, match=r"component\(s\) \[1\] hold fewer than"
    ):
        ordered = emkit.fit(model, X, init=starts_far_first, max_iter=5, order="canonical")
    assert ordered.params.components.means[1, 0] > ordered.params.components.means[0, 0]
    healthy = emkit.fit(model, X, n_init=2, random_state=0)
    assert healthy.collapsed_restarts == ()


def test_estimators_expose_the_report() -> None:
    X = emkit.datasets.load_faithful().data
    gm = emkit.GaussianMixture(3, n_init=4, random_state=0).fit(X)
    assert gm.restarts_at_best_ == gm.result_.restarts_at_best
    assert 1 <= gm.restarts_at_best_ <= 4
    assert gm.collapsed_restarts_ == gm.result_.collapsed_restarts


# -- the command line ------------------------------------------------------------------------------
def test_fit_summary_lines() -> None:
    result = _result([_run(-2.0), _run(-2.0), _run(-2.5, [1.0 - 1e-4, 1e-4])])
    result = attrs.evolve(result, n_start_iter=40)
    assert restart_report(result, 3) == [
        f"restarts        reached best in 2 of 3 starts (within {RESTART_BEST_ATOL:g} per sample)",
        "collapsed       run(s) 3 ended with a component of less than one row's weight",
        "start cost      40 EM iterations in short runs (emEM)",
    ]
    assert restart_report(_result([_run(-2.0)]), 1) == []


def test_fit_command_prints_how_many_starts_reached_the_best(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "faithful.csv"
    X = emkit.datasets.load_faithful().data
    np.savetxt(data, X, delimiter=",", header="eruptions,waiting", comments="")
    assert cli.main(["fit", str(data), "-k", "3", "--n-init", "5", "--seed", "0", "-q"]) == 0
    out = capsys.readouterr().out
    result = emkit.fit(emkit.FiniteMixture(emkit.Gaussian("full"), 3), X, n_init=5, random_state=0)
    expected = f"reached best in {result.restarts_at_best} of 5 starts"
    assert expected in out


# -- saved files -----------------------------------------------------------------------------------
def test_the_report_survives_save_and_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(0.0, 1.0, (150, 2))
    model = emkit.FiniteMixture(emkit.Gaussian("full"), 2)
    result = emkit.fit(model, X, init=ShortRuns(n_runs=2, n_iter=3), n_init=3, random_state=0)
    result = attrs.evolve(result, collapsed_restarts=(0, 2))
    path = tmp_path / "fit.json"
    emkit.save(result, path)
    loaded = emkit.load(path)
    assert loaded.collapsed_restarts == (0, 2)
    assert loaded.n_start_iter == result.n_start_iter == 3 * 2 * 3
    assert loaded.restarts_at_best == result.restarts_at_best


def test_files_without_the_report_still_load() -> None:
    X = np.random.default_rng(1).normal(0.0, 1.0, (80, 2))
    result = emkit.fit(emkit.FiniteMixture(emkit.Gaussian("diag"), 2), X, n_init=2)
    doc = to_dict(result)
    del doc["fit"]["collapsed_restarts"], doc["fit"]["n_start_iter"]
    loaded = from_dict(doc)
    assert loaded.collapsed_restarts == ()
    assert loaded.n_start_iter == 0
    doc["fit"]["collapsed_restarts"] = [5]
    with pytest.raises(ValueError, match=r"`fit\.collapsed_restarts` must index"):
        from_dict(doc)


@pytest.mark.parametrize("init", ["emEM", "hierarchical"])
def test_every_start_is_available_to_estimators_and_the_command_line(
    init: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    X = emkit.datasets.load_faithful().data
    gm = emkit.GaussianMixture(n_components=2, init_params=init, random_state=0).fit(X)
    reference = emkit.fit(emkit.FiniteMixture(emkit.Gaussian("full"), 2), X, n_init=10)
    # The estimators stop by scikit-learn's rule, emkit.fit by its own: the same optimum, not
    # the same last digits.
    assert gm.converged_
    assert gm.lower_bound_ == pytest.approx(reference.mean_log_likelihood, abs=SAME_OPTIMUM_ATOL)
    data = tmp_path / "faithful.csv"
    np.savetxt(data, X, delimiter=",")
    assert cli.main(["fit", str(data), "-k", "2", "--init", init, "--seed", "0", "-q"]) == 0
    with pytest.raises(ValueError, match=r"`init_params` must be one of .*'emEM'; got 'emem'"):
        emkit.GaussianMixture(n_components=2, init_params="emem").fit(X)
