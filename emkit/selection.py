"""How many components, which covariance type: information criteria and a selection helper.

With ``L`` the maximised log-likelihood, ``p`` the number of free parameters and ``N`` the
(weighted) number of samples, smaller is better for all three:

* ``BIC = -2 L + p log N`` (Schwarz),
* ``AIC = -2 L + 2 p`` (Akaike),
* ``ICL = BIC + 2 sum_n sum_k (-r_nk log r_nk)`` (Biernacki, Celeux & Govaert 2000): BIC plus
  twice the entropy of the classification, which favours well-separated clusters.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, cast, final

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_choice, check_random_state
from emkit.em import FitResult, IterationState, fit
from emkit.exceptions import warn_caller
from emkit.families.gaussian import Gaussian
from emkit.growth import copy_component, duplicate_component, split_gains, worst_component
from emkit.mixture import FiniteMixture
from emkit.protocols import Clustering, ExponentialFamily
from emkit.sources import as_source
from emkit.sources.chunking import per_row

__all__ = [
    "CANDIDATE_STARTS",
    "CRITERIA",
    "DROP_RTOL",
    "GROW_SHORT_ITER",
    "MERGE_SPLIT_ROUNDS",
    "SELECT_INIT",
    "Candidate",
    "CandidateHook",
    "FailedCandidate",
    "Selection",
    "aic",
    "bic",
    "classification_entropy",
    "drop_tolerance",
    "family_label",
    "icl",
    "select",
]

CRITERIA = ("bic", "aic", "icl")
"""The values of ``select(criterion=...)``: the information criteria a selection can rank by."""

SELECT_INIT = "kmeans"
"""The default ``init`` of the restarts of [`select`][emkit.selection.select] (``fit_options`` may
name another)."""

GROW_SHORT_ITER = 20
"""EM iterations of the short run from each split start of a candidate grown from the previous
one; the best short run is continued up to ``max_iter`` iterations in all."""

MERGE_SPLIT_ROUNDS = 2
"""Rounds of merge-and-split moves (SMEM, Ueda, Nakano, Ghahramani & Hinton 2000) applied by
[`select`][emkit.selection.select] (with ``grow=True``) to each candidate's best fit: every pair
of components merged into one (their responsibilities added), then the component whose split
gains most split in two ([`split_gains`][emkit.growth.split_gains]), a short EM run
([`GROW_SHORT_ITER`][emkit.selection.GROW_SHORT_ITER] iterations) from each such start, the
best continued; a round that ends higher replaces the fit, and the next round starts from it.
This moves a component from where two share one cluster to where one covers two, which no
restart may find often (Old Faithful, spherical, K=5). Every pair is tried: ranking the pairs by
the overlap of their responsibilities (Ueda et al.'s merge criterion) and trying the four first
misses that case. A round costs K (K - 1) / 2 short runs."""

FROM_FIRST_FAMILY = True
"""Whether [`select`][emkit.selection.select] (with ``grow=True``) also starts each candidate of
the second and later families (say ``Gaussian(tied)``) from the responsibilities of the first
family's candidate with the same number of components (``Gaussian(full)``); that start counts
as one of the restarts."""

DROP_RTOL = 1e-9
"""Relative size (per unit of |log-likelihood| + total weight) of a log-likelihood drop between a
candidate and the one with a component fewer that still counts as floating-point noise (see
[`drop_tolerance`][emkit.selection.drop_tolerance])."""

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
    for chunk in source.iter_chunks(model):
        resp = per_row(model.responsibilities, chunk, result.params)
        row_entropy = -np.sum(resp * np.log(np.maximum(resp, np.finfo(resp.dtype).tiny)), axis=1)
        weights = chunk.weights
        entropy += float(row_entropy.sum() if weights is None else weights @ row_entropy)
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


CANDIDATE_STARTS = ("restarts", "split", "copy", "merge-split")
"""Where a [`Candidate`][emkit.selection.Candidate]'s reported fit started
(``Candidate.start``).

``"restarts"``
    The best of the fit's own ``n_init`` starts (``init``).
``"split"``
    The fit with one component fewer (same family), one of its components split in two by
    [`split_component`][emkit.growth.split_component]: EM from there ended higher than the
    restarts.
``"copy"``
    The fit with one component fewer with a component copied
    ([`copy_component`][emkit.growth.copy_component]): neither the restarts nor any split ended
    at or above the smaller model's log-likelihood, so the table shows the smaller fit's
    log-likelihood, reached by the larger model with two equal components.
``"merge-split"``
    The best of the above, improved by merging two of its components and splitting another
    (see [`MERGE_SPLIT_ROUNDS`][emkit.selection.MERGE_SPLIT_ROUNDS]).
"""


@final
@attrs.frozen(eq=False)
class Candidate:
    """One fitted candidate of a [`select`][emkit.selection.select] run.

    Attributes
    ----------
    n_components : int
    family : ExponentialFamily
    result : FitResult
        The reported fit: the best of the restarts and the starts grown from the previous
        candidate of the same family.
    n_parameters : int
    bic, aic, icl : float
    start : {"restarts", "split", "copy", "merge-split"}
        Where ``result`` started (see [`CANDIDATE_STARTS`][emkit.selection.CANDIDATE_STARTS]).
    restarts_log_likelihood : float
        The log-likelihood the restarts alone reached (``result.log_likelihood`` when
        ``start == "restarts"``).
    previous_log_likelihood : float or None
        The log-likelihood of the candidate this one was grown from (same family, fewer
        components); ``None`` when there was none.
    """

    n_components: int
    family: ExponentialFamily[Any, Any]
    result: FitResult[Any]
    n_parameters: int
    bic: float
    aic: float
    icl: float
    start: str = "restarts"
    restarts_log_likelihood: float = attrs.field()
    previous_log_likelihood: float | None = None

    @restarts_log_likelihood.default
    def _restarts_default(self) -> float:
        return self.result.log_likelihood

    @property
    def log_likelihood(self) -> float:
        """Log-likelihood of the fit on its training data."""
        return self.result.log_likelihood

    @property
    def grown(self) -> bool:
        """Whether the reported fit started from the previous candidate (a split or a copy)."""
        return self.start != "restarts"

    @property
    def restarts_dropped(self) -> bool:
        """Whether the restarts alone ended below the previous candidate's log-likelihood.

        A model with more components cannot fit worse at its optimum, so such a drop only shows
        that the restarts missed it; the reported fit (grown from the previous candidate) does
        not drop.
        """
        previous = self.previous_log_likelihood
        return previous is not None and self.restarts_log_likelihood < previous - drop_tolerance(
            previous, self.result.n_samples
        )

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
        """A plain-text table, one candidate per row, the best marked with ``*``.

        The last column says where each fit started (``restarts``, ``split``, ``copy`` or
        ``merge-split``, see
        [`CANDIDATE_STARTS`][emkit.selection.CANDIDATE_STARTS]); ``!`` after it marks a
        candidate whose restarts alone ended below the candidate with fewer components. Lines
        under the table explain the marks that occur.
        """
        header = (
            f"  {'model':<20} {'K':>3} {'params':>7} {'log-lik':>12} "
            f"{'BIC':>12} {'AIC':>12} {'ICL':>12}  start"
        )
        lines = [header]
        best = self.best
        for c in self.candidates:
            mark = "*" if c is best else " "
            dropped = "!" if c.restarts_dropped else ""
            lines.append(
                f"{mark} {c.label:<20} {c.n_components:>3} {c.n_parameters:>7} "
                f"{c.log_likelihood:>12.3f} {c.bic:>12.3f} {c.aic:>12.3f} {c.icl:>12.3f}"
                f"  {c.start}{dropped}"
            )
        starts = {c.start for c in self.candidates}
        notes = {
            "split": "split: grown from the fit with one component fewer, a component split in two",
            "copy": "copy: no fit above the one with a component fewer was found; that fit with "
            "a component copied",
            "merge-split": "merge-split: the best fit improved by merging two components and "
            "splitting another",
        }
        lines.extend(notes[start] for start in ("split", "copy", "merge-split") if start in starts)
        if any(c.restarts_dropped for c in self.candidates):
            lines.append(
                "!: the restarts alone ended below the fit with fewer components; the grown fit "
                "replaces them"
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


def drop_tolerance(log_likelihood: float, n_samples: float) -> float:
    """How far below ``log_likelihood`` a fit with more components may end and still count as
    not lower: ``DROP_RTOL * (|log_likelihood| + n_samples)`` (floating-point noise)."""
    return DROP_RTOL * (abs(log_likelihood) + n_samples)


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
    grow: bool = True,
    missing: str = "error",
    **fit_options: Any,
) -> Selection:
    """Fit a mixture for every number of components (and covariance type) and compare them.

    For each family (covariance type) the numbers of components are fitted in increasing order.
    Each candidate is fitted from ``n_init`` starts (``init``, default
    [`SELECT_INIT`][emkit.selection.SELECT_INIT]) and, with ``grow=True``, also from the
    previous candidate of the same family (fewer components): each of its components split in
    two ([`split_component`][emkit.growth.split_component]), a short EM run
    ([`GROW_SHORT_ITER`][emkit.selection.GROW_SHORT_ITER] iterations) from each split, the best
    continued. The better fit is reported, then (``grow=True``) improved by merge-and-split moves
    ([`MERGE_SPLIT_ROUNDS`][emkit.selection.MERGE_SPLIT_ROUNDS]: two components merged, another
    split, kept only when EM from there ends higher). On every problem of the optimisation
    benchmark (``benchmarks/bench_optima.py``) the defaults reach the best known optimum from
    every seed tried.

    **Guarantee** (``grow=True``): within a family the reported log-likelihood never decreases
    with the number of components (beyond [`drop_tolerance`][emkit.selection.drop_tolerance]),
    as it cannot at the models' optima: when neither the restarts nor a split end at or above
    the previous candidate, the previous fit with a component copied
    ([`copy_component`][emkit.growth.copy_component]) is reported, which fits exactly as well.
    With a prior (the Bernoulli's default ``pseudo_count``) EM raises log-likelihood plus a
    log-prior that has more terms with more components, so a K fit can end below K-1 in
    log-likelihood alone; then the best fit that stays above is kept, or else the previous fit
    with a component duplicated and no EM step
    ([`duplicate_component`][emkit.growth.duplicate_component]), which has exactly its
    log-likelihood. The guarantee is exact for data whose rows all fit in the driver's
    initialisation sample (``emkit.sources.INIT_SAMPLE_ROWS``); for larger data the splits and the
    copy are made on that sample. ``Candidate.start`` and the table's last column say where each
    fit came from.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or where such rows live
        Anything [`emkit.fit`][emkit.em.fit] accepts with repeatable passes: an array, a ``.npy``
        path or ``np.memmap``, a list of chunks, a Dask array.
    family : ExponentialFamily, default ``Gaussian()``
    n_components : iterable of int, default 1..8
        Fitted in increasing order (the table lists them so).
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
        ``callbacks`` (or ``None``), called for the restarts and for the runs grown from the
        previous candidate. A progress display starts in it and finishes on leaving.
    skip_failures : bool, default False
        When a candidate's fit raises ``ValueError`` (say, more components than rows), record
        it in [`Selection.failed`][emkit.selection.Selection] and go on with the next one, instead
        of raising. If every candidate fails, ``ValueError`` is raised all the same.
    grow : bool, default True
        Also start each candidate from the previous one of its family, try merge-and-split
        moves from its best fit, and keep the log-likelihood non-decreasing (above).
        ``False``: the restarts only. Growing needs a
        [`FiniteMixture`][emkit.mixture.FiniteMixture] and no ``labels``; otherwise it is off.
    missing : {"error", "marginalise"}, default "error"
        What a NaN in ``X`` is (see [`FiniteMixture`][emkit.mixture.FiniteMixture]): with
        ``"marginalise"`` every candidate integrates missing values out exactly.
    **fit_options
        Passed to [`emkit.fit`][emkit.em.fit] (init, n_init, max_iter, tol, random_state,
        callbacks, ...). ``init`` defaults to [`SELECT_INIT`][emkit.selection.SELECT_INIT].

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
    ...     print(f"{label} K={k}: {len(states)} states")
    >>> X = emkit.datasets.load_faithful().data
    >>> best = emkit.select(X, n_components=[1, 2], on_candidate=report, random_state=0).best
    Gaussian(full) K=1: 2 states
    Gaussian(full) K=2: 8 states
    """
    criterion = check_choice(criterion, "criterion", CRITERIA)
    family = Gaussian() if family is None else family
    families = _families(family, covariance_types)
    ks = sorted(n_components)
    if not ks:
        raise ValueError("`n_components` must name at least one number of components")
    extra_callbacks = tuple(fit_options.pop("callbacks", ()))
    fit_options.setdefault("init", SELECT_INIT)
    grow = bool(grow) and fit_options.get("labels") is None
    candidates: list[Candidate] = []
    failed: list[FailedCandidate] = []
    fitted: dict[int, Candidate] = {}  # the first family's candidate of every K
    for fam in families:
        previous: Candidate | None = None
        for k in ks:
            fitter = _Fitter(fam, k, X, sample_weight, extra_callbacks, fit_options, grow, missing)
            other = fitted.get(k) if grow and FROM_FIRST_FAMILY else None
            try:
                candidate = fitter.run(on_candidate, previous if grow else None, other)
            except ValueError as exc:
                if not skip_failures:
                    raise
                failed.append(FailedCandidate(k, fam, " ".join(_message(exc).split())))
                continue
            candidates.append(candidate)
            if fam is families[0]:
                fitted.setdefault(k, candidate)
            if previous is None or candidate.n_components > previous.n_components:
                previous = candidate
    if not candidates:
        first = failed[0]
        raise ValueError(
            f"every candidate model failed to fit; the first, {first.label} with "
            f"n_components={first.n_components}: {first.error}"
        )
    return Selection(tuple(candidates), criterion, tuple(failed))


@attrs.frozen
class _Outcome:
    """A fit and the warnings it raised (re-issued only if it is the one reported)."""

    result: FitResult[Any]
    caught: list[warnings.WarningMessage]

    @property
    def log_likelihood(self) -> float:
        return self.result.log_likelihood


class _Fitter:
    """The fits of one candidate: restarts, starts grown from the previous candidate, guarantee."""

    def __init__(
        self,
        family: ExponentialFamily[Any, Any],
        n_components: int,
        X: Any,
        sample_weight: Any,
        callbacks: tuple[Callable[[IterationState[Any]], Any], ...],
        fit_options: dict[str, Any],
        grow: bool = False,
        missing: str = "error",
    ) -> None:
        self.grow = grow
        self.family, self.n_components = family, n_components
        self.model = FiniteMixture(family, n_components, missing=missing)
        self.X, self.sample_weight = X, sample_weight
        self.callbacks, self.options = callbacks, fit_options

    def run(
        self,
        on_candidate: CandidateHook | None,
        previous: Candidate | None,
        other: Candidate | None = None,
    ) -> Candidate:
        if on_candidate is None:
            return self._candidate((), previous, other)
        with on_candidate(family_label(self.family), self.n_components) as extra:
            return self._candidate(tuple(extra or ()), previous, other)

    def _fit(self, extra: tuple[Any, ...], **options: Any) -> _Outcome:
        settings = {**self.options, **options}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fit(
                self.model,
                self.X,
                sample_weight=self.sample_weight,
                callbacks=(*self.callbacks, *extra),
                **settings,
            )
        return _Outcome(result, list(caught))

    def _try_fit(self, extra: tuple[Any, ...], **options: Any) -> _Outcome | None:
        """A fit from an extra start, or None when it fails (the restarts' fit stands)."""
        try:
            return self._fit(extra, **options)
        except ValueError:
            return None

    def _candidate(
        self, extra: tuple[Any, ...], previous: Candidate | None, other: Candidate | None
    ) -> Candidate:
        restarts = self._fit(extra)
        start = self._from_other(other)
        if start is not None:
            run = self._try_fit(extra, init=start, n_init=1)
            if run is not None and run.log_likelihood > restarts.log_likelihood:
                restarts = run
        best, start = restarts, "restarts"
        tried = [(restarts, "restarts")]
        if previous is not None and previous.n_components < self.n_components:
            grown, how = self._grown(extra, previous, restarts.log_likelihood)
            if grown is not None:
                tried.append((grown, how))
            if grown is not None and grown.log_likelihood > best.log_likelihood:
                best, start = grown, how
        if self.grow:
            for _ in range(MERGE_SPLIT_ROUNDS):
                moved = self._merge_split(extra, best.result)
                if moved is None or moved.result.objective <= best.result.objective + (
                    drop_tolerance(best.result.objective, best.result.n_samples)
                ):
                    break
                best, start = moved, "merge-split"
                tried.append((moved, start))
        if self.grow and previous is not None and previous.n_components < self.n_components:
            floor = previous.log_likelihood - drop_tolerance(
                previous.log_likelihood, previous.result.n_samples
            )
            if best.log_likelihood < floor:
                # Only a fit with a prior gets here: EM raises log-likelihood + log-prior, and
                # more components bring more prior terms. Keep the best fit that stays above the
                # previous one, or else report the previous fit with a component duplicated (no
                # EM step), which has exactly its log-likelihood.
                above = [(o, how) for o, how in tried if o.log_likelihood >= floor]
                if above:
                    best, start = max(above, key=lambda item: item[0].result.objective)
                else:
                    held = self._held(extra, previous)
                    if held is not None:
                        best, start = held, "copy"
        for item in best.caught:
            warn_caller(str(item.message), item.category)
        result = best.result
        return Candidate(
            n_components=self.n_components,
            family=self.family,
            result=result,
            n_parameters=n_parameters(result),
            bic=bic(result),
            aic=aic(result),
            icl=icl(result, self.X, self.sample_weight),
            start=start,
            restarts_log_likelihood=restarts.log_likelihood,
            previous_log_likelihood=None if previous is None else previous.log_likelihood,
        )

    def _sample(self) -> tuple[Array, Array | None, np.random.Generator]:
        """The driver's initialisation sample of the data (rows, weights) and the generator
        (seeded like the fits) that the grown starts draw from after it."""
        rng = check_random_state(self.options.get("random_state"))
        Xs, ws = as_source(self.X, self.sample_weight).init_sample(rng)
        return Xs, ws, rng

    def _held(self, extra: tuple[Any, ...], previous: Candidate) -> _Outcome | None:
        """``previous``'s fit with components duplicated up to K, evaluated without EM."""
        model = previous.result.model
        if not isinstance(model, FiniteMixture):
            return None
        Xs, ws, _ = self._sample()
        params = previous.result.params
        while model.n_components < self.n_components:
            worst = worst_component(model, Xs, params, ws)
            params = duplicate_component(model, Xs, params, worst, ws)
            model = attrs.evolve(model, n_components=model.n_components + 1)
        return self._try_fit(extra, init=params, n_init=1, max_iter=0)

    def _from_other(self, other: Candidate | None) -> Any:
        """A start from the responsibilities of ``other`` (another family, same K), or None."""
        if other is None or not isinstance(other.result.model, FiniteMixture):
            return None
        Xs, ws, _ = self._sample()
        resp = other.result.model.responsibilities(Xs, other.result.params)
        return self.model.params_from_responsibilities(self.model.validate_data(Xs), resp, ws)

    def _short_runs(self, extra: tuple[Any, ...], starts: Sequence[Any]) -> _Outcome | None:
        """A short EM run from each start, the best continued up to ``max_iter`` in all."""
        max_iter = int(self.options.get("max_iter", 100))
        short = min(GROW_SHORT_ITER, max_iter)
        runs = [
            run
            for params in starts
            if (run := self._try_fit(extra, init=params, n_init=1, max_iter=short)) is not None
        ]
        best = max(runs, key=lambda run: run.result.objective, default=None)
        if best is not None and not best.result.converged and max_iter > short:
            more = self._try_fit(
                extra, init=best.result.params, n_init=1, max_iter=max_iter - short
            )
            if more is not None:
                best = _Outcome(_joined(best.result, more.result), more.caught)
        return best

    def _merge_split(self, extra: tuple[Any, ...], result: FitResult[Any]) -> _Outcome | None:
        """The best fit from ``result`` with two components merged and one split (or None)."""
        model = result.model
        if not isinstance(model, FiniteMixture) or model.n_components < 2:
            return None
        Xs, ws, rng = self._sample()
        Xs = model.validate_data(Xs)
        resp = model.responsibilities(Xs, result.params)
        k = model.n_components
        smaller = attrs.evolve(model, n_components=k - 1)
        starts = []
        for i, j in itertools.combinations(range(k), 2):
            rest = [c for c in range(k) if c not in (i, j)]
            merged = np.column_stack([resp[:, rest], resp[:, i] + resp[:, j]])
            try:
                params = smaller.params_from_responsibilities(Xs, merged, ws)
                gains, splits = split_gains(smaller, Xs, params, rng, ws)
            except ValueError:
                continue
            starts.append(splits[int(np.argmax(gains))])
        return self._short_runs(extra, starts)

    def _grown(
        self, extra: tuple[Any, ...], previous: Candidate, restarts_ll: float
    ) -> tuple[_Outcome | None, str]:
        """The best fit grown from ``previous``: split starts, then (if still below) a copy."""
        prev_model = previous.result.model
        if not isinstance(prev_model, FiniteMixture):
            return None, "restarts"
        Xs, ws, rng = self._sample()
        params, model = previous.result.params, prev_model
        # Several components more than the previous candidate: grow by the best split first.
        while model.n_components < self.n_components - 1:
            gains, starts = split_gains(model, Xs, params, rng, ws)
            params = starts[int(np.argmax(gains))]
            model = attrs.evolve(model, n_components=model.n_components + 1)
        gains, starts = split_gains(model, Xs, params, rng, ws)
        best = self._short_runs(extra, [starts[k] for k in np.argsort(-gains, kind="stable")])
        floor = previous.log_likelihood - drop_tolerance(
            previous.log_likelihood, previous.result.n_samples
        )
        best_ll = -np.inf if best is None else best.log_likelihood
        if max(best_ll, restarts_ll) >= floor:
            return best, "split"
        # The guarantee: the previous fit with a component copied fits exactly as well.
        params, model = previous.result.params, prev_model
        while model.n_components < self.n_components:
            worst = worst_component(model, Xs, params, ws)
            params = copy_component(model, Xs, params, worst, ws)
            model = attrs.evolve(model, n_components=model.n_components + 1)
        copied = self._try_fit(extra, init=params, n_init=1)
        if copied is not None and copied.log_likelihood > best_ll:
            return copied, "copy"
        return best, "split"


def _joined(first: FitResult[Any], then: FitResult[Any]) -> FitResult[Any]:
    """``then`` (continued from ``first``'s parameters) with both runs' history and iterations."""
    return attrs.evolve(
        then,
        history=np.concatenate([first.history, then.history[1:]]),
        n_iter=first.n_iter + then.n_iter,
    )
