"""How many components, which covariance type: information criteria and a selection helper.

With ``L`` the maximised log-likelihood, ``p`` the number of free parameters and ``N`` the
(weighted) number of samples, smaller is better for all three:

* ``BIC = -2 L + p log N`` (Schwarz),
* ``AIC = -2 L + 2 p`` (Akaike),
* ``ICL = BIC + 2 sum_n sum_k (-r_nk log r_nk)`` (Biernacki, Celeux & Govaert 2000): BIC plus
  twice the entropy of the classification, which favours well-separated clusters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, cast, final

import attrs
import numpy as np

from emkit._validation import check_choice
from emkit.em import FitResult, IterationState, fit
from emkit.families.gaussian import Gaussian
from emkit.mixture import FiniteMixture
from emkit.protocols import Clustering, ExponentialFamily
from emkit.sources import as_source

__all__ = [
    "CRITERIA",
    "Candidate",
    "CandidateHook",
    "FailedCandidate",
    "Selection",
    "aic",
    "bic",
    "classification_entropy",
    "family_label",
    "icl",
    "select",
]

CRITERIA = ("bic", "aic", "icl")
"""The values of ``select(criterion=...)``: the information criteria a selection can rank by."""

CandidateHook = Callable[
    [str, int],
    AbstractContextManager[Sequence[Callable[[IterationState[Any]], Any]] | None],
]
"""What [`select`][emkit.selection.select] calls around the fit of each candidate:
``hook(label, n_components)`` returns a context manager, entered before the fit and left after it,
whose value is a sequence of callbacks for that fit's iterations (or ``None``).
"""


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
    if not isinstance(model, Clustering):
        raise TypeError(
            f"the classification entropy needs a model with responsibilities "
            f"(emkit.protocols.Clustering); {type(model).__name__} has none"
        )
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


def family_label(family: ExponentialFamily[Any, Any]) -> str:
    """A family and its covariance type in a few words: ``Gaussian(full)``, ``Poisson``.

    The covariance type is shown for any family with a ``covariance_type`` setting.
    """
    kind = getattr(family, "covariance_type", None)
    name = type(family).__name__
    return f"{name}({kind})" if kind else name


@final
@attrs.frozen(eq=False)
class Candidate:
    """One fitted candidate of a [`select`][emkit.selection.select] run."""

    n_components: int
    family: ExponentialFamily[Any, Any]
    result: FitResult[Any]
    n_parameters: int
    bic: float
    aic: float
    icl: float

    @property
    def log_likelihood(self) -> float:
        """Log-likelihood of the fit on its training data."""
        return self.result.log_likelihood

    def score(self, criterion: str) -> float:
        """The value of ``criterion`` ("bic", "aic" or "icl"); lower is better."""
        return float(getattr(self, criterion))

    @property
    def label(self) -> str:
        """The family's settings in a few words, e.g. ``Gaussian(full)``."""
        return family_label(self.family)


@final
@attrs.frozen(eq=False)
class FailedCandidate:
    """A candidate of a [`select`][emkit.selection.select] run whose fit raised ``ValueError`` and
    was skipped.

    Attributes
    ----------
    n_components : int
    family : ExponentialFamily
    error : str
        The error message, on one line.
    """

    n_components: int
    family: ExponentialFamily[Any, Any]
    error: str

    @property
    def label(self) -> str:
        """The family's settings in a few words, e.g. ``Gaussian(full)``."""
        return family_label(self.family)


@final
@attrs.frozen(eq=False)
class Selection:
    """The table of a [`select`][emkit.selection.select] run and the best candidate under
    ``criterion``.

    Attributes
    ----------
    candidates : tuple of Candidate
        The fitted candidates, in fitting order.
    criterion : {"bic", "aic", "icl"}
    failed : tuple of FailedCandidate
        Candidates skipped because their fit failed (``skip_failures=True``), in fitting order.
    """

    candidates: tuple[Candidate, ...]
    criterion: str
    failed: tuple[FailedCandidate, ...] = ()

    @property
    def best(self) -> Candidate:
        """The candidate with the lowest value of the criterion."""
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


def _message(exc: BaseException) -> str:
    """The message of an exception; attrs validators raise (message, field, rule, value)."""
    if len(exc.args) > 1 and isinstance(exc.args[0], str):
        return exc.args[0]
    return str(exc)


def _families(
    family: ExponentialFamily[Any, Any], covariance_types: Sequence[str] | None
) -> list[ExponentialFamily[Any, Any]]:
    """``family`` once, or once per covariance type (checked by the family's own constructor)."""
    if covariance_types is None:
        return [family]
    if isinstance(covariance_types, str):
        raise TypeError(
            f"`covariance_types` must be a sequence of names; got the string {covariance_types!r}"
        )
    cls: Any = type(family)
    settings = attrs.fields_dict(cls) if attrs.has(cls) else {}
    setting = settings.get("covariance_type")
    if setting is None or not setting.init:
        raise ValueError(
            "`covariance_types` applies only to a family with a `covariance_type` setting "
            f"(such as Gaussian); {type(family).__name__} has none"
        )
    families = []
    for kind in covariance_types:
        try:
            families.append(attrs.evolve(cast(Any, family), covariance_type=kind))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"`covariance_types`: {_message(exc)}") from None
    if not families:
        raise ValueError("`covariance_types` must name at least one covariance type")
    return families


def select(
    X: Any,
    family: ExponentialFamily[Any, Any] | None = None,
    n_components: Iterable[int] = range(1, 9),
    *,
    covariance_types: Sequence[str] | None = None,
    criterion: str = "bic",
    sample_weight: Any = None,
    on_candidate: CandidateHook | None = None,
    skip_failures: bool = False,
    **fit_options: Any,
) -> Selection:
    """Fit a mixture for every number of components (and covariance type) and compare them.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or where such rows live
        Anything [`emkit.fit`][emkit.em.fit] accepts with repeatable passes: an array, a ``.npy``
        path or ``np.memmap``, a list of chunks, a Dask array.
    family : ExponentialFamily, default ``Gaussian()``
    n_components : iterable of int, default 1..8
    covariance_types : sequence of str, optional
        For a family with a ``covariance_type`` setting (the Gaussian): try each of these
        (``emkit.COVARIANCE_TYPES`` for all four), in this order. The family's constructor
        checks each name.
    criterion : {"bic", "aic", "icl"}, default "bic"
    sample_weight : array-like of shape (n_samples,), optional
    on_candidate : callable, optional
        ``on_candidate(label, n_components)`` is called before each candidate's fit, with the
        candidate's [`family_label`][emkit.selection.family_label] (``"Gaussian(full)"``) and number
        of components. It returns a context manager (write it with ``contextlib.contextmanager``)
        that is entered before the fit and left after it, also when the fit raises (the exception
        passes through it); the value it gives is a sequence of callbacks added to that fit's
        ``callbacks`` (or ``None``). A progress display starts in it and finishes on leaving.
    skip_failures : bool, default False
        When a candidate's fit raises ``ValueError`` (say, more components than rows), record
        it in [`Selection.failed`][emkit.selection.Selection] and go on with the next one, instead
        of raising. If every candidate fails, ``ValueError`` is raised all the same.
    **fit_options
        Passed to [`emkit.fit`][emkit.em.fit] (n_init, max_iter, tol, random_state, callbacks, ...).

    Returns
    -------
    Selection
        ``.candidates`` in fitting order, ``.best``, ``.table()``, and ``.failed``.

    Examples
    --------
    >>> from contextlib import contextmanager
    >>> import emkit
    >>> @contextmanager
    ... def report(label, k):
    ...     states = []
    ...     yield [states.append]
    ...     print(f"{label} K={k}: iterations {len(states) - 1}")
    >>> X = emkit.datasets.load_faithful().data
    >>> best = emkit.select(X, n_components=[1, 2], on_candidate=report, random_state=0).best
    Gaussian(full) K=1: iterations 1
    Gaussian(full) K=2: iterations 3
    """
    criterion = check_choice(criterion, "criterion", CRITERIA)
    family = Gaussian() if family is None else family
    families = _families(family, covariance_types)
    ks = list(n_components)
    if not ks:
        raise ValueError("`n_components` must name at least one number of components")
    extra_callbacks = tuple(fit_options.pop("callbacks", ()))
    candidates: list[Candidate] = []
    failed: list[FailedCandidate] = []
    for fam in families:
        for k in ks:
            try:
                result = _fit_one(
                    fam, k, X, sample_weight, on_candidate, extra_callbacks, fit_options
                )
            except ValueError as exc:
                if not skip_failures:
                    raise
                failed.append(FailedCandidate(k, fam, " ".join(_message(exc).split())))
                continue
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
    if not candidates:
        first = failed[0]
        raise ValueError(
            f"every candidate model failed to fit; the first, {first.label} with "
            f"n_components={first.n_components}: {first.error}"
        )
    return Selection(tuple(candidates), criterion, tuple(failed))


def _fit_one(
    family: ExponentialFamily[Any, Any],
    n_components: int,
    X: Any,
    sample_weight: Any,
    on_candidate: CandidateHook | None,
    callbacks: tuple[Callable[[IterationState[Any]], Any], ...],
    fit_options: dict[str, Any],
) -> FitResult[Any]:
    """The fit of one candidate, inside ``on_candidate``'s context when there is one."""
    model = FiniteMixture(family, n_components)
    if on_candidate is None:
        return fit(model, X, sample_weight=sample_weight, callbacks=callbacks, **fit_options)
    with on_candidate(family_label(family), n_components) as extra:
        return fit(
            model,
            X,
            sample_weight=sample_weight,
            callbacks=(*callbacks, *(extra or ())),
            **fit_options,
        )
