"""The Categorical family: against scipy, the contract checks, the M-step and latent class
analysis recovery."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import linear_sum_assignment

import emkit
from emkit.families import Categorical, MeanParams
from emkit.testing import check_family

#: log-densities against scipy's multinomial: the same sums of logs, so round-off only.
LOGPMF_ATOL = 1e-12
#: M-step against the closed forms: one division apart.
MSTEP_RTOL = 1e-12
#: Recovered class-conditional probabilities within this many standard errors.
RECOVERY_SIGMAS = 4.0

LEVELS = (2, 3, 4, 2, 3, 4)


def random_probabilities(rng: np.random.Generator, levels: tuple[int, ...], k: int) -> np.ndarray:
    return np.concatenate([rng.dirichlet(np.ones(n), size=k) for n in levels], axis=1)


def random_codes(rng: np.random.Generator, levels: tuple[int, ...], n: int) -> np.ndarray:
    return np.column_stack([rng.integers(0, level, size=n) for level in levels]).astype(float)


def test_log_prob_equals_scipy_multinomial_with_one_trial() -> None:
    rng = np.random.default_rng(1)
    levels = (2, 3, 5)
    family = Categorical(n_levels=levels)
    X = random_codes(rng, levels, 50)
    mean = random_probabilities(rng, levels, 3)
    got = family.log_prob(X, MeanParams(mean))
    starts = np.concatenate(([0], np.cumsum(levels)[:-1]))
    expected = np.zeros((50, 3))
    for k in range(3):
        for d, (start, level) in enumerate(zip(starts, levels, strict=True)):
            onehot = np.eye(level)[X[:, d].astype(int)]
            p = mean[k, start : start + level]
            expected[:, k] += stats.multinomial(1, p).logpmf(onehot)
    np.testing.assert_allclose(got, expected, rtol=0, atol=LOGPMF_ATOL)


def test_sufficient_statistics_are_concatenated_one_hot_codes() -> None:
    family = Categorical(n_levels=(2, 3))
    t = family.sufficient_statistics(np.array([[0.0, 2.0], [1.0, 0.0]]))
    np.testing.assert_array_equal(t, [[1, 0, 0, 0, 1], [0, 1, 1, 0, 0]])
    assert family.n_parameters(4, 2) == 4 * (1 + 2)
    assert Categorical(n_levels=3).n_parameters(2, 5) == 2 * 5 * 2


@pytest.mark.parametrize("n_components", [2, 3])
def test_check_family_passes(n_components: int) -> None:
    rng = np.random.default_rng(0)
    X = random_codes(rng, LEVELS, 300)
    check_family(Categorical(n_levels=LEVELS), X, n_components)
    check_family(Categorical(n_levels=3, pseudo_count=1.0), random_codes(rng, (3,) * 4, 200))


def test_mstep_on_hard_labels_is_the_level_frequencies() -> None:
    rng = np.random.default_rng(2)
    levels = (2, 3, 4)
    X = random_codes(rng, levels, 200)
    labels = rng.integers(0, 2, size=200)
    resp = np.eye(2)[labels]
    counts = resp.sum(axis=0)
    for c in (1e-300, 3.0):
        family = Categorical(n_levels=levels, pseudo_count=c)
        params = family.maximize(family.expected_stats(X, resp, np.zeros(0)), counts)
        starts = np.concatenate(([0], np.cumsum(levels)[:-1]))
        for k in range(2):
            for d, (start, level) in enumerate(zip(starts, levels, strict=True)):
                freq = np.bincount(X[labels == k, d].astype(int), minlength=level)
                expected = (freq + c / level) / (counts[k] + c)
                np.testing.assert_allclose(
                    params.mean[k, start : start + level], expected, rtol=MSTEP_RTOL
                )
        family.check_mean(params.mean)


def test_prior_is_a_dirichlet_in_the_natural_parameters() -> None:
    levels = (2, 4)
    family = Categorical(n_levels=levels, pseudo_count=2.0)
    mean = random_probabilities(np.random.default_rng(3), levels, 2)
    # exp(tau (m0 . eta - A(eta))) = prod_d prod_l p_dl^(tau / L_d)
    expected = 2.0 * (np.sum(np.log(mean[:, :2])) / 2 + np.sum(np.log(mean[:, 2:])) / 4)
    assert family.log_prior(MeanParams(mean)) == pytest.approx(expected, rel=1e-12)


def test_mean_is_the_most_probable_level() -> None:
    family = Categorical(n_levels=(2, 3))
    mean = np.array([[0.2, 0.8, 0.1, 0.2, 0.7], [0.9, 0.1, 0.5, 0.3, 0.2]])
    np.testing.assert_array_equal(family.mean(MeanParams(mean)), [[1, 2], [0, 0]])


def test_sample_frequencies_match_the_probabilities() -> None:
    family = Categorical(n_levels=(2, 3))
    mean = np.array([[0.2, 0.8, 0.1, 0.2, 0.7]])
    X = family.sample(MeanParams(mean), 0, 20000, np.random.default_rng(4))
    family.check_support(X)
    freq = family.sufficient_statistics(X).mean(axis=0)
    np.testing.assert_allclose(freq, mean[0], atol=4 * np.sqrt(0.25 / 20000))


def test_latent_class_analysis_recovers_the_class_conditional_probabilities() -> None:
    rng = np.random.default_rng(5)
    weights = np.array([0.5, 0.3, 0.2])
    # Well separated classes: each favours a different level of every feature.
    truth = np.concatenate(
        [
            np.stack([np.roll(np.r_[0.7, np.full(n - 1, 0.3 / (n - 1))], k) for k in range(3)])
            for n in LEVELS
        ],
        axis=1,
    )
    family = Categorical(n_levels=LEVELS)
    n = 4000
    z = rng.choice(3, size=n, p=weights)
    X = np.empty((n, len(LEVELS)))
    for k in range(3):
        rows = np.flatnonzero(z == k)
        X[rows] = family.sample(MeanParams(truth), k, rows.size, rng)
    result = emkit.fit(emkit.FiniteMixture(family, 3), X, n_init=5, random_state=0)
    fitted = result.params.components.mean
    cost = np.array([[np.abs(fitted[j] - truth[k]).sum() for j in range(3)] for k in range(3)])
    _, match = linear_sum_assignment(cost)
    fitted = fitted[match]
    n_k = weights * n
    se = np.sqrt(truth * (1 - truth) / n_k[:, None])
    assert np.all(np.abs(fitted - truth) <= RECOVERY_SIGMAS * se), np.max(
        np.abs(fitted - truth) / se
    )
    np.testing.assert_allclose(
        np.asarray(result.params.weights)[match], weights, atol=RECOVERY_SIGMAS * 0.5 / np.sqrt(n)
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_levels": 1}, ValueError, r"`n_levels` must be >= 2; got 1"),
        ({"n_levels": 2.5}, TypeError, r"`n_levels` must be an integer; got 2.5"),
        ({"n_levels": (3, 1)}, ValueError, r"`n_levels\[1\]` must be >= 2; got 1"),
        ({"n_levels": ()}, ValueError, r"`n_levels` must name at least one feature"),
        ({"n_levels": 2, "pseudo_count": 0.0}, ValueError, r"`pseudo_count` must be > 0.0"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        Categorical(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "shown"),
    [(3.0, "3.0"), (-1.0, "-1.0"), (0.5, "0.5"), (np.nan, "nan"), (np.inf, "inf")],
)
def test_bad_codes_are_refused(value: float, shown: str) -> None:
    X = np.zeros((4, 2))
    X[2, 1] = value
    with pytest.raises(ValueError, match=rf"found {shown} at row 2, column 1, which has 3 levels"):
        Categorical(n_levels=(2, 3)).check_support(X)


def test_fit_refuses_codes_out_of_range_and_column_mismatch() -> None:
    model = emkit.FiniteMixture(Categorical(n_levels=2), 2)
    with pytest.raises(ValueError, match=r"integer level codes"):
        emkit.fit(model, np.array([[0.0], [1.0], [2.0], [0.0]]), random_state=0)
    with pytest.raises(ValueError, match=r"`n_levels` gives 2 features but the data have 3"):
        Categorical(n_levels=(2, 2)).check_support(np.zeros((4, 3)))


def test_bad_probabilities_are_refused() -> None:
    family = Categorical(n_levels=(2, 3))
    with pytest.raises(ValueError, match=r"must lie in \(0, 1\]; found 0.0 at component 0"):
        family.check_mean(np.array([[0.0, 1.0, 0.2, 0.3, 0.5]]))
    with pytest.raises(ValueError, match=r"component 0, feature 1 sum to 0.75"):
        family.check_mean(np.array([[0.5, 0.5, 0.25, 0.25, 0.25]]))
    family.check_mean(np.array([[0.5, 0.5, 0.2, 0.3, 0.5]]))
