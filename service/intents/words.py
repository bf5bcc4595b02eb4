"""Layer 2 of the router, the lexical evidence: every intent has weighted word stems and phrases in English, German,
French, Spanish, Dutch and Italian (synonyms, inflections by prefix, accents folded, one-letter typos forgiven on longer
words). This is what carries the non-English questions: the bundled encoder is an English model."""

from __future__ import annotations

from service.intents.lexicon_activity import ACTIVITY_LEXICON
from service.intents.lexicon_model import MODEL_LEXICON
from service.intents.normalise import tokens

LEX_CAP = 2.0

# (stem or phrase, weight). A stem matches a token that starts with it; a phrase of several words matches
# consecutive tokens (each by prefix). Accents are folded before matching, so write stems without them.
LEXICON: dict[str, list[tuple[str, float]]] = {**MODEL_LEXICON, **ACTIVITY_LEXICON}


def _phrase_tokens(lexicon: dict[str, list[tuple[str, float]]]) -> dict[str, list[tuple[tuple[str, ...], float]]]:
    return {i: [(tuple(tokens(p)), w) for p, w in entries] for i, entries in lexicon.items()}


_LEX = _phrase_tokens(LEXICON)
_STEMS = sorted({p[0] for entries in _LEX.values() for p, _ in entries if len(p) == 1 and len(p[0]) >= 6})
# Words the lexicon's phrases use whole: never "corrected" into a stem ("proximos" of "proximos meses" had become the
# stem "proxima", one letter from its start, and the phrase no longer matched)
_PHRASE_WORDS = {w for entries in _LEX.values() for p, _ in entries if len(p) > 1 for w in p}


def _close(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1 (one typo: a letter added, dropped, changed or two swapped)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _typo_fix(tok: str) -> str:
    """A token one typo away from a known stem of 6+ letters (or from its start) becomes that stem: 'complants' ->
    'complain', 'sumarize' -> 'summar', 'simlar' -> 'similar'. A changed letter only counts on stems of 8+ letters: on
    short ones it turns real words into other words ('spend' -> 'spent', 'cuanto' -> 'cuando', 'kundin' -> 'kundig')."""
    if len(tok) < 5 or tok in _PHRASE_WORDS or any(tok.startswith(s) for s in _STEMS):
        return tok
    for s in _STEMS:
        for cand in {tok, tok[: len(s)], tok[: len(s) + 1], tok[: len(s) - 1]}:
            if len(cand) >= 5 and _close(cand, s) and (len(cand) != len(s) or len(s) >= 8 or sorted(cand) == sorted(s)):
                return s
    return tok


def _matches(toks: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    if n == 1:
        return any(t.startswith(phrase[0]) for t in toks)
    for i in range(len(toks) - n + 1):
        # Every word but the last must match whole or inflected ("walk away" matches "walks away", "buy again" not
        # "buyer again"); the last by prefix.
        if all(_inflected(toks[i + j], phrase[j]) for j in range(n - 1)) and toks[i + n - 1].startswith(phrase[-1]):
            return True
    return False


def _inflected(token: str, word: str) -> bool:
    """``token`` is ``word`` or ``word`` with an English inflection: walks, walked, walking; not buyer or stays."""
    return token == word or (
        len(word) >= 4 and token in (word + "s", word + "es", word + "ed", word + "ing", word + "d")
    )


def lexical_scores(question: str) -> dict[str, float]:
    toks = [_typo_fix(t) for t in tokens(question)]
    out = {}
    for intent, entries in _LEX.items():
        s = sum(w for p, w in entries if p and _matches(toks, p))
        out[intent] = min(s, LEX_CAP)
    return out
