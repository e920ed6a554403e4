"""Seconds per EM iteration with missing values (NaN) against the same data complete.

Run ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_missing.py`` for both cases, ``--quick``
for a tenth of the rows and 2 repeats, ``--cases full`` for one of them (see ``--help``). Every
number of one table comes from the same run: the same data (200,000 x 16, K = 8, correlated
Gaussian blobs, float64), the same starting parameters for every runner, and for the missing
case the same data with 10% of the cells set to NaN completely at random.

The missing-value E-step of full and tied covariance has two engines
(``emkit.families._gaussian_missing``): compiled kernels, which ``"auto"`` picks when numba is
installed, and numpy, which runs without numba. The numpy runner hides the compiled kernels as
a missing numba would (the family's ``"auto"`` then falls back), so both run the code a user
gets. Diagonal covariance has no per-pattern step: both engines run the same code there.

Columns
-------
complete s/it
    emkit's iteration on the complete data: ``FiniteMixture.m_step`` then ``e_step`` over all
    rows, as the batch schedule runs them. This is the complete-data code the family ran before
    missing values existed: on data without NaN it takes exactly that path (its only addition
    is the check ``np.isnan(X).any()`` per row block, timed alone in the column ``NaN check s``).
compiled s/it, numpy s/it
    The same iteration on the data with NaN, with each engine: every row's marginal
    log-density of its observed entries and the conditional moments of its missing ones
    (exact EM).
ratio
    missing s/it / complete s/it of each engine (target: at most 3).
CPU s/it, CPU ratio
    The same medians in CPU seconds of this process (``time.process_time``): on a machine
    shared with other jobs they move less than the wall clock.
sklearn s/it, compiled / sklearn
    scikit-learn's ``GaussianMixture`` iteration (its ``_e_step`` + ``_m_step``, the body of its
    fit loop) on the complete data, from the same start: the peer reference point. No peer
    fits missing values exactly with full covariance, so none runs on the NaN data.
patterns
    Distinct missingness patterns in the data (and rows with at least one NaN).
dLL/it
    Smallest increase of the observed-data log-likelihood over the timed iterations of the
    missing case, per engine (EM never lowers it; negative would be a bug).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_em import SklearnRunner, describe_machine, gaussian_data

import emkit
from emkit.families import _gaussian_missing
from emkit.families._gaussian_missing import engine_in_use, group_patterns

# (name, covariance type, n, d, k)
CASES: list[tuple[str, str, int, int, int]] = [
    ("full", "full", 200_000, 16, 8),
    ("diag", "diag", 200_000, 16, 8),
]

MISSING_FRACTION = 0.1


# The compiled kernels as imported (or the ImportError of trying), restored after each
# numpy-engine iteration.
_HIDDEN = ImportError("numba hidden by bench_missing: the numpy engine")


class Runner:
    """EM iterations of a FiniteMixture on one array, as the batch schedule runs them, with
    the missing-value engine a user with (``"numba"``) or without (``"numpy"``) numba gets."""

    def __init__(self, model: Any, X: np.ndarray, params: Any, engine: str = "numba") -> None:
        self.model, self.X, self.engine = model, X, engine
        self.stats, self.ll = self._run(lambda: model.e_step(X, params))
        self.lls = [self.ll]

    def _run(self, step: Callable[[], Any]) -> Any:
        if self.engine == "numba":
            return step()
        kept = _gaussian_missing._compiled
        _gaussian_missing._compiled = _HIDDEN  # "auto" falls back as without numba
        try:
            return step()
        finally:
            _gaussian_missing._compiled = kept

    def iterate(self) -> None:
        params = self.model.m_step(self.stats)
        self.stats, self.ll = self._run(lambda: self.model.e_step(self.X, params))
        self.lls.append(self.ll)


def _time(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _cpu_time(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of this process (the CPU time is what the run itself used:
    on a machine shared with other jobs it moves less than the wall clock)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def run_case(case: tuple[str, str, int, int, int], scale: float, repeats: int) -> dict[str, Any]:
    name, kind, n, d, k = case
    n = int(n * scale)
    X = gaussian_data(n, d, k, np.float64)
    rng = np.random.default_rng(5)
    X_missing = X.copy()
    X_missing[rng.random(X.shape) < MISSING_FRACTION] = np.nan
    model = emkit.FiniteMixture(emkit.Gaussian(kind), k)
    sample = X[rng.choice(n, size=min(n, 20_000), replace=False)]
    params = model.init_params(sample, np.random.default_rng(1), "k-means++")
    complete = Runner(model, X, params)
    compiled = Runner(model, X_missing, params, "numba")
    numpy_engine = Runner(model, X_missing, params, "numpy")
    peer = SklearnRunner(kind, X, params)
    # Interleaved, so that a change of the machine's load touches every runner alike.
    runners = {
        "complete": complete,
        "compiled": compiled,
        "numpy": numpy_engine,
        "sklearn": peer,
    }
    times: dict[str, list[tuple[float, float]]] = {key: [] for key in runners}
    for runner in runners.values():
        runner.iterate()  # warm-up: first touch of every temporary
    for _ in range(repeats):
        for key, runner in runners.items():
            times[key].append(_cpu_time(runner.iterate))
    seconds = {key: statistics.median(w for w, _ in value) for key, value in times.items()}
    cpu = {key: statistics.median(c for _, c in value) for key, value in times.items()}
    nan_check = min(_time(lambda: np.isnan(X).any()) for _ in range(5))
    mask = np.isnan(X_missing)
    return {
        "case": name,
        "shape": f"{n:,}x{d}, K={k}",
        **seconds,
        **{f"cpu_{key}": value for key, value in cpu.items()},
        "peer_ratio": seconds["compiled"] / seconds["sklearn"],
        "nan_check": nan_check,
        "patterns": len(np.unique(group_patterns(mask).row_pattern)),
        "incomplete_rows": int(mask.any(axis=1).sum()),
        "min_step": {
            engine: float(np.diff(runner.lls).min())
            for engine, runner in (("compiled", compiled), ("numpy", numpy_engine))
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows, 2 repeats")
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--repeats", type=int, default=5, help="timed iterations per runner")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    repeats = 2 if args.quick else args.repeats
    wanted = [c for c in args.cases.split(",") if c]
    cases = [c for c in CASES if not wanted or c[0] in wanted]
    for line in describe_machine():
        print(line)
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '<unset>')}")
    print(f"repeats: {repeats} (median reported), missing cells: {MISSING_FRACTION:.0%} (MCAR)")
    print(f"missing-value engine with numba installed: {engine_in_use('auto', 16)}")
    rows = []
    for case in cases:
        rows.append(run_case(case, scale, repeats))
        r = rows[-1]
        print(
            f"  {r['case']}: complete {r['complete']:.3f} s/it, compiled {r['compiled']:.3f} "
            f"s/it, numpy {r['numpy']:.3f} s/it, sklearn {r['sklearn']:.3f} s/it "
            f"(load {os.getloadavg()[0]:.1f})",
            file=sys.stderr,
            flush=True,
        )
    header = (
        "| case | N x D, K | complete s/it | compiled s/it | ratio | numpy s/it | ratio "
        "| CPU s/it complete, compiled, numpy | CPU ratio compiled, numpy | sklearn s/it "
        "| compiled / sklearn | NaN check s | patterns (incomplete rows) "
        "| dLL/it compiled, numpy |"
    )
    print()
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for r in rows:
        c, m, p = r["complete"], r["compiled"], r["numpy"]
        cc, cm, cp = r["cpu_complete"], r["cpu_compiled"], r["cpu_numpy"]
        print(
            f"| {r['case']} | {r['shape']} | {c:.3f} | {m:.3f} | {m / c:.2f}x | {p:.3f} "
            f"| {p / c:.2f}x | {cc:.3f}, {cm:.3f}, {cp:.3f} | {cm / cc:.2f}x, {cp / cc:.2f}x "
            f"| {r['sklearn']:.3f} | {r['peer_ratio']:.2f}x | {r['nan_check']:.4f} "
            f"| {r['patterns']:,} ({r['incomplete_rows']:,}) "
            f"| {r['min_step']['compiled']:.3g}, {r['min_step']['numpy']:.3g} |"
        )
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
