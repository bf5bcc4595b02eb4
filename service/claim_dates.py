"""Dates in a narrative: month names in the languages the service reads, dates written with dots or slashes, a
weekday given with a date, the date of the next order, and ``dates_in``, every date a text states by a month's name (the
fact check, ``service.fact_check``, and ``service.claim_texts`` for the dates of reviews and browsing)."""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

from service.claim_numbers import clauses
from service.facts import Facts

_MONTHS = (
    ("jan", "j[a\u00e4]n|janv|ene|genn"), ("feb", "feb|f[e\u00e9]v"), ("mar", "mar|m[a\u00e4]r|maerz"),
    ("apr", "apr|avr|abr"),
    ("may", "may|mai|mag|mei"), ("jun", "jun|juin|giu"), ("jul", "jul|juil|lug"), ("aug", "aug|ao[u\u00fb]t|ago"),
    ("sep", "sep|set"), ("oct", "oct|okt|ott|outubr"), ("nov", "nov"), ("dec", "dec|dez|d[e\u00e9]c|dic"),
)  # fmt: skip
_MONTH_WORD = re.compile(r"\b(" + "|".join(p for _, p in _MONTHS) + r")[a-z\u00e0-\u00ff]*\.?\b", re.I)


def _month_number(stem: str) -> int:
    """1-12 for a month's stem as _MONTHS spells them ('jan', 'm\u00e4r', 'giu'); StopIteration for none."""
    return next(i for i, (_, p) in enumerate(_MONTHS, 1) if re.fullmatch(p, stem, re.I))


# Month names said alone ("expected in January"); "may", "mai", "march" and "mars" are words too, so they count only
# with a day, a year or a word that makes them a month (_MONTH_BEFORE)
_FULL_MONTHS = frozenset(
    re.findall(
        r"\w+",
        "january february april june july august september october november december januar februar m\u00e4rz maerz "
        "juni juli oktober dezember j\u00e4nner janvier f\u00e9vrier avril juin juillet ao\u00fbt septembre octobre "
        "novembre d\u00e9cembre enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre "
        "noviembre diciembre gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre januari februari "
        "maart mei augustus janeiro fevereiro mar\u00e7o marco maio junho julho setembro outubro novembro dezembro",
    )
)
# a month's name or its abbreviation, not any word that starts like one ("2 sets", "3 novels")
_MONTH_TOKENS = _FULL_MONTHS | frozenset(
    re.findall(
        r"\w+",
        "may mai march mars jan feb mar apr jun jul aug sep sept oct nov dec janv f\u00e9vr fevr avr juil d\u00e9c dez "
        "okt m\u00e4r ene abr ago dic gen genn giu lug ott set mag",
    )
)
_DAY_BEFORE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th|er|\.|\u00ba)?\s+(?:(?:of|de|del)\s+)?$", re.I)
_DAY_AFTER = re.compile(
    r"^\.?\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\b"
    r"(?![.,]?\d|\s*(?:%|[$\u20ac\u00a3]|days?|weeks?|months?|years?|orders?))",
    re.I,
)
# Words that make "March" or "May" a month ("in mid-March", "early May", "Anfang Mai")
_MONTH_BEFORE = re.compile(
    r"\b(?:in|mid|early|late|end of|start of|beginning of|since|until|through|im|mitte|anfang|ende|seit|en|fin|"
    r"d\u00e9but|mi|depuis|mediados de|finales de|principios de|a)[\s-]+$",
    re.I,
)
_YEAR_AFTER = re.compile(r"^\.?,?\s+(?:(?:de|of|del)\s+)?(\d{4})\b")


class StatedDate(NamedTuple):
    start: int
    end: int
    year: int | None
    month: int
    day: int | None


def dates_in(text: str) -> list[StatedDate]:
    """Every date ``text`` states with a month's name, in the languages the service reads: '28 November 2025',
    'November 28, 2025', 'November 2025', 'el 30 de enero de 2026', 'um den 11. Februar', and a month's full name alone
    ('in January'); its day and year where given."""
    found = []
    for m in _MONTH_WORD.finditer(text):
        if m.group(0).lower().rstrip(".") not in _MONTH_TOKENS:
            continue
        month = _month_number(m.group(1))
        start, end, after = m.start(), m.end(), text[m.end() :]
        d = _DAY_BEFORE.search(text[max(0, m.start() - 12) : m.start()])
        day = int(d.group(1)) if d else None
        if d:
            start -= min(12, m.start()) - d.start()
        elif a := _DAY_AFTER.match(after):
            day, end, after = int(a.group(1)), end + a.end(), after[a.end() :]
        y = _YEAR_AFTER.match(after)
        if y:
            end += y.end()
        if day is not None and not 1 <= day <= 31:
            day = None
        if (
            day is None
            and y is None
            and m.group(0).lower() not in _FULL_MONTHS
            and not _MONTH_BEFORE.search(text[: m.start()])
        ):
            continue
        found.append(StatedDate(start, end, int(y.group(1)) if y else None, month, day))
    return found


_NUMERIC_DATE = re.compile(r"\b(\d{1,2})([./-])(\d{1,2})\2(\d{4})\b")  # "29.01.2026", "1/29/2026", "29-01-2026"


def numeric_dates_as_iso(text: str, known: str) -> str:
    """Dates written with dots or slashes ('29.01.2026', '1/29/2026') as ISO dates, so the date check reads them as the
    dates they are (the number check had read '29.01' as a number). A slashed date may be month first: the reading
    among the facts' dates (``known``) is taken; a date that is none of them keeps its day-first reading, to be refused
    as such."""

    def iso(m: re.Match) -> str:
        a, b, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        readings = [(year, b, a)] + ([(year, a, b)] if m.group(2) == "/" else [])
        valid = [f"{y:04d}-{mo:02d}-{d:02d}" for y, mo, d in readings if 1 <= mo <= 12 and 1 <= d <= 31]
        return next((v for v in valid if v in known), valid[0] if valid else m.group(0))

    return _NUMERIC_DATE.sub(iso, text)


_REVIEW_DATE_RATING = re.compile(r"(\d{4}-\d\d-\d\d),\s*(\d(?:\.\d)?)/5\b")


def dated_ratings(f: Facts) -> list[tuple[str, float]]:
    """(ISO date, stars) of each review of the facts whose source gives both ("review 2025-11-02, 5/5")."""
    return [(r.group(1), float(r.group(2))) for e in f.evidence if (r := _REVIEW_DATE_RATING.search(e.source))]


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTH_NAMES = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_WEEKDAY_DATE = re.compile(
    r"\b(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)\.?,?\s+(?:the\s+)?"
    rf"(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>{_MONTH_NAMES}),?\s+(?P<y1>\d{{4}})|"
    rf"(?P<m2>{_MONTH_NAMES})\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}})|"
    r"(?P<iso>\d{4}-\d\d-\d\d))\b",
    re.I,
)


# Days of the week in the other languages the service reads, Monday first
_WEEKDAYS_ABROAD = (
    r"montag|lundi|lunes|luned[i\u00ec]|maandag|segunda(?:-feira)?",
    r"dienstag|mardi|martes|marted[i\u00ec]|dinsdag|ter[c\u00e7]a(?:-feira)?",
    r"mittwoch|mercredi|mi[e\u00e9]rcoles|mercoled[i\u00ec]|woensdag|quarta(?:-feira)?",
    r"donnerstag|jeudi|jueves|gioved[i\u00ec]|donderdag|quinta(?:-feira)?",
    r"freitag|vendredi|viernes|venerd[i\u00ec]|vrijdag|sexta(?:-feira)?",
    r"samstag|sonnabend|samedi|s[a\u00e1]bado|sabato|zaterdag",
    r"sonntag|dimanche|domingo|domenica|zondag",
)
_WEEKDAY_ABROAD = re.compile(
    r"\b(?:" + "|".join(f"(?P<d{i}>{p})" for i, p in enumerate(_WEEKDAYS_ABROAD)) + r")\b", re.I
)


def _weekday_abroad_reasons(text: str) -> list[str]:
    """'Donnerstag, 23. Januar 2026' of a Friday: a weekday in another language before a whole date (the date read by
    ``dates_in``, within a few words: 'am Sonntag, dem 1. M\u00e4rz 2026')."""
    reasons = []
    dates = [d for d in dates_in(text) if d.year is not None and d.day is not None]
    for m in _WEEKDAY_ABROAD.finditer(text):
        said = next(int(k[1:]) for k, v in m.groupdict().items() if v)
        near_date = next((d for d in dates if 0 <= d.start - m.end() <= 12), None)
        if near_date is None:
            continue
        try:
            day = dt.date(near_date.year, near_date.month, near_date.day)  # type: ignore[arg-type]
        except ValueError:
            continue
        if day.weekday() != said:
            shown = text[m.start() : near_date.end]
            reasons.append(f"\u201c{shown}\u201d: {day.isoformat()} is a {_WEEKDAYS[day.weekday()].capitalize()}")
    return reasons


def weekday_reasons(text: str) -> list[str]:
    """A day of the week given with a date must be that date's ('Wednesday, 29 January 2026' is a Thursday)."""
    reasons = _weekday_abroad_reasons(text)
    for m in _WEEKDAY_DATE.finditer(text):
        try:
            if m["iso"]:
                day = dt.date.fromisoformat(m["iso"])
            else:
                month = _month_number((m["m1"] or m["m2"])[:3])
                day = dt.date(int(m["y1"] or m["y2"]), month, int(m["d1"] or m["d2"]))
        except (ValueError, StopIteration):
            continue
        said = next(i for i, w in enumerate(_WEEKDAYS) if w.startswith(m["wd"].lower()[:3]))
        if said != day.weekday():
            reasons.append(f"\u201c{m.group(0)}\u201d: {day.isoformat()} is a {_WEEKDAYS[day.weekday()].capitalize()}")
    return reasons


_ISO_DAY = re.compile(r"(\d{4})-(\d\d)-\d\d")


def next_order_reasons(text: str, f: Facts) -> list[str]:
    """A month or a day given for the next order must be the facts' expected date (within a week); a dotted date
    ('03.03.2026') too."""
    if not f.next_order_date:
        return []
    try:
        year, month, day = (int(x) for x in f.next_order_date[:10].split("-"))
    except ValueError:
        return []
    # the month of one of their reviews or browsing, when it is before the expected order, is that event's ("a rain coat
    # they'd buy again, both 5/5 in March 2024"), not the next order's
    events = {(int(m[1]), int(m[2])) for e in f.evidence if (m := _ISO_DAY.search(e.source))}
    reasons = []
    for clause in clauses(text):
        if not _NEXT_ORDER.search(clause):
            continue
        for m in _NUMERIC_DATE.finditer(clause):
            d, mo = int(m.group(1)), int(m.group(3))
            if (mo, d) != (month, day) and (d, mo) != (month, day) and not (mo == month and abs(d - day) <= 7):
                reasons.append(f"next order on {m.group(0)}; the facts expect it around {f.next_order_date}")
        for date in dates_in(clause):
            if date.year is not None and (date.year, date.month) in events and (date.year, date.month) < (year, month):
                continue
            if (
                date.month != month
                or (date.day is not None and abs(date.day - day) > 7)
                or (date.year is not None and date.year != year)
            ):
                said = clause[date.start : date.end]
                reasons.append(f"next order in {said}; the facts expect it around {f.next_order_date}")
    return reasons


# The next order in the languages the service reads ("die n\u00e4chste Bestellung", "el siguiente", "prochain achat")
_NEXT_ORDER = re.compile(
    r"\bnext (?:order|purchase|one)\b|\b(?:order|buy|purchase)\w* again\b|\bdue\b|"
    # the noun left out ("..., die n\u00e4chste voraussichtlich am 1. M\u00e4rz"), but not "the next 90 days"
    r"\b(?:die|der|la|le|el|il|de|o|a) (?:n(?:\u00e4|ae)chste|prochaine?|pr[o\u00f3]xim[oa]|prossim[oa]|"
    r"volgende)\b(?!\s+\d)|"
    r"\bn(?:\u00e4|ae)chste\w* (?:bestellung|kauf|einkauf)|\bprochaine? (?:commande|achat)|"
    r"\bpr[o\u00f3]xim[oa] (?:pedido|compra)|\b(?:el|la) siguiente\b|\bprossim[oa] (?:ordine|acquisto)|"
    r"\bvolgende (?:bestelling|aankoop)",
    re.I,
)
