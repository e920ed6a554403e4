"""New exponential families in one short file each: the exponential and the log-normal.

Both are subclasses of ``emkit.families.CanonicalFamily``: four textbook ingredients
(T(x), eta(mean), A(eta), log h(x)), two domain checks (``check_support``, ``check_mean``) and a
sampler. ``Exponential`` has T(x) = x; ``LogNormal`` has T(x) = (ln x, (ln x)^2), two statistics
per feature, so it also states its mean in data space (``mean``). Both pass
``emkit.testing.check_family``. The script fits a mixture of two exponentials to waiting times
drawn from a fast and a slow process; the figure shows the histogram of the data against the
fitted mixture density and its two components.

This is the code of the guide "Writing your own model" (docs/plugin-guide.md), which includes
the marked sections of this file verbatim and shows the whole file as ``custom_family.py``.

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
        return X  # (n_samples, n_stats), here n_stats = n_features

    def natural_parameters(self, mean: np.ndarray) -> np.ndarray:
        return -1.0 / mean  # (n_components, n_stats)

    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        return -np.sum(np.log(-natural), axis=1)  # (n_components,)

    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return np.zeros(X.shape[0], dtype=X.dtype)  # (n_samples,)

    # The conjugate prior as (tau, m0): tau pseudo-observations with mean m0.
    def prior(self) -> tuple[float, float]:
        return self.prior_strength, self.prior_mean

    # The domain, with error messages that name the argument, the rule and the value. A mean of
    # 0 (what moment matching gives a component that receives no data) is refused too.
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

    # The sampler: n draws from one component, (n, n_features).
    def sample(
        self, params: MeanParams, component: int, n: int, rng: np.random.Generator
    ) -> np.ndarray:
        scale = params.mean[component]
        return rng.exponential(scale, size=(n, scale.shape[0]))


# --8<-- [end:family]


# --8<-- [start:lognormal]
@attrs.frozen
class LogNormal(CanonicalFamily):
    """Independent log-normal features: ``ln x_d ~ N(m_d, v_d)``, x > 0.

    As an exponential family: ``T(x) = (ln x, (ln x)^2)``, two statistics per feature, so the
    mean parameters are ``(E[ln x], E[(ln x)^2])``, of shape (n_components, 2 * n_features).
    ``eta = (m / v, -1 / (2 v))`` with ``v = E[(ln x)^2] - E[ln x]^2``,
    ``A(eta) = sum_d (-eta1_d^2 / (4 eta2_d) - ln(-2 eta2_d) / 2)`` and
    ``log h(x) = -sum_d (ln x_d + ln(2 pi) / 2)``.
    """

    @staticmethod
    def _halves(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (ln x) part and the ((ln x)^2) part of a row of statistics."""
        d = a.shape[1] // 2
        return a[:, :d], a[:, d:]

    def sufficient_statistics(self, X: np.ndarray) -> np.ndarray:
        # emkit also calls this on a row of zeros to learn n_stats (only the shape is used).
        with np.errstate(divide="ignore"):
            u = np.log(X)
        return np.hstack([u, u * u])  # (n_samples, 2 * n_features)

    def natural_parameters(self, mean: np.ndarray) -> np.ndarray:
        m1, m2 = self._halves(mean)
        v = m2 - m1 * m1
        return np.hstack([m1 / v, -0.5 / v])  # (n_components, 2 * n_features)

    def log_partition(self, natural: np.ndarray) -> np.ndarray:
        e1, e2 = self._halves(natural)
        return np.sum(-e1 * e1 / (4.0 * e2) - 0.5 * np.log(-2.0 * e2), axis=1)

    def log_base_measure(self, X: np.ndarray) -> np.ndarray:
        return -np.sum(np.log(X) + 0.5 * np.log(2.0 * np.pi), axis=1)

    def check_support(self, X: np.ndarray) -> None:
        bad = X <= 0
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(
                "`X` must be > 0 for a LogNormal mixture; "
                f"found {X[row, col]} at row {row}, column {col}"
            )

    def check_mean(self, mean: np.ndarray) -> None:
        m1, m2 = self._halves(mean)
        bad = ~(m2 - m1 * m1 > 0)
        if bad.any():
            k, d = np.argwhere(bad)[0]
            raise ValueError(
                "LogNormal means `params.mean` = (E[ln x], E[(ln x)^2]) must have "
                f"E[(ln x)^2] > E[ln x]^2; found {m2[k, d]} <= {m1[k, d]}^2 "
                f"at component {k}, feature {d}"
            )

    def sample(
        self, params: MeanParams, component: int, n: int, rng: np.random.Generator
    ) -> np.ndarray:
        m1, m2 = self._halves(params.mean[component : component + 1])
        sd = np.sqrt(m2 - m1 * m1)
        return np.exp(m1 + sd * rng.standard_normal((n, m1.shape[1])))

    # T(x) is not x, so the mean parameters are not the mean of x: state E[x], in data space.
    def mean(self, params: MeanParams) -> np.ndarray:
        m1, m2 = self._halves(params.mean)
        return np.exp(m1 + 0.5 * (m2 - m1 * m1))  # (n_components, n_features)


# --8<-- [end:lognormal]


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
    positive = np.random.default_rng(1).lognormal(0.5, 0.7, size=(300, 2))
    check_family(LogNormal(), positive, n_components=2)
    print("check_family(LogNormal(), ...) passed")

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
