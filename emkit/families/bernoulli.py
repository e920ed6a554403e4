"""Bernoulli components for binary data, as a canonical exponential family.

``p(x | p) = prod_d p_d^x_d (1 - p_d)^(1 - x_d)``: T(x) = x, eta = logit(p),
A(eta) = sum_d log(1 + e^eta_d) = -sum_d log(1 - p_d), h(x) = 1.

Keeping probabilities inside (0, 1)
    The M-step is the MAP estimate under a symmetric conjugate prior worth ``pseudo_count``
    observations of 0 and ``pseudo_count`` observations of 1 for every pixel of every component:
    ``p_kd = (sum_n r_nk x_nd + c) / (n_k + 2 c)``. With ``c > 0`` every probability lies strictly
    inside (0, 1), so a column that is constant (all 0 or all 1) never produces ``log(0)``.
"""

from __future__ import annotations

from typing import Any, final

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_float, first_offender
from emkit.families.canonical import CanonicalFamily, MeanParams
from emkit.registry import register_family

__all__ = ["Bernoulli"]


def _check_pseudo_count(value: Any) -> float:
    return check_float(value, "pseudo_count", minimum=0.0, exclusive_minimum=True)


@final
@attrs.frozen
class Bernoulli(CanonicalFamily):
    """Independent Bernoulli features (multivariate Bernoulli) per component.

    Parameters
    ----------
    pseudo_count : float, default 0.01
        Pseudo-observations of each outcome (0 and 1) per feature and component; must be > 0.

    Notes
    -----
    Parameters of a mixture are [`MeanParams`][emkit.families.canonical.MeanParams] with
    ``mean`` (n_components, n_features) holding the probabilities of a 1.
    """

    pseudo_count: float = attrs.field(default=0.01, converter=_check_pseudo_count)
    zero_base_measure = True

    def sufficient_statistics(self, X: Array) -> Array:
        return X

    def natural_parameters(self, mean: Array) -> Array:
        return np.log(mean) - np.log1p(-mean)

    def log_partition(self, natural: Array) -> Array:
        return np.asarray(np.sum(np.logaddexp(0.0, natural), axis=1))

    def log_base_measure(self, X: Array) -> Array:
        return np.zeros(X.shape[0], dtype=X.dtype)

    def prior(self) -> tuple[float, float]:
        return 2.0 * self.pseudo_count, 0.5

    def check_support(self, X: Array) -> None:
        bad = (X != 0) & (X != 1)
        if bad.any():
            index = first_offender(bad)
            raise ValueError(
                "`X` must contain only 0 and 1 for a Bernoulli mixture; found "
                f"{X[index]} at row {index[0]}, column {index[1]} "
                "(binarize it first, e.g. X >= threshold)"
            )

    def check_mean(self, mean: Array) -> None:
        bad = (mean <= 0) | (mean >= 1)
        if bad.any():
            index = first_offender(bad)
            raise ValueError(
                "Bernoulli probabilities `params.mean` must lie strictly inside (0, 1); found "
                f"{mean[index]} at component {index[0]}, feature {index[1]}"
            )

    def sample(self, params: MeanParams, component: int, n: int, rng: np.random.Generator) -> Array:
        p = params.mean[component]
        return np.asarray(rng.random((n, p.shape[0])) < p, dtype=np.float64)


register_family(Bernoulli)
