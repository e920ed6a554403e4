"""CategoricalMixture: levels learned from strings, integers, booleans and DataFrames, latent
class analysis recovery, the fitted attributes, errors and save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import emkit
import emkit.protocols
from emkit.estimators import CategoricalMixture
from emkit.testing import check_model

#: Recovered class-conditional probabilities within this many standard errors.
RECOVERY_SIGMAS = 4.0
#: Fits of the same codes given in different forms: the same arithmetic, bit for bit.
SAME_FIT_ATOL = 0.0
#: Responsibilities sum to 1 up to round-off.
PROBA_SUM_ATOL = 1e-12

#: Three classes, six items with 3 or 4 levels: P(item d = level l | class k).
LCA_DESIGN = [
    np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]),
    np.array([[0.7, 0.2, 0.1], [0.2, 0.1, 0.7], [0.2, 0.7, 0.1]]),
    np.array([[0.6, 0.2, 0.1, 0.1], [0.1, 0.1, 0.2, 0.6], [0.1, 0.6, 0.2, 0.1]]),
    np.array([[0.1, 0.1, 0.8], [0.8, 0.1, 0.1], [0.2, 0.6, 0.2]]),
    np.array([[0.5, 0.3, 0.1, 0.1], [0.1, 0.5, 0.3, 0.1], [0.1, 0.1, 0.3, 0.5]]),
    np.array([[0.2, 0.7, 0.1], [0.7, 0.1, 0.2], [0.1, 0.2, 0.7]]),
]
LCA_WEIGHTS = np.array([0.5, 0.3, 0.2])
WORDS = np.array(["agree", "disagree", "neutral", "unsure"])


def draw_lca(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    z = rng.choice(3, size=n, p=LCA_WEIGHTS)
    codes = np.empty((n, len(LCA_DESIGN)), dtype=np.int64)
    for d, table in enumerate(LCA_DESIGN):
        cumulative = np.cumsum(table[z], axis=1)
        codes[:, d] = (rng.random(n)[:, None] > cumulative).sum(axis=1)
    return codes, z


def test_latent_class_analysis_recovers_the_design_within_standard_errors() -> None:
    rng = np.random.default_rng(7)
    codes, _ = draw_lca(rng, 3000)
    X = WORDS[codes]  # sorted words keep the codes' order
    est = CategoricalMixture(3, n_init=3, random_state=0, tol=1e-8, max_iter=1000).fit(X)
    assert est.converged_
    cost = sum(
        np.abs(p[:, None, :] - t[None, :, :]).sum(axis=2)
        for p, t in zip(est.probabilities_, LCA_DESIGN, strict=True)
    )
    rows, cols = linear_sum_assignment(cost)
    order = rows[np.argsort(cols)]  # fitted class matching true class k
    counts = est.predict_proba(X).sum(axis=0)[order]
    for d, table in enumerate(LCA_DESIGN):
        np.testing.assert_array_equal(est.categories_[d], WORDS[: table.shape[1]])
        fitted = est.probabilities_[d][order]
        se = np.sqrt(table * (1 - table) / counts[:, None])
        assert np.all(np.abs(fitted - table) <= RECOVERY_SIGMAS * se), (d, fitted, table)
    se_w = np.sqrt(LCA_WEIGHTS * (1 - LCA_WEIGHTS) / X.shape[0])
    assert np.all(np.abs(est.weights_[order] - LCA_WEIGHTS) <= RECOVERY_SIGMAS * se_w)


def binary_table(rng: np.random.Generator, n: int) -> np.ndarray:
    z = rng.random(n) < 0.4
    p = np.where(z[:, None], [0.9, 0.8, 0.2], [0.1, 0.3, 0.7])
    return (rng.random((n, 3)) < p).astype(np.int64)


def test_string_integer_boolean_and_dataframe_input_give_the_same_fit() -> None:
    pd = pytest.importorskip("pandas")
    codes = binary_table(np.random.default_rng(3), 400)
    forms = {
        "int": codes,
        "shifted int": codes * 5 + 2,
        "bool": codes.astype(bool),
        "str": np.array(["no", "yes"])[codes],
        "list of str": np.array(["no", "yes"])[codes].tolist(),
        "frame": pd.DataFrame(
            {
                "a": pd.Categorical(np.array(["no", "yes"])[codes[:, 0]]),
                "b": codes[:, 1].astype(bool),
                "c": codes[:, 2],
            }
        ),
    }
    fits = {name: CategoricalMixture(2, random_state=1).fit(X) for name, X in forms.items()}
    reference = fits["int"]
    for name, est in fits.items():
        np.testing.assert_allclose(est.weights_, reference.weights_, rtol=0, atol=SAME_FIT_ATOL)
        for p, q in zip(est.probabilities_, reference.probabilities_, strict=True):
            np.testing.assert_allclose(p, q, rtol=0, atol=SAME_FIT_ATOL, err_msg=name)
        np.testing.assert_array_equal(est.predict(forms[name]), reference.predict(codes))
    frame = fits["frame"]
    np.testing.assert_array_equal(frame.feature_names_in_, ["a", "b", "c"])
    assert [c.tolist() for c in frame.categories_] == [["no", "yes"], [False, True], [0, 1]]
    assert fits["shifted int"].categories_[0].tolist() == [2, 7]


def test_fitted_attributes_and_predict_proba() -> None:
    rng = np.random.default_rng(0)
    codes, _ = draw_lca(rng, 600)
    X = WORDS[codes]
    est = CategoricalMixture(3, random_state=0).fit(X)
    assert est.weights_.shape == (3,)
    assert [p.shape for p in est.probabilities_] == [(3, t.shape[1]) for t in LCA_DESIGN]
    for p in est.probabilities_:
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=PROBA_SUM_ATOL)
    np.testing.assert_array_equal(est.n_levels_, [3, 3, 4, 3, 4, 3])
    proba = est.predict_proba(X)
    assert proba.shape == (600, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=PROBA_SUM_ATOL)
    np.testing.assert_array_equal(est.predict(X), proba.argmax(axis=1))
    assert est.score(X) == pytest.approx(est.score_samples(X).mean())
    assert est.lower_bound_ == pytest.approx(est.score(X), abs=1e-3)
    assert isinstance(est.n_iter_, int)
    assert isinstance(est.converged_, bool)


def test_bic_and_aic_count_free_parameters() -> None:
    rng = np.random.default_rng(1)
    codes, _ = draw_lca(rng, 300)
    X = WORDS[codes]
    est = CategoricalMixture(3, random_state=0).fit(X)
    n_params = (3 - 1) + 3 * sum(t.shape[1] - 1 for t in LCA_DESIGN)
    log_likelihood = est.score_samples(X).sum()
    assert est.bic(X) == pytest.approx(-2 * log_likelihood + n_params * np.log(300))
    assert est.aic(X) == pytest.approx(-2 * log_likelihood + 2 * n_params)


def test_sample_returns_levels() -> None:
    X = np.array(["red", "green", "blue"])[np.random.default_rng(2).integers(0, 3, (200, 2))]
    est = CategoricalMixture(2, random_state=0).fit(X)
    drawn, classes = est.sample(50)
    assert drawn.shape == (50, 2)
    assert classes.shape == (50,)
    assert set(drawn.ravel()) <= {"red", "green", "blue"}
    mixed = np.empty((200, 2), dtype=object)
    mixed[:, 0] = X[:, 0]
    mixed[:, 1] = np.arange(200) % 2 == 0
    drawn, _ = CategoricalMixture(2, random_state=0).fit(mixed).sample(20)
    assert drawn.dtype == object
    assert {type(v) for v in drawn[:, 1]} <= {bool, np.bool_}


def test_bad_input_raises_errors_naming_column_and_value() -> None:
    X = np.array(["a", "b", "c"])[np.random.default_rng(4).integers(0, 3, (50, 2))]
    est = CategoricalMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"column 1 holds the level 'z' at row 1.*not seen in fit"):
        est.predict(np.array([["a", "b"], ["a", "z"]]))
    with pytest.raises(ValueError, match="column 0 holds integer values"):
        est.predict(np.array([[1, 2]]))
    with pytest.raises(ValueError, match="expecting 2 features"):
        est.predict(np.array([["a", "b", "c"]]))
    with pytest.raises(ValueError, match="single level 'x'"):
        CategoricalMixture(2).fit(np.array([["x", "a"], ["x", "b"]]))
    with pytest.raises(ValueError, match="missing value None at row 1"):
        CategoricalMixture(2).fit(np.array([["a"], [None], ["b"]], dtype=object))
    with pytest.raises(ValueError, match="missing or infinite value nan at row 0"):
        CategoricalMixture(2).fit(np.array([[np.nan], [1.0], [2.0]]))
    with pytest.raises(ValueError, match="one kind of level"):
        CategoricalMixture(2).fit(np.array([["a"], [1], ["b"]], dtype=object))
    with pytest.raises(ValueError, match="n_components"):
        CategoricalMixture(0).fit(X)


def test_dataframe_unseen_level_names_the_column() -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "colour": np.array(["red", "blue"])[rng.integers(0, 2, 60)],
            "size": rng.integers(1, 3, 60),
        }
    )
    est = CategoricalMixture(2, random_state=0).fit(frame)
    with pytest.raises(ValueError, match=r"column 1 \('size'\) holds the level 3"):
        est.predict(pd.DataFrame({"colour": ["red"], "size": [3]}))


def test_get_params_set_params_and_clone() -> None:
    sklearn_base = pytest.importorskip("sklearn.base")
    est = CategoricalMixture(3, pseudo_count=0.5, random_state=2)
    params = est.get_params()
    assert params["n_components"] == 3
    assert params["pseudo_count"] == 0.5
    assert params["init_params"] == "kmeans"
    assert params["weight_concentration"] == 1.0
    est.set_params(n_components=2)
    assert repr(est) == "CategoricalMixture(n_components=2, pseudo_count=0.5, random_state=2)"
    X = np.array(["a", "b", "c"])[np.random.default_rng(5).integers(0, 3, (100, 3))]
    fitted = est.fit(X)
    copy = sklearn_base.clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "categories_")
    np.testing.assert_array_equal(copy.fit(X).predict(X), fitted.predict(X))
    with pytest.raises(ValueError, match="Invalid parameter 'levels'"):
        est.set_params(levels=3)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_start_fits_and_the_mixture_passes_the_contract(init_params: str) -> None:
    codes, _ = draw_lca(np.random.default_rng(6), 300)
    est = CategoricalMixture(3, init_params=init_params, n_init=2, random_state=0).fit(codes)
    assert np.all(np.diff(est.weights_) <= 0) or init_params == "random"
    check_model(est.result_.model, codes.astype(float))


def test_partial_fit_keeps_the_levels_of_the_first_batch() -> None:
    X = np.array(["a", "b", "c"])[np.random.default_rng(8).integers(0, 3, (120, 2))]
    est = CategoricalMixture(2, random_state=0)
    est.partial_fit(X[:60]).partial_fit(X[60:])
    assert est.n_iter_ == 2
    assert [c.tolist() for c in est.categories_] == [["a", "b", "c"]] * 2
    with pytest.raises(ValueError, match="not seen in fit"):
        est.partial_fit(np.array([["a", "d"]]))


def test_save_load_keeps_integer_codes(tmp_path: Path) -> None:
    codes, _ = draw_lca(np.random.default_rng(9), 200)
    est = CategoricalMixture(3, random_state=0).fit(codes)
    emkit.save(est, tmp_path / "lca.json")
    loaded = emkit.load(tmp_path / "lca.json")
    assert isinstance(loaded, CategoricalMixture)
    np.testing.assert_array_equal(loaded.predict(codes), est.predict(codes))
    np.testing.assert_array_equal(loaded.n_levels_, est.n_levels_)
    assert loaded.get_params() == est.get_params()


@pytest.mark.skipif(
    not hasattr(emkit.protocols, "KeepsFittedState"),
    reason="saving learned levels needs the io hook KeepsFittedState",
)
def test_save_load_keeps_string_levels(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    codes, _ = draw_lca(np.random.default_rng(10), 300)
    frame = pd.DataFrame({f"q{d}": WORDS[codes[:, d]] for d in range(3)})
    frame["flag"] = codes[:, 3] > 0
    frame["score"] = codes[:, 4] * 0.5
    est = CategoricalMixture(3, random_state=0).fit(frame)
    emkit.save(est, tmp_path / "lca.json")
    loaded = emkit.load(tmp_path / "lca.json")
    for got, expected in zip(loaded.categories_, est.categories_, strict=True):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    np.testing.assert_array_equal(loaded.predict_proba(frame), est.predict_proba(frame))
    drawn, _ = loaded.sample(5)
    assert set(drawn[:, 0]) <= set(WORDS)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"kinds": ["colour", "string"]}, r"`categories\[0\]` of kind 'colour' is not valid"),
        ({"categories": [["a", 1, "c"], ["a", "b", "c"]]}, r"`categories\[0\]` must hold string"),
        ({"categories": [["a", "b"], ["a", "b", "c"]]}, "must hold 3 string levels"),
        ({"categories": [["c", "b", "a"], ["a", "b", "c"]]}, "must be sorted and distinct"),
        ({"categories": [["a", "b", "c"]]}, "must be lists of 2 entries"),
        ({"levels": []}, "must be {'categories'"),
    ],
)
def test_a_bad_saved_state_is_refused(changes: dict[str, object], match: str) -> None:
    X = np.array(["a", "b", "c"])[np.random.default_rng(11).integers(0, 3, (90, 2))]
    est = CategoricalMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match=match):
        est.restore_fitted_state({**est.fitted_state(), **changes})
    assert [c.tolist() for c in est.categories_] == [["a", "b", "c"]] * 2


def test_a_batch_of_another_width_names_both_widths() -> None:
    X = np.array(["a", "b", "c"])[np.random.default_rng(12).integers(0, 3, (90, 2))]
    est = CategoricalMixture(2, random_state=0).partial_fit(X)
    for method in (est.partial_fit, est.predict):
        with pytest.raises(
            ValueError, match="X has 3 features, but CategoricalMixture is expecting 2"
        ):
            method(np.hstack([X[:5], X[:5, :1]]))
