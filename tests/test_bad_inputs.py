"""Property-based bad-input suite: every bad argument gives a quick, named ValueError or
TypeError, before any numba kernel runs (no segfault, no hang)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from captum_spex import spex

BAD_INTS = st.one_of(
    st.integers(max_value=0),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.complex_numbers(max_magnitude=5),
)
SETTINGS = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

COUNTS = {"spex": 0}


def _ok(masks):
    return masks[:, 0].astype(float)


def _check(exc_info_type, message, names):
    assert exc_info_type in (ValueError, TypeError)
    assert any(name in message for name in names), message


def _call(**kwargs):
    args = {"value_function": _ok, "n_features": 40, "n_samples": 3000}
    args.update(kwargs)
    f = args.pop("value_function")
    n = args.pop("n_features")
    try:
        spex(f, n, **args)
    except (ValueError, TypeError) as exc:
        COUNTS["spex"] += 1
        return type(exc), str(exc)
    raise AssertionError(f"no error for {kwargs}")


@SETTINGS
@given(bad=BAD_INTS)
def test_bad_n_features(bad):
    _check(*_call(n_features=bad), ["n_features"])


@SETTINGS
@given(bad=st.one_of(BAD_INTS, st.integers(min_value=1, max_value=31)))
def test_bad_or_too_small_n_samples(bad):
    _check(*_call(n_samples=bad), ["n_samples"])


@SETTINGS
@given(bad=st.integers(min_value=1, max_value=700))
def test_budget_below_the_spex_design_minimum(bad):
    _check(*_call(n_samples=bad, method="spex"), ["n_samples"])


@SETTINGS
@given(bad=BAD_INTS)
def test_bad_max_degree(bad):
    _check(*_call(max_degree=bad), ["max_degree"])


@SETTINGS
@given(bad=st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=2)))
def test_bad_seed(bad):
    _check(*_call(seed=bad), ["seed"])


@SETTINGS
@given(bad=st.one_of(st.integers(), st.text(max_size=3), st.none(), st.lists(st.integers())))
def test_non_callable_value_function(bad):
    _check(*_call(value_function=bad), ["callable"])


@SETTINGS
@given(
    kind=st.sampled_from(
        ["short", "long", "3d", "scalar", "text", "nan", "inf", "complex", "none", "outputs-change"]
    ),
    n=st.integers(min_value=14, max_value=80),
)
def test_value_functions_returning_garbage(kind, n):
    calls = {"k": 0}

    def f(masks):
        calls["k"] += 1
        m = len(masks)
        if kind == "short":
            return np.zeros(m - 1)
        if kind == "long":
            return np.zeros(m + 3)
        if kind == "3d":
            return np.zeros((m, 2, 2))
        if kind == "scalar":
            return 1.0
        if kind == "text":
            return ["a"] * m
        if kind == "nan":
            return np.full(m, np.nan)
        if kind == "inf":
            out = np.zeros(m)
            out[-1] = np.inf
            return out
        if kind == "complex":
            return np.zeros(m, dtype=complex)
        if kind == "none":
            return None
        return np.zeros((m, 1 + calls["k"]))

    _check(
        *_call(value_function=f, n_features=n, n_samples=5000, batch_size=1000), ["value_function"]
    )


@SETTINGS
@given(n=st.integers(min_value=1, max_value=3), budget=st.integers(min_value=1, max_value=8))
def test_tiny_problems_either_work_exactly_or_name_the_minimum(n, budget):
    try:
        res = spex(lambda m: m.sum(1).astype(float), n, n_samples=budget)
    except ValueError as exc:
        assert budget < 1 << n and str(1 << n) in str(exc)
        return
    assert res.n_queries == 1 << n <= budget
    np.testing.assert_allclose(res.shapley_values(), np.ones(n), atol=1e-12)


def test_huge_budget_is_capped_not_a_memory_bomb():
    res = spex(lambda m: m[:, :3].sum(1).astype(float), 5000, n_samples=10**12, max_degree=2)
    assert res.n_queries * 5000 <= 1 << 29
    assert {k for k, v in res.fourier().items() if abs(v) > 1e-9} == {(), (0,), (1,), (2,)}


def test_counts_were_exercised():
    # the suite above ran (this reports how many bad inputs were tried)
    print(f"bad spex() inputs tried: {COUNTS['spex']}")
    assert COUNTS["spex"] >= 500


# ------------------------------------------------------------------ SpexInteractions
torch = __import__("torch")
from captum_spex import SpexInteractions  # noqa: E402

COUNTS["attribute"] = 0


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(6, 2)

    def forward(self, x):
        return self.lin(x.float())


_NET = _Net().eval()
_X = torch.rand(2, 6)


def _attr_call(method="attribute", **kwargs):
    args = {"inputs": _X, "target": 0, "n_samples": 64}
    args.update(kwargs)
    explainer = SpexInteractions(args.pop("forward_func", _NET))
    try:
        getattr(explainer, method)(**args)
    except (ValueError, TypeError) as exc:
        COUNTS["attribute"] += 1
        return type(exc), str(exc)
    raise AssertionError(f"no error for {kwargs}")


BAD_TENSORS = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=3),
    st.lists(st.floats(allow_nan=False), max_size=3),
    st.just(()),
    st.just(np.zeros((2, 6))),
)


@SETTINGS
@given(bad=BAD_TENSORS, method=st.sampled_from(["attribute", "attribute_interactions"]))
def test_attribute_bad_inputs(bad, method):
    _check(*_attr_call(method, inputs=bad), ["inputs"])


@SETTINGS
@given(
    shape=st.sampled_from([(2, 5), (2, 7), (3, 6), (2, 6, 1), (5,)]),
    method=st.sampled_from(["attribute", "attribute_interactions"]),
)
def test_attribute_feature_mask_of_wrong_shape(shape, method):
    mask = torch.zeros(shape, dtype=torch.long)
    _check(*_attr_call(method, feature_mask=mask), ["feature_mask"])


@SETTINGS
@given(
    bad=st.one_of(
        st.floats(allow_nan=True),
        st.text(max_size=2),
        st.just(torch.full((1, 6), 0.5)),  # Captum takes whole-number floats, not these
    )
)
def test_attribute_feature_mask_of_wrong_type(bad):
    _check(*_attr_call(feature_mask=bad), ["feature_mask"])


@SETTINGS
@given(
    bad=st.one_of(
        st.integers(min_value=2, max_value=10**6),
        st.integers(max_value=-3),
        st.text(min_size=1, max_size=2),
        st.floats(allow_nan=True),
        st.lists(st.integers(0, 1), min_size=3, max_size=4),
    )
)
def test_attribute_bad_target(bad):
    _check(*_attr_call(target=bad), ["target"])


@SETTINGS
@given(
    name=st.sampled_from(["n_samples", "max_degree", "perturbations_per_eval", "seed"]),
    bad=st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=2), st.just(True)),
)
def test_attribute_bad_numbers(name, bad):
    _check(*_attr_call(**{name: bad}), [name])


@SETTINGS
@given(
    bad=st.one_of(
        st.text(max_size=2),
        st.just(torch.zeros(3, 6)),
        st.just((0.0, 1.0)),
        st.lists(st.integers(), min_size=1, max_size=2),
    )
)
def test_attribute_bad_baselines(bad):
    _check(*_attr_call(baselines=bad), ["baselines"])


def test_attribute_forward_of_wrong_length_is_named():
    def forward(x):
        return torch.zeros(x.shape[0] + 1)

    _check(
        *_attr_call(forward_func=forward, target=None, inputs=torch.rand(2, 6)),
        ["forward", "output", "shape"],
    )


def test_attribute_counts_were_exercised():
    print(f"bad SpexInteractions inputs tried: {COUNTS['attribute']}")
    assert COUNTS["attribute"] >= 500


# ------------------------------------------------------------------ LLMSpexAttribution
COUNTS["llm"] = 0


def _llm():
    from captum_spex.attr.llm import LLMSpexAttribution
    from tests.fixtures.tiny_lm import tiny_gpt2

    model, tok = tiny_gpt2()
    return LLMSpexAttribution(SpexInteractions(model), tok), tok


_LLM = []


@pytest.fixture(scope="module")
def llm_ready():
    # built once, outside hypothesis' per-example deadline
    if not _LLM:
        _LLM.append(_llm())


_DEFAULT_INP = object()


def _llm_call(inp=_DEFAULT_INP, **kwargs):
    from captum.attr import TextTemplateInput

    if not _LLM:
        _LLM.append(_llm())
    explainer, _ = _LLM[0]
    if inp is _DEFAULT_INP:
        inp = TextTemplateInput("the {} sat on the {}", ["cat", "mat"])
    args = {"target": "dog", "n_samples": 4}
    args.update(kwargs)
    try:
        explainer.attribute(inp, **args)
    except (ValueError, TypeError) as exc:
        COUNTS["llm"] += 1
        return type(exc), str(exc)
    raise AssertionError(f"no error for {kwargs}")


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["n_samples", "max_degree", "seed", "batch_size"]),
    bad=st.one_of(st.integers(max_value=-1), st.floats(), st.text(max_size=2), st.just(True)),
)
@pytest.mark.usefixtures("llm_ready")
def test_llm_attribute_bad_numbers(name, bad):
    _check(*_llm_call(**{name: bad}), [name])


@settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(
    bad=st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=5),
        st.just(torch.ones(1, 2)),
        st.lists(st.text(max_size=2), max_size=2),
    )
)
@pytest.mark.usefixtures("llm_ready")
def test_llm_attribute_bad_inputs(bad):
    _check(*_llm_call(inp=bad), ["inp"])


@settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(
    bad=st.one_of(
        st.text(max_size=3).filter(lambda s: s not in ("spex", "proxy")), st.integers(), st.none()
    )
)
@pytest.mark.usefixtures("llm_ready")
def test_llm_attribute_bad_method_or_attribution(bad):
    _check(*_llm_call(method=bad), ["method"])
    _check(*_llm_call(attribution=bad), ["attribution"])


@pytest.mark.usefixtures("llm_ready")
def test_llm_attribute_bad_targets_and_budget():
    _check(*_llm_call(target=3.5), ["target"])
    _check(*_llm_call(target=""), ["target"])
    _check(*_llm_call(n_samples=2, target="dog"), ["n_samples"])


def test_llm_counts_were_exercised():
    print(f"bad LLMSpexAttribution inputs tried: {COUNTS['llm']}")
    assert COUNTS["llm"] >= 150
