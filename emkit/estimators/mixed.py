"""Mixed-type tables: [`MixedMixture`][emkit.estimators.mixed.MixedMixture], a mixture whose columns
follow different families (measurements, yes/no answers, counts, categories).

Within a component the columns are independent blocks, each with its own family (a
[`Product`][emkit.families.product.Product]): every Gaussian column together in one Gaussian
block (diagonal covariance unless ``covariance_type`` says otherwise), Bernoulli columns in one
Bernoulli block, Poisson columns in one Poisson block, categorical columns in one
[`Categorical`][emkit.families.Categorical] block whose levels are learned from the data.

The dtype rule ([`infer_column_families`][emkit.estimators.mixed.infer_column_families])
    A column not named in ``column_families`` gets its family from its dtype:

    * floating point: ``"gaussian"`` (an integer column with missing values that pandas read as
      float64 too: convert it with ``astype("Int64")`` or name it in ``column_families``);
    * boolean (numpy ``bool``, pandas ``"boolean"``): ``"bernoulli"``;
    * integer (numpy or pandas' nullable ``"Int64"``): ``"bernoulli"`` when its observed values
      are all 0 or 1 (an indicator), else ``"poisson"`` (counts; a negative value is an error
      that says which family to name instead);
    * category, string or object of strings: ``"categorical"``;
    * object columns of Python values by what they hold: booleans ``"bernoulli"``, integers as
      integer columns, other numbers ``"gaussian"``, strings ``"categorical"`` (one kind per
      column).

Levels and codes
    A categorical column's levels are its distinct observed values, sorted (``categories_``);
    the mixture is fitted to their codes ``0 .. L - 1`` and every method maps its rows through
    the same levels (an unseen level is an error naming the column and the value). ``sample``
    and ``impute`` map codes back to levels.

Missing values
    ``None``, NaN and pandas' NA are missing cells. With ``missing="error"`` (the default) they
    are refused, naming the column and row; with ``missing="marginalise"`` they are values
    missing at random, integrated out exactly by every family, and ``impute`` fills them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, final

import attrs
import numpy as np

from emkit import registry
from emkit._backend import Array
from emkit._validation import check_choice
from emkit.estimators.coded import CodedMixture, SizeOrderedStart
from emkit.estimators.columns import (
    FAMILY_NAMES,
    ColumnLayout,
    ColumnTable,
    check_column_families,
    infer_column_families,
    layout_of_model,
    learn_layout,
    product_of,
    read_table,
    text_family,
)
from emkit.estimators.inputs import check_weights_init
from emkit.families import COVARIANCE_TYPES, Bernoulli, Categorical, Gaussian, Poisson
from emkit.families.product import Product, ProductParams
from emkit.mixture import FiniteMixture
from emkit.registry import register_estimator

__all__ = ["FAMILY_NAMES", "MixedMixture", "infer_column_families", "text_family"]

#: How a one-hot code is scaled in the start's k-means: a row that differs from another in one
#: categorical column is as far from it as one standard deviation of a numeric column.
_ONE_HOT_SCALE = float(np.sqrt(0.5))

#: The smallest standard deviation a column is scaled by in the start (a constant column).
_START_SD_FLOOR = 1e-12


# -- the start -----------------------------------------------------------------------------------
@final
class _ScaledStart(SizeOrderedStart):
    """``init_params`` on standardised numeric columns and one-hot categorical ones (missing
    cells at the column mean)."""

    def features(self, X: Array) -> Array:
        family = self.model.family
        assert isinstance(family, Product)
        return _start_features(X, family)


def _start_features(X: Array, family: Product) -> Array:
    """The columns the start clusters on: z-scores of numeric columns, scaled one-hot codes of
    categorical ones; a missing cell contributes 0 (its column's mean)."""
    blocks = []
    for (part, columns), block in zip(family.parts, family.columns_of(X), strict=True):
        missing = np.isnan(block)
        if isinstance(part, Categorical):
            levels = part.levels(len(columns))
            for i in range(len(columns)):
                codes = np.where(missing[:, i], 0, block[:, i]).astype(np.intp)
                one_hot = np.eye(int(levels[i]))[codes]
                one_hot[missing[:, i]] = np.nan
                centred = one_hot - np.nanmean(one_hot, axis=0)
                blocks.append(_ONE_HOT_SCALE * np.where(np.isnan(centred), 0.0, centred))
            continue
        mean = np.nanmean(block, axis=0)
        sd = np.maximum(np.nanstd(block, axis=0), _START_SD_FLOOR)
        blocks.append(np.where(missing, 0.0, (block - mean) / sd))
    return np.hstack(blocks)


# -- the estimator -------------------------------------------------------------------------------
class MixedMixture(CodedMixture[ColumnTable, ColumnLayout]):
    """Mixture of mixed-type data: a family per column, independent within a component.

    Parameters
    ----------
    n_components : int, default 1
    column_families : dict, optional
        Column name (a DataFrame) or position (0-based; also for a DataFrame) to a family: one
        of [`FAMILY_NAMES`][emkit.estimators.mixed.FAMILY_NAMES] (``"gaussian"``,
        ``"bernoulli"``, ``"poisson"``, ``"categorical"``, any case) or a family instance (e.g.
        ``Gaussian("full")``: columns given equal instances form one block, so a full covariance
        spans them; ``Categorical(L)`` reads a column of codes ``0 .. L - 1``). Columns not
        named get their family by the dtype rule
        ([`infer_column_families`][emkit.estimators.mixed.infer_column_families]).
    covariance_type : {"full", "tied", "diag", "spherical"}, default "diag"
        Of the block of columns named (or inferred) ``"gaussian"``.
    reg_covar : float, default 1e-6
        Added to the Gaussian block's variances.
    pseudo_count : float, default 0.01
        The prior's pseudo-observations of the Bernoulli and categorical blocks (see
        [`Bernoulli`][emkit.families.Bernoulli], [`Categorical`][emkit.families.Categorical]):
        every probability stays inside (0, 1).
    tol, max_iter, n_init, random_state, warm_start, verbose, verbose_interval
        As for [`GaussianMixture`][emkit.estimators.GaussianMixture].
    init_params : str, default "kmeans"
        One of [`emkit.init.init_methods`][emkit.init.init_methods]() or ``"emEM"``. The
        data-driven methods run on standardised numeric columns and one-hot categorical
        columns (missing cells at the column mean), so no column dominates by its units; the
        starting components are numbered by decreasing size.
    weights_init : array of shape (n_components,), optional
    weight_concentration : float, default 1.0
        Symmetric Dirichlet prior (>= 1) on the weights; 1 is none.
    missing : {"error", "marginalise"}, default "error"
        What a missing cell (None, NaN, pandas' NA) is: refused, naming its column and row, or
        a value missing at random, integrated out exactly (``impute`` fills it in).

    Attributes
    ----------
    column_families_ : dict
        Column name (or position) to its family: a name of ``FAMILY_NAMES``, or the registered
        name of the family instance given for it.
    categories_ : dict
        Column name (or position) to its sorted levels, for every categorical column.
    parts_ : list of dict
        The fitted parameters of every block, readable: ``"family"`` and ``"columns"`` (names),
        then ``"means"`` and ``"covariances"`` (Gaussian, shapes as
        [`GaussianMixture`][emkit.estimators.GaussianMixture]'s for the block's columns),
        ``"probabilities"`` (Bernoulli: (n_components, n_columns), the probability of a 1 or
        ``True``), ``"rates"`` (Poisson: (n_components, n_columns)), or ``"probabilities"`` and
        ``"levels"`` (categorical: one (n_components, L) array and one levels array per column);
        another family's parameter fields under their own names.
    weights_ : array of shape (n_components,)
    n_features_in_ : int
    feature_names_in_ : array of str
        The column names of a DataFrame whose names are all strings.
    converged_, n_iter_, lower_bound_, lower_bounds_, result_
        As for [`GaussianMixture`][emkit.estimators.GaussianMixture]. ``result_`` is the fit of
        the [`Product`][emkit.families.product.Product] mixture to the columns' numbers (level
        codes for categorical columns).

    Notes
    -----
    The number of free parameters (``bic``, ``aic``) is ``n_components - 1`` plus every block's
    own count. Rows must be in memory (a DataFrame, an array or nested lists): levels are
    learned from all of them.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        column_families: Any = None,
        covariance_type: str = "diag",
        reg_covar: float = 1e-6,
        pseudo_count: float = 0.01,
        tol: float = 1e-3,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: Any = None,
        weight_concentration: float = 1.0,
        missing: str = "error",
        random_state: Any = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
    ) -> None:
        self.n_components = n_components
        self.column_families = column_families
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.pseudo_count = pseudo_count
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.weight_concentration = weight_concentration
        self.missing = missing
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval

    column_families_: dict[Any, str]
    categories_: dict[Any, Array]
    parts_: list[dict[str, Any]]

    _start_type = _ScaledStart

    # -- the family ----------------------------------------------------------------------------
    def _settings_family(self) -> Product:
        """A product with the estimator's Gaussian, Bernoulli and categorical settings (they are
        checked by the families' own constructors)."""
        check_choice(self.covariance_type, "covariance_type", COVARIANCE_TYPES)
        return product_of(
            ("gaussian", "bernoulli", "categorical"),
            (None, None, np.arange(2)),
            self.covariance_type,
            self.reg_covar,
            self.pseudo_count,
        )

    def _build_family(self) -> Product:
        layout = self._coding_in_fit() or self.__dict__.get("_fitted_layout")
        if layout is not None:
            return layout.product
        return self._settings_family()

    def _weight_concentration(self) -> Any:
        return self.weight_concentration

    def validate_settings(self) -> None:
        """Check every constructor parameter (``ValueError``/``TypeError`` naming the bad one)."""
        self._settings_family()
        check_column_families(self.column_families)
        super().validate_settings()

    def _start_params(self, model: FiniteMixture[Any, Any], n_features: int) -> dict[str, Any]:
        if self.weights_init is None:
            return {}
        return {"weights": check_weights_init(self.weights_init, model.n_components)}

    def _component_attributes(
        self, model: FiniteMixture[Any, Any], components: Any
    ) -> dict[str, Any]:
        return {}  # set with the columns' names by restore_fit

    # -- the columns ---------------------------------------------------------------------------
    def _read_table(self, X: Any) -> ColumnTable:
        return read_table(X)

    def _learn_coding(self, table: ColumnTable) -> ColumnLayout:
        """The columns' families (``column_families``, else the dtype rule) and levels."""
        return learn_layout(
            table, self.column_families, self.covariance_type, self.reg_covar, self.pseudo_count
        )

    def _encode(self, coding: ColumnLayout, table: ColumnTable) -> Array:
        return coding.encode(table, self._allows_missing())

    def _fitted_coding(self) -> ColumnLayout:
        layout: ColumnLayout = self._fitted_layout
        return layout

    # -- fitting -------------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        labels: Any = None,
        sample_weight: Any = None,
        groups: Any = None,
    ) -> MixedMixture:
        """Choose every column's family, learn the categorical levels, then fit by EM.

        Parameters
        ----------
        X : DataFrame, array or nested lists of shape (n_samples, n_features)
        y : ignored
        labels : int array-like of shape (n_samples,), optional
            A known component for some rows and -1 for the rest (semi-supervised EM).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative row weights.
        groups : array-like of shape (n_samples,), optional
            Ids of groups of rows that share one component (see
            [`MixtureEstimator.fit`][emkit.estimators.MixtureEstimator.fit]).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For an unknown family name or column, a value outside its column's family (a
            negative count, text in a numeric column), a missing cell with
            ``missing="error"``, or a categorical column with a single level.
        TypeError
            For a ``column_families`` value that is neither a name nor a family instance.
        """
        self._fit(X, labels, sample_weight, groups)
        return self

    def restore_fit(self, result: Any, feature_names: Array | None = None) -> None:
        """Set every fitted attribute from a FitResult (used by ``fit`` and by ``emkit.load``).

        The columns are those being fitted, or else (a loaded file, before
        [`restore_fitted_state`][emkit.estimators.mixed.MixedMixture.restore_fitted_state])
        named by position with the codes ``0 .. L - 1`` as levels.
        """
        super().restore_fit(result, feature_names)
        layout = self._coding_in_fit()
        self._fitted_layout = layout_of_model(result.model) if layout is None else layout
        self._set_readable()

    def _set_readable(self) -> None:
        layout = self._fitted_coding()
        result = self.fitted_result()
        self.column_families_ = dict(zip(layout.keys, layout.family_names(), strict=True))
        self.categories_ = {
            key: levels
            for key, levels in zip(layout.keys, layout.categories, strict=True)
            if levels is not None
        }
        self.parts_ = _readable_parts(layout, result.params.components)

    # -- the fitted columns in a saved file ----------------------------------------------------
    def fitted_state(self) -> dict[str, Any]:
        """The columns' names, families, levels and dtypes as JSON values, for ``emkit.save``.

        Returns
        -------
        state : dict
            ``columns`` (names or positions), ``families`` (as ``column_families_``),
            ``categories`` (a list of levels, or null, per column), ``kinds`` (the kind of each
            column's levels, or null), ``dtypes`` (a DataFrame's column dtypes, or null),
            ``frame`` and ``array_dtype``.
        """
        self.fitted_result()
        return self._fitted_coding().state()

    def restore_fitted_state(self, state: Mapping[str, Any]) -> None:
        """Restore what ``fitted_state`` wrote (``emkit.load`` calls it after ``restore_fit``).

        Raises
        ------
        ValueError
            If the state does not describe the fitted model's columns.
        """
        self.fitted_result()
        self._fitted_layout = self._fitted_coding().restored(state)
        self._set_readable()

    # -- using the fitted model ----------------------------------------------------------------
    def impute(self, X: Any, groups: Any = None) -> Any:
        """``X`` with every missing cell filled in (needs ``missing="marginalise"``).

        A Gaussian, Bernoulli or Poisson cell gets its posterior mean ``E[x | x_obs]`` (for a
        Bernoulli column the probability of a 1, for a Poisson column a mean count: such a
        column comes back as floats), a categorical cell its most probable level.

        Parameters
        ----------
        X : DataFrame, array or nested lists of shape (n_samples, n_features)
        groups : array-like of shape (n_samples,), optional
            Ids of groups of rows that share one component (as for ``fit``).

        Returns
        -------
        X_imputed : DataFrame or array
            A DataFrame for a DataFrame (a copy), else an array; observed cells unchanged.
        """
        filled = super().impute(X, groups=groups)
        return self._fitted_coding().filled(X, read_table(X), filled)

    def sample(self, n_samples: int = 1) -> tuple[Any, Array]:
        """Draw ``n_samples`` rows from the fitted mixture.

        Returns
        -------
        X : DataFrame or array of shape (n_samples, n_features)
            A DataFrame with the fitted columns' names and dtypes (categorical columns as their
            levels) when fitted on one, else an array: of the fitted array's dtype when every
            value fits it, else dtype object.
        y : int array of shape (n_samples,)
            The component each row was drawn from, in draw order.
        """
        codes, y = super().sample(n_samples)
        return self._fitted_coding().as_table(codes), y

    def summary(self) -> str:
        """The fitted model as text: the weights, then every column (row) in every component
        (column): a Gaussian column's mean and standard deviation, a Bernoulli column's
        probability of a 1, a Poisson column's rate, a categorical column's most probable level
        with its probability.

        Returns
        -------
        str
        """
        result = self.fitted_result()
        layout = self._fitted_coding()
        k = int(result.params.weights.shape[0])
        header = ["column", "family", *(f"component {c}" for c in range(k))]
        rows = [["weight", "", *(f"{w:.4f}" for w in result.params.weights)]]
        cells = _column_cells(layout, result.params.components, k)
        for key, family, texts in zip(layout.keys, layout.family_names(), cells, strict=True):
            rows.append([str(key), family, *texts])
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
        lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        n = len(layout.keys)
        title = (
            f"MixedMixture: {k} component{'s' * (k != 1)}, {n} column{'s' * (n != 1)} "
            f"({_family_counts(layout.family_names())})"
        )
        return "\n".join([title, *lines])


# -- readable parameters -------------------------------------------------------------------------
def _family_counts(names: list[str]) -> str:
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def _readable_parts(layout: ColumnLayout, params: ProductParams) -> list[dict[str, Any]]:
    parts = []
    for (family, columns), value in zip(layout.product.parts, params.parts, strict=True):
        names = [layout.keys[j] for j in columns]
        entry: dict[str, Any] = {"family": registry.family_name(family).lower(), "columns": names}
        if isinstance(family, Gaussian):
            entry.update(means=np.asarray(value.means), covariances=np.asarray(value.covariances))
        elif isinstance(family, Bernoulli):
            entry.update(probabilities=np.asarray(value.mean))
        elif isinstance(family, Poisson):
            entry.update(rates=np.asarray(value.mean))
        elif isinstance(family, Categorical):
            levels = family.levels(len(columns))
            edges = np.cumsum(levels)[:-1]
            entry.update(
                probabilities=np.split(np.asarray(value.mean), edges, axis=1),
                levels=[layout.categories[j] for j in columns],
            )
        else:
            entry.update(
                {f.name: getattr(value, f.name) for f in attrs.fields(type(value)) if f.init}
            )
        parts.append(entry)
    return parts


def _column_cells(layout: ColumnLayout, params: ProductParams, k: int) -> list[list[str]]:
    """The summary's text of every column in every component."""
    cells: list[list[str]] = [[] for _ in layout.keys]
    means = layout.product.mean(params)
    for (family, columns), value in zip(layout.product.parts, params.parts, strict=True):
        if isinstance(family, Gaussian):
            variances = np.diagonal(family.covariances(value), axis1=1, axis2=2)
            for i, j in enumerate(columns):
                cells[j] = [
                    f"{value.means[c, i]:.4g} (sd {np.sqrt(variances[c, i]):.3g})" for c in range(k)
                ]
        elif isinstance(family, Bernoulli):
            for i, j in enumerate(columns):
                cells[j] = [f"p={value.mean[c, i]:.3f}" for c in range(k)]
        elif isinstance(family, Poisson):
            for i, j in enumerate(columns):
                cells[j] = [f"rate={value.mean[c, i]:.4g}" for c in range(k)]
        elif isinstance(family, Categorical):
            levels = family.levels(len(columns))
            starts = np.concatenate(([0], np.cumsum(levels)[:-1]))
            for i, j in enumerate(columns):
                probs = value.mean[:, starts[i] : starts[i] + levels[i]]
                names = layout.categories[j]
                best = np.argmax(probs, axis=1)
                cells[j] = [
                    f"{names[best[c]] if names is not None else best[c]} ({probs[c, best[c]]:.2f})"
                    for c in range(k)
                ]
        else:
            for j in columns:
                cells[j] = [f"mean={means[c, j]:.4g}" for c in range(k)]
    return cells


register_estimator(MixedMixture)
