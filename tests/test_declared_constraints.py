"""Bad values drawn from the declared parameter constraints: every entry point rejects every
one of them with a ValueError/TypeError that names the parameter and the real caller, before
any model call. The tables in the code drive this suite, so they cannot drift apart."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from captum_spex import SpexInteractions, spex
from captum_spex._validation import Optional, check_params
from captum_spex.attr._runner import FRONT_PARAMS
from captum_spex.attr.llm import _PARAMS as LLM_PARAMS
from captum_spex.attr.llm import LLMSpexAttribution
from captum_spex.engine.spex import SPEX_PARAMS
from tests.fixtures.tiny_lm import tiny_gpt2


class _Calls:
    def __init__(self):
        self.n = 0


def _declared(fn, table):
    """(name, bad value) for every parameter of ``fn`` that ``table`` declares."""
    names = [p for p in inspect.signature(fn).parameters if p in table]
    assert names, fn
    return [(name, bad) for name in names for bad in table[name].invalid_values()]


def _expect_named(call, name, caller, calls):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    message = str(info.value)
    assert f"'{name}'" in message and caller in message, message
    assert calls.n == 0, f"the model ran before {name}={message!r} was refused"


# ------------------------------------------------------------------ spex()
_SPEX_CASES = _declared(spex, SPEX_PARAMS)


@pytest.mark.parametrize(("name", "bad"), _SPEX_CASES, ids=lambda v: repr(v)[:20])
def test_spex_rejects_every_declared_bad_value(name, bad):
    calls = _Calls()

    def f(masks):
        calls.n += 1
        return masks[:, 0].astype(float)

    kwargs = {"n_samples": 3000}
    kwargs[name] = bad
    fn = kwargs.pop("value_function", f)
    n = kwargs.pop("n_features", 40)
    _expect_named(lambda: spex(fn, n, **kwargs), name, "spex", calls)


def test_spex_covers_its_whole_table():
    assert {name for name, _ in _SPEX_CASES} == set(SPEX_PARAMS)


# ------------------------------------------------------------------ SpexInteractions
def _counting_model(calls):
    def model(x):
        calls.n += 1
        return x.sum(1)

    return model


@pytest.mark.parametrize("method", ["attribute", "attribute_interactions"])
def test_spex_interactions_rejects_every_declared_bad_value(method):
    fn = getattr(SpexInteractions, method)
    cases = _declared(fn, FRONT_PARAMS)
    assert {"n_samples", "max_degree", "seed", "method", "max_retries", "executor"} <= {
        n for n, _ in cases
    }
    for name, bad in cases:
        calls = _Calls()
        explainer = SpexInteractions(_counting_model(calls))
        call = getattr(explainer, method)
        _expect_named(
            lambda call=call, name=name, bad=bad: call(torch.ones(2, 6), **{name: bad}),
            name,
            f"SpexInteractions.{method}",
            calls,
        )


@settings(max_examples=80, deadline=3000, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(_declared(SpexInteractions.attribute, FRONT_PARAMS)), data=st.data())
def test_spex_interactions_random_pairs_of_bad_values(case, data):
    """Two bad values at once: the error names one of them, and the caller."""
    other = data.draw(st.sampled_from(_declared(SpexInteractions.attribute, FRONT_PARAMS)))
    if other[0] == case[0]:
        return
    calls = _Calls()
    explainer = SpexInteractions(_counting_model(calls))
    with pytest.raises((ValueError, TypeError)) as info:
        explainer.attribute(torch.ones(1, 6), **dict([case, other]))
    message = str(info.value)
    assert "SpexInteractions.attribute" in message
    assert f"'{case[0]}'" in message or f"'{other[0]}'" in message
    assert calls.n == 0


# ------------------------------------------------------------------ LLMSpexAttribution
@pytest.fixture(scope="module")
def llm():
    model, tok = tiny_gpt2()
    calls = _Calls()
    real = model.forward

    def counting(*args, **kwargs):
        calls.n += 1
        return real(*args, **kwargs)

    model.forward = counting
    return LLMSpexAttribution(SpexInteractions(model), tok), calls


def test_llm_rejects_every_declared_bad_value(llm):
    from captum.attr import TextTemplateInput

    explainer, calls = llm
    inp = TextTemplateInput("the {} sat on the {}", ["cat", "mat"])
    cases = _declared(LLMSpexAttribution.attribute, LLM_PARAMS)
    assert {"max_batch_tokens", "batch_size", "max_retries", "executor", "cache"} <= {
        n for n, _ in cases
    }
    for name, bad in cases:
        _expect_named(
            lambda name=name, bad=bad: explainer.attribute(inp, target="dog", **{name: bad}),
            name,
            "LLMSpexAttribution.attribute",
            calls,
        )


def test_llm_bad_max_retries_names_llm_spex_attribution(llm):
    from captum.attr import TextTemplateInput

    explainer, calls = llm
    inp = TextTemplateInput("the {} sat on the {}", ["cat", "mat"])
    with pytest.raises(ValueError, match="'max_retries' parameter of LLMSpexAttribution"):
        explainer.attribute(inp, target="dog", max_retries=-1)
    with pytest.raises(TypeError, match="'executor' parameter of LLMSpexAttribution"):
        explainer.attribute(inp, target="dog", executor="pool")
    assert calls.n == 0


# ------------------------------------------------------------------ the checker itself
@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(sorted(SPEX_PARAMS)),
    caller=st.text(alphabet="abcXYZ._", min_size=1, max_size=12),
)
def test_one_message_shape(name, caller):
    for bad in SPEX_PARAMS[name].invalid_values():
        with pytest.raises((ValueError, TypeError)) as info:
            check_params(caller, SPEX_PARAMS, **{name: bad})
        assert str(info.value).startswith(f"The '{name}' parameter of {caller} must be ")


def test_optional_accepts_none_and_describes_it():
    assert check_params("f", {"x": Optional(SPEX_PARAMS["seed"])}, x=None) == {"x": None}
    with pytest.raises(ValueError, match="an int >= 0 or None; got -1"):
        check_params("f", {"x": Optional(SPEX_PARAMS["seed"])}, x=-1)
    assert np.int64(3) == check_params("f", SPEX_PARAMS, seed=np.int64(3))["seed"]
