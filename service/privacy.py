"""Masking of personal data inside free texts: e-mail addresses, phone numbers and payment card numbers.

Customer texts (reviews, searches) are quoted back in profiles, explanations and answers. Whatever
contact details a customer typed into them are replaced by a placeholder where the texts *enter*
the service: ``service.tables.validate_tables`` (files and ``POST /v1/score`` rows alike) redacts
them, so the profile store, the embedding cache, the explanation cache, the rejects files and every
response only ever see the placeholders. The exits (API responses, ``insight explain``, answers,
LLM prompts) redact again, which costs little and covers stores written before this rule.

``redact`` is deterministic and idempotent (placeholders contain no digits or ``@``), so a
narrative built from redacted evidence still quotes that evidence verbatim.

Card numbers: only digit runs of 13-19 digits (plain, or in groups of 3-6 digits separated by single spaces, dots,
or dashes and slashes with a space either side at most, as cards are printed and typed) that pass the Luhn check are
masked, so order references (a 16-digit number fails Luhn 9 times in 10), amounts, prices and dates survive.

Texts are matched as written, and then as a reader sees them (invisible characters removed, digits of other scripts as
ASCII digits): a text that holds contact data only when so read is stored as read, masked; every other text keeps its
characters apart from the masks. The patterns accept the no-break and thin spaces that word processors and French or
German typing put between digit groups, the full-width and small commercial at (＠, ﹫), and zero-width characters
between digits, which hide nothing from a reader but would otherwise split a number into runs too short to mask.
"""

from __future__ import annotations

import re
import unicodedata
from typing import overload

# Invisible characters (Unicode's default-ignorable code points: zero-width spaces and joiners, direction marks and
# overrides, the BOM, the soft hyphen, the combining grapheme joiner, variation selectors, Hangul fillers, the tag
# block): an id holding one looks like another id, and one in a log line can reorder what a reader sees.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    "\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
CARD_MASK = "[card]"

# Invisible characters a pasted or deliberately obfuscated number may carry between its digits: zero-width space,
# non-joiner, joiner, word joiner and the byte-order mark (a zero-width no-break space inside text).
_ZW = "[\u200b\u200c\u200d\u2060\ufeff]"
_ZW_CHARS = re.compile(_ZW)
# Spaces that group digits as an ordinary space does: no-break (U+00A0), narrow no-break (U+202F), thin (U+2009).
_SPACES = " \u00a0\u202f\u2009"
# Hyphens and dashes that join digit groups as a hyphen does: hyphen, non-breaking hyphen, figure dash, en dash, em
# dash, horizontal bar and the minus sign (word processors turn " - " into " \u2013 ").
_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
# The commercial at and its full-width (U+FF20) and small (U+FE6B) forms, all read as '@'.
_AT = "[@\uff20\ufe6b]"
_AT_CHAR = re.compile(_AT)

# Letters and digits of any script ([^\W_]): internationalised addresses (josé.garcia@example.com, jo@münchen.de, RFC
# 6531 and IDN domains) are as common in the markets served as ASCII ones.
_EMAIL = re.compile(r"(?<![\w.+-])[^\W_][\w.%+-]*" + _AT + r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_]{2,24}(?![\w-])")

# A group of digits, zero-width characters allowed between them; groups are separated by one space (any of _SPACES),
# dot, or a dash or slash with at most one space on either side ("4111 \u2013 1111", "4111/1111").
_GROUP = re.compile(rf"\d(?:{_ZW}*\d)*")
_JOIN = rf"(?:[{_SPACES}]?[{_DASHES}/][{_SPACES}]?|[{_SPACES}.])"
_CARD_SEP = rf"{_ZW}*{_JOIN}{_ZW}*"
# Digit runs: digit groups joined by single separators (e.g. 4111 1111 1111 1111). A card inside a longer run
# ("qty 2 4111 1111 1111 1111") is found by trying every span of whole groups, see _card_sub.
_DIGIT_RUN = re.compile(rf"(?<![\w]){_GROUP.pattern}(?:{_CARD_SEP}{_GROUP.pattern})*(?![\w])")
_CARD_DIGITS = (13, 19)
_CARD_GROUP = (3, 6)  # 4-4-4-4, 4-6-5 (Amex), 4-4-4-4-3: a grouped card never has groups of 1-2 or 7+ digits

# Phone-like: an optional +country code, then digit groups separated by spaces, dots, hyphens or
# parentheses; 7-15 digits in all (E.164 allows at most 15). Dates (2025-11-02), times, prices
# (1,234.56, and 1 234 567,89 with spaces grouping the thousands) and ratings (4/5) are excluded below.
_PHONE_SEP = rf"{_ZW}*(?:{_JOIN}{_ZW}*)?"  # one way to match a run of zero-width characters, never two
_PHONE = re.compile(
    r"(?<![\w+])"
    r"(?:\+|00)?"
    rf"(?:\(\d{{1,4}}\){_JOIN}?)?"
    rf"\d(?:{_PHONE_SEP}\(?\d\)?){{6,16}}"
    r"(?![\w]|[.,]\d)"
)
# a date ("2024-03-01", "01.03.2024", "1/3/24") is no phone number, nor two of them joined by a dash ("1/2/25 -
# 15/4/25", an agent's date range)
_ONE_DATE = (
    rf"\d{{4}}\s?[{_DASHES}./]\s?\d{{1,2}}\s?[{_DASHES}./]\s?\d{{1,2}}|"
    rf"\d{{1,2}}\s?[{_DASHES}./]\s?\d{{1,2}}\s?[{_DASHES}./]\s?\d{{2,4}}"
)
_DATE_LIKE = re.compile(rf"^(?:{_ONE_DATE})$")
_DATE_RANGE = re.compile(rf"^(?:{_ONE_DATE})\s*[{_DASHES}]\s*(?:{_ONE_DATE})$")
# a range of years ("1998-2005", "2019 \u2013 2024") is no phone number
_YEAR_RANGE = re.compile(rf"^(?:19|20)\d\d\s?[{_DASHES}/]\s?(?:19|20)\d\d$")
_DECIMAL = re.compile(r"^\d+\.\d+$")  # 1234567.89 is a price or a measurement, not a phone number
# Nothing to mask without an @ or a run of 7 digits: the common case costs one scan.
_CANDIDATE = re.compile(rf"{_AT}|\d(?:\D{{0,3}}\d){{6}}")


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
    """The run with every Luhn-valid card span masked: the whole run, or spans of whole digit groups inside it."""
    run = m.group(0)
    groups = [(g.start(), g.end(), _ZW_CHARS.sub("", g.group(0))) for g in _GROUP.finditer(run)]
    lo, hi = _CARD_DIGITS
    pieces, pos, i = [], 0, 0
    while i < len(groups):
        found = None
        n_digits = 0
        for j in range(i, len(groups)):
            n_digits += len(groups[j][2])
            if n_digits > hi:
                break
            if n_digits < lo:
                continue
            span = groups[i : j + 1]
            if len(span) > 1 and not all(_CARD_GROUP[0] <= len(d) <= _CARD_GROUP[1] for _, _, d in span):
                continue
            if luhn_ok("".join(d for _, _, d in span)):
                # keep looking: the longest valid span wins (a 19-digit card holds a valid 16-digit prefix rarely)
                found = j
        if found is None:
            i += 1
            continue
        pieces += [run[pos : groups[i][0]], CARD_MASK]
        pos = groups[found][1]
        i = found + 1
    if not pieces:
        return run
    return "".join(pieces) + run[pos:]


def _plausible_dates(text: str) -> bool:
    """Every day-month-year triple in ``text`` can be a date (a day up to 31, one of the first two numbers a month)."""
    for a, b, c in re.findall(r"(\d+)\D+(\d+)\D+(\d+)", text):
        x, y = (int(b), int(c)) if len(a) == 4 else (int(a), int(b))
        if not (1 <= min(x, y) <= 12 and max(x, y) <= 31):
            return False
    return True


def _phone_sub(m: re.Match) -> str:
    s = m.group(0)
    digits = re.sub(r"\D", "", s)
    if not 7 <= len(digits) <= 15:
        return s
    # an amount and a share beside it ("$832.33 (80% range ..."): money before, a percentage after, no phone number
    if m.string[m.end() : m.end() + 1] == "%" or m.string[max(0, m.start() - 1) : m.start()] in (
        "$",
        "\u20ac",
        "\u00a3",
    ):
        return s
    bare = _ZW_CHARS.sub("", s)  # judged as the reader sees it: zero-width characters neither join nor split
    if (
        _DATE_LIKE.match(bare.strip())
        or (_DATE_RANGE.match(bare.strip()) and _plausible_dates(bare))
        or _YEAR_RANGE.match(bare.strip())
        or _DECIMAL.match(bare)
    ):
        return s
    plain = bare.isdigit()
    # A bare run of digits is only a phone number when it is long enough to be one and is not
    # a plausible year, id or amount; formatted numbers (+, spaces, hyphens, parentheses) are.
    if plain and not (bare.startswith("0") and 9 <= len(bare) <= 12):
        return s
    return PHONE_MASK


@overload
def redact(text: str, *, emails: bool = True, phones: bool = True, cards: bool = True) -> str: ...
@overload
def redact(text: str | None, *, emails: bool = True, phones: bool = True, cards: bool = True) -> str | None: ...
def redact(text: str | None, *, emails: bool = True, phones: bool = True, cards: bool = True) -> str | None:
    """``text`` with e-mail addresses, phone numbers and Luhn-valid card numbers masked (each can be switched off)."""
    if not text or not isinstance(text, str):
        return text
    out = _redact_as_written(text, emails, phones, cards)
    # ... and as a reader sees it: invisible characters inside an address or a number (a soft hyphen, U+2063) and
    # digits of other scripts ("٤١١١...") had kept it unmasked; such a text is stored as it reads, masked
    seen = _as_seen(out)
    if seen != out:
        masked = _redact_as_written(seen, emails, phones, cards)
        if masked != seen:
            return masked
    return out


def _redact_as_written(text: str, emails: bool, phones: bool, cards: bool) -> str:
    if not _CANDIDATE.search(text):
        return text
    out = text
    if emails and _AT_CHAR.search(out):
        out = _EMAIL.sub(EMAIL_MASK, out)
    if cards:
        out = _DIGIT_RUN.sub(_card_sub, out)
    if phones:
        out = _PHONE.sub(_phone_sub, out)
    return out


def _as_seen(text: str) -> str:
    """``text`` without invisible characters, its decimal digits of any script as ASCII digits."""
    text = INVISIBLE.sub("", text)
    if text.isascii():
        return text
    return "".join(str(unicodedata.digit(c)) if not c.isascii() and c.isdecimal() else c for c in text)


def redact_evidence(evidence: list[dict], **kwargs) -> list[dict]:
    """A copy of profile evidence items (``{"text", "source"}``) with the texts redacted."""
    return [{**e, "text": redact(e.get("text"), **kwargs)} for e in evidence]


def redact_profile(profile: dict, **kwargs) -> dict:
    """A copy of a stored profile row whose evidence texts are redacted (nothing else holds customer text)."""
    inner = profile.get("profile") or {}
    if not inner.get("evidence"):
        return profile
    return {**profile, "profile": {**inner, "evidence": redact_evidence(inner["evidence"], **kwargs)}}
