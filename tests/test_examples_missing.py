"""The incomplete-data examples: their data generators, and the statements docs/incomplete-data.md
makes from runs too slow for a checked ``Output`` block (50 random removals from Old Faithful).

The page shows the last lines that ``python examples/faithful_missing.py`` prints; the test
recomputes them and requires the page to show exactly that text, then checks each statement the
page draws from them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "incomplete-data.md"
REPEAT_TITLE = "python examples/faithful_missing.py (last lines)"

# Removals the page summarises, and the thresholds of its statements.
N_REMOVALS = 50
# "Off by 1.6 times as much": the ratio of mean errors, drop rows over exact, as printed.
DROP_OVER_EXACT_AT_LEAST = 1.5
# "Its smallest error in the means is more than five times the exact fit's largest."
MEAN_IMPUTE_OVER_EXACT_WORST = 5.0
# The exact fit has the closest means in at least this share of the removals (page: 43 of 50).
EXACT_CLOSEST_SHARE = 0.8
# Empirical answer frequencies of a large simulated survey against the design.
FREQUENCY_ATOL = 0.02
LARGE_SURVEY = 60_000
# The blank share of the survey against its target.
BLANK_ATOL = 0.01
# Removals drawn to check that every cell is equally likely to go, and how far the missing
# share of the high and the low waiting times may differ (each share is a mean of about 136
# cells of 200 draws: its standard error is about 0.003).
MCAR_DRAWS = 200
MCAR_SHARE_ATOL = 0.02
# Draws of the mixed table besides the page's own (0) on which BIC must choose more than two
# components with a diagonal Gaussian block and exactly the two groups with a full one.
OTHER_TABLE_SEEDS = (1, 2, 3)
N_GROUPS = 2
# Survey seeds besides the page's own (0) on which BIC must pick the true number of classes.
OTHER_SURVEY_SEEDS = (1, 2)


def _load(name: str) -> ModuleType:
    path = ROOT / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"examples_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def faithful() -> ModuleType:
    return _load("faithful_missing")


@pytest.fixture(scope="module")
def lca() -> ModuleType:
    return _load("survey_lca")


@pytest.fixture(scope="module")
def mixed() -> ModuleType:
    pytest.importorskip("pandas")
    return _load("mixed_table")


@pytest.fixture(scope="module")
def removals(faithful: ModuleType) -> dict[str, np.ndarray]:
    return faithful.repeat(N_REMOVALS)


# -- the removal ---------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 60),
    d=st.integers(2, 6),
    share=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_removal_takes_the_fraction_and_keeps_a_value_in_every_row(
    faithful: ModuleType, n: int, d: int, share: float, seed: int
) -> None:
    # The largest fraction that leaves one value per row is (d - 1) / d.
    fraction = share * (d - 1) / d
    X = np.random.default_rng(seed).standard_normal((n, d))
    X_missing = faithful.remove_at_random(X, fraction, np.random.default_rng(seed))
    missing = np.isnan(X_missing)
    assert missing.sum() == round(fraction * n * d)
    assert not missing.all(axis=1).any()
    np.testing.assert_array_equal(X_missing[~missing], X[~missing])


def test_removal_is_completely_at_random(faithful: ModuleType) -> None:
    # Every value not protected as its row's last one is equally likely to go: over many
    # removals each cell is missing about equally often, whatever its value.
    X = faithful.faithful_standardised()
    counts = sum(
        np.isnan(faithful.remove_at_random(X, 0.3, np.random.default_rng(seed)))
        for seed in range(MCAR_DRAWS)
    )
    share = counts / MCAR_DRAWS
    # Every removal takes round(0.3 * n * d) values, so the mean share is exact.
    assert share.mean() == pytest.approx(round(0.3 * X.size) / X.size)
    high = X[:, 1] > np.median(X[:, 1])
    assert share[high, 1].mean() == pytest.approx(share[~high, 1].mean(), abs=MCAR_SHARE_ATOL)


# -- the 50 removals the page summarises ---------------------------------------------------------
def _shown_block(title: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(r'```text title="' + re.escape(title) + r'"\n(.*?)\n```', text, re.DOTALL)
    assert match is not None, f"{PAGE.name} has no text block titled {title!r}"
    return match.group(1)


def test_page_shows_what_the_example_prints(
    faithful: ModuleType, removals: dict[str, np.ndarray]
) -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        faithful.print_repeat(removals)
    assert printed.getvalue().rstrip() == _shown_block(REPEAT_TITLE).rstrip()


def test_exact_fit_is_closest_and_drop_rows_loses_efficiency(
    faithful: ModuleType, removals: dict[str, np.ndarray]
) -> None:
    exact, drop, mean = (removals[name] for name in faithful.METHODS)
    # Mean errors (means, log-determinants): drop rows off by clearly more than exact.
    ratio = drop[:, :2].mean(axis=0) / exact[:, :2].mean(axis=0)
    assert (ratio > DROP_OVER_EXACT_AT_LEAST).all(), ratio
    errors = np.column_stack([exact[:, 0], drop[:, 0], mean[:, 0]])
    assert np.mean(errors.argmin(axis=1) == 0) >= EXACT_CLOSEST_SHARE


def test_mean_imputation_is_far_off_and_inflates_every_time(
    faithful: ModuleType, removals: dict[str, np.ndarray]
) -> None:
    exact, mean = removals[faithful.METHODS[0]], removals[faithful.METHODS[2]]
    assert mean[:, 0].min() > MEAN_IMPUTE_OVER_EXACT_WORST * exact[:, 0].max()
    # A positive log-determinant shift: wider components than the complete-data fit's.
    assert (mean[:, 2] > 0).all()


def test_distance_is_zero_to_itself_and_ignores_labels(faithful: ModuleType) -> None:
    fit = faithful.fit_gaussian(faithful.faithful_standardised())
    np.testing.assert_array_equal(faithful.distance(fit, fit), np.zeros(3))
    swapped = type(fit)(**fit.get_params())
    swapped.means_, swapped.covariances_ = fit.means_[::-1], fit.covariances_[::-1]
    np.testing.assert_array_equal(faithful.distance(swapped, fit), np.zeros(3))


# -- the survey ----------------------------------------------------------------------------------
def test_survey_answers_follow_the_design(lca: ModuleType) -> None:
    answers, complete, classes = lca.survey(n=LARGE_SURVEY, blank=0.1, seed=5)
    assert np.equal(answers, None).mean() == pytest.approx(0.1, abs=BLANK_ATOL)
    assert not np.equal(answers, None).all(axis=1).any()
    given_answers = ~np.equal(answers, None)
    np.testing.assert_array_equal(answers[given_answers], complete[given_answers])
    for k in range(len(lca.CLASSES)):
        rows = complete[classes == k]
        frequencies = np.stack([(rows == answer).mean(axis=0) for answer in lca.ANSWERS], axis=1)
        np.testing.assert_allclose(frequencies, lca.DESIGN[k], atol=FREQUENCY_ATOL)


@pytest.mark.parametrize("seed", OTHER_SURVEY_SEEDS)
def test_bic_picks_the_true_number_of_classes(lca: ModuleType, seed: int) -> None:
    answers, _, _ = lca.survey(seed=seed)
    bic = [lca.fit_classes(answers, k).bic(answers) for k in range(1, 6)]
    assert int(np.argmin(bic)) + 1 == len(lca.CLASSES)


# -- the mixed table -----------------------------------------------------------------------------
def test_mixed_table_has_the_documented_dtypes_and_blanks(mixed: ModuleType) -> None:
    table, group = mixed.patients()
    assert {column: str(dtype) for column, dtype in table.dtypes.items()} == {
        "height_cm": "float64",
        "weight_kg": "float64",
        "smoker": "boolean",
        "visits": "Int64",
        "region": "category",
    }
    blanks = table.isna().to_numpy()
    assert blanks.mean() == pytest.approx(0.1, abs=BLANK_ATOL)
    assert not blanks.all(axis=1).any()
    assert set(np.unique(group)) == set(range(N_GROUPS))


@pytest.mark.parametrize("seed", OTHER_TABLE_SEEDS)
def test_local_dependence_inflates_k_and_a_full_block_removes_it(
    mixed: ModuleType, seed: int
) -> None:
    table, _ = mixed.patients(seed=seed)
    chosen = []
    for spec in (None, mixed.FULL_BLOCK):
        bic = {k: fit.bic(table) for k, fit in mixed.fits_by_k(table, spec).items()}
        chosen.append(min(bic, key=bic.__getitem__))
    assert chosen[0] > N_GROUPS
    assert chosen[1] == N_GROUPS
