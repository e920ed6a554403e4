"""Local optima of EM: where runs from different starts end, on a small problem.

The data are 300 points from three long, thin, parallel Gaussian clusters (standard deviation 3
along x, 0.25 across, centres 1.5 apart across). A three-component full-covariance mixture fits
them best with one component per cluster; a partition into three vertical slabs (what k-means,
which measures round distances, prefers) is a local optimum EM cannot leave, and a start with
all components alike stalls near a saddle point where they stay alike.

Every starting strategy of emkit is run from ``N_SEEDS`` seeds with the library's default
convergence settings; the first figure shows each run's final log-likelihood per point, the
second the best fit found and the k-means start's fit.

Figures: ``local_optima_restarts.png`` (final log-likelihood of every run, by strategy) and
``local_optima_fits.png`` (the two fits over the data).

Usage: ``python examples/local_optima.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from pathlib import Path

import numpy as np

import emkit
from emkit.plotting import plot_mixture

N_SEEDS = 15
STRATEGIES = ("kmeans", "k-means++", "random", "random_from_data", "hierarchical", "emEM")
#: A run reaches the best when it ends within this much of it per point (nats).
REACH_TOL = 1e-3


# --8<-- [start:data]
def elongated_clusters(n: int = 300, seed: int = 3) -> np.ndarray:
    """Three long, thin, parallel clusters of n / 3 rows each:
    variance 9 along x, 0.06 across, centres 1.5 apart across."""
    rng = np.random.default_rng(seed)
    cov = np.diag([9.0, 0.06])
    centres = [[0.0, 0.0], [0.0, 1.5], [0.0, 3.0]]
    rows = [rng.multivariate_normal(c, cov, size=n // 3) for c in centres]
    return np.concatenate(rows)


X = elongated_clusters()
MODEL = emkit.FiniteMixture(emkit.Gaussian("full"), n_components=3)
# --8<-- [end:data]


def final_log_likelihoods(strategy: str, seeds: range) -> np.ndarray:
    """The final log-likelihood per point of one run from every seed."""
    with warnings.catch_warnings():
        # Runs that stop at a poor optimum or a saddle are the point here.
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        return np.array(
            [emkit.fit(MODEL, X, init=strategy, random_state=s).log_likelihood for s in seeds]
        ) / len(X)


def one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """BLAS on one thread, where threadpoolctl is installed: on 300 rows a second BLAS thread
    only adds waiting, the more so on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def main(output_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outcomes = {}
    with one_blas_thread():
        for strategy in STRATEGIES:
            outcomes[strategy] = final_log_likelihoods(strategy, range(N_SEEDS))
    best = max(o.max() for o in outcomes.values())
    print(f"best log-likelihood per point: {best:.3f}")
    for strategy, values in outcomes.items():
        reached = int(np.sum(values >= best - REACH_TOL))
        print(f"{strategy:17s} reached the best in {reached:2d} of {N_SEEDS} runs")

    # Figure 1: every run's end, by strategy.
    fig, ax = plt.subplots(figsize=(9, 4.5))
    jitter = np.random.default_rng(0).uniform(-0.18, 0.18, N_SEEDS)
    for i, values in enumerate(outcomes.values()):
        reached = values >= best - REACH_TOL
        ax.scatter(i + jitter[~reached], values[~reached], s=22, color="tab:red", alpha=0.7)
        ax.scatter(i + jitter[reached], values[reached], s=22, color="tab:blue", alpha=0.7)
        ax.text(i, best + 0.05, f"{reached.sum()}/{N_SEEDS}", ha="center", va="bottom", fontsize=11)
    ax.axhline(best, color="tab:blue", linestyle="--", linewidth=1)
    ax.set_xticks(range(len(STRATEGIES)))
    ax.set_xticklabels(STRATEGIES, fontsize=11)
    ax.set_ylim(top=best + 0.2)
    ax.set_ylabel("final log-likelihood per point", fontsize=11)
    ax.set_title(
        f"Where {N_SEEDS} runs of EM end, by starting strategy "
        "(blue: the best; number: runs reaching it)",
        fontsize=12,
    )
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "local_optima_restarts.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")

    # Figure 2: the best fit found and where the k-means start ends.
    best_strategy = max(outcomes, key=lambda s: outcomes[s].max())
    seed = int(np.argmax(outcomes[best_strategy]))
    fits = {
        "best fit found": emkit.fit(MODEL, X, init=best_strategy, random_state=seed),
        'from init="kmeans" (a local optimum)': emkit.fit(MODEL, X, init="kmeans", random_state=0),
    }
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.0), sharey=True)
    for ax, (title, result) in zip(axes, fits.items(), strict=True):
        plot_mixture(X, result, ax=ax, point_size=8)
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
        ax.set_title(f"{title}: {result.log_likelihood / len(X):.3f} per point", fontsize=12)
        ax.set_aspect("equal")
    fig.tight_layout()
    path = output_dir / "local_optima_fits.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
