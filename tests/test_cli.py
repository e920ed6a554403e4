"""The ``emkit`` command, run as users run it: ``python -m emkit ...`` in a subprocess.

A few pure helpers of :mod:`emkit.cli` (the table reader, the range parser, the progress line)
are also tested in-process, where a subprocess would only add start-up time. The families,
memory-mapped ``.npy`` files and model capabilities are in ``test_cli_contract.py``.
"""

from __future__ import annotations

import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import emkit
from emkit import cli
from emkit import io as model_io
from emkit.cli import commands
from emkit.cli import data as cli_data

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: A blank canvas PNG is about 1-2 kB; the fit and selection figures are tens of kB.
MIN_PNG_BYTES = 10_000

#: Numbers printed with 6 decimals (log-likelihoods) agree to the last printed digit.
PRINTED_ATOL = 1e-6

#: Rows of --proba output are posterior probabilities written with 10 significant digits.
PROBA_SUM_ATOL = 1e-8

#: Per-call limit for one command; every command here runs in well under a second or two.
TIMEOUT_S = 120

#: Commands started at once by :func:`run_all`.
PARALLEL_COMMANDS = 4

FAITHFUL = emkit.datasets.load_faithful()


def run(
    *args: str | Path,
    stdin: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emkit", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=TIMEOUT_S,
        check=False,
    )


def run_all(
    commands: list[list[str | Path]],
) -> list[subprocess.CompletedProcess[str]]:
    """Run independent commands at the same time (each is mostly interpreter start-up)."""
    with ThreadPoolExecutor(max_workers=PARALLEL_COMMANDS) as pool:
        return list(pool.map(lambda args: run(*args), commands))


def ok(*args: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = run(*args, stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def _check_error(status: object, stderr: str, match: str) -> str:
    assert status == 2, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("emkit: error:")]
    other = [line for line in stderr.splitlines() if not line.startswith("emkit: ")]
    assert len(errors) == 1, stderr
    assert other == [], stderr
    assert match in errors[0], errors[0]
    return errors[0]


def fails(*args: str | Path, match: str, stdin: str | None = None) -> str:
    """Run a command that must fail with one ``emkit: error:`` line naming ``match``."""
    proc = run(*args, stdin=stdin)
    return _check_error(proc.returncode, proc.stderr, match)


def fails_here(capsys: pytest.CaptureFixture[str], *args: str | Path, match: str) -> str:
    """:func:`fails` through ``emkit.cli.main`` in this process: the same code, no start-up.

    Used for the long tables of bad input; every kind of error also runs through a real
    subprocess in :func:`test_errors_through_the_real_command`.
    """
    try:
        status: object = cli.main([str(a) for a in args])
    except SystemExit as exc:  # argparse usage errors exit from inside parse_args
        status = exc.code
    return _check_error(status, capsys.readouterr().err, match)


def summary_value(stdout: str, key: str) -> str:
    for line in stdout.splitlines():
        if line.startswith(key):
            return line[len(key) :].split()[0]
    raise AssertionError(f"{key!r} not in output:\n{stdout}")


def assert_png(path: Path) -> None:
    raw = path.read_bytes()
    assert raw[:8] == PNG_SIGNATURE
    assert len(raw) > MIN_PNG_BYTES


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.json"
    ok("fit", "faithful", "--components", "3", "--output", path, "--quiet")
    return path


@pytest.fixture(scope="module")
def faithful_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "faithful.csv"
    body = "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in FAITHFUL.data)
    path.write_text("eruptions,waiting\n" + body + "\n")
    return path


# -- help --------------------------------------------------------------------------------------
def test_main_help_lists_every_command() -> None:
    out = ok("--help").stdout
    for command in ("fit", "predict", "score", "sample", "select"):
        assert command in out
    assert "emkit fit faithful --components 2" in out


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (
            "fit",
            [
                "--family",
                "--components",
                "--covariance",
                "--init",
                "--n-init",
                "--max-iter",
                "--tol",
                "--seed",
                "--output",
                "--plot",
                "--reg-covar",
                "--family-option",
                "--binarize",
                "--quiet",
                "--debug",
            ],
        ),
        ("predict", ["--proba", "--output", "--binarize", "--debug"]),
        ("score", ["--binarize", "--debug"]),
        ("sample", ["-n", "--seed", "--output", "--labels", "--debug"]),
        (
            "select",
            [
                "--components",
                "--covariance",
                "--family",
                "--family-option",
                "--reg-covar",
                "--binarize",
                "--criterion",
                "--plot",
                "--n-init",
            ],
        ),
    ],
)
def test_subcommand_help_describes_every_option_with_its_default(
    command: str, options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in options:
        assert option in out
    # Every option except the flags --help/--debug states its default or that it is required.
    described = out.split("options:")[1]
    entries = [e for e in described.split("\n  -") if e.strip()]
    for entry in entries:
        name = entry.split()[0]
        if name.lstrip("-") in ("h,", "debug"):
            continue
        assert "default" in entry or "required" in entry, entry


# -- fit ---------------------------------------------------------------------------------------
def test_readme_first_command_fits_old_faithful() -> None:
    proc = ok("fit", "faithful", "--components", "2")
    out = proc.stdout
    assert "Gaussian mixture, full covariance, 2 components" in out
    assert "faithful (272 samples, 2 features)" in out
    for key in ("weight", "eruptions", "waiting", "log-likelihood", "BIC", "AIC", "converged"):
        assert key in out
    assert summary_value(out, "converged") == "yes"
    assert int(summary_value(out, "iterations")) >= 1
    assert summary_value(out, "time")
    # Progress: one line per iteration on stderr (not a terminal here), starting at iteration 0.
    progress = [line for line in proc.stderr.splitlines() if "iteration" in line]
    assert progress[0].startswith("iteration    0")
    assert len(progress) == int(summary_value(out, "iterations")) + 1
    assert all("log-likelihood" in line and "change" in line for line in progress)


def test_fit_without_data_fits_old_faithful_and_agrees_with_the_library() -> None:
    out = ok("fit", "--quiet").stdout
    result = emkit.fit(emkit.FiniteMixture(emkit.Gaussian(), 2), FAITHFUL.data, random_state=0)
    assert float(summary_value(out, "log-likelihood")) == pytest.approx(
        result.log_likelihood, abs=PRINTED_ATOL
    )
    assert float(summary_value(out, "BIC")) == pytest.approx(emkit.bic(result), abs=1e-4)


def _write_variants(tmp_path: Path) -> dict[str, Path]:
    X = FAITHFUL.data
    rows = [f"{float(a)!r},{float(b)!r}" for a, b in X]
    paths = {
        "header.csv": "eruptions,waiting\n" + "\n".join(rows) + "\n",
        "plain.csv": "\n".join(rows) + "\n",
        "data.tsv": "eruptions\twaiting\n" + "\n".join(r.replace(",", "\t") for r in rows),
        "spaces.txt": "# eruptions waiting\n\n" + "\n".join(r.replace(",", "  ") for r in rows),
    }
    out = {}
    for name, text in paths.items():
        out[name] = tmp_path / name
        out[name].write_text(text)
    out["data.npy"] = tmp_path / "data.npy"
    np.save(out["data.npy"], X)
    return out


def test_fit_reads_csv_with_and_without_header_tsv_whitespace_and_npy(tmp_path: Path) -> None:
    variants = _write_variants(tmp_path)
    reference, *procs = run_all(
        [["fit", "faithful", "--quiet"]] + [["fit", path, "-q"] for path in variants.values()]
    )
    expected = summary_value(reference.stdout, "log-likelihood")
    for name, proc in zip(variants, procs, strict=True):
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        assert summary_value(out, "log-likelihood") == expected, name
        assert "(272 samples, 2 features)" in out
        names = ("eruptions", "waiting") if name in ("header.csv", "data.tsv") else ("x1", "x2")
        for column in names:
            assert column in out, name


def test_fit_reads_csv_from_stdin() -> None:
    text = "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in FAITHFUL.data)
    out = ok("fit", "-", "--quiet", stdin=text).stdout
    assert "<stdin> (272 samples, 2 features)" in out


def test_fit_bundled_digits_bernoulli_and_earthquakes_poisson() -> None:
    out = ok(
        "fit", "digits", "--family", "bernoulli", "-k", "3", "--max-iter", "5", "--quiet"
    ).stdout
    assert "Bernoulli mixture, 3 components" in out
    # The digits' pixel intensities are not 0/1: the dataset's own binary form is used.
    assert "digits, binarized (1797 samples, 64 features)" in out
    assert "component means:" in out
    assert "... (64 features)" in out
    out = ok("fit", "earthquakes", "--family", "poisson", "--quiet").stdout
    assert "Poisson mixture, 2 components" in out
    assert "component means:" in out


def test_fit_options_reach_the_driver() -> None:
    proc = ok(
        "fit",
        "faithful",
        "--covariance",
        "diag",
        "-k",
        "3",
        "--n-init",
        "2",
        "--max-iter",
        "2",
        "--init",
        "random",
        "--seed",
        "4",
    )
    assert "diag covariance, 3 components" in proc.stdout
    assert "best of 2 runs" in proc.stdout
    assert int(summary_value(proc.stdout, "iterations")) <= 2
    assert "run 2/2" in proc.stderr
    # Not converging in 2 iterations is a warning line, not a Python warning dump.
    assert any(
        line.startswith("emkit: warning: EM did not converge") for line in proc.stderr.splitlines()
    )
    assert "ConvergenceWarning" not in proc.stderr


def test_fit_saves_a_model_and_a_figure(tmp_path: Path) -> None:
    model, figure = tmp_path / "m.json", tmp_path / "fit.png"
    out = ok("fit", "faithful", "--output", model, "--plot", figure, "-q").stdout
    assert f"model saved to {model}" in out
    assert f"plot saved to {figure}" in out
    loaded = model_io.load(model)
    assert loaded.model == emkit.FiniteMixture(emkit.Gaussian(), 2)
    assert_png(figure)
    for data, family in (("digits", "bernoulli"), ("earthquakes", "poisson")):
        path = tmp_path / f"{data}.png"
        ok("fit", data, "--family", family, "-k", "2", "--max-iter", "3", "-q", "--plot", path)
        assert_png(path)


# -- predict / score / sample ----------------------------------------------------------------
def test_predict_labels_and_probabilities(
    model_file: Path, faithful_csv: Path, tmp_path: Path
) -> None:
    result = model_io.load(model_file)
    expected = result.model.predict(FAITHFUL.data, result.params)
    labels = np.array(ok("predict", model_file, faithful_csv).stdout.split(), dtype=int)
    np.testing.assert_array_equal(labels, expected)

    target = tmp_path / "proba.csv"
    assert ok("predict", model_file, "faithful", "--proba", "--output", target).stdout == ""
    lines = target.read_text().splitlines()
    assert lines[0] == "component_0,component_1,component_2"
    proba = np.array([line.split(",") for line in lines[1:]], dtype=float)
    assert proba.shape == (272, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=PROBA_SUM_ATOL)
    np.testing.assert_array_equal(proba.argmax(axis=1), expected)


def test_score_prints_mean_and_total(model_file: Path) -> None:
    out = ok("score", model_file, "faithful").stdout
    result = model_io.load(model_file)
    total = float(np.sum(result.model.score_samples(FAITHFUL.data, result.params)))
    assert int(summary_value(out, "samples")) == 272
    assert float(summary_value(out, "total log-likelihood")) == pytest.approx(
        total, abs=PRINTED_ATOL
    )
    assert float(summary_value(out, "mean log-likelihood")) == pytest.approx(
        total / 272, abs=PRINTED_ATOL
    )


def test_sample_writes_csv_that_predict_reads_back(model_file: Path, tmp_path: Path) -> None:
    out = ok("sample", model_file, "-n", "50", "--seed", "3").stdout
    lines = out.splitlines()
    assert lines[0] == "x1,x2"
    assert len(lines) == 51
    assert ok("sample", model_file, "-n", "50", "--seed", "3").stdout == out
    assert ok("sample", model_file, "-n", "50", "--seed", "4").stdout != out

    target = tmp_path / "sample.csv"
    ok("sample", model_file, "-n", "40", "--labels", "--output", target)
    table = cli.parse_table(target.read_text(), str(target))
    assert table.names == ("x1", "x2", "component")
    assert table.data.shape == (40, 3)
    assert set(np.unique(table.data[:, 2])) <= {0.0, 1.0, 2.0}
    labels = ok("predict", model_file, "-", stdin=out).stdout.split()
    assert len(labels) == 50


def test_model_saved_by_an_estimator_works_too(tmp_path: Path) -> None:
    estimators = pytest.importorskip("emkit.estimators")
    gm = estimators.GaussianMixture(n_components=2, random_state=0).fit(FAITHFUL.data)
    path = tmp_path / "estimator.json"
    model_io.save(gm, path)
    labels = np.array(ok("predict", path, "faithful").stdout.split(), dtype=int)
    np.testing.assert_array_equal(labels, gm.predict(FAITHFUL.data))


# -- select ------------------------------------------------------------------------------------
def test_select_prints_a_table_with_the_best_marked_and_plots(tmp_path: Path) -> None:
    figure = tmp_path / "bic.png"
    proc = ok(
        "select", "faithful", "--components", "1-3", "--covariance", "full,diag", "--plot", figure
    )
    lines = proc.stdout.splitlines()
    rows = [line for line in lines if line.startswith(("* Gaussian(", "  Gaussian("))]
    assert len(rows) == 6
    marked = [line for line in rows if line.startswith("*")]
    assert len(marked) == 1
    assert "best by BIC (*)" in proc.stdout
    for column in ("log-lik", "BIC", "AIC", "ICL"):
        assert column in lines[1]
    # One summary line per candidate on stderr when it is not a terminal.
    assert sum("K=" in line for line in proc.stderr.splitlines()) == 6
    assert_png(figure)


def test_select_other_family_and_criterion() -> None:
    out = ok(
        "select", "earthquakes", "--family", "poisson", "-k", "1-3", "--criterion", "icl", "-q"
    ).stdout
    assert "best by ICL (*)" in out
    assert out.count("Poisson ") >= 3
    out = ok("select", "faithful", "-k", "2", "--covariance", "all", "-q").stdout
    for kind in emkit.COVARIANCE_TYPES:
        assert f"Gaussian({kind})" in out


# -- errors: one line, status 2, no traceback -------------------------------------------------
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp_path = tmp_path_factory.mktemp("bad")
    files = {
        "ragged.csv": "a,b\n1,2\n3,4\n5\n",
        "word.csv": "a,b\n1,2\n3,oops\n",
        "empty_cell.csv": "1,2\n,4\n",
        "nan.csv": "1,2\n3,nan\n",
        "empty.csv": "\n\n",
        "header_only.csv": "a,b\n",
        "numeric_header.csv": "id,2020\n1,2\n",
        "nonbinary.csv": "0,1\n1,0\n1,2\n",
        "negative.csv": "1\n2\n-3\n",
        "bad.json": '{"format": "emkit-model", "version": 1',
        "notmodel.json": '{"hello": 1}',
    }
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / name
        paths[name].write_text(text)
    paths["binary.bin"] = tmp_path / "binary.bin"
    paths["binary.bin"].write_bytes(bytes(range(256)))
    paths["cube.npy"] = tmp_path / "cube.npy"
    np.save(paths["cube.npy"], np.zeros((2, 2, 2)))
    paths["broken.npy"] = tmp_path / "broken.npy"
    paths["broken.npy"].write_bytes(b"\x93NUMPY garbage")
    paths["dir"] = tmp_path
    paths["missing.csv"] = tmp_path / "missing.csv"
    return paths


def test_errors_through_the_real_command(
    bad_files: dict[str, Path], model_file: Path, tmp_path: Path
) -> None:
    """One case of every kind of error, as a user meets it: one line, status 2."""
    cases: list[tuple[list[str | Path], str]] = [
        (["fit", bad_files["missing.csv"]], "no such file, and not a bundled dataset"),
        (["fit", bad_files["ragged.csv"]], "line 4: ragged row with 1 column(s)"),
        (["fit", bad_files["word.csv"]], "line 3, column 2 ('b'): 'oops' is not a number"),
        (["fit", "faithful", "--family", "bernoulli"], "only 0 and 1"),
        (["select", "faithful", "-k", "5-2"], "bad --components '5-2'"),
        (["fit", "-k", "0"], "--components: expected a whole number >= 1"),
        (["score", bad_files["bad.json"], "faithful"], "not valid JSON"),
        (["predict", model_file, "earthquakes"], "has 1 column(s), but the model"),
        (["fit", "--output", tmp_path / "no" / "m.json"], "does not exist"),
    ]
    procs = run_all([args for args, _ in cases])
    for proc, (_, match) in zip(procs, cases, strict=True):
        _check_error(proc.returncode, proc.stderr, match)


@pytest.mark.parametrize(
    ("name", "extra", "match"),
    [
        ("missing.csv", [], "no such file, and not a bundled dataset"),
        ("ragged.csv", [], "line 4: ragged row with 1 column(s); expected 2"),
        ("word.csv", [], "line 3, column 2 ('b'): 'oops' is not a number"),
        ("empty_cell.csv", [], "line 2, column 1: an empty cell"),
        ("nan.csv", [], "line 2, column 2: 'nan' is not a finite number"),
        ("empty.csv", [], "no data (the file is empty)"),
        ("numeric_header.csv", [], "line 1, column 1: 'id' is not a number (a header row"),
        ("header_only.csv", [], "no data rows after the header"),
        ("nonbinary.csv", ["--family", "bernoulli"], "only 0 and 1 for a Bernoulli mixture"),
        ("nonbinary.csv", ["--family", "bernoulli"], "found 2.0 at line 3, column 2"),
        ("negative.csv", ["--family", "poisson"], "non-negative integer counts"),
        ("binary.bin", [], "not a text file"),
        ("cube.npy", [], "must be 2-D"),
        ("broken.npy", [], "cannot read as a .npy array"),
        ("dir", [], "is a directory"),
    ],
)
def test_fit_bad_data(
    capsys: pytest.CaptureFixture[str],
    bad_files: dict[str, Path],
    name: str,
    extra: list[str],
    match: str,
) -> None:
    fails_here(capsys, "fit", bad_files[name], *extra, match=match)
    fails_here(capsys, "select", bad_files[name], "-k", "1", *extra, match=match)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["fit", "faithfull"], "not a bundled dataset (faithful, earthquakes, digits)"),
        (["fit", "faithful", "--family", "bernoulli"], "not valid data for --family bernoulli"),
        (["fit", "faithful", "--family", "poisson"], "non-negative integer counts"),
        (["select", "faithful", "--family", "bernoulli", "-k", "1-2"], "only 0 and 1"),
        (["fit", "-k", "0"], "--components: expected a whole number >= 1; got 0"),
        (["fit", "-k", "two"], "expected a whole number >= 1; got 'two'"),
        (["select", "faithful", "-k", "5-2"], "bad --components '5-2'"),
        (["select", "faithful", "-k", "0-3"], "bad --components '0-3'"),
        (["select", "faithful", "-k", "1-x"], "bad --components '1-x'"),
        (["select", "faithful", "--covariance", "full,round"], "bad --covariance 'full,round'"),
        (
            ["select", "earthquakes", "--family", "poisson", "--covariance", "all"],
            "--covariance applies only to families with a `covariance_type` setting; "
            "Poisson has none",
        ),
        (
            ["fit", "--family", "poisson", "--covariance", "diag"],
            "--covariance applies only to families with a `covariance_type` setting; "
            "Poisson has none",
        ),
        (
            ["fit", "--family", "bernoulli", "--reg-covar", "0.1"],
            "--reg-covar applies only to families with a `reg_covar` setting; Bernoulli has none",
        ),
        (["fit", "--family", "gamma"], "unknown family 'gamma'; registered: Bernoulli, Cat"),
        (["fit", "--tol", "-1"], "--tol: expected a finite number >= 0"),
        (["fit", "--max-iter", "-1"], "--max-iter: expected a whole number >= 0"),
        (["fit", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["sample"], "required"),
        (["sample", "model.json", "-n", "0"], "expected a whole number >= 1; got 0"),
        ([], "required: COMMAND"),
    ],
)
def test_bad_options(capsys: pytest.CaptureFixture[str], args: list[str], match: str) -> None:
    fails_here(capsys, *args, match=match)


def test_bad_outputs(capsys: pytest.CaptureFixture[str], tmp_path: Path, model_file: Path) -> None:
    fails_here(capsys, "fit", "--plot", tmp_path / "fig.xyz", match="unknown image format 'xyz'")
    fails_here(capsys, "fit", "--output", tmp_path / "no" / "m.json", match="does not exist")
    fails_here(capsys, "fit", "--plot", tmp_path, match="is a directory")
    fails_here(
        capsys, "select", "faithful", "--plot", tmp_path / "no" / "s.png", match="does not exist"
    )
    for command in (["sample", model_file, "-n", "3"], ["predict", model_file, "faithful"]):
        fails_here(capsys, *command, "-o", tmp_path / "no" / "s.csv", match="does not exist")


def test_model_files_that_do_not_load(
    capsys: pytest.CaptureFixture[str], bad_files: dict[str, Path], tmp_path: Path
) -> None:
    fails_here(capsys, "predict", tmp_path / "nope.json", "faithful", match="no such model file")
    fails_here(capsys, "score", bad_files["bad.json"], "faithful", match="not valid JSON")
    fails_here(capsys, "sample", bad_files["notmodel.json"], "-n", "3", match="not an emkit model")
    fails_here(capsys, "predict", bad_files["word.csv"], "faithful", match="word.csv")
    fails_here(capsys, "score", bad_files["binary.bin"], "faithful", match="binary.bin")


def test_data_that_does_not_fit_the_model(
    capsys: pytest.CaptureFixture[str], model_file: Path, bad_files: dict[str, Path]
) -> None:
    fails_here(capsys, "predict", model_file, "earthquakes", match="has 1 column(s), but the")
    fails_here(capsys, "score", model_file, bad_files["word.csv"], match="'oops' is not a number")
    fails_here(capsys, "score", model_file, bad_files["missing.csv"], match="no such file")


def test_bernoulli_model_rejects_non_binary_data(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = tmp_path / "bernoulli.json"
    assert (
        cli.main(["fit", "-q", "--family", "bernoulli", "-k", "2", "-o", str(model), "digits"]) == 0
    )
    data = tmp_path / "counts.csv"
    data.write_text("\n".join(",".join(["2"] * 64) for _ in range(3)))
    capsys.readouterr()
    fails_here(capsys, "predict", model, data, match="not valid data for the Bernoulli mixture in")


def test_debug_shows_the_traceback(bad_files: dict[str, Path]) -> None:
    for args in (
        ["--debug", "fit", bad_files["word.csv"]],
        ["fit", bad_files["word.csv"], "--debug"],
    ):
        proc = run(*args)
        assert proc.returncode == 2
        assert "Traceback (most recent call last)" in proc.stderr
        assert proc.stderr.splitlines()[-1].startswith("emkit: error:")


def test_missing_matplotlib_is_one_error_line(tmp_path: Path) -> None:
    # Hide matplotlib from a fresh interpreter, as if the plot extra were not installed.
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "import emkit, emkit.plotting\n"
        "from emkit.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    for command in (["fit"], ["select", "faithful", "-k", "1-2"]):
        proc = subprocess.run(
            [sys.executable, "-c", code, *command, "--plot", str(tmp_path / "f.png")],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines() == [
            "emkit: error: plotting needs matplotlib, which is not installed; install it with: "
            "pip install 'emkit[plot]'"
        ]
        assert proc.stdout == ""  # it failed before fitting


def test_an_internal_error_is_reported_as_such(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(commands, "fit", broken)
    assert cli.main(["fit", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "emkit: internal error: ZeroDivisionError: a bug "
        "(please report it; --debug shows the traceback)"
    )


# -- in-process: the reader, the range parser, the progress line ------------------------------
@pytest.mark.parametrize(
    ("text", "names", "shape"),
    [
        ("a,b\n1,2\n3,4\n", ("a", "b"), (2, 2)),
        ("1,2\n3,4\n", ("x1", "x2"), (2, 2)),
        ('"a";"b"\n1;2\n', ("a", "b"), (1, 2)),
        ("# comment\n\n1 2  3\n4 5 6\n", ("x1", "x2", "x3"), (2, 3)),
        ("value\n1e-3\n-2.5\n7\n", ("value",), (3, 1)),
        ("\ufeffa\tb\r\n1\t2\r\n", ("a", "b"), (1, 2)),
        ("1_000,2\n3,4\n", ("x1", "x2"), (2, 2)),
    ],
)
def test_parse_table_detects_header_and_delimiter(
    text: str, names: tuple[str, ...], shape: tuple[int, int]
) -> None:
    table = cli.parse_table(text, "t.csv")
    assert table.names == names
    assert table.data.shape == shape
    assert table.data.dtype == np.float64


def test_parse_table_reports_lines_of_rows() -> None:
    table = cli.parse_table("# c\nx\n\n1\n2\n", "t.csv")
    np.testing.assert_array_equal(table.lines, [4, 5])
    np.testing.assert_array_equal(table.data[:, 0], [1.0, 2.0])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", [3]), ("1-4", [1, 2, 3, 4]), ("1-3,6, 5", [1, 2, 3, 5, 6]), ("2 - 3", [2, 3])],
)
def test_parse_components(text: str, expected: list[int]) -> None:
    assert cli.parse_components(text) == expected


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_rewrites_one_line() -> None:
    stream = _Terminal()
    progress = cli.Progress(stream, n_init=1)
    result = emkit.fit(
        emkit.FiniteMixture(emkit.Gaussian(), 2),
        FAITHFUL.data,
        random_state=0,
        callbacks=[progress],
    )
    progress.finish()
    text = stream.getvalue()
    assert text.count("\r") == result.n_iter + 1
    assert text.count("\n") == 1
    assert text.endswith("\n")


def test_progress_on_a_terminal_keeps_one_line_per_run() -> None:
    stream = _Terminal()
    progress = cli.Progress(stream, n_init=3)
    emkit.fit(
        emkit.FiniteMixture(emkit.Gaussian(), 2),
        FAITHFUL.data,
        n_init=3,
        random_state=0,
        callbacks=[progress],
    )
    progress.finish()
    lines = stream.getvalue().split("\n")  # not splitlines(): it also splits at "\r"
    final_lines = [part.rsplit("\r", 1)[-1] for part in lines if part]
    assert [line.split()[1] for line in final_lines] == ["1/3", "2/3", "3/3"]


def test_predict_and_score_work_in_chunks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, model_file: Path
) -> None:
    result = model_io.load(model_file)
    monkeypatch.setattr(cli_data, "chunk_rows_for", lambda *args: 7)  # 272 rows: 39 chunks
    assert cli.main(["predict", str(model_file), "faithful"]) == 0
    labels = np.array(capsys.readouterr().out.split(), dtype=int)
    np.testing.assert_array_equal(labels, result.model.predict(FAITHFUL.data, result.params))
    assert cli.main(["score", str(model_file), "faithful"]) == 0
    total = float(summary_value(capsys.readouterr().out, "total log-likelihood"))
    assert total == pytest.approx(result.log_likelihood, abs=PRINTED_ATOL)


def test_select_skips_a_candidate_that_cannot_be_fitted(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["select", "faithful", "-k", "1,300", "-q"]) == 0
    captured = capsys.readouterr()
    rows = [
        line.split()
        for line in captured.out.splitlines()
        if line.startswith(("* Gauss", "  Gauss"))
    ]
    assert [row[:3] for row in rows] == [["*", "Gaussian(full)", "1"]]
    warning = [line for line in captured.err.splitlines() if "K=300" in line]
    assert len(warning) == 1
    assert warning[0].startswith("emkit: warning: Gaussian(full) K=300: fit failed, skipped:")
    fails_here(capsys, "select", "faithful", "-k", "300-301", match="every candidate model failed")
