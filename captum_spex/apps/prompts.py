"""Question-answering prompts whose context is split into interpretable features.

The features of a prompt are the pieces of its context passage: words, sentences or the
model's tokens. The question, the instruction and the chat template stay fixed. A removed
piece is deleted from the prompt (Captum's ``TextTemplateInput`` default baseline ``""``).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any, Literal

__all__ = ["FeatureUnit", "split_context", "qa_template_input", "default_example"]

FeatureUnit = Literal["word", "sentence", "token"]
UNITS: tuple[str, ...] = ("word", "sentence", "token")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def default_example() -> dict[str, str]:
    """The bundled example: two real DROP sentences, a question and its answer.

    Examples
    --------
    >>> ex = default_example()
    >>> ex["question"], ex["answer"]
    ('Who threw the longest TD pass?', 'Philip Rivers')
    """
    text = resources.files("captum_spex.data").joinpath("qa_example.json").read_text("utf-8")
    return json.loads(text)


def split_context(context: str, unit: FeatureUnit = "word", tokenizer: Any = None) -> list[str]:
    """Split a passage into feature strings whose concatenation is the passage.

    Every piece after the first carries its leading whitespace, so that removing a piece
    never leaves a double space and keeping all pieces restores the text exactly.

    Parameters
    ----------
    context : str
        The passage.
    unit : {"word", "sentence", "token"}, default "word"
        Split on whitespace, after sentence-ending punctuation, or at the tokenizer's
        token boundaries (needs a fast tokenizer with offsets).
    tokenizer : tokenizer, optional
        Required for ``unit="token"``.

    Examples
    --------
    >>> split_context("A cat sat. It purred!  Then slept.", "sentence")
    ['A cat sat.', ' It purred!', '  Then slept.']
    >>> "".join(split_context(" two  words ", "word"))
    ' two  words '
    """
    if not isinstance(context, str) or not context.strip():
        raise ValueError("The 'context' must be a non-empty string.")
    if unit not in UNITS:
        raise ValueError(f"The 'unit' must be one of {UNITS}; got {unit!r}.")
    if unit == "word":
        starts = [m.start() for m in re.finditer(r"\S+", context)]
    elif unit == "sentence":
        starts = [0] + [m.start() for m in _SENTENCE_END.finditer(context)]
        # attach the whitespace before each sentence to it
        starts = [0] + [_ws_start(context, s) for s in starts[1:]]
    else:
        if tokenizer is None:
            raise ValueError("unit='token' needs the model's tokenizer.")
        enc = tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
        starts = [int(a) for a, b in enc["offset_mapping"] if b > a]
        starts = sorted(set(_ws_start(context, s) if i else 0 for i, s in enumerate(starts)))
    starts = sorted(set([0] + [s for s in starts if s > 0]))
    if unit == "word":
        starts = [0] + [_ws_start(context, s) for s in starts[1:]]
    bounds = starts + [len(context)]
    return [context[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if context[a:b]]


def _ws_start(text: str, pos: int) -> int:
    """Move ``pos`` back over the whitespace that precedes it."""
    while pos > 0 and text[pos - 1].isspace():
        pos -= 1
    return pos


def qa_template_input(
    tokenizer: Any,
    pieces: list[str],
    question: str,
    *,
    chat: bool = True,
    instruction: str = "Answer with a short phrase.",
):
    """A Captum ``TextTemplateInput`` whose features are the context pieces.

    The prompt is ``"Passage: <pieces>\\n\\nQuestion: <question>\\n<instruction>"``, passed
    through the tokenizer's chat template when ``chat`` is True (and the tokenizer has one).

    Examples
    --------
    >>> inp = qa_template_input(None, ["Rivers", " threw."], "Who threw?", chat=False)
    >>> inp.n_itp_features
    2
    >>> inp.to_model_input()
    'Passage: Rivers threw.\\n\\nQuestion: Who threw?\\nAnswer with a short phrase.\\nAnswer:'
    """
    from captum.attr import TextTemplateInput

    slot = "\x00PASSAGE\x00"
    content = f"Passage: {slot}\n\nQuestion: {question}\n{instruction}"
    if chat and getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
        )
    else:
        text = content + "\nAnswer:"
    template = text.replace("{", "{{").replace("}", "}}").replace(slot, "{}" * len(pieces))
    return TextTemplateInput(template, list(pieces))
