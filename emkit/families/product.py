"""Product families: independent blocks of columns, each with its own family.

A mixed-type table (measurements, yes/no answers, counts, categories) is modelled within one
component as independent blocks of columns,

``p(x | theta_k) = prod_b p_b(x[cols_b] | theta_kb)``,

so the log-density is the sum of the blocks' log-densities, the sufficient statistics are the
blocks' statistics side by side, and the M-step is each block's own moment matching: the blocks
share nothing but the responsibilities. ``Product(parts=((Gaussian("diag"), (0, 1, 2)),
(Bernoulli(), (3, 4)), (Poisson(), (5,)), (Categorical(3), (6,))))`` is a family like any other:
a [`FiniteMixture`][emkit.mixture.FiniteMixture] of it clusters mixed data, a
[`HiddenMarkovModel`][emkit.hmm.model.HiddenMarkovModel] emits mixed rows from it.

Parameters and statistics are [`ProductParams`][emkit.families.product.ProductParams] and
[`ProductStats`][emkit.families.product.ProductStats]: one value of each part's own type per
part, in the order of ``parts``.

Missing values
    A product handles NaN entries when every part does; each part then integrates out its own
    missing entries (the blocks are independent given the component, so the observed-data
    log-density of a row is the sum of the parts' observed-entry log-densities) and fills its
    own statistics with their conditional expectations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, final

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_int
from emkit.protocols import (
    ExponentialFamily,
    FamilyChunkCost,
    FamilyDiagnosing,
    FamilyImputing,
    FusedEStep,
    MissingValues,
    RecenterableComponents,
)
from emkit.registry import register_family
from emkit.stats import same_references, take_components

__all__ = ["Product", "ProductParams", "ProductStats"]

#: A family and the data columns it models, as ``Product(parts=...)`` holds them.
Part = tuple[ExponentialFamily[Any, Any], tuple[int, ...]]


@final
@attrs.frozen(eq=False)
class ProductParams:
    """The parameters of every part of a [`Product`][emkit.families.product.Product].

    Attributes
    ----------
    parts : tuple
        One parameter value per part, in the order of ``Product.parts``, each of its family's
        own type (e.g. [`GaussianParams`][emkit.families.gaussian.GaussianParams] then
        [`MeanParams`][emkit.families.canonical.MeanParams]), each for all components.
    """

    parts: tuple[Any, ...] = attrs.field(converter=tuple)

    def relabel(self, order: Array) -> ProductParams:
        """The same parameters with component ``k`` taken from component ``order[k]``, in
        every part.

        Parameters
        ----------
        order : int array of shape (n_components,)

        Returns
        -------
        params : ProductParams
        """
        return ProductParams(tuple(take_components(part, order) for part in self.parts))


@final
@attrs.frozen(eq=False)
class ProductStats:
    """The statistics of every part of a [`Product`][emkit.families.product.Product].

    Attributes
    ----------
    parts : tuple
        One statistics value per part, in the order of ``Product.parts``, each of its family's
        own type.
    """

    parts: tuple[Any, ...] = attrs.field(converter=tuple)

    def relabel(self, order: Array) -> ProductStats:
        """The same statistics with component ``k`` taken from component ``order[k]``.

        Parameters
        ----------
        order : int array of shape (n_components,)

        Returns
        -------
        stats : ProductStats
        """
        return ProductStats(tuple(take_components(part, order) for part in self.parts))

    def recenter(self, like: ProductStats, counts: Array) -> ProductStats:
        """Every part's statistics around the reference points of ``like``'s part.

        A part whose reference fields already agree (or that has none, such as a
        [`CanonicalFamily`][emkit.families.canonical.CanonicalFamily]'s sums) is kept as it is;
        another is moved by its own ``recenter(like, counts)``
        ([`RecenterableComponents`][emkit.protocols.RecenterableComponents]).

        Parameters
        ----------
        like : ProductStats
            Statistics of the same product whose reference points these are moved to.
        counts : array of shape (n_components,)
            ``n_k``, the responsibilities summed over the rows of these statistics.

        Returns
        -------
        stats : ProductStats

        Raises
        ------
        TypeError
            If a part's statistics hold reference fields that differ from ``like``'s and
            cannot be moved.
        """
        moved = []
        for index, (part, target) in enumerate(zip(self.parts, like.parts, strict=True)):
            if same_references(part, target):
                moved.append(part)
            elif isinstance(part, RecenterableComponents):
                moved.append(part.recenter(target, counts))
            else:
                raise TypeError(
                    f"cannot combine the statistics of part {index} ({type(part).__name__}) "
                    "computed at different parameters: they hold reference fields (marked "
                    "NOT_ADDITIVE) but no `recenter(like, counts)` method (see "
                    "emkit.protocols.RecenterableComponents)"
                )
        return ProductStats(tuple(moved))


def _check_columns(value: Any, index: int) -> tuple[int, ...]:
    name = f"parts[{index}] columns"
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(
            f"`{name}` must be a sequence of column indices, e.g. (0, 1); got {value!r}"
        )
    columns = tuple(check_int(column, name, minimum=0) for column in value)
    if not columns:
        raise ValueError(f"`{name}` must name at least one column; got an empty sequence")
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ValueError(f"`{name}` names column {repeated[0]} more than once: {columns}")
    return columns


def _check_family(value: Any, index: int) -> ExponentialFamily[Any, Any]:
    if isinstance(value, type):
        raise TypeError(
            f"`parts[{index}]` family must be a family instance, e.g. {value.__name__}(); got "
            f"the class {value.__name__}"
        )
    if not isinstance(value, ExponentialFamily):
        raise TypeError(
            f"`parts[{index}]` family must be an ExponentialFamily (log_prob, expected_stats, "
            f"maximize, ...); got a {type(value).__name__}"
        )
    return value


def _check_parts(value: Any) -> tuple[Part, ...]:
    """``parts`` as a tuple of ``(family, columns)`` that covers every column exactly once."""
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ValueError(
            "`parts` must be a non-empty sequence of (family, columns) pairs, e.g. "
            f"((Gaussian('diag'), (0, 1)), (Bernoulli(), (2,))); got {value!r}"
        )
    parts: list[Part] = []
    owner: dict[int, int] = {}
    for index, pair in enumerate(value):
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"`parts[{index}]` must be a (family, columns) pair; got {pair!r}")
        family = _check_family(pair[0], index)
        columns = _check_columns(pair[1], index)
        for column in columns:
            if column in owner:
                raise ValueError(
                    f"`parts`: column {column} is in part {owner[column]} and in part {index}; "
                    "every column must belong to exactly one part"
                )
            owner[column] = index
        parts.append((family, columns))
    absent = sorted(set(range(max(owner) + 1)) - set(owner))
    if absent:
        raise ValueError(
            f"`parts` must cover the columns 0 .. {max(owner)} exactly once; column "
            f"{absent[0]} is in no part"
        )
    return tuple(parts)


def _part_selectors(self: Product) -> tuple[slice | Array, ...]:
    """How each part's columns are taken from a row block: a slice (a view) when they are
    consecutive and increasing, else an index array (a copy)."""
    selectors: list[slice | Array] = []
    for _, columns in self.parts:
        first = columns[0]
        if columns == tuple(range(first, first + len(columns))):
            selectors.append(slice(first, first + len(columns)))
        else:
            selectors.append(np.asarray(columns, dtype=np.intp))
    return tuple(selectors)


#: ``row R, column C`` in a part's message: C counts within the part.
_PLACE = re.compile(r"row (\d+), column (\d+)")


@final
@attrs.frozen
class Product:
    """Independent blocks of columns within a component, each block with its own family.

    Parameters
    ----------
    parts : sequence of (family, columns) pairs
        Each family (an [`ExponentialFamily`][emkit.protocols.ExponentialFamily] instance) and
        the data columns it models (a sequence of 0-based indices, or one index). Every column
        ``0 .. n_features - 1`` belongs to exactly one part; a part's columns may be in any order
        and need not be adjacent (the part sees them in the order given).

    Notes
    -----
    Within component ``k`` the parts are independent:
    ``log p(x | theta_k) = sum_b log p_b(x[cols_b] | theta_kb)``. Everything follows from the
    parts: the statistics are theirs side by side, the M-step is theirs one by one, the
    log-prior and the number of free parameters are sums. A part's settings (a Gaussian's
    covariance type, a Bernoulli's ``pseudo_count``) apply to its own columns only.

    [`mean`][emkit.families.product.Product.mean] is the (n_components, n_features) array of
    the parts' own ``mean``, each in its columns: the component means of Gaussian, Bernoulli
    and Poisson columns, the most probable level code of categorical ones. A mixture sorts its
    components by it (the canonical order looks at the first column) and passes it to
    ``expected_stats`` as the reference point, split by columns for the parts.

    The product has the capabilities its parts have: a fused E-step (each part's own when it is
    [`FusedEStep`][emkit.protocols.FusedEStep], its ``log_prob`` and ``expected_stats`` else),
    a chunk cost, diagnosis of degenerate parameters (each message names the part and its
    columns), recentering of statistics, missing values when every part handles them
    ([`handles_missing`][emkit.families.product.Product.handles_missing]) and imputation. It
    states no covariance matrices (the blocks of different families have none in common).
    """

    parts: tuple[Part, ...] = attrs.field(converter=_check_parts)
    _selectors: tuple[slice | Array, ...] = attrs.field(
        init=False,
        eq=False,
        repr=False,
        default=attrs.Factory(_part_selectors, takes_self=True),
    )

    # -- the layout ----------------------------------------------------------------------------
    @property
    def n_features(self) -> int:
        """The number of data columns: every part's columns together."""
        return sum(len(columns) for _, columns in self.parts)

    def columns_of(self, X: Array) -> list[Array]:
        """Each part's columns of ``X``, in the order of ``parts``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        blocks : list of arrays
            ``X[:, cols_b]`` of shape (n_samples, len(cols_b)) for every part ``b``: a view for
            consecutive increasing columns, else a copy.
        """
        return [X[:, selector] for selector in self._selectors]

    def describe_part(self, index: int) -> str:
        """``"part 1 (Bernoulli, columns (3, 4, 5))"``: a part in words, for messages.

        Parameters
        ----------
        index : int

        Returns
        -------
        str
        """
        family, columns = self.parts[index]
        return f"part {index} ({type(family).__name__}, columns {columns})"

    def _check_width(self, n_features: int, what: str) -> None:
        if n_features != self.n_features:
            raise ValueError(
                f"{what} has {n_features} column(s), but this Product's parts cover "
                f"{self.n_features} (columns 0 .. {self.n_features - 1})"
            )

    def _check_params(self, params: Any) -> ProductParams:
        if not isinstance(params, ProductParams):
            raise TypeError(
                f"`params` of a Product family must be ProductParams; got {type(params).__name__}"
            )
        if len(params.parts) != len(self.parts):
            raise ValueError(
                f"`params.parts` must hold one value per part ({len(self.parts)}); got "
                f"{len(params.parts)}"
            )
        return params

    # -- capabilities of the parts -------------------------------------------------------------
    @property
    def handles_missing(self) -> bool:
        """Whether NaN entries are missing values: True when every part handles them
        ([`MissingValues`][emkit.protocols.MissingValues])."""
        return all(_handles_missing(family) for family, _ in self.parts)

    # -- the ExponentialFamily protocol --------------------------------------------------------
    def validate_data(self, X: Array) -> Array:
        """Check every part's columns with the part's own ``validate_data``.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)

        Returns
        -------
        X : array of shape (n_samples, n_features)
            ``X`` itself, or a copy holding what a part returned for its columns when a part
            converts them.

        Raises
        ------
        ValueError
            If ``X`` has another number of columns, or a part refuses its columns: the part's
            message, with the row and column of the whole ``X``, then the part named.
        """
        self._check_width(X.shape[1], "`X`")
        out = X
        for index, (block, selector) in enumerate(
            zip(self.columns_of(X), self._selectors, strict=True)
        ):
            family, columns = self.parts[index]
            try:
                checked = family.validate_data(block)
            except ValueError as exc:
                message = _in_columns_of_x(str(exc), columns)
                raise ValueError(f"{message} [{self.describe_part(index)}]") from None
            if checked is not block:
                if out is X:
                    out = X.copy()
                out[:, selector] = checked
        return out

    def validate_params(self, params: Any, n_components: int, n_features: int) -> ProductParams:
        """Check every part's parameters with the part's own ``validate_params``.

        Parameters
        ----------
        params : ProductParams
            One value per part.
        n_components : int
        n_features : int
            Must be the product's ``n_features``.

        Returns
        -------
        params : ProductParams
            As the parts return theirs.

        Raises
        ------
        TypeError
            If ``params`` is not [`ProductParams`][emkit.families.product.ProductParams] (or a
            part's value is of the wrong type).
        ValueError
            If the number of parts or columns differs, or a part refuses its value (the message
            names the part).
        """
        params = self._check_params(params)
        self._check_width(n_features, "the data")
        checked = []
        for index, ((family, columns), part) in enumerate(
            zip(self.parts, params.parts, strict=True)
        ):
            try:
                checked.append(family.validate_params(part, n_components, len(columns)))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"{self.describe_part(index)}: {exc}") from None
        return ProductParams(tuple(checked))

    def log_prob(self, X: Array, params: ProductParams) -> Array:
        """``log p(x_n | theta_k) = sum_b log p_b(x_n[cols_b] | theta_kb)``, every row and
        component.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : ProductParams

        Returns
        -------
        log_prob : array of shape (n_samples, n_components)
        """
        total: Array | None = None
        for (family, _), block, part in zip(
            self.parts, self.columns_of(X), params.parts, strict=True
        ):
            log_p = family.log_prob(block, part)
            total = log_p if total is None else total + log_p
        assert total is not None
        return total

    def log_prob_with_stats(
        self, X: Array, params: ProductParams
    ) -> tuple[Array, Array | None, Callable[[Array], ProductStats]]:
        """The fused E-step of a chunk: every part's, summed.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        params : ProductParams

        Returns
        -------
        log_prob : array of shape (n_samples, n_components)
            The sum of the parts' log-densities (each without its per-row offset).
        row_offset : array of shape (n_samples,) or None
            The sum of the parts' per-row offsets (``log h(x)`` of Poisson columns); ``None``
            when no part has one.
        stats_of : callable
            ``stats_of(resp)`` with ``resp`` of shape (n_samples, n_components) returns the
            [`ProductStats`][emkit.families.product.ProductStats] of every part for the same
            rows.
        """
        total: Array | None = None
        offset: Array | None = None
        makers: list[Callable[[Array], Any]] = []
        for (family, _), block, part in zip(
            self.parts, self.columns_of(X), params.parts, strict=True
        ):
            log_p, row_offset, make = _fused(family, block, part)
            total = log_p if total is None else total + log_p
            if row_offset is not None:
                offset = row_offset if offset is None else offset + row_offset
            makers.append(make)
        assert total is not None

        def stats_of(resp: Array) -> ProductStats:
            # A part's stats_of may overwrite the responsibilities it is given: every part but
            # the last gets its own copy.
            parts = [make(resp.copy()) for make in makers[:-1]]
            parts.append(makers[-1](resp))
            return ProductStats(tuple(parts))

        return total, offset, stats_of

    def expected_stats(self, X: Array, resp: Array, center: Array) -> ProductStats:
        """Every part's ``expected_stats`` on its columns.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        resp : array of shape (n_samples, n_components)
            The responsibilities ``r_nk``, already multiplied by the row weights.
        center : array of shape (n_components, n_features)
            The reference points in data space; each part gets its own columns.

        Returns
        -------
        stats : ProductStats
        """
        center = np.asarray(center)
        centers = self.columns_of(center)
        return ProductStats(
            tuple(
                family.expected_stats(block, resp, part_center)
                for (family, _), block, part_center in zip(
                    self.parts, self.columns_of(X), centers, strict=True
                )
            )
        )

    def maximize(self, stats: ProductStats, counts: Array) -> ProductParams:
        """Every part's M-step (moment matching) on its own statistics.

        Parameters
        ----------
        stats : ProductStats
            Summed over all the data.
        counts : array of shape (n_components,)
            ``n_k``, already floored away from zero.

        Returns
        -------
        params : ProductParams
        """
        return ProductParams(
            tuple(
                family.maximize(part, counts)
                for (family, _), part in zip(self.parts, stats.parts, strict=True)
            )
        )

    def log_prior(self, params: ProductParams) -> float:
        """The sum of the parts' log-priors (``0.0`` when no part has a prior).

        Parameters
        ----------
        params : ProductParams

        Returns
        -------
        log_prior : float
        """
        return float(
            sum(
                family.log_prior(part)
                for (family, _), part in zip(self.parts, params.parts, strict=True)
            )
        )

    def mean(self, params: ProductParams) -> Array:
        """Every part's ``mean``, each in its own columns.

        The mean of Gaussian, Bernoulli and Poisson columns; for categorical columns the most
        probable level's code ([`Categorical.mean`][emkit.families.categorical.Categorical.mean]).

        Parameters
        ----------
        params : ProductParams

        Returns
        -------
        mean : array of shape (n_components, n_features)
            float64.

        Raises
        ------
        ValueError
            If a part's ``mean`` is not one value per column (a family whose ``mean`` gives its
            mean parameters E[T(x)] of another width).
        """
        means = [
            np.asarray(family.mean(part), dtype=np.float64)
            for (family, _), part in zip(self.parts, params.parts, strict=True)
        ]
        out = np.empty((means[0].shape[0], self.n_features), dtype=np.float64)
        for index, (mean, selector) in enumerate(zip(means, self._selectors, strict=True)):
            width = len(self.parts[index][1])
            if mean.ndim != 2 or mean.shape[1] != width:
                raise ValueError(
                    f"{self.describe_part(index)}: its mean must have one value per column, "
                    f"shape (n_components, {width}); got shape {mean.shape}"
                )
            out[:, selector] = mean
        return out

    def n_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters: the sum of the parts' on their own columns.

        Parameters
        ----------
        n_components : int
        n_features : int
            Must be the product's ``n_features``.

        Returns
        -------
        n_parameters : int
        """
        self._check_width(n_features, "the data")
        return sum(
            int(family.n_parameters(n_components, len(columns))) for family, columns in self.parts
        )

    def sample(
        self, params: ProductParams, component: int, n: int, rng: np.random.Generator
    ) -> Array:
        """``n`` draws from one component: every part draws its own columns.

        Parameters
        ----------
        params : ProductParams
        component : int
            Index ``k`` of the component.
        n : int
            Number of draws.
        rng : numpy.random.Generator
            Used by the parts in the order of ``parts``.

        Returns
        -------
        X : array of shape (n, n_features)
            float64; each part's columns as its ``sample`` draws them (0/1 for Bernoulli,
            counts for Poisson, level codes for Categorical).
        """
        X = np.empty((n, self.n_features), dtype=np.float64)
        for (family, _), part, selector in zip(
            self.parts, params.parts, self._selectors, strict=True
        ):
            X[:, selector] = family.sample(part, component, n, rng)
        return X

    # -- optional capabilities -----------------------------------------------------------------
    def bytes_per_row(self, n_components: int, n_features: int, itemsize: int) -> int:
        """Bytes of the per-row temporaries of one chunk (for automatic chunk sizes).

        The parts' own costs ([`FamilyChunkCost`][emkit.protocols.FamilyChunkCost], else
        ``K x D_b x itemsize``), plus the gathered columns of non-adjacent parts, each part's
        log-densities and the copies of the responsibilities the parts' statistics get.

        Parameters
        ----------
        n_components : int
        n_features : int
        itemsize : int
            Bytes of one number of the data's dtype.

        Returns
        -------
        bytes_per_row : int
        """
        total = 0
        for (family, columns), selector in zip(self.parts, self._selectors, strict=True):
            width = len(columns)
            if isinstance(family, FamilyChunkCost):
                total += int(family.bytes_per_row(n_components, width, itemsize))
            else:
                total += itemsize * n_components * width
            if not isinstance(selector, slice):
                total += itemsize * width
        return total + 2 * itemsize * n_components * len(self.parts)

    def diagnose(self, params: ProductParams) -> list[str]:
        """What the parts that can explain degenerate parameters
        ([`FamilyDiagnosing`][emkit.protocols.FamilyDiagnosing]) report, each message
        naming its part and columns.

        Parameters
        ----------
        params : ProductParams

        Returns
        -------
        messages : list of str
            Empty when all is well. A part numbers its features within itself: feature ``j``
            of a part is its ``j``-th listed column.
        """
        messages = []
        for index, ((family, _), part) in enumerate(zip(self.parts, params.parts, strict=True)):
            if isinstance(family, FamilyDiagnosing):
                for message in family.diagnose(part):
                    messages.append(f"{self.describe_part(index)}: {message}")
        return messages

    def impute(self, X: Array, resp: Array, params: ProductParams) -> Array:
        """``X`` with every NaN replaced by its part's imputation
        ([`FamilyImputing`][emkit.protocols.FamilyImputing]).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            May hold NaN (missing entries).
        resp : array of shape (n_samples, n_components)
            The posterior ``p(z_n = k | x_obs)`` of every row (rows sum to 1).
        params : ProductParams

        Returns
        -------
        X_imputed : array of shape (n_samples, n_features)
            A new array; observed entries unchanged. Each part fills its own columns: the
            posterior mean ``sum_k resp[n, k] E[x_miss | x_obs, z = k]`` for Gaussian, Bernoulli
            and Poisson columns, the most probable level for categorical ones.

        Raises
        ------
        TypeError
            If a part with missing entries does not handle missing values.
        """
        out = np.array(X, copy=True)
        for index, ((family, _), block, part, selector) in enumerate(
            zip(self.parts, self.columns_of(X), params.parts, self._selectors, strict=True)
        ):
            if not np.isnan(block).any():
                continue
            if not (isinstance(family, FamilyImputing) and _handles_missing(family)):
                raise TypeError(
                    f"{self.describe_part(index)} has missing entries, but its family does not "
                    "handle missing values (emkit.protocols.MissingValues, FamilyImputing)"
                )
            out[:, selector] = family.impute(block, resp, part)
        return out


def _in_columns_of_x(message: str, columns: tuple[int, ...]) -> str:
    """A part's message about ``row R, column C`` (C counted within the part) naming the
    column of the whole data instead."""

    def place(match: re.Match[str]) -> str:
        return f"row {match.group(1)}, column {columns[int(match.group(2))]}"

    return _PLACE.sub(place, message, count=1)


def _handles_missing(family: Any) -> bool:
    return isinstance(family, MissingValues) and bool(family.handles_missing)


def _fused(
    family: ExponentialFamily[Any, Any], X: Array, params: Any
) -> tuple[Array, Array | None, Callable[[Array], Any]]:
    """A part's fused E-step: its own, or ``log_prob`` then ``expected_stats`` around its
    mean (what a mixture does for a family without one)."""
    if isinstance(family, FusedEStep):
        return family.log_prob_with_stats(X, params)
    center = family.mean(params)

    def stats_of(resp: Array) -> Any:
        return family.expected_stats(X, resp, center)

    return family.log_prob(X, params), None, stats_of


register_family(Product, ProductParams)
