"""The Gaussian family's conjugate prior: hmmlearn's MAP M-step, exactly.

``Gaussian(mean_prior, mean_weight, covariance_prior, covariance_weight)`` must give the M-step
of hmmlearn's ``GaussianHMM._do_mstep`` (checked against a straightforward transcription of its
formulas here, and against hmmlearn itself), be the maximiser of ``Q + log_prior``, keep EM
monotone in ``log-likelihood + log_prior``, and change nothing at its defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import emkit
from emkit.families.gaussian import COVARIANCE_TYPES, Gaussian, GaussianParams
from emkit.mixture import FiniteMixture
from emkit.testing import check_monotone_em

#: The M-step against the reference formulas (same arithmetic, different order of operations).
AGREEMENT_RTOL = 1e-12
AGREEMENT_ATOL = 1e-12

#: Moving the MAP parameters may not raise Q + log_prior by more than rounding of the sum.
OPTIMALITY_RTOL = 1e-12

#: Relative sizes of the moves away from the MAP parameters in the optimality check.
PERTURBATION_SCALES = (1e-3, 1e-2, 1e-1)

#: Prior settings with every ingredient active (K = 3 components, D = 2 features).
N_COMPONENTS = 3
N_FEATURES = 2


def _data(rng: np.random.Generator, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, N_FEATURES)) * np.array([1.0, 3.0]) + np.array([5.0, -2.0])
    resp = rng.dirichlet(np.ones(N_COMPONENTS), size=n) * rng.uniform(0.5, 2.0, size=(n, 1))
    return X, resp


def _priors(kind: str) -> list[dict[str, Any]]:
    """Scalar and array settings of every shape the covariance type accepts."""
    k, d = N_COMPONENTS, N_FEATURES
    rng = np.random.default_rng(7)
    a = rng.normal(size=(d, d))
    spd = a @ a.T + 0.1 * np.eye(d)
    cases: list[dict[str, Any]] = [
        # hmmlearn's GaussianHMM defaults.
        {"mean_prior": 0.0, "mean_weight": 0.0, "covariance_prior": 1e-2, "covariance_weight": 1},
        {"mean_prior": 1.5, "mean_weight": 2.0, "covariance_prior": 0.3, "covariance_weight": 4.0},
        {
            "mean_prior": np.array([4.0, -1.0]),
            "mean_weight": np.array([0.5, 3.0, 1.0]),
            "covariance_prior": 0.2,
            "covariance_weight": 5.0 if kind == "tied" else np.array([1.0, 3.5, 6.0]),
        },
    ]
    per_component: dict[str, Any] = {
        "full": np.stack([spd, 2.0 * spd, np.eye(d)]),
        "tied": spd,
        "diag": rng.uniform(0.1, 1.0, size=(k, d)),
        "spherical": np.array([0.1, 0.7, 2.0]),
    }
    cases.append(
        {
            "mean_prior": rng.normal(size=(k, d)),
            "mean_weight": 1.5,
            "covariance_prior": per_component[kind],
            "covariance_weight": 3.0,
        }
    )
    if kind in ("full", "diag"):
        shared = {"full": spd, "diag": np.array([0.4, 0.05])}[kind]
        cases.append({"mean_weight": 0.7, "covariance_prior": shared, "covariance_weight": 2.5})
    return cases


def _reference_mstep(
    kind: str, X: np.ndarray, resp: np.ndarray, prior: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """hmmlearn's ``_do_mstep`` formulas, transcribed one component at a time from raw sums.

    Per-component arrays (mean_weight, covariance_weight of shape (K,), a spherical
    covariance_prior of shape (K,)) are read as one value per component.
    """
    k, d = resp.shape[1], X.shape[1]
    m0 = np.broadcast_to(np.asarray(prior.get("mean_prior", 0.0), dtype=float), (k, d))
    w = np.broadcast_to(np.asarray(prior.get("mean_weight", 0.0), dtype=float), (k,))
    nu = np.broadcast_to(np.asarray(prior.get("covariance_weight", 0.0), dtype=float), (k,))
    psi = np.asarray(prior.get("covariance_prior", 0.0), dtype=float)
    post = resp.sum(axis=0)
    obs = resp.T @ X
    means = np.empty((k, d))
    for c in range(k):
        means[c] = (w[c] * m0[c] + obs[c]) / (w[c] + post[c])
    if kind in ("diag", "spherical"):
        obs2 = resp.T @ X**2
        variances = np.empty((k, d))
        for c in range(k):
            diff = means[c] - m0[c]
            c_n = w[c] * diff**2 + obs2[c] - 2 * means[c] * obs[c] + means[c] ** 2 * post[c]
            c_d = max(nu[c] - 1, 0) + post[c]
            psi_c = psi[c] if (kind == "spherical" and psi.ndim == 1) else psi
            psi_c = psi_c[c] if psi.ndim == 2 else psi_c
            variances[c] = (psi_c + c_n) / max(c_d, 1e-5)
        return means, variances.mean(axis=1) if kind == "spherical" else variances
    scatter = np.empty((k, d, d))
    for c in range(k):
        diff = means[c] - m0[c]
        obsobs = np.einsum("n,ni,nj->ij", resp[:, c], X, X)
        obsmean = np.outer(obs[c], means[c])
        scatter[c] = (
            w[c] * np.outer(diff, diff)
            + obsobs
            - obsmean
            - obsmean.T
            + np.outer(means[c], means[c]) * post[c]
        )
    if kind == "tied":
        cvweight = max(float(nu[0]) - d, 0)
        return means, ((psi + scatter.sum(axis=0)) / (cvweight + post.sum()))[None]
    covariances = np.empty((k, d, d))
    for c in range(k):
        psi_c = psi[c] if psi.ndim == 3 else psi  # a number adds to every entry, as in hmmlearn
        covariances[c] = (psi_c + scatter[c]) / (max(nu[c] - d, 0) + post[c])
    return means, covariances


def _mstep(family: Gaussian, X: np.ndarray, resp: np.ndarray) -> GaussianParams:
    center = resp.T @ X / resp.sum(axis=0)[:, None] + 0.3  # off the means on purpose
    stats = family.expected_stats(X, resp, center)
    return family.maximize(stats, resp.sum(axis=0))


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_mstep_is_hmmlearns_formulas(kind: str) -> None:
    rng = np.random.default_rng(0)
    X, resp = _data(rng)
    for prior in _priors(kind):
        params = _mstep(Gaussian(kind, reg_covar=0.0, **prior), X, resp)
        means, covariances = _reference_mstep(kind, X, resp, prior)
        np.testing.assert_allclose(
            params.means, means, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL, err_msg=str(prior)
        )
        np.testing.assert_allclose(
            params.covariances,
            covariances,
            rtol=AGREEMENT_RTOL,
            atol=AGREEMENT_ATOL,
            err_msg=str(prior),
        )


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_reg_covar_is_added_after_the_prior(kind: str) -> None:
    X, resp = _data(np.random.default_rng(1))
    prior = _priors(kind)[1]
    bare = _mstep(Gaussian(kind, reg_covar=0.0, **prior), X, resp).covariances
    regularised = _mstep(Gaussian(kind, reg_covar=0.25, **prior), X, resp).covariances
    expected = bare + (0.25 * np.eye(N_FEATURES) if bare.ndim == 3 else 0.25)
    np.testing.assert_allclose(regularised, expected, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL)


def _hmmlearn_mstep(
    kind: str, X: np.ndarray, resp: np.ndarray, hmmlearn_prior: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    hmm = pytest.importorskip("hmmlearn.hmm")
    k, d = resp.shape[1], X.shape[1]
    model = hmm.GaussianHMM(n_components=k, covariance_type=kind, params="mc", **hmmlearn_prior)
    model.n_features = d
    stats = {
        "nobs": 1,
        "post": resp.sum(axis=0),
        "obs": resp.T @ X,
        "obs**2": resp.T @ X**2,
        "obs*obs.T": np.einsum("nk,ni,nj->kij", resp, X, X),
    }
    model._do_mstep(stats)
    covariances = np.asarray(model._covars_)
    if kind == "spherical":
        covariances = covariances[:, 0]  # hmmlearn keeps the mean tiled over the features
    elif kind == "tied":
        covariances = covariances[None]
    return np.asarray(model.means_), covariances


HMMLEARN_CASES = {
    "full": {"means_prior": 1.5, "means_weight": 2.0, "covars_prior": 0.3, "covars_weight": 4.0},
    "tied": {
        "means_prior": np.array([4.0, -1.0]),
        "means_weight": 0.5,
        "covars_prior": np.array([[1.0, 0.2], [0.2, 0.5]]),
        "covars_weight": 5.0,
    },
    "diag": {
        "means_prior": np.array([[1.0, 2.0], [3.0, 4.0], [-1.0, 0.0]]),
        "means_weight": 1.0,
        "covars_prior": np.array([0.4, 0.05]),
        "covars_weight": 3.0,
    },
    "spherical": {"means_prior": 0, "means_weight": 0, "covars_prior": 1e-2, "covars_weight": 1},
}


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_mstep_equals_hmmlearns_own(kind: str) -> None:
    X, resp = _data(np.random.default_rng(2))
    case = HMMLEARN_CASES[kind]
    expected_means, expected_covariances = _hmmlearn_mstep(kind, X, resp, case)
    family = Gaussian(
        kind,
        reg_covar=0.0,
        mean_prior=case["means_prior"],
        mean_weight=case["means_weight"],
        covariance_prior=case["covars_prior"],
        covariance_weight=case["covars_weight"],
    )
    params = _mstep(family, X, resp)
    np.testing.assert_allclose(
        params.means, expected_means, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL
    )
    np.testing.assert_allclose(
        params.covariances, expected_covariances, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL
    )


@pytest.mark.parametrize("kind", ["diag", "spherical"])
def test_near_empty_component_hits_hmmlearns_floor(kind: str) -> None:
    X, resp = _data(np.random.default_rng(10))
    resp[:, 2] *= 1e-9  # n_2 is about 1e-8, below hmmlearn's floor 1e-5 on c0 + n_k
    case = {"means_prior": 0.5, "means_weight": 1e-3, "covars_prior": 1e-2, "covars_weight": 1}
    expected_means, expected_covariances = _hmmlearn_mstep(kind, X, resp, case)
    prior = {"mean_prior": 0.5, "mean_weight": 1e-3, "covariance_prior": 1e-2}
    params = _mstep(Gaussian(kind, reg_covar=0.0, covariance_weight=1.0, **prior), X, resp)
    means, covariances = _reference_mstep(kind, X, resp, prior)
    for got, want in (
        (params.covariances, expected_covariances),
        (params.covariances, covariances),
    ):
        np.testing.assert_allclose(got, want, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL)
    np.testing.assert_allclose(params.means, expected_means, rtol=AGREEMENT_RTOL)
    np.testing.assert_allclose(params.means, means, rtol=AGREEMENT_RTOL)


def _objective(family: Gaussian, X: np.ndarray, resp: np.ndarray, params: GaussianParams) -> float:
    """Q (the emission part) + log_prior."""
    return float(np.sum(resp * family.log_prob(X, params)) + family.log_prior(params))


def _moves(params: GaussianParams, rng: np.random.Generator, scale: float) -> list[GaussianParams]:
    means, cov = params.means, params.covariances
    moved_means = means + scale * rng.normal(size=means.shape)
    if cov.ndim == 3:
        a = scale * rng.normal(size=cov.shape)
        factor = np.eye(cov.shape[-1]) + a
        moved_cov = factor @ cov @ np.swapaxes(factor, -1, -2)
    else:
        moved_cov = cov * np.exp(scale * rng.normal(size=cov.shape))
    return [
        GaussianParams(moved_means, cov),
        GaussianParams(means, moved_cov),
        GaussianParams(moved_means, moved_cov),
    ]


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_mstep_maximises_q_plus_log_prior(kind: str) -> None:
    rng = np.random.default_rng(3)
    X, resp = _data(rng)
    for prior in _priors(kind):
        family = Gaussian(kind, reg_covar=0.0, **prior)
        best = _mstep(family, X, resp)
        target = _objective(family, X, resp, best)
        for scale in PERTURBATION_SCALES:
            for _ in range(5):
                for other in _moves(best, rng, scale):
                    assert _objective(family, X, resp, other) <= target + OPTIMALITY_RTOL * abs(
                        target
                    ), (prior, scale)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_log_prior_is_the_stated_density(kind: str) -> None:
    rng = np.random.default_rng(4)
    X, resp = _data(rng)
    prior = _priors(kind)[3]  # per-component arrays
    family = Gaussian(kind, reg_covar=0.0, **prior)
    params = _mstep(family, X, resp)
    m0 = np.broadcast_to(prior["mean_prior"], (N_COMPONENTS, N_FEATURES))
    w = np.broadcast_to(prior["mean_weight"], (N_COMPONENTS,))
    psi = prior["covariance_prior"]
    nu = prior["covariance_weight"]
    d = N_FEATURES
    expected = 0.0
    for k in range(N_COMPONENTS):
        delta = params.means[k] - m0[k]
        if kind in ("full", "tied"):
            sigma = params.covariances[k if kind == "full" else 0]
            inv = np.linalg.inv(sigma)
            psi_k = psi[k] if kind == "full" else psi / N_COMPONENTS  # tied: Psi counted once
            log_det = np.linalg.slogdet(sigma)[1] / (1 if kind == "full" else N_COMPONENTS)
            expected += -0.5 * max(nu - d, 0) * log_det - 0.5 * np.trace(
                inv @ (psi_k + w[k] * np.outer(delta, delta))
            )
        elif kind == "diag":
            var = params.covariances[k]
            expected += np.sum(
                -0.5 * max(nu - 1, 0) * np.log(var) - (psi[k] + w[k] * delta**2) / (2 * var)
            )
        else:
            var = params.covariances[k]
            expected += -0.5 * d * max(nu - 1, 0) * np.log(var) - (
                d * psi[k] + w[k] * delta @ delta
            ) / (2 * var)
    assert family.log_prior(params) == pytest.approx(expected, rel=AGREEMENT_RTOL)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_em_with_a_prior_is_monotone(kind: str) -> None:
    rng = np.random.default_rng(5)
    X = np.concatenate(
        [
            rng.normal(size=(60, 2)),
            rng.normal(size=(40, 2)) * 0.3 + np.array([4.0, 1.0]),
            rng.normal(size=(50, 2)) * 0.5 + np.array([-3.0, 3.0]),
        ]
    )
    for prior in _priors(kind)[1:]:
        family = Gaussian(kind, reg_covar=0.0, **prior)
        check_monotone_em(FiniteMixture(family, N_COMPONENTS), X, max_iter=25)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_defaults_change_nothing(kind: str) -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(120, 2)) * np.array([1.0, 2.0])
    plain = Gaussian(kind)
    explicit = Gaussian(
        kind, mean_prior=0.0, mean_weight=0.0, covariance_prior=0.0, covariance_weight=0.0
    )
    assert plain == explicit
    assert not plain.has_prior
    a = emkit.fit(FiniteMixture(plain, N_COMPONENTS), X, random_state=0, max_iter=20)
    b = emkit.fit(FiniteMixture(explicit, N_COMPONENTS), X, random_state=0, max_iter=20)
    np.testing.assert_array_equal(a.params.components.covariances, b.params.components.covariances)
    assert a.log_likelihood == b.log_likelihood
    assert plain.log_prior(a.params.components) == 0.0
    # Zero arrays take the prior's code path; it is the same M-step up to rounding.
    zeros = Gaussian(
        kind,
        mean_prior=np.zeros(2),
        mean_weight=np.zeros(N_COMPONENTS),
        covariance_prior=np.zeros(plain.covariance_shape(N_COMPONENTS, 2)[-1:])
        if kind == "diag"
        else 0.0,
    )
    assert zeros.has_prior
    X2, resp = _data(rng)
    got, want = _mstep(zeros, X2, resp), _mstep(plain, X2, resp)
    np.testing.assert_allclose(got.means, want.means, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL)
    np.testing.assert_allclose(
        got.covariances, want.covariances, rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL
    )
    assert zeros.log_prior(got) == 0.0


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_n_parameters_ignore_the_prior(kind: str) -> None:
    prior = _priors(kind)[2]
    assert Gaussian(kind, **prior).n_parameters(3, 2) == Gaussian(kind).n_parameters(3, 2)


@pytest.mark.parametrize("kind", COVARIANCE_TYPES)
def test_prior_survives_save_and_load(kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    X = rng.normal(size=(90, 2))
    family = Gaussian(kind, reg_covar=1e-4, **_priors(kind)[3])
    result = emkit.fit(FiniteMixture(family, N_COMPONENTS), X, random_state=0, tol=1e-2)
    path = tmp_path / "fit.json"
    emkit.save(result, path)
    loaded = emkit.load(path)
    assert loaded.model.family == family
    for name in ("mean_prior", "mean_weight", "covariance_prior", "covariance_weight"):
        np.testing.assert_array_equal(getattr(loaded.model.family, name), getattr(family, name))
    assert loaded.model.log_prior(loaded.params) == result.model.log_prior(result.params)


def test_settings_compare_by_value_and_hash() -> None:
    a = Gaussian("diag", mean_prior=np.array([1.0, 2.0]), covariance_prior=0.5)
    assert a == Gaussian("diag", mean_prior=np.array([1.0, 2.0]), covariance_prior=0.5)
    assert a != Gaussian("diag", mean_prior=np.array([1.0, 3.0]), covariance_prior=0.5)
    assert a != Gaussian("diag", mean_prior=np.array([[1.0, 2.0]]), covariance_prior=0.5)
    assert hash(a) == hash(Gaussian("diag", mean_prior=np.array([1.0, 2.0]), covariance_prior=0.5))
    assert not a.mean_prior.flags.writeable  # a frozen family's arrays cannot be changed


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"mean_weight": -1.0}, ValueError, r"`mean_weight` must be >= 0.0; got -1.0"),
        (
            {"covariance_weight": np.array([1.0, -2.0, 0.0])},
            ValueError,
            r"`covariance_weight`.*-2.0",
        ),
        (
            {"covariance_prior": -0.1, "covariance_type": "diag"},
            ValueError,
            r"`covariance_prior`.*>= 0",
        ),
        ({"covariance_prior": -0.1}, ValueError, r"`covariance_prior` must be >= 0"),
        ({"mean_prior": np.nan}, ValueError, r"`mean_prior` must be finite"),
        ({"mean_prior": "a"}, TypeError, r"`mean_prior`"),
        (
            {"covariance_prior": np.array([[1.0, 2.0], [0.0, 1.0]])},
            ValueError,
            r"`covariance_prior` must hold symmetric",
        ),
        (
            {"covariance_prior": np.array([[1.0, 2.0], [2.0, 1.0]])},
            ValueError,
            r"positive semi-definite.*eigenvalue -1",
        ),
        (
            {"covariance_type": "tied", "covariance_weight": np.ones(3)},
            ValueError,
            r"`covariance_weight`.*'tied'.*shape \(\) .*got an array of shape \(3,\)",
        ),
        (
            {"covariance_type": "spherical", "covariance_prior": np.ones((2, 2))},
            ValueError,
            r"`covariance_prior`.*\(n_components,\); got an array of shape \(2, 2\)",
        ),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Gaussian(**kwargs)


def test_shapes_are_checked_against_the_data() -> None:
    X, resp = _data(np.random.default_rng(9))
    family = Gaussian("diag", mean_prior=np.zeros(5), mean_weight=1.0)
    with pytest.raises(ValueError, match=r"`mean_prior`.*\(2,\) or \(3, 2\).*got shape \(5,\)"):
        _mstep(family, X, resp)
    family = Gaussian("full", covariance_weight=np.ones(4))
    with pytest.raises(ValueError, match=r"`covariance_weight`.*\(3,\).*got shape \(4,\)"):
        _mstep(family, X, resp)
