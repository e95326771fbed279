"""The query store answers only for the model and input it was filled by (issue 14, part 1).

Every stale-cache case of the issue either misses the store (``n_from_cache == 0``) or raises
the ``cache_key`` request; a hypothesis suite checks the store key itself."""

from __future__ import annotations

import functools
import subprocess
import sys
import textwrap
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from captum_spex import SpexInteractions, spex
from captum_spex._identity import content_identity
from captum_spex.distributed import ModelFactory
from captum_spex.store import fingerprint

ROOT = Path(__file__).resolve().parents[1]
X = torch.linspace(0.1, 0.9, 6).reshape(1, 6)


def _from_cache(forward, cache, x=X, **kwargs):
    """``n_from_cache`` of one cached run (64 masks: the exact transform of 6 features)."""
    kwargs.setdefault("target", 0)
    res = SpexInteractions(forward).attribute_interactions(
        x, n_samples=64, max_degree=2, cache=cache, **kwargs
    )
    return res.diagnostics["n_from_cache"]


def _linear(seed):
    torch.manual_seed(seed)
    return torch.nn.Linear(6, 1).eval()


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "q.sqlite"


# ---------------------------------------------------------------- callables around a model
def test_the_same_model_is_served_from_the_store(cache):
    model = _linear(0)
    assert _from_cache(model, cache) == 0
    assert _from_cache(model, cache) == 64
    assert _from_cache(_linear(0), cache) == 64  # equal content, another object


def test_bound_methods_of_two_models_do_not_share(cache):
    a, b = _linear(0), _linear(1)
    assert _from_cache(a.forward, cache) == 0
    assert _from_cache(b.forward, cache) == 0
    assert _from_cache(a.forward, cache) == 64


def test_closures_and_lambdas_over_two_models_do_not_share(cache):
    a, b = _linear(0), _linear(1)
    assert _from_cache(lambda x: a(x), cache) == 0
    assert _from_cache(lambda x: b(x), cache) == 0

    def wrap(model):
        def forward(x):
            return model(x)

        return forward

    assert _from_cache(wrap(a), cache) == 0  # other code than the lambda
    assert _from_cache(wrap(b), cache) == 0
    assert _from_cache(wrap(a), cache) == 64


def _scaled(model, scale, x):
    return scale * model(x)


def test_partials_with_other_arguments_do_not_share(cache):
    model = _linear(0)
    assert _from_cache(functools.partial(_scaled, model, 1.0), cache) == 0
    assert _from_cache(functools.partial(_scaled, model, 2.0), cache) == 0
    assert _from_cache(functools.partial(_scaled, model, 2.0), cache) == 64


class _Scaler:
    def __init__(self, model, scale):
        self.model, self.scale = model, scale

    def __call__(self, x):
        return self.scale * self.model(x)


def test_callable_instances_with_other_state_do_not_share(cache):
    model = _linear(0)
    assert _from_cache(_Scaler(model, 1.0), cache) == 0
    assert _from_cache(_Scaler(model, 3.0), cache) == 0
    changed = _Scaler(model, 1.0)
    changed.model = _linear(2)
    assert _from_cache(changed, cache) == 0


def _defined(source):
    scope = {"torch": torch}
    exec(textwrap.dedent(source), scope)  # as a notebook cell re-run with an edit
    return scope["forward"]


def test_a_function_edited_between_runs_misses(cache):
    first = _defined("def forward(x):\n    return x.sum(1)\n")
    edited = _defined("def forward(x):\n    return 2 * x.sum(1)\n")
    assert first.__qualname__ == edited.__qualname__
    assert _from_cache(first, cache, target=None) == 0
    assert _from_cache(edited, cache, target=None) == 0
    assert _from_cache(_defined("def forward(x):\n    return x.sum(1)\n"), cache, target=None) == 64


def test_a_global_the_function_reads_is_part_of_the_key(cache):
    scope = {"torch": torch, "SCALE": 1.0}
    exec("def forward(x):\n    return SCALE * x.sum(1)\n", scope)
    assert _from_cache(scope["forward"], cache, target=None) == 0
    scope["SCALE"] = 5.0
    assert _from_cache(scope["forward"], cache, target=None) == 0


# ---------------------------------------------------------------- what a module holds
class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Linear(6, 4)
        self.temperature = 1.0
        self.register_buffer("shift", torch.zeros(4), persistent=False)
        self.heads = [torch.nn.Linear(4, 1)]  # a plain Python list: not registered
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x):
        return self.heads[0](self.drop(self.body(x) + self.shift)) / self.temperature


@pytest.mark.parametrize(
    "change",
    [
        lambda m: setattr(m, "temperature", 2.0),
        lambda m: m.shift.fill_(1.0),  # a non-persistent buffer, edited in place
        lambda m: m.heads[0].bias.data.add_(1.0),  # .data: no version-counter bump
        lambda m: m.train(),
        lambda m: m.heads.append(torch.nn.Linear(1, 1)),
    ],
    ids=["attribute", "non-persistent buffer", "list submodule", "train mode", "list"],
)
def test_module_state_outside_the_state_dict_is_keyed(cache, change):
    model = _Net().eval()
    before = model.state_dict()
    assert _from_cache(model, cache) == 0
    with torch.no_grad():
        change(model)
    if not model.training:
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert _from_cache(model, cache) == 0


def test_hooks_are_not_part_of_the_key(cache):
    model = _linear(0)
    assert _from_cache(model, cache) == 0
    handle = model.register_forward_pre_hook(lambda mod, args: None)
    try:
        assert _from_cache(model, cache) == 64
    finally:
        handle.remove()


# ---------------------------------------------------------------- arguments by value
def _with_table(x, table):
    return x.sum(1) + float(table[1500])


def test_additional_arrays_are_keyed_by_value_not_repr(cache):
    a, b = np.zeros(3000), np.zeros(3000)
    b[1500] = 1.0
    assert repr(a) == repr(b)
    assert _from_cache(_with_table, cache, target=None, additional_forward_args=(a,)) == 0
    assert _from_cache(_with_table, cache, target=None, additional_forward_args=(b,)) == 0
    assert _from_cache(_with_table, cache, target=None, additional_forward_args=(a,)) == 64
    assert fingerprint(a) != fingerprint(b)
    assert fingerprint([1, a]) != fingerprint([1, b])


def test_a_target_tensor_is_keyed_by_value(cache):
    def forward(x):
        return torch.cat([x, -x], 1)

    assert _from_cache(forward, cache, target=torch.tensor([1])) == 0
    assert _from_cache(forward, cache, target=torch.tensor([7])) == 0
    assert _from_cache(forward, cache, target=torch.tensor([1])) == 64


def test_perturbations_per_eval_is_not_part_of_the_key(cache):
    model = _linear(0)
    x = torch.cat([X, X + 1])  # two examples: two keys
    res = SpexInteractions(model).attribute_interactions(
        x, target=0, n_samples=64, max_degree=2, cache=cache, perturbations_per_eval=1
    )
    assert [r.diagnostics["n_from_cache"] for r in res] == [0, 0]
    again = SpexInteractions(model).attribute_interactions(
        x, target=0, n_samples=64, max_degree=2, cache=cache, perturbations_per_eval=8
    )
    assert [r.diagnostics["n_from_cache"] for r in again] == [64, 64]
    assert [r.fourier() for r in again] == [r.fourier() for r in res]


# ---------------------------------------------------------------- bfloat16
def test_bfloat16_model_and_input_run_with_a_cache(cache):
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 1).to(torch.bfloat16).eval()
    x = X.to(torch.bfloat16)
    assert _from_cache(model, cache, x=x) == 0
    assert _from_cache(model, cache, x=x) == 64
    with torch.no_grad():
        model.weight[0, 3] += 0.5
    assert _from_cache(model, cache, x=x) == 0


def test_cli_bfloat16_with_cache(monkeypatch, tmp_path, capsys):
    import captum_spex.apps.models as models
    from captum_spex.apps import cli
    from tests.fixtures.tiny_lm import tiny_gpt2

    def load(dtype=None):
        model, tok = tiny_gpt2()
        return model.to(dtype), tok

    monkeypatch.setattr(models, "load_smollm2", load)
    argv = ["explain", "--context", "the cat sat on the mat .", "--question", "who sat ?"]
    argv += ["--target", "cat", "--n-samples", "128", "--max-degree", "2", "--no-progress"]
    argv += ["--dtype", "bfloat16", "--cache", str(tmp_path / "q.sqlite")]
    argv += ["--out", str(tmp_path / "out")]
    assert cli.main(argv) == 0
    assert cli.main(argv) == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "q.sqlite") as con:
        assert con.execute("SELECT COUNT(DISTINCT mask) FROM queries").fetchone()[0] == 128


# ---------------------------------------------------------------- unprovable: ask for a key
def test_an_unprovable_forward_asks_for_cache_key(cache):
    model = _linear(0)
    scales = (1.0 for _ in range(10_000))  # a generator: what it yields is unknowable

    def forward(x):
        return model(x) * next(scales)

    with pytest.raises(ValueError, match=r"'cache_key' parameter of SpexInteractions") as info:
        _from_cache(forward, cache)
    assert "cannot prove which model answered" in str(info.value)
    assert "scales" in str(info.value)  # where the unprovable thing sits
    assert _from_cache(forward, cache, cache_key="scaled-v1") == 0
    assert _from_cache(forward, cache, cache_key="scaled-v1") == 64
    assert _from_cache(forward, cache, cache_key="scaled-v2") == 0
    # everything provable still counts: another input misses under the same key
    assert _from_cache(forward, cache, x=X + 1, cache_key="scaled-v1") == 0


def test_cache_key_is_validated_on_the_front_ends(cache):
    for bad, kind in [("", ValueError), (7, TypeError)]:
        with pytest.raises(kind, match="'cache_key' parameter of SpexInteractions.attribute"):
            SpexInteractions(_linear(0)).attribute(X, target=0, cache=cache, cache_key=bad)


def test_spex_default_key_is_the_value_functions_content(tmp_path):
    cache = tmp_path / "q.sqlite"

    def make(w):
        return lambda masks: masks @ w

    def run(f, **kw):
        return spex(f, 6, n_samples=64, cache=cache, **kw).diagnostics["n_from_cache"]

    assert run(make(np.arange(6.0))) == 0
    assert run(make(np.arange(6.0) + 1)) == 0  # same code, another closure
    assert run(make(np.arange(6.0))) == 64
    gen = (i for i in range(3))
    with pytest.raises(ValueError, match="'cache_key' parameter of spex"):
        run(lambda masks: masks.sum(1) + 0 * next(gen, 0))


# ---------------------------------------------------------------- ModelFactory
def _builder(scale):
    return lambda x: scale * x


def test_model_factory_keys_follow_the_recipe():
    keys = {
        ModelFactory(_builder, 1.0).key,
        ModelFactory(_builder, 2.0).key,
        ModelFactory(functools.partial(_builder, 1.0)).key,
        ModelFactory(functools.partial(_builder, 2.0)).key,
        ModelFactory(lambda: _builder(1.0)).key,
        ModelFactory(lambda: _builder(2.0)).key,
        ModelFactory(_defined("def forward(s):\n    return lambda x: s * x\n"), 1.0).key,
        ModelFactory(_defined("def forward(s):\n    return lambda x: s + x\n"), 1.0).key,
    }
    assert len(keys) == 8
    assert ModelFactory(_builder, 1.0).key == ModelFactory(_builder, 1.0).key
    # redefined builders no longer get the first one's model
    one = ModelFactory(_defined("def forward(s):\n    return lambda x: s * x\n"), 3.0)
    two = ModelFactory(_defined("def forward(s):\n    return lambda x: s + x\n"), 3.0)
    assert (one(2.0), two(2.0)) == (6.0, 5.0)
    gen = (s for s in range(3))  # a generator: no provable content
    unprovable = ModelFactory(lambda: _builder(next(gen)))
    assert unprovable.key.startswith("unshared-")
    assert unprovable.key != ModelFactory(lambda: _builder(next(gen))).key


def _build_linear(seed):
    return _linear(seed)


def test_model_factory_forwards_are_keyed_by_their_recipe(cache):
    assert _from_cache(ModelFactory(_build_linear, 0), cache) == 0
    assert _from_cache(ModelFactory(_build_linear, 1), cache) == 0
    assert _from_cache(ModelFactory(_build_linear, 0), cache) == 64


# ---------------------------------------------------------------- across processes
_SNIPPET = """
import torch
from captum_spex._identity import content_identity
from tests.test_cache_identity import _Net, _Scaler, _scaled
import functools
torch.manual_seed(0)
net = _Net().eval()
print(content_identity((net, _Scaler(net, 2.0), functools.partial(_scaled, net, 2.0))))
"""


def test_the_key_is_the_same_in_another_process():
    torch.manual_seed(0)
    net = _Net().eval()
    local = content_identity((net, _Scaler(net, 2.0), functools.partial(_scaled, net, 2.0)))
    out = subprocess.run(
        [sys.executable, "-c", _SNIPPET], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == local


_LLM_SNIPPET = """
import sys
from captum.attr import TextTemplateInput
from captum_spex.attr import SpexInteractions
from captum_spex.attr.llm import LLMSpexAttribution
from tests.fixtures.tiny_lm import tiny_gpt2
model, tok = tiny_gpt2()
inp = TextTemplateInput("{} {} {} ? answer :", ["the cat", "sat", "on the mat"])
res = LLMSpexAttribution(SpexInteractions(model), tok).attribute(
    inp, target="a dog", cache=sys.argv[1])
print(res.interactions.diagnostics["n_from_cache"])
"""


def test_a_language_model_run_resumes_in_another_process(tmp_path):
    from captum.attr import TextTemplateInput

    from captum_spex.attr.llm import LLMSpexAttribution
    from tests.fixtures.tiny_lm import tiny_gpt2

    cache = str(tmp_path / "q.sqlite")
    out = subprocess.run(
        [sys.executable, "-c", _LLM_SNIPPET, cache],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "0"
    model, tok = tiny_gpt2()
    inp = TextTemplateInput("{} {} {} ? answer :", ["the cat", "sat", "on the mat"])
    res = LLMSpexAttribution(SpexInteractions(model), tok).attribute(
        inp, target="a dog", cache=cache
    )
    assert res.interactions.diagnostics["n_from_cache"] == res.interactions.n_queries == 8
    model.transformer.h[0].attn.c_attn.bias.data.add_(0.1)  # a changed model misses
    again = LLMSpexAttribution(SpexInteractions(model), tok).attribute(
        inp, target="a dog", cache=cache
    )
    assert again.interactions.diagnostics["n_from_cache"] == 0


# ---------------------------------------------------------------- hypothesis: the store key
class _Captured(Exception):
    pass


def _store_key(forward, x, **kwargs):
    """The key the front end opens the store with (nothing is queried)."""

    def capture(path, key, n_features):
        raise _Captured(key)

    with mock.patch("captum_spex.engine.query.QueryStore", capture):
        with pytest.raises(_Captured) as info:
            SpexInteractions(forward).attribute_interactions(
                x, target=0, cache="unused.sqlite", **kwargs
            )
    return info.value.args[0]


class _Model(torch.nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.lin = torch.nn.Linear(5, 1)
        with torch.no_grad():
            self.lin.weight.copy_(torch.tensor([spec["weights"]]))
            self.lin.bias.fill_(0.0)
        self.temperature = spec["temperature"]
        self.register_buffer("offset", torch.tensor(spec["offset"]), persistent=False)
        self.extra = [torch.nn.Identity()] if spec["extra"] else []
        self.drop = torch.nn.Dropout(0.5)
        self.train(spec["train"])

    def forward(self, x, table):
        h = self.drop(self.lin(x)) / self.temperature + self.offset + float(table.sum())
        return h if not self.extra else 2 * h


_FLOATS = st.floats(0.25, 4, width=32) | st.floats(-4, -0.25, width=32)
_FIELDS = {
    "weights": st.lists(_FLOATS, min_size=5, max_size=5),
    "temperature": st.floats(0.5, 4, width=32),
    "offset": _FLOATS,
    "extra": st.booleans(),
    "train": st.booleans(),
    # a 3,000-element table (numpy's repr shows only its ends): a seed, and one element in
    # the middle moved by a bump
    "table": st.tuples(st.integers(0, 3), st.integers(4, 2995), st.integers(-2, 2)),
    "wrapper": st.sampled_from(["module", "bound", "partial", "lambda"]),
}
_SPECS = st.fixed_dictionaries(_FIELDS)


def _table(seed, where, bump):
    table = np.random.default_rng(seed).integers(-3, 4, 3000).astype(np.float64)
    table[where] += bump
    return table


def _forward(spec):
    model = _Model(spec)
    table = _table(*spec["table"])
    if spec["wrapper"] == "module":
        return model, (table,)
    if spec["wrapper"] == "bound":
        return model.forward, (table,)
    if spec["wrapper"] == "partial":
        return functools.partial(model.forward, table=table), None
    return (lambda x: model(x, table)), None


def _outputs(spec, x):
    """Deterministic outputs of the eval-mode model on every mask of x, plus the mode."""
    forward, args = _forward({**spec, "train": False})
    masks = torch.tensor(np.indices((2,) * 5).reshape(5, -1).T, dtype=x.dtype)
    with torch.no_grad():
        out = forward(x * masks, *(args or ()))
    return out.numpy().round(4).tobytes(), spec["train"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=_SPECS, field=st.sampled_from(sorted(_FIELDS)), data=st.data())
def test_pairs_that_answer_differently_never_share_a_key(spec, field, data):
    other = {**spec, field: data.draw(_FIELDS[field])}
    x = torch.linspace(0.2, 1.0, 5).reshape(1, 5)
    assume(_outputs(spec, x) != _outputs(other, x))
    keys = set()
    for s in (spec, other):
        forward, args = _forward(s)
        keys.add(_store_key(forward, x, additional_forward_args=args, n_samples=32))
    assert len(keys) == 2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=_SPECS,
    runs=st.lists(
        st.fixed_dictionaries(
            {
                "n_samples": st.sampled_from([None, 32, 100, 400]),
                "seed": st.integers(0, 10),
                "max_degree": st.integers(1, 5),
                "perturbations_per_eval": st.integers(1, 16),
            }
        ),
        min_size=2,
        max_size=3,
    ),
)
def test_run_settings_never_change_the_key(spec, runs):
    x = torch.linspace(0.2, 1.0, 5).reshape(1, 5)
    forward, args = _forward(spec)
    keys = {_store_key(forward, x, additional_forward_args=args, **run) for run in runs}
    assert len(keys) == 1
