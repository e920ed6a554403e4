"""The command line against the library's contracts, not against particular families or models.

* ``--family`` takes any registered family (plugins included, through their entry points) and
  sets its settings by name; the command line names no family in its code.
* A ``.npy`` file is fitted, predicted and scored from its memory map, never loaded whole.
* ``emkit select`` is :func:`emkit.select` with a progress hook.
* A saved model is used through its capabilities (Clustering, Scoring, Sampling).
* ``--version`` is emkit's version, and the README's command lines run as written.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shlex
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import emkit
from emkit import cli, tables
from emkit import io as model_io
from emkit.cli import commands
from emkit.cli import data as cli_data
from emkit.cli.families import parse_value
from tests.test_cli import FAITHFUL, fails_here, run, summary_value

ROOT = Path(__file__).resolve().parents[1]

#: A fit from a memory map and from the array agree to rounding (the same rows, the same order).
SAME_FIT_RTOL = 1e-10


# -- families from the registry ----------------------------------------------------------------
def test_family_names_are_looked_up_in_any_case(capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("POISSON", "Poisson", "poisson"):
        assert cli.main(["fit", "earthquakes", "--family", name, "-q"]) == 0
        assert capsys.readouterr().out.startswith("Poisson mixture, 2 components\n")


def test_family_options_set_the_family_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.json"
    args = ["fit", "earthquakes", "--family", "poisson", "-q", "-o", str(path)]
    options = ["--family-option", "prior_strength=2", "--family-option", "prior_rate= 10"]
    assert cli.main([*args, *options]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Poisson mixture, prior_strength=2, prior_rate=10, 2 components\n")
    assert "log-prior" in out
    assert model_io.load(path).model.family == emkit.Poisson(prior_strength=2.0, prior_rate=10.0)

    args = ["fit", "digits", "--family", "bernoulli", "-k", "2", "--max-iter", "3", "-q"]
    assert cli.main([*args, "-o", str(path), "--family-option", "pseudo_count=0.5"]) == 0
    assert "Bernoulli mixture, pseudo_count=0.5, 2 components" in capsys.readouterr().out
    assert model_io.load(path).model.family == emkit.Bernoulli(pseudo_count=0.5)


def test_covariance_and_reg_covar_are_family_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.json"
    assert (
        cli.main(["fit", "-q", "--covariance", "diag", "--reg-covar", "0.01", "-o", str(path)]) == 0
    )
    assert capsys.readouterr().out.startswith(
        "Gaussian mixture, diag covariance, reg_covar=0.01, 2 components\n"
    )
    assert model_io.load(path).model.family == emkit.Gaussian("diag", reg_covar=0.01)
    # The same settings through --family-option.
    options = ["--family-option", "covariance_type=tied", "--family-option", "reg_covar=1e-3"]
    assert cli.main(["fit", "-q", "-o", str(path), *options]) == 0
    assert model_io.load(path).model.family == emkit.Gaussian("tied", reg_covar=1e-3)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (
            ["fit", "--covariance", "round"],
            "bad --covariance 'round': `covariance_type` must be one of 'full', 'tied', 'diag', "
            "'spherical'; got 'round'",
        ),
        (["fit", "--reg-covar", "-1"], "bad --reg-covar '-1': `reg_covar` must be >= 0"),
        (["fit", "--reg-covar", "x"], "--reg-covar: expected a number; got 'x'"),
        (
            ["fit", "--family", "bernoulli", "--family-option", "pseudo_count=0"],
            "bad --family-option 'pseudo_count=0': `pseudo_count` must be > 0",
        ),
        (
            ["fit", "--family", "poisson", "--family-option", "rate=1"],
            "bad --family-option 'rate=1': Poisson has no setting 'rate'; its settings: "
            "prior_strength, prior_rate",
        ),
        (["fit", "--family-option", "reg_covar"], "--family-option: expected KEY=VALUE"),
        (["fit", "--family-option", "=1"], "--family-option: expected KEY=VALUE"),
        (
            ["fit", "--reg-covar", "0.1", "--family-option", "reg_covar=0.2"],
            "`reg_covar` is set twice: by --reg-covar '0.1' and by --family-option",
        ),
        (
            ["fit", "--covariance", "full", "--family-option", "covariance_type=diag"],
            "`covariance_type` is set twice",
        ),
        (
            ["select", "faithful", "--family", "poisson", "--family-option", "prior_rate=-1"],
            "bad --family-option 'prior_rate=-1': `prior_rate` must be > 0",
        ),
        (
            ["select", "faithful", "--covariance", "diag,round"],
            "bad --covariance 'diag,round': `covariance_type` must be one of",
        ),
        (["select", "faithful", "--covariance", ","], "bad --covariance ','"),
        (
            ["select", "faithful", "--family", "bernoulli", "--reg-covar", "1"],
            "--reg-covar applies only to families with a `reg_covar` setting; Bernoulli has none",
        ),
        (
            ["fit", "--family", "gamma"],
            "argument --family: unknown family 'gamma'; "
            "registered: Bernoulli, Categorical, Gaussian, Poisson",
        ),
    ],
)
def test_bad_family_settings(
    capsys: pytest.CaptureFixture[str], args: list[str], match: str
) -> None:
    fails_here(capsys, *args, match=match)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1),
        ("-3", -3),
        ("0.5", 0.5),
        ("1e-6", 1e-6),
        ("true", True),
        ("False", False),
        ("none", None),
        ("diag", "diag"),
        ("a b", "a b"),
    ],
)
def test_family_option_values(text: str, value: object) -> None:
    parsed = parse_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


_PLUGIN = '''
"""A plugin package: one family, registered when emkit loads its entry point."""

import attrs
import numpy as np

from emkit.families import CanonicalFamily
from emkit.registry import register_family


@attrs.frozen
class Exponential(CanonicalFamily):
    prior_strength: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    prior_mean: float = attrs.field(default=1.0, validator=attrs.validators.gt(0.0))
    zero_base_measure = True

    def sufficient_statistics(self, X):
        return X

    def natural_parameters(self, mean):
        return -1.0 / np.maximum(mean, np.finfo(np.float64).tiny)

    def log_partition(self, natural):
        return -np.sum(np.log(-natural), axis=1)

    def log_base_measure(self, X):
        return np.zeros(X.shape[0], dtype=X.dtype)

    def prior(self):
        return self.prior_strength, self.prior_mean

    def check_support(self, X):
        bad = X < 0
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(
                "`X` must be >= 0 for an Exponential mixture; "
                f"found {X[row, col]} at row {row}, column {col}"
            )

    def check_mean(self, mean):
        if (mean <= 0).any():
            raise ValueError("Exponential means must be > 0")

    def sample(self, params, component, n, rng):
        return rng.exponential(params.mean[component], size=(n, params.mean.shape[1]))


register_family(Exponential)
'''


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment in which an installed package provides a family through entry points."""
    site = tmp_path_factory.mktemp("site")
    (site / "emkit_demo_plugin.py").write_text(textwrap.dedent(_PLUGIN))
    info = site / "emkit_demo_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: emkit-demo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[emkit.plugins]\nexponential = emkit_demo_plugin\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *sys.path])
    return env


def test_a_plugin_family_works_like_a_built_in_one(
    plugin_env: dict[str, str], tmp_path: Path
) -> None:
    def plugin_run(*args: str | Path) -> Any:
        return run(*args, env=plugin_env)

    assert "Bernoulli, Categorical, Exponential, Gaussian, Poisson" in " ".join(
        plugin_run("fit", "--help").stdout.split()
    )
    model = tmp_path / "exp.json"
    options = ["--family", "EXPONENTIAL", "--family-option", "prior_strength=1"]
    proc = plugin_run("fit", "faithful", *options, "-q", "-o", model)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Exponential mixture, prior_strength=1, 2 components\n")
    assert "log-prior" in proc.stdout
    labels = plugin_run("predict", model, "faithful")
    assert labels.returncode == 0, labels.stderr
    assert len(labels.stdout.split()) == 272
    select = plugin_run("select", "faithful", "--family", "exponential", "-k", "1-2", "-q")
    assert select.returncode == 0, select.stderr
    assert "best by BIC (*): Exponential with" in select.stdout

    bad = tmp_path / "negative.csv"
    bad.write_text("a,b\n1,2\n3,-4\n")
    proc = plugin_run("fit", bad, "--family", "exponential", "-k", "1")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"emkit: error: {bad}: not valid data for --family exponential: `X` must be >= 0 for "
        "an Exponential mixture; found -4.0 at line 3, column 2"
    )
    proc = plugin_run("fit", "--family", "exponential", "--family-option", "prior_mean=0")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "emkit: error: bad --family-option 'prior_mean=0': 'prior_mean' must be > 0.0: 0"
    )
    proc = plugin_run("fit", "--family", "exponential", "--covariance", "diag")
    assert proc.stderr.strip() == (
        "emkit: error: --covariance applies only to families with a `covariance_type` "
        "setting; Exponential has none"
    )


def test_a_broken_plugin_is_one_error_line(tmp_path: Path) -> None:
    site = tmp_path / "site"
    info = site / "emkit_broken_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "emkit_broken_plugin.py").write_text("raise RuntimeError('half installed')\n")
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: emkit-broken-plugin\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text("[emkit.plugins]\nbroken = emkit_broken_plugin\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *sys.path])
    proc = run("fit", "-q", env=env)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith("emkit: error: the emkit plugin entry point 'broken'")
    assert "RuntimeError: half installed" in line


_FAMILY_NAMES = {"gaussian", "bernoulli", "poisson"}


def test_the_command_line_names_no_family() -> None:
    """No isinstance test against a family class, no comparison with a family's name."""
    for path in sorted((ROOT / "emkit" / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.alias):
                names = [node.name, node.asname or ""]
            elif isinstance(node, ast.Compare):
                names = [
                    side.value
                    for side in (node.left, *node.comparators)
                    if isinstance(side, ast.Constant) and isinstance(side.value, str)
                ]
            bad = [name for name in names if name.lower().split(".")[-1] in _FAMILY_NAMES]
            assert not bad, f"{path.name}:{getattr(node, 'lineno', '?')} names {bad}"


# -- binary data ----------------------------------------------------------------------------------
def test_binarize_turns_any_data_into_binary_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["fit", "faithful", "--family", "bernoulli", "--binarize", "3", "-q"]) == 0
    out = capsys.readouterr().out
    assert "data: faithful, binarized (>= 3) (272 samples, 2 features)" in out
    result = emkit.fit(
        emkit.FiniteMixture(emkit.Bernoulli(), 2),
        (FAITHFUL.data >= 3).astype(float),
        random_state=0,
    )
    assert float(summary_value(out, "log-likelihood")) == pytest.approx(
        result.log_likelihood, abs=1e-6
    )


def test_the_digits_are_raw_for_a_gaussian_and_binary_for_a_bernoulli_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["fit", "digits", "-k", "2", "--max-iter", "1", "-q"]
    assert cli.main([*args, "--covariance", "diag"]) == 0
    assert "data: digits (1797 samples, 64 features)" in capsys.readouterr().out
    model = tmp_path / "m.json"
    assert cli.main([*args, "--family", "bernoulli", "-o", str(model)]) == 0
    assert "data: digits, binarized (1797 samples, 64 features)" in capsys.readouterr().out
    # A saved Bernoulli model predicts the digits in their binary form too.
    assert cli.main(["predict", str(model), "digits"]) == 0
    labels = np.array(capsys.readouterr().out.split(), dtype=int)
    result = model_io.load(model)
    binary = emkit.datasets.load_digits(binarize=True).data
    np.testing.assert_array_equal(labels, result.model.predict(binary, result.params))


# -- .npy files: memory-mapped from reading to fitting ------------------------------------------
@pytest.fixture
def faithful_npy(tmp_path: Path) -> Path:
    path = tmp_path / "faithful.npy"
    np.save(path, FAITHFUL.data)
    return path


@pytest.fixture
def load_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every ``np.load`` call, with its keyword arguments."""
    calls: list[dict[str, Any]] = []
    real_load = np.load

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    return calls


def _spy(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, seen: list[Any]
) -> Callable[..., Any]:
    """Replace ``module.name`` by a wrapper that records the arguments of every call."""
    real = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        seen.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return real


def test_a_npy_file_is_fitted_from_its_memory_map(
    faithful_npy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    load_calls: list[dict[str, Any]],
) -> None:
    fits: list[Any] = []
    _spy(monkeypatch, commands, "fit", fits)
    path = tmp_path / "m.json"
    assert cli.main(["fit", str(faithful_npy), "-k", "3", "-q", "-o", str(path)]) == 0
    assert "data: " + str(faithful_npy) + " (272 samples, 2 features)" in capsys.readouterr().out
    # Opened once, as a read-only memory map; the fit got the map, not a copy in memory.
    assert load_calls == [{"mmap_mode": "r", "allow_pickle": False}]
    ((args, _),) = fits
    assert isinstance(args[1], np.memmap)
    assert args[1].filename is not None
    assert Path(args[1].filename).resolve() == faithful_npy.resolve()

    from_file = model_io.load(path)
    in_memory = emkit.fit(
        emkit.FiniteMixture(emkit.Gaussian(), 3), np.load(faithful_npy), random_state=0
    )
    assert from_file.log_likelihood == pytest.approx(in_memory.log_likelihood, rel=SAME_FIT_RTOL)
    assert from_file.n_iter == in_memory.n_iter
    np.testing.assert_allclose(
        from_file.params.components.means, in_memory.params.components.means, rtol=SAME_FIT_RTOL
    )
    np.testing.assert_allclose(from_file.params.weights, in_memory.params.weights, rtol=1e-9)


def test_a_float32_npy_file_is_fitted_in_float32(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x32.npy"
    np.save(path, FAITHFUL.data.astype(np.float32))
    fits: list[Any] = []
    _spy(monkeypatch, commands, "fit", fits)
    assert cli.main(["fit", str(path), "-q"]) == 0
    ((args, _),) = fits
    assert isinstance(args[1], np.memmap)
    assert args[1].dtype == np.float32
    expected = emkit.fit(
        emkit.FiniteMixture(emkit.Gaussian(), 2), np.load(path), random_state=0
    ).log_likelihood
    out = capsys.readouterr().out
    assert float(summary_value(out, "log-likelihood")) == pytest.approx(expected, abs=1e-6)


def test_predict_and_score_read_a_npy_file_chunk_by_chunk(
    faithful_npy: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    load_calls: list[dict[str, Any]],
) -> None:
    model_file = faithful_npy.parent / "m.json"
    assert cli.main(["fit", "faithful", "-k", "3", "-q", "-o", str(model_file)]) == 0
    capsys.readouterr()
    result = model_io.load(model_file)
    monkeypatch.setattr(cli_data, "chunk_rows_for", lambda *args: 10)  # 272 rows: 28 chunks
    chunks: list[Any] = []
    real_by_chunks = cli_data.by_chunks

    def spy(model: Any, X: Any, compute: Callable[[Any], Any]) -> Any:
        assert isinstance(X, np.memmap)  # the map goes in, not a loaded copy

        def recorded(chunk: Any) -> Any:
            chunks.append(chunk.shape[0])
            return compute(chunk)

        return real_by_chunks(model, X, recorded)

    monkeypatch.setattr(commands, "by_chunks", spy)

    assert cli.main(["predict", str(model_file), str(faithful_npy)]) == 0
    labels = np.array(capsys.readouterr().out.split(), dtype=int)
    np.testing.assert_array_equal(labels, result.model.predict(FAITHFUL.data, result.params))
    assert chunks == [10] * 27 + [2]

    chunks.clear()
    assert cli.main(["predict", str(model_file), str(faithful_npy), "--proba"]) == 0
    proba = np.loadtxt(capsys.readouterr().out.splitlines()[1:], delimiter=",")
    np.testing.assert_allclose(
        proba, result.model.responsibilities(FAITHFUL.data, result.params), atol=1e-9
    )
    assert len(chunks) == 28

    chunks.clear()
    assert cli.main(["score", str(model_file), str(faithful_npy)]) == 0
    total = float(summary_value(capsys.readouterr().out, "total log-likelihood"))
    assert total == pytest.approx(result.log_likelihood, abs=1e-6)
    assert len(chunks) == 28
    # Every data file was opened as a memory map.
    assert load_calls
    assert all(call.get("mmap_mode") == "r" for call in load_calls)


def test_bad_values_in_a_npy_file_are_named_by_row_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tables, "NPY_BLOCK_BYTES", 2 * 3 * 8)  # blocks of two rows
    X = np.ones((9, 3))
    X[7, 2] = 2.0
    path = tmp_path / "x.npy"
    np.save(path, X)
    validated: list[Any] = []
    _spy(monkeypatch, emkit.Bernoulli, "validate_data", validated)
    fails_here(
        capsys,
        "fit",
        path,
        "--family",
        "bernoulli",
        match=f"{path}: not valid data for --family bernoulli: `X` must contain only 0 and 1 "
        "for a Bernoulli mixture; found 2.0 at row 7, column 2",
    )
    # Checked block by block, never as one array.
    assert [args[1].shape[0] for args, _ in validated] == [2, 2, 2, 2]
    X[7, 2] = np.nan
    np.save(path, X)
    fails_here(capsys, "fit", path, match=f"{path}: row 7, column 2 holds nan, not a finite")


# -- select is emkit.select ---------------------------------------------------------------------
def test_select_command_is_emkit_select_with_a_hook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[Any] = []
    _spy(monkeypatch, commands, "select", calls)
    assert cli.main(["select", "faithful", "-k", "1-3", "--covariance", "full,diag"]) == 0
    captured = capsys.readouterr()
    ((args, kwargs),) = calls  # one call for every candidate
    assert list(args[2]) == [1, 2, 3]
    assert kwargs["covariance_types"] == ["full", "diag"]
    assert kwargs["skip_failures"] is True
    assert callable(kwargs["on_candidate"])
    # The table printed is the library's table for the same options.
    expected = emkit.select(
        FAITHFUL.data,
        n_components=[1, 2, 3],
        covariance_types=["full", "diag"],
        random_state=0,
    )
    assert expected.table() in captured.out
    # One progress line per candidate, from the hook, in fitting order.
    lines = [line.split(":")[0] for line in captured.err.splitlines()]
    assert lines == [f"Gaussian({kind}) K={k}" for kind in ("full", "diag") for k in (1, 2, 3)]


# -- a saved model is used through its capabilities --------------------------------------------
@attrs.frozen
class Bare:
    """A model with none of the optional capabilities."""

    n_features: int = 2

    def validate_data(self, X: Any) -> Any:
        return X


class Delegate:
    """A model that is not a FiniteMixture but has every capability (of one inside it)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def n_components(self) -> int:
        return int(self.inner.n_components)

    def validate_data(self, X: Any) -> Any:
        return self.inner.validate_data(X)

    def predict(self, X: Any, params: Any) -> Any:
        return self.inner.predict(X, params)

    def responsibilities(self, X: Any, params: Any) -> Any:
        return self.inner.responsibilities(X, params)

    def score_samples(self, X: Any, params: Any) -> Any:
        return self.inner.score_samples(X, params)

    def sample(self, params: Any, n_samples: int, rng: Any) -> Any:
        return self.inner.sample(params, n_samples, rng)


@pytest.fixture(scope="module")
def faithful_fit() -> Any:
    return emkit.fit(emkit.FiniteMixture(emkit.Gaussian(), 2), FAITHFUL.data, random_state=0)


def test_a_model_without_a_capability_is_told_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], faithful_fit: Any
) -> None:
    bare = attrs.evolve(faithful_fit, model=Bare())
    monkeypatch.setattr(commands, "load_model", lambda path: (bare, None))
    for command, what in (
        (["predict", "m.json", "faithful"], "predict components"),
        (["score", "m.json", "faithful"], "score data"),
        (["sample", "m.json", "-n", "3"], "draw samples"),
    ):
        fails_here(capsys, *command, match=f"the model in m.json (Bare) cannot {what}")


def test_any_model_with_the_capabilities_works(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], faithful_fit: Any
) -> None:
    delegate = attrs.evolve(faithful_fit, model=Delegate(faithful_fit.model))
    monkeypatch.setattr(commands, "load_model", lambda path: (delegate, ("a", "b")))
    params = faithful_fit.params
    assert cli.main(["predict", "m.json", "faithful"]) == 0
    labels = np.array(capsys.readouterr().out.split(), dtype=int)
    np.testing.assert_array_equal(labels, faithful_fit.model.predict(FAITHFUL.data, params))
    assert cli.main(["score", "m.json", "faithful"]) == 0
    total = float(summary_value(capsys.readouterr().out, "total log-likelihood"))
    assert total == pytest.approx(faithful_fit.log_likelihood, abs=1e-6)
    assert cli.main(["sample", "m.json", "-n", "4", "--labels"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "a,b,component"
    assert len(lines) == 5


# -- version --------------------------------------------------------------------------------------
def test_version_is_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    printed = capsys.readouterr().out
    assert printed == f"emkit {emkit.__version__}\n"
    assert printed == f"emkit {importlib.metadata.version('emkit')}\n"


# -- the README's command lines --------------------------------------------------------------------
def _command_lines(path: Path) -> list[str]:
    """Every ``emkit ...`` command in the ```bash blocks of a Markdown file, in order."""
    text = path.read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            command = line.split("&&")[-1].strip()
            if command.startswith("emkit "):
                lines.append(command)
    return lines


def test_the_documented_command_lines_run_as_written(tmp_path: Path) -> None:
    """Every command line of the README and the quickstart (each distinct one once, in order)."""
    pytest.importorskip("matplotlib")
    readme = _command_lines(ROOT / "README.md")
    assert readme[0] == (
        "emkit fit faithful --components 2 --output faithful.json --plot faithful.png"
    )
    lines = list(dict.fromkeys(readme + _command_lines(ROOT / "docs" / "quickstart.md")))
    (tmp_path / "data.csv").write_text(
        "eruptions,waiting\n" + "\n".join(f"{a!r},{b!r}" for a, b in FAITHFUL.data.tolist())
    )
    # Repeated visits of three patients, for the hidden Markov model's sequence-column example.
    visits = [f"p{i // 90},{a!r}" for i, (a, _) in enumerate(FAITHFUL.data.tolist()[:270])]
    (tmp_path / "visits.csv").write_text("patient,eruptions\n" + "\n".join(visits) + "\n")
    for line in lines:
        proc = run(*shlex.split(line)[1:], cwd=tmp_path)
        assert proc.returncode == 0, f"{line}\n{proc.stderr}"
        for output in re.findall(r"(?:--output|--plot) (\S+)", line):
            assert (tmp_path / output).stat().st_size > 0, line
