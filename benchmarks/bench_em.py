"""Seconds per EM iteration: emkit against scikit-learn (and a plain numpy EM), one table.

Run ``python benchmarks/bench_em.py`` for every case, or ``--quick`` for a tenth of the rows, or
``--cases full-1M,diag`` for a subset (see ``--help``). Everything in one table comes from the same
run: the matrix-multiply peak of this machine (float64 and float32), then for every case the same
data and the same initial parameters for emkit and its peer.

Columns
-------
emkit s/it, peer s/it
    Median seconds of one EM iteration (E-step over all rows + M-step), initialisation excluded.
    The peer is scikit-learn's GaussianMixture (its own ``_e_step`` + ``_m_step``, the body of
    its fit loop) or, for Bernoulli and Poisson, a straightforward vectorised numpy EM.
speedup
    peer s/it divided by emkit s/it.
GF/s, %peak
    emkit's floating-point rate counted on the products an iteration needs (see ``flops``) and
    its fraction of the measured matrix-multiply peak of the data's dtype.
extra MB (emkit, peer), % of X
    Peak memory allocated during one iteration beyond what was allocated before it (tracemalloc
    sees numpy's buffers), in MB and relative to the size of X.
k-means++ init s
    Seconds of ``init_params(..., "k-means++")`` on the initialisation sample that ``fit`` uses
    (at most INIT_SAMPLE_ROWS rows): seeding plus one M-step; compare with one iteration.
dLL
    Relative difference of the final log-likelihoods after the same iterations from the same
    start (should be ~1e-12 in float64, ~1e-6 in float32).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import gammaln, logsumexp

import emkit
from emkit.em import check_params
from emkit.sources import CHUNK_BYTES, INIT_SAMPLE_ROWS, ArraySource, chunk_rows_for

# -- the machine ----------------------------------------------------------------------------------


def gemm_peak(dtype: type, size: int = 3000, repeats: int = 5) -> float:
    """Best GFLOP/s of a square matrix product on this machine (all BLAS threads)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    a @ b
    best = min(_time(lambda: a @ b) for _ in range(repeats))
    return 2.0 * size**3 / best / 1e9


def _time(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def describe_machine() -> list[str]:
    lines = [f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}"]
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    lines.append(f"cpu: {model}, {os.cpu_count()} cores; python {platform.python_version()}")
    try:
        import threadpoolctl

        for lib in threadpoolctl.threadpool_info():
            lines.append(
                f"blas: {lib.get('internal_api')} {lib.get('version')} "
                f"({lib.get('architecture')} kernel, {lib.get('num_threads')} threads)"
            )
    except ImportError:
        lines.append("blas: threadpoolctl missing, not reported")
    coretype = os.environ.get("OPENBLAS_CORETYPE", "<unset>")
    l2 = os.environ.get("OPENBLAS_L2_SIZE", "<unset>")
    lines.append(f"OPENBLAS_CORETYPE={coretype} OPENBLAS_L2_SIZE={l2}")
    lines.append(f"numpy {np.__version__}; load average at start: {os.getloadavg()}")
    return lines


# -- cases ----------------------------------------------------------------------------------------


def gaussian_data(n: int, d: int, k: int, dtype: type, seed: int = 0) -> np.ndarray:
    """K well-separated correlated Gaussian blobs."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, 1.5, (k, d))
    labels = rng.integers(0, k, n)
    X = np.empty((n, d), dtype=dtype)
    for j in range(k):
        rows = labels == j
        factor = np.tril(rng.normal(0.0, 0.15, (d, d)), -1) + np.diag(rng.uniform(0.4, 0.9, d))
        X[rows] = centers[j] + rng.standard_normal((int(rows.sum()), d)) @ factor.T
    return X


def bernoulli_data(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    prototypes = rng.beta(0.5, 0.5, (k, d))
    labels = rng.integers(0, k, n)
    return (rng.random((n, d)) < prototypes[labels]).astype(np.float64)


def poisson_data(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rates = rng.gamma(2.0, 3.0, (k, d))
    labels = rng.integers(0, k, n)
    return rng.poisson(rates[labels]).astype(np.float64)


# (name, family, kind, n, d, k, dtype)
CASES: list[tuple[str, str, str, int, int, int, type]] = [
    ("full-1M", "gaussian", "full", 1_000_000, 32, 16, np.float64),
    ("full-1M-f32", "gaussian", "full", 1_000_000, 32, 16, np.float32),
    ("full-200k", "gaussian", "full", 200_000, 16, 8, np.float64),
    ("diag", "gaussian", "diag", 200_000, 64, 32, np.float64),
    ("diag-f32", "gaussian", "diag", 200_000, 64, 32, np.float32),
    ("tied", "gaussian", "tied", 200_000, 32, 16, np.float64),
    ("spherical", "gaussian", "spherical", 200_000, 32, 16, np.float64),
    ("bernoulli", "bernoulli", "", 100_000, 784, 50, np.float64),
    ("poisson", "poisson", "", 1_000_000, 16, 16, np.float64),
]


def flops(family: str, kind: str, n: int, d: int, k: int) -> float:
    """Floating-point operations one iteration needs, counted on its matrix products."""
    if family != "gaussian":
        return 4.0 * n * d * k  # X @ eta^T and R^T @ X
    if kind == "full":
        return 4.0 * n * k * d * d  # the count: Mahalanobis + rank updates
    if kind == "tied":
        return 4.0 * n * d * d + 4.0 * n * d * k
    if kind == "diag":
        return 8.0 * n * d * k  # [x^2, x] @ Theta^T and R^T @ [x^2, x]
    return 4.0 * n * (d + 1) * k


# -- emkit ----------------------------------------------------------------------------------------


def make_model(family: str, kind: str, k: int) -> Any:
    if family == "gaussian":
        return emkit.FiniteMixture(emkit.Gaussian(kind), k)
    if family == "bernoulli":
        return emkit.FiniteMixture(emkit.Bernoulli(), k)
    return emkit.FiniteMixture(emkit.Poisson(), k)


class EmkitRunner:
    def __init__(self, model: Any, X: np.ndarray, params: Any, chunk_size: int | None) -> None:
        self.model, self.source = model, ArraySource(X, chunk_size=chunk_size)
        self.params = params
        self.stats, self.ll = self.source.expectation(model, params)
        self.previous_ll = float("nan")

    def iterate(self) -> None:
        # One EM iteration as the driver runs it: the M-step and its guard (finite, and valid
        # for the model's own validate_params), then the E-step pass over all rows.
        self.params = self.model.m_step(self.stats)
        check_params(self.model, self.params, self.source.n_features, "m_step")
        self.previous_ll = self.ll
        self.stats, self.ll = self.source.expectation(self.model, self.params)


# -- scikit-learn ---------------------------------------------------------------------------------


class SklearnRunner:
    def __init__(self, kind: str, X: np.ndarray, params: Any) -> None:
        from sklearn.mixture import GaussianMixture

        comps = params.components
        cov = comps.covariances
        if kind == "full":
            precisions = np.linalg.inv(cov)
        elif kind == "tied":
            precisions = np.linalg.inv(cov[0])
        else:
            precisions = 1.0 / cov
        self.X = X
        self.gm = GaussianMixture(
            n_components=comps.means.shape[0],
            covariance_type=kind,
            weights_init=params.weights,
            means_init=comps.means,
            precisions_init=precisions,
            max_iter=1,
            tol=0.0,
            reg_covar=1e-6,
        )
        # Set up the initial parameters exactly as fit() does, without iterating.
        self.gm._initialize_parameters(X, np.random.RandomState(0))
        self.ll = float("nan")

    def iterate(self) -> None:
        # The body of GaussianMixture's fit loop.
        log_prob_norm, log_resp = self.gm._e_step(self.X)
        self.gm._m_step(self.X, log_resp)
        self.ll = float(log_prob_norm) * self.X.shape[0]


class NumpyRunner:
    """Straightforward vectorised numpy EM for Bernoulli or Poisson mixtures (the baseline)."""

    def __init__(self, family: str, X: np.ndarray, params: Any, pseudo_count: float) -> None:
        self.family, self.X = family, X
        self.weights = params.weights.copy()
        self.mean = params.components.mean.copy()
        self.c = pseudo_count
        self.ll = float("nan")

    def iterate(self) -> None:
        X, mean = self.X, self.mean
        if self.family == "bernoulli":
            log_p = X @ np.log(mean).T + (1.0 - X) @ np.log1p(-mean).T
        else:
            log_p = X @ np.log(mean).T - mean.sum(axis=1) - gammaln(X + 1.0).sum(axis=1)[:, None]
        log_p += np.log(self.weights)
        log_norm = logsumexp(log_p, axis=1)
        resp = np.exp(log_p - log_norm[:, None])
        counts = resp.sum(axis=0)
        if self.family == "bernoulli":
            self.mean = (resp.T @ X + self.c) / (counts[:, None] + 2.0 * self.c)
        else:
            self.mean = (resp.T @ X) / counts[:, None]
        self.weights = counts / counts.sum()
        self.ll = float(log_norm.sum())


# -- measuring ------------------------------------------------------------------------------------


def time_iterations(runner: Any, repeats: int) -> float:
    return statistics.median(_time(runner.iterate) for _ in range(repeats))


def extra_memory(runner: Any) -> float:
    """Peak bytes allocated by one iteration beyond those live before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        runner.iterate()
        return float(tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()


def run_case(
    case: tuple[str, str, str, int, int, int, type],
    scale: float,
    repeats: int,
    chunk_size: int | None,
    peaks: dict[Any, float],
) -> dict[str, Any]:
    name, family, kind, n, d, k, dtype = case
    n = max(int(n * scale), 20 * k)
    if family == "gaussian":
        X = gaussian_data(n, d, k, dtype)
    elif family == "bernoulli":
        X = bernoulli_data(n, d, k)
    else:
        X = poisson_data(n, d, k)
    model = make_model(family, kind, k)
    # What fit(init="k-means++") costs: seeding and one M-step on the initialisation sample.
    init_rows = X[np.random.default_rng(2).choice(n, size=min(n, INIT_SAMPLE_ROWS), replace=False)]
    init_s = _time(lambda: model.init_params(init_rows, np.random.default_rng(3), "k-means++"))
    rng = np.random.default_rng(1)
    # The same start for float32 and float64 versions of a case: initialise in float64.
    sample = X[rng.choice(n, size=min(n, 20_000), replace=False)].astype(np.float64)
    params = model.init_params(sample, rng, "k-means++")
    if family == "gaussian":
        peer: Any = SklearnRunner(kind, X, params)
        peer_name = "sklearn"
    else:
        pseudo = model.family.pseudo_count if family == "bernoulli" else 0.0
        peer = NumpyRunner(family, X, params, pseudo)
        peer_name = "numpy"
    ours = EmkitRunner(model, X, params, chunk_size)
    # The first iteration of each runs under tracemalloc (memory, and a warm-up for the
    # timings); then the timed ones. Both run the same iterations from the same start.
    ours_mem = extra_memory(ours)
    ours_s = time_iterations(ours, repeats)
    peer_mem = extra_memory(peer)
    peer_s = time_iterations(peer, repeats)
    gf = flops(family, kind, n, d, k) / ours_s / 1e9
    return {
        "case": name,
        "shape": f"{n:,}x{d}x{k}",
        "dtype": np.dtype(dtype).name,
        "peer": peer_name,
        "ours_s": ours_s,
        "peer_s": peer_s,
        "speedup": peer_s / ours_s,
        "gflops": gf,
        "peak_frac": gf / peaks[np.dtype(dtype)],
        "ours_mem": ours_mem / 1e6,
        "peer_mem": peer_mem / 1e6,
        "x_mb": X.nbytes / 1e6,
        "init_s": init_s,
        "chunk_rows": chunk_size or chunk_rows_for(model, d, X.dtype.itemsize),
        # The peer's E-step comes before its M-step, emkit's after: after the same number of
        # iterations the peer's log-likelihood belongs to emkit's previous parameters.
        "ours_ll": ours.previous_ll,
        "peer_ll": peer.ll,
        "ours": ours,
        "X": X,
        "model": model,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows, 2 repeats")
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="timed iterations per runner")
    parser.add_argument("--chunk-size", type=int, default=None, help="rows per emkit chunk")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    repeats = 2 if args.quick else args.repeats
    wanted = [c for c in args.cases.split(",") if c]
    cases = [c for c in CASES if not wanted or c[0] in wanted]

    for line in describe_machine():
        print(line)
    peaks = {
        np.dtype(np.float64): gemm_peak(np.float64),
        np.dtype(np.float32): gemm_peak(np.float32),
    }
    print(
        f"matmul peak (3000^2, all threads): float64 {peaks[np.dtype(np.float64)]:.1f} GFLOP/s, "
        f"float32 {peaks[np.dtype(np.float32)]:.1f} GFLOP/s; emkit chunk budget "
        f"{CHUNK_BYTES / 2**20:.0f} MiB"
    )
    rows = []
    for case in cases:
        rows.append(run_case(case, scale, repeats, args.chunk_size, peaks))
        r = rows[-1]
        print(
            f"  {r['case']}: emkit {r['ours_s']:.3f} s/it, {r['peer']} {r['peer_s']:.3f} s/it "
            f"(load {os.getloadavg()[0]:.1f})",
            file=sys.stderr,
            flush=True,
        )
    _report_float32(rows)
    header = (
        "| case | N x D x K | dtype | emkit s/it | peer | peer s/it | speedup | emkit GF/s "
        "| % peak | extra MB emkit (% X) | extra MB peer (% X) | chunk rows | dLL "
        "| k-means++ init s |"
    )
    print()
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for r in rows:
        dll = abs(r["ours_ll"] - r["peer_ll"]) / abs(r["peer_ll"])
        ours_pct = 100 * r["ours_mem"] / r["x_mb"]
        peer_pct = 100 * r["peer_mem"] / r["x_mb"]
        print(
            f"| {r['case']} | {r['shape']} | {r['dtype']} | {r['ours_s']:.3f} | {r['peer']} "
            f"| {r['peer_s']:.3f} | {r['speedup']:.1f}x | {r['gflops']:.1f} "
            f"| {100 * r['peak_frac']:.0f}% | {r['ours_mem']:.0f} ({ours_pct:.0f}%) "
            f"| {r['peer_mem']:.0f} ({peer_pct:.0f}%) | {r['chunk_rows']:,} "
            f"| {dll:.1e} | {r['init_s']:.2f} |"
        )
    print(f"\nload average at end: {os.getloadavg()}")


def _report_float32(rows: list[dict[str, Any]]) -> None:
    """float32 against float64 on the same case: time ratio and parameter agreement."""
    by_name = {r["case"]: r for r in rows}
    for base in ("full-1M", "diag"):
        r64, r32 = by_name.get(base), by_name.get(base + "-f32")
        if r64 is None or r32 is None:
            continue
        p64, p32 = r64["ours"].params, r32["ours"].params
        # The float32 data are the float64 data rounded; compare parameters after the same
        # iterations from their own (float32 / float64) starts.
        rel = max(
            _relative(p32.weights, p64.weights),
            _relative(p32.components.means, p64.components.means),
            _relative(p32.components.covariances, p64.components.covariances),
        )
        print(
            f"float32 vs float64 ({base}): {r64['ours_s'] / r32['ours_s']:.2f}x faster; "
            f"parameters agree to {rel:.1e} (max relative, norm-wise per array)"
        )


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


if __name__ == "__main__":
    main()
