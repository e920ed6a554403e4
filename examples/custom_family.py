"""A new exponential family in one short file: mixtures of exponential distributions.

The family is built on :class:`emkit.families.CanonicalFamily` from its four textbook
ingredients, checked with :func:`emkit.testing.check_family`, and fitted to waiting times drawn
from two exponential distributions (a fast and a slow process). The figure shows the histogram
of the data against the fitted mixture density and its two components.

This is the family of the guide "Writing your own model" (docs/plugin-guide.md), which includes
the code between the ``--8<--`` markers verbatim.

Usage: ``python examples/custom_family.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path

# --8<-- [start:imports]
import attrs
import numpy as np

import emkit
from emkit.families import CanonicalFamily, MeanParams

# --8<-- [end:imports]

# --8<-- [start:family]
# A component with no data has mean 0 (and rate infinity); clamp it so log_prob stays finite.
_TINY_MEAN = np.finfo(np.float64).tiny


@attrs.frozen
class Exponential(CanonicalFamily):
    """Independent exponential features, ``p(x | lam) = prod_d lam_d exp(-lam_d x_d)``, x >= 0.

    As an exponential family: ``T(x) = x``, ``eta = -lam = -1 / mean``,
    ``A(eta) = -sum_d log(-eta_d)``, ``h(x) = 1``. The mean parameters are the means ``1 / lam``,
    so the M-step is the responsibility-weighted mean of ``x``.

    Parameters
    ----------
    prior_strength : float, default 0.0
        Pseudo-observations of a conjugate Gamma prior on the rates (0: maximum likelihood).
    prior_mean : float, default 1.0
        Mean of those pseudo-observations. The M-step is
        ``mean_kd = (sum_n r_nk x_nd + strength * prior_mean) / (n_k + strength)``.
    """

    prior_strength: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    prior_mean: float = attrs.field(default=1.0, validator=attrs.validators.gt(0.0))
    # h(x) = 1, so log h(x) = 0 for every x: the E-step may skip it (an optional speed-up).
    zero_base_measure = True

    # The four ingredients: T(x), eta(mean), A(eta), log h(x).
    def sufficient_statistics(self, X: np.ndarray) -> np.ndarray:
        return X

    def natural_parameters(self, mean: np.ndarray) -> np.ndarray:
        return -1.0 / np.maximum(mean, _TINY_MEAN)

    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        return -np.sum(np.log(-natural), axis=1)

    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return np.zeros(X.shape[0], dtype=X.dtype)

    # The conjugate prior as (tau, m0): tau pseudo-observations with mean m0.
    def prior(self) -> tuple[float, float]:
        return self.prior_strength, self.prior_mean

    # The domain, with error messages that name the argument, the rule and the value.
    def check_support(self, X: np.ndarray) -> None:
        bad = X < 0
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(
                "`X` must be non-negative for an Exponential mixture; "
                f"found {X[row, col]} at row {row}, column {col}"
            )

    def check_mean(self, mean: np.ndarray) -> None:
        bad = mean <= 0
        if bad.any():
            k, d = np.argwhere(bad)[0]
            raise ValueError(
                "Exponential means `params.mean` must be > 0; "
                f"found {mean[k, d]} at component {k}, feature {d}"
            )

    def sample(
        self, params: MeanParams, component: int, n: int, rng: np.random.Generator
    ) -> np.ndarray:
        scale = params.mean[component]
        return rng.exponential(scale, size=(n, scale.shape[0]))


# --8<-- [end:family]


def waiting_times(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, MeanParams, np.ndarray]:
    """Waiting times from a fast process (mean 1) and a slow one (mean 10), 60% / 40%."""
    truth = emkit.MixtureParams(np.array([0.6, 0.4]), MeanParams(np.array([[1.0], [10.0]])))
    model = emkit.FiniteMixture(Exponential(), n_components=2)
    X, _ = model.sample(truth, n, np.random.default_rng(seed))
    return X, truth.components, truth.weights


def main(output_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emkit.testing import check_family

    X, true_components, true_weights = waiting_times()

    # The public contract checks: shapes, additivity, relabelling, M-step optimality, monotone EM.
    check_family(Exponential(), X, n_components=2)
    print("check_family(Exponential(), ...) passed")

    model = emkit.FiniteMixture(Exponential(), n_components=2)
    # Overlapping components converge slowly: a tight tol lets EM run to the maximum.
    result = emkit.fit(model, X, n_init=5, tol=1e-6, max_iter=500, random_state=0)
    order = np.argsort(result.params.components.mean[:, 0])
    means = result.params.components.mean[order, 0]
    weights = result.params.weights[order]
    print(f"true   means {true_components.mean[:, 0]}, weights {true_weights}")
    print(f"fitted means {means.round(3)}, weights {weights.round(3)}")
    print(f"{result.n_iter} iterations, log-likelihood {result.log_likelihood:.2f}")

    grid = np.linspace(0.0, np.quantile(X, 0.995), 400)
    densities = weights / means * np.exp(-grid[:, None] / means)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.hist(X[:, 0], bins=80, range=(0.0, grid[-1]), density=True, color="0.8", label="data")
    for k in range(2):
        ax.plot(
            grid,
            densities[:, k],
            "--",
            label=f"component: mean {means[k]:.2f}, weight {weights[k]:.2f}",
        )
    ax.plot(grid, densities.sum(axis=1), "k", label="fitted mixture")
    ax.set_yscale("log")
    ax.set_ylim(1e-4, None)
    ax.set_xlabel("waiting time")
    ax.set_ylabel("density (log scale)")
    ax.set_title("A mixture of two exponential distributions, fitted by EM")
    ax.legend()
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "custom_family.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
