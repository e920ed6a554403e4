"""EM step by step on Old Faithful: the classic figure 9.8 of Bishop's PRML, reproduced.

The data (eruption duration, waiting time) are standardised to zero mean and unit variance, as in
PRML. EM starts from a deliberately poor, symmetric guess: two unit circles placed off the data,
at (-1.5, 1) and (1.5, -1), with equal weights. A callback passed to :func:`emkit.fit` records the
parameters after every iteration; the figure shows the one-sigma ellipses at iterations
0, 1, 2, 5 and 20, each point coloured by its responsibilities (red-blue mix), and the
log-likelihood curve, which never goes down.

Usage: ``python examples/faithful_em_steps.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import emkit
from emkit.plotting import plot_history

SHOWN = (0, 1, 2, 5, 20)
COLORS = np.array([[0.85, 0.1, 0.1], [0.1, 0.25, 0.85]])  # red, blue (PRML's colours)


def fit_step_by_step() -> tuple[np.ndarray, emkit.FitResult, list]:
    """Standardised data, the fit, and the parameters after every iteration (0 = the start)."""
    X = emkit.datasets.load_faithful().data
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    start = emkit.MixtureParams(
        weights=np.array([0.5, 0.5]),
        components=emkit.GaussianParams(
            means=np.array([[-1.5, 1.0], [1.5, -1.0]]), covariances=np.stack([np.eye(2)] * 2)
        ),
    )
    snapshots = []

    def record(state: emkit.IterationState) -> bool:
        snapshots.append(state.params)
        return state.iteration >= SHOWN[-1]  # True stops the run: we want exactly 20 steps

    model = emkit.FiniteMixture(emkit.Gaussian("full"), n_components=2)
    result = emkit.fit(model, X, init=start, tol=0.0, max_iter=100, callbacks=[record])
    return X, result, snapshots


def ellipse(ax, mean: np.ndarray, cov: np.ndarray, color: np.ndarray) -> None:
    """The one-standard-deviation contour of N(mean, cov)."""
    from matplotlib.patches import Ellipse

    variances, vectors = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
    width, height = 2.0 * np.sqrt(variances[::-1])
    ax.add_patch(
        Ellipse(mean, width, height, angle=angle, fill=False, color=color, lw=2.0, zorder=3)
    )


def main(output_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, result, snapshots = fit_step_by_step()
    model = result.model
    print("iteration  log-likelihood  weights")
    for i in SHOWN:
        print(f"{i:>9}  {result.history[i]:14.3f}  {snapshots[i].weights.round(3)}")
    assert np.all(np.diff(result.history) >= 0), "EM never decreases the log-likelihood"

    fig, axes = plt.subplots(2, 3, figsize=(12, 8))
    for ax, i in zip(axes.flat, SHOWN, strict=False):
        params = snapshots[i]
        # Each point's colour mixes red and blue by its responsibilities under these parameters.
        resp = model.responsibilities(X, params)
        ax.scatter(X[:, 0], X[:, 1], c=resp @ COLORS, s=12, edgecolors="none")
        for k in range(2):
            ellipse(ax, params.components.means[k], params.components.covariances[k], COLORS[k])
        ax.set_title(f"L = {i}" + (" (start)" if i == 0 else ""))
        ax.set_xlim(-2.5, 2.5)
        ax.set_ylim(-2.5, 2.5)
        ax.set_aspect("equal")
    plot_history(result, ax=axes.flat[-1])
    axes.flat[-1].set_title("log-likelihood by iteration")
    fig.suptitle("EM on Old Faithful (standardised), after PRML figure 9.8")
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "faithful_em_steps.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
