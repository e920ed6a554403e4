"""Time emkit's forward-backward (both engines) against hmmlearn's C++ kernels on the same
log-emissions.

    OPENBLAS_NUM_THREADS=1 python benchmarks/profile_lattice.py [--profile]

(a) one sequence, T = 1,000,000, K = 4; (b) 1,000 sequences x 1,000 steps, K = 8. hmmlearn's E-step
per sequence (as its ``fit`` does): ``exp`` of the log-emissions, ``forward_scaling``,
``backward_scaling``, the posteriors and ``compute_scaling_xi_sum``. emkit: ``forward_backward``
on the whole chunk (posteriors, start and transition counts, log-likelihoods) with
``engine="numba"`` (when numba is installed) and ``engine="numpy"``; ``viterbi`` likewise.
``--profile`` adds a cProfile of every emkit engine's ``forward_backward``.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from emkit.hmm.lattice import forward_backward, viterbi

REPEATS = 3


def problem(n_seq: int, length: int, K: int, seed: int = 0) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    states = rng.integers(0, K, size=n_seq * length)
    means = np.arange(K, dtype=float)
    x = means[states] + 0.7 * rng.standard_normal(states.size)
    log_emission = -0.5 * (x[:, None] - means) ** 2 / 0.49 - np.log(0.7 * np.sqrt(2 * np.pi))
    transmat = np.full((K, K), 0.1 / (K - 1)) + np.eye(K) * (0.9 - 0.1 / (K - 1))
    startprob = np.full(K, 1.0 / K)
    return log_emission, startprob, transmat, np.full(n_seq, length)


def hmmlearn_estep(log_emission: Any, startprob: Any, transmat: Any, lengths: Any) -> float:
    from hmmlearn import _hmmc

    total = 0.0
    K = startprob.size
    xi = np.zeros((K, K))
    start = 0
    for n in lengths:
        frameprob = np.exp(log_emission[start : start + n])
        ll, fwd, scaling = _hmmc.forward_scaling(startprob, transmat, frameprob)
        bwd = _hmmc.backward_scaling(startprob, transmat, frameprob, scaling)
        post = fwd * bwd
        post /= post.sum(axis=1, keepdims=True)
        xi += _hmmc.compute_scaling_xi_sum(fwd, transmat, bwd, frameprob)
        total += ll
        start += n
    return total


def best_of(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    engines = ["numpy"]
    try:
        import numba  # noqa: F401
    except ImportError:
        print("numba is not installed: the numpy engine only")
    else:
        engines.insert(0, "numba")
    cases = {
        "(a) 1 x 1,000,000, K=4": problem(1, 1_000_000, 4),
        "(b) 1,000 x 1,000, K=8": problem(1000, 1000, 8),
    }
    for name, (E, pi, A, lengths) in cases.items():
        theirs = best_of(lambda E=E, pi=pi, A=A, lengths=lengths: hmmlearn_estep(E, pi, A, lengths))
        ll_theirs = hmmlearn_estep(E, pi, A, lengths)
        print(f"{name}: hmmlearn {theirs:.3f} s")
        for engine in engines:
            forward_backward(E[:10], pi, A, np.array([10]), engine=engine)  # compile / load
            viterbi(E[:10], pi, A, np.array([10]), engine=engine)

            def ours_fb(E: Any = E, pi: Any = pi, A: Any = A, n: Any = lengths) -> Any:
                return forward_backward(E, pi, A, n, engine=engine)  # noqa: B023

            def ours_v(E: Any = E, pi: Any = pi, A: Any = A, n: Any = lengths) -> Any:
                return viterbi(E, pi, A, n, engine=engine)  # noqa: B023

            ours = best_of(ours_fb)
            ll_ours = ours_fb().log_likelihood.sum()
            print(
                f"    emkit {engine}: {ours:.3f} s, hmmlearn/emkit = {theirs / ours:.2f}; "
                f"log-likelihood difference {abs(ll_ours - ll_theirs) / abs(ll_theirs):.1e} "
                f"(rel.); viterbi {best_of(ours_v):.3f} s"
            )
            if "--profile" in sys.argv:
                profiler = cProfile.Profile()
                profiler.runcall(ours_fb)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
