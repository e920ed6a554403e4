"""Plugin models written straight on emkit's protocols, for the tests: a Student-t mixture.

Nothing here is part of emkit. :class:`StudentTMixture` uses no emkit family: it implements the
``LatentVariableModel`` protocol (and the optional capabilities a driver may use) by hand, the
way a plugin author would, so the tests of ``emkit.testing``, of the drivers and of online and
incremental EM can run on a model emkit knows nothing about.

The model: K components, each a multivariate Student-t with location ``mu_k``, scale matrix
``Sigma_k`` and fixed degrees of freedom ``nu`` (a setting of the model, not fitted). As a
Gaussian scale mixture, ``x | z = k, u ~ N(mu_k, Sigma_k / u)`` with ``u ~ Gamma(nu/2, nu/2)``,
EM treats both ``z`` and ``u`` as latent:

* E-step: responsibilities ``r_nk`` by log-sum-exp of ``log pi_k + log t(x_n | mu_k, Sigma_k,
  nu)``, and latent scales ``u_nk = E[u | x_n, z = k] = (nu + D) / (nu + delta_nk^2)`` with
  ``delta_nk`` the Mahalanobis distance;
* M-step (exact for fixed ``nu``): ``pi_k = n_k / N``, ``mu_k = sum_n r_nk u_nk x_n / W_k``,
  ``Sigma_k = sum_n r_nk u_nk (x_n - mu_k)(x_n - mu_k)^T / n_k``, with ``n_k = sum_n r_nk``
  and ``W_k = sum_n r_nk u_nk``.

The weighted moments are accumulated around a reference point (the means of the parameters of
the E-step), so the M-step never subtracts two large, nearly equal numbers; the statistics can
move that point exactly (``recenter``), which online and incremental EM need.
"""

from __future__ import annotations

from typing import Any, Self

import attrs
import numpy as np
import scipy.linalg
from scipy.special import gammaln, logsumexp

from emkit.init import initial_responsibilities
from emkit.stats import NOT_ADDITIVE

__all__ = ["COUNT_FLOOR", "StudentTMixture", "StudentTParams", "StudentTStats", "student_t_data"]

#: Summed responsibilities (and scale-weighted sums) are floored here, so an empty component
#: never divides by zero.
COUNT_FLOOR = 10.0 * np.finfo(np.float64).eps

#: Tolerance on the sum of user-given mixing weights.
WEIGHT_SUM_ATOL = 1e-6


@attrs.frozen(eq=False)
class StudentTParams:
    """Parameters of a Student-t mixture.

    Attributes
    ----------
    weights : array of shape (n_components,)
    means : array of shape (n_components, n_features)
        Locations ``mu_k``.
    covariances : array of shape (n_components, n_features, n_features)
        Scale matrices ``Sigma_k`` (the covariance is ``nu / (nu - 2) Sigma_k`` for ``nu > 2``).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray


@attrs.frozen(eq=False)
class StudentTStats:
    """Sums over rows of the expected sufficient statistics, around ``reference``.

    With row weights ``w_n``, responsibilities ``r_nk``, latent scales ``u_nk`` and
    ``c_k = reference[k]``:

    Attributes
    ----------
    reference : array of shape (n_components, n_features)
        The point the moments are taken around; shared by every chunk of a pass (not summed).
    counts : array of shape (n_components,)
        ``n_k = sum_n w_n r_nk``.
    scale_sums : array of shape (n_components,)
        ``W_k = sum_n w_n r_nk u_nk``.
    sum_x : array of shape (n_components, n_features)
        ``sum_n w_n r_nk u_nk (x_n - c_k)``.
    sum_xx : array of shape (n_components, n_features, n_features)
        ``sum_n w_n r_nk u_nk (x_n - c_k)(x_n - c_k)^T``.
    """

    reference: np.ndarray = attrs.field(metadata=NOT_ADDITIVE)
    counts: np.ndarray
    scale_sums: np.ndarray
    sum_x: np.ndarray
    sum_xx: np.ndarray

    def recenter(self, like: Self) -> Self:
        """These statistics re-expressed around the reference of ``like`` (exactly).

        With ``d = c - c'`` (old reference minus new) and ``S``, ``M`` the first and second
        sums: ``sum w (x - c') = S + W d`` and
        ``sum w (x - c')(x - c')^T = M + S d^T + d S^T + W d d^T``.
        """
        if type(like) is not type(self):
            raise TypeError(f"cannot recenter {type(self).__name__} like {type(like).__name__}")
        if like.reference.shape != self.reference.shape:
            raise ValueError(
                f"cannot recenter statistics around a reference of shape {like.reference.shape}; "
                f"these have {self.reference.shape}"
            )
        d = self.reference - like.reference
        w = self.scale_sums
        s = self.sum_x
        outer = s[:, :, None] * d[:, None, :]
        return attrs.evolve(
            self,
            reference=like.reference,
            sum_x=s + w[:, None] * d,
            sum_xx=(
                self.sum_xx
                + outer
                + np.swapaxes(outer, 1, 2)
                + w[:, None, None] * d[:, :, None] * d[:, None, :]
            ),
        )


def _positive_int(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{attribute.name}` must be an integer >= 1; got {value!r}")


@attrs.frozen
class StudentTMixture:
    """A mixture of multivariate Student-t distributions with fixed degrees of freedom.

    Parameters
    ----------
    n_components : int
        Number of components K >= 1.
    dof : float, default 4.0
        Degrees of freedom ``nu > 0`` of every component (fixed, not fitted).
    reg_covar : float, default 1e-6
        Added to the diagonal of every scale matrix in the M-step, so that a component on a
        single point stays positive definite.
    """

    n_components: int = attrs.field(validator=_positive_int)
    dof: float = attrs.field(default=4.0, converter=float, validator=attrs.validators.gt(0.0))
    reg_covar: float = attrs.field(
        default=1e-6, converter=float, validator=attrs.validators.ge(0.0)
    )

    # -- pieces ----------------------------------------------------------------------------------
    def _log_pdf(
        self, X: np.ndarray, params: StudentTParams
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``log t(x_n | mu_k, Sigma_k, nu)`` (n, K), squared Mahalanobis distances (n, K) and
        ``x_n - mu_k`` (n, K, D)."""
        X = np.asarray(X, dtype=np.float64)
        n_features = X.shape[1]
        lower = np.linalg.cholesky(params.covariances)  # (K, D, D)
        diff = X[:, None, :] - params.means[None, :, :]  # (n, K, D)
        maha = np.empty((X.shape[0], self.n_components))
        for k in range(self.n_components):  # a loop over components; all rows at once
            solved = scipy.linalg.solve_triangular(lower[k], diff[:, k, :].T, lower=True)
            maha[:, k] = np.einsum("dn,dn->n", solved, solved)
        log_det = 2.0 * np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)
        nu = self.dof
        log_norm = (
            gammaln((nu + n_features) / 2.0)
            - gammaln(nu / 2.0)
            - 0.5 * n_features * np.log(nu * np.pi)
            - 0.5 * log_det
        )
        return log_norm - 0.5 * (nu + n_features) * np.log1p(maha / nu), maha, diff

    def _log_joint(
        self, X: np.ndarray, params: StudentTParams, labels: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``log pi_k + log t(x_n | k)`` (n, K), latent scales ``u_nk`` (n, K) and
        ``x_n - mu_k`` (n, K, D)."""
        log_pdf, maha, diff = self._log_pdf(X, params)
        scales = (self.dof + diff.shape[2]) / (self.dof + maha)
        with np.errstate(divide="ignore"):
            log_joint = log_pdf + np.log(params.weights)
        if labels is not None:
            # A known label fixes the row's component: every other one gets -inf.
            known = labels >= 0
            allowed = ~known[:, None] | (labels[:, None] == np.arange(self.n_components))
            log_joint = np.where(allowed, log_joint, -np.inf)
        return log_joint, scales, diff

    @staticmethod
    def _stats(
        resp: np.ndarray, scales: np.ndarray, diff: np.ndarray, reference: np.ndarray
    ) -> StudentTStats:
        """Sums of ``resp`` (n, K) times ``scales`` (n, K) times moments of ``diff`` (n, K, D)
        (the rows minus ``reference``)."""
        weighted = resp * scales
        first = weighted[:, :, None] * diff
        return StudentTStats(
            reference=reference,
            counts=resp.sum(axis=0),
            scale_sums=weighted.sum(axis=0),
            sum_x=first.sum(axis=0),
            sum_xx=np.einsum("nkd,nke->kde", first, diff, optimize=True),
        )

    # -- the LatentVariableModel protocol ------------------------------------------------------
    def validate_data(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"`X` must be 2-D (n_samples, n_features); got shape {X.shape}")
        if not np.isfinite(X).all():
            row, col = (int(i) for i in np.argwhere(~np.isfinite(X))[0])
            raise ValueError(
                f"`X` must be finite for a StudentTMixture; found {X[row, col]} at row {row}, "
                f"column {col}"
            )
        return X

    def init_params(
        self,
        X: np.ndarray,
        rng: np.random.Generator,
        method: str = "kmeans",
        weights: np.ndarray | None = None,
    ) -> StudentTParams:
        """One M-step on initial responsibilities (:mod:`emkit.init`) with all scales ``u = 1``."""
        X = np.asarray(X, dtype=np.float64)
        resp = initial_responsibilities(X, self.n_components, method, rng, weights)
        if weights is not None:
            resp = resp * weights[:, None]
        counts = np.maximum(resp.sum(axis=0), COUNT_FLOOR)
        reference = (resp.T @ X) / counts[:, None]
        diff = X[:, None, :] - reference[None, :, :]
        return self.m_step(self._stats(resp, np.ones_like(resp), diff, reference))

    def validate_params(self, params: Any, n_features: int) -> StudentTParams:
        if not isinstance(params, StudentTParams):
            raise TypeError(f"`params` must be StudentTParams; got {type(params).__name__}")
        k, d = self.n_components, n_features
        shapes = {"weights": (k,), "means": (k, d), "covariances": (k, d, d)}
        values = {}
        for name, shape in shapes.items():
            value = np.asarray(getattr(params, name), dtype=np.float64)
            if value.shape != shape:
                raise ValueError(f"`params.{name}` must have shape {shape}; got {value.shape}")
            if not np.isfinite(value).all():
                raise ValueError(f"`params.{name}` must be finite")
            values[name] = value
        weights = values["weights"]
        if (weights < 0).any() or abs(weights.sum() - 1.0) > WEIGHT_SUM_ATOL:
            raise ValueError(
                f"`params.weights` must be non-negative and sum to 1; got {weights.tolist()}"
            )
        covariances = values["covariances"]
        if not np.allclose(covariances, np.swapaxes(covariances, 1, 2)):
            raise ValueError("`params.covariances` must be symmetric matrices")
        try:
            np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError:
            raise ValueError("`params.covariances` must be positive definite") from None
        return StudentTParams(weights / weights.sum(), values["means"], covariances)

    def e_step(
        self,
        X: np.ndarray,
        params: StudentTParams,
        weights: np.ndarray | None = None,
        labels: np.ndarray | None = None,
    ) -> tuple[StudentTStats, float]:
        log_joint, scales, diff = self._log_joint(X, params, labels)
        log_norm = logsumexp(log_joint, axis=1)  # log p(x_n), never exp of a raw density
        resp = np.exp(log_joint - log_norm[:, None])
        if weights is not None:
            resp = resp * weights[:, None]
            log_likelihood = float(weights @ log_norm)
        else:
            log_likelihood = float(log_norm.sum())
        return self._stats(resp, scales, diff, params.means), log_likelihood

    def m_step(self, stats: StudentTStats) -> StudentTParams:
        counts = np.maximum(stats.counts, COUNT_FLOOR)
        scale_sums = np.maximum(stats.scale_sums, COUNT_FLOOR)
        move = stats.sum_x / scale_sums[:, None]  # new mean minus reference
        # sum r u (x - mu)(x - mu)^T = M - W move move^T, around the new mean, no cancellation
        # against the reference's distance from the data.
        scatter = stats.sum_xx - scale_sums[:, None, None] * move[:, :, None] * move[:, None, :]
        covariances = scatter / counts[:, None, None]
        covariances = 0.5 * (covariances + np.swapaxes(covariances, 1, 2))
        covariances += self.reg_covar * np.eye(stats.reference.shape[1])
        return StudentTParams(
            weights=counts / counts.sum(),
            means=stats.reference + move,
            covariances=covariances,
        )

    def log_prior(self, params: StudentTParams) -> float:
        return 0.0

    def n_parameters(self, n_features: int) -> int:
        k, d = self.n_components, n_features
        return (k - 1) + k * d + k * d * (d + 1) // 2

    # -- optional capabilities ---------------------------------------------------------------------
    def bytes_per_row(self, n_features: int, itemsize: int) -> int:
        """Temporaries per row of an E-step chunk: a few (K, D) and (K,) float64 arrays."""
        return 8 * self.n_components * (3 * n_features + 6)

    def score_samples(self, X: np.ndarray, params: StudentTParams) -> np.ndarray:
        """``log p(x_n)`` of every row, shape (n_samples,)."""
        return np.asarray(logsumexp(self._log_joint(X, params)[0], axis=1))

    def responsibilities(self, X: np.ndarray, params: StudentTParams) -> np.ndarray:
        """``p(z = k | x_n)``, shape (n_samples, n_components)."""
        log_joint = self._log_joint(X, params)[0]
        return np.asarray(np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None]))

    def predict(self, X: np.ndarray, params: StudentTParams) -> np.ndarray:
        """Most probable component of every row, shape (n_samples,)."""
        return np.asarray(np.argmax(self._log_joint(X, params)[0], axis=1))

    def sample(
        self, params: StudentTParams, n_samples: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(X, labels)``: ``n_samples`` rows and the component each was drawn from."""
        labels = rng.choice(self.n_components, size=n_samples, p=params.weights)
        n_features = params.means.shape[1]
        lower = np.linalg.cholesky(params.covariances)[labels]  # (n, D, D)
        z = rng.standard_normal((n_samples, n_features))
        u = rng.chisquare(self.dof, size=n_samples) / self.dof
        X = params.means[labels] + np.einsum("nde,ne->nd", lower, z) / np.sqrt(u)[:, None]
        return X, labels


def student_t_data(
    n_samples: int = 300, seed: int = 0, dof: float = 4.0
) -> tuple[np.ndarray, np.ndarray, StudentTParams]:
    """``(X, labels, truth)``: draws from a known mixture of three 2-D Student-t components."""
    truth = StudentTParams(
        weights=np.array([0.5, 0.3, 0.2]),
        means=np.array([[0.0, 0.0], [6.0, 1.0], [-1.0, 7.0]]),
        covariances=np.array(
            [[[1.0, 0.3], [0.3, 0.5]], [[0.6, -0.2], [-0.2, 1.2]], [[2.0, 0.0], [0.0, 0.3]]]
        ),
    )
    X, labels = StudentTMixture(3, dof=dof).sample(truth, n_samples, np.random.default_rng(seed))
    return X, labels, truth
