"""Tests for the Interactions result object."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from captum_spex.interactions import Interactions


def _random_sparse(rng, n, k, max_deg, n_outputs=None):
    terms = {()}
    while len(terms) < k:
        d = int(rng.integers(1, max_deg + 1))
        terms.add(tuple(sorted(rng.choice(n, size=d, replace=False).tolist())))
    terms = sorted(terms)
    shape = (len(terms),) if n_outputs is None else (len(terms), n_outputs)
    return terms, rng.normal(size=shape)


def _brute_predict(terms, coefs, masks):
    out = []
    for m in masks:
        kept = set(np.flatnonzero(m).tolist())
        out.append(
            sum(c * (-1) ** len(kept.intersection(t)) for t, c in zip(terms, coefs, strict=True))
        )
    return np.array(out)


def test_predict_matches_definition():
    rng = np.random.default_rng(0)
    terms, coefs = _random_sparse(rng, 7, 15, 4)
    inter = Interactions(7, terms, coefs)
    masks = np.array(list(itertools.product([False, True], repeat=7)))
    np.testing.assert_allclose(inter.predict(masks), _brute_predict(terms, coefs, masks))
    # 0/1 ints and a single mask
    np.testing.assert_allclose(inter.predict(masks.astype(int)[5]), inter.predict(masks[5:6]))
    assert inter.predict(masks[5]).shape == (1,)


def test_predict_multi_output_and_chunking(monkeypatch):
    import captum_spex.interactions as mod

    rng = np.random.default_rng(1)
    terms, coefs = _random_sparse(rng, 9, 20, 3, n_outputs=3)
    inter = Interactions(9, terms, coefs)
    masks = rng.random((257, 9)) < 0.5
    full = inter.predict(masks)
    assert full.shape == (257, 3)
    for o in range(3):
        np.testing.assert_allclose(full[:, o], _brute_predict(terms, coefs[:, o], masks))
    monkeypatch.setattr(mod, "_PREDICT_BLOCK", 50)  # blocks of 2 masks
    np.testing.assert_allclose(inter.predict(masks), full, rtol=1e-12, atol=1e-12)


def test_basic_attributes():
    inter = Interactions(4, [(2, 3), (), (1,)], np.array([3.0, 1.0, 2.0]), n_queries=12)
    assert inter.terms == [(), (1,), (2, 3)]
    assert inter.fourier() == {(): 1.0, (1,): 2.0, (2, 3): 3.0}
    assert inter.n_outputs == 1
    assert inter.max_degree == 2
    assert inter.n_queries == 12
    assert inter.diagnostics == {}
    multi = Interactions(4, [(1,), ()], [[1.0, 2.0], [3.0, 4.0]])
    assert multi.n_outputs == 2
    d = multi.fourier()
    np.testing.assert_array_equal(d[(1,)], [1.0, 2.0])
    assert multi.fourier(output=1) == {(): 4.0, (1,): 2.0}


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(n_features=3, terms=[(0, 3)], coefficients=[1.0]), ValueError, "terms"),
        (dict(n_features=3, terms=[(1, 0)], coefficients=[1.0]), ValueError, "ascending"),
        (dict(n_features=3, terms=[(1, 1)], coefficients=[1.0]), ValueError, "ascending"),
        (dict(n_features=3, terms=[(1,), (1,)], coefficients=[1.0, 2.0]), ValueError, "repeat"),
        (dict(n_features=3, terms=[(0.5,)], coefficients=[1.0]), TypeError, "terms"),
        (dict(n_features=3, terms=[(0,)], coefficients=[1.0, 2.0]), ValueError, "coefficients"),
        (dict(n_features=3, terms=[(0,)], coefficients=[np.nan]), ValueError, "coefficients"),
        (dict(n_features=0, terms=[], coefficients=[]), ValueError, "n_features"),
        (
            dict(n_features=3, terms=[(0, 1)], coefficients=[1.0], max_degree=1),
            ValueError,
            "max_degree",
        ),
        (
            dict(n_features=2, terms=[], coefficients=[], feature_names=["a"]),
            ValueError,
            "feature_names",
        ),
        (dict(n_features=2, terms=[], coefficients=[], n_queries=-1), ValueError, "n_queries"),
    ],
)
def test_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Interactions(**kwargs)


def test_predict_validation():
    inter = Interactions(3, [(0,)], [1.0])
    with pytest.raises(ValueError, match="masks"):
        inter.predict(np.zeros((2, 4), dtype=bool))
    with pytest.raises(ValueError, match="masks"):
        inter.predict(np.full((2, 3), 2))


# ---------------------------------------------------------------------- indices via the object
def test_index_names_and_order_validation():
    inter = Interactions(4, [(), (0, 1)], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"one of 'fourier', 'mobius', 'bii', 'sii', 'k-sii'"):
        inter.index("shap")
    with pytest.raises(ValueError, match="order"):
        inter.index("fsii", order=5)
    with pytest.raises(ValueError, match="order"):
        inter.top(3, index="stii", order=0)
    with pytest.raises(ValueError, match="output"):
        inter.fourier(output=1)


def test_default_order_is_max_degree():
    rng = np.random.default_rng(3)
    terms, coefs = _random_sparse(rng, 6, 10, 3)
    inter = Interactions(6, terms, coefs, max_degree=4)
    for name in ("k-sii", "stii", "fsii", "fbii"):
        assert inter.index(name) == inter.index(name, order=4)
        assert inter.index(name) != inter.index(name, order=1)


def test_shapley_banzhaf_multi_output():
    rng = np.random.default_rng(4)
    terms, coefs = _random_sparse(rng, 6, 10, 3, n_outputs=2)
    multi = Interactions(6, terms, coefs)
    phi = multi.shapley_values()
    assert phi.shape == (6, 2)
    for o in range(2):
        single = Interactions(6, terms, coefs[:, o])
        np.testing.assert_allclose(phi[:, o], single.shapley_values(), atol=1e-12)
        np.testing.assert_allclose(multi.shapley_values(output=o), single.shapley_values())
        np.testing.assert_allclose(multi.banzhaf_values(output=o), single.banzhaf_values())
        assert multi.index("sii", output=o) == pytest.approx(single.index("sii"))
    full, empty = np.ones(6, bool), np.zeros(6, bool)
    np.testing.assert_allclose(phi.sum(axis=0), multi.predict(full)[0] - multi.predict(empty)[0])


# ---------------------------------------------------------------------- top
def test_top_order_ties_and_constant():
    inter = Interactions(4, [(), (0,), (1,), (2, 3)], [10.0, -3.0, 3.0, 1.0])
    top = inter.top(3, index="fourier")
    assert [t.term for t in top] == [(0,), (1,), (2, 3)]  # tie kept in canonical order
    assert [t.value for t in top] == [-3.0, 3.0, 1.0]
    term, value = top[0]
    assert (term, value) == ((0,), -3.0)
    with_const = inter.top(2, index="fourier", include_constant=True)
    assert with_const[0] == ((), 10.0)
    assert len(inter.top(100, index="fourier")) == 3
    assert inter.top(0) == []
    # Möbius by default: a((i,)) = -2 F((i,)) - 2 F((i, j)...), a((2, 3)) = 4 F((2, 3))
    assert inter.top(3) == [((0,), 6.0), ((1,), -6.0), ((2, 3), 4.0)]


def test_top_matches_sorted_index():
    rng = np.random.default_rng(8)
    terms, coefs = _random_sparse(rng, 8, 25, 4)
    inter = Interactions(8, terms, coefs)
    for name in ("mobius", "sii", "fsii"):
        ref = sorted(
            ((t, v) for t, v in inter.index(name).items() if t), key=lambda tv: -abs(tv[1])
        )[:7]
        got = inter.top(7, index=name)
        assert [abs(v) for _, v in got] == pytest.approx([abs(v) for _, v in ref])
        assert all(inter.index(name)[t] == v for t, v in got)


def test_top_multi_output_norm_and_column():
    inter = Interactions(3, [(0,), (1,)], [[3.0, 0.0], [2.0, 2.5]])
    assert [t.term for t in inter.top(2, index="fourier")] == [(1,), (0,)]  # norms 3.2 > 3
    np.testing.assert_array_equal(inter.top(1, index="fourier")[0].value, [2.0, 2.5])
    assert inter.top(1, index="fourier", output=0) == [((0,), 3.0)]


# ---------------------------------------------------------------------- r2
def test_r2():
    rng = np.random.default_rng(5)
    terms, coefs = _random_sparse(rng, 10, 12, 3)
    inter = Interactions(10, terms, coefs)
    masks = rng.random((500, 10)) < 0.5
    y = _brute_predict(terms, coefs, masks)
    assert inter.r2(masks, y) == pytest.approx(1.0, abs=1e-12)
    noisy = y + rng.normal(scale=y.std(), size=y.shape)
    expected = 1 - np.sum((noisy - y) ** 2) / np.sum((noisy - noisy.mean()) ** 2)
    assert inter.r2(masks, noisy) == pytest.approx(expected)
    assert inter.r2(masks, noisy) < 0.9
    assert np.isnan(inter.r2(masks, np.ones(500)))
    with pytest.raises(ValueError, match="values"):
        inter.r2(masks, y[:10])


def test_r2_multi_output():
    rng = np.random.default_rng(6)
    terms, coefs = _random_sparse(rng, 7, 9, 3, n_outputs=2)
    inter = Interactions(7, terms, coefs)
    masks = rng.random((200, 7)) < 0.5
    y = inter.predict(masks)
    y[:, 1] += rng.normal(size=200)
    r2 = inter.r2(masks, y)
    assert r2.shape == (2,)
    assert r2[0] == pytest.approx(1.0)
    assert r2[1] < 1.0


# ---------------------------------------------------------------------- persistence
def _rich(multi=False):
    rng = np.random.default_rng(9)
    terms, coefs = _random_sparse(rng, 6, 10, 4, n_outputs=3 if multi else None)
    return Interactions(
        6,
        terms,
        coefs,
        n_queries=1234,
        max_degree=5,
        feature_names=["a", "b", "c", "d", "é", "f g"],
        diagnostics={
            "noise_sd": 0.1 / 3,
            "b": np.int64(7),
            "t": 5,
            "converged": np.bool_(True),
            "per_group": np.array([1.5, np.nan, 1 / 3], dtype=np.float32),
            "counts": np.arange(6, dtype=np.int32).reshape(2, 3),
            "nested": {"x": (1, 2.5, None), "y": "z"},
            "nan": float("nan"),
        },
        method="spex",
    )


@pytest.mark.parametrize("suffix", [".json", ".npz", ".NPZ"])
@pytest.mark.parametrize("multi", [False, True])
def test_save_load_roundtrip(tmp_path, suffix, multi):
    inter = _rich(multi)
    path = tmp_path / f"expl{suffix}"
    inter.save(path)
    back = Interactions.load(str(path))
    assert back == inter
    assert back.n_outputs == inter.n_outputs
    np.testing.assert_array_equal(back.coefficients, inter.coefficients)  # exact floats
    assert back.diagnostics["per_group"].dtype == np.float32
    assert back.diagnostics["nested"]["x"] == [1, 2.5, None]
    assert back.feature_names == inter.feature_names
    assert back.fourier(output=0 if multi else None) == inter.fourier(output=0 if multi else None)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_save_load_edge_cases(tmp_path, suffix):
    for inter in [
        Interactions(3, [], np.zeros((0, 2))),
        Interactions(3, [], []),
        Interactions(3, [()], [[1.0]]),
        Interactions(1, [(0,)], [-0.0]),
    ]:
        inter.save(tmp_path / f"e{suffix}")
        back = Interactions.load(tmp_path / f"e{suffix}")
        assert back == inter
        assert back.n_outputs == inter.n_outputs
        assert back.coefficients.shape == inter.coefficients.shape


def test_saved_files_are_not_pickles(tmp_path):
    inter = _rich()
    inter.save(tmp_path / "x.npz")
    with np.load(tmp_path / "x.npz", allow_pickle=False) as data:
        assert {d.dtype.kind for d in data.values()} <= {"i", "f", "U"}
    inter.save(tmp_path / "x.json")
    import json

    assert json.loads((tmp_path / "x.json").read_text())["format"] == "captum-spex.interactions"


def test_save_load_errors(tmp_path):
    inter = _rich()
    with pytest.raises(ValueError, match="path"):
        inter.save(tmp_path / "x.pkl")
    (tmp_path / "bad.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="not a saved Interactions"):
        Interactions.load(tmp_path / "bad.json")
    np.savez(tmp_path / "bad.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a saved Interactions"):
        Interactions.load(tmp_path / "bad.npz")


def test_equality():
    a = Interactions(3, [(0,), ()], [1.0, 2.0])
    assert a == Interactions(3, [(), (0,)], [2.0, 1.0])  # order of terms is irrelevant
    assert a != Interactions(3, [(), (0,)], [2.0, 1.0 + 1e-15])
    assert a != Interactions(3, [(), (1,)], [2.0, 1.0])
    assert a != Interactions(3, [(), (0,)], [2.0, 1.0], n_queries=1)
    assert a != Interactions(3, [(), (0,)], [[2.0], [1.0]])  # multi-output with 1 output
    assert a != Interactions(3, [(), (0,)], [2.0, 1.0], diagnostics={"b": 3})
    assert a != Interactions(3, [(), (0,)], [2.0, 1.0], feature_names=["x", "y", "z"])
    assert a != "not interactions"
    d1 = Interactions(2, [], [], diagnostics={"v": np.array([1.0, 2.0])})
    assert d1 == Interactions(2, [], [], diagnostics={"v": np.array([1.0, 2.0])})
    assert d1 != Interactions(2, [], [], diagnostics={"v": np.array([1, 2])})
    with pytest.raises(TypeError):
        hash(a)


def test_diagnostics_validation():
    with pytest.raises(TypeError, match="diagnostics"):
        Interactions(2, [], [], diagnostics={"f": object()})
    with pytest.raises(TypeError, match="diagnostics"):
        Interactions(2, [], [], diagnostics={1: 2})
    with pytest.raises(TypeError, match="diagnostics"):
        Interactions(2, [], [], diagnostics=[("b", 1)])


# ---------------------------------------------------------------------- repr
def test_repr_shows_top_names_and_diagnostics():
    inter = Interactions(
        3,
        [(), (0,), (1, 2)],
        [1.0, 0.5, -2.0],
        feature_names=["age", "income", "city"],
        diagnostics={"noise_sd": 0.0123, "b": 8, "t": 5, "n_peeled": 3, "blob": [1, 2]},
        n_queries=99,
    )
    text = repr(inter)
    lines = text.splitlines()
    assert lines[0].startswith("Interactions(n_features=3, n_terms=3")
    assert "n_queries=99" in lines[0]
    assert "noise_sd=0.0123" in text and "b=8" in text and "t=5" in text
    assert "+1 more" in text
    # Möbius: a((1, 2)) = -8 first, then +4, +4, then a((0,)) = -1
    assert lines[3].split() == ["(income,", "city)", "-8"]
    assert "(age)" in lines[-1] and "-1" in lines[-1]
    plain = repr(Interactions(3, [(0,)], [1.0]))
    assert "diagnostics" not in plain and "(0)" in plain


def test_accessors_are_read_only_copies():
    inter = Interactions(3, [(0,), ()], [1.0, 2.0])
    coefs = inter.coefficients
    coefs[:] = 0
    assert inter.fourier() == {(): 2.0, (0,): 1.0}
    arrays = inter.index_arrays("mobius")
    with pytest.raises(ValueError):
        arrays.values[0] = 1.0
    assert len(inter) == 2


# ---------------------------------------------------------------------- messages and top options
def test_top_min_order_and_rtol():
    inter = Interactions(4, [(), (0,), (1,), (2, 3), (0, 1, 2)], [10.0, -3.0, 1e-14, 1.0, 2.0])
    fourier = inter.top(10, index="fourier", rtol=None)
    assert [t.term for t in fourier] == [(0,), (0, 1, 2), (2, 3), (1,)]
    # min_order 2: only genuine interactions, the order of the full ranking kept
    assert [t.term for t in inter.top(10, "fourier", min_order=2)] == [(0, 1, 2), (2, 3)]
    assert inter.top(10, "fourier", min_order=0, rtol=None) == fourier  # no constant...
    with_const = inter.top(10, "fourier", min_order=0, include_constant=True)
    assert with_const[0] == ((), 10.0)  # ...unless include_constant
    # rtol: relative to the largest magnitude of the index (here the constant, 10); the
    # default 1e-12 leaves out the values that are zero up to rounding
    assert [t.term for t in inter.top(10, "fourier", rtol=1e-12)] == [(0,), (0, 1, 2), (2, 3)]
    assert inter.top(10, "fourier") == inter.top(10, "fourier", rtol=1e-12)
    assert [t.term for t in inter.top(10, "fourier", rtol=0.15)] == [(0,), (0, 1, 2)]
    assert inter.top(10, "fourier", rtol=0.0) == fourier  # 1e-14 > 0: kept


@pytest.mark.parametrize(
    ("call", "exc", "message"),
    [
        (
            lambda i: i.top(-1),
            ValueError,
            "The 'k' parameter of Interactions.top must be an int >= 0; got -1.",
        ),
        (
            lambda i: i.top(2.5),
            TypeError,
            "The 'k' parameter of Interactions.top must be an int >= 0; got 2.5 of type float.",
        ),
        (
            lambda i: i.top(3, min_order=-1),
            ValueError,
            "The 'min_order' parameter of Interactions.top must be an int >= 0; got -1.",
        ),
        (
            lambda i: i.top(3, include_constant=1),
            TypeError,
            "The 'include_constant' parameter of Interactions.top must be a bool; got 1 of type "
            "int.",
        ),
        (
            lambda i: i.fourier(output=2),
            ValueError,
            "The 'output' parameter of Interactions.fourier must be an int in [0, 1] or None; "
            "got 2.",
        ),
        (
            lambda i: i.index("fsii", order=5),
            ValueError,
            "The 'order' parameter of Interactions.index must be an int in [1, 4] or None; got 5.",
        ),
        (
            lambda i: i.shapley_values(output=-1),
            ValueError,
            "The 'output' parameter of Interactions.shapley_values must be an int in [0, 1] or "
            "None; got -1.",
        ),
    ],
)
def test_messages_name_the_method(call, exc, message):
    inter = Interactions(4, [(), (0, 1)], [[1.0, 0.0], [2.0, 1.0]])
    with pytest.raises(exc) as info:
        call(inter)
    assert str(info.value) == message


def test_constructor_messages_name_the_class():
    with pytest.raises(ValueError) as info:
        Interactions(0, [], [])
    assert str(info.value) == (
        "The 'n_features' parameter of Interactions must be an int >= 1; got 0."
    )
    with pytest.raises(ValueError, match=r"'max_degree' parameter of Interactions .* \[2, 3\]"):
        Interactions(3, [(0, 1)], [1.0], max_degree=1)
    with pytest.raises(ValueError, match="'terms' parameter of Interactions .*ascending"):
        Interactions(3, [(1, 0)], [1.0])
    with pytest.raises(ValueError, match="'path' parameter of Interactions.save"):
        Interactions(3, [(0,)], [1.0]).save("x.pkl")


# ---------------------------------------------------------------------- issue 15
def test_quick_start_top_has_no_numerical_zeros():
    from captum_spex import spex

    def value_function(masks):
        return 2.0 * (masks[:, 3] & masks[:, 7]) + 0.5 * masks[:, 1]

    result = spex(value_function, 40, n_samples=3000, max_degree=3, seed=0)
    top = result.top(3)
    assert [t.term for t in top] == [(3, 7), (1,)]  # not a 9.7e-15 (7,) as third
    assert all(abs(t.value) > 0.1 for t in top)
    assert len(result.top(3, rtol=None)) == 3  # the zeros are still there when asked for


def test_top_terms_carry_the_feature_names():
    import pickle

    inter = Interactions(
        3, [(), (0,), (1, 2)], [5.0, 0.5, -2.0], feature_names=["not", "bad", "at all"]
    )
    (term, value), second = inter.top(2, index="fourier")
    assert (term, value) == ((1, 2), -2.0)  # unpacks as before
    first = inter.top(1, index="fourier")[0]
    assert first.names == ("bad", "at all") and first.label == "(bad, at all)"
    assert second.label == "(not)"
    # the repr (and str) show the names beside the ids
    assert repr(second) == "TopTerm(term=(0,), names=('not',), value=0.5)"
    assert str(first) == "TopTerm(term=(1, 2), names=('bad', 'at all'), value=-2.0)"
    assert pickle.loads(pickle.dumps(first)).names == ("bad", "at all")
    unnamed = Interactions(3, [(0, 2)], [1.0]).top(1, index="fourier")[0]
    assert unnamed.names is None and unnamed.label == "(0, 2)"
    assert repr(unnamed) == str(unnamed) == "TopTerm(term=(0, 2), value=1.0)"
    multi = Interactions(2, [(0, 1)], [[1.0, 2.0]], feature_names=["a", "b"])
    assert multi.top(1, index="fourier")[0].label == "(a, b)"


# ---------------------------------------------------------------------- the summary (repr)
def test_repr_says_what_each_term_count_is():
    from captum_spex._interactions_views import _format_diagnostics

    # one Fourier term of degree 3 (and the constant) expands to 7 Möbius terms; the method
    # "fitted" 1 term
    inter = Interactions(
        3,
        [(), (0, 1, 2)],
        [1.0, 0.5],
        diagnostics={"mode": "auto", "n_terms": 1, "r2_estimate": 0.95412, "fit_seconds": 1.5},
        n_queries=1000,
        method="auto",
    )
    lines = repr(inter).splitlines()
    assert "n_terms=2," in lines[0]  # the stored terms, constant included
    assert (
        lines[2]
        == "  top Möbius interactions (5 of 7 non-zero Möbius terms, from the 2 Fourier terms):"
    )
    assert "n_terms=1 (fitted by the method" in lines[1]
    # given the stored count, the diagnostics say where the others come from
    assert _format_diagnostics(inter.diagnostics, n_stored=2) == (
        "r2_estimate=0.9541, n_terms=1 (fitted by the method; 2 with the constant) "
        "(+2 more in .diagnostics)"
    )
    assert "(fitted by the method) " in _format_diagnostics(inter.diagnostics, n_stored=1)


def test_repr_counts_only_the_non_zero_terms():
    # Möbius of an exact fit: a 1e-16 term is a zero up to rounding, not a term
    inter = Interactions(3, [(), (0,), (1,)], [1.0, 0.5, 1e-16])
    text = repr(inter)
    assert "(1 of 1 non-zero Möbius term, from the 3 Fourier terms)" in text
    assert "e-16" not in text


def test_repr_of_a_default_result_leads_with_the_fit():
    from captum_spex import spex

    def f(masks):
        return 2.0 * (masks[:, 3] & masks[:, 7]) + 0.5 * masks[:, 1]

    res = spex(f, 40, n_samples=1000, max_degree=3, seed=0)
    head, diag = repr(res).splitlines()[:2]
    assert "method='auto'" in head and "n_queries=1000" in head
    assert diag.startswith("  diagnostics: r2_estimate=")
    assert f"n_terms={res.diagnostics['n_terms']} (fitted by the method" in diag
    assert diag.endswith("more in .diagnostics)")


def test_repr_formats_tiny_and_small_values():
    from captum_spex._interactions_views import _format_value

    # Möbius a((0,)) = -2 F((0,)): a small but real -0.000246, never shown as "+0" or "-0"
    inter = Interactions(3, [(), (0,), (1,)], [1.0, 1.23e-4, 1.0])
    lines = repr(inter).splitlines()
    assert lines[-1].split() == ["(0)", "-0.000246"]
    # a multi-output value: the rounding zero of one output shows as 0
    multi = Interactions(2, [(), (0,)], [[1.0, 1.0], [1.0, 1e-17]])
    assert repr(multi).splitlines()[-1].split() == ["(0)", "[-2,", "0]"]
    assert _format_value(0.0) == "0" and _format_value(7.17812) == "+7.178"
    assert _format_value(3e-13, scale=1.0) == "0" and _format_value(3e-12, scale=1.0) == "+3e-12"
    assert _format_value(np.array([5.0, -1e-15, 1e-3])) == "[+5, 0, +0.001]"


def test_repr_diagnostics_skip_what_does_not_fit_on_a_line():
    from captum_spex._interactions_views import _format_diagnostics

    diag = {
        "r2_estimate": [0.91, 0.8, None, 0.7, 0.6],
        "stopped": "x" * 80,  # a long text: counted, not shown
        "b": 4,
        "noise_sd": 0.0123,
    }
    assert _format_diagnostics(diag) == (
        "r2_estimate=[0.91, 0.8, None, …], noise_sd=0.0123, b=4 (+1 more in .diagnostics)"
    )
    assert _format_diagnostics({}) == ""
    assert _format_diagnostics({"blob": [1, 2]}) == "(+1 more in .diagnostics)"
