"""``emkit fit --family categorical`` on a CSV of text levels (latent class analysis) and a saved
``CategoricalMixture``'s predict / score / sample, end to end through ``emkit.cli.main``: the
printed numbers are the estimator's."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import numpy as np
import pytest

import emkit
from emkit import cli
from emkit.estimators import CategoricalMixture
from emkit.tables import parse_cells
from tests.cli_helpers import (
    PRINTED_ATOL,
    assert_saved_answers,
    fails,
    run_ok,
    value_after,
    with_cell,
)

SEED = 3
N_INIT = 2
K = 2
N_ROWS = 240
COLUMNS = ("smoker", "colour", "answer", "pet")
LEVELS = {
    "smoker": ("yes", "no"),
    "colour": ("red", "green", "blue"),
    "answer": ("yes", "no", "maybe"),
    "pet": ("cat", "dog", "none", "fish"),
}


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A survey of two latent classes with text answers; its cells as a str array."""
    rng = np.random.default_rng(SEED)
    z = rng.integers(0, K, N_ROWS)
    columns = []
    for name in COLUMNS:
        levels = np.array(LEVELS[name])
        probs = rng.dirichlet(np.full(len(levels), 0.5), size=K)
        columns.append([levels[rng.choice(len(levels), p=probs[c])] for c in z])
    cells = np.array(columns).T
    path = tmp_path_factory.mktemp("categorical") / "survey.csv"
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(cells.tolist())
    return path, cells


def library_fit(cells: np.ndarray) -> CategoricalMixture:
    return CategoricalMixture(K, n_init=N_INIT, random_state=SEED).fit(cells)


@pytest.fixture(scope="module")
def fitted(
    survey: tuple[Path, np.ndarray], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """``emkit fit survey.csv --family categorical -k 2 --output model.json``: path, output."""
    path, _ = survey
    model = tmp_path_factory.mktemp("model") / "model.json"
    args = ["fit", path, "--family", "categorical", "-k", K, "--n-init", N_INIT]
    args += ["--seed", SEED, "--output", model, "-q"]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = cli.main([str(a) for a in args])
    assert status == 0
    return model, buffer.getvalue()


def test_fit_prints_the_estimators_log_likelihood(
    survey: tuple[Path, np.ndarray], fitted: tuple[Path, str]
) -> None:
    _, cells = survey
    _, out = fitted
    estimator = library_fit(cells)
    printed = value_after(out, "log-likelihood")
    assert printed == pytest.approx(estimator.result_.log_likelihood, abs=PRINTED_ATOL)
    assert f"{N_ROWS} samples, {len(COLUMNS)} columns of text levels" in out
    # every column by name, with a level of its own in each class and a probability
    for name in COLUMNS:
        row = next(line for line in out.splitlines() if line.strip().startswith(name + " "))
        shown = row.split()[1::2]
        assert len(shown) == K
        assert set(shown) <= set(LEVELS[name])
    weights = next(line for line in out.splitlines() if line.strip().startswith("weight"))
    np.testing.assert_allclose(
        [float(w) for w in weights.split()[1:]], estimator.weights_, atol=1e-4
    )


def test_saved_model_keeps_the_levels_and_predicts_like_the_estimator(
    capsys: pytest.CaptureFixture[str], survey: tuple[Path, np.ndarray], fitted: tuple[Path, str]
) -> None:
    path, cells = survey
    model, _ = fitted
    loaded = emkit.load(model)
    assert isinstance(loaded, CategoricalMixture)
    for d, name in enumerate(COLUMNS):
        assert loaded.categories_[d].tolist() == sorted(LEVELS[name])
    assert_saved_answers(capsys, model, path, library_fit(cells), cells)


def test_predict_finds_columns_by_name(
    capsys: pytest.CaptureFixture[str],
    survey: tuple[Path, np.ndarray],
    fitted: tuple[Path, str],
    tmp_path: Path,
) -> None:
    path, cells = survey
    model, _ = fitted
    order = [3, 1, 0, 2]
    shuffled = tmp_path / "shuffled.csv"
    with shuffled.open("w", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow([COLUMNS[j] for j in order])
        writer.writerows(cells[:, order].tolist())
    assert run_ok(capsys, "predict", model, shuffled) == run_ok(capsys, "predict", model, path)
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("\n".join(",".join(row) for row in [COLUMNS[:3], *cells[:, :3]]) + "\n")
    fails(capsys, "predict", model, fewer, match="has no column 'pet', a column of the model")


def test_unseen_level_names_line_column_and_value(
    capsys: pytest.CaptureFixture[str],
    survey: tuple[Path, np.ndarray],
    fitted: tuple[Path, str],
    tmp_path: Path,
) -> None:
    path, _ = survey
    model, _ = fitted
    bad = with_cell(path, tmp_path / "bad.csv", 6, 2, "purple")
    err = fails(capsys, "predict", model, bad, match="line 6, column 2 ('colour')")
    assert "the level 'purple' was not seen in fit" in err
    assert "blue, green, red" in err


def test_empty_cell_is_refused_with_line_and_column(
    capsys: pytest.CaptureFixture[str], survey: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    path, _ = survey
    bad = with_cell(path, tmp_path / "empty.csv", 9, 3, "")
    err = fails(capsys, "fit", bad, "--family", "categorical", match="line 9, column 3 ('answer')")
    assert "an empty cell is a missing value" in err


def test_sample_prints_known_levels(
    capsys: pytest.CaptureFixture[str], fitted: tuple[Path, str]
) -> None:
    model, _ = fitted
    n = 50
    out = run_ok(capsys, "sample", model, "-n", n, "--seed", 1, "--labels")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == [*COLUMNS, "component"]
    assert len(rows) == n + 1
    for row in rows[1:]:
        for name, level in zip(COLUMNS, row, strict=False):
            assert level in LEVELS[name]
        assert int(row[-1]) in range(K)
    assert run_ok(capsys, "sample", model, "-n", n, "--seed", 1, "--labels") == out


def test_settings_and_options_for_text_levels(
    capsys: pytest.CaptureFixture[str], survey: tuple[Path, np.ndarray]
) -> None:
    path, cells = survey
    out = run_ok(
        capsys, "fit", path, "--family", "categorical", "-k", K, "--seed", SEED, "-q",
        "--family-option", "pseudo_count=0.5",
    )  # fmt: skip
    expected = CategoricalMixture(K, pseudo_count=0.5, random_state=SEED).fit(cells)
    assert "pseudo_count=0.5" in out
    assert value_after(out, "log-likelihood") == pytest.approx(
        expected.result_.log_likelihood, abs=PRINTED_ATOL
    )
    fails(
        capsys, "fit", path, "--family", "categorical", "--family-option", "n_levels=3",
        match="levels of a file of text levels are learned from it",
    )  # fmt: skip
    fails(capsys, "fit", path, "--family", "categorical", "--covariance", "full", match="has none")
    fails(capsys, "fit", path, "--family", "categorical", "--plot", "x.png", match="--plot")


def test_constant_column_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = tmp_path / "constant.csv"
    data.write_text("colour,answer\nred,yes\nblue,yes\nred,yes\n")
    fails(
        capsys, "fit", data, "--family", "categorical",
        match="column 2 ('answer'): the single level 'yes'",
    )  # fmt: skip


def test_numeric_files_keep_the_numeric_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rng = np.random.default_rng(SEED)
    codes = rng.integers(0, 3, size=(60, 2))
    data = tmp_path / "codes.csv"
    data.write_text("a,b\n" + "\n".join(f"{x},{y}" for x, y in codes) + "\n")
    fails(capsys, "fit", data, "--family", "categorical", match="cannot be made without settings")
    model = tmp_path / "codes.json"
    run_ok(
        capsys, "fit", data, "--family", "categorical", "--family-option", "n_levels=3",
        "-o", model, "-q",
    )  # fmt: skip
    assert isinstance(emkit.load(model), emkit.FitResult)


def test_header_rule_for_text_files() -> None:
    with_header = parse_cells("colour,size\nred,S\nblue,S\nred,M\n", "t.csv")
    assert with_header.header
    assert with_header.names == ("colour", "size")
    without = parse_cells("red,S\nblue,M\nred,S\n", "t.csv")
    assert not without.header
    assert without.cells.shape == (3, 2)
