"""emkit.plotting.plot_hmm_states: what it draws, checked on the artists (no pixels)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pytest

import emkit
from emkit import plotting
from emkit.hmm.model import HMMParams

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402

K = 3
LENGTHS = np.array([40, 25, 55])

#: Offsets of the drawn points are the data itself.
OFFSET_ATOL = 1e-12

#: Stacked posteriors reach 1 at the top (rows of gamma sum to 1).
STACK_TOP_ATOL = 1e-9


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _params() -> HMMParams[emkit.GaussianParams]:
    return HMMParams(
        startprob=np.array([0.6, 0.3, 0.1]),
        transmat=np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.05, 0.15, 0.8]]),
        emission=emkit.GaussianParams(
            np.array([[0.0, 0.0], [4.0, 1.0], [-3.0, 5.0]]), np.stack([np.eye(2) * 0.5] * K)
        ),
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[emkit.FitResult, np.ndarray]:
    model = emkit.HiddenMarkovModel(emkit.Gaussian("diag"), K)
    X, _ = model.sample(_params(), int(LENGTHS.sum()), np.random.default_rng(0), LENGTHS)
    return emkit.fit(model, X, lengths=LENGTHS, random_state=0), X


def _state_points(ax: object) -> list[PathCollection]:
    return [c for c in ax.collections if isinstance(c, PathCollection)]  # type: ignore[attr-defined]


def test_two_panels_one_colour_and_mean_line_per_state(
    fitted: tuple[emkit.FitResult, np.ndarray],
) -> None:
    result, X = fitted
    ax, posterior_ax = plotting.plot_hmm_states(result, X, LENGTHS, feature_name="level")
    assert posterior_ax is not None
    states = result.model.predict(X, result.params, LENGTHS)
    points = _state_points(ax)
    drawn = [int(str(c.get_label()).split()[1].rstrip(",")) for c in points]
    assert drawn == sorted(np.unique(states).tolist())
    for collection, state in zip(points, drawn, strict=True):
        offsets = np.asarray(collection.get_offsets())
        np.testing.assert_allclose(offsets[:, 1], X[states == state, 0], atol=OFFSET_ATOL)
        np.testing.assert_array_equal(offsets[:, 0], np.flatnonzero(states == state))
    means = result.model.component_means(result.params)
    mean_lines = {line.get_gid(): line for line in ax.lines if line.get_gid()}
    assert sorted(mean_lines) == [f"state-mean-{k}" for k in range(K)]
    for k in range(K):
        assert np.asarray(mean_lines[f"state-mean-{k}"].get_ydata())[0] == means[k, 0]
    # One dotted boundary per pair of neighbouring sequences, on both panels.
    boundaries = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(boundaries) == len(LENGTHS) - 1
    assert ax.get_ylabel() == "level"
    assert posterior_ax.get_xlabel().startswith("time step")
    # The posteriors: one stacked area per state, filling 0..1.
    areas = [c for c in posterior_ax.collections if isinstance(c, PolyCollection)]
    assert len(areas) == K
    assert posterior_ax.get_ylim() == (0.0, 1.0)
    assert posterior_ax.get_ylabel() == "state posterior"
    top = np.asarray(areas[-1].get_paths()[0].vertices)[:, 1].max()
    assert top == pytest.approx(1.0, abs=STACK_TOP_ATOL)
    labels = [t.get_text() for t in posterior_ax.get_legend().get_texts()]
    assert labels == [f"state {k}" for k in range(K)]


def test_given_axes_feature_time_and_params_with_model(
    fitted: tuple[emkit.FitResult, np.ndarray],
) -> None:
    result, X = fitted
    fig = plt.figure()
    ax = fig.add_subplot()
    time = 1900.0 + np.arange(X.shape[0])
    drawn, posterior_ax = plotting.plot_hmm_states(
        result.params, X, LENGTHS, model=result.model, ax=ax, feature=1, time=time
    )
    assert drawn is ax
    assert posterior_ax is None  # only the data panel was asked for
    assert ax.get_xlabel() == "time"
    assert ax.get_ylabel() == "feature 1"
    offsets = np.vstack([np.asarray(c.get_offsets()) for c in _state_points(ax)])
    assert offsets[:, 0].min() == time[0]
    means = result.model.component_means(result.params)
    ys = sorted(np.asarray(line.get_ydata())[0] for line in ax.lines if line.get_gid())
    np.testing.assert_allclose(ys, np.sort(means[:, 1]))


def test_counts_one_sequence_draws_steps() -> None:
    counts = emkit.datasets.load_earthquakes().data
    result = emkit.fit(emkit.HiddenMarkovModel(emkit.Poisson(), 2), counts, random_state=0)
    ax, _ = plotting.plot_hmm_states(result, counts)
    trace = [line for line in ax.lines if not line.get_gid() and line.get_linestyle() == "-"]
    assert len(trace) == 1
    assert trace[0].get_drawstyle() == "steps-mid"
    assert not [line for line in ax.lines if line.get_linestyle() == ":"]  # one sequence


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"feature": 2}, ValueError, "`feature` must be a column index in [0, 2); got 2"),
        ({"lengths": [10, 10]}, ValueError, "`lengths` must be positive sequence sizes"),
        ({"time": np.arange(5)}, ValueError, "`time` must have one value per row of X"),
    ],
)
def test_bad_arguments_are_named(
    fitted: tuple[emkit.FitResult, np.ndarray],
    kwargs: dict[str, object],
    error: type[Exception],
    match: str,
) -> None:
    result, X = fitted
    with pytest.raises(error, match=re.escape(match)):
        plotting.plot_hmm_states(result, X, **kwargs)  # type: ignore[arg-type]


def test_wrong_kinds_of_fit_are_refused(fitted: tuple[emkit.FitResult, np.ndarray]) -> None:
    result, X = fitted
    mixture = emkit.fit(emkit.FiniteMixture(emkit.Gaussian(), 2), X, random_state=0)
    with pytest.raises(TypeError, match="the fit is of a FiniteMixture"):
        plotting.plot_hmm_states(mixture, X)
    with pytest.raises(TypeError, match="`model` \\(a HiddenMarkovModel\\) is required"):
        plotting.plot_hmm_states(result.params, X)
