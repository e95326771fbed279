"""method="proxy" on spex() and SpexInteractions: ProxySPEX behind the same front ends."""

import io
from unittest import mock

import pytest
import torch

from captum_spex import SpexInteractions, spex
from captum_spex.engine.design import minimum_budget
from captum_spex.engine.proxy import proxy_spex


def _and_model(x):
    # a hierarchical function: groups 3 and 17 matter together, 5 alone
    return 3.0 * (x[:, 3] * x[:, 17]) + 1.0 * x[:, 5]


def test_spex_interactions_proxy_finds_the_and_below_the_spex_minimum():
    x = torch.ones(1, 40)
    budget = 300
    assert budget < minimum_budget(40, 3)
    inter = SpexInteractions(_and_model).attribute_interactions(
        x, n_samples=budget, max_degree=3, method="proxy"
    )
    assert inter.method == "proxy"
    assert inter.n_queries <= budget
    assert inter.top(1)[0].term == (3, 17)
    assert inter.top(1)[0].value == pytest.approx(3.0, abs=1e-3)  # ridge refit
    with pytest.raises(ValueError, match="n_samples"):  # SPEX alone needs its design
        SpexInteractions(_and_model).attribute_interactions(
            x, n_samples=budget, max_degree=3, method="spex"
        )
    default = SpexInteractions(_and_model).attribute_interactions(
        x, n_samples=budget, max_degree=3
    )  # the default answers below the SPEX minimum, and says how
    assert default.method == "auto" and "below the SPEX design" in default.diagnostics["design"]
    assert default.top(1)[0].term == (3, 17)
    with pytest.raises(ValueError, match="method"):
        SpexInteractions(_and_model).attribute(x, n_samples=budget, method="tree")


def test_spex_interactions_proxy_progress_total_is_exact():
    x = torch.ones(1, 40)
    with mock.patch("sys.stderr", new_callable=io.StringIO) as err:
        SpexInteractions(_and_model).attribute(
            x,
            n_samples=300,
            max_degree=3,
            method="proxy",
            perturbations_per_eval=7,
            show_progress=True,
        )
    assert "Spex Interactions attribution: 100%" in err.getvalue()
    # the anchors (full input, baseline) in a forward call of their own, then ceil(298 / 7)
    assert "44/44" in err.getvalue()


def test_spex_method_proxy_equals_proxy_spex():
    def f(m):
        return 2.0 * (m[:, 1] & m[:, 4]) - m[:, 9]

    a = spex(f, 30, n_samples=400, max_degree=3, method="proxy", seed=2)
    b = proxy_spex(f, 30, n_samples=400, max_degree=3, seed=2)
    assert a.terms == b.terms
    assert (a.coefficients == b.coefficients).all()
    with pytest.raises(ValueError, match="n_terms"):
        spex(f, 30, n_samples=4000, n_terms=4)
