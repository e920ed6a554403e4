"""The RegressionMixture estimator (emkit.estimators.regression): recovery of known mixtures of
regressions, the scikit-learn interface, DataFrame names, groups against the model with
lengths, save/load and the input errors."""

from __future__ import annotations

import numpy as np
import pytest

import emkit
from emkit.estimators import NotFittedError, RegressionMixture
from emkit.regression import RegressionMixture as RegressionModel
from emkit.selection import aic, bic

#: Two lines with noise 0.3 and 600 rows each: a slope's standard error is about 0.01, an
#: intercept's about 0.012; recovery is asked within about 5 of them.
LINE_ATOL = 0.06
#: The noise standard deviation 0.3 is estimated to about 0.01 (sd / sqrt(2 n)).
SCALE_ATOL = 0.04
#: Poisson and logistic coefficients from 1500 rows per component: about 0.05 to 0.1 standard
#: error; asked within about 4.
GLM_ATOL = 0.35
#: The same computation on the same numbers: rounding only.
SAME_RTOL = 1e-10
SAME_ATOL = 1e-12

SEED = 0
TRUE_INTERCEPT = np.array([1.0, -1.0])
TRUE_SLOPE = np.array([2.0, -1.0])
NOISE = 0.3


def two_lines(n: int = 1200, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n, 1))
    z = rng.permutation(np.arange(n) % 2)
    y = TRUE_INTERCEPT[z] + TRUE_SLOPE[z] * x[:, 0] + NOISE * rng.standard_normal(n)
    return x, y, z


def by_slope(estimator: RegressionMixture) -> np.ndarray:
    """Components ordered as the truth (largest slope first)."""
    return np.argsort(-estimator.coef_[:, 0])


@pytest.fixture(scope="module")
def lines() -> tuple[np.ndarray, np.ndarray, np.ndarray, RegressionMixture]:
    x, y, z = two_lines()
    fitted = RegressionMixture(2, n_init=3, random_state=SEED, tol=1e-8).fit(x, y)
    return x, y, z, fitted


def test_two_lines_recovered(lines: tuple[np.ndarray, ...]) -> None:
    x, y, z, fitted = lines
    order = by_slope(fitted)
    np.testing.assert_allclose(fitted.intercept_[order], TRUE_INTERCEPT, atol=LINE_ATOL)
    np.testing.assert_allclose(fitted.coef_[order, 0], TRUE_SLOPE, atol=LINE_ATOL)
    np.testing.assert_allclose(fitted.scale_, NOISE, atol=SCALE_ATOL)
    np.testing.assert_allclose(fitted.weights_, 0.5, atol=0.05)
    assert fitted.converged_
    assert fitted.n_features_in_ == 1
    assert fitted.n_concomitant_in_ == 0
    assert not hasattr(fitted, "gating_")
    assert not hasattr(fitted, "feature_names_in_")
    labels = fitted.predict_component(x, y)
    truth = np.argsort(order)[z]
    assert np.mean(labels == truth) > 0.85


def test_answers_agree_with_the_model(lines: tuple[np.ndarray, ...]) -> None:
    x, y, _, fitted = lines
    result = fitted.result_
    model, params = result.model, result.params
    data = np.column_stack([x, y])
    np.testing.assert_allclose(
        fitted.predict_proba(x, y), model.responsibilities(data, params), rtol=SAME_RTOL
    )
    expected = fitted.weights_ @ (fitted.intercept_[:, None] + fitted.coef_ @ x.T)
    np.testing.assert_allclose(fitted.predict(x), expected, rtol=SAME_RTOL, atol=SAME_ATOL)
    log_prob = fitted.score_samples(x, y)
    np.testing.assert_allclose(log_prob, model.score_samples(data, params), rtol=SAME_RTOL)
    assert fitted.score(x, y) == pytest.approx(result.log_likelihood / len(y), rel=SAME_RTOL)
    assert fitted.lower_bound_ == pytest.approx(fitted.score(x, y), rel=SAME_RTOL)
    assert fitted.bic(x, y) == pytest.approx(bic(result), rel=SAME_RTOL)
    assert fitted.aic(x, y) == pytest.approx(aic(result), rel=SAME_RTOL)
    # 1 weight, 2 x 2 coefficients, 2 scales.
    assert fitted.aic(x, y) == pytest.approx(-2 * log_prob.sum() + 2 * 7, rel=SAME_RTOL)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    assert fitted.score(x, y, sample_weight=weights) == pytest.approx(
        weights @ log_prob / weights.sum(), rel=SAME_RTOL
    )


def test_sample(lines: tuple[np.ndarray, ...]) -> None:
    *_, fitted = lines
    X, y, labels = fitted.sample(50)
    assert X.shape == (50, 1)
    assert y.shape == (50,)
    assert labels.shape == (50,)
    assert set(labels.tolist()) <= {0, 1}
    given = np.linspace(-1, 1, 7)[:, None]
    X2, y2, _ = fitted.sample(X=given)
    np.testing.assert_array_equal(X2, given)
    assert y2.shape == (7,)


@pytest.mark.parametrize("family", ["poisson", "bernoulli"])
def test_glm_mixtures_recovered(family: str) -> None:
    # A mixture of logistic regressions is identified only by repeated measurements (one 0/1
    # per row says no more than P(y = 1 | x)): the Bernoulli rows come in groups of 10.
    rng = np.random.default_rng(3)
    n = 3000
    x = rng.uniform(-1.5, 1.5, size=(n, 1))
    size = 1 if family == "poisson" else 10
    z = np.repeat(rng.permutation(np.arange(n // size) % 2), size)
    groups = np.repeat(np.arange(n // size), size)
    intercept, slope = np.array([1.5, -0.5]), np.array([1.0, -2.0])
    if family == "bernoulli":
        intercept, slope = np.array([1.0, -1.0]), np.array([2.0, -2.0])
    eta = intercept[z] + slope[z] * x[:, 0]
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    else:
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    fitted = RegressionMixture(2, family, n_init=4, random_state=SEED, tol=1e-6)
    fitted.fit(x, y, groups=groups)
    order = np.argsort(-fitted.coef_[:, 0])
    np.testing.assert_allclose(fitted.intercept_[order], intercept, atol=GLM_ATOL)
    np.testing.assert_allclose(fitted.coef_[order, 0], slope, atol=GLM_ATOL)
    np.testing.assert_array_equal(fitted.scale_, 1.0)
    assert "scale" not in fitted.coefficient_table()
    mean = fitted.predict(x[:5])
    assert np.all(mean > 0)
    assert family == "poisson" or np.all(mean < 1)


def test_dataframe_names_in_summary_and_checks() -> None:
    pd = pytest.importorskip("pandas")
    x, y, _ = two_lines(400)
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"dose": x[:, 0], "age": rng.standard_normal(len(y))})
    fitted = RegressionMixture(2, n_init=2, random_state=SEED).fit(
        frame, pd.Series(y, name="yield")
    )
    np.testing.assert_array_equal(fitted.feature_names_in_, ["dose", "age"])
    assert fitted.target_name_ == "yield"
    text = fitted.summary()
    assert "Gaussian regression mixture of 'yield', 2 components" in text
    header = text.splitlines()[2].split()
    assert header == ["component", "weight", "intercept", "dose", "age", "scale"]
    for k in range(2):
        row = [float(v) for v in text.splitlines()[3 + k].split()]
        assert row[0] == k
        np.testing.assert_allclose(
            row[1:],
            [fitted.weights_[k], fitted.intercept_[k], *fitted.coef_[k], fitted.scale_[k]],
            rtol=1e-4,
            atol=1e-5,
        )
    assert f"log-likelihood  {fitted.result_.log_likelihood:.6f}" in text
    with pytest.raises(ValueError, match="feature names should match"):
        fitted.predict(frame[["age", "dose"]].rename(columns={"age": "weight"}))


def test_concomitant_variables() -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    n = 1500
    w = rng.standard_normal(n)
    p_first = 1 / (1 + np.exp(-2.0 * w))
    z = (rng.random(n) >= p_first).astype(int)
    x = rng.uniform(-2, 2, size=(n, 1))
    y = TRUE_INTERCEPT[z] + TRUE_SLOPE[z] * x[:, 0] + NOISE * rng.standard_normal(n)
    fitted = RegressionMixture(2, random_state=SEED).fit(
        x, y, concomitant=pd.DataFrame({"income": w})
    )
    assert fitted.n_concomitant_in_ == 1
    assert fitted.gating_.shape == (2, 2)
    np.testing.assert_array_equal(fitted.gating_[0], 0.0)
    # The second component's log-odds against the first fall with w: slope about -2 or +2.
    assert abs(abs(fitted.gating_[1, 1]) - 2.0) < 0.5
    np.testing.assert_array_equal(fitted.concomitant_names_in_, ["income"])
    assert "income" in fitted.coefficient_table()
    with pytest.raises(ValueError, match="`concomitant` is required"):
        fitted.predict(x)
    mean = fitted.predict(x, concomitant=pd.DataFrame({"income": w}))
    assert mean.shape == (n,)
    with pytest.raises(ValueError, match="concomitant variables' names"):
        fitted.predict(x, concomitant=pd.DataFrame({"salary": w}))
    with pytest.raises(ValueError, match="pass `X` and `concomitant`"):
        fitted.sample(3)


def grouped_data(n_groups: int = 150, seed: int = 4) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 6, size=n_groups)
    z_group = rng.integers(0, 2, size=n_groups)
    z = np.repeat(z_group, lengths)
    n = int(lengths.sum())
    x = rng.uniform(-2, 2, size=(n, 1))
    y = TRUE_INTERCEPT[z] + TRUE_SLOPE[z] * x[:, 0] + 0.8 * rng.standard_normal(n)
    ids = np.repeat(rng.permutation(n_groups) * 7 + 3, lengths)  # unsorted, consecutive runs
    return x, y, ids, lengths


def test_groups_equal_the_model_with_lengths() -> None:
    x, y, ids, lengths = grouped_data()
    fitted = RegressionMixture(2, random_state=SEED, tol=1e-8).fit(x, y, groups=ids)
    model = RegressionModel(2)
    data = np.column_stack([x, y])
    result = emkit.fit(
        model, data, lengths=lengths, init="random", n_init=5, random_state=SEED, tol=1e-8
    )
    np.testing.assert_allclose(
        fitted.result_.params.coef, result.params.coef, rtol=SAME_RTOL, atol=SAME_ATOL
    )
    np.testing.assert_allclose(fitted.weights_, result.params.weights, rtol=SAME_RTOL)
    assert fitted.result_.log_likelihood == pytest.approx(result.log_likelihood, rel=SAME_RTOL)
    resp = fitted.predict_proba(x, y, groups=ids)
    np.testing.assert_allclose(
        resp, model.responsibilities(np.column_stack([x, y]), result.params, lengths), rtol=1e-8
    )
    # Every row of a group has the group's posterior.
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    np.testing.assert_array_equal(resp, np.repeat(resp[starts], lengths, axis=0))
    assert fitted.score_samples(x, y, groups=ids).sum() == pytest.approx(
        result.log_likelihood, rel=SAME_RTOL
    )


def test_interleaved_groups_are_put_together_and_answers_come_back_in_row_order() -> None:
    x, y, ids, _lengths = grouped_data(60)
    fitted = RegressionMixture(2, random_state=SEED).fit(x, y, groups=ids)
    shuffle = np.random.default_rng(9).permutation(len(y))
    resp = fitted.predict_proba(x[shuffle], y[shuffle], groups=ids[shuffle])
    np.testing.assert_allclose(resp, fitted.predict_proba(x, y, groups=ids)[shuffle], rtol=1e-10)
    log_prob = fitted.score_samples(x[shuffle], y[shuffle], groups=ids[shuffle])
    assert log_prob.sum() == pytest.approx(fitted.score_samples(x, y, groups=ids).sum())
    # Groups named by strings work the same.
    names = np.array([f"subject-{i}" for i in ids])
    np.testing.assert_allclose(fitted.predict_proba(x, y, groups=names), resp[np.argsort(shuffle)])


def test_groups_of_one_row_equal_the_ungrouped_fit() -> None:
    x, y, _ = two_lines(500)
    grouped = RegressionMixture(2, random_state=SEED).fit(x, y, groups=np.arange(len(y)))
    plain = RegressionMixture(2, random_state=SEED).fit(x, y)
    np.testing.assert_allclose(grouped.coef_, plain.coef_, rtol=SAME_RTOL, atol=SAME_ATOL)
    np.testing.assert_allclose(grouped.scale_, plain.scale_, rtol=SAME_RTOL)
    assert grouped.n_iter_ == plain.n_iter_


def test_save_and_load(tmp_path: object, lines: tuple[np.ndarray, ...]) -> None:
    x, y, _, fitted = lines
    path = f"{tmp_path}/regression.json"
    emkit.save(fitted, path)
    loaded = emkit.load(path)
    assert isinstance(loaded, RegressionMixture)
    assert loaded.get_params() == fitted.get_params()
    for name in ("weights_", "intercept_", "coef_", "scale_", "lower_bounds_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(fitted, name))
    assert loaded.n_iter_ == fitted.n_iter_
    assert loaded.converged_ == fitted.converged_
    np.testing.assert_array_equal(loaded.predict_proba(x, y), fitted.predict_proba(x, y))


def test_save_and_load_keep_the_names(tmp_path: object) -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(6)
    x, y, _ = two_lines(300)
    frame = pd.DataFrame({"dose": x[:, 0]})
    w = pd.DataFrame({"income": rng.standard_normal(len(y))})
    fitted = RegressionMixture(2, random_state=SEED).fit(
        frame, pd.Series(y, name="yield"), concomitant=w
    )
    path = f"{tmp_path}/named.json"
    emkit.save(fitted, path)
    loaded = emkit.load(path)
    np.testing.assert_array_equal(loaded.feature_names_in_, ["dose"])
    np.testing.assert_array_equal(loaded.concomitant_names_in_, ["income"])
    assert loaded.target_name_ == "yield"
    np.testing.assert_array_equal(loaded.gating_, fitted.gating_)
    assert loaded.summary() == fitted.summary()


def test_save_and_load_concomitant_without_names(tmp_path: object) -> None:
    x, y, _ = two_lines(300)
    w = np.random.default_rng(7).standard_normal(len(y))
    fitted = RegressionMixture(2, random_state=SEED).fit(x, y, concomitant=w)
    path = f"{tmp_path}/gated.json"
    emkit.save(fitted, path)
    loaded = emkit.load(path)
    assert loaded.n_concomitant_in_ == 1
    assert not hasattr(loaded, "target_name_")
    assert not hasattr(loaded, "concomitant_names_in_")
    np.testing.assert_array_equal(loaded.predict(x, w), fitted.predict(x, w))


def test_get_params_set_params_and_clone() -> None:
    estimator = RegressionMixture(3, "poisson", n_init=2, random_state=1)
    params = estimator.get_params()
    assert params["n_components"] == 3
    assert params["family"] == "poisson"
    assert params["shared_scale"] is False
    assert params["tol"] == 1e-3
    assert (
        repr(estimator)
        == "RegressionMixture(family='poisson', n_components=3, n_init=2, random_state=1)"
    )
    assert estimator.set_params(shared_scale=True) is estimator
    with pytest.raises(ValueError, match="Invalid parameter 'n_states'"):
        estimator.set_params(n_states=2)
    copy = type(estimator)(**estimator.get_params())
    assert copy.get_params() == estimator.get_params()
    sklearn_base = pytest.importorskip("sklearn.base")
    clone = sklearn_base.clone(estimator)
    assert clone.get_params() == estimator.get_params()
    assert clone is not estimator


def test_shared_scale() -> None:
    x, y, _ = two_lines(600)
    fitted = RegressionMixture(2, shared_scale=True, random_state=SEED).fit(x, y)
    assert fitted.scale_[0] == fitted.scale_[1]
    assert "shared scale" in fitted.summary()


def test_errors() -> None:
    x, y, _ = two_lines(100)
    with pytest.raises(NotFittedError):
        RegressionMixture().predict(x)
    with pytest.raises(ValueError, match="`y` has 99 values, but `X` has 100 rows"):
        RegressionMixture().fit(x, y[:99])
    with pytest.raises(ValueError, match=r"counts \(whole numbers >= 0\).*found -1 at row 4"):
        RegressionMixture(family="poisson").fit(x, np.r_[np.ones(4), -1.0, np.ones(95)])
    with pytest.raises(ValueError, match="0 or 1 for family='bernoulli'; found 2 at row 0"):
        RegressionMixture(family="bernoulli").fit(x, np.r_[2.0, np.zeros(99)])
    with pytest.raises(ValueError, match="`family` must be one of"):
        RegressionMixture(family="gamma").fit(x, y)
    with pytest.raises(ValueError, match="`n_init` must be"):
        RegressionMixture(n_init=0).fit(x, y)
    with pytest.raises(
        ValueError, match="`y` must contain only finite values; found nan at index 0"
    ):
        RegressionMixture().fit(x, np.r_[np.nan, y[1:]])
    with pytest.raises(ValueError, match=r"`groups` must hold one id per row: shape \(100,\)"):
        RegressionMixture().fit(x, y, groups=np.arange(99))
    groups = np.repeat(np.arange(50), 2)
    weights = np.ones(100)
    weights[3] = 2.0
    with pytest.raises(
        ValueError,
        match="`sample_weight` must be the same on every row of a "
        "group; row 3 differs from row 2 of its group 1",
    ):
        RegressionMixture().fit(x, y, groups=groups, sample_weight=weights)
    concomitant = np.arange(100.0)
    with pytest.raises(ValueError, match="concomitant variables must be the same on every row"):
        RegressionMixture().fit(x, y, groups=groups, concomitant=concomitant)
    with pytest.raises(ValueError, match="`concomitant` has 99 rows, but `X` has 100"):
        RegressionMixture().fit(x, y, concomitant=concomitant[:99])
    fitted = RegressionMixture(random_state=SEED).fit(x, y)
    with pytest.raises(ValueError, match="X has 2 features, but RegressionMixture is expecting 1"):
        fitted.predict(np.ones((3, 2)))
    with pytest.raises(ValueError, match="fitted without concomitant variables"):
        fitted.predict(x, concomitant=concomitant)
