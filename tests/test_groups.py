"""Groups of rows that share one component: a mixture's E-step over whole groups.

A subject measured several times belongs to one class: ``p(x_g) = sum_k pi_k prod_{n in g}
p(x_n | theta_k)``. Groups travel as ``lengths=`` like an HMM's sequences, so every source keeps
them whole; the weights are estimated from groups, the components from rows.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import emkit
from emkit.testing import check_model

#: The independent loop and emkit agree to this (relative) after every iteration.
REFERENCE_RTOL = 1e-8

#: Fits from different sources (or of one-row groups against no groups) agree to this.
SOURCE_RTOL = 1e-10

#: Share of the 20 groups assigned to their true component (up to label switching): the
#: components overlap (means 1.4 standard deviations apart), a group of several rows does not.
GROUP_ACCURACY = 0.8

#: EM iterations compared with the reference.
N_ITER = 6

SIZES = np.array([3, 1, 5, 2, 8, 4, 1, 6, 2, 7, 3, 3, 5, 1, 4, 6, 2, 2, 9, 3])


def grouped_data(kind: str, seed: int = 0) -> tuple[Any, np.ndarray, np.ndarray]:
    """Rows of ``SIZES`` groups, each group drawn from one of two components."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, size=SIZES.size)
    rows = np.repeat(z, SIZES)
    if kind == "poisson":
        rates = np.array([[2.0, 7.0], [6.0, 1.5]])
        return emkit.FiniteMixture(emkit.Poisson(), 2), rng.poisson(rates[rows]).astype(float), z
    means = np.array([[0.0, 0.0], [1.2, -0.8]])
    X = means[rows] + rng.normal(size=(rows.size, 2))
    return emkit.FiniteMixture(emkit.Gaussian("diag"), 2), X, z


def reference_em(kind: str, X: np.ndarray, start: Any, n_iter: int) -> tuple[Any, float]:
    """Plain EM over groups: loops over groups and components, scipy densities."""
    weights = np.array(start.weights, dtype=float)
    if kind == "poisson":
        rates = np.array(start.components.mean, dtype=float)
    else:
        means = np.array(start.components.means, dtype=float)
        variances = np.array(start.components.covariances, dtype=float)
    ends = np.cumsum(SIZES)
    groups = [X[end - size : end] for size, end in zip(SIZES, ends, strict=True)]
    log_lik = 0.0
    for iteration in range(n_iter + 1):
        resp = np.zeros((len(groups), 2))
        log_lik = 0.0
        for g, rows in enumerate(groups):
            log_joint = np.zeros(2)
            for k in range(2):
                if kind == "poisson":
                    dens = stats.poisson.logpmf(rows, rates[k]).sum()
                else:
                    dens = stats.norm.logpdf(rows, means[k], np.sqrt(variances[k])).sum()
                log_joint[k] = np.log(weights[k]) + dens
            norm = logsumexp(log_joint)
            resp[g] = np.exp(log_joint - norm)
            log_lik += norm
        if iteration == n_iter:
            break  # the log-likelihood of the final parameters
        row_resp = np.repeat(resp, SIZES, axis=0)
        counts = row_resp.sum(axis=0)
        weights = resp.sum(axis=0) / len(groups)
        if kind == "poisson":
            rates = (row_resp.T @ X) / counts[:, None]
        else:
            means = (row_resp.T @ X) / counts[:, None]
            variances = (row_resp.T @ X**2) / counts[:, None] - means**2 + 1e-6
    params = (weights, rates) if kind == "poisson" else (weights, means, variances)
    return params, log_lik


@pytest.mark.parametrize("kind", ["gaussian", "poisson"])
def test_a_grouped_fit_equals_plain_em_over_groups(kind: str) -> None:
    model, X, _ = grouped_data(kind)
    start = emkit.fit(model, X, max_iter=0, random_state=1).params
    for n_iter in range(1, N_ITER):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", emkit.ConvergenceWarning)
            result = emkit.fit(
                model, X, lengths=SIZES, init=start, max_iter=n_iter, tol=0.0, order="start"
            )
        expected, log_lik = reference_em(kind, X, start, n_iter)
        assert result.log_likelihood == pytest.approx(log_lik, rel=REFERENCE_RTOL)
        np.testing.assert_allclose(result.params.weights, expected[0], rtol=REFERENCE_RTOL)
        if kind == "poisson":
            np.testing.assert_allclose(
                result.params.components.mean, expected[1], rtol=REFERENCE_RTOL
            )
        else:
            np.testing.assert_allclose(
                result.params.components.means, expected[1], rtol=REFERENCE_RTOL, atol=1e-12
            )
            np.testing.assert_allclose(
                result.params.components.covariances, expected[2], rtol=REFERENCE_RTOL
            )


def test_groups_of_one_row_are_the_ungrouped_fit() -> None:
    model, X, _ = grouped_data("gaussian")
    ungrouped = emkit.fit(model, X, random_state=0, n_init=2)
    singles = emkit.fit(model, X, lengths=np.ones(X.shape[0], int), random_state=0, n_init=2)
    assert singles.log_likelihood == pytest.approx(ungrouped.log_likelihood, rel=SOURCE_RTOL)
    assert singles.n_iter == ungrouped.n_iter
    np.testing.assert_allclose(
        singles.params.components.means, ungrouped.params.components.means, rtol=SOURCE_RTOL
    )


def test_every_source_keeps_groups_whole(tmp_path: Path) -> None:
    da = pytest.importorskip("dask.array")
    model, X, _ = grouped_data("poisson")
    start = emkit.fit(model, X, max_iter=0, random_state=1).params
    reference = emkit.fit(model, X, lengths=SIZES, init=start, order="start")
    path = tmp_path / "x.npy"
    np.save(path, X)
    ends = np.cumsum(SIZES)
    chunks = [(X[: ends[6]], None, None, SIZES[:7]), (X[ends[6] :], None, None, SIZES[7:])]
    for data, extra in [
        (X, {"lengths": SIZES, "chunk_size": 5}),
        (str(path), {"lengths": SIZES, "chunk_size": 7}),
        (chunks, {"chunk_size": 6}),
        (da.from_array(X, chunks=(11, 2)), {"lengths": SIZES}),
    ]:
        result = emkit.fit(model, data, init=start, order="start", **extra)
        assert result.log_likelihood == pytest.approx(reference.log_likelihood, rel=SOURCE_RTOL)
        np.testing.assert_allclose(result.params.weights, reference.params.weights, SOURCE_RTOL)


def test_group_methods_give_every_row_its_groups_answer() -> None:
    model, X, z = grouped_data("gaussian")
    result = emkit.fit(model, X, lengths=SIZES, random_state=0, n_init=3)
    resp = model.responsibilities(X, result.params, lengths=SIZES)
    starts = np.concatenate([[0], np.cumsum(SIZES)[:-1]])
    np.testing.assert_array_equal(resp, np.repeat(resp[starts], SIZES, axis=0))
    labels = model.predict(X, result.params, lengths=SIZES)
    np.testing.assert_array_equal(labels, np.repeat(labels[starts], SIZES))
    agreement = np.mean(labels[starts] == z)
    assert max(agreement, 1 - agreement) >= GROUP_ACCURACY
    # Per-row scores add up to each group's log-likelihood, and to the fit's in total.
    scores = model.score_samples(X, result.params, lengths=SIZES)
    assert scores.sum() == pytest.approx(result.log_likelihood, rel=SOURCE_RTOL)
    first = model.score_samples(X[: SIZES[0]], result.params, lengths=SIZES[:1])
    np.testing.assert_allclose(first, scores[: SIZES[0]], rtol=SOURCE_RTOL)


def test_weights_and_labels_belong_to_whole_groups() -> None:
    model, X, _ = grouped_data("poisson")
    start = emkit.fit(model, X, max_iter=0, random_state=1).params
    weights = np.ones(X.shape[0])
    weights[1] = 2.0
    with pytest.raises(ValueError, match=r"same on every row of a group .*; group 0 has 1.0 and 2"):
        model.e_step(X, start, weights, lengths=SIZES)
    labels = np.full(X.shape[0], -1)
    labels[[0, 2]] = [0, 1]
    with pytest.raises(ValueError, match="labels` of one group must agree"):
        model.e_step(X, start, labels=labels, lengths=SIZES)
    labels[2] = 0
    stats_known, _ = model.e_step(X, start, labels=labels, lengths=SIZES)
    assert stats_known.group_counts is not None
    # Group 0 (3 rows) belongs to component 0 for sure.
    resp = model.responsibilities(X, start, lengths=SIZES)
    assert stats_known.group_counts[0] == pytest.approx(
        resp[np.concatenate([[0], np.cumsum(SIZES)[:-1]])][1:, 0].sum() + 1.0
    )


@pytest.mark.parametrize(
    "family",
    [emkit.Gaussian("full"), emkit.Gaussian("spherical"), emkit.Poisson(), emkit.Bernoulli()],
    ids=["full", "spherical", "poisson", "bernoulli"],
)
def test_the_contract_holds_over_groups(family: Any) -> None:
    rng = np.random.default_rng(3)
    n = int(SIZES.sum())
    X = (rng.random((n, 3)) < 0.4).astype(float) if isinstance(family, emkit.Bernoulli) else None
    if X is None:
        X = rng.poisson(3.0, size=(n, 3)).astype(float) + rng.normal(size=(n, 3)) * (
            not isinstance(family, emkit.Poisson)
        )
    check_model(emkit.FiniteMixture(family, 2), X, lengths=SIZES)


def test_the_estimators_take_group_ids() -> None:
    _, X, z = grouped_data("gaussian")
    ids = np.repeat(np.arange(SIZES.size) * 3 + 100, SIZES)  # any ids, consecutive rows
    estimator = emkit.GaussianMixture(2, covariance_type="diag", random_state=0, n_init=3)
    estimator.fit(X, groups=ids)
    model = emkit.FiniteMixture(emkit.Gaussian("diag", reg_covar=estimator.reg_covar), 2)
    params = estimator.result_.params
    np.testing.assert_array_equal(
        estimator.predict(X, groups=ids), model.predict(X, params, lengths=SIZES)
    )
    np.testing.assert_allclose(
        estimator.predict_proba(X, groups=ids),
        model.responsibilities(X, params, lengths=SIZES),
        rtol=SOURCE_RTOL,
    )
    assert estimator.score_samples(X, groups=ids).sum() == pytest.approx(
        model.score_samples(X, params, lengths=SIZES).sum(), rel=SOURCE_RTOL
    )
    labels = estimator.fit_predict(X, groups=ids)
    starts = np.concatenate([[0], np.cumsum(SIZES)[:-1]])
    agreement = np.mean(labels[starts] == z)
    assert max(agreement, 1 - agreement) >= GROUP_ACCURACY
    # A group's rows may lie anywhere: the same fit, and the answers in the caller's order.
    shuffle = np.random.default_rng(5).permutation(X.shape[0])
    again = emkit.GaussianMixture(2, covariance_type="diag", random_state=0, n_init=3)
    again.fit(X[shuffle], groups=ids[shuffle])
    np.testing.assert_allclose(
        again.predict_proba(X[shuffle], groups=ids[shuffle]),
        estimator.predict_proba(X, groups=ids)[shuffle],
        rtol=1e-6,
        atol=1e-9,
    )
    with pytest.raises(ValueError, match="one id per row"):
        estimator.fit(X, groups=ids[1:])
