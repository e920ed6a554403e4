"""Warnings and errors that emkit raises on purpose."""

from __future__ import annotations

import sys
import warnings

__all__ = [
    "ConvergenceWarning",
    "DegenerateComponentWarning",
    "LikelihoodDecreaseWarning",
    "ModelError",
    "warn_caller",
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
    [`emkit.testing.check_model`][emkit.testing.check_model] finds the usual causes.
    """


class ModelError(ValueError):
    """A model's step produced something EM cannot continue from.

    Raised by the driver when an M-step returns non-finite parameters or parameters that the
    model's own ``validate_params`` refuses (mixing weights summing to 2, say), or when the
    objective becomes non-finite. The message names the model class, the step, the iteration
    and the parameter field.
    """


def warn_caller(message: str, category: type[Warning]) -> None:
    """Issue a warning attributed to the first caller outside emkit.

    A warning raised deep inside a fit (by the driver, on behalf of ``fit_incremental`` or an
    estimator) then points at the user's line, whichever emkit function they called.
    """
    frame = sys._getframe(1)  # who called warn_caller: stack level 2 of warnings.warn here
    level = 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("emkit."):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
