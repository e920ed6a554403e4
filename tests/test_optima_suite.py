"""``select`` never reports a log-likelihood that drops with K, on every problem of the
optimisation benchmark.

A mixture with K components contains every mixture with K - 1 (give a component weight zero,
or two components the same parameters), so at its optimum it cannot fit worse. A table in which
the log-likelihood goes down from K to K + 1 within one covariance type shows a local optimum,
and misleads the reader. ``select`` guarantees the order (it continues from the K - 1 fit plus
a split when the restarts end lower); this test holds it to that on the suite of
``benchmarks/bench_optima.py``.

Sizes: each dataset of the suite once (the Old Faithful problems share theirs), reduced to at
most ``REDUCED_ROWS`` rows by a fixed subsample (``Problem.load(reduced=True)``), K = 1..6,
every covariance type for the Gaussian data; ``select`` with its defaults (only
``random_state`` fixed), with BLAS on one thread: about 20 s for the file on 2 cores.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import numpy as np
import pytest

import emkit

ROOT = Path(__file__).resolve().parent.parent

#: A drop smaller than this fraction of (|log-likelihood| + number of rows) is rounding.
DROP_RTOL = 1e-9
#: The numbers of components every selection tries.
KS = range(1, 7)


def _bench() -> ModuleType:
    name = "bench_optima"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "bench_optima.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


BENCH = _bench()


@pytest.fixture(autouse=True)
def _one_blas_thread() -> Iterator[None]:
    """BLAS on one thread where threadpoolctl is installed: on a few hundred rows a second
    thread only adds waiting (several times slower on a busy machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


def _datasets() -> list[Any]:
    """One problem per distinct dataset (the first one of the suite that uses it)."""
    seen = set()
    chosen = []
    for problem in BENCH.PROBLEMS:
        if problem.loader in seen:
            continue
        seen.add(problem.loader)
        chosen.append(pytest.param(problem, id=problem.name))
    return chosen


def drops(selection: emkit.Selection, n_rows: int) -> list[str]:
    """Every place where a candidate's log-likelihood is below the one with a component fewer
    (same family), beyond rounding."""
    found = []
    by_family: dict[str, list[Any]] = {}
    for candidate in selection.candidates:
        by_family.setdefault(candidate.label, []).append(candidate)
    for label, candidates in by_family.items():
        candidates.sort(key=lambda c: c.n_components)
        for smaller, larger in itertools.pairwise(candidates):
            tolerance = DROP_RTOL * (abs(smaller.log_likelihood) + n_rows)
            if larger.log_likelihood < smaller.log_likelihood - tolerance:
                found.append(
                    f"{label}: K={smaller.n_components} {smaller.log_likelihood:.6f} > "
                    f"K={larger.n_components} {larger.log_likelihood:.6f}"
                )
    return found


def test_suite_has_the_problems_the_issue_names() -> None:
    names = [p.name for p in BENCH.PROBLEMS]
    assert len(names) >= 8
    assert len(set(names)) == len(names)
    families = {type(p.family).__name__ for p in BENCH.PROBLEMS}
    assert families == {"Gaussian", "Bernoulli", "Poisson"}
    dims = {p.load(reduced=True).shape[1] for p in BENCH.PROBLEMS if p.gaussian}
    assert min(dims) == 2
    assert max(dims) == 50


def test_reduced_problems_are_small_and_fixed() -> None:
    for problem in BENCH.PROBLEMS:
        X = problem.load(reduced=True)
        assert X.shape[0] <= BENCH.REDUCED_ROWS
        np.testing.assert_array_equal(X, problem.load(reduced=True))


def test_drops_are_found() -> None:
    """The check itself fails on a table with a drop (a planted one)."""
    X = BENCH.PROBLEMS[0].load(reduced=True)
    selection = emkit.select(X, emkit.Gaussian("spherical"), n_components=[1, 2], random_state=0)
    low, high = selection.candidates
    assert not drops(selection, X.shape[0])
    planted = emkit.Selection(
        (attrs.evolve(high, n_components=1), attrs.evolve(low, n_components=2)),
        selection.criterion,
    )
    assert drops(planted, X.shape[0]) == [
        f"Gaussian(spherical): K=1 {high.log_likelihood:.6f} > K=2 {low.log_likelihood:.6f}"
    ]


@pytest.mark.parametrize("problem", _datasets())
def test_select_log_likelihood_never_drops_with_k(problem: Any) -> None:
    X = problem.load(reduced=True)
    covariance_types = emkit.COVARIANCE_TYPES if problem.gaussian else None
    selection = emkit.select(
        X, problem.family, n_components=KS, covariance_types=covariance_types, random_state=0
    )
    expected = len(KS) * (len(covariance_types) if covariance_types else 1)
    assert len(selection.candidates) == expected
    assert not drops(selection, X.shape[0]), (
        f"{problem.name}: the log-likelihood drops with K\n" + selection.table()
    )
