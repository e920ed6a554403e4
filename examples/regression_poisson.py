"""A mixture of Poisson regressions: counts that follow one of two log-linear trends.

400 counts ``y`` against a covariate ``x`` in [0, 3]: 40% of the rows have rate
``exp(0.2 + 1.0 x)`` (rising), the others ``exp(2.8 - 0.6 x)`` (falling).
[`emkit.regression.RegressionMixture`][emkit.regression.RegressionMixture] with
``family="poisson"`` (log link) is fitted by [`emkit.fit`][emkit.em.fit] from ten random starts.
A Poisson component's M-step has no closed form: every EM iteration runs inner IRLS (Newton)
passes with the responsibilities held fixed, guarded by step halving on the bound ``F``
(generalised EM), so the log-likelihood never decreases. The figure shows the counts coloured by
their most probable component, the two fitted mean curves ``exp(b0 + b1 x)`` (solid), the true
ones (dashed) and the mixture's mean ``E[y | x]`` (grey).

Figure: ``regression_poisson.png``.

Usage: ``python examples/regression_poisson.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import emkit
from emkit.regression import RegressionMixture

# --8<-- [start:data]
# Intercept and slope of the log rate of the two true components.
TRUE_COEF = np.array([[0.2, 1.0], [2.8, -0.6]])


def count_data(n: int = 400, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``(x, y)`` with Poisson counts ``y`` of two log-linear rates, and the component."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 3.0, n)
    component = (rng.random(n) >= 0.4).astype(int)  # 0: rising (40%), 1: falling
    log_rate = TRUE_COEF[component, 0] + TRUE_COEF[component, 1] * x
    y = rng.poisson(np.exp(log_rate)).astype(np.float64)
    return np.column_stack([x, y]), component


# --8<-- [end:data]


# --8<-- [start:fit]
def fit_counts(X: np.ndarray) -> emkit.FitResult[Any]:
    """K = 2 Poisson regressions (log link) of the counts on x, ten random starts."""
    model = RegressionMixture(2, "poisson")
    return emkit.fit(model, X, init="random", n_init=10, tol=1e-8, random_state=0)


# --8<-- [end:fit]


def main(output_dir: Path) -> None:
    import matplotlib.pyplot as plt

    X, _ = count_data()
    result = fit_counts(X)
    model, params = result.model, result.params
    labels = model.predict(X, params)
    grid = np.linspace(0.0, 3.0, 200)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    jitter = np.random.default_rng(2).uniform(-0.15, 0.15, len(X))
    for k in range(2):
        on = labels == k
        ax.scatter(X[on, 0], X[on, 1] + jitter[on], s=12, color=f"C{k}", alpha=0.55, zorder=1)
        b0, b1 = params.coef[k]
        ax.plot(
            grid,
            np.exp(b0 + b1 * grid),
            color=f"C{k}",
            lw=2.5,
            zorder=3,
            label=(
                f"fitted: exp({b0:.2f} {'+' if b1 >= 0 else '-'} {abs(b1):.2f} x), "
                f"weight {params.weights[k]:.2f}"
            ),
        )
    for b0, b1 in TRUE_COEF:
        ax.plot(grid, np.exp(b0 + b1 * grid), color="black", ls="--", lw=1, zorder=2)
    ax.plot([], [], color="black", ls="--", lw=1, label="true rates")
    mean = model.mean_response(grid[:, None], params)
    ax.plot(grid, mean, color="grey", lw=1.5, zorder=2, label="mixture mean E[y | x]")
    ax.set_xlabel("x")
    ax.set_ylabel("count y (jittered)")
    ax.set_title(
        "Mixture of two Poisson regressions: counts coloured by their posterior class",
        fontsize=10,
    )
    ax.legend(loc="upper center", fontsize=9)
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "regression_poisson.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
