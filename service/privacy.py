"""Masking of personal data inside free texts: e-mail addresses, phone numbers and (optionally) card numbers.

Customer texts (reviews, searches) are quoted back in profiles, explanations and answers; whatever
contact details a customer typed into them are replaced by a placeholder before they leave the
service. ``redact`` is deterministic and idempotent (placeholders contain no digits or ``@``), so a
narrative built from redacted evidence still quotes that evidence verbatim.

Card numbers are off by default for the HTTP responses (a 16-digit order reference is not a card)
and on for text sent to an external LLM: only digit runs of 13-19 digits that pass the Luhn check
are masked, so order numbers and amounts survive.
"""
from __future__ import annotations

import re

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
CARD_MASK = "[card]"

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])")

# Card-like: 13-19 digits, optionally grouped by single spaces or hyphens (e.g. 4111 1111 1111 1111).
_CARD = re.compile(r"(?<![\w])(?:\d[ -]?){12,18}\d(?![\w])")

# Phone-like: an optional +country code, then digit groups separated by spaces, dots, hyphens or
# parentheses; 7-15 digits in all (E.164 allows at most 15). Dates (2025-11-02), times, prices
# (1,234.56) and ratings (4/5) are excluded below.
_PHONE = re.compile(
    r"(?<![\w+])"
    r"(?:\+|00)?"
    r"(?:\(\d{1,4}\)[ .-]?)?"
    r"\d(?:[ ./-]?\(?\d\)?){6,16}"
    r"(?![\w])"
)
_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


def luhn_ok(digits: str) -> bool:
    """True when ``digits`` (only 0-9) passes the Luhn checksum used by payment card numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_sub(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return CARD_MASK if 13 <= len(digits) <= 19 and luhn_ok(digits) else m.group(0)


def _phone_sub(m: re.Match) -> str:
    s = m.group(0)
    digits = re.sub(r"\D", "", s)
    if not 7 <= len(digits) <= 15:
        return s
    if _DATE_LIKE.match(s.strip()):
        return s
    plain = s.isdigit()
    # A bare run of digits is only a phone number when it is long enough to be one and is not
    # a plausible year, id or amount; formatted numbers (+, spaces, hyphens, parentheses) are.
    if plain and not (s.startswith("0") and 9 <= len(s) <= 12):
        return s
    return PHONE_MASK


def redact(text: str | None, *, emails: bool = True, phones: bool = True, cards: bool = False) -> str | None:
    """``text`` with e-mail addresses, phone numbers and, when ``cards``, Luhn-valid card numbers masked."""
    if not text:
        return text
    out = text
    if emails and "@" in out:
        out = _EMAIL.sub(EMAIL_MASK, out)
    if cards:
        out = _CARD.sub(_card_sub, out)
    if phones:
        out = _PHONE.sub(_phone_sub, out)
    return out


def redact_evidence(evidence: list[dict], **kwargs) -> list[dict]:
    """A copy of profile evidence items (``{"text", "source"}``) with the texts redacted."""
    return [{**e, "text": redact(e.get("text"), **kwargs)} for e in evidence]


def redact_profile(profile: dict, **kwargs) -> dict:
    """A copy of a stored profile row whose evidence texts are redacted (nothing else holds customer text)."""
    inner = profile.get("profile") or {}
    if not inner.get("evidence"):
        return profile
    return {**profile, "profile": {**inner, "evidence": redact_evidence(inner["evidence"], **kwargs)}}
