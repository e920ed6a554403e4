"""A mixed-type table with missing cells: measurements, a yes/no answer, counts and a category.

A synthetic table of 600 patients from two groups (60% and 40%): height and weight (cm, kg;
correlated 0.8 within each group, as body measurements are), whether they smoke (a pandas
``boolean`` column), their visits last year (``Int64`` counts) and their region (a
``category``). One cell in ten is blank (pandas' NA), completely at random.

``MixedMixture`` takes every column's family from its dtype and integrates the blanks out
(``missing="marginalise"``). Its default Gaussian block has a diagonal covariance: height and
weight independent within a component. BIC over K = 1..5 with that block, and again with one
full-covariance Gaussian block for height and weight together (``column_families``), shows what
local dependence does: the diagonal model needs extra components to imitate the correlation,
the full block finds the two groups.

Figure: ``mixed_table.png``: BIC by K for both models, and height against weight coloured by the
components of the model each one chooses, with the components' two-standard-deviation ellipses.

Usage: ``python examples/mixed_table.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import emkit
from emkit.estimators.mixed import MixedMixture


# --8<-- [start:data]
def patients(n: int = 600, blank: float = 0.1, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """The table with blank cells (pandas' NA), and every row's group (0 or 1)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(2, size=n, p=[0.6, 0.4])
    # Height and weight share a standard normal draw: correlation 0.8 within each group.
    shared, own = rng.standard_normal((2, n))
    height = np.array([170.0, 160.0])[group] + np.array([8.0, 7.0])[group] * shared
    weight = np.array([68.0, 80.0])[group] + np.array([9.0, 12.0])[group] * (
        0.8 * shared + 0.6 * own
    )
    regions = np.array(["north", "south", "east", "west"])
    region_probs = np.array([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])
    region = regions[(rng.random((n, 1)) > np.cumsum(region_probs[group], axis=1)[:, :-1]).sum(1)]
    table = pd.DataFrame(
        {
            "height_cm": height.round(1),
            "weight_kg": weight.round(1),
            "smoker": pd.array(rng.random(n) < np.array([0.15, 0.5])[group], dtype="boolean"),
            "visits": pd.array(rng.poisson(np.array([1.0, 4.0])[group]), dtype="Int64"),
            "region": pd.Categorical(region),
        }
    )
    blanks = rng.random(table.shape) < blank
    blanks[blanks.all(axis=1), 0] = False  # every row keeps a value
    return table.mask(blanks), group


# --8<-- [end:data]


# --8<-- [start:bic]
# One Gaussian("full") instance for both columns: equal instances form one block.
FULL_BLOCK = {"height_cm": emkit.Gaussian("full"), "weight_kg": emkit.Gaussian("full")}


def fits_by_k(
    table: pd.DataFrame, column_families: dict[str, Any] | None = None
) -> dict[int, MixedMixture]:
    """The best of five starts for every K = 1..5, blanks integrated out."""
    fits = {}
    for k in range(1, 6):
        model = MixedMixture(
            k, column_families=column_families, missing="marginalise", n_init=5, random_state=0
        )
        with warnings.catch_warnings():
            # A start that empties a component of a too-large K is reported, and discarded.
            warnings.simplefilter("ignore", emkit.DegenerateComponentWarning)
            fits[k] = model.fit(table)
    return fits


# --8<-- [end:bic]


def _ellipse(ax: Any, mean: np.ndarray, cov: np.ndarray, colour: Any) -> None:
    from matplotlib.patches import Ellipse

    # Two standard deviations along the principal axes: the 2-sigma contour of N(mean, cov).
    values, vectors = np.linalg.eigh(cov)
    angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
    width, height = 2 * 2.0 * np.sqrt(values[::-1])
    ax.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, color=colour, lw=2))


def _block_covariances(fit: MixedMixture) -> tuple[np.ndarray, np.ndarray]:
    """Means and (K, 2, 2) covariances of the Gaussian block (a diagonal one as matrices)."""
    block = next(part for part in fit.parts_ if part["family"] == "gaussian")
    covariances = np.asarray(block["covariances"])
    if covariances.ndim == 2:
        covariances = np.stack([np.diag(c) for c in covariances])
    return np.asarray(block["means"]), covariances


def main(output_dir: Path) -> None:
    import matplotlib.pyplot as plt

    table, group = patients()
    print(f"rows: {len(table)}, blank cells: {table.isna().to_numpy().mean():.1%}")
    models = {
        "diagonal Gaussian block": fits_by_k(table),
        "full Gaussian block": fits_by_k(table, FULL_BLOCK),
    }
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    both = table[["height_cm", "weight_kg"]].notna().all(axis=1).to_numpy()
    measured = table.loc[both, ["height_cm", "weight_kg"]].to_numpy(dtype=float)
    for i, (name, fits) in enumerate(models.items()):
        bic = {k: fit.bic(table) for k, fit in fits.items()}
        best = min(bic, key=bic.__getitem__)
        print(f"{name}: BIC {[round(b, 1) for b in bic.values()]}, chosen K = {best}")
        axes[0].plot(list(bic), list(bic.values()), "o-", color=f"C{i}", label=name)
        axes[0].plot(best, bic[best], "*", ms=16, color=f"C{i}")
        ax = axes[i + 1]
        labels = fits[best].predict(table)
        colours = plt.get_cmap("tab10")(np.arange(best) + 2)
        ax.scatter(*measured.T, s=8, c=colours[labels[both]], alpha=0.6)
        means, covariances = _block_covariances(fits[best])
        for k in range(best):
            _ellipse(ax, means[k], covariances[k], colours[k])
        crosstab = pd.crosstab(labels, group, rownames=["component"], colnames=["group"])
        print(crosstab.to_string())
        ax.set_title(f"{name}: K = {best} by BIC")
        ax.set_xlabel("height (cm)")
        ax.set_ylabel("weight (kg)")
    axes[0].set_xlabel("number of components K")
    axes[0].set_ylabel("BIC (lower is better)")
    axes[0].set_xticks(range(1, 6))
    axes[0].legend()
    axes[0].set_title("BIC of the two models")
    fig.suptitle(
        "600 rows from 2 groups, height and weight correlated within each; 10% blank cells "
        f"(scatter: the {both.sum()} rows with both measured)"
    )
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "mixed_table.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
