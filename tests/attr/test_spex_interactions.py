"""SpexInteractions: agreement with Captum's exact methods, Captum semantics, progress, errors."""

from __future__ import annotations

import io
import math
import re
import warnings
from unittest import mock

import numpy as np
import pytest
import torch
from captum.attr import FeatureAblation, PerturbationAttribution, ShapleyValues
from torch import nn

from captum_spex import Interactions
from captum_spex.attr import SpexInteractions
from captum_spex.attr._runner import default_n_samples as _default_n_samples
from captum_spex.engine.spex import planned_queries

TOL = 1e-4


# ---------------------------------------------------------------------- models
def _init(module: nn.Module, seed: int, scale: float = 1.0) -> nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return module.eval()


class SubsetMLPs(nn.Module):
    """A sum of small tanh MLPs, each reading a few input columns.

    With one feature per column, the masked output has interaction degree at most the
    largest subset size, so SPEX with that ``max_degree`` is exact.
    """

    def __init__(self, n_in: int, subsets, n_out: int = 1, seed: int = 0):
        super().__init__()
        self.n_in = n_in
        self.subsets = [list(s) for s in subsets]
        self.nets = nn.ModuleList(
            nn.Sequential(nn.Linear(len(s), 6), nn.Tanh(), nn.Linear(6, n_out))
            for s in self.subsets
        )
        self.n_out = n_out
        _init(self, seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        out = sum(net(x[:, s]) for s, net in zip(self.subsets, self.nets))
        return out.squeeze(-1) if self.n_out == 1 else out


class TwoInputModel(nn.Module):
    """``forward(a, b)`` on the concatenated, flattened inputs."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.inner(torch.cat([a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)], 1))


class CountingForward:
    """Wraps a forward function; records batch sizes and grad mode of every call."""

    def __init__(self, fn):
        self.fn = fn
        self.batch_sizes: list[int] = []
        self.grad_enabled: list[bool] = []

    def __call__(self, *args):
        self.batch_sizes.append(int(args[0].shape[0]))
        self.grad_enabled.append(torch.is_grad_enabled())
        return self.fn(*args)


def _close(actual, expected, tol=TOL):
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            _close(a, e, tol)
        return
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert torch.allclose(actual.double(), expected.double(), atol=tol, rtol=0), (
        (actual - expected).abs().max()
    )


def _shapley(model, inputs, ppe=8, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gaps in ids warn in Captum's ShapleyValues
        return ShapleyValues(model).attribute(inputs, perturbations_per_eval=ppe, **kw)


# ---------------------------------------------------------------------- basics
def test_is_a_captum_perturbation_attribution():
    explainer = SpexInteractions(lambda x: x.sum(1))
    assert isinstance(explainer, PerturbationAttribution)
    assert explainer.get_name() == "Spex Interactions"
    assert not explainer.has_convergence_delta()
    assert explainer.multiplies_by_inputs


def test_default_budget_is_exact_for_small_n_and_sparse_for_large_n():
    assert _default_n_samples(10, 5) == 1 << 10
    big = _default_n_samples(40, 2)
    assert big < 1 << 40
    assert planned_queries(40, big, 2, 0) <= big
    assert _default_n_samples(40, 5) > big  # more delays for a higher degree


# ---------------------------------------------------------------------- vs ShapleyValues
def test_single_tensor_matches_captum_shapley_values():
    model = SubsetMLPs(6, [(0, 1, 2), (2, 3), (4,), (1, 5)], seed=1)
    x = torch.randn(1, 6, generator=torch.Generator().manual_seed(0))
    base = torch.randn(1, 6, generator=torch.Generator().manual_seed(1))
    ours = SpexInteractions(model).attribute(x, baselines=base, max_degree=3)
    _close(ours, _shapley(model, x, baselines=base))
    assert ours.dtype == torch.float32 and ours.shape == x.shape
    # efficiency: the Shapley values add up to f(x) - f(baseline)
    with torch.no_grad():
        gap = float(model(x) - model(base))
    assert float(ours.sum()) == pytest.approx(gap, abs=1e-5)


def test_tuple_input_with_cross_tensor_groups_matches_captum_shapley_values():
    inner = SubsetMLPs(7, [(0, 4), (1, 2, 5), (3, 6)], seed=2)
    model = TwoInputModel(inner)
    gen = torch.Generator().manual_seed(3)
    a, b = torch.randn(1, 4, generator=gen), torch.randn(1, 3, generator=gen)
    # ids 1 and 3 appear in both tensors: one feature each across a and b
    mask = (torch.tensor([[0, 1, 2, 3]]), torch.tensor([[1, 4, 3]]))
    ours = SpexInteractions(model).attribute((a, b), feature_mask=mask, baselines=(0.5, -1.0))
    theirs = _shapley(model, (a, b), feature_mask=mask, baselines=(0.5, -1.0))
    _close(ours, theirs)
    # grouped elements share their feature's value, in both tensors
    assert ours[0][0, 1] == ours[1][0, 0] and ours[0][0, 3] == ours[1][0, 2]


def test_batch_matches_captum_shapley_values_per_example():
    model = SubsetMLPs(5, [(0, 1), (1, 2, 3), (4, 0)], n_out=3, seed=3)
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(4))
    target = [2, 0, 1]
    ours = SpexInteractions(model).attribute(x, target=target, perturbations_per_eval=4)
    _close(ours, _shapley(model, x, target=target))
    inters = SpexInteractions(model).attribute_interactions(x, target=target)
    assert isinstance(inters, list) and len(inters) == 3
    for i, inter in enumerate(inters):
        assert isinstance(inter, Interactions)
        assert inter.diagnostics["example_index"] == i
        assert inter.diagnostics["feature_ids"] == [0, 1, 2, 3, 4]
        assert np.allclose(inter.shapley_values(), ours[i].numpy(), atol=1e-6)


def test_per_example_feature_masks_and_non_consecutive_ids():
    model = SubsetMLPs(6, [(0, 1, 2), (3, 4), (5,)], seed=4)
    x = torch.randn(2, 6, generator=torch.Generator().manual_seed(5))
    mask = torch.tensor([[7, 7, 42, 3, 3, 42], [0, 1, 1, 2, 0, 2]])  # first dim B
    ours = SpexInteractions(model).attribute(x, feature_mask=mask)
    relabeled = torch.tensor([[1, 1, 2, 0, 0, 2], [0, 1, 1, 2, 0, 2]])
    _close(ours, _shapley(model, x, feature_mask=relabeled))
    inters = SpexInteractions(model).attribute_interactions(x, feature_mask=mask)
    assert inters[0].diagnostics["feature_ids"] == [3, 7, 42]
    assert inters[0].feature_names == ("feature 3", "feature 7", "feature 42")
    assert inters[1].diagnostics["feature_ids"] == [0, 1, 2]


def test_image_superpixels_with_a_broadcast_mask_match_captum_shapley_values():
    net = nn.Sequential(
        nn.Conv2d(2, 3, 2), nn.ReLU(), nn.Flatten(), nn.Linear(12, 2), nn.Softmax(-1)
    )
    _init(net, seed=32)
    x = torch.rand(2, 2, 3, 3, generator=torch.Generator().manual_seed(31))
    # a (3, 3) mask shared by both channels and examples; 4 superpixels, ids with gaps
    mask = torch.tensor([[0, 0, 4], [0, 6, 4], [2, 6, 6]])
    ours = SpexInteractions(net).attribute(x, target=1, feature_mask=mask)
    assert ours.shape == x.shape
    relabeled = torch.tensor([[0, 0, 2], [0, 3, 2], [1, 3, 3]])
    _close(ours, _shapley(net, x, target=1, feature_mask=relabeled))


# ---------------------------------------------------------------------- vs FeatureAblation
def _additive_model(n_in: int) -> nn.Module:
    class Additive(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.linspace(-1.0, 2.0, n_in))

        def forward(self, x, scale=1.0):
            return scale * (torch.tanh(self.w * x) + 0.3 * x**2).sum(1)

    return Additive().eval()


@pytest.mark.parametrize("attribution", ["banzhaf", "shapley"])
def test_additive_model_matches_feature_ablation(attribution):
    model = _additive_model(8)
    x = torch.randn(2, 8, generator=torch.Generator().manual_seed(6))
    mask = torch.tensor([[0, 0, 1, 5, 5, 9, 1, 9]])
    kw = dict(feature_mask=mask, baselines=0.25, additional_forward_args=2.0)
    fa = FeatureAblation(model).attribute(x, **kw)
    ours = SpexInteractions(model).attribute(x, attribution=attribution, max_degree=2, **kw)
    _close(ours, fa)


def test_additive_model_fourier_singletons_are_the_removal_effects():
    model = _additive_model(6)
    x = torch.randn(1, 6, generator=torch.Generator().manual_seed(7))
    fa = FeatureAblation(model).attribute(x)[0].double().numpy()
    inter = SpexInteractions(model).attribute_interactions(x, max_degree=3)
    fourier = inter.fourier()
    for i in range(6):  # the removal effect of i is -2 F({i}), its Banzhaf value
        assert -2.0 * fourier[(i,)] == pytest.approx(fa[i], abs=1e-5)
    assert all(abs(v) < 1e-6 for k, v in fourier.items() if len(k) > 1)
    assert np.allclose(inter.banzhaf_values(), fa, atol=1e-5)


# ---------------------------------------------------------------------- planted interactions
class GatedPair(nn.Module):
    """3 * AND (or XOR) of two input groups, plus a small linear part over all inputs."""

    def __init__(self, n_in: int, cols_a, cols_b, kind: str):
        super().__init__()
        self.cols_a, self.cols_b, self.kind = list(cols_a), list(cols_b), kind
        self.linear = _init(nn.Linear(n_in, 1), seed=8, scale=0.05)

    def forward(self, x):
        a = (x[:, self.cols_a] > 0.5).all(1)
        b = (x[:, self.cols_b] > 0.5).all(1)
        gate = a & b if self.kind == "and" else a ^ b
        return 3.0 * gate.to(x.dtype) + self.linear(x).squeeze(-1)


@pytest.mark.parametrize("method", ["auto", "spex"])
@pytest.mark.parametrize("kind", ["and", "xor"])
def test_planted_pair_in_40_groups_is_ranked_first_by_the_sparse_path(kind, method):
    n_groups = 40
    elem_group = torch.arange(2 * n_groups) % n_groups  # element e belongs to group e % 40
    ids = 10 * elem_group + 7  # non-consecutive ids
    ga, gb = 5, 23
    cols_a = torch.nonzero(elem_group == ga).flatten().tolist()
    cols_b = torch.nonzero(elem_group == gb).flatten().tolist()
    model = GatedPair(2 * n_groups, cols_a, cols_b, kind)
    x = torch.ones(1, 2 * n_groups)
    explainer = SpexInteractions(model)
    inter = explainer.attribute_interactions(
        x, feature_mask=ids.unsqueeze(0), max_degree=2, perturbations_per_eval=512, method=method
    )
    # the default keeps the decoder's exact answer when it explains every held-out mask
    assert inter.diagnostics["mode"] == {"spex": "sparse", "auto": "auto"}[method]
    assert method == "spex" or inter.diagnostics["chosen"] == "SPEX decoder"
    assert inter.n_queries <= _default_n_samples(n_groups, 2) < 2**n_groups
    assert inter.diagnostics["feature_ids"] == [10 * g + 7 for g in range(n_groups)]
    (term, value), *_ = inter.top(1)
    assert term == (ga, gb)
    assert value == pytest.approx(3.0 if kind == "and" else -6.0, abs=1e-6)
    assert inter.label(term) == f"(feature {10 * ga + 7}, feature {10 * gb + 7})"
    # the surrogate reproduces the model on fresh masks (True = group kept)
    masks = np.random.default_rng(0).integers(0, 2, size=(64, n_groups)).astype(bool)
    kept = torch.from_numpy(masks)[:, elem_group]
    with torch.no_grad():
        truth = model(torch.where(kept, x, torch.zeros_like(x))).double().numpy()
    assert np.allclose(inter.predict(masks), truth, atol=1e-6)
    # the first-order view ranks the two gated groups above every linear one (AND only:
    # an XOR of two kept groups has Shapley value 0 for both)
    if kind == "and":
        attr = explainer.attribute(
            x, feature_mask=ids.unsqueeze(0), max_degree=2, perturbations_per_eval=512
        )
        per_group = attr[0, :n_groups]
        assert set(torch.topk(per_group, 2).indices.tolist()) == {ga, gb}


# ---------------------------------------------------------------------- Captum semantics
@pytest.mark.parametrize(
    "baselines",
    [
        None,
        0.5,
        torch.full((1, 5), -0.5),  # batch 1, broadcast
        torch.linspace(-1, 1, 10).reshape(2, 5),  # one per example
        torch.tensor(0.25),  # 0-d tensor
    ],
    ids=["none", "scalar", "batch1", "per_example", "0d"],
)
def test_baseline_forms_match_captum(baselines):
    model = SubsetMLPs(5, [(0, 1), (2, 3, 4)], seed=9)
    x = torch.randn(2, 5, generator=torch.Generator().manual_seed(10))
    ours = SpexInteractions(model).attribute(x, baselines=baselines)
    captum_base = baselines
    if isinstance(baselines, torch.Tensor) and baselines.dim() == 0:
        captum_base = baselines.item()  # Captum cannot take a 0-d tensor
    _close(ours, _shapley(model, x, baselines=captum_base))


def test_tuple_baselines_mix_scalars_and_tensors():
    model = TwoInputModel(SubsetMLPs(5, [(0, 3), (1, 2, 4)], seed=11))
    gen = torch.Generator().manual_seed(12)
    a, b = torch.randn(2, 3, generator=gen), torch.randn(2, 2, generator=gen)
    baselines = (0.1, torch.tensor([[0.3, -0.2]]))
    ours = SpexInteractions(model).attribute((a, b), baselines=baselines)
    _close(ours, _shapley(model, (a, b), baselines=baselines))


def _multi_output_model():
    inner = SubsetMLPs(4, [(0, 1), (2, 3), (1, 3)], n_out=6, seed=13)

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = inner

        def forward(self, x, shape=(6,)):
            return self.inner(x).reshape((x.shape[0],) + tuple(shape))

    return Wrap().eval()


@pytest.mark.parametrize(
    "target,shape",
    [
        (4, (6,)),
        (torch.tensor(2), (6,)),
        (torch.tensor([1]), (6,)),
        ([0, 5], (6,)),
        (torch.tensor([3, 1]), (6,)),
        ((1, 2), (2, 3)),
        ([(0, 1), (1, 2)], (2, 3)),
    ],
    ids=["int", "0d", "1elem", "list", "tensor", "tuple", "list_of_tuples"],
)
@pytest.mark.parametrize("ppe", [1, 3])
def test_every_target_form_matches_captum(target, shape, ppe):
    model = _multi_output_model()
    x = torch.randn(2, 4, generator=torch.Generator().manual_seed(14))
    ours = SpexInteractions(model).attribute(
        x, target=target, additional_forward_args=(shape,), perturbations_per_eval=ppe
    )
    _close(ours, _shapley(model, x, target=target, additional_forward_args=(shape,)))


def test_additional_forward_args_tensor_and_python_objects_with_ppe():
    inner = SubsetMLPs(4, [(0, 1, 2), (3, 0)], seed=15)

    def forward(x, offset, scale, name):
        assert name == "tag" and offset.shape[0] == x.shape[0]
        return scale * inner(x) + offset[:, 0]

    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(16))
    offset = torch.tensor([[1.0], [2.0], [3.0]])
    args = (offset, 2.0, "tag")
    expected = _shapley(forward, x, additional_forward_args=args)
    for ppe in (1, 2, 5):
        counted = CountingForward(forward)
        ours = SpexInteractions(counted).attribute(
            x, additional_forward_args=args, perturbations_per_eval=ppe
        )
        _close(ours, expected)
        assert max(counted.batch_sizes) == max(ppe, 3)  # the initial eval has the batch of 3


def test_perturbations_per_eval_batches_masks_into_each_forward():
    model = SubsetMLPs(5, [(0, 1), (2, 3, 4)], seed=17)
    x = torch.randn(1, 5, generator=torch.Generator().manual_seed(18))
    results = []
    for ppe in (1, 2, 3, 7, 64):
        counted = CountingForward(model)
        results.append(SpexInteractions(counted).attribute(x, perturbations_per_eval=ppe))
        # 2^5 masks, no initial eval for one example
        assert counted.batch_sizes[:-1] == [ppe] * (len(counted.batch_sizes) - 1)
        assert len(counted.batch_sizes) == math.ceil(32 / ppe)
        assert sum(counted.batch_sizes) == 32
    for r in results[1:]:  # batching changes float rounding only
        _close(r, results[0], tol=1e-6)


def test_forward_returning_one_scalar_per_batch_is_explained_jointly():
    inner = SubsetMLPs(4, [(0, 1), (2, 3)], seed=19)

    def forward(x):
        return inner(x).sum()

    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(20))
    explainer = SpexInteractions(forward)
    ours = explainer.attribute(x)
    assert ours.shape == (1, 4)
    _close(ours, _shapley(forward, x, ppe=1))
    inter = explainer.attribute_interactions(x)
    assert isinstance(inter, Interactions)
    assert inter.diagnostics["example_index"] is None
    with pytest.raises(ValueError, match="perturbations_per_eval"):
        explainer.attribute(x, perturbations_per_eval=2)
    with pytest.raises(ValueError, match="feature_mask"):
        explainer.attribute(x, feature_mask=torch.arange(12).reshape(3, 4))


def test_scalar_per_batch_with_one_example_needs_ppe_1():
    inner = SubsetMLPs(4, [(0, 1), (2, 3)], seed=21)
    x = torch.randn(1, 4, generator=torch.Generator().manual_seed(22))
    explainer = SpexInteractions(lambda x: inner(x).sum())
    ours = explainer.attribute(x)
    _close(ours, _shapley(inner, x))
    with pytest.raises(ValueError, match="perturbations_per_eval=1"):
        explainer.attribute(x, perturbations_per_eval=4)


def test_forwards_run_without_grad_and_inputs_keep_their_grad_flag():
    counted = CountingForward(SubsetMLPs(4, [(0, 1), (2, 3)], seed=23))
    x = torch.randn(2, 4, requires_grad=True)
    attr = SpexInteractions(counted).attribute(x, perturbations_per_eval=4)
    assert counted.grad_enabled and not any(counted.grad_enabled)
    assert not attr.requires_grad and x.requires_grad


def test_integer_token_inputs_with_an_embedding_model():
    emb = _init(nn.Embedding(10, 3), seed=24)
    head = _init(nn.Linear(3, 1), seed=25)

    def forward(ids):
        return head(torch.tanh(emb(ids).sum(1))).squeeze(-1)

    ids = torch.tensor([[3, 7, 1, 9]])
    ours = SpexInteractions(forward).attribute(ids, baselines=0)
    assert ours.dtype == torch.float32 and ours.shape == ids.shape
    _close(ours, _shapley(forward, ids, baselines=0))


def test_float64_inputs_give_float64_attributions():
    model = _additive_model(3).double()
    x = torch.randn(2, 3, dtype=torch.float64)
    attr = SpexInteractions(model).attribute(x, attribution="banzhaf")
    assert attr.dtype == torch.float64
    _close(attr, FeatureAblation(model).attribute(x), tol=1e-10)


def test_results_follow_the_inputs_device():
    model = SubsetMLPs(3, [(0, 1, 2)], seed=26)
    x = torch.randn(1, 3)
    attr = SpexInteractions(model).attribute(x)
    assert attr.device == x.device
    if torch.cuda.is_available():  # only where a GPU exists
        cuda_model = SubsetMLPs(3, [(0, 1, 2)], seed=26).cuda()
        attr_cuda = SpexInteractions(cuda_model).attribute(x.cuda())
        assert attr_cuda.device.type == "cuda"
        _close(attr_cuda.cpu(), attr, tol=1e-5)


def test_seed_controls_the_sparse_design():
    model = GatedPair(40, [3], [17], "and")
    seen: dict[int, list[torch.Tensor]] = {}

    def run(seed):
        inputs = seen.setdefault(seed, [])

        def forward(x):
            inputs.append(x.clone())
            return model(x)

        return SpexInteractions(forward).attribute_interactions(
            torch.ones(1, 40), max_degree=2, n_samples=1500, perturbations_per_eval=256, seed=seed
        )

    first = run(1)
    queried = torch.cat(seen.pop(1))
    again = run(1)
    assert torch.equal(torch.cat(seen.pop(1)), queried)  # the same masks, in the same order
    assert first.terms == again.terms
    assert np.array_equal(first.coefficients, again.coefficients)
    other = run(2)
    assert not torch.equal(torch.cat(seen[2]), queried)
    assert first.n_queries <= 1500 and other.n_queries <= 1500
    assert first.top(1)[0].term == other.top(1)[0].term == (3, 17)


# ---------------------------------------------------------------------- progress
@pytest.mark.parametrize(
    "n_features,batch,n_samples",
    [(5, 1, None), (5, 2, None), (40, 1, 600)],
    ids=["exact", "exact_batch", "sparse"],
)
@mock.patch("sys.stderr", new_callable=io.StringIO)
def test_show_progress(mock_stderr, n_features, batch, n_samples):
    model = SubsetMLPs(n_features, [(0, 1), (2, 3)], seed=27)
    x = torch.randn(batch, n_features, generator=torch.Generator().manual_seed(28))
    for ppe in (1, 2, 3):
        counted = CountingForward(model)
        SpexInteractions(counted).attribute(
            x, n_samples=n_samples, max_degree=2, perturbations_per_eval=ppe, show_progress=True
        )
        output = mock_stderr.getvalue()
        assert "Spex Interactions attribution: 100%" in output
        n_calls = len(counted.batch_sizes)
        assert re.search(rf"\| {n_calls}/{n_calls} \[", output), output[-200:]
        mock_stderr.seek(0)
        mock_stderr.truncate(0)


@mock.patch("sys.stderr", new_callable=io.StringIO)
def test_no_progress_output_by_default(mock_stderr):
    SpexInteractions(lambda x: x.sum(1)).attribute(torch.ones(1, 3))
    assert mock_stderr.getvalue() == ""


# ---------------------------------------------------------------------- results
def test_attribute_and_attribute_interactions_agree():
    model = SubsetMLPs(6, [(0, 1), (2, 3, 4), (5, 0)], seed=29)
    x = torch.randn(1, 6, generator=torch.Generator().manual_seed(30))
    mask = torch.tensor([[4, 4, 2, 2, 0, 9]])
    explainer = SpexInteractions(model)
    inter = explainer.attribute_interactions(x, feature_mask=mask, max_degree=3)
    assert isinstance(inter, Interactions) and inter.n_features == 4
    assert inter.n_queries == 16 and inter.diagnostics["n_forward_calls"] == 16
    shap = explainer.attribute(x, feature_mask=mask, max_degree=3)
    banz = explainer.attribute(x, feature_mask=mask, max_degree=3, attribution="banzhaf")
    order = [2, 2, 1, 1, 0, 3]  # element -> feature index (ids 0, 2, 4, 9)
    assert np.allclose(shap[0].numpy(), inter.shapley_values()[order], atol=1e-6)
    assert np.allclose(banz[0].numpy(), inter.banzhaf_values()[order], atol=1e-6)
    # True = kept: the surrogate matches the model on every mask
    masks = ((np.arange(16)[:, None] >> np.arange(4)) & 1).astype(bool)
    kept = torch.from_numpy(masks)[:, torch.tensor(order)]
    with torch.no_grad():
        truth = model(torch.where(kept, x, torch.zeros_like(x))).double().numpy()
    assert np.allclose(inter.predict(masks), truth, atol=1e-6)


# ---------------------------------------------------------------------- errors
def _bad_calls():
    x = torch.ones(2, 4)
    return [
        (dict(n_samples=0), ValueError, "n_samples"),
        (dict(n_samples=True), TypeError, "n_samples"),
        (dict(n_samples=2.5), TypeError, "n_samples"),
        (dict(max_degree=0), ValueError, "max_degree"),
        (dict(perturbations_per_eval=0), ValueError, "perturbations_per_eval"),
        (dict(perturbations_per_eval=1.5), TypeError, "perturbations_per_eval"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(show_progress="yes"), TypeError, "show_progress"),
        (dict(attribution="lime"), ValueError, "attribution"),
        (dict(baselines=torch.zeros(3, 4)), ValueError, "baselines"),
        (dict(baselines=(0.0, 1.0)), ValueError, "baselines"),
        (dict(baselines="zero"), TypeError, "baselines"),
        (dict(feature_mask=torch.full((1, 4), 0.5)), ValueError, "feature_mask"),
        (dict(feature_mask=torch.zeros(1, 3, dtype=torch.long)), ValueError, "feature_mask"),
        (dict(feature_mask=[torch.zeros(1, 4, dtype=torch.long)]), TypeError, "feature_mask"),
        (dict(target=[0, 1, 0]), ValueError, "target"),
        (dict(target=0.5), TypeError, "target"),
        (dict(target=torch.tensor([[0, 1]])), ValueError, "target"),
        (dict(inputs=[x]), TypeError, "inputs"),
        (dict(inputs=(x, torch.ones(3, 2))), ValueError, "inputs"),
    ]


@pytest.mark.parametrize("kwargs,exc,name", _bad_calls())
def test_bad_arguments_raise_with_the_argument_name(kwargs, exc, name):
    explainer = SpexInteractions(lambda *xs: sum(x.sum(1) for x in xs))
    kwargs = dict(kwargs)
    inputs = kwargs.pop("inputs", torch.ones(2, 4))
    with pytest.raises(exc, match=name):
        explainer.attribute(inputs, **kwargs)
    if "attribution" not in kwargs:
        with pytest.raises(exc, match=name):
            explainer.attribute_interactions(inputs, **kwargs)


@pytest.mark.parametrize("batch", [1, 2])
def test_budget_below_the_smallest_design_names_n_samples_before_any_forward(batch):
    counted = CountingForward(lambda x: x.sum(1))
    with pytest.raises(ValueError, match="'n_samples'.*at least"):
        SpexInteractions(counted).attribute(torch.ones(batch, 40), n_samples=100, method="spex")
    with pytest.raises(ValueError, match="'n_samples'.*at least 32"):
        SpexInteractions(counted).attribute(torch.ones(batch, 40), n_samples=20)
    assert counted.batch_sizes == []


@pytest.mark.parametrize("batch", [1, 2])
def test_multi_output_without_target_asks_for_a_target(batch):
    model = _multi_output_model()
    with pytest.raises(ValueError, match="target"):
        SpexInteractions(model).attribute(torch.ones(batch, 4))


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
def test_target_r2_on_the_captum_front_end():
    def model(x):
        return x[:, 0] * x[:, 1] + x[:, 2] - 0.5 * x[:, 7]

    rounds = []
    inter = SpexInteractions(model).attribute_interactions(
        torch.ones(1, 40), n_samples=20000, target_r2=0.99
    )
    rounds.append(inter)
    assert inter.n_queries < 20000 and inter.diagnostics["stopped"].startswith("reached")
    assert inter.top(1)[0].term in {(0, 1), (2,)}
    with pytest.raises(ValueError, match="'target_r2' parameter of SpexInteractions.attribute"):
        SpexInteractions(model).attribute(torch.ones(1, 40), target_r2=2.0)


@pytest.mark.filterwarnings("ignore::captum_spex.SpexFitWarning")
@mock.patch("sys.stderr", new_callable=io.StringIO)
def test_progress_bar_shows_the_r2_estimate(mock_stderr):
    w = torch.linspace(-1, 1, 40)

    def model(x):  # many first-order terms and a few pairs: several rounds to fit
        return x @ w + x[:, 0] * x[:, 1] - x[:, 5] * x[:, 9] + 0.5 * x[:, 3] * x[:, 30]

    inter = SpexInteractions(model).attribute_interactions(
        torch.ones(1, 40), n_samples=4000, target_r2=0.999, show_progress=True
    )
    shown = re.findall(r"R² (\d\.\d{3}) at ([\d,]+) queries", mock_stderr.getvalue())
    curve = inter.diagnostics["r2_curve"]
    assert len(curve) >= 2 and shown  # one status per round, the last one is the final fit
    last_r2, last_n = shown[-1]
    assert float(last_r2) == pytest.approx(curve[-1][1], abs=5e-4)
    assert int(last_n.replace(",", "")) == inter.n_queries == curve[-1][0]


def test_a_float_feature_mask_of_whole_numbers_is_taken_as_captum_takes_it():
    def model(x):
        return x[:, 0] * x[:, 1] + 2.0 * x[:, 2] + x[:, 3]

    x = torch.ones(1, 4)
    ids = torch.tensor([[0, 0, 1, 2]])
    as_long = SpexInteractions(model).attribute(x, feature_mask=ids)
    as_float = SpexInteractions(model).attribute(x, feature_mask=ids.float())
    assert torch.equal(as_long, as_float)
    _close(as_float, _shapley(model, x, feature_mask=ids))
    with pytest.raises(ValueError, match="feature_mask"):
        SpexInteractions(model).attribute(x, feature_mask=ids.float() + 0.5)


def test_a_model_in_training_mode_is_told_to_call_eval():
    net = nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    x = torch.ones(1, 6)
    with pytest.warns(UserWarning, match=r"training mode.*Call model\.eval\(\)"):
        SpexInteractions(net).attribute(x, target=0, n_samples=64)
    net.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        SpexInteractions(net).attribute(x, target=0, n_samples=64)


def test_inputs_without_a_batch_dimension_are_flagged():
    def model(x):
        return x.sum(-1, keepdim=True) if x.dim() > 1 else x

    with pytest.warns(UserWarning, match=r"1-D.*unsqueeze\(0\)"):
        SpexInteractions(model).attribute(torch.ones(5), n_samples=64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        SpexInteractions(model).attribute(torch.ones(1, 5), n_samples=64)
