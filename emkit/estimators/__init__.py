"""scikit-learn style estimators: :class:`GaussianMixture`, :class:`BernoulliMixture`,
:class:`PoissonMixture`.

Each builds a :class:`~emkit.FiniteMixture`, fits it with :func:`emkit.fit`, and answers
``predict`` / ``score`` / ``sample`` through the mixture's own methods (see
:mod:`emkit.estimators.base` for the conventions they share). The three classes are registered
in :mod:`emkit.registry`, so :func:`emkit.load` rebuilds them.
"""

from emkit.estimators.base import MixtureEstimator, NotFittedError
from emkit.estimators.counts import BernoulliMixture, PoissonMixture
from emkit.estimators.gaussian import GaussianMixture
from emkit.registry import register_estimator

__all__ = [
    "BernoulliMixture",
    "GaussianMixture",
    "MixtureEstimator",
    "NotFittedError",
    "PoissonMixture",
]

for _estimator in (GaussianMixture, BernoulliMixture, PoissonMixture):
    register_estimator(_estimator)
