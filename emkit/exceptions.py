"""Warnings and errors that emkit raises on purpose."""

from __future__ import annotations

__all__ = [
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "LikelihoodDecreaseWarning",
    "ModelError",
]


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the change of the objective fell below ``tol``."""


class DegenerateComponentWarning(UserWarning):
    """A component of a fitted mixture holds (almost) no data: it has collapsed.

    Its parameters are finite but carry no information; refit with fewer components, another
    initialisation, or (for a Gaussian) a larger ``reg_covar``.
    """


class LikelihoodDecreaseWarning(RuntimeWarning):
    """The EM objective went down between two iterations by more than floating-point noise.

    EM can never decrease ``log p(X | theta) + log p(theta)``; a decrease means a model's M-step
    is not the maximiser of its E-step's expected complete-data log-likelihood (or its
    ``log_prior`` is not the prior its M-step uses). The message names the model class;
    :func:`emkit.testing.check_model` finds the usual causes.
    """


class ModelError(ValueError):
    """A model's step produced something EM cannot continue from.

    Raised by the driver when an M-step returns non-finite parameters or parameters that the
    model's own ``validate_params`` refuses (mixing weights summing to 2, say), or when the
    objective becomes non-finite. The message names the model class, the step, the iteration
    and the parameter field.
    """
