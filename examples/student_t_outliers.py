"""Robust clustering: a Student-t mixture keeps its clusters where 10% gross outliers break a
Gaussian mixture.

Three 2-D Gaussian clusters of 200 rows each are joined by 66 outliers drawn uniformly over a box
ten times wider than the clusters. A Gaussian mixture and a
[`StudentTMixture`][emkit.student_t.StudentTMixture] (degrees of freedom estimated per
component), both with K = 3 and the same ten starts, are fitted by [`emkit.fit`][emkit.em.fit].
The t mixture's latent scales ``u_nk`` shrink the weight of the far rows and its locations land
on the clusters; the Gaussian mixture spends a component (or inflated covariances) on the
outliers. The figure shows both fits over the clusters' region (most outliers lie beyond it):
rows coloured by their most probable component, two-scale ellipses of every component, true
centres as black crosses.

Figure: ``student_t_outliers.png``.

Usage: ``python examples/student_t_outliers.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import emkit
from emkit.student_t import StudentTMixture


# --8<-- [start:data]
def outlier_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three clusters of 200 rows plus 10% outliers over a box 10 times wider."""
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0], [6.0, 0.0], [3.0, 5.0]])
    covs = np.array(
        [[[1.0, 0.3], [0.3, 1.0]], [[1.0, -0.2], [-0.2, 0.6]], [[0.8, 0.0], [0.0, 1.2]]]
    )
    X = np.concatenate([rng.multivariate_normal(means[k], covs[k], 200) for k in range(3)])
    low, high = X.min(axis=0), X.max(axis=0)
    center, width = (low + high) / 2, 10 * (high - low)
    outliers = rng.uniform(center - width / 2, center + width / 2, size=(len(X) // 9, 2))
    return np.concatenate([X, outliers]), means


# --8<-- [end:data]


# --8<-- [start:fit]
def fit_both(X: np.ndarray) -> tuple[emkit.FitResult[Any], emkit.FitResult[Any]]:
    """The t mixture and the Gaussian mixture, from the same ten starts."""
    starts = {"init": "random_from_data", "n_init": 10, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
        t_fit = emkit.fit(StudentTMixture(3), X, **starts)
        gaussian = emkit.FiniteMixture(emkit.Gaussian("full"), 3)
        g_fit = emkit.fit(gaussian, X, **starts)
    return t_fit, g_fit


def worst_distance(estimated: np.ndarray, truth: np.ndarray) -> float:
    """Largest distance from a true centre to the estimate matched to it."""
    from scipy.optimize import linear_sum_assignment

    dist = np.linalg.norm(estimated[:, None, :] - truth[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(dist)
    return float(dist[rows, cols].max())


# --8<-- [end:fit]


def _ellipse(ax: Any, mean: np.ndarray, cov: np.ndarray, colour: str) -> None:
    from matplotlib.patches import Ellipse

    values, vectors = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
    width, height = 2 * 2.0 * np.sqrt(values[::-1])
    ax.add_patch(
        Ellipse(mean, width, height, angle=angle, fill=False, color=colour, lw=2, zorder=3)
    )


def main(output_dir: Path) -> None:
    import matplotlib.pyplot as plt

    X, truth = outlier_data()
    t_fit, g_fit = fit_both(X)
    t_model = StudentTMixture(3)
    gaussian = emkit.FiniteMixture(emkit.Gaussian("full"), 3)
    panels = [
        (
            "Student-t mixture",
            t_model.predict(X, t_fit.params),
            t_fit.params.means,
            t_fit.params.covariances,
        ),
        (
            "Gaussian mixture",
            gaussian.predict(X, g_fit.params),
            g_fit.params.components.means,
            g_fit.params.components.covariances,
        ),
    ]
    inliers = X[:600]
    low, high = inliers.min(axis=0) - 4.0, inliers.max(axis=0) + 4.0
    fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharex=True, sharey=True)
    for ax, (title, labels, means, covs) in zip(axes, panels, strict=True):
        for k in range(3):
            on = labels == k
            ax.scatter(X[on, 0], X[on, 1], s=8, color=f"C{k}", alpha=0.6, zorder=1)
            _ellipse(ax, means[k], covs[k], f"C{k}")
        ax.scatter(truth[:, 0], truth[:, 1], marker="x", s=90, color="black", zorder=4)
        ax.scatter(means[:, 0], means[:, 1], marker="o", s=40, color="black", zorder=4)
        error = worst_distance(means, truth)
        ax.set_title(f"{title}: worst centre off by {error:.2f}")
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_xlabel("x1")
    axes[0].set_ylabel("x2")
    shown = ((low <= X) & (high >= X)).all(axis=1)[600:].sum()
    fig.suptitle(
        f"600 clustered rows + {len(X) - 600} gross outliers ({shown} inside this window); "
        "x: true centres, o: fitted locations, ellipses: two scales"
    )
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "student_t_outliers.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
