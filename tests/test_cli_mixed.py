"""``emkit fit table.csv --family auto`` (and ``--family COL=FAMILY,...``) on a mixed table, and a
saved MixedMixture's predict / score / sample, end to end through ``emkit.cli.main``: the choice
of every column is printed, and every printed number is the estimator's. Also ``--missing
marginalise`` on the other paths of ``emkit fit``, ``predict`` and ``score``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import emkit
from emkit import cli
from emkit.cli.levels import cells_family
from emkit.estimators.mixed import MixedMixture
from emkit.families.canonical import MeanStats
from emkit.families.product import ProductStats
from emkit.stats import add
from tests.cli_helpers import (
    PRINTED_ATOL,
    assert_saved_answers,
    fails,
    run_ok,
    value_after,
    with_cell,
)

#: BIC and AIC are printed with 4 decimals.
CRITERION_ATOL = 1e-4

SEED = 3
K = 2
N_ROWS = 300
COLUMNS = ("height", "smoker", "visits", "region")
AUTO = {"height": "gaussian", "smoker": "bernoulli", "visits": "poisson", "region": "categorical"}


def write_survey(path: Path, *, holes: bool = False) -> Path:
    """A table of two groups: a measurement, a 0/1 answer, a count and a word per row; with
    ``holes`` some cells empty or NA."""
    rng = np.random.default_rng(SEED)
    z = rng.integers(0, K, N_ROWS)
    rows = []
    for i in range(N_ROWS):
        height = f"{rng.normal(160.0 + 15.0 * z[i], 6.0):.1f}"
        smoker = str(int(rng.random() < 0.2 + 0.5 * z[i]))
        visits = str(rng.poisson(1.0 + 4.0 * z[i]))
        region = ("north", "south", "east")[
            rng.choice(3, p=(0.6, 0.2, 0.2) if z[i] else (0.2, 0.6, 0.2))
        ]
        if holes and i % 17 == 3:
            height = ""
        if holes and i % 23 == 5:
            region = "NA"
        if holes and i % 29 == 7:
            visits = "nan"
        rows.append([height, smoker, visits, region])
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_survey(tmp_path_factory.mktemp("mixed") / "survey.csv")


def frame_of(path: Path) -> pd.DataFrame:
    """The file as the library reads it: floats, 0/1 and counts as integers, words as text."""
    frame = pd.read_csv(path, keep_default_na=False, na_values=["", "NA", "nan"])
    frame["smoker"] = frame["smoker"].astype("Int64")
    frame["visits"] = frame["visits"].astype("Int64")
    frame["region"] = frame["region"].astype(object).where(frame["region"].notna(), None)
    return frame


def library_fit(path: Path, families: dict[int, str], missing: str = "error") -> MixedMixture:
    estimator = MixedMixture(K, column_families=families, random_state=SEED, missing=missing)
    return estimator.fit(frame_of(path))


def printed_choice(out: str) -> dict[str, tuple[str, str]]:
    """The table under 'family of every column:': column -> (family, chosen)."""
    lines = out.splitlines()
    start = lines.index("family of every column:") + 2
    choice = {}
    for line in lines[start:]:
        if not line.strip() or line.startswith("auto:"):
            break
        name, family, chosen = line.split()
        choice[name] = (family, chosen)
    return choice


def _tuple_trees() -> bool:
    one = ProductStats((MeanStats(np.ones(1)),))
    return bool(np.array_equal(add(one, one).parts[0].sum_t, [2.0]))


needs_saving = pytest.mark.skipif(
    not _tuple_trees(),
    reason="a Product mixture cannot be saved until emkit.stats / emkit.io walk tuple fields",
)


# -- the rule ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cells", "family"),
    [
        (["1.5", "2", "NA"], "gaussian"),
        (["1e3", "4"], "gaussian"),
        (["0", "1", "", "1"], "bernoulli"),
        (["True", "false", "FALSE"], "bernoulli"),
        (["0", "3", "12"], "poisson"),
        (["-2", "3"], "gaussian"),
        (["yes", "no"], "categorical"),
        (["red", "1"], "categorical"),
    ],
)
def test_the_auto_rule(cells: list[str], family: str) -> None:
    assert cells_family(np.array(cells), "column 1") == family


# -- fit ---------------------------------------------------------------------------------------
def test_fit_auto_prints_the_choice_and_the_estimators_numbers(
    capsys: pytest.CaptureFixture[str], survey: Path
) -> None:
    out = run_ok(capsys, "fit", survey, "--family", "auto", "-k", K, "--seed", SEED, "-q")
    assert printed_choice(out) == {name: (family, "auto") for name, family in AUTO.items()}
    assert "auto: numbers with a decimal point" in out
    estimator = library_fit(survey, dict(enumerate(AUTO.values())))
    result = estimator.result_
    assert value_after(out, "log-likelihood") == pytest.approx(
        result.log_likelihood, abs=PRINTED_ATOL
    )
    X = frame_of(survey)
    assert value_after(out, "BIC") == pytest.approx(estimator.bic(X), abs=CRITERION_ATOL)
    assert value_after(out, "AIC") == pytest.approx(estimator.aic(X), abs=CRITERION_ATOL)
    assert estimator.summary() in out
    assert f"data: {survey} ({N_ROWS} samples, 4 columns)" in out


def test_fit_with_families_named_per_column(
    capsys: pytest.CaptureFixture[str], survey: Path
) -> None:
    spec = "auto,visits=gaussian,1=categorical"
    out = run_ok(capsys, "fit", survey, "--family", spec, "-k", K, "--seed", SEED, "-q")
    assert printed_choice(out) == {
        "height": ("gaussian", "auto"),
        "smoker": ("categorical", "given"),
        "visits": ("gaussian", "given"),
        "region": ("categorical", "auto"),
    }
    families = {0: "gaussian", 1: "categorical", 2: "gaussian", 3: "categorical"}
    estimator = library_fit(survey, families)
    assert value_after(out, "log-likelihood") == pytest.approx(
        estimator.result_.log_likelihood, abs=PRINTED_ATOL
    )
    every = "height=gaussian,smoker=bernoulli,visits=poisson,region=categorical"
    out = run_ok(capsys, "fit", survey, "--family", every, "-k", K, "--seed", SEED, "-q")
    assert printed_choice(out) == {name: (family, "given") for name, family in AUTO.items()}
    assert "auto:" not in out


def test_missing_cells_need_marginalise(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write_survey(tmp_path / "holes.csv", holes=True)
    fails(
        capsys,
        "fit",
        path,
        "--family",
        "auto",
        match="line 5, column 1 ('height'): an empty cell is a missing value; pass --missing "
        "marginalise",
    )
    if not getattr(emkit.Gaussian(), "handles_missing", False):
        pytest.skip("the Gaussian family does not handle missing values yet")
    args = ["fit", path, "--family", "auto", "-k", K, "--seed", SEED, "-q"]
    out = run_ok(capsys, *args, "--missing", "marginalise")
    n_missing = (
        sum(1 for i in range(N_ROWS) if i % 17 == 3)
        + sum(1 for i in range(N_ROWS) if i % 23 == 5)
        + sum(1 for i in range(N_ROWS) if i % 29 == 7)
    )
    assert f"{n_missing} missing cells, marginalised" in out
    estimator = library_fit(path, dict(enumerate(AUTO.values())), missing="marginalise")
    assert value_after(out, "log-likelihood") == pytest.approx(
        estimator.result_.log_likelihood, abs=PRINTED_ATOL
    )


def test_auto_on_a_bundled_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_ok(capsys, "fit", "faithful", "--family", "auto", "-k", K, "-q")
    # eruptions in minutes with decimals; waiting times in whole minutes: counts
    assert printed_choice(out) == {
        "eruptions": ("gaussian", "auto"),
        "waiting": ("poisson", "auto"),
    }


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--family", "auto,weight=gaussian"], "names the column 'weight', which"),
        (["--family", "height=gaussian,smoker=bernoulli"], "names no family for column(s) visits"),
        (["--family", "auto,height=gaussian,0=poisson"], "column 'height' is named twice"),
        (["--family", "auto,region=gaussian"], "line 2, column 4 ('region'): 'north' is not a"),
        (["--family", "auto", "--model", "hmm"], "applies to a mixture, not to --model hmm"),
        (["--family", "auto", "--plot", "x.png"], "--plot does not apply to a mixed table"),
        (["--family", "auto", "--family-option", "n_levels=3"], "a mixed table takes"),
        (["--family", "auto,height=poisson"], "holds whole counts"),
        (["--family", "product"], "a family per column is given as --family auto"),
    ],
)
def test_fit_errors(
    capsys: pytest.CaptureFixture[str], survey: Path, args: list[str], match: str
) -> None:
    fails(capsys, "fit", survey, *args, "-q", match=match)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("auto,height=normal", "'normal' for column 'height' is not one of gaussian, bernoulli"),
        ("auto,height", "'height' is neither 'auto' nor COLUMN=FAMILY"),
        ("gausian", "unknown family 'gausian'; registered:"),
    ],
)
def test_bad_family_lists_are_usage_errors(
    capsys: pytest.CaptureFixture[str], survey: Path, spec: str, match: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["fit", str(survey), "--family", spec])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith("emkit: error: argument --family:")
    assert match in err, err


def test_select_refuses_a_family_per_column(
    capsys: pytest.CaptureFixture[str], survey: Path
) -> None:
    fails(capsys, "select", survey, "--family", "auto", match="applies to 'emkit fit'")


def test_a_negative_count_names_its_line(
    capsys: pytest.CaptureFixture[str], survey: Path, tmp_path: Path
) -> None:
    bad = with_cell(survey, tmp_path / "negative.csv", 8, 3, "-4")
    err = fails(
        capsys, "fit", bad, "--family", "auto,visits=poisson", match="holds the negative value -4"
    )
    assert "on line 8" in err


# -- a saved model -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved(survey: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not _tuple_trees():
        pytest.skip("a Product mixture cannot be saved yet")
    model = tmp_path_factory.mktemp("model") / "mixed.json"
    args = ["fit", survey, "--family", "auto", "-k", K, "--seed", SEED, "-o", model, "-q"]
    assert cli.main([str(a) for a in args]) == 0
    return model


@needs_saving
def test_saved_model_predicts_and_scores_like_the_estimator(
    capsys: pytest.CaptureFixture[str], survey: Path, saved: Path
) -> None:
    capsys.readouterr()
    loaded = emkit.load(saved)
    assert isinstance(loaded, MixedMixture)
    assert loaded.column_families_ == AUTO
    estimator = library_fit(survey, dict(enumerate(AUTO.values())))
    assert_saved_answers(capsys, saved, survey, estimator, frame_of(survey))


@needs_saving
def test_saved_model_finds_columns_by_name_and_names_unseen_levels(
    capsys: pytest.CaptureFixture[str], survey: Path, saved: Path, tmp_path: Path
) -> None:
    capsys.readouterr()
    frame = pd.read_csv(survey, keep_default_na=False)
    shuffled = tmp_path / "shuffled.csv"
    frame[["region", "visits", "height", "smoker"]].to_csv(shuffled, index=False)
    assert run_ok(capsys, "predict", saved, shuffled) == run_ok(capsys, "predict", saved, survey)
    bad = with_cell(survey, tmp_path / "west.csv", 5, 4, "west")
    err = fails(capsys, "predict", saved, bad, match="line 5, column 4 ('region')")
    assert "the level 'west' was not seen in fit" in err
    fewer = tmp_path / "fewer.csv"
    frame[["height", "smoker", "visits"]].to_csv(fewer, index=False)
    fails(capsys, "predict", saved, fewer, match="has no column 'region', a column of the model")


@needs_saving
def test_errors_in_a_reordered_file_name_the_files_own_columns(
    capsys: pytest.CaptureFixture[str], survey: Path, saved: Path, tmp_path: Path
) -> None:
    capsys.readouterr()
    frame = pd.read_csv(survey, keep_default_na=False)
    order = ["region", "visits", "height", "smoker"]
    for column, value, match in (
        ("region", "west", "line 4, column 1 ('region'): the level 'west' was not seen in fit"),
        ("height", "tall", "line 4, column 3 ('height'): 'tall' is not a number"),
    ):
        changed = frame[order].astype(str)
        changed.loc[2, column] = value
        path = tmp_path / f"{column}.csv"
        changed.to_csv(path, index=False)
        fails(capsys, "predict", saved, path, match=match)


@needs_saving
def test_the_first_unseen_level_in_file_order_is_named(
    capsys: pytest.CaptureFixture[str], survey: Path, saved: Path, tmp_path: Path
) -> None:
    capsys.readouterr()
    frame = pd.read_csv(survey, keep_default_na=False).astype(str)
    # 'atlantis' sorts before 'west', but 'west' stands on the earlier line.
    frame.loc[6, "region"] = "atlantis"
    frame.loc[3, "region"] = "west"
    path = tmp_path / "unseen.csv"
    frame.to_csv(path, index=False)
    fails(capsys, "score", saved, path, match="line 5, column 4 ('region'): the level 'west'")


@needs_saving
def test_saved_model_samples_values_of_every_family(
    capsys: pytest.CaptureFixture[str], saved: Path
) -> None:
    capsys.readouterr()
    out = run_ok(capsys, "sample", saved, "-n", 40, "--seed", 1, "--labels")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == [*COLUMNS, "component"]
    body = rows[1:]
    assert len(body) == 40
    for height, smoker, visits, region, component in body:
        float(height)
        assert smoker in ("0", "1")
        assert int(visits) >= 0
        assert region in ("east", "north", "south")
        assert int(component) in range(K)


# -- --missing on the other paths --------------------------------------------------------------
def test_missing_cells_in_a_numeric_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rng = np.random.default_rng(SEED)
    counts = rng.poisson(np.where(rng.random((200, 1)) < 0.5, 2.0, 9.0), size=(200, 3)).astype(
        float
    )
    counts[rng.random(counts.shape) < 0.1] = np.nan
    counts[np.isnan(counts).all(axis=1), 0] = 1.0
    path = tmp_path / "counts.csv"
    text = "\n".join(",".join("" if np.isnan(v) else str(int(v)) for v in row) for row in counts)
    path.write_text("a,b,c\n" + text + "\n")
    fails(capsys, "fit", path, "--family", "poisson", match="pass --missing marginalise")
    model = tmp_path / "counts.json"
    args = ["fit", path, "--family", "poisson", "-k", K, "--seed", SEED, "-q", "-o", model]
    out = run_ok(capsys, *args, "--missing", "marginalise")
    mixture = emkit.FiniteMixture(emkit.Poisson(), K, missing="marginalise")
    result = emkit.fit(mixture, counts, random_state=SEED)
    assert value_after(out, "log-likelihood") == pytest.approx(
        result.log_likelihood, abs=PRINTED_ATOL
    )
    score = run_ok(capsys, "score", model, path)
    assert value_after(score, "total log-likelihood") == pytest.approx(
        float(mixture.score_samples(counts, result.params).sum()), abs=PRINTED_ATOL
    )
    complete = tmp_path / "complete.csv"
    complete.write_text("a,b,c\n1,2,3\n4,5,6\n")
    plain = tmp_path / "plain.json"
    run_ok(capsys, "fit", complete, "--family", "poisson", "-k", 1, "-q", "-o", plain)
    fails(capsys, "score", plain, path, match="pass --missing marginalise")
    run_ok(capsys, "score", plain, path, "--missing", "marginalise")


def test_missing_answers_in_a_file_of_levels(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "answers.csv"
    rows = [["yes", "red"], ["no", "blue"], ["", "red"], ["yes", "NA"], ["no", "blue"]] * 8
    path.write_text("answer,colour\n" + "\n".join(",".join(r) for r in rows) + "\n")
    fails(capsys, "fit", path, "--family", "categorical", match="pass --missing marginalise")
    args = ["fit", path, "--family", "categorical", "-k", 1, "-q", "--missing", "marginalise"]
    out = run_ok(capsys, *args)
    values = np.array([[None if c in ("", "NA") else c for c in row] for row in rows], dtype=object)
    estimator = emkit.CategoricalMixture(1, random_state=0, missing="marginalise").fit(values)
    assert value_after(out, "log-likelihood") == pytest.approx(
        estimator.result_.log_likelihood, abs=PRINTED_ATOL
    )
