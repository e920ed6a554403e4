"""The contracts of emkit, and nothing else.

Two core contracts:

* [`LatentVariableModel`][emkit.protocols.LatentVariableModel] is what the EM driver fits: an E-step
  that returns *additive* expected sufficient statistics with the log-likelihood, and an M-step that
  maps summed statistics to new parameters.
* [`ExponentialFamily`][emkit.protocols.ExponentialFamily] is what a finite mixture is built from:
  one component distribution, evaluated for all components at once.

and the optional *capabilities* a model, a family or a statistics type may add. Each is a
runtime-checkable Protocol; the layers that use one test for it with ``isinstance`` and fall
back to the default behaviour stated in its docstring when it is absent. Nothing in emkit looks
for an optional method by name.

Of a model or a family:

* [`MissingValues`][emkit.protocols.MissingValues] (``handles_missing``): NaN entries of the
  data are missing at random and marginalised exactly (a family's log-density of the observed
  entries, its statistics filled in with their conditional expectations); default: every source
  and entry point refuses NaN, naming its row and column.

Of a model:

* [`Imputing`][emkit.protocols.Imputing] (``impute``): missing entries replaced by their
  conditional expectation given a row's observed ones; default: no imputation.
* [`RowBlocks`][emkit.protocols.RowBlocks] (``default_lengths``): the model's E-step must see
  blocks of consecutive rows whole (the sequences of a hidden Markov model, groups sharing one
  latent value); sources cut chunks only between blocks and pass their sizes as ``lengths=``;
  default: rows are independent and ``lengths`` are refused.
* [`IterativeMStep`][emkit.protocols.IterativeMStep] (``inner_e_step``, ``inner_converged``,
  ``max_inner_steps``): the M-step is itself iterative (a GLM component's IRLS); batch EM runs
  inner passes over the data with the latent posteriors held fixed (generalised EM); default:
  one M-step per iteration.
* [`ChunkCost`][emkit.protocols.ChunkCost] (``bytes_per_row``): sources size chunks by it; default
  16 x itemsize x n_features bytes per row.
* [`Diagnosing`][emkit.protocols.Diagnosing] (``diagnose(stats, params)``): the driver's
  DegenerateComponentWarning; default: nothing reported.
* [`Components`][emkit.protocols.Components] (``n_components``): known labels are checked against
  it; default: labels passed on unchecked.
* [`Clustering`][emkit.protocols.Clustering] (``responsibilities``, ``predict``),
  [`Scoring`][emkit.protocols.Scoring] (``score_samples``), [`Sampling`][emkit.protocols.Sampling]
  (``sample``): estimators and the command line; the start of semi-supervised EM is renumbered to
  agree with known labels (Clustering).
* [`ComponentSummary`][emkit.protocols.ComponentSummary] (``component_weights``,
  ``component_means``): the canonical order of a fit's components and the report of restarts that
  collapsed one ([`emkit.starts`][emkit.starts]); default: the start's order, no collapse report.

Of statistics:

* [`Recenterable`][emkit.protocols.Recenterable] (``recenter(like)``): online and incremental EM
  combine statistics of different iterations; default: statistics without reference fields need no
  moving, others are refused.
* [`RecenterableComponents`][emkit.protocols.RecenterableComponents] (``recenter(like, counts)``): a
  family's statistics, moved by [`MixtureStats`][emkit.mixture.MixtureStats] with its counts.

Of parameters or statistics:

* [`Relabelable`][emkit.protocols.Relabelable] (``relabel(order)``): values whose components do not
  all lie along the leading axis of their arrays (an HMM's transition matrix) renumber themselves;
  default: every array with a leading axis of length K is indexed by the new order.

Of an exponential family:

* [`FusedEStep`][emkit.protocols.FusedEStep] (``log_prob_with_stats``): the mixture's one-pass
  E-step; default ``log_prob`` then ``expected_stats``.
* [`FamilyChunkCost`][emkit.protocols.FamilyChunkCost] (``bytes_per_row``): the mixture's chunk
  cost; default K x D.
* [`FamilyDiagnosing`][emkit.protocols.FamilyDiagnosing] (``diagnose(params)``): the mixture's
  diagnosis; default none.
* [`FamilyImputing`][emkit.protocols.FamilyImputing] (``impute(X, resp, params)``): the
  mixture's and the HMM's ``impute``; default: none.
* [`FamilyCovariances`][emkit.protocols.FamilyCovariances] (``covariances(params)``): each
  component's covariance matrix, drawn as ellipses by [`emkit.plotting`][emkit.plotting]; default:
  no ellipses.

Of an estimator:

* [`KeepsFittedState`][emkit.protocols.KeepsFittedState] (``fitted_state``,
  ``restore_fitted_state``): what a fit learned beyond its result (a categorical estimator's
  levels), saved with it; default: nothing more is saved.

And where the data lives: [`DataSource`][emkit.protocols.DataSource], everything the drivers ask of
it.

Parameters and statistics are frozen attrs classes of numpy arrays; nothing is mutated in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, Protocol, Self, TypeVar, runtime_checkable

import numpy as np

from emkit._backend import Array

__all__ = [
    "Chunk",
    "ChunkCost",
    "Clustering",
    "ComponentSummary",
    "Components",
    "DataSource",
    "Diagnosing",
    "ExponentialFamily",
    "FamilyChunkCost",
    "FamilyCovariances",
    "FamilyDiagnosing",
    "FamilyImputing",
    "FusedEStep",
    "Imputing",
    "IterativeMStep",
    "KeepsFittedState",
    "LatentVariableModel",
    "MissingValues",
    "Recenterable",
    "RecenterableComponents",
    "Relabelable",
    "RowBlocks",
    "Sampling",
    "Scoring",
]

P = TypeVar("P")
S = TypeVar("S")
P_contra = TypeVar("P_contra", contravariant=True)
S_contra = TypeVar("S_contra", contravariant=True)
S_co = TypeVar("S_co", covariant=True)
M = TypeVar("M")

#: Rows an initial sample holds at most, unless a caller asks for another bound.
DEFAULT_INIT_SAMPLE_ROWS = 100_000


@runtime_checkable
class LatentVariableModel(Protocol[P, S]):
    """A model that EM can fit: parameters of type ``P``, statistics of type ``S``.

    The additivity law
        For any row split ``X = X1 ++ X2`` (and matching weights),
        ``e_step(X, p) == add(e_step(X1, p), e_step(X2, p))`` for the statistics and the
        log-likelihood alike. The driver relies on it to process data in chunks, from a file or
        on a cluster, with exactly the answer of one big array. Rows being independent is the
        model's business: a model whose rows come in blocks (a hidden Markov model's sequences)
        is [`RowBlocks`][emkit.protocols.RowBlocks], its ``e_step`` takes the blocks' sizes as
        ``lengths=``, and the law holds for splits between blocks.
    """

    def validate_data(self, X: Array) -> Array:
        """Check that ``X`` lies in the model's domain; return it.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        X : array of shape (n_samples, n_features)
            The same data (a model may return a converted copy).

        Raises
        ------
        ValueError
            If a value lies outside the domain (the message names the row and column).
        """
        ...

    def init_params(
        self, X: Array, rng: np.random.Generator, method: str, weights: Array | None = None
    ) -> P:
        """Starting parameters theta^(0) from (a sample of) the data, by the named ``method``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            The rows to start from (the driver passes a bounded sample, see
            [`DataSource.init_sample`][emkit.protocols.DataSource.init_sample]).
        rng : numpy.random.Generator
            The only source of randomness.
        method : str
            The name of the initialisation (for a mixture one of
            [`INIT_METHODS`][emkit.init.INIT_METHODS]).
        weights : array of shape (n_samples,), optional
            Row weights.

        Returns
        -------
        params : P
        """
        ...

    def validate_params(self, params: P, n_features: int) -> P:
        """Check user-supplied parameters (shapes, ranges); return them, possibly normalised.

        Parameters
        ----------
        params : P
        n_features : int
            Number of columns of the data the parameters are for.

        Returns
        -------
        params : P
            The same parameters, possibly converted, normalised or with derived fields filled in.

        Raises
        ------
        TypeError, ValueError
            If ``params`` has the wrong type, shape or range (the message names the field).
        """
        ...

    def e_step(
        self,
        X: Array,
        params: P,
        weights: Array | None = None,
        labels: Array | None = None,
    ) -> tuple[S, float]:
        """Expected sufficient statistics of chunk ``X`` under ``params``, and its log-likelihood.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : current parameters theta'
        weights : array of shape (n_samples,), optional
            Non-negative row weights; integer weights equal repeated rows.
        labels : int array of shape (n_samples,), optional
            Known latent values (-1 where unknown), for semi-supervised EM; models that cannot
            use them raise ``TypeError``.

        Returns
        -------
        stats : S
            Sums over the rows of the expected sufficient statistics.
        log_likelihood : float
            ``sum_n w_n log p(x_n | params)``.
        """
        ...

    def m_step(self, stats: S) -> P:
        """``argmax_theta Q(theta, theta') + log p(theta)`` from statistics summed over the data.

        ``Q(theta, theta')`` is the expected complete-data log-likelihood under the posterior of
        the latent variables at the current parameters theta'; it depends on the data only
        through the expected sufficient statistics that
        [`e_step`][emkit.protocols.LatentVariableModel.e_step] summed.

        Parameters
        ----------
        stats : S
            The sum of the statistics of every chunk of the data.

        Returns
        -------
        params : P
            The new parameters theta.
        """
        ...

    def log_prior(self, params: P) -> float:
        """``log p(theta)`` up to a constant; ``0.0`` when the model has no prior.

        EM (MAP-EM with a prior) increases ``log_likelihood + log_prior``.

        Parameters
        ----------
        params : P

        Returns
        -------
        log_prior : float
        """
        ...

    def n_parameters(self, n_features: int) -> int:
        """Number of free parameters, for BIC and AIC.

        Parameters
        ----------
        n_features : int

        Returns
        -------
        n_parameters : int
        """
        ...


@runtime_checkable
class ExponentialFamily(Protocol[P, S]):
    """One component distribution of a finite mixture, vectorised over ``n_components``.

    ``log_prob`` evaluates all components at once; ``expected_stats`` returns the
    responsibility-weighted sums of the sufficient statistics ``T(x)``; ``maximize`` is moment
    matching: it chooses the parameters whose expected ``T(x)`` equals those weighted averages
    (with a conjugate prior folded in as pseudo-observations where the family has one).
    """

    def validate_data(self, X: Array) -> Array:
        """Check that ``X`` lies in the family's support; return it.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        X : array of shape (n_samples, n_features)

        Raises
        ------
        ValueError
            If a value lies outside the support (the message names the row and column).
        """
        ...

    def validate_params(self, params: P, n_components: int, n_features: int) -> P:
        """Check user-supplied parameters; return them (possibly with derived fields filled in).

        Parameters
        ----------
        params : P
            The parameters of all components.
        n_components : int
        n_features : int

        Returns
        -------
        params : P

        Raises
        ------
        TypeError, ValueError
            If ``params`` has the wrong type, shape or range (the message names the field).
        """
        ...

    def log_prob(self, X: Array, params: P) -> Array:
        """``log p(x_n | theta_k)`` of every row under every component.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : P
            The parameters of all components.

        Returns
        -------
        log_prob : array of shape (n_samples, n_components)
        """
        ...

    def expected_stats(self, X: Array, resp: Array, center: Array) -> S:
        """``sum_n resp[n, k] * T(x_n)`` for every component ``k``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        resp : array of shape (n_samples, n_components)
            The responsibilities ``r_nk``, already multiplied by the row weights.
        center : array of shape (n_components, n_features)
            A reference point per component, the same for every chunk of one pass; families
            whose moments suffer from cancellation (the Gaussian) accumulate around it, others
            ignore it.

        Returns
        -------
        stats : S
            The weighted sums of the sufficient statistics, additive over chunks of rows (for a
            canonical family an array of shape (n_components, n_stats)).
        """
        ...

    def maximize(self, stats: S, counts: Array) -> P:
        """Moment matching: the components' parameters from summed statistics and counts.

        The component part of the M-step: for each ``k`` the parameters whose expected
        sufficient statistics equal the weighted average ``sum_n r_nk T(x_n) / n_k`` (with the
        prior's pseudo-observations added where the family has one).

        Parameters
        ----------
        stats : S
            Statistics of [`expected_stats`][emkit.protocols.ExponentialFamily.expected_stats]
            summed over all the data.
        counts : array of shape (n_components,)
            ``n_k = sum_n r_nk``, already floored away from zero.

        Returns
        -------
        params : P
        """
        ...

    def log_prior(self, params: P) -> float:
        """``log p(theta)`` of the family's prior up to a constant; ``0.0`` without one.

        Parameters
        ----------
        params : P

        Returns
        -------
        log_prior : float
            Summed over all components.
        """
        ...

    def mean(self, params: P) -> Array:
        """Mean of each component in data space.

        A mixture passes it as the ``center`` of
        [`expected_stats`][emkit.protocols.ExponentialFamily.expected_stats].

        Parameters
        ----------
        params : P

        Returns
        -------
        mean : array of shape (n_components, n_features)
        """
        ...

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters of ``n_components`` components on ``n_features`` features.

        Parameters
        ----------
        n_components : int
        n_features : int

        Returns
        -------
        n_parameters : int
        """
        ...

    def sample(self, params: P, component: int, n: int, rng: np.random.Generator) -> Array:
        """``n`` draws from one component.

        Parameters
        ----------
        params : P
        component : int
            Index ``k`` of the component, ``0 <= k < n_components``.
        n : int
            Number of draws.
        rng : numpy.random.Generator

        Returns
        -------
        X : array of shape (n, n_features)
        """
        ...


# -- where the data lives --------------------------------------------------------------------------
class Chunk(NamedTuple):
    """One chunk of rows, as a source hands it to ``model.e_step``.

    Attributes
    ----------
    X : array of shape (n_chunk, n_features)
    weights : array of shape (n_chunk,) or None
        Row weights.
    labels : int array of shape (n_chunk,) or None
        Known latent values, -1 where unknown.
    lengths : int array of shape (n_blocks,) or None
        For a [`RowBlocks`][emkit.protocols.RowBlocks] model: the sizes of the whole blocks
        (sequences, groups) the chunk holds, in order, summing to ``n_chunk``; ``None`` for a
        model of independent rows.
    """

    X: Array
    weights: Array | None
    labels: Array | None
    lengths: Array | None = None


@runtime_checkable
class DataSource(Protocol):
    """Rows that the EM drivers make passes over (see [`emkit.sources`][emkit.sources]).

    The drivers never touch rows themselves: batch EM needs
    [`expectation`][emkit.protocols.DataSource.expectation], incremental EM and the classification
    entropy need [`iter_chunks`][emkit.protocols.DataSource.iter_chunks], every driver needs the
    sizes, [`validate`][emkit.protocols.DataSource.validate] and
    [`init_sample`][emkit.protocols.DataSource.init_sample]. A chunk is a
    [`Chunk`][emkit.protocols.Chunk] ``(X, weights, labels, lengths)`` with ``X`` (n_chunk,
    n_features) in [`dtype`][emkit.protocols.DataSource.dtype], ``weights``/``labels``
    (n_chunk,) or ``None``, and ``lengths`` the sizes of the whole blocks it holds for a
    [`RowBlocks`][emkit.protocols.RowBlocks] model (``None`` otherwise).
    """

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        ...

    @property
    def n_features(self) -> int:
        """Number of columns."""
        ...

    @property
    def total_weight(self) -> float:
        """Sum of the row weights (``n_samples`` without weights)."""
        ...

    @property
    def dtype(self) -> np.dtype[Any]:
        """The floating dtype chunks are computed in (float32 stays float32, else float64)."""
        ...

    @property
    def has_labels(self) -> bool:
        """Whether some chunks carry known latent values (semi-supervised EM)."""
        ...

    def validate(self, model: LatentVariableModel[Any, Any]) -> None:
        """Check every row against ``model.validate_data``, any labels against the model's
        latent values, and ``lengths`` against the model (raises ``ValueError`` naming the
        row)."""
        ...

    def expectation(self, model: LatentVariableModel[P, S], params: P) -> tuple[S, float]:
        """Summed ``model.e_step`` over all rows: ``(stats, log_likelihood)``."""
        ...

    def iter_chunks(self, model: LatentVariableModel[Any, Any]) -> Iterator[Chunk]:
        """Every [`Chunk`][emkit.protocols.Chunk] ``(X, weights, labels, lengths)`` in order; the
        same chunks on every call, never cutting a block of a
        [`RowBlocks`][emkit.protocols.RowBlocks] model."""
        ...

    def init_sample(
        self, rng: np.random.Generator, max_rows: int = DEFAULT_INIT_SAMPLE_ROWS
    ) -> tuple[Array, Array | None]:
        """At most ``max_rows`` rows (uniform without replacement) and their weights."""
        ...


# -- capabilities of a model -----------------------------------------------------------------------
@runtime_checkable
class RowBlocks(Protocol):
    """A model whose E-step must see blocks of consecutive rows whole.

    The sequences of a hidden Markov model (hmmlearn's ``lengths``: ``X`` holds the sequences
    one after the other, ``lengths`` their sizes) and groups of rows sharing one latent value
    are blocks: the latent variables of one block are not independent, so a block's statistics
    cannot be computed from pieces of it. For such a model every source

    * cuts its chunks only between blocks (a chunk holds one or more whole blocks; a block longer
      than the chunk budget is a chunk of its own, which the model handles in bounded pieces),
    * aligns Dask blocks to block boundaries, and
    * calls ``e_step(X, params, weights, labels, lengths=...)`` with the sizes (n_blocks,) of the
      blocks of the chunk, summing to its rows; the model's per-row methods
      ([`Clustering`][emkit.protocols.Clustering], [`Scoring`][emkit.protocols.Scoring]) take
      ``lengths=`` the same way.

    The additivity law of [`LatentVariableModel`][emkit.protocols.LatentVariableModel] then holds
    for splits between blocks, and the contract checks of [`emkit.testing`][emkit.testing] split
    there. Data given without ``lengths`` is cut into ``default_lengths(n_rows)`` (for each
    chunk of a chunk list separately), or treated as independent rows when that is ``None``.

    Without this capability rows are independent and data with ``lengths`` is refused.
    """

    def default_lengths(self, n_samples: int) -> Array | None:
        """The blocks of ``n_samples`` rows given without ``lengths``.

        Parameters
        ----------
        n_samples : int

        Returns
        -------
        lengths : int array of shape (n_blocks,), or None
            Positive sizes summing to ``n_samples``: ``[n_samples]`` for a hidden Markov model
            (one sequence, as hmmlearn); ``None`` for a model whose rows are independent unless
            blocks are given (a mixture, whose groups of rows share one component only when
            the data says so): its chunks are then cut anywhere and ``e_step`` gets no
            ``lengths``.
        """
        ...


@runtime_checkable
class IterativeMStep(Protocol[P_contra, S_co]):
    """A model whose M-step is itself iterative: generalised EM with inner passes.

    Some M-steps have no closed form: the coefficients of a Poisson or logistic regression
    component maximise ``Q`` only through iteratively reweighted least squares, and each IRLS
    step needs the data (the gradient and Hessian of ``Q`` at the current coefficients are sums
    over rows). Such a model's ``m_step`` makes *one* step from its statistics, and batch EM
    ([`BatchEM`][emkit.schedules.BatchEM]) then runs inner passes over the data: each pass's
    ``inner_e_step`` keeps the latent posteriors of the E-step's parameters ``outer`` and
    linearises at the current candidate, until ``inner_converged`` or ``max_inner_steps``.

    Generalised EM only needs each M-step to increase ``Q``, not to maximise it. The driver
    makes sure of it with the bound ``F(theta; theta') = sum_n sum_k r_nk(theta') [log p(x_n,
    z_n = k | theta) - log r_nk(theta')]``, which ``inner_e_step`` returns with its statistics:
    ``F(theta'; theta')`` is the log-likelihood at ``theta'`` and ``log p(X | theta) >= F(theta;
    theta')``, so a candidate whose ``F`` (plus log-prior) is not below the start's cannot lower
    the log-likelihood. A candidate that lowers it is moved halfway back, a few times, and
    otherwise refused.

    Without an inner loop (online and incremental EM) the model's one-step ``m_step`` is used as
    it is: generalised EM with a single inner step.
    """

    @property
    def max_inner_steps(self) -> int:
        """The most inner passes one EM iteration may make (0: none)."""
        ...

    def inner_e_step(
        self,
        X: Array,
        outer: P_contra,
        current: P_contra,
        weights: Array | None = None,
        labels: Array | None = None,
        lengths: Array | None = None,
    ) -> tuple[S_co, float]:
        """Statistics for the next inner step, and the bound ``F(current; outer)`` of the rows.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        outer : P
            The parameters of the E-step: the latent posteriors ``r_nk`` come from them.
        current : P
            The candidate the next step linearises at.
        weights, labels, lengths
            As for ``e_step``.

        Returns
        -------
        stats : S
            Additive over rows; ``m_step(stats)`` makes one step from ``current``.
        bound : float
            ``sum_n w_n sum_k r_nk(outer) [log p(x_n, z_n = k | current) - log r_nk(outer)]``;
            the log-likelihood of the rows when ``current`` is ``outer``.
        """
        ...

    def inner_converged(self, previous: P_contra, current: P_contra) -> bool:
        """Whether the inner iteration has converged between two successive candidates."""
        ...


@runtime_checkable
class ChunkCost(Protocol):
    """A model that knows the memory its E-step needs per row (for automatic chunk sizes).

    Without it a source assumes ``16 * itemsize * n_features`` bytes per row.
    """

    def bytes_per_row(self, n_features: int, itemsize: int) -> int:
        """Bytes of temporaries one row of a chunk costs in ``e_step``."""
        ...


@runtime_checkable
class Diagnosing(Protocol[P_contra, S_contra]):
    """A model that can explain a degenerate fit (a collapsed component, a constant column).

    The driver emits each message as a
    [`DegenerateComponentWarning`][emkit.exceptions.DegenerateComponentWarning] after a fit. Without
    it nothing is reported.
    """

    def diagnose(self, stats: S_contra, params: P_contra) -> list[str]:
        """Advice about the final statistics and parameters of a fit; empty when all is well."""
        ...


@runtime_checkable
class Components(Protocol):
    """A model with a finite number of latent values (components, states).

    Known labels (``labels=`` of [`emkit.fit`][emkit.em.fit], -1 for unknown) are checked against
    ``n_components`` before a fit. Without it, labels are passed to ``e_step`` unchecked.
    """

    @property
    def n_components(self) -> int:
        """Number of latent values K."""
        ...


@runtime_checkable
class Clustering(Protocol[P_contra]):
    """A model that assigns rows to its latent values (estimators' and the CLI's ``predict``)."""

    @property
    def n_components(self) -> int:
        """Number of latent values K."""
        ...

    def responsibilities(self, X: Array, params: P_contra) -> Array:
        """Posterior probability of every latent value, shape (n_samples, n_components)."""
        ...

    def predict(self, X: Array, params: P_contra) -> Array:
        """Most probable latent value of every row, shape (n_samples,)."""
        ...


@runtime_checkable
class Scoring(Protocol[P_contra]):
    """A model that gives the log-likelihood of each row (``score_samples``)."""

    def score_samples(self, X: Array, params: P_contra) -> Array:
        """``log p(x_n | params)`` of every row, shape (n_samples,)."""
        ...


@runtime_checkable
class Sampling(Protocol[P_contra]):
    """A model that can draw data (``sample``)."""

    def sample(
        self, params: P_contra, n_samples: int, rng: np.random.Generator
    ) -> tuple[Array, Array]:
        """``(X, labels)``: ``n_samples`` rows and the latent value each was drawn from."""
        ...


@runtime_checkable
class ComponentSummary(Protocol[P_contra]):
    """A model whose components have mixing weights and means.

    [`canonical_order`][emkit.starts.canonical_order] orders a fit's components by them and
    [`collapsed`][emkit.starts.collapsed] finds a component that lost its data.
    """

    def component_weights(self, params: P_contra) -> Array:
        """Mixing weights, shape (n_components,)."""
        ...

    def component_means(self, params: P_contra) -> Array:
        """Mean of every component in data space, shape (n_components, n_features)."""
        ...


# -- capabilities of statistics --------------------------------------------------------------------
@runtime_checkable
class Recenterable(Protocol):
    """Statistics that store moments around a reference point, and can move them.

    Some statistics are accumulated around a point that depends on the parameters of the
    E-step (fields marked ``emkit.stats.NOT_ADDITIVE``: a Gaussian's center, a regression's
    reference coefficients), so statistics of *different* iterations cannot simply be added.
    Online and incremental EM do add them: they first call ``old.recenter(new)``.

    Without this capability, statistics whose reference fields are equal (or that have none)
    are combined as they are, and others are refused with a ``TypeError`` that names the class.
    """

    def recenter(self, like: Self) -> Self:
        """These statistics re-expressed exactly around the reference fields of ``like``."""
        ...


@runtime_checkable
class RecenterableComponents(Protocol):
    """A family's statistics that can move their reference point given the component counts.

    A family's statistics inside a mixture do not hold the counts ``n_k`` that moving second
    moments needs (``sum r (x - c')^2`` follows from the sums around ``c`` *and* ``n_k``);
    [`MixtureStats`][emkit.mixture.MixtureStats] passes its own counts.
    """

    def recenter(self, like: Self, counts: Array) -> Self:
        """Moments around ``like``'s reference fields; ``counts`` (n_components,) are ``n_k``."""
        ...


@runtime_checkable
class KeepsFittedState(Protocol):
    """An estimator whose fit learned more than its [`FitResult`][emkit.em.FitResult] holds
    (e.g. the levels a [`CategoricalMixture`][emkit.estimators.CategoricalMixture] maps to codes).

    [`emkit.save`][emkit.io.save] writes ``fitted_state()`` as the document's
    ``estimator.state`` (JSON values only: str, bool, numbers, null, lists and dicts of them);
    [`emkit.load`][emkit.io.load] hands it back to ``restore_fitted_state`` after ``restore_fit``.
    """

    def fitted_state(self) -> dict[str, Any]:
        """What the fit learned beyond its result, as JSON values."""
        ...

    def restore_fitted_state(self, state: dict[str, Any]) -> None:
        """Set what ``fitted_state`` returned, on an estimator restored from its result."""
        ...


@runtime_checkable
class Relabelable(Protocol):
    """Parameters or statistics that renumber their own components.

    [`take_components`][emkit.stats.take_components] (the canonical order of a fit, the
    alignment of a start to known labels, relabelling checks) indexes every array whose leading
    axis has length K. A value whose components lie along other axes as well, such as the
    K x K transition matrix of a hidden Markov model (rows *and* columns are states), says how
    instead.
    """

    def relabel(self, order: Array) -> Self:
        """The same value with component ``k`` taken from component ``order[k]``."""
        ...


# -- missing values ------------------------------------------------------------------------------
@runtime_checkable
class MissingValues(Protocol):
    """A model or a family that takes NaN entries as values missing at random (MAR).

    EM treats a missing entry as one more latent variable. With ``handles_missing`` true:

    * of a family: ``validate_data`` accepts NaN (infinities stay errors); ``log_prob`` is the
      log-density of each row's *observed* entries (the missing ones integrated out; 0 for a row
      with none observed); the family is [`FusedEStep`][emkit.protocols.FusedEStep] and the
      statistics of ``log_prob_with_stats`` hold, for a missing entry, its expected sufficient
      statistics given the row's observed entries and the component,
      ``E[T(x) | x_obs, z = k, theta']`` (Ghahramani & Jordan 1994), so the M-step is unchanged;
    * of a model: every E-step and per-row method (``responsibilities``, ``score_samples``,
      ``predict``) takes rows with NaN, and the log-likelihood is the observed-data one.

    Without the capability every source and entry point refuses NaN, naming its row and
    column; a model that has it but says false refuses NaN in its own ``validate_data`` (a
    mixture handles missing values when its family does, and otherwise names the family).
    """

    @property
    def handles_missing(self) -> bool:
        """Whether NaN entries are taken as missing values (see the class docstring)."""
        ...


@runtime_checkable
class Imputing(Protocol[P_contra]):
    """A model that fills missing entries in with their conditional expectation."""

    def impute(self, X: Array, params: P_contra, lengths: Array | None = None) -> Array:
        """``X`` with every NaN replaced by ``E[x_miss | x_obs, theta]``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            May hold NaN (missing entries).
        params : P
        lengths : int array of shape (n_blocks,), optional
            Sizes of consecutive blocks of rows (sequences, groups), for a
            [`RowBlocks`][emkit.protocols.RowBlocks] model.

        Returns
        -------
        X_imputed : array of shape (n_samples, n_features)
            A new array; observed entries are unchanged.
        """
        ...


# -- capabilities of an exponential family ---------------------------------------------------------
@runtime_checkable
class FusedEStep(Protocol[P_contra, S_co]):
    """A family that evaluates log-densities and statistics from one pass over a chunk.

    Without it a mixture calls ``log_prob`` and then ``expected_stats``, which forms the
    chunk's features twice.
    """

    def log_prob_with_stats(
        self, X: Array, params: P_contra
    ) -> tuple[Array, Array | None, Callable[[Array], S_co]]:
        """``(log_prob, row_offset, stats_of)`` of a chunk.

        ``log_prob`` (n_samples, n_components) may omit a per-row term ``row_offset``
        (n_samples,) that is the same for every component (``log h(x)``; ``None`` when zero):
        it moves ``log p(x)`` but not the responsibilities. ``stats_of(resp)`` gives the
        statistics of the same rows for responsibilities ``resp`` (n_samples, n_components),
        which it may overwrite.
        """
        ...


@runtime_checkable
class FamilyChunkCost(Protocol):
    """A family that knows the memory of its per-row temporaries in one E-step chunk.

    Without it a mixture assumes ``itemsize * n_components * n_features`` bytes per row.
    """

    def bytes_per_row(self, n_components: int, n_features: int, itemsize: int) -> int:
        """Bytes of temporaries per row of a chunk."""
        ...


@runtime_checkable
class FamilyDiagnosing(Protocol[P_contra]):
    """A family that can explain degenerate fitted parameters (a mixture reports it)."""

    def diagnose(self, params: P_contra) -> list[str]:
        """Advice about fitted component parameters; empty when all is well."""
        ...


@runtime_checkable
class FamilyImputing(Protocol[P_contra]):
    """A family that fills missing entries in from the latent posterior of every row."""

    def impute(self, X: Array, resp: Array, params: P_contra) -> Array:
        """``X`` with every NaN replaced by ``sum_k resp[n, k] E[x_miss | x_obs, z = k]``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            May hold NaN (missing entries).
        resp : array of shape (n_samples, n_components)
            The posterior ``p(z_n = k | x_obs)`` of every row (rows sum to 1).
        params : P
            The parameters of all components.

        Returns
        -------
        X_imputed : array of shape (n_samples, n_features)
            A new array; observed entries are unchanged. A family whose entries are labels (a
            categorical's level codes) puts the most probable level instead of a mean.
        """
        ...


@runtime_checkable
class FamilyCovariances(Protocol[P_contra]):
    """A family that can state each component's covariance matrix (figures draw its ellipses)."""

    def covariances(self, params: P_contra) -> Array:
        """Covariance matrix of every component, shape (n_components, n_features, n_features)."""
        ...
