"""Ready-made estimators.

scikit-learn style mixtures: [`GaussianMixture`][emkit.estimators.GaussianMixture],
[`BernoulliMixture`][emkit.estimators.BernoulliMixture],
[`PoissonMixture`][emkit.estimators.PoissonMixture],
[`CategoricalMixture`][emkit.estimators.CategoricalMixture] (latent class analysis on levels of
any type), [`MixedMixture`][emkit.estimators.mixed.MixedMixture] (mixed-type tables, one family
per column); [`RegressionMixture`][emkit.estimators.regression.RegressionMixture] (mixtures of
regressions with Gaussian, Poisson or logistic components, on the model
[`emkit.regression.RegressionMixture`][emkit.regression.RegressionMixture]). Each mixture builds a
model ([`FiniteMixture`][emkit.mixture.FiniteMixture] for the first four), fits it with
[`emkit.fit`][emkit.em.fit], and answers ``predict`` / ``score`` / ``sample`` through the mixture's
own methods (see ``emkit.estimators.base`` for the conventions they share).

hmmlearn style hidden Markov models: [`GaussianHMM`][emkit.estimators.GaussianHMM],
[`PoissonHMM`][emkit.estimators.PoissonHMM], [`CategoricalHMM`][emkit.estimators.CategoricalHMM],
[`BernoulliHMM`][emkit.estimators.BernoulliHMM], on a
[`HiddenMarkovModel`][emkit.hmm.model.HiddenMarkovModel].

Every class is registered in [`emkit.registry`][emkit.registry], so [`emkit.load`][emkit.io.load]
rebuilds it.
"""

from emkit.estimators.base import MixtureEstimator, NotFittedError
from emkit.estimators.categorical import CategoricalMixture
from emkit.estimators.counts import BernoulliMixture, PoissonMixture
from emkit.estimators.gaussian import GaussianMixture
from emkit.estimators.hmm import BernoulliHMM, CategoricalHMM, GaussianHMM, PoissonHMM
from emkit.estimators.mixed import MixedMixture
from emkit.estimators.regression import RegressionMixture
from emkit.registry import register_estimator

__all__ = [
    "BernoulliHMM",
    "BernoulliMixture",
    "CategoricalHMM",
    "CategoricalMixture",
    "GaussianHMM",
    "GaussianMixture",
    "MixedMixture",
    "MixtureEstimator",
    "NotFittedError",
    "PoissonHMM",
    "PoissonMixture",
    "RegressionMixture",
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
    RegressionMixture,
):
    register_estimator(_estimator)
