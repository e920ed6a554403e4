"""``emkit fit --model regression`` and a saved regression mixture's predict / score / sample,
end to end through ``emkit.cli.main``: the printed numbers are the library's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import emkit
from emkit import cli
from emkit.estimators import RegressionMixture

#: The summary prints log-likelihoods with 6 decimals: agreement to the last printed digit.
PRINTED_ATOL = 1e-6
#: BIC and AIC are printed with 4 decimals.
CRITERION_ATOL = 1e-4
#: Coefficients are printed with 6 significant digits of their column's largest value.
COEFFICIENT_ATOL = 1e-5
#: --proba writes posteriors with 10 significant digits.
PROBA_ATOL = 1e-9

SEED = 0
N_INIT = 2
N_GROUPS = 80
GROUP_SIZE = 3


@pytest.fixture(scope="module")
def csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(SEED)
    n = N_GROUPS * GROUP_SIZE
    z = np.repeat(rng.integers(0, 2, N_GROUPS), GROUP_SIZE)
    dose = rng.uniform(-2, 2, n)
    age = rng.standard_normal(n)
    y = np.where(z == 0, 1 + 2 * dose, -1 - dose) + 0.3 * rng.standard_normal(n)
    subject = np.repeat(rng.permutation(N_GROUPS), GROUP_SIZE)
    path = tmp_path_factory.mktemp("regression") / "data.csv"
    lines = ["dose,yield,age,subject"]
    lines += [
        f"{a:.17g},{b:.17g},{c:.17g},s{d}" for a, b, c, d in zip(dose, y, age, subject, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    ids = np.array([f"s{d}" for d in subject])
    return path, {"X": np.column_stack([dose, age]), "y": y, "groups": ids}


def run_ok(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    status = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


def fails(capsys: pytest.CaptureFixture[str], *args: str | Path, match: str) -> None:
    status = cli.main([str(a) for a in args])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.startswith("emkit: error: ")
    assert match in err, err


def library_fit(data: dict[str, np.ndarray]) -> RegressionMixture:
    return RegressionMixture(2, n_init=N_INIT, random_state=SEED).fit(
        data["X"], data["y"], groups=data["groups"]
    )


def value_after(out: str, label: str) -> float:
    line = next(line for line in out.splitlines() if line.startswith(label))
    return float(line[len(label) :].split()[0])


def saved_model_usable(path: Path) -> None:
    """The saved estimator loads, with its column names."""
    loaded = emkit.load(path)
    assert loaded.feature_names_in_ is not None


def test_fit_prints_the_library_fit(
    capsys: pytest.CaptureFixture[str],
    csv: tuple[Path, dict[str, np.ndarray]],
    tmp_path: Path,
) -> None:
    path, data = csv
    model_file = tmp_path / "reg.json"
    out = run_ok(
        capsys,
        "fit", path, "--model", "regression", "--target", "yield", "--groups", "subject",
        "-k", "2", "--n-init", str(N_INIT), "--seed", str(SEED), "-q", "-o", model_file,
    )  # fmt: skip
    fitted = library_fit(data)
    result = fitted.result_
    lines = out.splitlines()
    assert lines[0] == "Gaussian regression mixture of 'yield', 2 components"
    assert lines[1] == (
        f"data: {path} (240 rows, target 'yield', 2 covariate(s), {N_GROUPS} groups of "
        f"{GROUP_SIZE} rows each)"
    )
    header = next(i for i, line in enumerate(lines) if line.startswith("component  weight"))
    assert lines[header].split() == ["component", "weight", "intercept", "dose", "age", "scale"]
    for k in range(2):
        row = [float(v) for v in lines[header + 1 + k].split()]
        expected = [k, fitted.weights_[k], fitted.intercept_[k], *fitted.coef_[k], fitted.scale_[k]]
        np.testing.assert_allclose(row, expected, atol=COEFFICIENT_ATOL)
    assert value_after(out, "log-likelihood") == pytest.approx(
        result.log_likelihood, abs=PRINTED_ATOL
    )
    assert value_after(out, "BIC") == pytest.approx(
        fitted.bic(data["X"], data["y"], data["groups"]), abs=CRITERION_ATOL
    )
    assert value_after(out, "AIC") == pytest.approx(
        fitted.aic(data["X"], data["y"], data["groups"]), abs=CRITERION_ATOL
    )
    assert f"iterations      {fitted.n_iter_} (best of {N_INIT} runs" in out
    assert f"restarts        reached best in {fitted.restarts_at_best_} of {N_INIT}" in out
    assert f"model saved to {model_file}" in out
    assert model_file.is_file()


def test_saved_model_predicts_scores_and_samples(
    capsys: pytest.CaptureFixture[str],
    csv: tuple[Path, dict[str, np.ndarray]],
    tmp_path: Path,
) -> None:
    path, data = csv
    model_file = tmp_path / "reg.json"
    run_ok(
        capsys,
        "fit", path, "--model", "regression", "--target", "yield", "--groups", "subject",
        "--n-init", str(N_INIT), "--seed", str(SEED), "-q", "-o", model_file,
    )  # fmt: skip
    saved_model_usable(model_file)
    fitted = library_fit(data)
    resp = fitted.predict_proba(data["X"], data["y"], groups=data["groups"])
    out = run_ok(capsys, "predict", model_file, path, "--groups", "subject")
    np.testing.assert_array_equal(np.array(out.split(), dtype=int), np.argmax(resp, axis=1))
    out = run_ok(capsys, "predict", model_file, path, "--groups", "subject", "--proba")
    lines = out.splitlines()
    assert lines[0] == "component_0,component_1"
    printed = np.array([line.split(",") for line in lines[1:]], dtype=float)
    np.testing.assert_allclose(printed, resp, atol=PROBA_ATOL)
    out = run_ok(capsys, "score", model_file, path, "--groups", "subject")
    total = fitted.score_samples(data["X"], data["y"], groups=data["groups"]).sum()
    assert value_after(out, "total log-likelihood") == pytest.approx(total, abs=PRINTED_ATOL)
    out = run_ok(capsys, "sample", model_file, "-n", "4", "--labels")
    assert out.splitlines()[0] == "dose,age,yield,component"
    assert len(out.splitlines()) == 5


def test_errors(
    capsys: pytest.CaptureFixture[str], csv: tuple[Path, dict[str, np.ndarray]]
) -> None:
    path, _ = csv
    base = ("fit", path, "--model", "regression", "-q")
    fails(capsys, *base, "--groups", "subject", match="--model regression needs --target COL")
    fails(
        capsys, *base, "--target", "height", "--groups", "subject",
        match="--target 'height': " + str(path) + " has no column of that name (its columns: "
        "dose, yield, age)",
    )  # fmt: skip
    fails(
        capsys, *base, "--target", "yield", "--groups", "subject", "--family", "categorical",
        match="a regression mixture's components are gaussian, poisson, bernoulli",
    )  # fmt: skip
    fails(
        capsys, *base, "--target", "yield", "--groups", "subject", "--family", "poisson",
        match="`y` must be counts (whole numbers >= 0) for family='poisson'",
    )  # fmt: skip
    fails(
        capsys, *base, "--target", "yield", "--groups", "subject", "--sequence-column", "age",
        match="--sequence-column does not apply to --model regression",
    )  # fmt: skip
    fails(
        capsys, "fit", path, "--target", "yield", "-q",
        match="--target 'yield' applies to --model regression",
    )  # fmt: skip
