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

import numbers
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_missing_choice
from emkit.estimators.base import MixtureEstimator, StartFromData
from emkit.estimators.counts import canonical_start
from emkit.estimators.inputs import check_feature_names, check_x, feature_names
from emkit.families import Categorical, MeanParams
from emkit.init import initial_responsibilities
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.starts import model_start

__all__ = ["CategoricalMixture"]

#: The kinds of level a column may hold, by numpy dtype kind.
_KINDS = {"U": "string", "b": "boolean", "i": "integer", "f": "number"}


class CategoricalMixture(MixtureEstimator):
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
    n_levels_: Array
    categories_: list[Array]

    def _build_family(self) -> Categorical:
        levels = getattr(self, "_levels_for_fit", None)
        if levels is None:
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

    def _initializer(
        self,
        model: FiniteMixture[Any, Any],
        data: Array,
        n_features: int,
        method: str,
        weights: Array | None,
    ) -> Any:
        if model_start(method) is not None:
            return super()._initializer(model, data, n_features, method, weights)
        given = self._start_params(model, n_features)
        if set(given) == {"weights", "components"}:
            return MixtureParams(given["weights"], given["components"])
        return _OneHotStart(model, data, method, weights, given)

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
        columns = _columns(X)
        allow = self._allows_missing()
        categories = [_levels(column, d, _name(X, d), allow) for d, column in enumerate(columns)]
        codes = _encode(columns, categories, X, allow)
        self._run_with_levels(
            categories, lambda: self._fit(_Coded(codes, X), labels, sample_weight, groups)
        )
        return self

    def fit_predict(
        self,
        X: Any,
        y: Any = None,
        *,
        labels: Any = None,
        sample_weight: Any = None,
        groups: Any = None,
    ) -> Array:
        """Fit, then return the most probable class of every row, shape (n_samples,)."""
        self.fit(X, labels=labels, sample_weight=sample_weight, groups=groups)
        return self.predict(X, groups=groups)

    def partial_fit(
        self, X: Any, y: Any = None, *, sample_weight: Any = None
    ) -> CategoricalMixture:
        """One step of online EM on the mini-batch ``X`` (see
        [`MixtureEstimator.partial_fit`][emkit.estimators.MixtureEstimator.partial_fit]).

        The levels are those of an earlier ``fit`` (or of the first batch): every later batch
        must use only them.
        """
        fitted = getattr(self, "categories_", None)
        columns = _columns(X)
        if fitted is None or not hasattr(self, "result_"):
            categories = [
                _levels(column, d, _name(X, d), self._allows_missing())
                for d, column in enumerate(columns)
            ]
        else:
            categories = list(fitted)
        codes = _encode(columns, categories, X, self._allows_missing())
        self._run_with_levels(
            categories,
            lambda: MixtureEstimator.partial_fit(
                self, _Coded(codes, X), sample_weight=sample_weight
            ),
        )
        return self

    def _run_with_levels(self, categories: list[Array], run: Any) -> None:
        self._levels_for_fit = tuple(int(level.shape[0]) for level in categories)
        self._categories_for_fit = categories
        try:
            run()
        finally:
            del self._levels_for_fit
            self.__dict__.pop("_categories_for_fit", None)

    def restore_fit(self, result: Any, feature_names: Array | None = None) -> None:
        """Set every fitted attribute from a FitResult (used by ``fit`` and by ``emkit.load``).

        ``categories_`` are the levels being fitted, or else the codes ``0 .. L_d - 1`` (a
        loaded file's levels are restored by
        [`restore_fitted_state`][emkit.estimators.categorical.CategoricalMixture.restore_fitted_state]).
        """
        super().restore_fit(result, feature_names)
        categories = self.__dict__.pop("_categories_for_fit", None)
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
        kinds = [_KINDS[_kind(level)] for level in self.categories_]
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
        dtypes = {"string": object, "boolean": np.bool_, "integer": np.int64, "number": np.float64}
        categories = []
        for d, (values, kind) in enumerate(zip(raw, kinds, strict=True)):
            if kind not in dtypes or not isinstance(values, list):
                raise ValueError(f"`categories[{d}]` of kind {kind!r} is not valid: {values!r}")
            if {_value_kind(v) for v in values} - (
                {"integer", "number"} if kind == "number" else {kind}
            ):
                raise ValueError(f"`categories[{d}]` must hold {kind} levels; got {values!r}")
            level = np.empty(len(values), dtype=object)
            level[:] = values
            level = level if kind == "string" else level.astype(dtypes[kind])
            if level.shape[0] != int(self.n_levels_[d]):
                raise ValueError(
                    f"`categories[{d}]` must hold {int(self.n_levels_[d])} {kind} levels; "
                    f"got {values!r}"
                )
            if level.shape[0] > 1 and not bool(np.all(level[1:] > level[:-1])):
                raise ValueError(f"`categories[{d}]` must be sorted and distinct; got {values!r}")
            categories.append(level)
        self.categories_ = categories

    # -- using the fitted model ----------------------------------------------------------------
    def _check_predict_x(self, X: Any) -> tuple[Any, FiniteMixture[Any, Any], Array]:
        result = self.fitted_result()
        check_feature_names(getattr(self, "feature_names_in_", None), X, type(self).__name__)
        columns = _columns(X)
        if len(columns) != result.n_features:
            raise ValueError(
                f"X has {len(columns)} features, but {type(self).__name__} is expecting "
                f"{result.n_features} features as input."
            )
        codes = _encode(columns, self.categories_, X, self._allows_missing())
        mixture = result.model
        assert isinstance(mixture, FiniteMixture)
        mixture = attrs.evolve(mixture, missing=self.missing)
        mixture.validate_data(codes)
        return result, mixture, codes

    def _allows_missing(self) -> bool:
        return check_missing_choice(self.missing) == "marginalise"

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
        codes = MixtureEstimator.impute(self, X, groups)
        return self._levels_of(codes)

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on ``X``: ``-2 L + p log n`` (lower is better)."""
        log_prob = self.score_samples(X)
        return -2.0 * float(log_prob.sum()) + self._n_parameters() * float(
            np.log(log_prob.shape[0])
        )

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


class _OneHotStart(StartFromData):
    """``init_params`` run on the one-hot code of the rows, classes numbered by decreasing size."""

    def __call__(self, sample: Array, rng: np.random.Generator) -> MixtureParams[Any]:
        X = self.data if isinstance(self.data, np.ndarray) else sample
        weights = self.weights if isinstance(self.data, np.ndarray) else None
        family = self.model.family
        assert isinstance(family, Categorical)
        # A missing cell's one-hot segment stays zero: it makes no row closer to another.
        missing = np.isnan(X)
        one_hot = family.sufficient_statistics(np.where(missing, 0.0, X))
        one_hot[missing[:, family.feature_of_stats(X.shape[1])]] = 0.0
        resp = initial_responsibilities(one_hot, self.model.n_components, self.method, rng, weights)
        sizes = resp.sum(axis=0) if weights is None else weights @ resp
        resp = resp[:, np.argsort(-sizes, kind="stable")]
        start = self.model.params_from_responsibilities(X, resp, weights)
        return MixtureParams(
            self.given.get("weights", start.weights),
            self.given.get("components", start.components),
        )


# -- levels and codes --------------------------------------------------------------------------
class _Coded:
    """The codes of ``X`` with ``X``'s column names: what the shared machinery fits and checks."""

    def __init__(self, codes: Array, X: Any) -> None:
        self.codes = codes
        self.columns = getattr(X, "columns", None)

    def to_numpy(self) -> Array:
        return self.codes


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


def _name(X: Any, d: int) -> str:
    names = feature_names(X)
    return f"column {d}" if names is None else f"column {d} ({names[d]!r})"


def _kind(level: Array) -> str:
    kind = level.dtype.kind
    return "U" if kind == "O" else "i" if kind == "u" else kind


def _typed(column: Array, where: str) -> Array:
    """A column as object (strings), bool, int64 or float64; missing values refused."""
    if column.dtype != object:
        if column.dtype.kind == "f" and not np.isfinite(column).all():
            row = int(np.argmax(~np.isfinite(column)))
            raise ValueError(
                f"`X` {where} has a missing or infinite value {column[row]} at row {row}; "
                "CategoricalMixture needs a level in every cell, unless missing='marginalise'"
            )
        return column.astype(np.int64) if column.dtype.kind in "iu" else column
    try:
        distinct = np.unique(column)
    except TypeError:  # values that do not compare: the error path may look at every row
        distinct = np.asarray(sorted({_value_kind(v) for v in column}), dtype=object)
        _refuse_missing(column, set(distinct.tolist()), where)
        raise ValueError(
            f"`X` {where} must hold one kind of level (strings, integers, booleans or numbers); "
            f"it holds {', '.join(distinct.tolist())}"
        ) from None
    types = {_value_kind(v) for v in distinct}
    _refuse_missing(column, types, where)
    if len(types) > 1 and types != {"integer", "number"}:
        raise ValueError(
            f"`X` {where} must hold one kind of level (strings, integers, booleans or numbers); "
            f"it holds {', '.join(sorted(types))}"
        )
    if types == {"string"}:
        return column
    if types == {"boolean"}:
        return column.astype(np.bool_)
    if types == {"integer"}:
        return column.astype(np.int64)
    return column.astype(np.float64)


def _refuse_missing(column: Array, kinds: set[str], where: str) -> None:
    if "missing" in kinds:
        row = int(np.argmax([_value_kind(v) == "missing" for v in column]))
        raise ValueError(
            f"`X` {where} has a missing value {column[row]!r} at row {row}; "
            "CategoricalMixture needs a level in every cell, unless missing='marginalise'"
        )


def _value_kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, numbers.Integral):
        return "integer"
    if isinstance(value, numbers.Real) and np.isfinite(float(value)):
        return "number"
    return "missing"


def _missing_cells(column: Array) -> Array:
    """Which cells are missing values: None, NaN or pandas' NA (not infinities)."""
    if column.dtype.kind == "f":
        return np.isnan(column)
    if column.dtype != object:
        return np.zeros(column.shape, dtype=bool)
    return np.array(
        [
            v is None
            or type(v).__name__ == "NAType"
            or (isinstance(v, float | np.floating) and np.isnan(v))
            for v in column
        ],
        dtype=bool,
    )


def _levels(column: Array, d: int, where: str, allow_missing: bool = False) -> Array:
    """The sorted distinct levels of one column (at least two), missing cells left out when
    they are allowed."""
    if allow_missing:
        present = ~_missing_cells(column)
        if not present.any():
            raise ValueError(f"`X` {where} has no observed value; drop the column")
        column = column[present]
    levels = np.unique(_typed(column, where))
    if levels.shape[0] < 2:
        raise ValueError(
            f"`X` {where} has a single level {levels.tolist()[0]!r}; every feature of a "
            "CategoricalMixture needs at least 2 levels (drop a constant column)"
        )
    return levels


def _encode(
    columns: list[Array], categories: list[Array], X: Any, allow_missing: bool = False
) -> Array:
    """The codes (float64, n_samples x n_features) of the columns' values in ``categories``;
    NaN for a missing cell when they are allowed."""
    codes = np.full((columns[0].shape[0], len(columns)), np.nan)
    for d, (full_column, levels) in enumerate(zip(columns, categories, strict=True)):
        where = _name(X, d)
        present = ~_missing_cells(full_column) if allow_missing else slice(None)
        column = full_column[present]
        if column.shape[0] == 0:
            continue
        values = _typed(column, where)
        if (_kind(values) == "U") != (_kind(levels) == "U"):
            raise ValueError(
                f"`X` {where} holds {_KINDS[_kind(values)]} values such as "
                f"{values.tolist()[0]!r}, but its levels seen in fit are "
                f"{_KINDS[_kind(levels)]}s: {levels.tolist()!r}"
            )
        index = np.minimum(np.searchsorted(levels, values), levels.shape[0] - 1)
        unseen = levels[index] != values
        rows = np.arange(full_column.shape[0])[present]
        if unseen.any():
            first = int(np.argmax(unseen))
            raise ValueError(
                f"`X` {where} holds the level {values.tolist()[first]!r} at row "
                f"{int(rows[first])}, which was not seen in fit; the levels are "
                f"{levels.tolist()!r}"
            )
        codes[rows, d] = index
    return codes
