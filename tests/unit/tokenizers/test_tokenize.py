"""The tokenizer on raw text: PTB conventions of the SST / TrecQA data, downcased."""

from __future__ import annotations

import pytest

from millicent.tokenizers.ptb import TOKENIZER_VERSION, tokenize
from millicent.tokenizers.ptb import ptb_key as vector_key


def toks(text: str) -> str:
    return " ".join(tokenize(text))


def test_version_is_recorded_string() -> None:
    assert TOKENIZER_VERSION == "ptb-1"


def test_issue_example_matches_the_pretokenized_data() -> None:
    # sst/glue dev line 1 reads "it 's a charming and often affecting journey ."
    assert tokenize("It's a CHARMING, often affecting journey!") == [
        "it", "'s", "a", "charming", ",", "often", "affecting", "journey", "!"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("don't", "do n't"),
    ("I can't", "i ca n't"),
    ("won't", "wo n't"),
    ("ain't", "ai n't"),
    ("it's", "it 's"),
    ("they're", "they 're"),
    ("we've", "we 've"),
    ("you'll", "you 'll"),
    ("I'd", "i 'd"),
    ("I'm", "i 'm"),
    ("cannot", "can not"),
    ("the dogs' bones", "the dogs ' bones"),
    ("I\u2019ll", "i 'll"),  # curly apostrophe
])
def test_clitics(raw: str, expected: str) -> None:
    assert toks(raw) == expected


@pytest.mark.parametrize("word", ["o'neill", "d'amato", "o'clock", "c'mon", "hors-d'oeuvre",
                                  "'70s", "'tis", "ol'", "'n'"])
def test_inner_and_leading_apostrophes_are_kept(word: str) -> None:
    assert tokenize(word) == [word]
    assert tokenize(f"the {word} here") == ["the", word, "here"]


@pytest.mark.parametrize(("raw", "expected"), [
    ('"Hello," she said.', "`` hello , '' she said ."),
    ('He said "no" twice', "he said `` no '' twice"),
    ('the house that jack built."', "the house that jack built . ''"),
    ("\u201cgreat\u201d", "`` great ''"),
    ('" spaced "', "`` spaced ''"),
])
def test_double_quotes_become_ptb_quotes(raw: str, expected: str) -> None:
    assert toks(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("(see above).", "-lrb- see above -rrb- ."),
    ("a [sic] note", "a -lsb- sic -rsb- note"),
    ("{x}", "-lcb- x -rcb-"),
    ("f(x)", "f -lrb- x -rrb-"),
])
def test_brackets_become_escapes_that_map_back_for_vectors(raw: str, expected: str) -> None:
    out = toks(raw)
    assert out == expected
    assert [vector_key(t) for t in tokenize(raw) if t.startswith("-l")] == [
        c for c in raw if c in "([{"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("Wait... what?", "wait ... what ?"),
    ("so\u2026", "so ..."),
    ("yes!!! really?!?", "yes !!! really ?!?"),
    ("a -- b", "a -- b"),
    ("poor--if durable--imitation", "poor -- if durable -- imitation"),
    ("one\u2014two", "one -- two"),
    ("x; y: z", "x ; y : z"),
    ("50% off", "50 % off"),
    ("$5 and #1", "$ 5 and # 1"),
])
def test_punctuation_is_split(raw: str, expected: str) -> None:
    assert toks(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("1,000 people", "1,000 people"),
    ("paid $3.50 each", "paid $ 3.50 each"),
    ("It cost $1,000,000.50!", "it cost $ 1,000,000.50 !"),
    ("at 5:30 pm", "at 5:30 pm"),
    ("a, b,c", "a , b , c"),
    ("ends at 3.5.", "ends at 3.5 ."),
])
def test_numbers_keep_commas_and_decimals(raw: str, expected: str) -> None:
    assert toks(raw) == expected


@pytest.mark.parametrize("word", ["coming-of-age", "sci-fi", "over-the-top", "-based", "co-",
                                  "24-year-old", "u.s.-based", "writer\\/director", "a/b"])
def test_hyphenated_and_slashed_words_are_kept(word: str) -> None:
    assert tokenize(f"a {word} film") == ["a", word, "film"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("Mr. Smith went to the U.S. in 2003.", "mr. smith went to the u.s. in 2003 ."),
    ("I live in the U.S.", "i live in the u.s."),
    ("mulholland Dr.", "mulholland dr."),
    ("baffled by jason x.", "baffled by jason x."),
    ("e.g. this, i.e. that", "e.g. this , i.e. that"),
    ("The answer is no.", "the answer is no ."),
    ("Journey.", "journey ."),
    ("He left. Then she came.", "he left . then she came ."),
    ("he met Dr. Who there", "he met dr. who there"),
    ("the end.)", "the end . -rrb-"),
])
def test_periods_abbreviations_and_sentence_ends(raw: str, expected: str) -> None:
    assert toks(raw) == expected


def test_downcased_including_non_ascii() -> None:
    assert tokenize("CAF\u00c9 \u00c9T\u00c9") == ["caf\u00e9", "\u00e9t\u00e9"]
    # Decomposed input is NFC-normalised, so it matches the composed data / vector keys.
    assert tokenize("Cafe\u0301") == ["caf\u00e9"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("great\U0001F642 movie", ["great", "\U0001F642", "movie"]),
    ("\U0001F44D\U0001F3FD", ["\U0001F44D"]),  # skin tone modifier dropped
    ("\u2764\ufe0f it", ["\u2764", "it"]),  # variation selector dropped
    ("\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 ok", ["\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "ok"]),
    ("\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac!", ["\u03b5\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac", "!"]),
    ("\u0645\u0631\u062d\u0628\u0627 \u0628\u0643\u0645", ["\u0645\u0631\u062d\u0628\u0627", "\u0628\u0643\u0645"]),
])
def test_emoji_and_other_scripts(raw: str, expected: list[str]) -> None:
    assert tokenize(raw) == expected


def test_control_and_zero_width_characters_are_stripped() -> None:
    assert tokenize("ctrl\x00chars\x07 here\u200b\ufeff") == ["ctrlchars", "here"]
    assert tokenize("tab\there\r\nnew\x0bline\u2028x") == ["tab", "here", "new", "line", "x"]
    assert tokenize("\x85a\u00a0b") == ["a", "b"]


@pytest.mark.parametrize("blank", ["", " ", "\t\n", "\x00\x01", "\u200b"])
def test_empty_and_blank_give_no_tokens(blank: str) -> None:
    assert tokenize(blank) == []


@pytest.mark.parametrize("line", [
    "it 's a charming and often affecting journey .",
    "an interesting story with a pertinent -lrb- cinematically unique -rrb- message , told fairly well",
    "he borrowed his mantra , `` greed is good , '' from gordon gekko in the film `` wall street. ''",
    "what is the longest suspension bridge in the u.s .",
    "there 's plenty to impress about e.t.",
    "the best way to describe it is as a cross between magnolia and mulholland dr.",
    "broomfield turns his distinctive ` blundering ' style into something",
    "`` i am now embarrassed to admit that i worked to create amtrak , '' joseph vranich said",
    "a 'top persons ' airliner ' , with a \\/ and \\*\\*\\* rating of 1\\/2 -lsb- sic -rsb-",
    "http : //www.x.com had 1,000 hits at 5:30 ... wow !? ?!? -- _ ___ & @ = +",
])
def test_pretokenized_lines_come_back_unchanged(line: str) -> None:
    assert tokenize(line) == line.split()


@pytest.mark.parametrize("text", [
    "It's a CHARMING, often affecting journey!",
    '"Hello," she said (quietly).',
    "Mr. Smith paid $3.50 -- 50% off... in the U.S.",
])
def test_tokenizing_twice_changes_nothing(text: str) -> None:
    once = tokenize(text)
    assert tokenize(" ".join(once)) == once


def test_weird_input_never_crashes() -> None:
    nasty = "".join(chr(c) for c in range(0, 0x3000, 7)) + "\udcff" + "'''```\"\"\"((([[[..--"
    out = tokenize(nasty)
    assert all(t and not any(ch.isspace() for ch in t) for t in out)
