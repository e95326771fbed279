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
# ------------------------------------------------------------------ sentence boundaries
# A candidate end: sentence-ending marks, any closing quotes or brackets, then whitespace
# (or, after a closing double quote, straight into a capital: 'at all."Even if').
_CANDIDATE_END = re.compile(
    r"""(?P<mark>[.!?\u2026]+)(?P<close>["'\u201d\u2019\u00bb)\]}]*)"""
    r"""(?:(?P<space>\s+)(?=\S)|(?<=["\u201d\u00bb])(?=[A-Z]))"""
)
# a blank line ends a sentence (a heading, a list item) whatever precedes it
_PARAGRAPH_END = re.compile(r"\n[^\S\n]*\n\s*(?=\S)")
_OPENING = "\"'([{\u201c\u2018\u00ab"
_CLOSING_QUOTES = "\"'\u201d\u2019\u00bb"
# abbreviations whose period never ends a sentence: titles, "e.g.", "vs." ...
_NEVER_FINAL = frozenset(
    "mr mrs ms mx dr prof st mt ft gen col lt sgt capt cmdr adm maj gov sen rep pres rev fr "
    "hon messrs mme mlle e.g i.e cf vs v viz approx ca fig figs eq eqs ch sec ref".split()
)
# ... never, when a number follows: "No. 5", "Jan. 12", "p. 7"
_BEFORE_NUMBER = frozenset(
    "no nos nr vol vols p pp art op jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# abbreviations that may end a sentence: written in lower case, they end one before a
# capital ("at 7 a.m. The gates", but "at 7 a.m. every day"); written with capitals,
# only before a word that usually starts a sentence ("Inc. The firm", "U.S. Army")
_MAY_END = frozenset("a.m p.m etc al inc ltd co corp jr sr bros plc llc dept est ph.d".split())
_STARTERS = frozenset(
    "a an the this that these those it its he she they we i you his her their our my your "
    "there then in on at after before during when while but and or so yet however also as "
    "since although though if for by with from of to one two three four five six seven "
    "eight nine ten what who why how where which today tomorrow yesterday now later finally "
    "meanwhile thus hence therefore instead still each every all both some many most no not "
    "such only even here according despite".split()
)
_DOTTED = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")  # "U.S", "a.m", "e.g" (the last "." cut)


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
        Split on whitespace, into sentences, or at the tokenizer's token boundaries
        (needs a fast tokenizer with offsets). A sentence ends at ``.``, ``!``, ``?`` or an
        ellipsis (with any closing quotes or brackets) before whitespace, and at a blank
        line; not at the period of an abbreviation or an initial ("Dr. Smith", "7 a.m.
        every day", "U.S. Army", "J. K. Rowling", "No. 5", "e.g. this"), nor at a decimal
        point, nor at an ellipsis or a closing quote before a lower-case word ('"Why?" she
        asked.').
    tokenizer : tokenizer, optional
        Required for ``unit="token"``.

    Examples
    --------
    >>> split_context("A cat sat. It purred!  Then slept.", "sentence")
    ['A cat sat.', ' It purred!', '  Then slept.']
    >>> split_context("Dr. Smith left at 7 a.m. every day. He took 3.5 kg.", "sentence")
    ['Dr. Smith left at 7 a.m. every day.', ' He took 3.5 kg.']
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
        # attach the whitespace before each sentence to it
        starts = [0] + [_ws_start(context, s) for s in _sentence_starts(context)]
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


def _sentence_starts(text: str) -> list[int]:
    """Where the sentences of ``text`` after the first begin (their first non-space
    character), in increasing order.

    A sentence ends at ``.``, ``!``, ``?`` or an ellipsis, with any closing quotes or
    brackets, before whitespace, and at a blank line. A period is no end after an
    abbreviation or an initial ("Dr. Smith", "7 a.m. every day", "J. K. Rowling", "U.S.
    Army", "No. 5"), and an ellipsis only before a capital; a decimal point ("3.5") has no
    whitespace after it. A quotation that ends in a mark goes on before a lower-case word
    ('"Why?" she asked.').
    """
    starts = {m.end() for m in _PARAGRAPH_END.finditer(text)}
    for m in _CANDIDATE_END.finditer(text):
        pos = m.end()
        following = _next_word(text, pos)
        mark = m["mark"]
        if any(c in _CLOSING_QUOTES for c in m["close"]) and following[:1].islower():
            continue  # '"Stop!" he shouted': the quotation ends, the sentence goes on
        if "!" in mark or "?" in mark:
            starts.add(pos)
        elif len(mark) > 1 or mark == "\u2026":  # an ellipsis: a pause, unless a capital
            if following[:1].isupper():
                starts.add(pos)
        elif _period_ends_sentence(_word_before(text, m.start()), following):
            starts.add(pos)
    return sorted(s for s in starts if 0 < s < len(text))


def _word_before(text: str, end: int) -> str:
    """The word that ends at ``end`` (before a period), without opening punctuation."""
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:end].lstrip(_OPENING)


def _next_word(text: str, pos: int) -> str:
    """The word that begins at ``pos``, without opening punctuation."""
    match = re.match(r"\S*", text[pos:])
    return match.group(0).lstrip(_OPENING) if match else ""


def _is_abbreviation(word: str) -> bool:
    """Whether ``word`` (its final period cut) is an abbreviation that may take a period:
    a listed one or a dotted one ("U.S", "a.m"); single initials are not counted."""
    key = word.lower()
    listed = key in _NEVER_FINAL or key in _BEFORE_NUMBER or key in _MAY_END
    return listed or _DOTTED.fullmatch(word) is not None


def _period_ends_sentence(word: str, following: str) -> bool:
    """Whether a period after ``word``, followed by whitespace and ``following``, ends a
    sentence."""
    key = word.lower()
    if not word or not any(c.isalpha() for c in word):
        return True  # "sat ." or "in 2001."
    if key in _NEVER_FINAL:
        return False
    if key in _BEFORE_NUMBER and following[:1].isdigit():
        return False
    initial = len(word) == 1 and word.isupper()
    if key in _MAY_END or initial or _DOTTED.fullmatch(word):
        if word[0].islower():  # "a.m.", "etc.": an end before a capital
            return following[:1].isupper()
        return following.rstrip(".,;:!?\"')\u201d\u2019").lower() in _STARTERS
    return True


def _ends_in_abbreviation(text: str) -> bool:
    """Whether the final period of ``text`` belongs to an abbreviation ("7 a.m.", "U.S.",
    "Acme Inc."), so that cutting it would mangle the word."""
    stripped = text.rstrip()
    if not stripped.endswith(".") or stripped.endswith(".."):
        return False
    return _is_abbreviation(_word_before(stripped, len(stripped) - 1))


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
