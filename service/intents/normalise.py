"""The text every layer of the router reads: lower case, accents folded, split into word tokens."""

from __future__ import annotations

import re
import unicodedata


def fold(text: str) -> str:
    """Lower case, accents folded (gefährdet -> gefahrdet, ¿Cuándo -> ¿cuando), ß -> ss, apostrophes unified."""
    text = text.replace("ß", "ss").replace("\u2019", "'").replace("\u2018", "'")
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


_TOKEN = re.compile(r"[a-z0-9]+")


# Spoken and typed-fast forms of words the lexicon's phrases use ("wen is she gonna order agen"): too short for the
# typo fixer (``service.intents.words``), which only corrects words of 5+ letters
_SPOKEN = {"agen": "again", "agian": "again", "gonna": "going to", "wanna": "want to", "wen": "when"}


def tokens(text: str) -> list[str]:
    return [w for t in _TOKEN.findall(fold(text)) for w in _SPOKEN.get(t, t).split()]
