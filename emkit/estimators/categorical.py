"""Latent class analysis: [`CategoricalMixture`][emkit.estimators.categorical.CategoricalMixture],
a mixture of independent categorical features whose levels may be strings.

Levels and codes
    ``fit`` learns the levels of every column, sorted (as scikit-learn's ``OneHotEncoder``:
    ``categories_[d]``), and fits a [`Categorical`][emkit.families.Categorical] mixture to the
    codes ``0 .. L_d - 1`` (a level's position in ``categories_[d]``). ``predict`` and the other
    methods map their rows through the same levels, so a level that ``fit`` never saw raises
    ``ValueError`` naming the column and the value; ``sample`` maps the drawn codes back to the
    levels.

    A column may hold strings, integers, booleans or finite floats (one kind per column); a
    pandas DataFrame (category, object, bool or numeric columns) is read through its
    ``to_numpy`` and ``columns`` without emkit importing pandas. Missing values (``None``,
    NaN, pandas' NA) are refused unless ``missing="marginalise"``, which integrates them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, final

import attrs
import numpy as np

from emkit._backend import Array
from emkit.estimators.coded import CodedMixture, SizeOrderedStart
from emkit.estimators.counts import canonical_start
from emkit.estimators.inputs import check_x, feature_names
from emkit.estimators.levels import (
    encode_levels,
    first_row,
    learn_levels,
    level_kind,
    missing_cells,
    restore_levels,
)
from emkit.families import Categorical, MeanParams
from emkit.mixture import FiniteMixture

__all__ = ["CategoricalMixture"]

#: Who needs two levels in every column, for the message of a constant column.
_TWO_LEVELS = "every feature of a CategoricalMixture"


@final
class _OneHotStart(SizeOrderedStart):
    """``init_params`` run on the one-hot code of the rows (so k-means clusters by how many
    features two rows share, never by the arbitrary order of the codes)."""

    def features(self, X: Array) -> Array:
        family = self.model.family
        assert isinstance(family, Categorical)
        # A missing cell's one-hot segment stays zero: it makes no row closer to another.
        missing = np.isnan(X)
        one_hot = family.sufficient_statistics(np.where(missing, 0.0, X))
        one_hot[missing[:, family.feature_of_stats(X.shape[1])]] = 0.0
        return one_hot


class CategoricalMixture(CodedMixture["_Columns", list[Array]]):
    """Mixture of independent categorical features (latent class analysis), fitted by EM.

    Parameters
    ----------
    n_components : int, default 1
        The number of latent classes.
    pseudo_count : float, default 0.01
        Pseudo-observations of a symmetric Dirichlet prior per feature and class, spread over the
        feature's levels (see [`Categorical`][emkit.families.Categorical]): every probability
        stays positive.
    tol, max_iter, n_init, random_state, warm_start, verbose, verbose_interval
        As for [`GaussianMixture`][emkit.estimators.GaussianMixture].
    init_params : str, default "kmeans"
        One of [`emkit.init.init_methods`][emkit.init.init_methods]() or ``"emEM"``. The
        data-driven methods run on the one-hot code of the rows (so k-means clusters by how many
        features two rows share, never by the arbitrary order of the codes); the starting
        classes are then numbered by decreasing size, and the fitted classes keep that order.
    weights_init : array of shape (n_components,), optional
    means_init : array of shape (n_components, sum_d L_d), optional
        Starting level probabilities in the family's layout
        ([`Categorical`][emkit.families.Categorical]: feature 0's levels, then feature 1's, ...).
    weight_concentration : float, default 1.0
        Symmetric Dirichlet prior (>= 1) on the weights; 1 is none.
    missing : {"error", "marginalise"}, default "error"
        What a missing cell (None, NaN, pandas' NA) is: a mistake (refused, naming its row and
        column) or an answer missing at random, integrated out exactly; ``impute`` then fills
        each with its most probable level.

    Attributes
    ----------
    weights_ : array of shape (n_components,)
    probabilities_ : list of n_features arrays, the d-th of shape (n_components, L_d)
        ``probabilities_[d][k, l] = P(x_d = categories_[d][l] | class k)``; rows sum to 1.
    categories_ : list of n_features arrays, the d-th of shape (L_d,)
        The levels of every column, sorted (dtype object for strings, else bool, int64 or
        float64). After ``emkit.load`` of a file without them, the codes ``0 .. L_d - 1``.
    n_levels_ : int array of shape (n_features,)
        ``L_d``, the number of levels of every column.
    converged_, n_iter_, lower_bound_, lower_bounds_, n_features_in_, feature_names_in_, result_
        As for [`BernoulliMixture`][emkit.estimators.BernoulliMixture]. ``result_`` is the fit of
        the [`Categorical`][emkit.families.Categorical] mixture to the codes.

    Notes
    -----
    Every column needs at least two levels in the training data (a constant column carries no
    information about the classes: drop it). The number of free parameters (``bic``, ``aic``)
    is ``(n_components - 1) + n_components * sum_d (L_d - 1)``.

    The estimator follows scikit-learn's API (``get_params``, ``set_params``, ``clone``), but
    scikit-learn's ``check_estimator`` feeds continuous data, which this estimator reads as
    one level per distinct value; it is not a target for nominal data. Rows must be in memory
    (an array, nested lists or a DataFrame): levels are learned from all of them.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        pseudo_count: float = 0.01,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        means_init: Any = None,
        weight_concentration: float = 1.0,
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        missing: str = "error",
    ) -> None:
        self.n_components = n_components
        self.pseudo_count = pseudo_count
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.weight_concentration = weight_concentration
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.missing = missing

    # -- the family ----------------------------------------------------------------------------
    _placeholder_levels: ClassVar[int] = 2
    _start_type = _OneHotStart
    n_levels_: Array
    categories_: list[Array]

    def _build_family(self) -> Categorical:
        categories = self._coding_in_fit()
        if categories is not None:
            levels: tuple[int, ...] | None = tuple(int(level.shape[0]) for level in categories)
        else:
            fitted = getattr(self, "n_levels_", None)
            levels = None if fitted is None else tuple(int(n) for n in fitted)
        # Before any fit the levels are unknown: the settings are checked with two levels.
        return Categorical(
            self._placeholder_levels if levels is None else levels,
            pseudo_count=self.pseudo_count,
        )

    def _weight_concentration(self) -> Any:
        return self.weight_concentration

    def _start_params(self, model: FiniteMixture[Any, Any], n_features: int) -> dict[str, Any]:
        family = model.family
        assert isinstance(family, Categorical)
        n_stats = int(family.levels(n_features).sum())
        return canonical_start(self.weights_init, self.means_init, model, n_stats)

    def _component_attributes(
        self, model: FiniteMixture[Any, Any], components: MeanParams
    ) -> dict[str, Any]:
        family = model.family
        assert isinstance(family, Categorical)
        mean = np.asarray(components.mean)
        levels = family._levels_of_stats(mean.shape[1])
        edges = np.cumsum(levels)[:-1]
        return {
            "probabilities_": np.split(mean, edges, axis=1),
            "n_levels_": levels.astype(np.intp),
        }

    # -- levels and codes ----------------------------------------------------------------------
    def _read_table(self, X: Any) -> _Columns:
        columns = _columns(X)
        names = feature_names(X)
        return _Columns(
            columns,
            [
                f"column {d}" if names is None else f"column {d} ({names[d]!r})"
                for d in range(len(columns))
            ],
        )

    def _learn_coding(self, table: _Columns) -> list[Array]:
        allow = self._allows_missing()
        return [
            learn_levels(column, _missing(column, where, allow), where, _TWO_LEVELS)
            for column, where in zip(table.columns, table.labels, strict=True)
        ]

    def _encode(self, coding: list[Array], table: _Columns) -> Array:
        allow = self._allows_missing()
        return np.column_stack(
            [
                encode_levels(column, _missing(column, where, allow), levels, where)
                for column, levels, where in zip(table.columns, coding, table.labels, strict=True)
            ]
        )

    def _fitted_coding(self) -> list[Array]:
        return self.categories_

    # -- fitting -------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        labels: Any = None,
        sample_weight: Any = None,
        groups: Any = None,
    ) -> CategoricalMixture:
        """Learn the levels of every column, then fit the mixture to their codes by EM.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Strings, integers, booleans or finite numbers (one kind per column).
        y : ignored
        labels : int array-like of shape (n_samples,), optional
            A known class for some rows and -1 for the rest (semi-supervised EM).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative row weights.
        groups : array-like of shape (n_samples,), optional
            Ids of groups of consecutive rows that share one class (a respondent's repeated
            answers); see [`MixtureEstimator.fit`][emkit.estimators.MixtureEstimator.fit].

        Returns
        -------
        self

        Raises
        ------
        ValueError
            If a value is missing, a column mixes kinds of value or has a single level.
        """
        self._fit(X, labels, sample_weight, groups)
        return self

    def restore_fit(self, result: Any, feature_names: Array | None = None) -> None:
        """Set every fitted attribute from a FitResult (used by ``fit`` and by ``emkit.load``).

        ``categories_`` are the levels being fitted, or else the codes ``0 .. L_d - 1`` (a
        loaded file's levels are restored by
        [`restore_fitted_state`][emkit.estimators.categorical.CategoricalMixture.restore_fitted_state]).
        """
        super().restore_fit(result, feature_names)
        categories = self._coding_in_fit()
        if categories is None:
            categories = [np.arange(int(n), dtype=np.int64) for n in self.n_levels_]
        self.categories_ = categories

    # -- the fitted levels in a saved file -----------------------------------------------------
    def fitted_state(self) -> dict[str, Any]:
        """The learned levels as JSON values, for ``emkit.save``.

        Returns
        -------
        state : dict
            ``{"categories": [[level, ...], ...]}`` (one list per column, of str, bool, int or
            float) and ``{"kinds": [...]}`` naming each column's kind.
        """
        self.fitted_result()
        categories = [level.tolist() for level in self.categories_]
        kinds = [level_kind(level) for level in self.categories_]
        return {"categories": categories, "kinds": kinds}

    def restore_fitted_state(self, state: Mapping[str, Any]) -> None:
        """Restore the levels that ``fitted_state`` wrote (``emkit.load`` calls it after
        ``restore_fit``).

        Raises
        ------
        ValueError
            If the state does not name ``n_levels_[d]`` distinct sorted levels of one kind for
            every column.
        """
        self.fitted_result()
        if not isinstance(state, Mapping) or set(state) != {"categories", "kinds"}:
            raise ValueError(
                "the state of a CategoricalMixture must be {'categories': [...], 'kinds': [...]}; "
                f"got {state!r}"
            )
        raw, kinds = state["categories"], state["kinds"]
        n = self.n_levels_.shape[0]
        if not (isinstance(raw, list) and isinstance(kinds, list) and len(raw) == len(kinds) == n):
            raise ValueError(
                f"`categories` and `kinds` must be lists of {n} entries (one per column); "
                f"got {raw!r} and {kinds!r}"
            )
        self.categories_ = [
            restore_levels(values, kind, int(self.n_levels_[d]), f"`categories[{d}]`")
            for d, (values, kind) in enumerate(zip(raw, kinds, strict=True))
        ]

    # -- using the fitted model ----------------------------------------------------------------
    def impute(self, X: Any, groups: Any = None) -> Array:
        """``X`` with every missing cell (None, NaN) filled in with its most probable level
        given the row's observed cells, ``argmax_l sum_k p(k | x_obs) P(x_d = l | k)``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), optional

        Returns
        -------
        X_imputed : array of shape (n_samples, n_features)
            Levels, of their dtype when every column has the same one, else dtype object.
        """
        codes = super().impute(X, groups)
        return self._levels_of(codes)

    def sample(self, n_samples: int = 1) -> tuple[Array, Array]:
        """Draw ``n_samples`` rows from the fitted mixture, as levels.

        Returns
        -------
        X : array of shape (n_samples, n_features)
            The levels of ``categories_``: of their dtype when every column has the same one,
            else dtype object.
        y : int array of shape (n_samples,)
            The class each row was drawn from, in draw order.
        """
        codes, y = super().sample(n_samples)
        return self._levels_of(codes), y

    def _levels_of(self, codes: Array) -> Array:
        index = codes.astype(np.intp)
        dtypes = {level.dtype for level in self.categories_}
        dtype = dtypes.pop() if len(dtypes) == 1 else np.dtype(object)
        X = np.empty(index.shape, dtype=dtype)
        for d, level in enumerate(self.categories_):
            X[:, d] = level[index[:, d]]
        return X


# -- levels and codes --------------------------------------------------------------------------
@final
@attrs.frozen(eq=False)
class _Columns:
    """The columns of ``X`` as 1-D arrays, and each in words for messages."""

    columns: list[Array]
    labels: list[str]


def _columns(X: Any) -> list[Array]:
    """The columns of ``X`` as 1-D arrays (a DataFrame through ``to_numpy``)."""
    if hasattr(X, "columns") and hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        arr = np.asarray(X.to_numpy(dtype=object))
    else:
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError):
            check_x(X, "CategoricalMixture")  # its message explains what is not rectangular
            raise
    if arr.ndim != 2:
        raise ValueError(
            f"`X` must be a 2-D array of levels (n_samples, n_features); got shape {arr.shape}"
        )
    if arr.shape[1] == 0 or arr.shape[0] == 0:
        raise ValueError(f"`X` must have at least one row and one column; got shape {arr.shape}")
    if arr.dtype.kind in "SU":
        arr = arr.astype(str).astype(object)
    elif arr.dtype.kind == "c":
        raise ValueError(f"`X` must hold levels, not complex numbers; got dtype {arr.dtype}")
    elif arr.dtype.kind not in "biufO":
        raise TypeError(f"`X` must hold strings, integers, booleans or numbers; got {arr.dtype}")
    return [arr[:, d] for d in range(arr.shape[1])]


def _missing(column: Array, where: str, allow_missing: bool) -> Array:
    """The missing cells of a column (None, NaN, pandas' NA): refused with their row unless
    ``allow_missing``; an infinity is never a level."""
    missing = missing_cells(column)
    if column.dtype.kind == "f":
        bad = ~np.isfinite(column) & ~(missing & allow_missing)
        if bad.any():
            row = first_row(bad)
            raise ValueError(
                f"`X` {where} has a missing or infinite value {column[row]} at row {row}; "
                "CategoricalMixture needs a level in every cell, unless missing='marginalise'"
            )
    elif missing.any() and not allow_missing:
        row = first_row(missing)
        raise ValueError(
            f"`X` {where} has a missing value {column[row]!r} at row {row}; "
            "CategoricalMixture needs a level in every cell, unless missing='marginalise'"
        )
    return missing
