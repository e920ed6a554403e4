"""Poisson mixtures of the yearly number of major earthquakes, 1900-2006.

The counts are over-dispersed (variance about 52 against a mean of about 19), so one Poisson
distribution cannot fit them. Mixtures of 1 to 4 Poisson components are fitted with
:func:`emkit.select` (the example of Zucchini & MacDonald, *Hidden Markov Models for Time
Series*, ch. 1), their probability mass functions are drawn over the histogram, and BIC / AIC
choose the number of components.

Figure: ``earthquakes_poisson.png``.

Usage: ``python examples/earthquakes_poisson.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.stats import poisson

import emkit
from emkit.plotting import plot_selection


def main(output_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    quakes = emkit.datasets.load_earthquakes()
    X = quakes.data
    print(f"{X.shape[0]} years, mean {X.mean():.2f}, variance {X.var(ddof=1):.2f} per year")

    selection = emkit.select(
        X,
        emkit.Poisson(),
        n_components=range(1, 5),
        n_init=10,
        tol=1e-8,
        max_iter=1000,
        random_state=0,
    )
    print(selection.table())
    best = selection.best
    by_aic = min(selection.candidates, key=lambda c: c.aic)
    print(f"BIC chooses {best.n_components} components, AIC {by_aic.n_components}")

    counts = np.arange(0, int(X.max()) + 6)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    observed = np.bincount(X[:, 0].astype(int), minlength=counts.size) / X.shape[0]
    left.bar(counts, observed, width=0.8, color="0.8", label="observed frequency")
    for candidate in selection.candidates:
        params = candidate.result.params
        rates = params.components.mean[:, 0]
        pmf = poisson.pmf(counts[:, None], rates) @ params.weights
        style = "-" if candidate is best else "--"
        width = 2.2 if candidate is best else 1.2
        left.plot(counts, pmf, style, lw=width, label=f"K = {candidate.n_components}")
        order = np.argsort(rates)
        print(
            f"K={candidate.n_components}: rates {rates[order].round(2)}, "
            f"weights {params.weights[order].round(3)}"
        )
    left.set_xlabel("major earthquakes in a year")
    left.set_ylabel("probability")
    left.set_title("Poisson mixtures fitted by EM (solid: best by BIC)")
    left.legend()
    plot_selection(selection, criteria=("bic", "aic"), ax=right)
    right.set_title("model selection: lower is better")
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "earthquakes_poisson.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
