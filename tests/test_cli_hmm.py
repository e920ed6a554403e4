"""``emkit fit --model hmm`` and a saved HMM's predict / score / sample, end to end through
``emkit.cli.main``: the printed numbers are the library's, sequence by sequence."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

import emkit
from emkit import cli
from emkit import io as model_io
from emkit.hmm.model import HMMParams

pytest.importorskip("matplotlib")

#: The summary prints log-likelihoods with 6 decimals: agreement to the last printed digit.
PRINTED_ATOL = 1e-6

#: BIC and AIC are printed with 4 decimals.
CRITERION_ATOL = 1e-4

#: Means printed with 6 significant digits (values of a few units).
PRINTED_MEAN_ATOL = 1e-4

#: Probabilities printed with 4 decimals in the summary.
PROBABILITY_ATOL = 1e-4

#: --proba writes posteriors with 10 significant digits.
PROBA_ATOL = 1e-9

#: The command line's fit and the library's agree to rounding (summation order may differ).
SAME_RTOL = 1e-10
SAME_ATOL = 1e-14

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: An HMM figure with two data panels and the history is tens of kB; a blank canvas 1-2 kB.
MIN_PNG_BYTES = 10_000

SEED = 0
N_INIT = 2
LENGTHS = np.array([60, 35, 90, 47])
IDS = np.array([7, 3, 12, 5])


def _true_params() -> HMMParams[emkit.GaussianParams]:
    means = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 4.0]])
    covariances = np.stack([np.diag([0.5, 0.3]), np.eye(2) * 0.4, np.diag([0.3, 0.6])])
    return HMMParams(
        startprob=np.array([0.5, 0.3, 0.2]),
        transmat=np.array([[0.9, 0.05, 0.05], [0.1, 0.85, 0.05], [0.05, 0.1, 0.85]]),
        emission=emkit.GaussianParams(means, covariances),
    )


@pytest.fixture(scope="module")
def series() -> np.ndarray:
    model = emkit.HiddenMarkovModel(emkit.Gaussian("full"), 3)
    X, _ = model.sample(_true_params(), int(LENGTHS.sum()), np.random.default_rng(3), LENGTHS)
    return X


def _write_csv(path: Path, X: np.ndarray, ids: np.ndarray, id_first: bool = True) -> Path:
    lines = ["id,x,y" if id_first else "x,id,y"]
    for i, (a, b) in zip(ids, X, strict=True):
        a, b = float(a), float(b)
        lines.append(f"{i},{a!r},{b!r}" if id_first else f"{a!r},{i},{b!r}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def series_csv(series: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hmm")
    return _write_csv(folder / "series.csv", series, np.repeat(IDS, LENGTHS))


@pytest.fixture(scope="module")
def library_fit(series: np.ndarray) -> emkit.FitResult:
    model = emkit.HiddenMarkovModel(emkit.Gaussian("full"), 3)
    return emkit.fit(model, series, lengths=LENGTHS, n_init=N_INIT, random_state=SEED)


@pytest.fixture(scope="module")
def fitted(series_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """``emkit fit series.csv --model hmm --states 3 --sequence-column id -o ... --plot ...``."""
    folder = tmp_path_factory.mktemp("fitted")
    model_file, plot = folder / "hmm.json", folder / "hmm.png"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(
            [
                "fit",
                str(series_csv),
                "--model",
                "hmm",
                "--states",
                "3",
                "--sequence-column",
                "id",
                "--n-init",
                str(N_INIT),
                "--seed",
                str(SEED),
                "-q",
                "-o",
                str(model_file),
                "--plot",
                str(plot),
            ]
        )
    assert status == 0
    return model_file, out.getvalue(), plot


def value_after(stdout: str, key: str) -> str:
    for line in stdout.splitlines():
        if line.startswith(key):
            return line[len(key) :].split()[0]
    raise AssertionError(f"{key!r} not in output:\n{stdout}")


def run_ok(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    status = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    return captured.out


def fails(capsys: pytest.CaptureFixture[str], *args: str | Path, match: str) -> str:
    try:
        status: object = cli.main([str(a) for a in args])
    except SystemExit as exc:  # argparse usage errors exit from inside parse_args
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2, err
    errors = [line for line in err.splitlines() if line.startswith("emkit: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    assert match in errors[0], errors[0]
    return errors[0]


# -- fit ---------------------------------------------------------------------------------------
def test_fit_prints_the_library_fit_of_the_same_sequences(
    fitted: tuple[Path, str, Path], library_fit: emkit.FitResult
) -> None:
    _, out, _ = fitted
    assert "Gaussian hidden Markov model, full covariance, 3 states" in out
    assert "series.csv (232 samples, 2 features), 4 sequences of 35 to 90 rows" in out
    assert float(value_after(out, "log-likelihood")) == pytest.approx(
        library_fit.log_likelihood, abs=PRINTED_ATOL
    )
    assert float(value_after(out, "BIC")) == pytest.approx(
        emkit.selection.bic(library_fit), abs=CRITERION_ATOL
    )
    assert float(value_after(out, "AIC")) == pytest.approx(
        emkit.selection.aic(library_fit), abs=CRITERION_ATOL
    )
    assert int(value_after(out, "iterations")) == library_fit.n_iter
    assert f"reached best in {library_fit.restarts_at_best} of {N_INIT} starts" in out
    # The states table and the transition matrix, as the library has them.
    lines = out.splitlines()
    top = lines.index(next(line for line in lines if line.startswith("state ")))
    params = library_fit.params
    means = library_fit.model.component_means(params)
    for k in range(3):
        cells = lines[top + 1 + k].split()
        assert int(cells[0]) == k
        assert float(cells[1]) == pytest.approx(params.startprob[k], abs=PROBABILITY_ATOL)
        np.testing.assert_allclose(
            np.array(cells[3:5], dtype=float), means[k], atol=PRINTED_MEAN_ATOL
        )
    matrix = lines.index(next(line for line in lines if line.startswith("from ")))
    printed = np.array([lines[matrix + 1 + i].split()[1:] for i in range(3)], dtype=float)
    np.testing.assert_allclose(printed, params.transmat, atol=PROBABILITY_ATOL)


def test_fit_saves_a_model_that_round_trips_and_a_figure(
    fitted: tuple[Path, str, Path], library_fit: emkit.FitResult
) -> None:
    model_file, out, plot = fitted
    assert f"model saved to {model_file}" in out
    loaded = model_io.load(model_file)
    assert isinstance(loaded.model, emkit.HiddenMarkovModel)
    # The command and the library add the same terms, maybe in another order (BLAS threads).
    np.testing.assert_allclose(loaded.params.transmat, library_fit.params.transmat, rtol=SAME_RTOL)
    np.testing.assert_allclose(
        loaded.params.startprob, library_fit.params.startprob, rtol=SAME_RTOL, atol=SAME_ATOL
    )
    raw = plot.read_bytes()
    assert raw[:8] == PNG_SIGNATURE
    assert len(raw) > MIN_PNG_BYTES


def test_sequence_column_by_index_anywhere_and_by_stdin(
    series: np.ndarray,
    library_fit: emkit.FitResult,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    middle = _write_csv(tmp_path / "middle.csv", series, np.repeat(IDS, LENGTHS), id_first=False)
    common = ["--model", "hmm", "-k", "3", "--n-init", str(N_INIT), "-q"]
    out = run_ok(capsys, "fit", middle, "--sequence-column", "1", *common)
    assert float(value_after(out, "log-likelihood")) == pytest.approx(
        library_fit.log_likelihood, abs=PRINTED_ATOL
    )
    monkeypatch.setattr("sys.stdin", middle.open(encoding="utf-8"))
    out = run_ok(capsys, "fit", "-", "--sequence-column", "id", *common)
    assert float(value_after(out, "log-likelihood")) == pytest.approx(
        library_fit.log_likelihood, abs=PRINTED_ATOL
    )


def test_lengths_file_gives_the_same_fit(
    series: np.ndarray,
    library_fit: emkit.FitResult,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "series.npy"
    np.save(data, series)
    sizes = tmp_path / "lengths.txt"
    sizes.write_text("\n".join(str(n) for n in LENGTHS) + "\n", encoding="utf-8")
    out = run_ok(
        capsys,
        "fit",
        data,
        "--model",
        "hmm",
        "--states",
        "3",
        "--lengths",
        sizes,
        "--n-init",
        str(N_INIT),
        "-q",
    )
    assert "4 sequences of 35 to 90 rows" in out
    assert float(value_after(out, "log-likelihood")) == pytest.approx(
        library_fit.log_likelihood, abs=PRINTED_ATOL
    )


def test_bundled_earthquakes_poisson_hmm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "quakes.png"
    args = ["fit", "earthquakes", "--model", "hmm", "--states", "3", "--family", "poisson"]
    out = run_ok(capsys, *args, "--n-init", "3", "-q", "--plot", plot)
    counts = emkit.datasets.load_earthquakes().data
    expected = emkit.fit(
        emkit.HiddenMarkovModel(emkit.Poisson(), 3), counts, n_init=3, random_state=SEED
    )
    assert "Poisson hidden Markov model" in out
    assert "earthquakes (107 samples, 1 feature), 1 sequence" in out  # the year is no feature
    assert float(value_after(out, "log-likelihood")) == pytest.approx(
        expected.log_likelihood, abs=PRINTED_ATOL
    )
    assert plot.read_bytes()[:8] == PNG_SIGNATURE


# -- a saved HMM -------------------------------------------------------------------------------
def test_predict_is_the_viterbi_path_of_every_sequence(
    fitted: tuple[Path, str, Path],
    series: np.ndarray,
    series_csv: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model_file = fitted[0]
    result = model_io.load(model_file)
    model, params = result.model, result.params
    # Small chunks: several chunks of whole sequences give the same answer as one pass.
    monkeypatch.setattr("emkit.cli.sequences.chunk_rows_for", lambda *args: 50)
    out = run_ok(capsys, "predict", model_file, series_csv, "--sequence-column", "id")
    states = np.array(out.split(), dtype=int)
    np.testing.assert_array_equal(states, model.predict(series, params, LENGTHS))
    out = run_ok(capsys, "predict", model_file, series_csv, "--sequence-column", "id", "--proba")
    lines = out.splitlines()
    assert lines[0] == "state_0,state_1,state_2"
    proba = np.loadtxt(lines[1:], delimiter=",")
    np.testing.assert_allclose(
        proba, model.responsibilities(series, params, LENGTHS), atol=PROBA_ATOL
    )


def test_score_sums_the_sequences(
    fitted: tuple[Path, str, Path],
    series: np.ndarray,
    series_csv: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model_file = fitted[0]
    result = model_io.load(model_file)
    out = run_ok(capsys, "score", model_file, series_csv, "--sequence-column", "id")
    expected = result.model.log_likelihood(series, result.params, LENGTHS)
    assert int(value_after(out, "samples")) == 232
    assert int(value_after(out, "sequences")) == 4
    assert float(value_after(out, "total log-likelihood")) == pytest.approx(
        float(expected.sum()), abs=PRINTED_ATOL
    )
    assert float(value_after(out, "total log-likelihood")) == pytest.approx(
        result.log_likelihood, abs=PRINTED_ATOL
    )


def test_sample_draws_one_sequence_with_its_states(
    fitted: tuple[Path, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    model_file = fitted[0]
    result = model_io.load(model_file)
    out = run_ok(capsys, "sample", model_file, "-n", "40", "--seed", "5", "--labels")
    lines = out.splitlines()
    assert lines[0] == "x1,x2,state"
    values = np.loadtxt(lines[1:], delimiter=",")
    X, states = result.model.sample(result.params, 40, np.random.default_rng(5))
    np.testing.assert_allclose(values[:, :2], X, rtol=1e-9)
    np.testing.assert_array_equal(values[:, 2], states)


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--sequence-column", "subject"], "--sequence-column 'subject': "),
        (["--sequence-column", "9"], "has 3 column(s), so a 0-based index must be 0 to 2"),
        (["--states", "0"], "argument --states: expected a whole number >= 1; got 0"),
        (["--states", "3", "-k", "2"], "--states 3 and --components 2 disagree"),
        (["--sequence-column", "id", "--lengths", "x.txt"], "not both"),
    ],
)
def test_fit_errors_name_the_option_and_the_value(
    series_csv: Path, extra: list[str], match: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fails(capsys, "fit", series_csv, "--model", "hmm", *extra, "-q", match=match)


def test_fit_errors_of_a_mixture_with_sequences(
    series_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fails(
        capsys,
        "fit",
        series_csv,
        "--sequence-column",
        "id",
        match="--sequence-column 'id' applies to --model hmm",
    )
    fails(capsys, "fit", series_csv, "--states", "3", match="--states 3 applies to --model hmm")


def test_a_reappearing_sequence_id_is_refused_naming_the_lines(
    series: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = np.repeat([1, 2, 1], [5, 5, 5])
    path = _write_csv(tmp_path / "mixed.csv", series[:15], ids)
    message = fails(
        capsys,
        "fit",
        path,
        "--model",
        "hmm",
        "--sequence-column",
        "id",
        "-q",
        match="line 12: sequence id 1 comes back after other ids (its rows start at line 2)",
    )
    assert "sort the rows by 'id'" in message


def test_text_sequence_ids_group_rows_like_numbers(
    series: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sizes = [7, 5, 9]
    numbers = _write_csv(tmp_path / "numbers.csv", series[:21], np.repeat([4, 2, 8], sizes))
    words = tmp_path / "words.csv"
    text = numbers.read_text(encoding="utf-8").splitlines()
    names = np.repeat(["anna", "bob-2", "carl"], sizes)
    words.write_text(
        "\n".join(
            [text[0]]
            + [f"{n},{line.split(',', 1)[1]}" for n, line in zip(names, text[1:], strict=True)]
        )
        + "\n",
        encoding="utf-8",
    )
    outputs = []
    for path in (numbers, words):
        assert cli.main(["fit", str(path), "--model", "hmm", "--sequence-column", "id", "-q"]) == 0
        outputs.append(capsys.readouterr().out.splitlines())
    assert "3 sequences of 5 to 9 rows" in outputs[1][1]
    outputs = [lines[2:] for lines in outputs]
    assert outputs[0][:-1] == outputs[1][:-1]  # all but the time line


def test_sequence_errors_of_files_and_saved_models(
    fitted: tuple[Path, str, Path],
    series: np.ndarray,
    series_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model_file = fitted[0]
    data = tmp_path / "series.npy"
    np.save(data, np.column_stack([np.repeat(IDS, LENGTHS), series]))
    fails(
        capsys,
        "fit",
        data,
        "--model",
        "hmm",
        "--sequence-column",
        "0",
        match="not supported for a .npy file",
    )
    sizes = tmp_path / "bad_lengths.txt"
    sizes.write_text("100\n100\n", encoding="utf-8")
    fails(
        capsys,
        "fit",
        series_csv,
        "--model",
        "hmm",
        "--lengths",
        sizes,
        match="--lengths " + str(sizes) + ": `--lengths` must sum to the number of rows",
    )
    # The id column left in as a feature: the hint names --sequence-column.
    fails(
        capsys,
        "predict",
        model_file,
        series_csv,
        match="is one of them a column of sequence ids? name it with --sequence-column",
    )
    mixture_file = tmp_path / "mixture.json"
    run_ok(capsys, "fit", "faithful", "-q", "-o", mixture_file)
    fails(
        capsys,
        "predict",
        mixture_file,
        "faithful",
        "--sequence-column",
        "0",
        match="applies to a hidden Markov model; the Gaussian mixture in",
    )


def test_missing_cells_in_sequences_are_marginalised(
    capsys: pytest.CaptureFixture[str], series: np.ndarray, tmp_path: Path
) -> None:
    # Empty cells and whole missing frames in a file of several sequences: refused by default,
    # integrated out with --missing marginalise, giving the library's fit of the same NaN data.
    rng = np.random.default_rng(21)
    X = series.copy()
    X[rng.random(X.shape) < 0.15] = np.nan
    X[[7, 8, 100]] = np.nan
    ids = np.repeat(IDS, LENGTHS)
    lines = ["id,x,y"] + [
        ",".join([str(i), *("" if np.isnan(v) else repr(float(v)) for v in row)])
        for i, row in zip(ids, X, strict=True)
    ]
    path = tmp_path / "gappy.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["fit", path, "--model", "hmm", "--states", "3", "--sequence-column", "id"]
    common = ["--n-init", str(N_INIT), "--seed", str(SEED), "-q"]
    status = cli.main([str(a) for a in [*args, *common]])
    assert status != 0
    assert "an empty cell" in capsys.readouterr().err
    model_file = tmp_path / "gappy.json"
    out = run_ok(capsys, *args, *common, "--missing", "marginalise", "-o", model_file)
    assert f"2 features, {int(np.isnan(X).sum())} missing cells)" in out
    library = emkit.fit(
        emkit.HiddenMarkovModel(emkit.Gaussian("full"), 3, missing="marginalise"),
        X,
        lengths=LENGTHS,
        n_init=N_INIT,
        random_state=SEED,
    )
    assert float(value_after(out, "log-likelihood")) == pytest.approx(
        library.log_likelihood, abs=PRINTED_ATOL
    )
    score = run_ok(capsys, "score", model_file, path, "--sequence-column", "id")
    assert np.isfinite(float(score.split()[-1]))
