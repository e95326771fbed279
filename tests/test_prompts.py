"""Sentence splitting of real passages: abbreviations, initials, decimals, quotes."""

import json

import pytest

from captum_spex.apps.cli import _first_clause
from captum_spex.apps.prompts import split_context
from tests.fixtures.qa import HERE, drop_passage, squad_paragraphs

_ENDS = (".", "!", "?", "\u2026", '"', "\u201d", ")")


def sentences(text: str) -> list[str]:
    pieces = split_context(text, "sentence")
    assert "".join(pieces) == text  # nothing lost, nothing added
    return pieces


def assert_whole_sentences(pieces: list[str]) -> None:
    """Each piece starts like a sentence and ends in a closing mark: no fragment."""
    for piece in pieces:
        body = piece.strip()
        assert body[:1].isupper() or body[:1] in '"\u201c(' or body[:1].isdigit(), piece
        assert body.endswith(_ENDS), piece


def quoref_paragraphs() -> list[str]:
    data = json.loads((HERE / "quoref_sample.json").read_text(encoding="utf-8"))
    return [p["context"] for a in data["data"] for p in a["paragraphs"]]


# ------------------------------------------------------------------ real passages
@pytest.mark.parametrize("pid,count", [("history_319", 13), ("history_720", 12), ("nfl_653", 8)])
def test_drop_passages_split_into_their_sentences(pid, count):
    pieces = sentences(drop_passage(pid)["passage"])
    assert len(pieces) == count
    assert_whole_sentences(pieces)


def test_a_company_abbreviation_inside_a_sentence_ends_nothing():
    pieces = [p.strip() for p in sentences(drop_passage("history_319")["passage"])]
    assert (
        "With the closure of the Naval Base and the Charleston Naval Shipyard in 1996, "
        "Detyens, Inc. signed a long term lease."
    ) in pieces
    assert any(p.startswith("With three dry docks") and "Inc. is one of" in p for p in pieces)


def test_squad_paragraphs_split_into_their_sentences():
    paragraphs = [p["context"] for p in squad_paragraphs()]
    counts = [len(sentences(text)) for text in paragraphs]
    assert counts == [7, 4]
    for text in paragraphs:
        assert_whole_sentences(sentences(text))
    quoted = 'with the legend "Venite Ad Me Omnes".'
    assert any(p.endswith(quoted) for p in sentences(paragraphs[0]))


def test_quoref_paragraphs_with_quotes_titles_and_an_ellipsis():
    quake, warlock = quoref_paragraphs()
    pieces = [p.strip() for p in sentences(quake)]
    assert len(pieces) == 12
    assert_whole_sentences(pieces)
    # a closing quote glued to the next sentence ('at all."Even if') still ends one
    assert pieces[5].endswith('migrating at all."') and pieces[6].startswith("Even if")
    # "Mount St. Helens" and "impact... but" end nothing
    assert any("the 1980 Mount St. Helens eruption" in p for p in pieces)
    assert any("fairly limited impact... but it'll be extremely" in p for p in pieces)
    pieces = sentences(warlock)
    assert len(pieces) == 14
    assert_whole_sentences(pieces)


def test_imdb_reviews_split_on_questions_exclamations_and_ellipses():
    lines = (HERE / "imdb_corpus.jsonl").read_text(encoding="utf-8").splitlines()
    reviews = [json.loads(line)["text"] for line in lines]
    first, second = sentences(reviews[0]), sentences(reviews[1])
    assert first[0] == "...And I never thought a movie deserved to be awarded a 1!"
    assert len(first) == 9
    assert [p.strip() for p in second[4:6]] == [
        "But to travel all that way just to start over?",
        "Are you kidding me?",
    ]
    assert second[11].strip().endswith("giving birth... yea right.")  # a pause, no end
    assert len(second) == 13


# ------------------------------------------------------------------ the reported cases
def test_the_reported_7_am_passage_has_four_sentences():
    text = (
        "The museum opens at 7 a.m. every day. Tickets cost 12 dollars. "
        "Children under 5 enter free. The cafe closes at 5 p.m. on Sundays."
    )
    pieces = sentences(text)
    assert pieces == [
        "The museum opens at 7 a.m. every day.",
        " Tickets cost 12 dollars.",
        " Children under 5 enter free.",
        " The cafe closes at 5 p.m. on Sundays.",
    ]
    assert not any(p.strip() == "every day." for p in pieces)


@pytest.mark.parametrize(
    "text,expected",
    [
        # a lower-case abbreviation ends a sentence before a capital
        (
            "We open at 7 a.m. The gates close at 9 p.m. Come early.",
            ["We open at 7 a.m.", " The gates close at 9 p.m.", " Come early."],
        ),
        (
            "Dr. Smith met Mrs. Jones at St. Mary's. They talked.",
            ["Dr. Smith met Mrs. Jones at St. Mary's.", " They talked."],
        ),
        # a capital abbreviation ends one only before a usual sentence start
        (
            "He served in the U.S. Army for ten years. He moved to the U.S. The weather was "
            "better.",
            [
                "He served in the U.S. Army for ten years.",
                " He moved to the U.S.",
                " The weather was better.",
            ],
        ),
        (
            "J. K. Rowling wrote it. It sold well. Mr. T. Brown read it.",
            ["J. K. Rowling wrote it.", " It sold well.", " Mr. T. Brown read it."],
        ),
        # "No." before a number, not the word "no"
        (
            "He wore No. 5 on his shirt. He said no. Then he left.",
            ["He wore No. 5 on his shirt.", " He said no.", " Then he left."],
        ),
        (
            "The bag weighs 3.5 kg. It is heavy. Pi is about 3.14159.",
            ["The bag weighs 3.5 kg.", " It is heavy.", " Pi is about 3.14159."],
        ),
        (
            "Use a short name, e.g. this one. Then save, i.e. press the key.",
            ["Use a short name, e.g. this one.", " Then save, i.e. press the key."],
        ),
        (
            "See Fig. 3 and Eq. 2. Vol. 7 is out. It was Jan. 12 when she left.",
            ["See Fig. 3 and Eq. 2.", " Vol. 7 is out.", " It was Jan. 12 when she left."],
        ),
        # an ellipsis ends a sentence only before a capital; "?!" is one end
        (
            "Wait... what happened? I do not know\u2026 Nobody does. Really?! Yes!",
            [
                "Wait... what happened?",
                " I do not know\u2026",
                " Nobody does.",
                " Really?!",
                " Yes!",
            ],
        ),
        # quotations: the closing quote stays with its sentence; a quotation before a
        # lower-case word ends no sentence
        (
            'She said, "Go home." He went. "Why?" she asked. "Stop!" he shouted. '
            "\u201cFine.\u201d Then silence.",
            [
                'She said, "Go home."',
                " He went.",
                ' "Why?" she asked.',
                ' "Stop!" he shouted.',
                " \u201cFine.\u201d",
                " Then silence.",
            ],
        ),
        (
            "Smith et al. reported it. Apple Inc. The company grew.",
            ["Smith et al. reported it.", " Apple Inc.", " The company grew."],
        ),
        # a blank line ends a heading; the whitespace goes with the next sentence
        ("Title\n\nFirst line here.  Second.", ["Title", "\n\nFirst line here.", "  Second."]),
    ],
)
def test_abbreviations_initials_decimals_and_quotes(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "no end at all", "3.5", "a.m.", "...", "?!"])
def test_degenerate_texts_lose_nothing(text):
    if not text.strip():
        with pytest.raises(ValueError):
            split_context(text, "sentence")
    else:
        assert sentences(text) == [text]


# ------------------------------------------------------------------ a generated answer
@pytest.mark.parametrize(
    "answer,expected",
    [
        (" At 7 a.m. every day. Then", " At 7 a.m. every day"),
        (" 7 a.m.", " 7 a.m."),  # the abbreviation's own period is kept
        ("the U.S.", "the U.S."),
        ("Dr. Smith. He did it.", "Dr. Smith"),
        ("No. 5 was his number.", "No. 5 was his number"),
        (" 3.5 kg, give or take", " 3.5 kg"),
        ("J. K. Rowling wrote it", "J. K. Rowling wrote it"),
        ("Yes! It is.", "Yes"),
        ("Wait... what? Nothing.", "Wait... what"),
    ],
)
def test_first_clause_keeps_abbreviations_and_decimals(answer, expected):
    assert _first_clause(answer) == expected
