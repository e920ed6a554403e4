"""Incomplete data: a Gaussian mixture fitted to Old Faithful with 30% of its values missing,
three ways.

The Old Faithful data (standardised, as in PRML) lose 30% of their values completely at random
(MCAR), never both values of a row: 60% of the rows keep one of their two values. A full
two-component [`GaussianMixture`][emkit.estimators.GaussianMixture] is then fitted

* exactly, with ``missing="marginalise"``: every row counts through the marginal density of its
  observed values, and the M-step uses the conditional moments of the missing ones;
* to the complete rows only (the incomplete rows dropped);
* to the data with every missing value replaced by its column's observed mean.

Each fit is compared with the fit to the complete data (before any value was removed): the mean
absolute difference of the component means, and of the log-determinants of the covariances.
The figure draws each fit's two-standard-deviation ellipses over those of the complete-data fit
(grey, dashed), with the complete rows as points; the exact panel marks the rows with one value
(the value they kept) along the axes, the mean-impute panel the imputed points.

``repeat`` runs the comparison over 50 random removals: the printed averages are what the docs
page (docs/incomplete-data.md) states and tests/test_examples_missing.py checks.

Figure: ``faithful_missing.png``.

Usage: ``python examples/faithful_missing.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import emkit


# --8<-- [start:data]
def faithful_standardised() -> np.ndarray:
    """Old Faithful (eruption time, waiting time), each column scaled to mean 0 and sd 1."""
    X = emkit.datasets.load_faithful().data
    return (X - X.mean(axis=0)) / X.std(axis=0)


def remove_at_random(X: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``X`` with ``fraction`` of its values set to NaN completely at random, every
    row keeping at least one value (a row with none is refused by a mixture)."""
    n, d = X.shape
    # One value per row is kept; the others are candidates, all equally likely to go.
    kept = rng.integers(0, d, size=n)
    candidates = np.flatnonzero(np.arange(d)[None, :] != kept[:, None])
    removed = rng.choice(candidates, size=round(fraction * n * d), replace=False)
    X_missing = X.copy()
    X_missing.flat[removed] = np.nan
    return X_missing


# --8<-- [end:data]


# --8<-- [start:fit]
METHODS = ("exact (marginalise)", "drop incomplete rows", "mean-impute")


def fit_gaussian(X: np.ndarray, missing: str = "error") -> emkit.GaussianMixture:
    """A full two-component Gaussian mixture, run to convergence (tight ``tol``)."""
    model = emkit.GaussianMixture(
        2, covariance_type="full", tol=1e-8, max_iter=1000, random_state=0, missing=missing
    )
    return model.fit(X)


def fit_three_ways(X_missing: np.ndarray) -> dict[str, tuple[emkit.GaussianMixture, np.ndarray]]:
    """Each method's fit and the rows it was fitted to."""
    missing = np.isnan(X_missing)
    complete_rows = X_missing[~missing.any(axis=1)]
    mean_imputed = np.where(missing, np.nanmean(X_missing, axis=0), X_missing)
    return {
        "exact (marginalise)": (fit_gaussian(X_missing, missing="marginalise"), X_missing),
        "drop incomplete rows": (fit_gaussian(complete_rows), complete_rows),
        "mean-impute": (fit_gaussian(mean_imputed), mean_imputed),
    }


def by_eruption(fit: emkit.GaussianMixture) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariances with the short-eruption component first (labels are arbitrary)."""
    order = np.argsort(fit.means_[:, 0])
    return fit.means_[order], fit.covariances_[order]


def distance(fit: emkit.GaussianMixture, reference: emkit.GaussianMixture) -> np.ndarray:
    """Mean |difference| of the means, of the log-determinants of the covariances, and the
    mean signed difference of the log-determinants (> 0: wider components than the reference).
    """
    means, covariances = by_eruption(fit)
    ref_means, ref_covariances = by_eruption(reference)
    log_det = np.linalg.slogdet(covariances)[1] - np.linalg.slogdet(ref_covariances)[1]
    return np.array([np.abs(means - ref_means).mean(), np.abs(log_det).mean(), log_det.mean()])


# --8<-- [end:fit]


# --8<-- [start:repeat]
def repeat(n_seeds: int = 50, fraction: float = 0.3) -> dict[str, np.ndarray]:
    """``distance`` of each method's fit to the complete-data fit for ``n_seeds`` removals:
    an array of shape (n_seeds, 3) per method."""
    X = faithful_standardised()
    reference = fit_gaussian(X)
    distances: dict[str, list[np.ndarray]] = {name: [] for name in METHODS}
    for seed in range(n_seeds):
        X_missing = remove_at_random(X, fraction, np.random.default_rng(seed))
        for name, (fit, _) in fit_three_ways(X_missing).items():
            distances[name].append(distance(fit, reference))
    return {name: np.array(rows) for name, rows in distances.items()}


# --8<-- [end:repeat]


def print_repeat(results: dict[str, np.ndarray]) -> None:
    """The averages over the removals, and how often each method was the closest."""
    means_off = np.column_stack([results[name][:, 0] for name in METHODS])
    closest = np.bincount(means_off.argmin(axis=1), minlength=len(METHODS))
    n_seeds = len(means_off)
    print(f"over {n_seeds} removals    means off  log det off  log det shift  closest means")
    for i, name in enumerate(METHODS):
        off, log_det, shift = results[name].mean(axis=0)
        print(f"{name:<22} {off:9.3f} {log_det:12.3f} {shift:+14.3f} {closest[i]:8d}/{n_seeds}")


def _ellipse(ax: Any, mean: np.ndarray, cov: np.ndarray, **style: Any) -> None:
    from matplotlib.patches import Ellipse

    # Two standard deviations along the principal axes: the 2-sigma contour of N(mean, cov).
    values, vectors = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
    width, height = 2 * 2.0 * np.sqrt(values[::-1])
    ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, **style))


def main(output_dir: Path) -> None:
    import matplotlib.pyplot as plt

    X = faithful_standardised()
    X_missing = remove_at_random(X, 0.3, np.random.default_rng(0))
    missing = np.isnan(X_missing)
    complete = ~missing.any(axis=1)
    reference = fit_gaussian(X)
    fits = fit_three_ways(X_missing)

    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2), sharex=True, sharey=True)
    low, high = X.min(axis=0) - 0.4, X.max(axis=0) + 0.4
    for ax, name in zip(axes, METHODS, strict=True):
        fit, rows = fits[name]
        ax.scatter(*X_missing[complete].T, s=10, color="C0", alpha=0.7, label="complete rows")
        if name == "exact (marginalise)":
            # A row with one value: its kept coordinate as a tick along that axis.
            only_x, only_y = missing[:, 1] & ~missing[:, 0], missing[:, 0] & ~missing[:, 1]
            ax.plot(
                X_missing[only_x, 0],
                np.full(only_x.sum(), low[1] + 0.08),
                "|",
                color="C2",
                ms=12,
                alpha=0.7,
                label=f"eruption only ({only_x.sum()})",
            )
            ax.plot(
                np.full(only_y.sum(), low[0] + 0.08),
                X_missing[only_y, 1],
                "_",
                color="C2",
                ms=12,
                alpha=0.7,
                label=f"waiting only ({only_y.sum()})",
            )
        if name == "mean-impute":
            imputed = ~complete
            ax.scatter(
                *rows[imputed].T,
                s=18,
                marker="x",
                color="C3",
                alpha=0.8,
                label=f"imputed rows ({imputed.sum()})",
            )
        ref_means, ref_covs = by_eruption(reference)
        means, covs = by_eruption(fit)
        for k in range(2):
            _ellipse(ax, ref_means[k], ref_covs[k], color="0.45", ls="--", lw=1.5)
            _ellipse(ax, means[k], covs[k], color="C1", lw=2.2)
        off, log_det, _ = distance(fit, reference)
        ax.set_title(f"{name}: {len(rows)} rows\nmeans off {off:.3f}, log det off {log_det:.3f}")
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_xlabel("eruption time (standardised)")
        ax.legend(loc="upper left", fontsize="small")
    axes[0].set_ylabel("waiting time (standardised)")
    fig.suptitle(
        "Old Faithful with 30% of the values missing at random: 2-sigma ellipses of each fit "
        "(orange) over the complete-data fit (grey, dashed)"
    )
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "faithful_missing.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"wrote {path}")
    print_repeat(repeat())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
