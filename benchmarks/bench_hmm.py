"""Seconds per Baum-Welch iteration of a Gaussian HMM: emkit against hmmlearn, one table.

Run ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_hmm.py`` for both cases, ``--quick`` for a
tenth of the frames, or ``--cases long`` / ``--cases many`` for one (see ``--help``);
``--profile`` adds a cProfile of one emkit iteration of every case. Everything in one table comes
from the same run: the same data and the same starting parameters for emkit and hmmlearn.

Cases
-----
long
    One sequence of T = 1,000,000 frames, K = 4 states, diagonal Gaussian emissions, D = 2.
many
    1,000 sequences of 1,000 frames, K = 8 states, full Gaussian emissions, D = 4.

Columns
-------
emkit numba s/it, emkit numpy s/it
    Median seconds of one iteration as ``emkit.fit`` does it: ``source.expectation(model,
    params)`` (the forward-backward E-step over every sequence, chunked by the source) plus
    ``model.m_step(stats)``; initialisation excluded. Once with the lattice engine that
    ``engine="auto"`` picks (numba when it is installed: the header says which), once with the
    numpy engine (the fallback without numba), forced by making the compiled kernels look
    unimportable for the duration of that runner. The kernels are compiled (or loaded from
    numba's disk cache) in an untimed warm-up iteration.
hmmlearn scaling s/it, hmmlearn log s/it
    Median seconds of ``GaussianHMM(n_iter=1, init_params="", params="stmc",
    implementation=...).fit(X, lengths)`` with ``startprob_``, ``transmat_``, ``means_`` and
    ``covars_`` set to emkit's start: exactly one E-step and one M-step. The faster of the two
    implementations is the peer.
speedup numba, speedup numpy
    peer s/it divided by emkit s/it of that engine.
dLL
    Relative difference of the log-likelihoods at the start computed by both (emkit's E-step,
    hmmlearn's ``score``): they evaluate the same model.
emkit numba MB, emkit numpy MB, hmmlearn MB
    Peak memory allocated during one iteration beyond what was allocated before it
    (tracemalloc sees numpy's buffers), against ``T K K`` float64 (what storing every
    ``xi_t`` would take) and ``T K`` float64 (one posterior array).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import platform
import pstats
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import emkit
from emkit import HiddenMarkovModel, HMMParams
from emkit.hmm import lattice
from emkit.sources import ArraySource

# (name, n_sequences, length, K, D, covariance type)
CASES: list[tuple[str, int, int, int, int, str]] = [
    ("long", 1, 1_000_000, 4, 2, "diag"),
    ("many", 1000, 1000, 8, 4, "full"),
]

#: Probability of staying in a state of the benchmark's chain.
STAY = 0.9

#: hmmlearn's floor on variances, set to emkit's default ``reg_covar`` so both fit one model.
MIN_COVAR = 1e-6


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
    import hmmlearn
    import scipy

    try:
        import numba

        compiled = f"numba {numba.__version__}"
    except ImportError:
        compiled = "numba not installed"

    return [
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"cpu: {model}, {os.cpu_count()} cores; python {platform.python_version()}",
        f"numpy {np.__version__}, scipy {scipy.__version__}, hmmlearn {hmmlearn.__version__}, "
        f"emkit {emkit.__version__ if hasattr(emkit, '__version__') else '?'}, {compiled}",
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '<unset>')}",
        f"load average at start: {os.getloadavg()}",
    ]


# -- data and start --------------------------------------------------------------------------------
def sticky_states(n: int, K: int, rng: np.random.Generator) -> np.ndarray:
    """A path of the chain that stays with probability STAY and otherwise moves uniformly.

    Drawn run by run (geometric durations, a uniformly chosen different next state), so that a
    million frames need no Python loop over time.
    """
    n_runs = int(n * (1.0 - STAY) * 1.5) + 10
    durations = rng.geometric(1.0 - STAY, size=n_runs)
    while durations.sum() < n:
        durations = np.concatenate([durations, rng.geometric(1.0 - STAY, size=n_runs)])
    steps = rng.integers(1, K, size=durations.size)
    run_states = (rng.integers(K) + np.concatenate([[0], np.cumsum(steps[1:])])) % K
    return np.repeat(run_states, durations)[:n]


def case_data(
    n_seq: int, length: int, K: int, D: int, kind: str, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Frames of ``n_seq`` sequences from a sticky Gaussian HMM with K separated states."""
    rng = np.random.default_rng(seed)
    n = n_seq * length
    states = sticky_states(n, K, rng)
    means = rng.normal(0.0, 2.0, size=(K, D))
    if kind == "full":
        factors = np.tril(rng.normal(0.0, 0.3, size=(K, D, D)), -1) + np.eye(D) * 0.8
        noise = np.einsum("nij,nj->ni", factors[states], rng.standard_normal((n, D)))
    else:
        noise = rng.uniform(0.5, 1.0, size=(K, D))[states] * rng.standard_normal((n, D))
    return means[states] + noise, np.full(n_seq, length)


def start_params(model: Any, X: np.ndarray) -> Any:
    """emkit's own start (k-means on a sample of frames), with a sticky transition matrix."""
    rng = np.random.default_rng(1)
    sample = X[rng.choice(X.shape[0], size=min(X.shape[0], 20_000), replace=False)]
    params = model.init_params(sample, rng)
    K = model.n_states
    transmat = np.full((K, K), (1.0 - 0.8) / (K - 1)) + np.eye(K) * (0.8 - 0.2 / (K - 1))
    return HMMParams(params.startprob, transmat, params.emission)


# -- runners ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def lattice_engine(engine: str) -> Iterator[None]:
    """Run the model-level code (which calls the lattice with ``engine="auto"``) on ``engine``.

    ``"numpy"`` makes the compiled kernels look unimportable, as on an installation without
    numba; ``"auto"`` leaves everything as it is.
    """
    if engine == "auto":
        yield
        return
    saved = lattice._compiled
    lattice._compiled = ImportError("numba switched off by the benchmark")
    try:
        yield
    finally:
        lattice._compiled = saved


class EmkitRunner:
    def __init__(
        self, model: Any, X: np.ndarray, lengths: np.ndarray, params: Any, engine: str = "auto"
    ) -> None:
        self.model = model
        self.source = ArraySource(X, lengths=lengths)
        self.params = params
        self.engine = engine

    def iterate(self) -> Any:
        with lattice_engine(self.engine):
            stats, _ = self.source.expectation(self.model, self.params)
            return self.model.m_step(stats)

    def start_log_likelihood(self) -> float:
        with lattice_engine(self.engine):
            return float(self.source.expectation(self.model, self.params)[1])


class HmmlearnRunner:
    def __init__(
        self, kind: str, X: np.ndarray, lengths: np.ndarray, params: Any, implementation: str
    ) -> None:
        self.kind, self.X, self.lengths = kind, X, lengths
        self.params, self.implementation = params, implementation

    def make(self) -> Any:
        from hmmlearn.hmm import GaussianHMM

        p = self.params
        hmm = GaussianHMM(
            n_components=p.startprob.shape[0],
            covariance_type=self.kind,
            n_iter=1,
            tol=0.0,
            init_params="",
            params="stmc",
            implementation=self.implementation,
            min_covar=MIN_COVAR,
        )
        hmm.n_features = self.X.shape[1]
        hmm.startprob_ = p.startprob.copy()
        hmm.transmat_ = p.transmat.copy()
        hmm.means_ = p.emission.means.copy()
        hmm.covars_ = p.emission.covariances.copy()
        return hmm

    def iterate(self) -> Any:
        hmm = self.make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return hmm.fit(self.X, self.lengths)

    def start_log_likelihood(self) -> float:
        return float(self.make().score(self.X, self.lengths))


def median_seconds(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def extra_memory_mb(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - before) / 1e6


def profile_emkit(runner: EmkitRunner, lines: int = 18) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    runner.iterate()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    return out.getvalue()


def run_case(
    name: str, n_seq: int, length: int, K: int, D: int, kind: str, repeats: int, profile: bool
) -> dict[str, Any]:
    X, lengths = case_data(n_seq, length, K, D, kind)
    model = HiddenMarkovModel(emkit.Gaussian(kind), K)
    params = start_params(model, X)
    ours = {engine: EmkitRunner(model, X, lengths, params, engine) for engine in ("auto", "numpy")}
    peers = {impl: HmmlearnRunner(kind, X, lengths, params, impl) for impl in ("scaling", "log")}

    row: dict[str, Any] = {"case": name, "shape": f"{n_seq} x {length}, K={K}, {kind} D={D}"}
    for engine, runner in ours.items():
        runner.iterate()  # compiles or loads the kernels, warms caches
        row[f"{engine} MB"] = extra_memory_mb(runner.iterate)
        row[engine] = median_seconds(runner.iterate, repeats)
    for impl, peer in peers.items():
        if impl == "scaling":
            row["hmmlearn MB"] = extra_memory_mb(peer.iterate)
        row[impl] = median_seconds(peer.iterate, repeats)
    row["peer"] = min(row["scaling"], row["log"])
    ll_theirs = peers["scaling"].start_log_likelihood()
    for engine, runner in ours.items():
        row[f"speedup {engine}"] = row["peer"] / row[engine]
        row[f"dLL {engine}"] = abs(runner.start_log_likelihood() - ll_theirs) / abs(ll_theirs)
    n = n_seq * length
    row["TKK MB"] = n * K * K * 8 / 1e6
    row["TK MB"] = n * K * 8 / 1e6
    if profile:
        row["profile"] = {engine: profile_emkit(runner) for engine, runner in ours.items()}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the frames, 2 repeats")
    parser.add_argument("--cases", default="", help="comma-separated: long, many (default both)")
    parser.add_argument("--repeats", type=int, default=3, help="timed iterations per runner")
    parser.add_argument("--profile", action="store_true", help="cProfile one emkit iteration")
    args = parser.parse_args()
    wanted = [c for c in args.cases.split(",") if c]
    unknown = set(wanted) - {c[0] for c in CASES}
    if unknown:
        parser.error(f"unknown case(s) {sorted(unknown)}; choose from {[c[0] for c in CASES]}")
    repeats = 2 if args.quick else args.repeats
    for line in describe_machine():
        print(line)
    print(f"repeats: {repeats} (median reported){'; --quick: a tenth of the frames' * args.quick}")
    auto = lattice.engine_in_use()
    print(f"lattice engine of emkit's default (engine='auto'): {auto}; second emkit line: numpy")

    rows = []
    for name, n_seq, length, K, D, kind in CASES:
        if wanted and name not in wanted:
            continue
        if args.quick:
            n_seq, length = (n_seq, length // 10) if n_seq == 1 else (n_seq // 10, length)
        rows.append(run_case(name, n_seq, length, K, D, kind, repeats, args.profile))

    print()
    print(
        f"| case | data | emkit {auto} s/it | emkit numpy s/it | hmmlearn scaling s/it "
        f"| hmmlearn log s/it | speedup {auto} | speedup numpy | dLL | emkit {auto} MB "
        "| emkit numpy MB | hmmlearn MB | T K K MB | T K MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        dll = max(r["dLL auto"], r["dLL numpy"])
        print(
            f"| {r['case']} | {r['shape']} | {r['auto']:.3f} | {r['numpy']:.3f} | "
            f"{r['scaling']:.3f} | {r['log']:.3f} | {r['speedup auto']:.2f} | "
            f"{r['speedup numpy']:.2f} | {dll:.1e} | {r['auto MB']:.0f} | {r['numpy MB']:.0f} | "
            f"{r['hmmlearn MB']:.0f} | {r['TKK MB']:.0f} | {r['TK MB']:.0f} |"
        )
    for r in rows:
        for engine, text in r.get("profile", {}).items():
            label = f"{auto} (auto)" if engine == "auto" else engine
            print(f"\ncProfile of one emkit iteration, case {r['case']}, engine {label}:\n{text}")
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
