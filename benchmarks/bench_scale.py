"""What scale-out costs: in-memory vs Dask per-iteration time, and the memory of a memmap fit.

Run from the repository root (needs the ``dask`` extra)::

    python benchmarks/bench_scale.py            # about a minute on 2 cores
    python benchmarks/bench_scale.py --quick    # smaller data, a few seconds

It prints two tables:

1. seconds per EM iteration of the same model, data and start fitted from a numpy array and
   from a Dask array on a ``LocalCluster`` of 2 worker processes (1 thread each), and their
   ratio;
2. the peak memory of a fit of a ``.npy`` file several times larger than the block size, read
   as a memory map, next to a fit of the same file loaded into memory. Each fit runs in a fresh
   subprocess; the peak resident size comes from ``resource.getrusage`` and the peak of Python
   allocations (numpy arrays included) from ``tracemalloc``.

Not a test: the numbers depend on the machine. docs/scaling.md records one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from typing import Any

import numpy as np

import emkit

N_COMPONENTS = 4


def make_data(n: int, d: int, seed: int = 0) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 5.0, (N_COMPONENTS, d))
    z = rng.integers(0, N_COMPONENTS, n)
    return centres[z] + rng.normal(size=(n, d))


def model_and_start(X: np.ndarray[Any, Any]) -> tuple[Any, Any]:
    model = emkit.FiniteMixture(emkit.Gaussian("full"), N_COMPONENTS)
    start = model.init_params(X[:5000], np.random.default_rng(1), "k-means++")
    return model, start


def timed_fit(model: Any, X: Any, start: Any, n_iter: int) -> tuple[float, Any]:
    """Median seconds per EM iteration (M-step plus one pass) over ``n_iter`` iterations.

    The median of the gaps between callbacks is robust to other load on the machine.
    """
    stamps: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        result = emkit.fit(
            model,
            X,
            init=start,
            max_iter=n_iter,
            tol=0.0,
            callbacks=[lambda state: stamps.append(time.perf_counter())],
        )
    return float(np.median(np.diff(stamps))), result


def dask_table(n: int, d: int, n_iter: int, block_rows: int) -> list[tuple[str, str]]:
    import dask.array as da
    from distributed import Client, LocalCluster
    from threadpoolctl import threadpool_limits

    X = make_data(n, d)
    model, start = model_and_start(X)
    memory_seconds, memory_result = timed_fit(model, X, start, n_iter)
    with threadpool_limits(limits=1, user_api="blas"):
        pinned_seconds, _ = timed_fit(model, X, start, n_iter)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster),
    ):
        dX = da.from_array(X, chunks=(block_rows, d))
        with warnings.catch_warnings():
            # The array travels inside the graph once; real data would be read by Dask itself.
            warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
            source = emkit.sources.as_source(dX)  # persisted once, outside the timing
        dask_seconds, dask_result = timed_fit(model, source, start, n_iter)
    agree = max(
        float(np.max(np.abs(a - b)) / np.max(np.abs(a)))
        for a, b in (
            (memory_result.params.weights, dask_result.params.weights),
            (memory_result.params.components.means, dask_result.params.components.means),
            (
                memory_result.params.components.covariances,
                dask_result.params.components.covariances,
            ),
        )
    )
    return [
        (
            "data",
            f"{n} x {d} float64 ({X.nbytes / 2**20:.0f} MiB), full covariance, K={N_COMPONENTS}",
        ),
        (
            "dask blocks",
            f"{-(-n // block_rows)} blocks of {block_rows} rows, 2 worker processes x 1 thread",
        ),
        ("in-memory s/iteration (default threads)", f"{memory_seconds:.4f}"),
        ("in-memory s/iteration (threadpool_limits(1))", f"{pinned_seconds:.4f}"),
        ("dask s/iteration", f"{dask_seconds:.4f}"),
        (
            "dask / in-memory (default, one thread)",
            f"{dask_seconds / memory_seconds:.2f}, {dask_seconds / pinned_seconds:.2f}",
        ),
        ("max |difference| / max |value| of parameters", f"{agree:.1e}"),
    ]


def peak_resident_kib() -> int:
    """Peak resident size of this process in KiB.

    ``VmHWM`` from /proc on Linux (reset by exec, unlike ``ru_maxrss``, which a child inherits
    from the process that forked it); ``ru_maxrss`` elsewhere.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def memory_child(path: str, mode: str, n_iter: int) -> None:
    """Runs in a subprocess: one fit, then its peak memory as JSON on stdout."""
    baseline = peak_resident_kib()
    tracemalloc.start()
    began = time.perf_counter()
    X: Any = np.load(path) if mode == "in-memory" else path
    sample = np.load(path, mmap_mode="r")[:5000]
    model, start = model_and_start(np.asarray(sample))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        emkit.fit(model, X, init=start, max_iter=n_iter, tol=0.0)
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    rss = peak_resident_kib()
    print(json.dumps({"baseline_kib": baseline, "rss_kib": rss, "traced": peak, "s": seconds}))


def memory_table(n: int, d: int, n_iter: int) -> list[tuple[str, str]]:
    X = make_data(n, d, seed=2)
    budget = emkit.sources.CHUNK_BYTES
    model, _ = model_and_start(X[:5000])
    block_rows = emkit.sources.chunk_rows_for(model, d, 8)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "X.npy")
        np.save(path, X)
        rows.append(
            (
                "file",
                f"{n} x {d} float64, {X.nbytes / 2**20:.0f} MiB = {X.nbytes / budget:.1f} x the "
                f"chunk budget CHUNK_BYTES = {budget / 2**20:.0f} MiB",
            )
        )
        rows.append(
            (
                "rows per block (chunk_rows_for)",
                f"{block_rows} ({block_rows * d * 8 / 2**20:.1f} MiB of data)",
            )
        )
        del X
        for mode in ("memmap", "in-memory"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", path, mode, str(n_iter)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            got = json.loads(out.strip().splitlines()[-1])
            rows.append(
                (
                    f"{mode}: peak resident size (after imports)",
                    f"{got['rss_kib'] / 1024:.0f} MiB ({got['baseline_kib'] / 1024:.0f} MiB)",
                )
            )
            rows.append((f"{mode}: peak traced allocations", f"{got['traced'] / 2**20:.1f} MiB"))
            rows.append((f"{mode}: seconds for {n_iter} iterations", f"{got['s']:.1f}"))
    return rows


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}\n{'-' * len(title)}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, a few seconds")
    args = parser.parse_args()
    if args.quick:
        dask_args = {"n": 50_000, "d": 8, "n_iter": 5, "block_rows": 10_000}
        memory_args = {"n": 300_000, "d": 16, "n_iter": 2}
    else:
        dask_args = {"n": 400_000, "d": 10, "n_iter": 8, "block_rows": 50_000}
        memory_args = {"n": 3_000_000, "d": 16, "n_iter": 2}
    print(
        f"emkit {emkit.__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    print_table("In-memory vs Dask (seconds per EM iteration)", dask_table(**dask_args))
    print_table("Memory of a fit of a .npy file", memory_table(**memory_args))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        memory_child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
