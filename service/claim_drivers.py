"""The drivers a clause names, by their own names or in other words (a leaf module: the number, ratio and word checks
all ask it)."""

from __future__ import annotations

import re

from service.facts import Facts

# Each driver family in other words, as a narrative may name it ("her long history with us lifts her forecast"): read
# only where a clause names no family by its own name and gives a direction.
DRIVER_ALIASES = {
    "recency": r"how recently|(?:her|his|their) last (?:order|purchase)|recent (?:orders|purchases)",
    "frequency": r"how often (?:she|he|they) (?:buys?|orders?|shops?)|number of (?:orders|purchases)|order count|"
    r"(?:her|his|their) (?:\d+ )?(?:orders|purchases)\b",
    "monetary": r"(?:money|amount) spent|spend(?:ing)? (?:so far|to date)|spent (?:so far|to date)|total spend\w*|"
    r"lifetime spend\w*|past spend\w*|"
    r"(?:what|all) (?:she|he|they)(?:'ve|\u2019ve|'s|\u2019s| have| has)? already spent|"
    # in the other languages the service reads ("seine bisherige Gesamtausgabe", "su gasto acumulado")
    r"bisherige\w* (?:gesamt)?ausgabe\w*|gesamtausgabe\w*|gasto acumulado|gasto total|"
    r"d[e\u00e9]penses? cumul[e\u00e9]e?s?|"
    r"spesa (?:totale|finora|accumulata)|totale speso|tot nu toe besteed|totaal besteed|gasto at[e\u00e9] agora",
    "average order value": r"(?:average|typical|high|large|big|small|low) (?:order|basket)(?: size| value)?|order size|"
    r"basket size|spend per order|per-order spend|average spend per order",
    "tenure": r"(?:long|short) history|history with us|time (?:as a customer|with us)|years? with us|"
    r"how long (?:she|he|they)(?:'ve| have) been|(?:months|years) (?:as a customer|with us)|"
    # in the other languages the service reads ("die Kundendauer", "son ancienneté", "su antigüedad")
    r"kundendauer|kundenbeziehung|anciennet[e\u00e9]|antig(?:\u00fc|u)edad|anzianit[a\u00e0]|klantduur|"
    r"tempo (?:como|de) cliente",
    "purchase rhythm": r"rhythm|time between (?:orders|purchases)|gaps? between (?:orders|purchases)|how regularly",
    "spend trend": r"(?:spend|spending) trend|(?:rising|falling|growing|declining) spend\w*",
    "returns and cancellations": r"returns|cancell?ations|returned (?:items|orders)|returned(?:/| or | and )cancell?ed|"
    # in the other languages ("no haber devuelto ni cancelado ning\u00fan pedido", "keine R\u00fccksendungen")
    r"devuelto|devoluci\w+|cancelad[oa]s?|r(?:\u00fc|ue)cksendung\w*|retour\w*|annulation\w*|resi|restituit\w*|"
    r"devolu[c\u00e7][o\u00f5]\w*|cancelament\w*",
    "category breadth": r"(?:range|number|variety|breadth) of categories",
    "reviews and ratings": r"(?:her|his|their) ratings|star ratings",
    "browsing activity": r"(?:her|his|their|the|this) (?:[a-z]+ ){0,2}browsing|browsing (?:activity|behaviou?r|history|"
    r"habits?|sessions?|events?)|product views|page views",
    "expected orders": r"purchase pattern|buying pattern|orders expected|expected purchases",
    "time of year": r"season\w*|time of the year",
}
DRIVER_ALIAS = {name: re.compile(rf"\b(?:{pattern})\b", re.I) for name, pattern in DRIVER_ALIASES.items()}


# What a comparison with other customers measures when its words say it ("shorter than most customers", "browse more
# actively than", "order more often than"): (driver, words of the comparison itself, words just before it)
DRIVER_COMPARISONS = (
    ("tenure", r"^(?:longer|shorter)\b", r"\b(?:been (?:with us|a customer|around)|with us for|customer (?:for|since)|"
     r"tenure)\b"),
    ("browsing activity", r"^\w+ actively\b", r"\bbrows\w*|\b(?:page|product) views\b"),
    ("frequency", r"^\w+ (?:often|frequently)\b", r"\b(?:buy\w*|bought|order\w*|shop\w*|purchas\w*)\b"),
)  # fmt: skip


def driver_compared(before: str, comparison: str) -> str | None:
    """The driver a comparison with other customers measures, by its own words and those just before it (the tenure for
    "been with us for five months, shorter than most customers"), or None when they name no one measure."""
    found = {
        name
        for name, own, context in DRIVER_COMPARISONS
        if re.search(own, comparison, re.I) and re.search(context, before, re.I)
    }
    return found.pop() if len(found) == 1 else None


def named_positions(clause: str, name: str) -> list[int]:
    """Where ``clause`` names the driver ``name``: by its own name first, then in other words."""
    found = [m.start() for m in re.finditer(rf"\b{re.escape(name)}\b", clause, re.I)]
    if name in DRIVER_ALIAS:
        found += [m.start() for m in DRIVER_ALIAS[name].finditer(clause)]
    return found


def driver_named_last(clause: str, f: Facts):
    """The customer's top driver named last in ``clause`` (by its name or in other words), or None: the one a number
    after it is about ("tenure ... takes $93 off, their average order ... takes off $20": the average order)."""
    best, best_at = None, -1
    for d in f.drivers:
        found = named_positions(clause, d.name)
        if found and max(found) > best_at:
            best, best_at = d, max(found)
    return best
