"""A plugin author's model works everywhere a built-in one does: batch, incremental and online
EM on every data source, with statistics stored around a reference point.

Two models written straight on the protocol, neither known to emkit: the plugin guide's mixture
of linear regressions (examples/regression_mixture.py) and a Student-t mixture
(tests/plugin_models.py). Both keep their moments around reference values that depend on the
E-step's parameters, so online and incremental EM must move old statistics to new points
through the statistics' own ``recenter`` (emkit.protocols.Recenterable).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import numpy as np
import pytest

import emkit
from emkit import protocols
from emkit.sources import as_source
from emkit.stats import NOT_ADDITIVE, add, recenter

from .plugin_models import StudentTMixture, student_t_data

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: Statistics moved to a new reference point equal those computed there, up to rounding.
RECENTER_RTOL = 1e-9

#: Incremental EM reaches batch EM's fixed point: objectives per sample and parameters (both
#: converge linearly, and the regression mixture's overlapping lines slowly).
FIXED_POINT_NATS = 1e-6
FIXED_POINT_RTOL = 1e-2

#: Online EM over a few passes ends this close (nats per sample) to batch EM's optimum.
ONLINE_NATS = 0.02


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"emkit_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # attrs resolves the classes' annotations through it
    spec.loader.exec_module(module)
    return module


REGRESSION = load_example("regression_mixture")


def regression_case() -> tuple[Any, np.ndarray]:
    X, _, _ = REGRESSION.two_lines(n=2000, seed=3)
    return REGRESSION.LineMixture(2), X


def student_t_case() -> tuple[Any, np.ndarray]:
    X, _, _ = student_t_data(n_samples=2000, seed=3)
    return StudentTMixture(3), X


CASES = {"regression": regression_case, "student-t": student_t_case}


def leaves(params: Any) -> list[np.ndarray]:
    return [np.asarray(getattr(params, f.name)) for f in attrs.fields(type(params)) if f.init]


def shuffled(X: np.ndarray, seed: int = 0) -> np.ndarray:
    return X[np.random.default_rng(seed).permutation(X.shape[0])]


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[Any, np.ndarray]:
    model, X = CASES[request.param]()
    return model, shuffled(X)


def test_the_plugins_declare_recentering(case: tuple[Any, np.ndarray]) -> None:
    model, X = case
    params = model.init_params(X, np.random.default_rng(0), "kmeans")
    stats, _ = model.e_step(X, params)
    assert isinstance(model, protocols.LatentVariableModel)
    assert isinstance(stats, protocols.Recenterable)


def test_recentering_equals_the_statistics_at_the_new_point(case: tuple[Any, np.ndarray]) -> None:
    model, X = case
    rng = np.random.default_rng(1)
    first = model.init_params(X, rng, "random")
    second = model.init_params(X, rng, "kmeans")
    at_first, _ = model.e_step(X, first)
    at_second, _ = model.e_step(X, second)
    # Same responsibilities, other reference point: the E-step at `first` moved to `second`'s
    # reference must equal the sums of `first`'s weights taken around `second`'s reference.
    moved = recenter(at_first, at_second)
    for a, b in zip(leaves(moved), leaves(at_first), strict=True):
        assert a.shape == b.shape
    fields = [f for f in attrs.fields(type(moved)) if f.init]
    for field in fields:
        if field.metadata.get("additive", True):
            continue
        np.testing.assert_array_equal(getattr(moved, field.name), getattr(at_second, field.name))
    # Moving there and back is the identity.
    back = recenter(moved, at_first)
    for a, b in zip(leaves(back), leaves(at_first), strict=True):
        np.testing.assert_allclose(a, b, rtol=RECENTER_RTOL, atol=RECENTER_RTOL * np.abs(b).max())


def test_incremental_em_reaches_the_batch_fixed_point(case: tuple[Any, np.ndarray]) -> None:
    model, X = case
    start = model.init_params(X, np.random.default_rng(2), "kmeans")
    incremental = emkit.fit_incremental(
        model, X, init=start, chunk_size=250, tol=1e-8, max_sweeps=500
    )
    batch = emkit.fit(model, X, init=start, tol=1e-10, max_iter=3000)
    assert incremental.converged
    assert abs(incremental.objective - batch.objective) / X.shape[0] < FIXED_POINT_NATS
    for a, b in zip(leaves(incremental.params), leaves(batch.params), strict=True):
        np.testing.assert_allclose(a, b, rtol=FIXED_POINT_RTOL, atol=FIXED_POINT_RTOL)


@pytest.mark.parametrize("kind", ["array", "chunks", "memmap"])
@pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")
def test_batch_em_is_the_same_on_every_source(
    case: tuple[Any, np.ndarray], kind: str, tmp_path: Path
) -> None:
    model, X = case
    start = model.init_params(X, np.random.default_rng(3), "kmeans")
    reference = emkit.fit(model, X, init=start, max_iter=20, tol=0.0, chunk_size=X.shape[0])
    data: Any = {
        "array": X,
        "chunks": [X[i : i + 300] for i in range(0, X.shape[0], 300)],
        "memmap": tmp_path / "X.npy",
    }[kind]
    if kind == "memmap":
        np.save(data, X)
    result = emkit.fit(model, data, init=start, max_iter=20, tol=0.0, chunk_size=170)
    np.testing.assert_allclose(result.history, reference.history, rtol=1e-10)
    for a, b in zip(leaves(result.params), leaves(reference.params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_online_em_approaches_the_batch_optimum(case: tuple[Any, np.ndarray]) -> None:
    model, X = case
    start = model.init_params(X, np.random.default_rng(4), "kmeans")
    batch = emkit.fit(model, X, init=start, tol=1e-8, max_iter=2000)
    batches = [shuffled(X, seed)[i : i + 200] for seed in range(3) for i in range(0, len(X), 200)]
    online = emkit.fit_online(model, batches, init=start, kappa=0.7, warmup=2)
    _, online_ll = as_source(X).expectation(model, online.params)
    assert (batch.log_likelihood - online_ll) / X.shape[0] < ONLINE_NATS


def test_online_steps_by_hand_match_fit_online(case: tuple[Any, np.ndarray]) -> None:
    model, X = case
    start = model.init_params(X, np.random.default_rng(5), "kmeans")
    batches = [X[i : i + 400] for i in range(0, len(X), 400)]
    state = emkit.online.start_online(model, batches[0], init=start)
    for batch in batches:
        state = emkit.online.online_step(model, state, batch)
    result = emkit.fit_online(model, batches, init=start)
    for a, b in zip(leaves(state.params), leaves(result.params), strict=True):
        np.testing.assert_array_equal(a, b)


def test_statistics_with_reference_fields_but_no_recenter_are_refused() -> None:
    @attrs.frozen(eq=False)
    class Around:
        center: np.ndarray = attrs.field(metadata=NOT_ADDITIVE)
        total: np.ndarray

    a, b = Around(np.zeros(2), np.ones(2)), Around(np.ones(2), np.ones(2))
    assert not isinstance(a, protocols.Recenterable)
    with pytest.raises(TypeError, match=r"Around statistics .* no `recenter\(like\)` method"):
        recenter(a, b)
    with pytest.raises(ValueError, match="different reference points"):
        add(a, b)
    assert recenter(a, Around(np.zeros(2), np.full(2, 5.0))) is a  # same points: nothing to move
