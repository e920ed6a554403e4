"""scikit-learn style estimators: [`GaussianMixture`][emkit.estimators.GaussianMixture],
[`BernoulliMixture`][emkit.estimators.BernoulliMixture],
[`PoissonMixture`][emkit.estimators.PoissonMixture].

Each builds a [`FiniteMixture`][emkit.mixture.FiniteMixture], fits it with
[`emkit.fit`][emkit.em.fit], and answers ``predict`` / ``score`` / ``sample`` through the mixture's
own methods (see ``emkit.estimators.base`` for the conventions they share). The three classes are
registered in [`emkit.registry`][emkit.registry], so [`emkit.load`][emkit.io.load] rebuilds them.
"""

from emkit.estimators.base import MixtureEstimator, NotFittedError
from emkit.estimators.categorical import CategoricalMixture
from emkit.estimators.counts import BernoulliMixture, PoissonMixture
from emkit.estimators.gaussian import GaussianMixture
from emkit.estimators.hmm import BernoulliHMM, CategoricalHMM, GaussianHMM, PoissonHMM
from emkit.registry import register_estimator

__all__ = [
    "BernoulliHMM",
    "BernoulliMixture",
    "CategoricalHMM",
    "CategoricalMixture",
    "GaussianHMM",
    "GaussianMixture",
    "MixtureEstimator",
    "NotFittedError",
    "PoissonHMM",
    "PoissonMixture",
]

for _estimator in (
    GaussianMixture,
    BernoulliMixture,
    PoissonMixture,
    CategoricalMixture,
    GaussianHMM,
    PoissonHMM,
    CategoricalHMM,
    BernoulliHMM,
):
    register_estimator(_estimator)
