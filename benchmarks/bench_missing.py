"""Seconds per EM iteration with missing values (NaN) against the same data complete.

Run ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_missing.py`` for both cases, ``--quick``
for a tenth of the rows and 2 repeats, ``--cases full`` for one of them (see ``--help``). Every
number of one table comes from the same run: the same data (200,000 x 16, K = 8, correlated
Gaussian blobs, float64), the same starting parameters for every runner, and for the missing
case the same data with 10% of the cells set to NaN completely at random.

Columns
-------
complete s/it
    emkit's iteration on the complete data: ``FiniteMixture.m_step`` then ``e_step`` over all
    rows, as the batch schedule runs them. This is the complete-data code the family ran before
    missing values existed: on data without NaN it takes exactly that path (its only addition
    is the check ``np.isnan(X).any()`` per row block, timed alone in the column ``NaN check s``).
missing s/it
    The same iteration on the data with NaN: every row's marginal log-density of its observed
    entries and the conditional moments of its missing ones (exact EM).
ratio
    missing s/it / complete s/it (target: at most 3).
CPU s/it, CPU ratio
    The same medians in CPU seconds of this process (``time.process_time``): on a machine
    shared with other jobs they move less than the wall clock.
sklearn s/it, missing / sklearn
    scikit-learn's ``GaussianMixture`` iteration (its ``_e_step`` + ``_m_step``, the body of its
    fit loop) on the complete data, from the same start: the peer reference point. No peer
    fits missing values exactly with full covariance, so none runs on the NaN data.
patterns
    Distinct missingness patterns in the data (and rows with at least one NaN).
dLL/it
    Smallest increase of the observed-data log-likelihood over the timed iterations of the
    missing case (EM never lowers it; negative would be a bug).
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
from emkit.families._gaussian_missing import group_patterns

# (name, covariance type, n, d, k)
CASES: list[tuple[str, str, int, int, int]] = [
    ("full", "full", 200_000, 16, 8),
    ("diag", "diag", 200_000, 16, 8),
]

MISSING_FRACTION = 0.1


class Runner:
    """EM iterations of a FiniteMixture on one array, as the batch schedule runs them."""

    def __init__(self, model: Any, X: np.ndarray, params: Any) -> None:
        self.model, self.X = model, X
        self.stats, self.ll = model.e_step(X, params)
        self.lls = [self.ll]

    def iterate(self) -> None:
        params = self.model.m_step(self.stats)
        self.stats, self.ll = self.model.e_step(self.X, params)
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
    missing = Runner(model, X_missing, params)
    peer = SklearnRunner(kind, X, params)
    # Interleaved, so that a change of the machine's load touches all three alike.
    runners = {"complete": complete, "missing": missing, "sklearn": peer}
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
    steps = np.diff(missing.lls)
    return {
        "case": name,
        "shape": f"{n:,}x{d}, K={k}",
        **seconds,
        "ratio": seconds["missing"] / seconds["complete"],
        "cpu_complete": cpu["complete"],
        "cpu_missing": cpu["missing"],
        "cpu_ratio": cpu["missing"] / cpu["complete"],
        "peer_ratio": seconds["missing"] / seconds["sklearn"],
        "nan_check": nan_check,
        "patterns": len(np.unique(group_patterns(mask).row_pattern)),
        "incomplete_rows": int(mask.any(axis=1).sum()),
        "min_step": float(steps.min()),
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
    rows = []
    for case in cases:
        rows.append(run_case(case, scale, repeats))
        r = rows[-1]
        print(
            f"  {r['case']}: complete {r['complete']:.3f} s/it, missing {r['missing']:.3f} s/it, "
            f"sklearn {r['sklearn']:.3f} s/it (load {os.getloadavg()[0]:.1f})",
            file=sys.stderr,
            flush=True,
        )
    header = (
        "| case | N x D, K | complete s/it | missing s/it | ratio | CPU s/it complete, missing "
        "| CPU ratio | sklearn s/it | missing / sklearn | NaN check s | patterns (incomplete rows) "
        "| dLL/it |"
    )
    print()
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for r in rows:
        print(
            f"| {r['case']} | {r['shape']} | {r['complete']:.3f} | {r['missing']:.3f} "
            f"| {r['ratio']:.2f}x | {r['cpu_complete']:.3f}, {r['cpu_missing']:.3f} "
            f"| {r['cpu_ratio']:.2f}x | {r['sklearn']:.3f} | {r['peer_ratio']:.2f}x "
            f"| {r['nan_check']:.4f} | {r['patterns']:,} ({r['incomplete_rows']:,}) "
            f"| {r['min_step']:.3g} |"
        )
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
