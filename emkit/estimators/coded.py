"""Estimators fitted to the codes of a table:
[`CategoricalMixture`][emkit.estimators.categorical.CategoricalMixture] (levels of any type) and
[`MixedMixture`][emkit.estimators.mixed.MixedMixture] (a family per column).

Their rows are values of any kind (text, booleans, numbers, a DataFrame's columns). ``fit``
learns a *coding* of the columns from the rows (the sorted levels of every categorical column;
for a mixed table also every column's family), and the
[`FiniteMixture`][emkit.mixture.FiniteMixture] is fitted to the numbers it gives, NaN where a
cell is missing. ``partial_fit``, ``predict``, ``score``, ``impute`` and ``bic`` read their rows
through the same coding, so a level fit never saw is an error naming its column and row.
[`CodedMixture`][emkit.estimators.coded.CodedMixture] does this once for both; each estimator
says how it reads a table, learns a coding and encodes rows.

The data-driven starts of both run ``init_params`` on features of the coded rows in which no
column dominates by its units or by the arbitrary order of its codes
([`SizeOrderedStart`][emkit.estimators.coded.SizeOrderedStart]).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar, final

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_missing_choice
from emkit.em import FitResult
from emkit.estimators.base import MixtureEstimator, StartFromData
from emkit.estimators.inputs import check_feature_names
from emkit.init import initial_responsibilities
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.starts import model_start

__all__ = ["CodedMixture", "ColumnsTable", "NamedColumns", "SizeOrderedStart"]


@final
class NamedColumns:
    """Values with column names, read as a DataFrame is read (``columns`` and ``to_numpy``),
    without pandas: the codes of ``X`` with ``X``'s names, or the command line's cells with
    their header's.

    Parameters
    ----------
    values : array of shape (n_samples, n_features)
    names : sequence of column names, optional
        None: the columns have no names.
    """

    def __init__(self, values: Array, names: Any = None) -> None:
        self.values = values
        self.columns = None if names is None else list(names)

    def to_numpy(self, dtype: Any = None) -> Array:
        """The values, converted to ``dtype`` if one is given.

        Parameters
        ----------
        dtype : numpy dtype, optional

        Returns
        -------
        array of shape (n_samples, n_features)
        """
        return self.values if dtype is None else self.values.astype(dtype)


class ColumnsTable(Protocol):
    """A table read column by column: what [`CodedMixture`][emkit.estimators.coded.CodedMixture]
    needs of it (the columns, for their number)."""

    @property
    def columns(self) -> Sequence[Array]:
        """The columns as 1-D arrays of shape (n_samples,)."""
        ...


TableT = TypeVar("TableT", bound=ColumnsTable)
CodingT = TypeVar("CodingT")


class SizeOrderedStart(StartFromData):
    """``init_params`` run on [`features`][emkit.estimators.coded.SizeOrderedStart.features] of
    the coded rows, the starting components numbered by decreasing size, then one M-step from
    those responsibilities; given ``weights_init`` (and components) replace the start's.

    Numbering by size makes the fitted components' order independent of the order the
    clustering happened to find them in.
    """

    def features(self, X: Array) -> Array:
        """The rows as the numbers the clustering runs on.

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
            Codes, NaN where a cell is missing.

        Returns
        -------
        array of shape (n_samples, n_clustered)
        """
        raise NotImplementedError

    def __call__(self, sample: Array, rng: np.random.Generator) -> MixtureParams[Any]:
        # The whole array and its weights when the rows are in memory (they always are for
        # these estimators), else the driver's unweighted sample.
        X = self.data if isinstance(self.data, np.ndarray) else sample
        weights = self.weights if isinstance(self.data, np.ndarray) else None
        resp = initial_responsibilities(
            self.features(X), self.model.n_components, self.method, rng, weights
        )
        sizes = resp.sum(axis=0) if weights is None else weights @ resp
        resp = resp[:, np.argsort(-sizes, kind="stable")]
        start = self.model.params_from_responsibilities(X, resp, weights)
        return MixtureParams(
            self.given.get("weights", start.weights),
            self.given.get("components", start.components),
        )


class CodedMixture(MixtureEstimator, Generic[TableT, CodingT]):
    """A mixture estimator fitted to the codes of a table (see the module docstring).

    A subclass supplies ``_read_table(X)`` (the columns of ``X``), ``_learn_coding(table)``
    (what ``fit`` learns of them), ``_encode(coding, table)`` (the codes, float64 of shape
    (n_samples, n_features), NaN where a cell is missing and missing cells are allowed),
    ``_fitted_coding()`` (the coding of the fitted model) and ``_start_type`` (its
    [`SizeOrderedStart`][emkit.estimators.coded.SizeOrderedStart]). While a fit runs, its coding
    is ``_coding_in_fit()``, for ``_build_family`` and ``restore_fit``.
    """

    _start_type: ClassVar[type[SizeOrderedStart]]

    # -- to be supplied by each estimator ------------------------------------------------------
    def _read_table(self, X: Any) -> TableT:
        raise NotImplementedError

    def _learn_coding(self, table: TableT) -> CodingT:
        raise NotImplementedError

    def _encode(self, coding: CodingT, table: TableT) -> Array:
        raise NotImplementedError

    def _fitted_coding(self) -> CodingT:
        raise NotImplementedError

    # -- the coding ----------------------------------------------------------------------------
    def _allows_missing(self) -> bool:
        return check_missing_choice(self.missing) == "marginalise"

    def _coding_in_fit(self) -> CodingT | None:
        coding: CodingT | None = self.__dict__.get("_coding_for_fit")
        return coding

    @contextmanager
    def _fitting(self, coding: CodingT) -> Iterator[None]:
        self._coding_for_fit = coding
        try:
            yield
        finally:
            self.__dict__.pop("_coding_for_fit", None)

    def _codes(self, X: Any, learn: bool) -> tuple[CodingT, Array]:
        """The coding (learned from ``X``, else the fitted one) and the codes of ``X``."""
        table = self._read_table(X)
        if learn:
            coding = self._learn_coding(table)
        else:
            coding = self._fitted_coding()
            expected = self.fitted_result().n_features
            if len(table.columns) != expected:
                raise ValueError(
                    f"X has {len(table.columns)} features, but {type(self).__name__} is "
                    f"expecting {expected} features as input."
                )
        return coding, self._encode(coding, table)

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
        return self._start_type(model, data, method, weights, given)

    # -- fitting -------------------------------------------------------------------------------
    def _fit(self, X: Any, labels: Any, sample_weight: Any, groups: Any = None) -> None:
        coding, codes = self._codes(X, learn=True)
        with self._fitting(coding):
            super()._fit(
                NamedColumns(codes, getattr(X, "columns", None)), labels, sample_weight, groups
            )

    def partial_fit(self, X: Any, y: Any = None, *, sample_weight: Any = None) -> Self:
        """One step of online EM on the mini-batch ``X`` (see
        [`MixtureEstimator.partial_fit`][emkit.estimators.MixtureEstimator.partial_fit]).

        The coding (the columns' levels, and families) is that of an earlier ``fit`` (or of
        the first batch): every later batch must use only its levels.

        Parameters
        ----------
        X : DataFrame, array or nested lists of shape (n_batch, n_features)
        y : ignored
        sample_weight : array-like of shape (n_batch,), optional

        Returns
        -------
        self
        """
        coding, codes = self._codes(X, learn=not hasattr(self, "result_"))
        with self._fitting(coding):
            super().partial_fit(
                NamedColumns(codes, getattr(X, "columns", None)), sample_weight=sample_weight
            )
        return self

    # -- using the fitted model ----------------------------------------------------------------
    def _check_predict_x(self, X: Any) -> tuple[FitResult[Any], FiniteMixture[Any, Any], Array]:
        result = self.fitted_result()
        check_feature_names(getattr(self, "feature_names_in_", None), X, type(self).__name__)
        _, codes = self._codes(X, learn=False)
        mixture = result.model
        assert isinstance(mixture, FiniteMixture)
        # The estimator's current `missing` decides what a missing cell is.
        mixture = attrs.evolve(mixture, missing=self.missing)
        mixture.validate_data(codes)
        return result, mixture, codes

    def bic(self, X: Any) -> float:
        """Bayesian information criterion on ``X``: ``-2 L + p log n`` (lower is better).

        Parameters
        ----------
        X : DataFrame, array or nested lists of shape (n_samples, n_features)

        Returns
        -------
        float
        """
        log_prob = self.score_samples(X)
        n = float(np.log(log_prob.shape[0]))
        return -2.0 * float(log_prob.sum()) + self._n_parameters() * n
