"""emkit: Expectation-Maximization for latent-variable models.

One protocol ([`LatentVariableModel`][emkit.protocols.LatentVariableModel]), one driver
([`fit`][emkit.em.fit]), and finite mixtures of exponential families
([`FiniteMixture`][emkit.mixture.FiniteMixture] of [`Gaussian`][emkit.families.gaussian.Gaussian],
[`Bernoulli`][emkit.families.bernoulli.Bernoulli], [`Poisson`][emkit.families.poisson.Poisson],
[`Categorical`][emkit.families.categorical.Categorical], or
your own [`ExponentialFamily`][emkit.protocols.ExponentialFamily]).

>>> import emkit
>>> X = emkit.datasets.load_faithful().data
>>> result = emkit.fit(emkit.FiniteMixture(emkit.Gaussian("full"), 2), X, random_state=0)
>>> result.converged
True
"""

from emkit import datasets, online, protocols, registry, schedules, sources, stats
from emkit._version import __version__
from emkit.em import FitResult, IterationState, fit
from emkit.estimators import (
    BernoulliHMM,
    BernoulliMixture,
    CategoricalHMM,
    CategoricalMixture,
    GaussianHMM,
    GaussianMixture,
    MixedMixture,
    PoissonHMM,
    PoissonMixture,
    RegressionMixture,
)
from emkit.exceptions import (
    ConvergenceWarning,
    DegenerateComponentWarning,
    LikelihoodDecreaseWarning,
    ModelError,
)
from emkit.families import (
    COVARIANCE_TYPES,
    Bernoulli,
    CanonicalFamily,
    Categorical,
    Gaussian,
    GaussianParams,
    MeanParams,
    Poisson,
    Product,
    ProductParams,
)
from emkit.hmm import HiddenMarkovModel, HMMParams
from emkit.init import INIT_METHODS, init_methods, register_init
from emkit.io import load, save
from emkit.mixture import FiniteMixture, MixtureParams, MixtureStats
from emkit.online import fit_incremental, fit_online
from emkit.protocols import ExponentialFamily, LatentVariableModel
from emkit.regression import RegressionParams, RegressionStats
from emkit.selection import Selection, aic, bic, icl, select
from emkit.sources import ArraySource, ChunkSource, DaskSource, DataSource, MemmapSource
from emkit.starts import ShortRuns
from emkit.student_t import StudentTMixture, StudentTParams, StudentTStats

__all__ = [
    "COVARIANCE_TYPES",
    "INIT_METHODS",
    "ArraySource",
    "Bernoulli",
    "BernoulliHMM",
    "BernoulliMixture",
    "CanonicalFamily",
    "Categorical",
    "CategoricalHMM",
    "CategoricalMixture",
    "ChunkSource",
    "ConvergenceWarning",
    "DaskSource",
    "DataSource",
    "DegenerateComponentWarning",
    "ExponentialFamily",
    "FiniteMixture",
    "FitResult",
    "Gaussian",
    "GaussianHMM",
    "GaussianMixture",
    "GaussianParams",
    "HMMParams",
    "HiddenMarkovModel",
    "IterationState",
    "LatentVariableModel",
    "LikelihoodDecreaseWarning",
    "MeanParams",
    "MemmapSource",
    "MixedMixture",
    "MixtureParams",
    "MixtureStats",
    "ModelError",
    "Poisson",
    "PoissonHMM",
    "PoissonMixture",
    "Product",
    "ProductParams",
    "RegressionMixture",
    "RegressionParams",
    "RegressionStats",
    "Selection",
    "ShortRuns",
    "StudentTMixture",
    "StudentTParams",
    "StudentTStats",
    "__version__",
    "aic",
    "bic",
    "datasets",
    "fit",
    "fit_incremental",
    "fit_online",
    "icl",
    "init_methods",
    "load",
    "online",
    "plotting",
    "protocols",
    "register_init",
    "registry",
    "save",
    "schedules",
    "select",
    "sources",
    "stats",
]


def __getattr__(name: str) -> object:
    # emkit.plotting loads on first use, so that `import emkit` stays light; matplotlib itself
    # is imported only when a figure is drawn.
    if name == "plotting":
        import importlib

        return importlib.import_module("emkit.plotting")
    raise AttributeError(f"module 'emkit' has no attribute {name!r}")
