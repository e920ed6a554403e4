"""Component distributions: each an [`ExponentialFamily`][emkit.protocols.ExponentialFamily]."""

from emkit.families.bernoulli import Bernoulli
from emkit.families.canonical import CanonicalFamily, MeanParams, MeanStats
from emkit.families.categorical import Categorical
from emkit.families.gaussian import COVARIANCE_TYPES, Gaussian, GaussianParams, GaussianStats
from emkit.families.poisson import Poisson
from emkit.families.product import Product, ProductParams, ProductStats

__all__ = [
    "COVARIANCE_TYPES",
    "Bernoulli",
    "CanonicalFamily",
    "Categorical",
    "Gaussian",
    "GaussianParams",
    "GaussianStats",
    "MeanParams",
    "MeanStats",
    "Poisson",
    "Product",
    "ProductParams",
    "ProductStats",
]
