"""Build the tutorial notebooks from the cell lists below (no outputs are stored).

Edit this file, then run ``python tutorials/_build.py`` to rewrite the ``.ipynb`` files;
``tests/test_tutorials.py`` executes them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(textwrap.dedent(text).strip())


def code(text: str) -> nbformat.NotebookNode:
    return new_code_cell(textwrap.dedent(text).strip())


# ---------------------------------------------------------------------- 01 quick start
QUICKSTART = [
    md(
        """
        # Quick start: SPEX interactions on a plain PyTorch model

        `SpexInteractions` is a Captum perturbation attribution method. Its `attribute`
        returns first-order attributions (Shapley values by default) in the input's shape,
        exactly like Captum's `ShapleyValueSampling`, and `attribute_interactions` returns
        the interactions themselves: which *groups* of features act together.

        We use a toy model whose answer we know, so every number can be checked:

        $$f(x) = 2x_0 + 3\\,x_3 x_7 - x_5 + 0.5\\,x_9$$

        over 12 features, with the baseline 0 (a removed feature is set to 0). Features 3
        and 7 only matter *together* (an AND): removing either one removes the whole
        $3x_3x_7$ term.
        """
    ),
    code(
        """
        import numpy as np
        import torch
        from captum.attr import ShapleyValueSampling

        from captum_spex import SpexInteractions
        from captum_spex.viz import plot_top_interactions

        torch.set_num_threads(2)
        torch.manual_seed(0)


        class Toy(torch.nn.Module):
            def forward(self, x):
                return 2 * x[:, 0] + 3 * x[:, 3] * x[:, 7] - x[:, 5] + 0.5 * x[:, 9]


        model = Toy()
        x = torch.rand(1, 12, dtype=torch.float64) + 0.5  # one example, values in [0.5, 1.5)
        print("f(x) =", model(x).item(), "  f(baseline) =", model(torch.zeros_like(x)).item())
        """
    ),
    md(
        """
        ## First-order attributions: Captum's `ShapleyValueSampling` next to SPEX

        Both take the same arguments. `ShapleyValueSampling` averages marginal contributions
        over random permutations (a Monte Carlo estimate); SPEX fits the sparse Fourier
        transform of the model's output as a function of which features are kept, and
        reads the Shapley values off it. Here the model has only one interaction of order 2,
        so with `max_degree=2` SPEX's Shapley values are exact. We give SPEX a budget of at
        most 400 masks (an exhaustive transform would need $2^{12}=4096$); the query design
        is seeded (`seed=0`, the default), so reruns give the same numbers.

        The true Shapley values are known in closed form: $2x_0$, $-x_5$, $0.5x_9$, and the
        AND term $3x_3x_7$ split equally between features 3 and 7.
        """
    ),
    code(
        """
        svs = ShapleyValueSampling(model).attribute(
            x, baselines=0, n_samples=300, perturbations_per_eval=64
        )
        explainer = SpexInteractions(model)
        spex_attr = explainer.attribute(x, baselines=0, n_samples=400, max_degree=2)

        truth = torch.zeros_like(x)
        truth[0, 0] = 2 * x[0, 0]
        truth[0, 5] = -x[0, 5]
        truth[0, 9] = 0.5 * x[0, 9]
        truth[0, 3] = truth[0, 7] = 1.5 * x[0, 3] * x[0, 7]

        np.set_printoptions(precision=3, suppress=True)
        print("true Shapley        ", truth.numpy()[0])
        print("ShapleyValueSampling", svs.numpy()[0])
        print("SpexInteractions    ", spex_attr.numpy()[0])
        print(f"max |SPEX - SVS|   = {(spex_attr - svs).abs().max().item():.3g}  (sampling error)")
        print(f"max |SPEX - truth| = {(spex_attr - truth).abs().max().item():.3g}")
        """
    ),
    md(
        """
        The two methods agree up to the sampling error of `ShapleyValueSampling` (300
        random permutations of the 12 features); SPEX matches the closed form to rounding
        error.

        Note what the first-order values say about features 3 and 7: each gets half of
        $3x_3x_7$. From these two numbers alone you cannot tell that neither feature does
        anything on its own. That is what the interactions show.

        ## The interactions

        `attribute_interactions` runs the same SPEX fit and returns an `Interactions` object.
        `top(k)` ranks the Möbius (Harsanyi) coefficients by magnitude: $f(m) = \\sum_{T
        \\subseteq \\text{kept}(m)} a(T)$, so $a(\\{3,7\\})$ is what features 3 and 7 add
        only when both are kept.
        """
    ),
    code(
        """
        inter = explainer.attribute_interactions(x, baselines=0, n_samples=400, max_degree=2)
        print(inter)
        for term, value in inter.top(5):
            print(f"{str(term):8} {value:+.4f}")
        print("expected (3, 7):", round(3 * x[0, 3].item() * x[0, 7].item(), 4))
        """
    ),
    md(
        """
        The largest term is the pair `(3, 7)`, with value $3x_3x_7$; the singletons of
        features 3 and 7 are zero (a value around $10^{-13}$ is floating-point noise of the
        fit): neither acts alone. The other terms are the additive parts. A bar chart of the
        same ranking:
        """
    ),
    code(
        """
        fig, ax = plot_top_interactions(inter, k=5)
        """
    ),
    md(
        """
        ## Is the explanation faithful?

        `Interactions.predict(masks)` evaluates the fitted surrogate on any masks (True =
        feature kept). We compare it with the model itself on 200 random masks that SPEX
        did not necessarily query, and report $R^2$ with `Interactions.r2`. For this model
        the surrogate should be exact.
        """
    ),
    code(
        """
        rng = np.random.default_rng(1)
        masks = rng.random((200, 12)) < 0.5
        kept = torch.from_numpy(masks)
        with torch.no_grad():
            actual = model(torch.where(kept, x, torch.zeros_like(x))).numpy()
        predicted = inter.predict(masks)
        print(f"max |predict - model| = {np.abs(predicted - actual).max():.2e}")
        print(f"R^2 = {inter.r2(masks, actual):.6f}")
        print("queries spent:", inter.n_queries)
        """
    ),
    md(
        """
        ## What to try next

        * Change the toy model: add a three-way AND `x1 * x2 * x4` and raise `max_degree`
          to 3; with `max_degree=2` the first-order values are no longer guaranteed exact.
        * Other indices from the same fit: `inter.index("fsii", order=2)`,
          `inter.index("stii")`, `inter.banzhaf_values()`.
        * `inter.save("toy.json")` and `Interactions.load(...)` to keep an explanation.
        * `02_llm_interactions.ipynb` applies the same machinery to a language model.
        """
    ),
]

# ---------------------------------------------------------------------- 02 LLM
LLM = [
    md(
        """
        # LLM interactions: what a marginal method misses and SPEX finds

        We explain SmolLM2-135M-Instruct (bundled, loaded offline) answering a question
        about a real passage from the DROP reading-comprehension data set. The features are
        the words of the passage; removing a word deletes it from the prompt. The value
        explained is the log-probability of the answer "Philip Rivers".

        A marginal method (Shapley values, LIME, ...) gives each word one number. But an
        answer of two words can only be copied when *both* words are there: that is an
        interaction, and SPEX recovers it directly.

        The run below costs about 260 model evaluations (roughly a minute on two CPU
        cores).
        """
    ),
    code(
        """
        import numpy as np
        import torch

        from captum_spex import SpexInteractions
        from captum_spex.attr.llm import LLMSpexAttribution
        from captum_spex.attr.scoring import score_log_probs
        from captum_spex.apps.models import load_smollm2
        from captum_spex.apps.prompts import default_example, qa_template_input, split_context
        from captum_spex.viz import plot_text_interactions, plot_top_interactions

        torch.set_num_threads(2)
        model, tokenizer = load_smollm2()
        example = default_example()
        print(example["context"])
        print("Q:", example["question"], "  A:", example["answer"])
        """
    ),
    md(
        """
        ## The features: the words of the second sentence

        To keep the query budget small we use only the sentence that holds the answer, split
        into words (about 20 features). Every piece after the first keeps its leading space,
        so deleting a word never leaves a double space. `qa_template_input` wraps the pieces
        into the model's chat template as a Captum `TextTemplateInput`; the question and the
        instruction stay fixed.
        """
    ),
    code(
        """
        sentence = split_context(example["context"], "sentence")[1].strip()
        pieces = split_context(sentence, "word")
        print(len(pieces), "features:", pieces)
        inp = qa_template_input(tokenizer, pieces, example["question"])
        print(inp.to_model_input())
        """
    ),
    md(
        """
        ## One SPEX run

        `LLMSpexAttribution` is a Captum `LLMAttribution`: it returns an
        `LLMAttributionResult` (so `seq_attr` and `plot_seq_attr` work as usual), plus the
        interactions behind it. With 20 features and `max_degree=2`, the smallest design SPEX
        accepts costs 242 queries; we use 260.
        """
    ),
    code(
        """
        explainer = LLMSpexAttribution(SpexInteractions(model), tokenizer)
        res = explainer.attribute(
            inp, target=example["answer"], n_samples=260, max_degree=2, seed=0, show_progress=True
        )
        inter = res.interactions
        print(res)
        """
    ),
    md(
        """
        ## The marginal view: Shapley values per word

        `res.seq_attr` holds one Shapley value per word (the first-order values of the SPEX
        fit). "Rivers" and "Philip" come out on top, as expected.
        """
    ),
    code(
        """
        order = np.argsort(-res.seq_attr.abs().numpy())
        for i in order[:6]:
            print(f"{pieces[i].strip():>10}  {res.seq_attr[i].item():+.3f}")
        fig, ax = res.plot_seq_attr()
        """
    ),
    md(
        """
        ## The interactions

        Now the terms SPEX found, ranked by the magnitude of their Möbius coefficient: the
        log-probability of the answer when a set of words is kept is (approximately) the sum
        of the coefficients of all its subsets.
        """
    ),
    code(
        """
        for term, value in inter.top(5):
            print(f"{inter.label(term):28} {value:+.3f}")
        top_words = {inter.feature_names[i] for i in inter.top(1)[0].term}
        assert top_words == {"Philip", "Rivers"}, top_words
        """
    ),
    md(
        """
        The largest term by far is **Philip × Rivers**, a large *positive* AND: the
        answer becomes likely only when both words are in the passage. The singleton of
        "Philip" is even negative: "Philip" without "Rivers" makes the answer *less* likely.

        The Shapley values split this pair term half and half between the two words (and
        add each word's own small effects). Looking at `seq_attr`, both words look important
        in their own right; nothing there says that either one alone is useless. Let us check
        that claim directly with the real model.

        ## Checking it on the model: four prompts

        We keep every other word and score four prompts: both words kept, only "Philip",
        only "Rivers", neither. The second difference
        $f(\\text{both}) - f(\\text{Philip}) - f(\\text{Rivers}) + f(\\text{neither})$ is the
        interaction of the two words in that context. We compute it with the real model
        (`score_log_probs`, the batched teacher-forced scorer SPEX itself uses) and with the
        fitted surrogate (`inter.predict`).
        """
    ),
    code(
        """
        philip, rivers = (pieces.index(w) for w in (" Philip", " Rivers"))
        masks = np.ones((4, len(pieces)), dtype=bool)
        masks[1, rivers] = False  # only Philip
        masks[2, philip] = False  # only Rivers
        masks[3, [philip, rivers]] = False  # neither
        names = ["both", "only Philip", "only Rivers", "neither"]

        prompts = [
            tokenizer.encode(inp.to_model_input(torch.as_tensor(m[None])), return_tensors="pt")[0]
            for m in masks
        ]
        target_ids = tokenizer.encode(example["answer"], add_special_tokens=False)
        model_logp = score_log_probs(model, prompts, target_ids)[:, 0]
        surrogate = inter.predict(masks)
        for name, a, b in zip(names, model_logp, surrogate):
            print(f"{name:>12}: model log p = {a:7.3f}   SPEX surrogate = {b:7.3f}")


        def second_difference(v):
            return v[0] - v[1] - v[2] + v[3]


        print(f"second difference, model:     {second_difference(model_logp):+.3f}")
        print(f"second difference, surrogate: {second_difference(surrogate):+.3f}")
        """
    ),
    md(
        """
        Removing either word costs about as much as removing both, or more: the answer's
        probability collapses as soon as one of the two is missing ("Philip" without
        "Rivers" is even worse than neither). That is the large positive second difference,
        and it is what the Philip × Rivers term encodes; the surrogate's value is close to
        the model's, though not equal (it is a fit from 260 queries). A single number per
        word cannot represent this. The next pair, San × Diego, is another two-word name
        whose words act together.

        ## Faithfulness on random masks

        A quick check of the whole surrogate: score 24 random masks (half the words kept on
        average) with the real model and compare with `inter.predict`.
        """
    ),
    code(
        """
        rng = np.random.default_rng(0)
        random_masks = rng.random((24, len(pieces))) < 0.5
        random_prompts = [
            tokenizer.encode(inp.to_model_input(torch.as_tensor(m[None])), return_tensors="pt")[0]
            for m in random_masks
        ]
        actual = score_log_probs(model, random_prompts, target_ids)[:, 0]
        print(f"R^2 on 24 random masks: {inter.r2(random_masks, actual):.3f}")
        """
    ),
    md(
        """
        ## Views

        `plot_text_interactions` draws the passage once per top interaction, with that
        interaction's words highlighted; `plot_top_interactions` is the bar chart.
        """
    ),
    code(
        """
        fig, ax = plot_text_interactions(inter, k=4)
        """
    ),
    code(
        """
        fig, ax = plot_top_interactions(inter, k=8)
        """
    ),
    md(
        """
        ## What to try next

        * Use the whole two-sentence passage (`split_context(example["context"], "word")`,
          about 40 words); the minimum budget for 40 features at `max_degree=2` is 286
          queries, and more gives a better fit (a few minutes on a CPU).
        * `res.token_interactions` holds one explanation per answer token, from the same
          queries: on which token of the answer does the Philip × Rivers term sit?
        * `unit="sentence"` on the full passage gives few features and cheap exact runs.
        * `captum_spex.viz.html_report(inter)` writes a self-contained HTML page.
        * The command line: `python -m captum_spex explain --help`.
        """
    ),
]

# ---------------------------------------------------------------------- 03 image + tabular
IMAGE_TABULAR = [
    md(
        """
        # Image and tabular features with `feature_mask`

        `SpexInteractions` takes Captum's `feature_mask`: elements of the input that share an
        integer id form one feature, kept or removed together. We use it twice:

        * **(a) an image**: 4x4-pixel superpixels of a 16x16 image (16 features);
        * **(b) a table**: one-hot columns grouped into one feature each, so that "removing
          the plan" sets all its columns to the baseline at once.

        Both models are small and hand-made so that the right answer is known.
        """
    ),
    code(
        """
        import numpy as np
        import torch

        from captum_spex import Interactions, SpexInteractions
        from captum_spex.viz import plot_image_interactions, plot_top_interactions

        torch.set_num_threads(2)
        torch.manual_seed(0)
        np.set_printoptions(precision=3, suppress=True)
        """
    ),
    md(
        """
        ## (a) An image: two patches that only count together

        The model averages each 4x4 patch (an `AvgPool2d`) and responds to patch 5 *and*
        patch 10 together (the product of their mean brightness), plus a small additive
        response to patch 15. Removed superpixels are set to black (baseline 0).
        """
    ),
    code(
        """
        class PatchAnd(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.pool = torch.nn.AvgPool2d(4)

            def forward(self, img):  # img: (B, 3, 16, 16)
                p = self.pool(img.mean(1, keepdim=True)).flatten(1)  # (B, 16) patch means
                return 4 * p[:, 5] * p[:, 10] + 0.5 * p[:, 15]


        img = 0.3 * torch.rand(1, 3, 16, 16)
        img[:, :, 4:8, 4:8] += 0.6  # patch 5 (row 1, col 1)
        img[:, :, 8:12, 8:12] += 0.6  # patch 10 (row 2, col 2)
        img = img.clamp(0, 1)

        # superpixel ids: 4x4 blocks numbered row by row, shared across the colour channels
        mask = torch.arange(16).reshape(4, 4).repeat_interleave(4, 0).repeat_interleave(4, 1)
        mask = mask[None, None]  # (1, 1, 16, 16) broadcasts to (1, 3, 16, 16)
        print(mask[0, 0])
        """
    ),
    code(
        """
        model = PatchAnd()
        inter_img = SpexInteractions(model).attribute_interactions(
            img, feature_mask=mask, baselines=0, n_samples=600, max_degree=2, seed=0
        )
        for term, value in inter_img.top(5):
            print(f"{str(term):8} {value:+.4f}")
        print("Shapley values per patch:\\n", inter_img.shapley_values().reshape(4, 4))
        """
    ),
    md(
        """
        The top term is `(5, 10)`: the two bright patches only count together. Patch 15 has
        a small additive effect, and the remaining printed terms are zero up to rounding. The
        Shapley values (a 4x4 grid here) give each of patches 5 and 10 half of the pair
        term. `plot_image_interactions` shows the image once per top term with
        its superpixels highlighted (blue for positive):
        """
    ),
    code(
        """
        fig, axes = plot_image_interactions(inter_img, img[0], mask[0, 0], k=3)
        """
    ),
    md(
        """
        ## (b) A table: grouping one-hot columns

        Ten columns describe a customer. `plan` is one-hot over three columns and `region`
        over two; the columns of one group need not be adjacent, and feature ids need not be
        consecutive (here `plan` is id 5 and `region` id 8). Ids are mapped to feature
        indices in sorted order; `diagnostics["feature_ids"]` records that order, which we
        use to attach names.

        The hand-written score has an interaction: long tenure only helps on the premium
        plan. The baseline is an "average" customer: numeric columns 0 (they are
        standardised) and the basic plan in the north region.
        """
    ),
    code(
        """
        columns = [
            "age", "plan_basic", "income", "plan_premium", "debt",
            "plan_family", "tenure", "region_north", "n_calls", "region_south",
        ]  # fmt: skip
        ids = {"age": 0, "income": 1, "debt": 2, "tenure": 3, "n_calls": 4}
        ids.update({c: 5 for c in columns if c.startswith("plan_")})
        ids.update({c: 8 for c in columns if c.startswith("region_")})
        feature_mask = torch.tensor([[ids[c] for c in columns]])
        col = {c: i for i, c in enumerate(columns)}


        def score(x):
            return (
                0.8 * x[:, col["income"]]
                - 0.6 * x[:, col["debt"]]
                + 1.5 * x[:, col["plan_premium"]] * x[:, col["tenure"]]
                - 0.3 * x[:, col["n_calls"]]
                + 0.2 * x[:, col["region_south"]]
            )


        customer = {"age": 0.4, "income": 1.1, "debt": 0.7, "tenure": 1.6, "n_calls": 1.0,
                    "plan_premium": 1.0, "region_south": 1.0}  # fmt: skip
        reference = {"plan_basic": 1.0, "region_north": 1.0}
        x = torch.tensor([[customer.get(c, 0.0) for c in columns]])
        baseline = torch.tensor([[reference.get(c, 0.0) for c in columns]])
        print(feature_mask)
        """
    ),
    code(
        """
        raw = SpexInteractions(score).attribute_interactions(
            x, baselines=baseline, feature_mask=feature_mask, max_degree=2
        )
        id_names = {0: "age", 1: "income", 2: "debt", 3: "tenure", 4: "n_calls"}
        id_names.update({5: "plan", 8: "region"})
        names = [id_names[i] for i in raw.diagnostics["feature_ids"]]
        inter_tab = Interactions(
            raw.n_features, raw.terms, raw.coefficients, n_queries=raw.n_queries,
            max_degree=raw.max_degree, feature_names=names, diagnostics=raw.diagnostics,
        )  # fmt: skip
        print("feature ids:", raw.diagnostics["feature_ids"], "->", names)
        print("queries:", inter_tab.n_queries, "(7 features: all 2^7 masks, the exact transform)")
        for term, value in inter_tab.top(5):
            print(f"{inter_tab.label(term):18} {value:+.3f}")
        """
    ),
    md(
        """
        `(tenure, plan)` is the interaction (terms list features in index order): the
        premium plan and a long tenure only pay off together. Because the three plan
        columns are one feature, removing it restores the *basic* plan coherently (never an
        invalid all-zero one-hot row). Age has no effect and does not appear. The Shapley
        values, with names:
        """
    ),
    code(
        """
        for name, value in zip(names, inter_tab.shapley_values()):
            print(f"{name:>8} {value:+.3f}")
        fig, ax = plot_top_interactions(inter_tab, k=5)
        """
    ),
    md(
        """
        ## What to try next

        * A real CNN: use a superpixel segmentation (e.g. SLIC from scikit-image) as the
          `feature_mask`, and a budget of a few hundred masks per image.
        * For a batch of images, pass a `(B, 1, H, W)` mask; `attribute_interactions`
          returns one `Interactions` per example.
        * `plot_interaction_heatmap(inter_tab)` shows all pairwise terms at once.
        * `method="proxy"` (ProxySPEX) needs fewer queries when interactions are
          hierarchical, as in most tabular models.
        """
    ),
]

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_llm_interactions.ipynb": LLM,
    "03_image_and_tabular.ipynb": IMAGE_TABULAR,
}


def build(out_dir: Path = HERE) -> list[Path]:
    """Write every notebook (no outputs) and return the paths."""
    paths = []
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        for i, cell in enumerate(nb.cells):  # stable ids: rebuilding gives no diff
            cell.id = f"{Path(name).stem[:2]}-{i:02d}"
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.metadata["language_info"] = {"name": "python"}
        nbformat.validate(nb)
        path = out_dir / name
        nbformat.write(nb, path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in build():
        print("wrote", p)
