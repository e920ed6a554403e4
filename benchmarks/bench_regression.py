"""Seconds per EM iteration of a mixture of regressions (Gaussian and Poisson components).

Run ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_regression.py`` for both cases, ``--quick``
for a tenth of the rows, ``--cases poisson`` for one (see ``--help``). Everything in one table
comes from the same run: the same data and start for every column of a case.

No peer exists in Python: scikit-learn, statsmodels and the other usual libraries have no mixture
of regressions (R's flexmix and mixtools do). As a reference point the script times what one
M-step of such a mixture costs with scikit-learn's GLMs: K weighted fits (``LinearRegression``
or ``PoissonRegressor(alpha=0)``, ``sample_weight`` = the responsibilities of the start), one
per component, to scikit-learn's own convergence. An EM iteration needs this and an E-step.

Cases
-----
gaussian
    1,000,000 rows, 20 standard normal covariates, K = 4 Gaussian regressions (noise sd 0.5
    to 1.5), ``RegressionMixture(4)``.
poisson
    1,000,000 rows, 20 standard normal covariates, K = 4 Poisson regressions (log link; the
    coefficients are drawn so that most rates lie between about 0.8 and 20),
    ``RegressionMixture(4, "poisson")``.

Start: ``init_params(sample, rng, "random")`` on 20,000 rows, then ``--warmup`` untimed EM
iterations (default 2), so that the timed ones are typical of a fit under way rather than of
the first steps from random responsibilities.

Columns
-------
emkit s/it
    Median seconds of one EM iteration as ``emkit.fit`` runs it with the batch schedule:
    ``BatchEM.iterate`` (the generalised-EM inner loop: ``m_step`` candidates, each checked by
    one inner pass over the data that computes the bound and the statistics at the candidate,
    with step halving) followed by the E-step pass at the accepted parameters; the parameters
    are checked (finite, valid) after every ``m_step`` as ``fit`` does.
inner passes/it
    Mean number of inner passes per timed iteration (``BatchEM.inner_passes``); an iteration
    makes that many passes plus the E-step pass.
s/pass
    emkit s/it divided by (inner passes + 1): the cost of one pass over the rows.
sklearn M-step s
    Seconds of the K weighted scikit-learn fits described above (one run; the reference
    point, not a peer: it does no E-step).
extra MB (% of X)
    Peak memory allocated during one iteration beyond what was allocated before it
    (tracemalloc sees numpy's buffers), and relative to the size of X.
chunk rows
    Rows per chunk of the source (emkit's automatic chunk size for this model).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import emkit
from emkit.em import check_params
from emkit.regression import RegressionMixture, RegressionParams
from emkit.schedules import BatchEM
from emkit.sources import ArraySource, chunk_rows_for

# (name, family, rows, covariates, components)
CASES: list[tuple[str, str, int, int, int]] = [
    ("gaussian", "gaussian", 1_000_000, 20, 4),
    ("poisson", "poisson", 1_000_000, 20, 4),
]

#: Rows of the sample the start is fitted on.
START_ROWS = 20_000


def describe_machine() -> list[str]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import scipy

    try:
        import sklearn

        sk = f"scikit-learn {sklearn.__version__}"
    except ImportError:
        sk = "scikit-learn not installed"
    return [
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"cpu: {model}, {os.cpu_count()} cores; python {platform.python_version()}",
        f"numpy {np.__version__}, scipy {scipy.__version__}, {sk}, "
        f"emkit {getattr(emkit, '__version__', '?')}",
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '<unset>')}",
        f"load average at start: {os.getloadavg()}",
    ]


# -- data and start --------------------------------------------------------------------------------
def case_data(family: str, n: int, p: int, k: int, seed: int = 0) -> np.ndarray:
    """Rows ``(x_1, ..., x_p, y)`` of a K-component regression mixture with unequal weights."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p))
    weights = rng.dirichlet(np.full(k, 5.0))
    labels = rng.choice(k, size=n, p=weights)
    if family == "gaussian":
        coef = rng.normal(0.0, 2.0, (k, p + 1))
        sd = rng.uniform(0.5, 1.5, k)
        y = coef[labels, 0] + np.einsum("np,np->n", x, coef[labels, 1:])
        y += sd[labels] * rng.standard_normal(n)
    else:
        # Intercepts log 2 to log 8, slopes small enough that eta has sd about 0.45.
        coef = np.column_stack(
            [rng.uniform(np.log(2.0), np.log(8.0), k), rng.normal(0.0, 0.1, (k, p))]
        )
        eta = coef[labels, 0] + np.einsum("np,np->n", x, coef[labels, 1:])
        y = rng.poisson(np.exp(eta)).astype(np.float64)
    return np.column_stack([x, y])


def start_params(model: RegressionMixture, X: np.ndarray) -> RegressionParams:
    rng = np.random.default_rng(1)
    sample = X[rng.choice(X.shape[0], size=min(X.shape[0], START_ROWS), replace=False)]
    return model.init_params(sample, rng, "random")


# -- runners ---------------------------------------------------------------------------------------
class EmkitRunner:
    """One EM iteration as ``emkit.fit`` runs it (batch schedule, generalised-EM inner loop)."""

    def __init__(self, model: RegressionMixture, X: np.ndarray, params: RegressionParams) -> None:
        self.model = model
        self.source = ArraySource(X)
        self.schedule: BatchEM[RegressionParams, Any] = BatchEM(model, self.source)
        self.stats, self.ll = self.schedule.start(params)
        self.params = params
        self.passes: list[int] = []
        self.history = [self.ll]

    def _m_step(self, stats: Any) -> RegressionParams:
        params = self.model.m_step(stats)
        check_params(self.model, params, self.source.n_features, "m_step")
        return params

    def iterate(self) -> None:
        self.params, self.stats, self.ll = self.schedule.iterate(self.stats, self._m_step)
        self.passes.append(self.schedule.inner_passes)
        self.history.append(self.ll)


def sklearn_m_step(family: str, X: np.ndarray, resp: np.ndarray) -> float:
    """Seconds of K weighted scikit-learn GLM fits (one per component), to convergence."""
    from sklearn.linear_model import LinearRegression, PoissonRegressor

    x, y = X[:, :-1], X[:, -1]
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs may report its own iteration limit
        for k in range(resp.shape[1]):
            if family == "gaussian":
                LinearRegression().fit(x, y, sample_weight=resp[:, k])
            else:
                PoissonRegressor(alpha=0.0, solver="newton-cholesky", max_iter=100).fit(
                    x, y, sample_weight=resp[:, k]
                )
    return time.perf_counter() - start


def extra_memory(fn: Callable[[], Any]) -> float:
    """Peak bytes allocated by ``fn()`` beyond those live before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        return float(tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()


def _time(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_case(
    case: tuple[str, str, int, int, int], scale: float, repeats: int, warmup: int
) -> dict[str, Any]:
    name, family, n, p, k = case
    n = max(int(n * scale), 100 * k)
    X = case_data(family, n, p, k)
    model = RegressionMixture(k, family)
    runner = EmkitRunner(model, X, start_params(model, X))
    for _ in range(warmup):
        runner.iterate()
    # The first measured iteration runs under tracemalloc (memory); then the timed ones.
    mem = extra_memory(runner.iterate)
    timed_from = len(runner.passes)
    seconds = [_time(runner.iterate) for _ in range(repeats)]
    passes = runner.passes[timed_from:]
    resp = model.responsibilities(X, runner.params)
    try:
        sk_s: float | None = sklearn_m_step(family, X, resp)
    except ImportError:
        sk_s = None
    s_it = statistics.median(seconds)
    inner = float(np.mean(passes))
    decreases = np.diff(runner.history)
    return {
        "case": name,
        "shape": f"{n:,} x {p}, K={k}",
        "s_it": s_it,
        "inner": inner,
        "passes": passes,
        "s_pass": s_it / (inner + 1.0),
        "sk_s": sk_s,
        "mem_mb": mem / 1e6,
        "x_mb": X.nbytes / 1e6,
        "chunk_rows": chunk_rows_for(model, X.shape[1], X.dtype.itemsize),
        "ll": runner.ll,
        "worst_decrease": float(min(decreases.min(), 0.0)),
        "iterations": len(runner.passes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows, 2 repeats")
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="timed iterations per case")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations first")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    repeats = 2 if args.quick else args.repeats
    wanted = [c for c in args.cases.split(",") if c]
    cases = [c for c in CASES if not wanted or c[0] in wanted]

    for line in describe_machine():
        print(line)
    print(f"repeats: {repeats} (median reported), warm-up iterations: {args.warmup}")
    rows = []
    for case in cases:
        rows.append(run_case(case, scale, repeats, args.warmup))
        r = rows[-1]
        print(
            f"  {r['case']}: {r['s_it']:.3f} s/it, inner passes {r['passes']}, "
            f"log-likelihood {r['ll']:.6e} after {r['iterations']} iterations, largest "
            f"decrease {r['worst_decrease']:.1e} (load {os.getloadavg()[0]:.1f})",
            file=sys.stderr,
            flush=True,
        )
    header = (
        "| case | rows x covariates, K | emkit s/it | inner passes/it | s/pass "
        "| sklearn M-step s | extra MB (% X) | chunk rows |"
    )
    print()
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        sk = "n/a" if r["sk_s"] is None else f"{r['sk_s']:.3f}"
        pct = 100 * r["mem_mb"] / r["x_mb"]
        print(
            f"| {r['case']} | {r['shape']} | {r['s_it']:.3f} | {r['inner']:.1f} "
            f"| {r['s_pass']:.3f} | {sk} | {r['mem_mb']:.0f} ({pct:.0f}%) "
            f"| {r['chunk_rows']:,} |"
        )
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
