"""The PTB tokenizer (``ptb``): the datasets' own tokenization, the CNNs' default.

PTB-style and downcased (or in the text's own case: :func:`tokenize_cased`), to match how the datasets themselves were tokenized (SST's
``stsa`` files, TrecQA's ``a.toks`` / ``b.toks``):

* punctuation becomes tokens (``journey!`` → ``journey !``), runs such as ``...``, ``--``,
  ``?!?`` stay whole, commas and colons inside numbers stay (``1,000``, ``5:30``);
* clitics are split: ``don't`` → ``do n't``, ``can't`` → ``ca n't``, ``it's`` → ``it 's``
  (also ``'re 've 'll 'd 'm``), ``cannot`` → ``can not``;
* double quotes become ````` `` ```` and ``''``; brackets become ``-lrb- -rrb- -lsb- -rsb-
  -lcb- -rcb-``; curly quotes and dashes are mapped to their PTB forms;
* hyphenated words (``coming-of-age``), numbers (``3.5``), abbreviations (``mr.``,
  ``u.s.``) and words with an inner apostrophe (``o'neill``) are kept;
* the period of the last word is split off (``journey.`` → ``journey .``) unless that word
  is an abbreviation; inside a text, a period is split only before a capitalised word
  (``It ended. Then`` → ``it ended . then``), never after a known abbreviation;
* control and zero-width characters are dropped, emoji become tokens of their own, any
  other script passes through.

Two properties are tested on every line of the data: an already tokenized ``stsa`` /
``.toks`` line comes back unchanged (``tokenize(line) == line.split()``), and raw text
gets the tokens the data would have. A token's store key maps PTB's escapes back to the
characters vector files hold (``-lrb-`` → ``(``: :func:`ptb_key`); a vector file's words
are keyed the same way, so ``-lrb-`` in the text finds GloVe's ``(`` row.

Runs on every request: stdlib only, regexes compiled once, a fast path for plain words.
"""

from __future__ import annotations

import re
import unicodedata

from millicent.tokenizers import version_of
from millicent.tokenizers.base import Tokenizer

#: Recorded in artifact manifests (the registry's entry); bump it whenever any output can change.
TOKENIZER_VERSION = version_of("ptb")

# --- character normalisation (one str.translate) -------------------------------------
_TRANSLATE: dict[int, str | None] = {}
for _code in range(0x20):
    _TRANSLATE[_code] = None  # C0 controls are dropped ...
for _ch in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f":
    _TRANSLATE[ord(_ch)] = " "  # ... except the ones that separate words
for _code in range(0x7F, 0xA0):
    _TRANSLATE[_code] = None  # DEL and C1 controls
_TRANSLATE[0x85] = " "  # NEL is a line break
for _code in (*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065), 0xFEFF,
              0xFE0E, 0xFE0F, 0x00AD, *range(0x1F3FB, 0x1F400)):
    # zero-width, bidi controls, variation selectors, soft hyphen, emoji skin tones
    _TRANSLATE[_code] = None
_TRANSLATE.update({
    0x2028: " ", 0x2029: " ",
    # Curly quotes to the PTB forms the data uses.
    ord("\u2018"): "`", ord("\u201a"): "`", ord("\u2019"): "'", ord("\u201b"): "`",
    ord("\u201c"): "``", ord("\u201e"): "``", ord("\u201d"): "''", ord("\u201f"): "``",
    ord("\u00ab"): "``", ord("\u00bb"): "''", ord("\u2032"): "'", ord("\u2033"): "''",
    # The data writes dashes as "--" and the ellipsis as "...".
    ord("\u2013"): "--", ord("\u2014"): "--", ord("\u2015"): "--", ord("\u2026"): "...",
})

#: The characters any tokenizer drops or reads as a space: controls, zero-width, bidi marks.
INVISIBLE = {k: v for k, v in _TRANSLATE.items() if v is None or v == " "}

# --- pieces of a whitespace-separated chunk -------------------------------------------
# Emoji and pictographs: each one is a token (they are not \w, and gluing them to words
# would make every "great🙂" an unknown word).
_EMOJI = "\u2190-\u21ff\u2300-\u23ff\u2460-\u27bf\u2900-\u297f\u2b00-\u2bff\U0001f000-\U0001faff"
# A chunk is cut into pieces by one findall; alternatives are tried in this order at every
# position, so PTB tokens that are already there (-lrb-, ``, '') win over the word rule.
_PIECE = re.compile(
    rf"""
    -[lr][rsc]b-                    # PTB bracket escapes, already tokenized input
  | ``|''                           # PTB double quotes
  | "                               # a raw double quote (opening or closing decided later)
  | [()\[\]{{}}]                    # brackets
  | \.\.+                           # ellipsis
  | --+                             # dash
  | [!?]+                           # ! ? !? ?!?
  | [;%]
  | (?<!\d),|,(?!\d)                # a comma, unless between digits (1,000)
  | (?<!\d):|:(?!\d)                # a colon, unless between digits (5:30)
  | [{_EMOJI}]
  | (?:                             # a word: everything else up to the next split point
        [^\s"()\[\]{{}}!?;%,:.'`\-{_EMOJI}]
      | (?<=\d)[,:](?=\d)
      | \.(?!\.) | -(?!-) | '(?!') | `(?!`)
    )+
    """,
    re.VERBOSE,
)
_NOT_WORD = re.compile(rf"``|''|\.\.|--|[\"()\[\]{{}}!?;%,:{_EMOJI}]")
# Words needing no further work: letters/digits joined by single hyphens or periods.
_PLAIN = re.compile(r"(?:[^\W_]+[-.])*[^\W_]+")
_PLAIN_PUNCT = re.compile(r"((?:[^\W_]+[-.])*[^\W_]+)([,;:]|[!?]+)")
_CLITIC = re.compile(r"(.+?)(n't|'s|'re|'ve|'ll|'d|'m)")
# A single letter or a dotted acronym keeps its final period: e.t., p.o.w., u.s., x.
_ACRONYM = re.compile(r"(?:[^\W\d_]\.)+")
_OPENING = "([{\"'`\u201c\u2018"

#: Abbreviations that keep their period even at the end of a text (``mulholland dr.``).
ABBREVIATIONS = frozenset((
    "mr.", "mrs.", "ms.", "dr.", "jr.", "sr.", "st.", "mt.", "ft.", "prof.", "gen.", "sen.",
    "rep.", "gov.", "lt.", "col.", "capt.", "sgt.", "rev.", "hon.", "messrs.", "mme.", "mlle.",
    "vs.", "etc.", "inc.", "ltd.", "corp.", "bros.", "co.", "dept.", "univ.", "assn.", "jan.",
    "feb.", "apr.", "jun.", "jul.", "aug.", "sep.", "sept.", "oct.", "nov.", "dec.", "vol.",
    "pp.", "approx.",
))
# Words that end in an apostrophe which is part of the word, not a closing quote.
_KEEP_APOSTROPHE = frozenset({"ol'", "'n'", "o'", "rock'n'", "y'", "th'", "goin'", "nothin'"})
# Words PTB writes as two tokens although they hold no apostrophe.
_SPLIT_WORDS = {"cannot": ("can", "not")}
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
# Frequent single tokens of already tokenized text (fast path).
_COMMON = frozenset({".", ",", "?", "!", "``", "''", "'s", "n't", "'", "`", "--", "...", ":",
                     ";", "-", "-lrb-", "-rrb-", "-lsb-", "-rsb-", "'re", "'ve", "'ll", "'d",
                     "'m", "$", "&", "%"})


def tokenize(text: str) -> list[str]:
    """Split ``text`` into PTB-style, downcased tokens (``[]`` for empty / blank text).

    >>> tokenize("It's a CHARMING, often affecting journey!")
    ['it', "'s", 'a', 'charming', ',', 'often', 'affecting', 'journey', '!']
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.translate(_TRANSLATE)
    # Lower-casing never creates or removes whitespace, so both splits line up; the
    # original case is only consulted to see whether a chunk starts a sentence.
    chunks = text.split()
    out: list[str] = []
    last = len(chunks) - 1
    quote_open = False
    for i, low in enumerate(text.lower().split()):
        if low.isalnum() or low in _COMMON or _PLAIN.fullmatch(low):
            split = _SPLIT_WORDS.get(low)
            if split is None:
                out.append(low)
            else:
                out.extend(split)
            continue
        m = _PLAIN_PUNCT.fullmatch(low)
        if m is not None:  # "form," "journey!": the most frequent case of raw text
            word = m.group(1)
            out.extend(_SPLIT_WORDS.get(word, (word,)))
            out.append(m.group(2))
            continue
        pieces = _PIECE.findall(low)
        # Index of the chunk's last word piece: the one whose final period may be split.
        last_word = max((j for j, p in enumerate(pieces) if _is_word(p)), default=-1)
        for j, piece in enumerate(pieces):
            if piece == '"':
                # Opening at the start of a chunk with text after it, closing at its end;
                # a free-standing quote alternates.
                if j == 0 and len(pieces) > 1:
                    quote_open = True
                elif j > 0:
                    quote_open = False
                else:
                    quote_open = not quote_open
                out.append("``" if quote_open else "''")
            elif piece in _BRACKETS:
                out.append(_BRACKETS[piece])
            elif j == last_word:
                ends_sentence = i == last or _starts_capitalised(chunks[i + 1])
                _word(piece, ends_sentence, out)
            elif _is_word(piece):
                _word(piece, False, out)
            else:
                out.append(piece)
    return out


def _is_word(piece: str) -> bool:
    return _NOT_WORD.match(piece) is None


def _starts_capitalised(chunk: str) -> bool:
    """Does the next chunk begin a sentence (first letter upper case, after quotes/brackets)?"""
    stripped = chunk.lstrip(_OPENING)
    return bool(stripped) and stripped[0].isupper()


def _word(w: str, ends_sentence: bool, out: list[str]) -> None:
    """Append the tokens of one word piece: ``$``/``#`` prefix, clitics, closing quote, period."""
    if len(w) > 1 and w[0] in "$#":
        out.append(w[0])
        w = w[1:]
    quote = False
    if len(w) > 1 and w.endswith("'") and w not in _KEEP_APOSTROPHE:
        quote = True
        w = w[:-1]
    period = False
    if (ends_sentence and len(w) > 1 and w.endswith(".") and w not in ABBREVIATIONS
            and not _ACRONYM.fullmatch(w)):
        period = True
        w = w[:-1]
    split = _SPLIT_WORDS.get(w)
    if split is not None:
        out.extend(split)
    else:
        m = _CLITIC.fullmatch(w)
        if m is not None:
            out.append(m.group(1))
            out.append(m.group(2))
        else:
            out.append(w)
    if period:
        out.append(".")
    if quote:
        out.append("'")


def tokenize_cased(text: str) -> list[str]:
    """PTB tokens in the text's own case: :func:`tokenize`'s tokens, each spelt as it
    appears in the text; PTB's own tokens (```` `` ````, ``''`` for a straight quote,
    ``-lrb-`` for a bracket ...) stay as PTB writes them.

    The tokens of :func:`tokenize` occur in the (normalised) text in order, separated only
    by whitespace, except those PTB makes from one character; each is found where the last
    one ended.
    """
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.translate(_TRANSLATE)
    low = text.lower()
    if len(low) != len(text):  # a character whose lower case is longer (rare): no alignment
        return tokenize(text)
    out: list[str] = []
    pos = 0
    for tok in tokenize(text):
        while pos < len(low) and low[pos].isspace():
            pos += 1
        if low.startswith(tok, pos):
            out.append(text[pos : pos + len(tok)])
            pos += len(tok)
        else:  # a token PTB wrote for one character (a quote or a bracket)
            out.append(tok)
            pos += 1
    return out


#: PTB escape token -> the character the vector vocabularies contain (GloVe and word2vec
#: hold the plain characters: unmapped, every bracket would be a zero vector).
PTB_UNESCAPE: dict[str, str] = {
    "-lrb-": "(",
    "-rrb-": ")",
    "-lsb-": "[",
    "-rsb-": "]",
    "-lcb-": "{",
    "-rcb-": "}",
}


def ptb_key(token: str, lowercase: bool = True) -> str:
    """The store key of a PTB token (or of a vector file's word, for a PTB model).

    NFC-normalised, lower-cased (unless ``lowercase`` is False: a cased model's tokenizer
    keeps case, and so must its keys), PTB bracket escapes mapped to brackets and backslash
    escapes (``\\/``, ``\\*``) removed. Idempotent: ``ptb_key(ptb_key(t)) == ptb_key(t)``.
    """
    key = unicodedata.normalize("NFC", token) if not token.isascii() else token
    if lowercase:
        key = key.lower()
    mapped = PTB_UNESCAPE.get(key if lowercase else key.lower())
    if mapped is not None:
        return mapped
    if "\\" in key:
        key = key.replace("\\/", "/").replace("\\*", "*")
    return key


class PTBTokenizer(Tokenizer):
    """PTB-style tokens, lower-cased unless the manifest keeps case; keys unescape PTB."""

    name = "ptb"

    def tokenize(self, text: str) -> list[str]:
        return tokenize(text) if self.lowercase else tokenize_cased(text)

    def key(self, token: str) -> str:
        return ptb_key(token, self.lowercase)
