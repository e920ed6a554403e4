"""emEM (emkit.starts.ShortRuns) and the canonical order of components in fit results."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import emkit
from emkit.em import IterationState
from emkit.starts import (
    ORDER_WEIGHT_ATOL,
    ShortRuns,
    canonical_order,
    component_summary,
    run_short_runs,
)
from emkit.stats import take_components

from .plugin_models import StudentTMixture, StudentTParams, student_t_data

#: Seeds of single fits in the success-rate comparison.
N_SEEDS = 16

#: emEM's single fits reach the best known optimum at least this often on the grid problem
#: (measured: 16 of 16), single random-row starts at most this often (measured: 5 of 16).
EMEM_MIN_SUCCESS = 0.9
RANDOM_MAX_SUCCESS = 0.6

#: A fit "reaches" the best known optimum within this many nats per sample (the default tol).
REACHED_NATS = 1e-3

#: A fitted mean of the grid data lies this close to its cluster's centre (sd 0.7, >= 20 rows).
CLUSTER_ATOL = 0.5

#: Fits that follow the same EM path in a different component order agree to rounding.
SAME_PATH_RTOL = 1e-9
SAME_PATH_ATOL = 1e-12


def grid_data() -> np.ndarray:
    """Six unequal clusters on a 3 x 2 grid: random starts often merge two and split one."""
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [4, 0], [8, 0], [0, 4], [4, 4], [8, 4]], dtype=float)
    sizes = [20, 40, 60, 20, 40, 60]
    return np.concatenate([rng.normal(c, 0.7, (n, 2)) for c, n in zip(centers, sizes, strict=True)])


def quiet_fit(model: Any, X: Any, **options: Any) -> emkit.FitResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        return emkit.fit(model, X, **options)


# -- emEM ------------------------------------------------------------------------------------------
def test_emem_reaches_the_best_optimum_more_often_than_single_random_starts() -> None:
    X = grid_data()
    model = emkit.FiniteMixture(emkit.Gaussian("spherical"), 6)
    best = quiet_fit(model, X, init="kmeans", n_init=20, random_state=1).objective / len(X)

    def success(init: Any) -> float:
        reached = [
            quiet_fit(model, X, init=init, random_state=100 + seed).objective / len(X)
            >= best - REACHED_NATS
            for seed in range(N_SEEDS)
        ]
        return float(np.mean(reached))

    emem, single = success("emEM"), success("random_from_data")
    assert emem >= EMEM_MIN_SUCCESS
    assert single <= RANDOM_MAX_SUCCESS
    assert emem > single


def test_short_runs_continue_the_best_and_count_every_iteration() -> None:
    ends = {0: -5.0, 1: -2.0, 2: -3.0, 3: -2.0}  # start index -> objective of its short run

    drawn: list[str] = []

    def draw(method: str, rng: np.random.Generator) -> int:
        drawn.append(method)
        return len(drawn) - 1

    def run(start: int) -> tuple[str, float, int]:
        return f"end of {start}", ends[start], start + 1

    params, n_iter = run_short_runs(
        ShortRuns(n_runs=4, start="kmeans"), draw, run, np.random.default_rng(0)
    )
    assert params == "end of 1"  # the highest objective; the first of equal ones
    assert n_iter == 1 + 2 + 3 + 4
    assert drawn == ["kmeans"] * 4


def test_emem_runs_the_drivers_own_em_iterations() -> None:
    """One short run of 3 iterations from the deterministic hierarchical start, then 5 more:
    the same parameters as 8 iterations from that start."""
    X = grid_data()
    model = emkit.FiniteMixture(emkit.Gaussian("full"), 3)
    settings = ShortRuns(n_runs=1, n_iter=3, start="hierarchical")
    emem = quiet_fit(model, X, init=settings, max_iter=5, tol=0.0, random_state=0)
    plain = quiet_fit(model, X, init="hierarchical", max_iter=8, tol=0.0, random_state=0)
    assert emem.n_start_iter == 3
    assert emem.n_iter == 5
    np.testing.assert_allclose(emem.params.weights, plain.params.weights, rtol=SAME_PATH_RTOL)
    np.testing.assert_allclose(
        emem.params.components.means, plain.params.components.means, rtol=SAME_PATH_RTOL
    )
    assert emem.log_likelihood == pytest.approx(plain.log_likelihood, rel=SAME_PATH_RTOL)


def test_short_runs_do_not_call_the_users_callbacks() -> None:
    states: list[IterationState[Any]] = []
    result = quiet_fit(
        emkit.FiniteMixture(emkit.Gaussian("diag"), 3),
        grid_data(),
        init=ShortRuns(n_runs=4, n_iter=2),
        n_init=2,
        random_state=0,
        callbacks=[states.append],
    )
    assert result.n_start_iter == 2 * 4 * 2
    assert [s.restart for s in states if s.iteration == 0] == [0, 1]


def _family_cases() -> list[tuple[str, Any, np.ndarray]]:
    rng = np.random.default_rng(3)
    counts = np.concatenate([rng.poisson(2.0, (60, 3)), rng.poisson(9.0, (40, 3))])
    binary = np.concatenate([rng.random((60, 6)) < 0.2, rng.random((40, 6)) < 0.8]).astype(
        np.float64
    )
    cases: list[tuple[str, Any, np.ndarray]] = [
        (f"gaussian-{kind}", emkit.FiniteMixture(emkit.Gaussian(kind), 3), grid_data())
        for kind in emkit.COVARIANCE_TYPES
    ]
    cases.append(("poisson", emkit.FiniteMixture(emkit.Poisson(), 2), counts))
    cases.append(("bernoulli", emkit.FiniteMixture(emkit.Bernoulli(), 2), binary))
    cases.append(("student-t plugin", StudentTMixture(3), student_t_data(200, seed=1)[0]))
    return cases


@pytest.mark.parametrize(("name", "model", "X"), _family_cases(), ids=lambda v: str(v))
def test_emem_for_every_family_and_a_plugin_model(name: str, model: Any, X: np.ndarray) -> None:
    settings = ShortRuns(n_runs=3, n_iter=2)
    result = quiet_fit(model, X, init=settings, n_init=2, max_iter=20, random_state=0)
    assert result.n_start_iter == 2 * settings.n_runs * settings.n_iter  # tol=0: every iteration
    assert np.isfinite(result.objective)
    by_name = quiet_fit(model, X, init="emEM", max_iter=20, random_state=0)
    assert by_name.n_start_iter == ShortRuns().n_runs * ShortRuns().n_iter


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"n_runs": 0}, "`ShortRuns.n_runs`"),
        ({"n_iter": 0}, "`ShortRuns.n_iter`"),
        ({"tol": -1.0}, "`ShortRuns.tol`"),
        ({"start": "emEM"}, "`ShortRuns.start`.*'emEM'"),
    ],
)
def test_short_runs_settings_are_checked(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ShortRuns(**options)


def test_short_runs_start_must_be_a_name() -> None:
    with pytest.raises(TypeError, match=r"`ShortRuns\.start`"):
        ShortRuns(start=3)  # type: ignore[arg-type]


# -- canonical order -------------------------------------------------------------------------------
def _gaussian_params(weights: list[float], first: list[float]) -> emkit.MixtureParams:
    k = len(weights)
    means = np.column_stack([first, np.arange(k, dtype=float)])
    return emkit.MixtureParams(
        np.asarray(weights), emkit.GaussianParams(means, np.tile(np.eye(2), (k, 1, 1)))
    )


def test_canonical_order_by_decreasing_weight_then_first_mean_coordinate() -> None:
    model = emkit.FiniteMixture(emkit.Gaussian("full"), 4)
    params = _gaussian_params([0.2, 0.4, 0.1, 0.3], [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(canonical_order(model, params), [1, 3, 0, 2])
    tied = 0.3 + ORDER_WEIGHT_ATOL / 2
    params = _gaussian_params([0.4, tied, 0.3, 0.0], [0.0, 5.0, -1.0, 2.0])
    np.testing.assert_array_equal(canonical_order(model, params), [0, 2, 1, 3])


def test_canonical_order_needs_components() -> None:
    params = _gaussian_params([1.0], [0.0])
    assert canonical_order(emkit.FiniteMixture(emkit.Gaussian("full"), 1), params) is None
    assert canonical_order(StudentTMixture(2), None) is None  # no ComponentSummary capability
    assert component_summary(object(), None) is None


def test_fits_from_permuted_starts_give_identical_params() -> None:
    X = grid_data()
    model = emkit.FiniteMixture(emkit.Gaussian("full"), 4)
    start = model.init_params(X, np.random.default_rng(5), "kmeans")
    permuted = take_components(start, np.array([2, 0, 3, 1]))
    a = quiet_fit(model, X, init=start, order="canonical", tol=1e-6)
    b = quiet_fit(model, X, init=permuted, order="canonical", tol=1e-6)
    for x, y in [
        (a.params.weights, b.params.weights),
        (a.params.components.means, b.params.components.means),
        (a.params.components.covariances, b.params.components.covariances),
    ]:
        np.testing.assert_allclose(x, y, rtol=SAME_PATH_RTOL, atol=SAME_PATH_ATOL)
    assert (np.diff(a.params.weights) <= 0).all()


def test_given_starts_keep_their_order_unless_asked() -> None:
    X = grid_data()
    model = emkit.FiniteMixture(emkit.Gaussian("full"), 3)
    start = model.init_params(X, np.random.default_rng(5), "kmeans")
    start = take_components(start, np.argsort(start.weights))  # increasing weights
    kept = quiet_fit(model, X, init=start, max_iter=3)
    assert (np.diff(kept.params.weights) > 0).all()  # order="auto": the user's components
    ordered = quiet_fit(model, X, init=start, max_iter=3, order="canonical")
    np.testing.assert_allclose(
        ordered.params.weights, np.sort(kept.params.weights)[::-1], rtol=SAME_PATH_RTOL
    )


@pytest.mark.parametrize("schedule", ["batch", "incremental"])
def test_starts_from_data_are_put_in_canonical_order(schedule: str) -> None:
    X = grid_data()
    model = emkit.FiniteMixture(emkit.Gaussian("diag"), 4)
    states: list[IterationState[Any]] = []
    result = quiet_fit(
        model,
        X,
        n_init=3,
        random_state=2,
        schedule=schedule,
        chunk_size=64,
        callbacks=[states.append],
    )
    assert (np.diff(result.params.weights) <= 0).all()
    last = [s for s in states if s.restart == result.restart][-1]
    assert last.params is result.params  # the last state holds the returned parameters
    # The statistics were reordered with the parameters: the objective is that of the params.
    recomputed = emkit.fit(model, X, init=result.params, max_iter=0)
    assert recomputed.log_likelihood == pytest.approx(result.log_likelihood, rel=SAME_PATH_RTOL)


def test_plugin_models_with_a_component_summary_are_ordered() -> None:
    class Summarised(StudentTMixture):
        def component_weights(self, params: StudentTParams) -> np.ndarray:
            return params.weights

        def component_means(self, params: StudentTParams) -> np.ndarray:
            return params.means

    X = student_t_data(200, seed=1)[0]
    result = quiet_fit(Summarised(3), X, n_init=2, random_state=0)
    assert (np.diff(result.params.weights) <= 0).all()


def test_labels_keep_components_tied_to_them() -> None:
    X = grid_data()
    model = emkit.FiniteMixture(emkit.Gaussian("full"), 2)
    halves = np.where(X[:, 1] > 2.0, 0, 1)  # label 0: the upper row of clusters
    labels = np.full(len(X), -1)
    labels[::10] = halves[::10]
    result = quiet_fit(model, X, labels=labels, random_state=0)
    assert result.params.components.means[0, 1] > 2.0 > result.params.components.means[1, 1]
    with pytest.raises(ValueError, match='`order` must not be "canonical" when `labels`'):
        emkit.fit(model, X, labels=labels, order="canonical")


def test_estimators_keep_a_users_start_and_order_others() -> None:
    X = grid_data()
    # The grid's cluster centres, smallest clusters first (the reverse of the canonical order).
    means_init = np.array([[0, 0], [0, 4], [4, 0], [4, 4], [8, 0], [8, 4]], dtype=float)
    given = emkit.GaussianMixture(6, means_init=means_init, random_state=0).fit(X)
    np.testing.assert_allclose(given.means_, means_init, atol=CLUSTER_ATOL)
    assert (np.diff(given.weights_) > 0).any()
    default = emkit.GaussianMixture(6, n_init=2, random_state=0).fit(X)
    assert (np.diff(default.weights_) <= 0).all()
