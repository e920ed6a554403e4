"""scikit-learn's GaussianMixture, on emkit's driver:
[`GaussianMixture`][emkit.estimators.GaussianMixture]."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from emkit._backend import Array, cholesky
from emkit.estimators.base import MixtureEstimator
from emkit.estimators.inputs import check_shape, check_weights_init
from emkit.families import Gaussian, GaussianParams
from emkit.mixture import FiniteMixture

__all__ = ["GaussianMixture", "covariances_from_precisions"]


class GaussianMixture(MixtureEstimator):
    """Gaussian mixture fitted by EM, with scikit-learn's parameters and attributes.

    Parameters
    ----------
    n_components : int, default 1
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    tol : float, default 1e-3
        Convergence threshold on the change of the mean log-likelihood.
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default 100
    n_init : int, default 1
        Runs from different starts; the best final log-likelihood wins.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
    weights_init : array of shape (n_components,), optional
    means_init : array of shape (n_components, n_features), optional
    precisions_init : array, optional
        Shape (n_components, n_features, n_features) for full, (n_features, n_features) tied,
        (n_components, n_features) diag, (n_components,) spherical.
    random_state : None, int, numpy Generator or RandomState
    warm_start : bool, default False
        Start the next ``fit`` from this fit's parameters (one run).
    verbose : int, default 0
        1: one line per run; 2: also the change every ``verbose_interval`` iterations
        (printed to stderr).
    verbose_interval : int, default 10
    missing : {"error", "marginalise"}, default "error"
        What a NaN in ``X`` is: a mistake (refused, naming its row and column) or a value
        missing at random, integrated out exactly in every E-step (see
        [`FiniteMixture`][emkit.mixture.FiniteMixture]); ``predict``, ``predict_proba``,
        ``score_samples`` and ``impute`` then take rows with NaN too.

    Attributes
    ----------
    weights_ : (n_components,)
    means_ : (n_components, n_features)
    covariances_, precisions_, precisions_cholesky_ : scikit-learn's shapes (as precisions_init)
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood of the training data at the fitted parameters.
    lower_bounds_ : array of shape (n_iter_,)
        That value after every iteration.
    n_features_in_ : int
    feature_names_in_ : array of str, only when fitted on a DataFrame with string column names
    result_ : emkit.FitResult
        The driver's result (model, parameters, history).
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        precisions_init: Any = None,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        missing: str = "error",
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.missing = missing

    def _build_family(self) -> Gaussian:
        return Gaussian(self.covariance_type, self.reg_covar)

    def _start_params(self, model: FiniteMixture[Any, Any], n_features: int) -> dict[str, Any]:
        given: dict[str, Any] = {}
        k = model.n_components
        if self.weights_init is not None:
            given["weights"] = check_weights_init(self.weights_init, k)
        means = None
        if self.means_init is not None:
            means = check_shape(self.means_init, "means_init", (k, n_features))
        covariances = None
        if self.precisions_init is not None:
            family = model.family
            assert isinstance(family, Gaussian)
            covariances = covariances_from_precisions(
                self.precisions_init, family.covariance_type, k, n_features
            )
        if means is not None and covariances is not None:
            given["components"] = GaussianParams(means, covariances)
        elif means is not None or covariances is not None:
            given["components"] = partial(_complete, means=means, covariances=covariances)
        return given

    def _component_attributes(
        self, model: FiniteMixture[Any, Any], components: GaussianParams
    ) -> dict[str, Array]:
        covariances = components.covariances
        chol = components.precisions_cholesky
        kind = self.covariance_type
        if kind == "tied":
            # emkit keeps the shared matrix as a stack of one, (1, D, D); scikit-learn as (D, D).
            covariances, chol = covariances[0], chol[0]
        matrices = kind in ("full", "tied")
        precisions = chol @ np.swapaxes(chol, -1, -2) if matrices else chol**2
        return {
            "means_": components.means,
            "covariances_": covariances,
            "precisions_cholesky_": chol,
            "precisions_": precisions,
        }


def _complete(
    start: GaussianParams, means: Array | None, covariances: Array | None
) -> GaussianParams:
    """The data-driven start with the user's means and/or covariances in place of its own."""
    return GaussianParams(
        start.means if means is None else means,
        start.covariances if covariances is None else covariances,
    )


def covariances_from_precisions(
    value: Any, covariance_type: str, n_components: int, n_features: int
) -> Array:
    """Covariances in emkit's shapes from scikit-learn-shaped precisions (validated)."""
    k, d = n_components, n_features
    shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance_type]
    precisions = check_shape(value, "precisions_init", shape)
    if covariance_type in ("diag", "spherical"):
        if (precisions <= 0).any():
            raise ValueError(
                f"`precisions_init` must be positive for covariance_type={covariance_type!r}; "
                f"found {float(precisions.min())}"
            )
        return 1.0 / precisions
    stack = precisions.reshape(-1, d, d)
    if not np.allclose(stack, np.swapaxes(stack, -1, -2)):
        raise ValueError("`precisions_init` must hold symmetric matrices")
    try:
        lower = cholesky(stack)
    except np.linalg.LinAlgError:
        raise ValueError("`precisions_init` must hold positive-definite matrices") from None
    # Sigma = P^-1 = L^-T L^-1 from the Cholesky factor P = L L^T, then symmetrised exactly.
    inverse_lower = np.linalg.inv(lower)
    covariances = np.swapaxes(inverse_lower, -1, -2) @ inverse_lower
    return np.asarray(0.5 * (covariances + np.swapaxes(covariances, -1, -2)))
