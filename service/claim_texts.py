"""What a narrative says about the customer's own texts, beyond the quotes (which must be verbatim): a browsing text is
something they looked at, never a purchase nor their words; a review is described with its own product and its own
tone ("the cookbook arrived damaged" of the review about the poetry collection, "complained" of a 5/5 review)."""

from __future__ import annotations

import re

from service.claim_dates import dated_ratings, dates_in
from service.claim_numbers import SENTENCES, clauses
from service.facts import Facts

_BROWSING_WORDS = re.compile(
    r"\b(?:brows\w*|looked at|looking at|look at|viewed|view\w*|search\w*|visit\w*|such(?:te|ten|t|en|e)|gesucht|"
    r"angesehen|angeschaut|gest\u00f6bert|naveg\w*|busc\w*|consult\w*|cherch\w*|regard\w*|"
    r"cerca(?:to|ta|ti|te|va|vano|no)?(?!\w)(?!\s+de\b)|guardato|bekeken|gezocht)\b",  # not 'cerca de' (about)
    re.I,
)
_AS_PURCHASE = re.compile(
    r"\b(?:bought|buys|ordered|orders|purchased|purchase of|received|got delivered|(?:latest|last|most recent|recent) "
    r"(?:order|purchase)|gekauft|kaufte|bestellt|erworben|"
    r"achet[e\u00e9]\w*|command[e\u00e9]\w*|compr[o\u00f3]|comprad[oa]s?|compr[o\u00f3]u|pidi[o\u00f3]|encomend\w*|"
    r"acquistat\w*|comprat\w*|ordinat\w*|gekocht|besteld|kocht|"
    # the last purchase named as a noun ("su \u00faltima compra fue", "sein letzter Kauf", "son dernier achat")
    r"(?:\u00faltim[oa]|ultim[oa]|letzte[rn]?|dernier|derni\u00e8re|laatste)\s+(?:compra|pedido|kauf|einkauf|bestellung|"
    r"achat|commande|acquisto|ordine|aankoop|bestelling|encomenda))\b",
    re.I,
)
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
    for e in facts.evidence:  # a review quoted whole may hold the same words ("The makeup brush set arrived ...")
        if not e.source.lower().startswith("brows"):
            narrative = narrative.replace(f"\u201c{e.text}\u201d", " ").replace(f'"{e.text}"', " ")
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
        if max(ratings) >= 4 and _said(_COMPLAINT, said) and not any(_tells_of_a_problem(t) for t, _ in cited):
            reasons.append(f"calls the review of {c.group(1)} a complaint; it is rated {max(ratings)}/5")
        if min(ratings) <= 2 and _said(_PRAISE, said):
            reasons.append(f"describes the review of {c.group(1)} as praise; it is rated {min(ratings)}/5")
    return reasons


def _said(pattern: re.Pattern, text: str) -> bool:
    return any(not _NEGATED.search(text[: m.start()]) for m in pattern.finditer(text))


# Problems a review may describe, in groups of words that say the same: a description naming a problem of no group
# the review's own words belong to misdescribes it ("stopped working" of a review about the colour)
_PROBLEMS = {
    "damage": r"damaged|broken|broke|smashed|cracked|dented|scratched",
    "not working": r"stopped working|(?:does|did|do)(?: not|n't) work|not working|faulty|defective|malfunction\w*",
    "late": r"arrived late|late delivery|delayed|took (?:weeks|ages|too long)|never arrived|slow (?:delivery|shipping)|"
    r"(?:delivery|shipping) (?:was |being )?(?:slow|late)|complain\w* about (?:the )?(?:delivery|shipping)|"
    # in the other languages ("livraison lente", "el env\u00edo fue m\u00e1s lento", "Lieferung war langsam")
    r"livraison (?:lente|tardive|en retard)|env[i\u00ed]o (?:fue )?(?:m[a\u00e1]s )?lento|entrega (?:lenta|tard\w*)|"
    r"lieferung (?:war )?(?:zu )?(?:langsam|sp(?:\u00e4|a)t)|spedizione (?:lenta|in ritardo)|consegna (?:lenta|"
    r"in ritardo)|"
    r"levering (?:was )?(?:traag|laat)",
    "fit": r"wrong size|too (?:small|big|large|tight|loose)|(?:does|did)(?: not|n't) fit",
    "missing": r"missing|incomplete",
    "colour": r"wrong colou?r|different colou?r|colou?r\w*(?: \w+){0,4} (?:was|were|is|are) "
    r"(?:not as (?:shown|pictured|described|advertised)|wrong|off|different)|not as (?:shown|pictured)",
    "packaging": r"packaging (?:could (?:have been|be) better|was (?:poor|bad|flimsy|not great))|poor(?:ly)? packag\w*|"
    r"bad packaging|badly packed",
}
# any problem, said in a sentence: its words name no review (the earbuds' "colour" in "the sneakers came in the wrong
# colour" names the problem, not the earbuds)
_PROBLEM = re.compile(r"\b(?:" + "|".join(_PROBLEMS.values()) + r")\b", re.I)
# the service's own words, and words of any delivery, which a customer's text may share with the narrative without
# naming that text's product
_SERVICE_WORDS = frozenset(
    re.findall(
        r"\w+",
        "average order orders value spend spent spends purchase purchases customer customers rating ratings rates "
        "browsing product products views searches forecast quality price months weeks recently looked arrived "
        "delivered received",
    )
)


def own_words(facts: Facts) -> dict[str, set[str]]:
    """Each customer text's words of five letters or more that no other of their texts has and that are not the
    service's own (its product: 'sneakers', 'earbuds'): the words that name that text."""
    words = {t: set(_WORD.findall(t.lower())) - _FUNCTION_WORDS for t in (e.text for e in facts.evidence)}
    return {
        text: {w for w in ws - _SERVICE_WORDS if len(w) >= 5 and not any(w in v for t, v in words.items() if t != text)}
        for text, ws in words.items()
    }


def _name_words(text: str, own: set[str]) -> set[str]:
    """The words that name what a customer text is about: the first two of its own words ('The running jacket was
    clearly used ...': running, jacket; 'Okay cookbook for the price': cookbook, price)."""
    return set(sorted(own, key=lambda w: text.lower().find(w))[:2])


def _tells_of_a_problem(text: str) -> bool:
    """Whether a review's own text tells of a problem ("Late, damaged protein bars and rude support"): calling it a
    complaint is then what it says, whatever its stars (a 5/5 with that text had been refused as "not a complaint")."""
    return any(re.search(rf"\b(?:{pattern})\b", text, re.I) for pattern in _PROBLEMS.values())


def review_mention_reasons(unquoted: str, facts: Facts) -> list[str]:
    """A sentence that names one review by the words only it has (its product: 'the sneakers', 'the wireless
    earbuds') must describe it as it is: no words only another review has, no complaint of a review rated 4 or 5, no
    problem its text does not tell of.
    (Its stars are checked with every other rating, ``claim_bindings.rating_reasons``.)"""
    reviews = [
        (e.text, int(m.group(1)))
        for e in facts.evidence
        if (m := re.match(r"review \d{4}-\d\d-\d\d,\s*(\d)/5", e.source))
    ]
    own = own_words(facts)
    products = {t: _name_words(t, own[t]) for t, _ in reviews}
    reasons = []
    for sentence in (c for s in SENTENCES.split(unquoted) for c in clauses(s)):  # "the hat ..., while the mouse"
        said = set(_WORD.findall(_PROBLEM.sub(" ", sentence).lower()))
        # one review named by its product, with words only another review has ("the beanie hat was clearly used ...
        # closing their account", which the running jacket's review says): that review's content moved to this product
        by_product = [t for t, _ in reviews if products[t] & said]
        if len(by_product) == 1:
            stray = sorted(set().union(*(own[t] - products[t] for t, _ in reviews if t != by_product[0])) & said)
            if stray:
                name = sorted(products[by_product[0]] & said)[0]
                reasons.append(f"says of the review about {name} what another review says ({', '.join(stray)})")
        named = [(text, rating) for text, rating in reviews if own[text] & said]
        if len(named) != 1:
            continue
        text, rating = named[0]
        product = sorted(own[text] & said)[0]
        if rating >= 4 and _said(_COMPLAINT, sentence) and not _tells_of_a_problem(text):
            reasons.append(f"calls the review about {product} a complaint; it is rated {rating}/5")
        for problem, pattern in _PROBLEMS.items():
            if re.search(rf"\b(?:{pattern})\b", sentence, re.I) and not re.search(rf"\b(?:{pattern})\b", text, re.I):
                reasons.append(f"says the review about {product} tells of {problem}; it does not")
    return reasons


_REVIEW_WORDS = re.compile(
    r"\b(?:review\w*|rated|rating|wrote|bewert\w*|rezension\w*|rese\u00f1\w*|valoraci\w*|avis|recensi\w*|"
    r"beoordel\w*|avalia\w*)\b",
    re.I,
)
_PURCHASE_WORDS = re.compile(r"\b(?:bought|buys?|ordered|orders?|purchas\w*|spent|shopp\w*)\b", re.I)
_ISO = re.compile(r"\b(\d{4})-(\d\d)-(\d\d)\b")


_CITED = re.compile(r"\((?:review|browsing)\s+(\d{4}-\d\d-\d\d)\b", re.I)
# their words quoted, or paraphrased in single quotes ("the rain coat was 'nice quality, would buy again'"): a "buy"
# there is no purchase of the sentence
_QUOTED = re.compile(r"[\u201c\"\u00ab\u201e][^\u201c\u201d\"\u00ab\u00bb]{1,400}[\u201d\"\u00bb\u201c]")
_SINGLE_QUOTED = re.compile(r"(?<!\w)['\u2018][^'\u2018\u2019]{2,200}['\u2019](?!\w)")


_RATING_BEFORE = re.compile(r"\(\s*(\d(?:\.\d)?)\s*/\s*5\s*,\s*$")


def event_date_reasons(unquoted: str, facts: Facts) -> list[str]:
    """A date said of a review or of what they browsed must be that event's ('Back in November they were browsing the
    building blocks' of browsing on 24 December): sentence by sentence, every date (with a month's name, in the
    languages the service reads, or ISO) of a sentence that speaks of reviews (of the one review its product names,
    else of any) or of browsing must be the date of one of them, to the day where a day is given. A sentence that
    also speaks of purchases (outside a paraphrase of their words in single quotes) is left alone (a date there may be
    an order's)."""
    events = [(e.source.lower(), e.text, m.group(0)) for e in facts.evidence if (m := _ISO.search(e.source))]
    browsed = [(text, day) for source, text, day in events if source.startswith("brows")]
    reviewed = [(text, day) for source, text, day in events if source.startswith("review")]
    own = own_words(facts)
    rated = [(int(d[:4]), int(d[5:7]), int(d[8:10]), stars) for d, stars in dated_ratings(facts)]
    reasons = []
    for sentence in SENTENCES.split(unquoted):
        said = set(_WORD.findall(sentence.lower()))
        days = []
        if _BROWSING_WORDS.search(sentence) or any(t.lower() in sentence.lower() for t, _ in browsed):
            days += [d for _, d in browsed]
        if _REVIEW_WORDS.search(sentence) or any(own[t] & said for t, _ in reviewed):
            named = [d for t, d in reviewed if own[t] & said]
            days += named if len(named) == 1 else [d for _, d in reviewed]
        if not days or _PURCHASE_WORDS.search(_QUOTED.sub(" ", _SINGLE_QUOTED.sub(" ", sentence))):
            continue
        known = [(int(d[:4]), int(d[5:7]), int(d[8:10])) for d in days]
        stated: list[tuple[str, int | None, int, int | None]]
        # a source cited as the template cites it ("(review 2025-11-02, 5/5)") is that event's own date, whichever
        # event of the sentence it is (two reviews cited in one sentence each bring theirs)
        cited = {m.group(1) for m in _CITED.finditer(sentence)} & {d for _, _, d in events}
        stated = [(m.group(0), int(m[1]), int(m[2]), int(m[3])) for m in _ISO.finditer(sentence) if m[0] not in cited]
        for d in dates_in(sentence):
            # a date given with a rating in brackets, "(5/5, julho de 2025)", is the review of that rating and month
            # when there is one, whichever product the sentence names in words the review does not use ("cabo USB-C")
            r = _RATING_BEFORE.search(sentence[: d.start])
            if r and any(
                y == d.year and mo == d.month and (d.day is None or dd == d.day) and stars == float(r[1])
                for y, mo, dd, stars in rated
            ):
                continue
            stated.append((sentence[d.start : d.end], d.year, d.month, d.day))
        for text, year, month, day in stated:
            if not any(
                (year is None or year == y) and month == mo and (day is None or day == dd) for y, mo, dd in known
            ):
                held = ", ".join(sorted(set(days)))
                reasons.append(f"\u201c{text}\u201d is not the date of what the sentence tells of ({held})")
    return reasons


# What they browsed, as a narrative names it: the words after a verb of browsing, up to the next clause
_BROWSED_OBJECT = re.compile(
    r"\b(?:browsed|searched|looked (?:at|up|for|into)|viewed|checked out|(?:was|were|been|is|are|be)\s+(?:browsing|"
    r"searching|looking (?:at|up|for|into)|viewing))\s+(?:for\s+|through\s+)?(?P<obj>[^.;:,()\n]{3,80}?)"
    r"(?=\s+(?:and|but|which|while|before|after|in|on|during|since|last|recently|around)\b|[.;:,()\n]|$)",
    re.I,
)
# words of an object that name no product ("the site", "some items", "new products")
_GENERIC = frozenset(
    re.findall(
        r"\w+",
        "site website store shop online page pages section category categories item items thing things stuff deals "
        "offers range ideas options catalogue catalog collection collections products product similar other others "
        "several some various more again also something anything everything things lately recently",
    )
)


def browsed_object_reasons(unquoted: str, facts: Facts) -> list[str]:
    """What they are said to have browsed must share a word with what they browsed ('browsed for how to close their
    account' of a search for 'how to return item'): an object of two words or more that name something (not 'the
    site', 'some items'), none of which any of their browsing texts has (a word matches another with the same first
    five letters: 'returns' and 'return', 'building' and 'buildings'), is refused, and so is an object of one word that
    names another of their texts ('a dollhouse' they reviewed). Nothing else is said of an object of one word
    ('outerwear' of a rain coat may be a fair summary); a summary in two ('outdoor clothing') is refused too,
    a false alarm this rule accepts, since it cannot tell a category from another product."""
    browsed = [e.text for e in facts.evidence if e.source.lower().startswith("brows")]
    stems = {w.lower()[:5] for t in browsed for w in re.findall(r"\w+", t)}
    if not stems:
        return []
    # the words that name one of their other texts (a reviewed product: "dollhouse"): an object of one such word is
    # that other thing, not a summary of what they browsed
    elsewhere = set().union(*(ws for t, ws in own_words(facts).items() if t not in browsed))
    reasons = []
    for m in _BROWSED_OBJECT.finditer(unquoted):
        words = {w for w in _WORD.findall(m["obj"].lower()) if w not in _FUNCTION_WORDS | _SERVICE_WORDS | _GENERIC}
        if any(w[:5] in stems for w in words):
            continue
        if len(words) >= 2 or words & elsewhere:
            reasons.append(f"says they browsed \u201c{m['obj'].strip()}\u201d; they browsed {', '.join(browsed)}")
    return reasons
