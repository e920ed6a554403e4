"""A finite mixture of any exponential family, as a latent-variable model.

``p(x) = sum_k pi_k p(x | theta_k)`` with a latent component ``z``. The E-step computes the
responsibilities ``r_nk = p(z = k | x_n, theta')`` in log space (log-sum-exp, never the exp of an
unnormalised density) and hands them to the family, which returns its weighted sufficient
statistics. The M-step sets ``pi_k ∝ n_k`` (MAP under an optional symmetric Dirichlet prior) and
lets the family match moments.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Generic, TypeVar, final

import attrs
import numpy as np

from emkit._backend import Array, gammaln, logsumexp, parallel_map, worker_count
from emkit._validation import (
    block_starts,
    block_weights,
    check_array,
    check_float,
    check_int,
    check_missing_choice,
    check_observed_rows,
    refuse_missing,
)
from emkit.init import initial_responsibilities
from emkit.protocols import (
    ExponentialFamily,
    FamilyChunkCost,
    FamilyDiagnosing,
    FamilyImputing,
    FusedEStep,
    MissingValues,
    RecenterableComponents,
)
from emkit.registry import OPTIONAL_SETTING, register_model
from emkit.stats import add, same_references

__all__ = [
    "COLLAPSE_COUNT",
    "COUNT_FLOOR",
    "WEIGHT_SUM_ATOL",
    "FiniteMixture",
    "MixtureParams",
    "MixtureStats",
    "collapse_messages",
    "family_handles_missing",
    "missing_owner",
    "recenter_components",
]

P = TypeVar("P")
S = TypeVar("S")

COUNT_FLOOR = 10.0 * np.finfo(np.float64).eps
"""Component counts are floored here so that an empty component never divides by zero."""

#: A chunk is split across threads only into blocks of at least this many rows: smaller blocks
#: cost more in thread hand-off than they gain.
MIN_BLOCK_ROWS = 1024

#: Temporaries of one row block (bytes). A chunk from the source is cut into blocks of about
#: this size, processed by the threads (or one after the other): each block's features then
#: stay close to the core's cache. Measured for a 32-feature, 16-component full Gaussian on one
#: core with a 2 MiB L2: 1,000-2,000-row blocks (~8 MiB) run at 31 GFLOP/s (counted), 4,000 and
#: 8,000-row blocks at 21, 256-row blocks at 24 (numpy's per-call overhead). The source's chunk
#: budget still bounds the memory of a pass.
BLOCK_BYTES = 8 * 2**20

WEIGHT_SUM_ATOL = 1e-6
"""How far mixing weights may sum from 1 (user-given, loaded from a file or from an M-step)."""

COLLAPSE_COUNT = 1.0
"""A fitted component with fewer effective data points than this is reported as collapsed."""


@final
@attrs.frozen(eq=False)
class MixtureParams(Generic[P]):
    """Mixing weights and the family's parameters of every component.

    Attributes
    ----------
    weights : array of shape (n_components,)
        Mixing weights ``pi_k``, non-negative, summing to 1.
    components : P
        The family's parameters of all components (e.g.
        [`MeanParams`][emkit.families.canonical.MeanParams] with ``mean`` (n_components,
        n_stats), or [`GaussianParams`][emkit.families.gaussian.GaussianParams]).
    """

    weights: Array
    components: P


@final
@attrs.frozen(eq=False)
class MixtureStats(Generic[S]):
    """Summed responsibilities and the family's weighted statistics: what the E-step returns.

    Attributes
    ----------
    counts : array of shape (n_components,)
        ``n_k = sum_n w_n r_nk``.
    components : S
        The family's statistics ``sum_n w_n r_nk T(x_n)`` (e.g.
        [`MeanStats`][emkit.families.canonical.MeanStats] with ``sum_t`` (n_components,
        n_stats), or [`GaussianStats`][emkit.families.gaussian.GaussianStats]).
    group_counts : array of shape (n_components,) or None
        With groups of rows that share one component (``lengths``): ``sum_g w_g r_gk``, the
        expected number of groups of each component, which the weights are estimated from
        (``counts`` still count rows, for the family). ``None`` without groups.
    """

    counts: Array
    components: S
    group_counts: Array | None = None

    def recenter(self, like: MixtureStats[S]) -> MixtureStats[S]:
        """The family's statistics moved to ``like``'s reference points, using the counts.

        A family whose statistics hold reference fields provides
        [`RecenterableComponents`][emkit.protocols.RecenterableComponents]; statistics without them
        need no move.

        Parameters
        ----------
        like : MixtureStats
            Statistics whose reference points (e.g. a Gaussian's ``center``) these are moved to.

        Returns
        -------
        stats : MixtureStats
            The same ``counts`` (n_components,) and the family's statistics around ``like``'s
            reference points.
        """
        moved = recenter_components(self.components, like.components, self.counts)
        return MixtureStats(counts=self.counts, components=moved, group_counts=self.group_counts)


def recenter_components(stats: S, like: S, counts: Array) -> S:
    """A family's statistics around ``like``'s reference fields (unchanged when they agree)."""
    if same_references(stats, like):
        return stats
    if not isinstance(stats, RecenterableComponents):
        raise TypeError(
            f"cannot combine {type(stats).__name__} statistics computed at different "
            "parameters: they hold reference fields (marked NOT_ADDITIVE) but no "
            "`recenter(like, counts)` method (see emkit.protocols.RecenterableComponents)"
        )
    moved: S = stats.recenter(like, counts)  # type: ignore[arg-type]
    return moved


def _check_components(value: Any) -> int:
    return check_int(value, "n_components", minimum=1)


def _check_concentration(value: Any) -> float:
    return check_float(value, "weight_concentration", minimum=1.0)


@final
@attrs.frozen
class FiniteMixture(Generic[P, S]):
    """``n_components`` components of one exponential ``family``.

    Parameters
    ----------
    family : ExponentialFamily
        The component distribution, e.g. ``Gaussian("diag")``, ``Bernoulli()``, ``Poisson()``.
    n_components : int
        Number of components K >= 1.
    weight_concentration : float, default 1.0
        Concentration ``alpha >= 1`` of a symmetric Dirichlet prior on the weights. The M-step
        is then ``pi_k = (n_k + alpha - 1) / (N + K (alpha - 1))``; ``alpha = 1`` is no prior.
    missing : {"error", "marginalise"}, default "error"
        What a NaN in the data is. ``"error"``: a mistake, refused with its row and column.
        ``"marginalise"``: a value missing at random, integrated out exactly (the family must
        handle missing values, see [`MissingValues`][emkit.protocols.MissingValues]; Gaussian,
        Bernoulli, Poisson and Categorical do).

    Notes
    -----
    Groups of rows that share one component (the repeated measurements of one subject) are
    given like an HMM's sequences, as ``lengths=`` (the sizes of consecutive groups; see
    [`RowBlocks`][emkit.protocols.RowBlocks]): then ``p(group g) = sum_k pi_k prod_{n in g}
    p(x_n | theta_k)``, a group's responsibilities come from its rows' log-densities summed
    before the log-sum-exp, every row of the group takes them, and the weights are estimated
    from groups while the components are from rows. No source cuts a group; without
    ``lengths`` rows are independent (groups of one row give the ungrouped fit).
    """

    family: ExponentialFamily[P, S]
    n_components: int = attrs.field(converter=_check_components)
    weight_concentration: float = attrs.field(default=1.0, converter=_check_concentration)
    missing: str = attrs.field(
        default="error", converter=check_missing_choice, kw_only=True, metadata=OPTIONAL_SETTING
    )

    def default_lengths(self, n_samples: int) -> None:
        """Rows are independent unless groups are given (``lengths``): ``None``.

        Parameters
        ----------
        n_samples : int

        Returns
        -------
        None
        """
        return

    @property
    def handles_missing(self) -> bool:
        """Whether NaN entries are missing values: with ``missing="marginalise"`` and a family
        that handles them (the [`MissingValues`][emkit.protocols.MissingValues] capability)."""
        return self.missing == "marginalise" and family_handles_missing(self.family)

    # -- the LatentVariableModel protocol ------------------------------------------------------
    def validate_data(self, X: Array) -> Array:
        """Check that ``X`` lies in the family's support; return it.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            NaN entries are missing values when the family handles them
            ([`handles_missing`][emkit.mixture.FiniteMixture.handles_missing]).

        Returns
        -------
        X : array of shape (n_samples, n_features)
            As the family's ``validate_data`` returns it.

        Raises
        ------
        ValueError
            If a value lies outside the support, or a NaN appears for a family that does not
            handle missing values, or every entry of a row is missing (such a row says nothing
            about its component; drop it).
        """
        if self.handles_missing:
            check_observed_rows(X)
        else:
            refuse_missing(X, "X", missing_owner(self.family, self.missing, "a mixture of"))
        return self.family.validate_data(X)

    def init_params(
        self,
        X: Array,
        rng: np.random.Generator,
        method: str = "kmeans",
        weights: Array | None = None,
    ) -> MixtureParams[P]:
        """Starting parameters: one M-step on initial responsibilities.

        The responsibilities come from
        [`initial_responsibilities`][emkit.init.initial_responsibilities] (k-means, k-means++
        seeding, random assignments, random rows, model-based hierarchical agglomeration, or a
        strategy a plugin registered with [`register_init`][emkit.init.register_init]), then
        [`params_from_responsibilities`][emkit.mixture.FiniteMixture.params_from_responsibilities]
        turns them into parameters.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            The rows to start from (the driver passes a bounded sample). Missing entries (NaN)
            are first filled with their column's median observed value (an observed value, so
            in the family's support): a start, which EM's exact treatment then refines.
        rng : numpy.random.Generator
        method : str, default "kmeans"
            One of [`init_methods`][emkit.init.init_methods]() (the built-in
            [`INIT_METHODS`][emkit.init.INIT_METHODS] and the registered ones).
        weights : array of shape (n_samples,), optional
            Row weights.

        Returns
        -------
        params : MixtureParams
        """
        X = _start_filled(X)
        resp = initial_responsibilities(X, self.n_components, method, rng, weights)
        return self.params_from_responsibilities(X, resp, weights)

    def params_from_responsibilities(
        self, X: Array, resp: Array, weights: Array | None = None
    ) -> MixtureParams[P]:
        """The M-step applied to given responsibilities.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        resp : array of shape (n_samples, n_components)
            Responsibilities ``r_nk`` (rows summing to 1, or hard 0/1 assignments).
        weights : array of shape (n_samples,), optional
            Row weights.

        Returns
        -------
        params : MixtureParams
        """
        X = _start_filled(X)
        if weights is not None:
            resp = resp * weights[:, None]
        counts = resp.sum(axis=0, dtype=np.float64)
        # Accumulate around each component's own weighted mean (one cheap product first), so
        # that second moments of tight components far apart suffer no cancellation.
        overall = np.average(X, axis=0, weights=weights)
        own = (resp.T @ (X - overall)) / np.maximum(counts, COUNT_FLOOR)[:, None]
        center = np.asarray(overall + own, dtype=np.float64)
        stats = MixtureStats(counts, self.family.expected_stats(X, resp, center))
        return self.m_step(stats)

    def validate_params(self, params: Any, n_features: int) -> MixtureParams[P]:
        """Check user-given parameters: the weights here, the components by the family.

        Parameters
        ----------
        params : MixtureParams
            ``weights`` of shape (n_components,), non-negative and summing to 1 (within
            [`WEIGHT_SUM_ATOL`][emkit.mixture.WEIGHT_SUM_ATOL]).
        n_features : int

        Returns
        -------
        params : MixtureParams
            With the weights renormalised to sum to 1 exactly and the components as the family's
            ``validate_params`` returns them.

        Raises
        ------
        TypeError
            If ``params`` is not a [`MixtureParams`][emkit.mixture.MixtureParams].
        ValueError
            If the weights or the components are invalid.
        """
        if not isinstance(params, MixtureParams):
            raise TypeError(
                f"initial parameters must be MixtureParams; got {type(params).__name__}"
            )
        weights = check_array(params.weights, "params.weights", ndim=1, dtype=np.float64)
        if weights.shape != (self.n_components,):
            raise ValueError(
                f"`params.weights` must have shape (n_components,) = ({self.n_components},); "
                f"got {weights.shape}"
            )
        if (weights < 0).any() or not np.isclose(
            weights.sum(), 1.0, rtol=0.0, atol=WEIGHT_SUM_ATOL
        ):
            raise ValueError(
                f"`params.weights` must be non-negative and sum to 1; got {weights.tolist()} "
                f"(sum {weights.sum():.8g})"
            )
        components = self.family.validate_params(params.components, self.n_components, n_features)
        return MixtureParams(weights / weights.sum(), components)

    def e_step(
        self,
        X: Array,
        params: MixtureParams[P],
        weights: Array | None = None,
        labels: Array | None = None,
        lengths: Array | None = None,
    ) -> tuple[MixtureStats[S], float]:
        """The E-step on a chunk: responsibilities, then summed statistics and log-likelihood.

        With the current parameters theta' the responsibilities are
        ``r_nk = p(z_n = k | x_n, theta') = pi_k p(x_n | theta_k) / sum_j pi_j p(x_n | theta_j)``
        (PRML's gamma(z_nk)), computed in log space. A known label fixes its row's
        responsibility to that component. The family then sums its sufficient statistics with
        these weights. Statistics add over rows, so a chunk may be any subset of the data.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : MixtureParams
            ``weights`` (n_components,) and the family's parameters of every component.
        weights : array of shape (n_samples,), optional
            Non-negative row weights ``w_n``; an integer weight counts like repeated rows.
        labels : int array of shape (n_samples,), optional
            Known components, -1 where unknown (semi-supervised EM).
        lengths : int array of shape (n_groups,), optional
            Sizes of consecutive groups of rows that share one component (see the class
            notes); row weights must then be the same within a group.

        Returns
        -------
        stats : MixtureStats
            ``counts`` ``n_k = sum_n w_n r_nk`` of shape (n_components,), and the family's
            statistics of ``sum_n w_n r_nk T(x_n)`` (for a canonical family (n_components,
            n_stats)); with groups also ``group_counts``.
        log_likelihood : float
            ``sum_n w_n log p(x_n | theta')`` (the prior is not included).

        Raises
        ------
        ValueError
            If a row has zero probability under every component.
        """
        if lengths is not None:
            return self._grouped_e_step(X, params, weights, labels, lengths)
        family = self.family
        if not isinstance(family, FusedEStep):
            log_resp, log_norm = self._log_responsibilities(X, params, labels)
            center = self.family.mean(params.components)
            return _summed(
                np.exp(log_resp),
                log_norm,
                weights,
                lambda resp: self.family.expected_stats(X, resp, center),
            )
        fused = family.log_prob_with_stats
        workers = worker_count()
        block_rows = max(MIN_BLOCK_ROWS, BLOCK_BYTES // self.bytes_per_row(X.shape[1], X.itemsize))
        blocks = _row_blocks(X.shape[0], workers, block_rows)
        if len(blocks) == 1:
            return self._fused_e_step(fused, X, params, weights, labels)

        def block_e_step(rows: slice) -> tuple[MixtureStats[S], float]:
            return self._fused_e_step(
                fused,
                X[rows],
                params,
                None if weights is None else weights[rows],
                None if labels is None else labels[rows],
            )

        # Statistics add over rows: row blocks of the chunk run on parallel threads (one after
        # the other with one worker, which still keeps each block's features in cache).
        parts = parallel_map(block_e_step, blocks, workers)
        stats, log_likelihood = parts[0]
        for block_stats, block_ll in parts[1:]:
            stats = add(stats, block_stats)
            log_likelihood += block_ll
        return stats, log_likelihood

    def _fused_e_step(
        self,
        fused: Callable[[Array, P], tuple[Array, Array | None, Callable[[Array], S]]],
        X: Array,
        params: MixtureParams[P],
        weights: Array | None,
        labels: Array | None,
    ) -> tuple[MixtureStats[S], float]:
        # One pass over the rows: the family evaluates all components from one set of
        # features of the rows and reuses them for the statistics of the same rows.
        log_prob, row_offset, stats_of = fused(X, params.components)
        with np.errstate(divide="ignore"):
            log_prob += np.log(params.weights).astype(log_prob.dtype)
        if labels is not None:
            log_prob = self._mask_labels(log_prob, labels)
        resp, log_norm = _normalise_in_place(log_prob)
        if row_offset is not None:
            # A per-row term of the log-density (log h(x)) moves log p(x) but not the
            # responsibilities: add it to the row's log-likelihood only.
            log_norm = log_norm + row_offset
        return _summed(resp, log_norm, weights, stats_of)

    def _grouped_e_step(
        self,
        X: Array,
        params: MixtureParams[P],
        weights: Array | None,
        labels: Array | None,
        lengths: Array,
    ) -> tuple[MixtureStats[S], float]:
        group_weights = block_weights(weights, lengths, "group")
        family = self.family
        if isinstance(family, FusedEStep):
            log_prob, row_offset, stats_of = family.log_prob_with_stats(X, params.components)
        else:
            log_prob, row_offset = family.log_prob(X, params.components), None
            center = family.mean(params.components)

            def stats_of(resp: Array) -> S:
                return family.expected_stats(X, resp, center)

        starts = block_starts(lengths)
        # A group's complete-data log-density for each component: its rows' log-densities
        # summed (they share z), then the mixing weight once per group.
        log_joint = np.add.reduceat(log_prob.astype(np.float64), starts, axis=0)
        with np.errstate(divide="ignore"):
            log_joint += np.log(params.weights)
        if labels is not None:
            log_joint = self._mask_labels(log_joint, _group_labels(labels, lengths))
        group_resp, log_norm = _normalise_in_place(log_joint)
        if row_offset is not None:
            log_norm = log_norm + np.add.reduceat(row_offset.astype(np.float64), starts)
        if group_weights is not None:
            group_resp *= group_weights[:, None]
            log_likelihood = float(group_weights @ log_norm)
        else:
            log_likelihood = float(np.sum(log_norm))
        resp = np.repeat(group_resp, lengths, axis=0).astype(log_prob.dtype, copy=False)
        stats = MixtureStats(
            counts=resp.sum(axis=0, dtype=np.float64),
            components=stats_of(resp),
            group_counts=group_resp.sum(axis=0),
        )
        return stats, log_likelihood

    def m_step(self, stats: MixtureStats[S]) -> MixtureParams[P]:
        """The M-step: ``argmax_theta Q(theta, theta') + log p(theta)`` from summed statistics.

        The weights maximise ``sum_k n_k log pi_k`` plus the Dirichlet prior under
        ``sum_k pi_k = 1`` (a Lagrange multiplier):
        ``pi_k = (n_k + alpha - 1) / (N + K (alpha - 1))``, ``N = sum_k n_k``; ``alpha = 1`` gives
        ``pi_k = n_k / N``. The components are the family's
        [`maximize`][emkit.protocols.ExponentialFamily.maximize] (moment matching). Counts are
        floored at [`COUNT_FLOOR`][emkit.mixture.COUNT_FLOOR] first, so an empty component
        divides by no zero. The step is an exact maximiser only where the family's is: a Gaussian
        with ``reg_covar > 0`` adds that safeguard to the maximising covariances, which
        maximises no stated objective, so there the log-likelihood rises only approximately.

        Parameters
        ----------
        stats : MixtureStats
            The statistics of [`e_step`][emkit.mixture.FiniteMixture.e_step] summed over all the
            data: ``counts`` (n_components,) and the family's statistics.

        Returns
        -------
        params : MixtureParams
            ``weights`` (n_components,) and the family's parameters.
        """
        counts = np.maximum(stats.counts, COUNT_FLOOR)
        # With groups the weights count groups, the components rows.
        groups = counts if stats.group_counts is None else stats.group_counts
        weights = np.maximum(groups, COUNT_FLOOR) + (self.weight_concentration - 1.0)
        return MixtureParams(
            weights=weights / weights.sum(),
            components=self.family.maximize(stats.components, counts),
        )

    def log_prior(self, params: MixtureParams[P]) -> float:
        """The family's log prior plus the log Dirichlet density of the weights.

        ``log Gamma(K alpha) - K log Gamma(alpha) + (alpha - 1) sum_k log pi_k``, with
        ``alpha = weight_concentration``; that term is 0 when ``alpha = 1``.

        Parameters
        ----------
        params : MixtureParams
            ``weights`` (n_components,) and the family's parameters of every component.

        Returns
        -------
        log_prior : float
        """
        log_prior = self.family.log_prior(params.components)
        alpha = self.weight_concentration
        if alpha != 1.0:
            k = self.n_components
            log_prior += float(
                gammaln(np.array(k * alpha))
                - k * gammaln(np.array(alpha))
                + (alpha - 1.0) * np.sum(np.log(params.weights))
            )
        return log_prior

    def n_parameters(self, n_features: int) -> int:
        """Free parameters: ``K - 1`` weights plus the family's component parameters.

        Parameters
        ----------
        n_features : int

        Returns
        -------
        n_parameters : int
        """
        return self.n_components - 1 + self.family.n_parameters(self.n_components, n_features)

    def diagnose(self, stats: MixtureStats[S], params: MixtureParams[P]) -> list[str]:
        """Advice about a fit's final statistics and parameters.

        Reports components that hold (almost) no data, and whatever the family finds when it
        is [`FamilyDiagnosing`][emkit.protocols.FamilyDiagnosing] (e.g. a Gaussian with no spread
        along a feature).

        Parameters
        ----------
        stats : MixtureStats
            The final statistics (``counts`` of shape (n_components,)).
        params : MixtureParams
            ``weights`` (n_components,) and the family's parameters of every component.

        Returns
        -------
        messages : list of str
            Empty when all is well.
        """
        messages = collapse_messages(stats.counts)
        if isinstance(self.family, FamilyDiagnosing):
            messages.extend(self.family.diagnose(params.components))
        return messages

    def bytes_per_row(self, n_features: int, itemsize: int) -> int:
        """Bytes of temporaries per row of a chunk in one E-step (for automatic chunk sizes).

        Parameters
        ----------
        n_features : int
        itemsize : int
            Bytes of one number of the data's dtype.

        Returns
        -------
        bytes_per_row : int
        """
        # The family's chunk features (when it says how large they are; else a (n, K, D)
        # product), the (n, K) log-probabilities/responsibilities and a few (n,) sums.
        k = self.n_components
        if isinstance(self.family, FamilyChunkCost):
            features = int(self.family.bytes_per_row(k, n_features, itemsize))
        else:
            features = itemsize * k * n_features
        return features + 2 * itemsize * k + 8 * 4

    # -- using fitted parameters ---------------------------------------------------------------
    def joint_log_prob(self, X: Array, params: MixtureParams[P]) -> Array:
        """``log pi_k + log p(x_n | theta_k)``: the log joint density of every row and component.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : MixtureParams
            ``weights`` (n_components,) and the family's parameters of every component.

        Returns
        -------
        log_joint : array of shape (n_samples, n_components)
        """
        with np.errstate(divide="ignore"):
            log_weights = np.log(params.weights)
        return self.family.log_prob(X, params.components) + log_weights

    def _log_responsibilities(
        self, X: Array, params: MixtureParams[P], labels: Array | None = None
    ) -> tuple[Array, Array]:
        log_joint = self.joint_log_prob(X, params)
        if labels is not None:
            log_joint = self._mask_labels(log_joint, labels)
        log_norm = logsumexp(log_joint, axis=1)
        _check_finite_rows(log_norm)
        return log_joint - log_norm[:, None], log_norm

    def _mask_labels(self, log_joint: Array, labels: Array) -> Array:
        # A known label fixes the row's responsibility: every other component gets -inf,
        # so the row contributes its complete-data log-likelihood log pi_z + log p(x | z).
        unknown = labels < 0
        allowed = unknown[:, None] | (labels[:, None] == np.arange(self.n_components))
        # In place: the array keeps its memory order, so labels that are all unknown give
        # bit-for-bit the sums of no labels.
        np.copyto(log_joint, -np.inf, where=~allowed)
        return log_joint

    def responsibilities(
        self, X: Array, params: MixtureParams[P], lengths: Array | None = None
    ) -> Array:
        """The responsibilities ``p(z_n = k | x_n, params)`` of every row.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : MixtureParams
            ``weights`` (n_components,) and the family's parameters of every component.
        lengths : int array of shape (n_groups,), optional
            Groups of rows that share one component: every row gets its group's
            responsibilities ``p(z_g = k | x_g)``.

        Returns
        -------
        resp : array of shape (n_samples, n_components)
            Rows sum to 1.
        """
        if lengths is not None:
            log_joint = self._group_log_joint(X, params, lengths)
            resp, _ = _normalise_in_place(log_joint)
            return np.repeat(resp, lengths, axis=0)
        return np.exp(self._log_responsibilities(X, params)[0])

    def _group_log_joint(self, X: Array, params: MixtureParams[P], lengths: Array) -> Array:
        """``log pi_k + sum_{n in g} log p(x_n | theta_k)`` of every group, (n_groups, K)."""
        log_prob = self.family.log_prob(X, params.components).astype(np.float64)
        log_joint = np.add.reduceat(log_prob, block_starts(lengths), axis=0)
        with np.errstate(divide="ignore"):
            log_joint += np.log(params.weights)
        return log_joint

    def score_samples(
        self, X: Array, params: MixtureParams[P], lengths: Array | None = None
    ) -> Array:
        """``log p(x_n | params) = log sum_k pi_k p(x_n | theta_k)`` of every row.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : MixtureParams
            ``weights`` (n_components,) and the family's parameters of every component.
        lengths : int array of shape (n_groups,), optional
            Groups of rows that share one component: a row's value is then
            ``log p(x_n | earlier rows of its group)``, so that each group's values add up to
            its log-likelihood ``log p(x_g)``.

        Returns
        -------
        log_density : array of shape (n_samples,)
        """
        if lengths is None:
            return logsumexp(self.joint_log_prob(X, params), axis=1)
        log_prob = self.family.log_prob(X, params.components).astype(np.float64)
        starts = block_starts(lengths)
        # Running sums within each group: the log joint of the group's first rows.
        running = np.cumsum(log_prob, axis=0)
        before = np.concatenate([np.zeros((1, log_prob.shape[1])), running[:-1]])[starts]
        running -= np.repeat(before, lengths, axis=0)
        with np.errstate(divide="ignore"):
            prefix = logsumexp(running + np.log(params.weights), axis=1)
        previous = np.concatenate([[0.0], prefix[:-1]])
        previous[starts] = 0.0
        return np.asarray(prefix - previous)

    def predict(self, X: Array, params: MixtureParams[P], lengths: Array | None = None) -> Array:
        """The most probable component of every row (the largest responsibility).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : MixtureParams
            ``weights`` (n_components,) and the family's parameters of every component.
        lengths : int array of shape (n_groups,), optional
            Groups of rows that share one component: every row gets its group's.

        Returns
        -------
        labels : int array of shape (n_samples,)
        """
        if lengths is not None:
            best = np.argmax(self._group_log_joint(X, params, lengths), axis=1)
            return np.repeat(best, lengths)
        return np.asarray(np.argmax(self.joint_log_prob(X, params), axis=1))

    def impute(self, X: Array, params: MixtureParams[P], lengths: Array | None = None) -> Array:
        """Missing entries replaced by ``E[x_miss | x_obs] = sum_k r_nk E[x_miss | x_obs, z=k]``.

        The responsibilities come from each row's observed entries (with groups, from its
        group's); the family fills in each component's conditional expectation
        ([`FamilyImputing`][emkit.protocols.FamilyImputing]; a categorical family puts the most
        probable level).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            NaN where missing.
        params : MixtureParams
        lengths : int array of shape (n_groups,), optional
            Groups of rows that share one component.

        Returns
        -------
        X_imputed : array of shape (n_samples, n_features)
            A new array; observed entries unchanged.

        Raises
        ------
        TypeError
            If the family cannot impute (it lacks the capability).
        """
        if not isinstance(self.family, FamilyImputing) or not self.handles_missing:
            raise TypeError(
                f"{type(self.family).__name__} cannot impute missing values (it does not "
                "handle them: no MissingValues/FamilyImputing capability)"
            )
        resp = self.responsibilities(X, params, lengths)
        return self.family.impute(X, resp, params.components)

    def component_weights(self, params: MixtureParams[P]) -> Array:
        """The mixing weights ``pi`` (the [`ComponentSummary`][emkit.protocols.ComponentSummary]
        capability).

        Parameters
        ----------
        params : MixtureParams

        Returns
        -------
        weights : array of shape (n_components,)
        """
        return np.asarray(params.weights)

    def component_means(self, params: MixtureParams[P]) -> Array:
        """Every component's mean in data space, ``E[x | z = k]``: the family's ``mean``.

        Parameters
        ----------
        params : MixtureParams

        Returns
        -------
        means : array of shape (n_components, n_features)
        """
        return np.asarray(self.family.mean(params.components))

    def sample(
        self, params: MixtureParams[P], n_samples: int, rng: np.random.Generator
    ) -> tuple[Array, Array]:
        """Draw rows from the mixture: a component ``z ~ pi``, then ``x ~ p(x | theta_z)``.

        Parameters
        ----------
        params : MixtureParams
            ``weights`` (n_components,) and the family's parameters of every component.
        n_samples : int
            Number of rows, at least 1.
        rng : numpy.random.Generator

        Returns
        -------
        X : array of shape (n_samples, n_features)
        labels : int array of shape (n_samples,)
            The component each row was drawn from.
        """
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        labels = rng.choice(self.n_components, size=n_samples, p=params.weights)
        counts = np.bincount(labels, minlength=self.n_components)
        draws = [
            self.family.sample(params.components, k, int(counts[k]), rng)
            for k in range(self.n_components)
        ]
        X = np.empty((n_samples, draws[0].shape[1]))
        for k, draw in enumerate(draws):
            X[labels == k] = draw
        return X, labels


def family_handles_missing(family: Any) -> bool:
    """Whether ``family`` has the [`MissingValues`][emkit.protocols.MissingValues] capability and
    says it handles NaN."""
    return isinstance(family, MissingValues) and bool(family.handles_missing)


def missing_owner(family: Any, missing: str, role: str) -> str:
    """Who refuses a NaN, and how to change that, for the error message."""
    name = type(family).__name__
    if missing == "error" and family_handles_missing(family):
        return (
            f"{role} {name} with missing='error'; pass missing='marginalise' to treat NaN as a "
            "value missing at random"
        )
    return f"{role} {name}, a family that does not handle missing values"


def _start_filled(X: Array) -> Array:
    """``X`` with each missing entry replaced by its column's lower median observed value."""
    missing = np.isnan(X)
    if not missing.any():
        return X
    observed_count = (~missing).sum(axis=0)
    if (observed_count == 0).any():
        column = int(np.flatnonzero(observed_count == 0)[0])
        raise ValueError(
            f"column {column} of `X` has no observed value in the rows a start is drawn from "
            f"({X.shape[0]} rows): drop the column, or give starting parameters"
        )
    # An observed value (not an average of two), so the start lies in the family's support:
    # an integer count, a 0/1 answer or a level code stays one.
    medians = np.nanquantile(X, 0.5, axis=0, method="inverted_cdf")
    return np.where(missing, medians.astype(X.dtype), X)


def _group_labels(labels: Array, lengths: Array) -> Array:
    """The known component of every group: its rows' labels must agree (-1: unknown)."""
    starts = block_starts(lengths)
    known = np.maximum.reduceat(labels, starts)
    lowest = np.minimum.reduceat(np.where(labels < 0, np.iinfo(np.intp).max, labels), starts)
    clash = (known >= 0) & (lowest != known)
    if clash.any():
        group = int(np.flatnonzero(clash)[0])
        raise ValueError(
            f"`labels` of one group must agree (-1 for unknown): group {group} (rows "
            f"{starts[group]}..{starts[group] + lengths[group] - 1}) has labels {lowest[group]} "
            f"and {known[group]}"
        )
    return np.asarray(known, dtype=np.intp)


def collapse_messages(
    counts: Array, noun: str = "component", unit: str = "data point", counted: str = "counts"
) -> list[str]:
    """The advice every model's ``diagnose`` gives about components (states) that hold fewer
    than [`COLLAPSE_COUNT`][emkit.mixture.COLLAPSE_COUNT] rows' worth of weight.

    Parameters
    ----------
    counts : array of shape (n_components,)
        Expected rows per component.
    noun, unit, counted : str
        How the message names a component, a row and the counts (an HMM: "state", "frame",
        "expected frames").

    Returns
    -------
    messages : list of str
        One message naming the collapsed components, or none.
    """
    collapsed = np.flatnonzero(counts < COLLAPSE_COUNT)
    if not collapsed.size:
        return []
    return [
        f"{noun}(s) {collapsed.tolist()} hold fewer than {COLLAPSE_COUNT:g} {unit} ({counted} "
        f"{np.round(counts[collapsed], 6).tolist()}): they have collapsed; refit with fewer "
        f"{noun}s or another initialisation"
    ]


def _summed(
    resp: Array,
    log_norm: Array,
    weights: Array | None,
    stats_of: Callable[[Array], S],
) -> tuple[MixtureStats[S], float]:
    """Statistics and log-likelihood of rows from their responsibilities and ``log p(x_n)``.

    Row weights scale each row's responsibilities (in place: ``resp`` is the caller's temporary)
    and its log-likelihood, so an integer weight counts like repeated rows.
    """
    if weights is None:
        log_likelihood = float(np.sum(log_norm, dtype=np.float64))
    else:
        resp *= weights[:, None].astype(resp.dtype)
        log_likelihood = float(weights @ log_norm.astype(np.float64))
    stats = MixtureStats(counts=resp.sum(axis=0, dtype=np.float64), components=stats_of(resp))
    return stats, log_likelihood


def _check_finite_rows(log_norm: Array) -> None:
    if not np.isfinite(log_norm).all():
        row = int(np.flatnonzero(~np.isfinite(log_norm))[0])
        raise ValueError(
            f"row {row} of `X` has zero probability under every component "
            f"(log-likelihood {log_norm[row]}); the data lies outside what these parameters "
            "can generate, e.g. a count where every component's rate is 0"
        )


def _normalise_in_place(log_joint: Array) -> tuple[Array, Array]:
    """Responsibilities and ``log sum_k exp(log_joint)`` per row, overwriting ``log_joint``.

    The log-sum-exp of scipy plus ``exp(log_joint - log_norm)`` makes five passes over the
    (n, K) array and two temporaries; this makes three in place: subtract the row maximum,
    exponentiate, divide by the row sum. Same numbers (the maximum is subtracted before exp).
    """
    top = log_joint.max(axis=1)
    if not np.isfinite(top).all():
        bad = ~np.isfinite(top)
        log_norm = np.where(bad, logsumexp(log_joint, axis=1), 0.0)
        _check_finite_rows(log_norm)
    log_joint -= top[:, None]
    # Responsibilities below tiny * K (about 1e-305 in float64, 1e-37 in float32) would turn
    # subnormal, and subnormal numbers slow exp and the statistics' matrix product down by
    # orders of magnitude; they are zero to every digit that counts.
    floor = np.log(np.finfo(log_joint.dtype).tiny * log_joint.shape[1])
    np.copyto(log_joint, -np.inf, where=log_joint < floor)
    np.exp(log_joint, out=log_joint)
    total = log_joint.sum(axis=1)
    log_joint /= total[:, None]
    return log_joint, top + np.log(total)


def _row_blocks(n_rows: int, workers: int, block_rows: int | None = None) -> list[slice]:
    """Split ``n_rows`` into contiguous, nearly equal blocks of at least MIN_BLOCK_ROWS rows:
    at least ``workers`` blocks (when rows allow) of at most about ``block_rows`` rows."""
    count = max(1, min(workers, n_rows // MIN_BLOCK_ROWS))
    if block_rows is not None:
        count = max(count, min(-(-n_rows // block_rows), n_rows // MIN_BLOCK_ROWS))
    bounds = np.linspace(0, n_rows, count + 1).astype(int)
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


register_model(FiniteMixture, MixtureParams)
