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


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))
