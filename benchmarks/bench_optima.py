"""Optimisation quality of EM's starting strategies: how often does one run reach the best fit?

EM climbs to a local optimum, and which one depends on the start. For every problem of a fixed
suite (``PROBLEMS``: bundled data and seeded synthetic mixtures), this script runs every starting
strategy (``STRATEGIES``) from several seeds and reports, side by side:

* the fraction of single runs whose final objective is within ``REACH_TOL`` per unit of data
  weight of the **best known objective** of the problem (the highest objective of a
  non-collapsed fit ever seen: the cache ``optima_best.json`` next to this script, built by
  ``--best-known`` from many restarts of several strategies, raised whenever a run of this
  script finds more);
* the mean time of one run and the expected **time to reach the best**: the time per run
  divided by the fraction reaching it (the mean time of restarting until the first success);
* how many runs ended with a collapsed component (a component holding less than one data point,
  or a Gaussian variance at its floor ``reg_covar``: a spike on a few equal values whose
  likelihood grows without bound). Such fits never count as reaching the best, and never
  define it.

All runs use the same convergence settings, tighter than the library's defaults so that runs
in the same basin of attraction end at the same objective: ``tol=FIT_TOL`` (change of the
objective per unit weight) and ``max_iter=MAX_ITER``; scikit-learn's ``GaussianMixture`` gets the
same ``tol``, ``max_iter`` and ``reg_covar`` with its default k-means start. BLAS runs on one thread
(``threadpoolctl``), as the fairest setting on a shared machine.

Usage::

    python benchmarks/bench_optima.py                     # the suite (about 10 minutes, 2 cores)
    python benchmarks/bench_optima.py --quick             # 3 runs per strategy
    python benchmarks/bench_optima.py --problems faithful-full-3,earthquakes-poisson-4
    python benchmarks/bench_optima.py --strategies "select 1..K,select 1..K emEM"
    python benchmarks/bench_optima.py --best-known 50     # rebuild the cache: 50 restarts of
                                                          # each strategy per problem

The problems are importable (``tests/test_optima_suite.py`` runs ``select`` on them): every
entry of ``PROBLEMS`` has a ``load(reduced=False)``; ``reduced=True`` gives at most
``REDUCED_ROWS`` rows (a fixed subsample) for fast tests.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import emkit

HERE = Path(__file__).resolve().parent
CACHE = HERE / "optima_best.json"

#: A run reaches the best known objective when it ends within this much of it, per unit of data
#: weight (nats per sample).
REACH_TOL = 1e-3
#: Convergence threshold of every run (change of the objective per unit weight), and its cap.
FIT_TOL = 1e-6
MAX_ITER = 2000
#: A component holding less than this much data weight has collapsed.
COLLAPSE_COUNT = 1.0
#: A Gaussian variance within this fraction of ``reg_covar`` above it is at its floor: the
#: component sits on equal values of that feature (a spike of unbounded likelihood).
FLOOR_FRACTION = 1e-3
#: Rows of a problem's reduced version (``load(reduced=True)``), used by the tests.
REDUCED_ROWS = 200


# -- the problems --------------------------------------------------------------------------------
def _sample_mixture(
    seed: int, n: int, weights: list[float], means: np.ndarray, covariances: np.ndarray
) -> np.ndarray:
    """``n`` rows of a Gaussian mixture, component sizes drawn from ``weights``, rows shuffled."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, weights)
    rows = [
        rng.multivariate_normal(mean, cov, size=count)
        for mean, cov, count in zip(means, covariances, counts, strict=True)
    ]
    X = np.concatenate(rows)
    return X[rng.permutation(n)]


def _random_covariance(rng: np.random.Generator, d: int, scales: np.ndarray) -> np.ndarray:
    """A covariance with eigenvalues ``scales**2`` along random orthogonal directions."""
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (q * scales**2) @ q.T


def _faithful() -> np.ndarray:
    return emkit.datasets.load_faithful().data


def _digits() -> np.ndarray:
    return emkit.datasets.load_digits(binarize=True).data


def _earthquakes() -> np.ndarray:
    return emkit.datasets.load_earthquakes().data


def _overlap_2d() -> np.ndarray:
    # Three round clusters whose centres are about 1.5 standard deviations apart.
    means = np.array([[0.0, 0.0], [1.6, 0.0], [0.8, 1.4]])
    covariances = np.stack([np.eye(2) * 0.5, np.eye(2) * 0.4, np.eye(2) * 0.6])
    return _sample_mixture(11, 500, [0.4, 0.35, 0.25], means, covariances)


def _elongated_2d() -> np.ndarray:
    # Three long, thin, parallel clusters: closer across than along, where k-means cuts the
    # wrong way.
    means = np.array([[0.0, 0.0], [0.0, 1.5], [0.0, 3.0]])
    covariances = np.stack([np.diag([9.0, 0.06])] * 3)
    return _sample_mixture(12, 600, [1 / 3, 1 / 3, 1 / 3], means, covariances)


def _unequal_5d() -> np.ndarray:
    # Component sizes 70%, 20%, 7% and 3%, random full covariances.
    rng = np.random.default_rng(13)
    means = rng.normal(scale=2.5, size=(4, 5))
    covariances = np.stack([_random_covariance(rng, 5, rng.uniform(0.5, 1.5, 5)) for _ in range(4)])
    return _sample_mixture(13, 1000, [0.70, 0.20, 0.07, 0.03], means, covariances)


def _overlap_10d() -> np.ndarray:
    # Six diagonal components in 10-D with centres drawn close together.
    rng = np.random.default_rng(14)
    means = rng.normal(scale=1.2, size=(6, 10))
    covariances = np.stack([np.diag(rng.uniform(0.3, 1.5, 10)) for _ in range(6)])
    return _sample_mixture(14, 1200, [0.25, 0.2, 0.2, 0.15, 0.1, 0.1], means, covariances)


def _elongated_50d() -> np.ndarray:
    # Four components in 50-D, each stretched along a few random directions (eigenvalues from
    # 16 down to 0.04), unequal sizes.
    rng = np.random.default_rng(15)
    means = rng.normal(scale=1.0, size=(4, 50))
    scales = np.geomspace(4.0, 0.2, 50)
    covariances = np.stack([_random_covariance(rng, 50, scales) for _ in range(4)])
    return _sample_mixture(15, 2400, [0.4, 0.3, 0.2, 0.1], means, covariances)


@dataclass(frozen=True)
class Problem:
    """One problem of the suite: data, a family and a number of components.

    ``runs`` is the number of seeds each strategy is run from in the benchmark (fewer for the
    costly problems, to keep the whole suite within about ten minutes on 2 cores).
    """

    name: str
    family: emkit.ExponentialFamily[Any, Any]
    n_components: int
    loader: Callable[[], np.ndarray]
    description: str
    runs: int = 10

    def load(self, reduced: bool = False) -> np.ndarray:
        """The data; ``reduced=True``: at most ``REDUCED_ROWS`` rows, a fixed random subsample."""
        X = self.loader()
        if reduced and X.shape[0] > REDUCED_ROWS:
            rows = np.sort(np.random.default_rng(0).choice(X.shape[0], REDUCED_ROWS, replace=False))
            X = X[rows]
        return X

    @property
    def gaussian(self) -> bool:
        return isinstance(self.family, emkit.Gaussian)

    @property
    def covariance_type(self) -> str | None:
        return getattr(self.family, "covariance_type", None)


PROBLEMS: tuple[Problem, ...] = (
    Problem("faithful-full-3", emkit.Gaussian("full"), 3, _faithful, "Old Faithful, 272 x 2"),
    Problem("faithful-tied-4", emkit.Gaussian("tied"), 4, _faithful, "Old Faithful, 272 x 2"),
    Problem("faithful-diag-4", emkit.Gaussian("diag"), 4, _faithful, "Old Faithful, 272 x 2"),
    Problem(
        "faithful-spherical-5", emkit.Gaussian("spherical"), 5, _faithful, "Old Faithful, 272 x 2"
    ),
    Problem(
        "digits-bernoulli-6",
        emkit.Bernoulli(),
        6,
        _digits,
        "8x8 digits binarised at 8/16, 1797 x 64",
        runs=6,
    ),
    Problem(
        "earthquakes-poisson-4", emkit.Poisson(), 4, _earthquakes, "earthquakes per year, 107 x 1"
    ),
    Problem("overlap-2d-3", emkit.Gaussian("full"), 3, _overlap_2d, "3 overlapping, 500 x 2"),
    Problem("elongated-2d-3", emkit.Gaussian("full"), 3, _elongated_2d, "3 long parallel, 600 x 2"),
    Problem("unequal-5d-4", emkit.Gaussian("full"), 4, _unequal_5d, "sizes 70/20/7/3%, 1000 x 5"),
    Problem(
        "overlap-10d-6", emkit.Gaussian("diag"), 6, _overlap_10d, "6 overlapping, 1200 x 10", runs=8
    ),
    Problem(
        "elongated-50d-4",
        emkit.Gaussian("full"),
        4,
        _elongated_50d,
        "4 elongated, unequal, 2400 x 50",
        runs=6,
    ),
)
"""The suite, in the order of the tables."""


# -- the strategies ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """How one run ended: its final objective, wall time and whether a component collapsed."""

    objective: float
    seconds: float
    collapsed: bool
    failed: str = ""


def _floor_reached(variances: np.ndarray, reg_covar: float) -> bool:
    return bool(np.any(variances <= reg_covar * (1.0 + FLOOR_FRACTION)))


def _gaussian_variances(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """The per-feature variances of every component (or of the shared covariance)."""
    if covariance_type in ("full", "tied"):
        return np.diagonal(covariances, axis1=-2, axis2=-1)
    return np.asarray(covariances)


def collapsed(problem: Problem, weights: np.ndarray, covariances: Any, n: float) -> bool:
    """Whether a fit has a component with less than ``COLLAPSE_COUNT`` data weight, or (Gaussian)
    a variance at the floor ``reg_covar``."""
    if np.any(np.asarray(weights) * n < COLLAPSE_COUNT):
        return True
    if problem.gaussian and covariances is not None:
        kind = problem.covariance_type or "full"
        reg = float(problem.family.reg_covar)  # type: ignore[attr-defined]
        return _floor_reached(_gaussian_variances(covariances, kind), reg)
    return False


def emkit_strategy(init: Any) -> Callable[[Problem, np.ndarray, int], Outcome]:
    """One ``emkit.fit`` run with ``init=init`` (n_init=1)."""

    def run(problem: Problem, X: np.ndarray, seed: int) -> Outcome:
        model = emkit.FiniteMixture(problem.family, problem.n_components)
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = emkit.fit(
                    model, X, init=init, random_state=seed, tol=FIT_TOL, max_iter=MAX_ITER
                )
        except (ValueError, emkit.ModelError) as exc:
            return Outcome(-math.inf, time.perf_counter() - start, False, str(exc)[:80])
        seconds = time.perf_counter() - start
        return _emkit_outcome(problem, result, seconds)

    return run


def _emkit_outcome(problem: Problem, result: Any, seconds: float) -> Outcome:
    params = result.params
    covariances = getattr(params.components, "covariances", None)
    return Outcome(
        result.objective,
        seconds,
        collapsed(problem, params.weights, covariances, result.n_samples),
    )


def sklearn_kmeans(problem: Problem, X: np.ndarray, seed: int) -> Outcome:
    """scikit-learn's ``GaussianMixture`` with its default k-means start (n_init=1)."""
    from sklearn.mixture import GaussianMixture

    estimator = GaussianMixture(
        problem.n_components,
        covariance_type=problem.covariance_type or "full",
        tol=FIT_TOL,
        max_iter=MAX_ITER,
        reg_covar=float(problem.family.reg_covar),  # type: ignore[attr-defined]
        random_state=seed,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X)
    seconds = time.perf_counter() - start
    n = X.shape[0]
    objective = float(estimator.score(X)) * n
    return Outcome(
        objective, seconds, collapsed(problem, estimator.weights_, estimator.covariances_, n)
    )


def select_strategy(**options: Any) -> Callable[[Problem, np.ndarray, int], Outcome]:
    """``emkit.select`` over K = 1..n_components with its defaults (and ``options``, e.g.
    ``init``, ``n_init``); the candidate with n_components. The time is the whole selection's
    (the K - 1 smaller fits included)."""

    def run(problem: Problem, X: np.ndarray, seed: int) -> Outcome:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            selection = emkit.select(
                X,
                problem.family,
                n_components=range(1, problem.n_components + 1),
                random_state=seed,
                tol=FIT_TOL,
                max_iter=MAX_ITER,
                **options,
            )
        seconds = time.perf_counter() - start
        (candidate,) = [c for c in selection.candidates if c.n_components == problem.n_components]
        return _emkit_outcome(problem, candidate.result, seconds)

    return run


@dataclass(frozen=True)
class Strategy:
    """A named starting strategy: ``run(problem, X, seed) -> Outcome``, and whether it applies."""

    name: str
    run: Callable[[Problem, np.ndarray, int], Outcome]
    gaussian_only: bool = False
    requires: str = ""  # an init name that must be known to emkit.fit
    note: str = ""

    def applies(self, problem: Problem) -> bool:
        return problem.gaussian or not self.gaussian_only


STRATEGIES: tuple[Strategy, ...] = (
    Strategy("sklearn kmeans", sklearn_kmeans, gaussian_only=True),
    Strategy("kmeans", emkit_strategy("kmeans"), requires="kmeans"),
    Strategy("k-means++", emkit_strategy("k-means++"), requires="k-means++"),
    Strategy("random", emkit_strategy("random"), requires="random"),
    Strategy("random_from_data", emkit_strategy("random_from_data"), requires="random_from_data"),
    Strategy("hierarchical", emkit_strategy("hierarchical"), requires="hierarchical"),
    Strategy("emEM", emkit_strategy("emEM"), requires="emEM"),
    Strategy("select 1..K", select_strategy()),
)
"""Every strategy, in the order of the table's columns."""

EXTRA_STRATEGIES: tuple[Strategy, ...] = (
    Strategy("select 1..K emEM", select_strategy(init="emEM"), requires="emEM"),
    Strategy("select 1..K k-means++ x4", select_strategy(init="k-means++", n_init=4)),
)
"""Other settings of ``select``, run only when named with ``--strategies`` (they would double
the suite's time): candidates for its default."""

#: The strategies whose restarts build the best-known cache (``--best-known``).
BEST_KNOWN_STRATEGIES = ("k-means++", "random_from_data", "random", "kmeans", "emEM")


def available(strategy: Strategy) -> str:
    """An empty string when the strategy can run here, else why not."""
    if not strategy.requires:
        return ""
    X = np.random.default_rng(0).normal(size=(30, 2))
    model = emkit.FiniteMixture(emkit.Gaussian("spherical"), 2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            emkit.fit(model, X, init=strategy.requires, random_state=0, max_iter=2)
    except (ValueError, TypeError) as exc:
        return f"not available: emkit.fit(init={strategy.requires!r}) raises {exc!s:.70}"
    return ""


# -- the benchmark -------------------------------------------------------------------------------
def load_cache() -> dict[str, dict[str, Any]]:
    if CACHE.is_file():
        return dict(json.loads(CACHE.read_text(encoding="utf-8")))
    return {}


def save_cache(cache: dict[str, dict[str, Any]]) -> None:
    CACHE.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _raise_best(
    cache: dict[str, dict[str, Any]], problem: Problem, outcomes: list[Outcome], source: str
) -> bool:
    """Record the best non-collapsed objective of ``outcomes`` if it beats the cache."""
    good = [o.objective for o in outcomes if not o.collapsed and math.isfinite(o.objective)]
    if not good:
        return False
    best = max(good)
    entry = cache.get(problem.name)
    if entry is not None and entry["objective"] >= best:
        return False
    cache[problem.name] = {"objective": best, "found_by": source}
    return True


@dataclass
class Row:
    """One (problem, strategy) cell of the tables."""

    outcomes: list[Outcome] = field(default_factory=list)
    skipped: str = ""

    def reached(self, best: float, n: float) -> int:
        return sum(
            1 for o in self.outcomes if not o.collapsed and o.objective >= best - REACH_TOL * n
        )

    @property
    def seconds(self) -> float:
        return float(np.mean([o.seconds for o in self.outcomes]))

    def time_to_best(self, best: float, n: float) -> float:
        reached = self.reached(best, n)
        if not reached:
            return math.inf
        return self.seconds * len(self.outcomes) / reached


def machine() -> list[str]:
    import scipy
    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}",
        f"cpu: {cpu}, {os.cpu_count()} cores; BLAS limited to 1 thread",
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}, emkit {emkit.__version__}",
        f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"settings: tol={FIT_TOL:g}, max_iter={MAX_ITER}, reached = within {REACH_TOL:g} "
        "nats per sample of the best known objective, collapsed fits excluded",
    ]


def _cell_reached(row: Row, best: float, n: float) -> str:
    if row.skipped:
        return "n/a"
    text = f"{row.reached(best, n)}/{len(row.outcomes)}"
    n_collapsed = sum(o.collapsed for o in row.outcomes)
    n_failed = sum(bool(o.failed) for o in row.outcomes)
    if n_collapsed:
        text += f" ({n_collapsed}c)"
    if n_failed:
        text += f" ({n_failed}f)"
    return text


def _cell_time(row: Row, best: float, n: float, reference: float | None) -> str:
    if row.skipped:
        return "n/a"
    t = row.time_to_best(best, n)
    text = f"{row.seconds:.2f} / " + ("never" if math.isinf(t) else f"{t:.2f}")
    if reference is not None and math.isfinite(reference) and math.isfinite(t):
        text += f" ({t / reference:.2g}x)"
    return text


def report(
    problems: list[Problem],
    strategies: list[Strategy],
    rows: dict[tuple[str, str], Row],
    cache: dict[str, dict[str, Any]],
    sizes: dict[str, float],
) -> str:
    """The two tables (reached fraction; seconds per run / expected seconds to best) as
    Markdown."""
    names = [s.name for s in strategies]
    head = "| problem | K | best known / n | " + " | ".join(names) + " |"
    rule = "|---|---|---|" + "---|" * len(names)
    lines = ["Runs reaching the best known objective (c: collapsed, f: failed):", "", head, rule]
    for p in problems:
        best, n = cache[p.name]["objective"], sizes[p.name]
        cells = [_cell_reached(rows[p.name, s], best, n) for s in names]
        lines.append(
            f"| {p.name} | {p.n_components} | {best / n:.4f} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "Seconds per run / expected seconds to reach the best (per run x runs / reached), "
        "and that time as a multiple of scikit-learn's k-means start:",
        "",
        head,
        rule,
    ]
    for p in problems:
        best, n = cache[p.name]["objective"], sizes[p.name]
        ref_row = rows.get((p.name, "sklearn kmeans"))
        reference = (
            ref_row.time_to_best(best, n) if ref_row is not None and not ref_row.skipped else None
        )
        cells = [_cell_time(rows[p.name, s], best, n, reference) for s in names]
        lines.append(
            f"| {p.name} | {p.n_components} | {best / n:.4f} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--problems", help="comma-separated problem names (default: all)")
    parser.add_argument("--strategies", help="comma-separated strategy names (default: all)")
    parser.add_argument("--runs", type=int, help="seeds per strategy (default: each problem's)")
    parser.add_argument("--quick", action="store_true", help="3 seeds per strategy")
    parser.add_argument(
        "--best-known",
        type=int,
        metavar="N",
        help="rebuild the best-known cache from N restarts of each of "
        f"{', '.join(BEST_KNOWN_STRATEGIES)} per problem, then exit",
    )
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    problems = list(PROBLEMS)
    if args.problems:
        wanted = args.problems.split(",")
        unknown = set(wanted) - {p.name for p in problems}
        if unknown:
            parser.error(f"unknown problems {sorted(unknown)}")
        problems = [p for p in problems if p.name in wanted]
    strategies = list(STRATEGIES)
    if args.strategies:
        wanted = args.strategies.split(",")
        known = {s.name: s for s in (*STRATEGIES, *EXTRA_STRATEGIES)}
        if set(wanted) - set(known):
            parser.error(f"unknown strategies {sorted(set(wanted) - set(known))}")
        strategies = [known[name] for name in wanted]
    for line in machine():
        print(line)
    missing = {s.name: available(s) for s in strategies}
    for name, why in missing.items():
        if why:
            print(f"{name}: {why}")
    cache = load_cache()
    begin = time.perf_counter()
    with threadpool_limits(1):
        if args.best_known:
            for p in problems:
                X = p.load()
                for s in strategies:
                    if s.name not in BEST_KNOWN_STRATEGIES or missing[s.name] or not s.applies(p):
                        continue
                    outcomes = [s.run(p, X, 10_000 + seed) for seed in range(args.best_known)]
                    raised = _raise_best(cache, p, outcomes, f"{s.name}, {args.best_known} seeds")
                    good = [o.objective for o in outcomes if not o.collapsed]
                    print(
                        f"{p.name:22s} {s.name:18s} best {max(good, default=-math.inf):.4f}"
                        f"{'  (new best known)' if raised else ''}",
                        flush=True,
                    )
            save_cache(cache)
            print(f"wrote {CACHE} in {time.perf_counter() - begin:.0f} s")
            return 0
        rows: dict[tuple[str, str], Row] = {}
        sizes = {}
        for p in problems:
            X = p.load()
            sizes[p.name] = float(X.shape[0])
            runs = 3 if args.quick else (args.runs or p.runs)
            for s in strategies:
                row = Row()
                rows[p.name, s.name] = row
                if missing[s.name]:
                    row.skipped = "not available"
                    continue
                if not s.applies(p):
                    row.skipped = "does not apply"
                    continue
                row.outcomes = [s.run(p, X, seed) for seed in range(runs)]
                if _raise_best(cache, p, row.outcomes, f"{s.name} (benchmark run)"):
                    print(f"{p.name}: new best known objective from {s.name}", flush=True)
            print(
                f"{p.name}: done at {time.perf_counter() - begin:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    save_cache(cache)
    print()
    print(report(problems, strategies, rows, cache, sizes))
    print()
    print(
        f"total {time.perf_counter() - begin:.0f} s; load average at end: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
