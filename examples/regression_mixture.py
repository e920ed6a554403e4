"""A latent-variable model that is not a mixture of one family: a mixture of linear regressions.

Each row is ``(x_1, ..., x_{D-1}, y)``. A hidden component ``z`` chooses one of K regression
lines, and ``y | x, z = k ~ N(beta_k . (1, x), sigma_k^2)``. This is the model of R's flexmix
(Leisch 2004). It is implemented straight on emkit's ``emkit.protocols.LatentVariableModel``
protocol (seven methods and two attrs classes), checked with ``emkit.testing.check_model``, and
fitted with ``emkit.fit``, which knows nothing about regressions. The figure shows the data
coloured by the most probable component, the true lines and the fitted ones.

This is the model of the guide "Writing your own model" (docs/plugin-guide.md), which includes
the marked sections of this file verbatim and shows the whole file as ``regression_mixture.py``.

Usage: ``python examples/regression_mixture.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path

# --8<-- [start:imports]
from typing import Any, Self

import attrs
import numpy as np
from scipy.special import logsumexp

import emkit
from emkit.init import initial_responsibilities
from emkit.stats import NOT_ADDITIVE

# --8<-- [end:imports]

# --8<-- [start:model]
# Components with (almost) no data get this count, so the M-step never divides by zero.
COUNT_FLOOR = 10 * np.finfo(np.float64).eps


@attrs.frozen(eq=False)
class LineParams:
    """weights (K,), coefs (K, P) with the intercept first, variances (K,) of the noise."""

    weights: np.ndarray
    coefs: np.ndarray
    variances: np.ndarray


@attrs.frozen(eq=False)
class LineStats:
    """Sums over rows of the expected sufficient statistics, around reference coefficients.

    With design rows ``a_n = (1, x_n)`` and residuals ``e_nk = y_n - a_n . reference_k``:
    counts = sum_n r_nk, ata = sum_n r_nk a_n a_n^T, ate = sum_n r_nk a_n e_nk,
    ete = sum_n r_nk e_nk^2. ``reference`` is the same for every chunk of a pass (not summed).
    """

    reference: np.ndarray = attrs.field(metadata=NOT_ADDITIVE)
    counts: np.ndarray
    ata: np.ndarray
    ate: np.ndarray
    ete: np.ndarray

    def recenter(self, like: Self) -> Self:
        """The same sums around ``like.reference`` (online and incremental EM need this).

        Around the new lines the residuals are ``e' = e - a . d`` with
        ``d = like.reference - reference``, so ``ate' = ate - ata d`` and
        ``ete' = ete - 2 d . ate + d^T ata d``; ``counts`` and ``ata`` do not change.
        """
        d = like.reference - self.reference
        ata_d = np.einsum("kpq,kq->kp", self.ata, d)
        return attrs.evolve(
            self,
            reference=like.reference,
            ate=self.ate - ata_d,
            ete=self.ete
            - 2.0 * np.einsum("kp,kp->k", d, self.ate)
            + np.einsum("kp,kp->k", d, ata_d),
        )


@attrs.frozen
class LineMixture:
    """K linear regressions of the last column of X on the others, with Gaussian noise.

    Parameters
    ----------
    n_components : int
    min_variance : float, default 1e-6
        Floor on each noise variance, so that a line through two points cannot collapse.
    """

    n_components: int = attrs.field(validator=attrs.validators.ge(1))
    min_variance: float = attrs.field(default=1e-6, validator=attrs.validators.gt(0.0))

    @staticmethod
    def _split(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Design matrix (n, P) = (1, x) and response y (n,), in float64."""
        X = np.asarray(X, dtype=np.float64)
        return np.hstack([np.ones((X.shape[0], 1)), X[:, :-1]]), X[:, -1]

    def _stats(self, X: np.ndarray, resp: np.ndarray, reference: np.ndarray) -> LineStats:
        A, y = self._split(X)
        # Residuals around the reference lines: near convergence they change little, so the
        # residual sum of squares below never subtracts two large, nearly equal numbers.
        e = y[:, None] - A @ reference.T
        return LineStats(
            reference=reference,
            counts=resp.sum(axis=0),
            ata=np.einsum("nk,np,nq->kpq", resp, A, A),
            ate=np.einsum("nk,np,nk->kp", resp, A, e),
            ete=np.einsum("nk,nk->k", resp, e * e),
        )

    def _log_joint(self, X: np.ndarray, params: LineParams) -> np.ndarray:
        """log pi_k + log N(y_n | a_n . beta_k, sigma_k^2), shape (n, K)."""
        A, y = self._split(X)
        e = y[:, None] - A @ params.coefs.T
        log_density = -0.5 * (np.log(2 * np.pi * params.variances) + e * e / params.variances)
        return np.log(params.weights) + log_density

    # -- the LatentVariableModel protocol ------------------------------------------------------
    def validate_data(self, X: np.ndarray) -> np.ndarray:
        if X.shape[1] < 2:
            raise ValueError(
                "`X` must have at least 2 columns for a LineMixture (predictors, then the "
                f"response last); got {X.shape[1]}"
            )
        return X

    def init_params(
        self,
        X: np.ndarray,
        rng: np.random.Generator,
        method: str = "random",
        weights: np.ndarray | None = None,
    ) -> LineParams:
        resp = initial_responsibilities(X, self.n_components, method, rng, weights)
        if weights is not None:
            resp = resp * weights[:, None]
        reference = np.zeros((self.n_components, X.shape[1]))
        return self.m_step(self._stats(X, resp, reference))

    def validate_params(self, params: Any, n_features: int) -> LineParams:
        if not isinstance(params, LineParams):
            raise TypeError(f"`params` must be LineParams; got {type(params).__name__}")
        shapes = {
            "weights": (self.n_components,),
            "coefs": (self.n_components, n_features),
            "variances": (self.n_components,),
        }
        for name, shape in shapes.items():
            value = np.asarray(getattr(params, name), dtype=np.float64)
            if value.shape != shape:
                raise ValueError(f"`params.{name}` must have shape {shape}; got {value.shape}")
        if np.any(params.variances <= 0):
            raise ValueError(f"`params.variances` must be > 0; got {params.variances}")
        return params

    def e_step(
        self,
        X: np.ndarray,
        params: LineParams,
        weights: np.ndarray | None = None,
        labels: np.ndarray | None = None,
    ) -> tuple[LineStats, float]:
        if labels is not None:
            raise TypeError("LineMixture does not support known `labels`")
        log_joint = self._log_joint(X, params)
        log_norm = logsumexp(log_joint, axis=1)  # log p(x_n, y_n), never exp of a raw density
        resp = np.exp(log_joint - log_norm[:, None])
        if weights is not None:
            resp = resp * weights[:, None]
            return self._stats(X, resp, params.coefs), float(weights @ log_norm)
        return self._stats(X, resp, params.coefs), float(log_norm.sum())

    def m_step(self, stats: LineStats) -> LineParams:
        counts = np.maximum(stats.counts, COUNT_FLOOR)
        # Weighted least squares for each line, as a correction to the reference coefficients;
        # the pseudo-inverse gives the minimum-norm answer when a component sees too few points.
        delta = np.einsum("kpq,kq->kp", np.linalg.pinv(stats.ata), stats.ate)
        rss = stats.ete - np.einsum("kp,kp->k", delta, stats.ate)
        return LineParams(
            weights=counts / counts.sum(),
            coefs=stats.reference + delta,
            variances=np.maximum(rss / counts, self.min_variance),
        )

    def log_prior(self, params: LineParams) -> float:
        return 0.0

    def n_parameters(self, n_features: int) -> int:
        # K - 1 weights, K lines of n_features coefficients (intercept + slopes), K variances.
        k = self.n_components
        return (k - 1) + k * n_features + k

    # -- using a fit -----------------------------------------------------------------------------
    def predict(self, X: np.ndarray, params: LineParams) -> np.ndarray:
        """Most probable line of every row, shape (n,)."""
        return np.argmax(self._log_joint(X, params), axis=1)


# --8<-- [end:model]


# --8<-- [start:data]
def two_lines(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (x, y) from y = 1 + 2x (noise sd 1) and y = 15 - x (noise sd 2), half each."""
    rng = np.random.default_rng(seed)
    true_coefs = np.array([[1.0, 2.0], [15.0, -1.0]])
    true_sd = np.array([1.0, 2.0])
    z = rng.integers(0, 2, size=n)
    x = rng.uniform(0.0, 10.0, size=n)
    y = true_coefs[z, 0] + true_coefs[z, 1] * x + true_sd[z] * rng.standard_normal(n)
    return np.column_stack([x, y]), z, true_coefs


# --8<-- [end:data]


def main(output_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emkit.testing import check_model

    X, z, true_coefs = two_lines()
    model = LineMixture(n_components=2)
    check_model(model, X)
    print("check_model(LineMixture(2), ...) passed")

    result = emkit.fit(model, X, n_init=5, tol=1e-6, max_iter=500, random_state=0)
    params = result.params
    order = np.argsort(params.coefs[:, 1])[::-1]
    print("true   (intercept, slope):", true_coefs.tolist())
    print("fitted (intercept, slope):", params.coefs[order].round(2).tolist())
    print("fitted noise sd:", np.sqrt(params.variances[order]).round(2).tolist())
    labels = model.predict(X, params)
    agreement = max(np.mean(labels == z), np.mean(labels != z))
    print(f"{agreement:.1%} of rows assigned to their true line")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    grid = np.array([0.0, 10.0])
    for k in range(2):
        ax.scatter(*X[labels == k].T, s=10, alpha=0.6, label=f"assigned to line {k}")
    for j, (b0, b1) in enumerate(true_coefs):
        ax.plot(grid, b0 + b1 * grid, "k:", lw=1.5, label="true lines" if j == 0 else None)
    for j, (b0, b1) in enumerate(params.coefs):
        ax.plot(grid, b0 + b1 * grid, "k-", lw=1.5, label="fitted lines" if j == 0 else None)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("A mixture of two linear regressions, fitted by emkit.fit")
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "regression_mixture.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
