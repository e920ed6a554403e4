"""How many components, which covariance type: information criteria and a selection helper.

With ``L`` the maximised log-likelihood, ``p`` the number of free parameters and ``N`` the
(weighted) number of samples, smaller is better for all three:

* ``BIC = -2 L + p log N`` (Schwarz),
* ``AIC = -2 L + 2 p`` (Akaike),
* ``ICL = BIC + 2 sum_n sum_k (-r_nk log r_nk)`` (Biernacki, Celeux & Govaert 2000): BIC plus
  twice the entropy of the classification, which favours well-separated clusters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, final

import attrs
import numpy as np

from emkit._validation import check_choice
from emkit.em import FitResult, fit
from emkit.families.gaussian import COVARIANCE_TYPES, Gaussian
from emkit.mixture import FiniteMixture
from emkit.sources import as_source

__all__ = [
    "CRITERIA",
    "Candidate",
    "Selection",
    "aic",
    "bic",
    "classification_entropy",
    "icl",
    "select",
]

CRITERIA = ("bic", "aic", "icl")


def n_parameters(result: FitResult[Any]) -> int:
    """Free parameters of the fitted model."""
    return int(result.model.n_parameters(result.n_features))


def bic(result: FitResult[Any]) -> float:
    """Bayesian information criterion of a fit, ``-2 L + p log N`` (lower is better)."""
    return -2.0 * result.log_likelihood + n_parameters(result) * float(np.log(result.n_samples))


def aic(result: FitResult[Any]) -> float:
    """Akaike information criterion of a fit, ``-2 L + 2 p`` (lower is better)."""
    return -2.0 * result.log_likelihood + 2.0 * n_parameters(result)


def classification_entropy(result: FitResult[Any], X: Any, sample_weight: Any = None) -> float:
    """``-sum_n w_n sum_k r_nk log r_nk`` of a fitted mixture on ``X`` (chunked pass)."""
    source = as_source(X, sample_weight)
    model = result.model
    entropy = 0.0
    iter_chunks = getattr(source, "iter_chunks", None)
    if iter_chunks is None:
        raise TypeError(
            f"`X`: the classification entropy needs a source with repeatable chunks; "
            f"{type(source).__name__} has none"
        )
    for chunk, weights, _ in iter_chunks(model):
        resp = model.responsibilities(chunk, result.params)
        per_row = -np.sum(resp * np.log(np.maximum(resp, np.finfo(resp.dtype).tiny)), axis=1)
        entropy += float(per_row.sum() if weights is None else weights @ per_row)
    return entropy


def icl(result: FitResult[Any], X: Any, sample_weight: Any = None) -> float:
    """Integrated completed likelihood (BIC form) of a fitted mixture on its training data."""
    return bic(result) + 2.0 * classification_entropy(result, X, sample_weight)


@final
@attrs.frozen(eq=False)
class Candidate:
    """One fitted candidate of a :func:`select` run."""

    n_components: int
    family: Any
    result: FitResult[Any]
    n_parameters: int
    bic: float
    aic: float
    icl: float

    @property
    def log_likelihood(self) -> float:
        return self.result.log_likelihood

    def score(self, criterion: str) -> float:
        return float(getattr(self, criterion))

    @property
    def label(self) -> str:
        """The family's settings in a few words, e.g. ``Gaussian(full)``."""
        kind = getattr(self.family, "covariance_type", None)
        name = type(self.family).__name__
        return f"{name}({kind})" if kind else name


@final
@attrs.frozen(eq=False)
class Selection:
    """The table of a :func:`select` run and the best candidate under ``criterion``."""

    candidates: tuple[Candidate, ...]
    criterion: str

    @property
    def best(self) -> Candidate:
        return min(self.candidates, key=lambda c: c.score(self.criterion))

    def table(self) -> str:
        """A plain-text table, one candidate per row, the best marked with ``*``."""
        header = (
            f"  {'model':<20} {'K':>3} {'params':>7} {'log-lik':>12} "
            f"{'BIC':>12} {'AIC':>12} {'ICL':>12}"
        )
        lines = [header]
        best = self.best
        for c in self.candidates:
            mark = "*" if c is best else " "
            lines.append(
                f"{mark} {c.label:<20} {c.n_components:>3} {c.n_parameters:>7} "
                f"{c.log_likelihood:>12.3f} {c.bic:>12.3f} {c.aic:>12.3f} {c.icl:>12.3f}"
            )
        return "\n".join(lines)


def select(
    X: Any,
    family: Any = None,
    n_components: Iterable[int] = range(1, 9),
    *,
    covariance_types: Sequence[str] | None = None,
    criterion: str = "bic",
    sample_weight: Any = None,
    **fit_options: Any,
) -> Selection:
    """Fit a mixture for every number of components (and covariance type) and compare them.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    family : ExponentialFamily, default ``Gaussian()``
    n_components : iterable of int, default 1..8
    covariance_types : sequence of str, optional
        For a Gaussian family: try each of these (``COVARIANCE_TYPES`` for all four).
    criterion : {"bic", "aic", "icl"}, default "bic"
    sample_weight : array-like of shape (n_samples,), optional
    **fit_options
        Passed to :func:`emkit.fit` (n_init, max_iter, tol, random_state, ...).

    Returns
    -------
    Selection
        ``.candidates`` in fitting order, ``.best``, and ``.table()``.
    """
    criterion = check_choice(criterion, "criterion", CRITERIA)
    family = Gaussian() if family is None else family
    if covariance_types is not None:
        if not isinstance(family, Gaussian):
            raise ValueError("`covariance_types` applies only to a Gaussian family")
        for kind in covariance_types:
            check_choice(kind, "covariance_types", COVARIANCE_TYPES)
        families = [attrs.evolve(family, covariance_type=kind) for kind in covariance_types]
    else:
        families = [family]
    ks = list(n_components)
    if not ks:
        raise ValueError("`n_components` must name at least one number of components")
    candidates = []
    for fam in families:
        for k in ks:
            result = fit(FiniteMixture(fam, k), X, sample_weight=sample_weight, **fit_options)
            candidates.append(
                Candidate(
                    n_components=k,
                    family=fam,
                    result=result,
                    n_parameters=n_parameters(result),
                    bic=bic(result),
                    aic=aic(result),
                    icl=icl(result, X, sample_weight),
                )
            )
    return Selection(tuple(candidates), criterion)
