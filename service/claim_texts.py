"""What a narrative says about the customer's own texts, beyond the quotes (which must be verbatim): a browsing text is
something they looked at, never a purchase nor their words; a review is described with its own product and its own
tone ("the cookbook arrived damaged" of the review about the poetry collection, "complained" of a 5/5 review)."""

from __future__ import annotations

import re

from service.facts import Facts

_BROWSING_WORDS = re.compile(r"\b(?:brows\w*|looked at|looking at|look at|viewed|view\w*|search\w*|visit\w*)\b", re.I)
_AS_PURCHASE = re.compile(r"\b(?:bought|buys|ordered|orders|purchased|purchase of|received|got delivered)\b", re.I)
_AS_WORDS = re.compile(
    r"\b(?:wrote|writes|written|said|says|asked|asks|told|tells|complain\w*|review\w*|messag\w*|e-?mail\w*|contacted|"
    r"called|wrote in|in their words|in her words|in his words)\b",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\u201c\"])|\n")


def browsing_reasons(narrative: str, facts: Facts) -> list[str]:
    """A browsing text named in a sentence that makes it a purchase or the customer's words, with no word of
    browsing."""
    reasons = []
    browsed = [e.text for e in facts.evidence if e.source.lower().startswith("brows") and len(e.text.split()) >= 2]
    for sentence in _SENTENCE.split(narrative):
        for text in browsed:
            if text.lower() not in sentence.lower() or _BROWSING_WORDS.search(sentence):
                continue
            kind = (
                "a purchase" if _AS_PURCHASE.search(sentence) else "their words" if _AS_WORDS.search(sentence) else None
            )
            if kind:
                reasons.append(f"presents what they browsed (\u201c{text}\u201d) as {kind}")
    return reasons


_CITATION = re.compile(r"\(review (\d{4}-\d\d-\d\d)(?:,\s*(\d)/5)?[^)]*\)", re.I)
_WORD = re.compile(r"[a-z\u00e0-\u00ff]{4,}")
_FUNCTION_WORDS = frozenset(
    re.findall(
        r"\w+",
        "that this with from they them their have were been what when which would could should there these  "
        "those about after before still again also very just more most much only some such than then into  "
        "over your will said says wrote review reviews customer time",
    )
)
_COMPLAINT = re.compile(
    r"\b(?:complain\w*|unhappy|dissatisf\w*|disappoint\w*|negative|poor|angry|upset|frustrat\w*|hated?)\b", re.I
)
_PRAISE = re.compile(r"\b(?:lov\w*|liked?|happy|pleased|prais\w*|positive|great|delighted|satisfied|enjoy\w*)\b", re.I)
_NEGATED = re.compile(r"\b(?:not|no|never|n't|without|hardly)\W+(?:\w+\W+)?$", re.I)


def review_description_reasons(unquoted: str, facts: Facts) -> list[str]:
    """What is said before a review's citation ('... (review 2025-11-15, 4/5)') must be about that review: no word
    that only another of their texts has (its product), no complaint of a review rated 4 or 5, no praise of one rated
    1 or 2. ``unquoted``: the narrative without its quotes (a quote is checked verbatim elsewhere)."""
    reviews: dict[str, list[tuple[str, int | None]]] = {}
    for e in facts.evidence:
        m = re.match(r"review (\d{4}-\d\d-\d\d)(?:,\s*(\d)/5)?", e.source)
        if m:
            reviews.setdefault(m.group(1), []).append((e.text, int(m.group(2)) if m.group(2) else None))
    all_words = {t: set(_WORD.findall(t.lower())) for t in (e.text for e in facts.evidence)}
    reasons, start = [], 0
    for c in _CITATION.finditer(unquoted):
        said = unquoted[start : c.start()]
        start = c.end()
        said = said[max(said.rfind("."), said.rfind(":"), said.rfind("\n")) + 1 :]  # its own sentence or clause
        cited = reviews.get(c.group(1))
        if not cited or not said.strip():
            continue
        own = set().union(*(all_words[t] for t, _ in cited))
        others = set().union(*(w for t, w in all_words.items() if t not in {x for x, _ in cited}))
        stray = sorted(w for w in set(_WORD.findall(said.lower())) - own - _FUNCTION_WORDS if w in others)
        if stray:
            reasons.append(f"describes the review of {c.group(1)} with words of another text ({', '.join(stray)})")
        ratings = [r for _, r in cited if r is not None]
        if not ratings:
            continue
        if max(ratings) >= 4 and _said(_COMPLAINT, said):
            reasons.append(f"calls the review of {c.group(1)} a complaint; it is rated {max(ratings)}/5")
        if min(ratings) <= 2 and _said(_PRAISE, said):
            reasons.append(f"describes the review of {c.group(1)} as praise; it is rated {min(ratings)}/5")
    return reasons


def _said(pattern: re.Pattern, text: str) -> bool:
    return any(not _NEGATED.search(text[: m.start()]) for m in pattern.finditer(text))
