"""Numbers bound to the fact their words name, part one: amounts, spans of time and counts (``service.fact_check``'s
second look at numbers; chances, ratings, growth, rank and the next order are in ``service.claim_bindings``).

The first look lets a number through when it is within rounding of any fact, so a narrative that puts the spend to date
where the forecast goes, the days between orders where the days since the last one go, or the chance of buying where
the chance of not buying goes, passed (a red team's round of 156 such claims: 145 passed). Here a number whose wording
names its fact must match that fact:

- an amount with a currency mark is money, in the facts' currency; "per order" is the average order, "short of" the
  gap to the next tier, "starts at" a tier's floor, "spent" or "to date" the spend so far, "expects" the forecast;
- "N days ago" is the last purchase, "every N days" the time between orders, "a customer for N months" the tenure,
  "the next N days" the horizon;
- "bought N times" counts the purchases so far, "N orders expected" the forecast, "N reviews" the reviews;
- a chance of not buying (churning, lapsing) is the churn probability, a chance of buying its complement, and "1 in N"
  is a chance too;
- "N stars" or "N/5" is the rating of one of the customer's reviews.

A number whose words name none of these is left to the first look. Number words are read as digits before either look
(``words_to_digits``: "three months", "twice", "a dozen"), so they are checked rather than refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from service.claim_drivers import driver_named_last
from service.claim_horizon import PERIOD_DAYS, forecast_window_reasons
from service.facts import Facts

APPROX = re.compile(
    r"(?:about|around|roughly|approximately|approx\.?|nearly|almost|just (?:under|over|below|above)|close to|some|"
    r"(?:a (?:little|bit)|slightly) (?:over|under|above|below|more than|less than)|just shy of|rund|etwa|ca\.?|"
    r"environ|unos|circa|ongeveer|"
    r"~|\u2248)\s*$",
    re.I,
)
# A sentence ends at a stop, but not at the dot of a German day ("am 11. Februar 2026")
_STOP = (
    r"(?<=[.;!?])(?!(?<=\d\.)\s+(?:januar|februar|m(?:\u00e4|ae)rz|april|mai|juni|juli|august|september|oktober|"
    r"november|dezember)\b)\s+"
)
# ... or after a closing quote that follows the stop, before a capital ("... from the picture.\u201c N\u00e4chste ...";
# not before a review's citation in brackets)
SENTENCES = re.compile(_STOP + r"|(?<=[.!?][\u201c\u201d\"\u00bb\u2019'])\s+(?=(?-i:[A-Z\u00c0-\u00dd]))|\n", re.I)
APPROX_SHARE = 0.05  # "roughly $1,400" of $1,380.15: a rounding an agent accepts, said as one
# A number said as a bound ("over $2,500" of $2,528.21, "più del 90%" of 90.7%, "just under $600"): a round figure
# on the side of the fact the words give, within 10% of it
_SAID_AT_LEAST = re.compile(
    r"(?:\b(?:over|more than|above|at least|upwards of|in excess of|north of|well over|ruim|meer dan|mehr als|"
    r"(?:\u00fc|ue)ber|plus de|au-dessus de|m[a\u00e1]s de|m[a\u00e1]s del|por encima de|pi\u00f9 del?|"
    r"pi\u00f9 dell[ao']|"
    r"oltre|mais de|acima de)\s*[$\u20ac\u00a3]?\s*)$",
    re.I,
)
_SAID_AT_MOST = re.compile(
    r"(?:\b(?:under|below|less than|fewer than|just under|just below|shy of|nearly|almost|up to|weniger als|unter|"
    r"fast|knapp|moins de|presque|menos de|casi|meno del?|quasi|minder dan|bijna|onder|quase)\s*[$\u20ac\u00a3]?\s*)$",
    re.I,
)
BOUND_SHARE = 0.10


def bound_of(before: str) -> str | None:
    """'lower' when the words just before a number make it a lower bound ('over', 'more than', 'più del'), 'upper' for
    an upper one ('under', 'nearly'), else None."""
    if _SAID_AT_LEAST.search(before):
        return "lower"
    return "upper" if _SAID_AT_MOST.search(before) else None


def within_bound(x: float, allowed: Iterable[float], bound: str | None, share: float = BOUND_SHARE) -> bool:
    """A fact on the side of ``x`` the bound gives, within ``share`` of it (or one unit, for small numbers). Only a
    whole number is a bound: "below $27.52, where Medium starts" states a line, not a rounding."""
    if x != round(x):
        return False
    slack = max(share * abs(x), 1.0)
    if bound == "lower":
        return any(x <= a <= x + slack for a in allowed)
    if bound == "upper":
        return any(x - slack <= a <= x for a in allowed)
    return False


def near(x: float, allowed: Iterable[float], approx: bool = False, tight: bool = False) -> bool:
    """Within rounding of one of ``allowed``: to whole units or one decimal as people round (``tight``: a number under
    1 must round from the fact: 0.23% is no rounding of 23%); within 5% when the words say it is approximate."""
    slack = 0.51 if not tight or abs(x) >= 1 else 0.051
    share = APPROX_SHARE if approx else 0.005
    return any(abs(x - a) <= max(slack, share * abs(a)) or abs(x - round(a)) < 1e-9 for a in allowed)


# --- number words ----------------------------------------------------------------------------------------------------

_UNITS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_WORD = re.compile(
    rf"\b(?:(?P<tens>{'|'.join(_TENS)})(?:[- ](?P<unit>one|{'|'.join(_UNITS)}))?|(?P<small>{'|'.join(_UNITS)}))"
    r"(?P<half> and a half)?\b(?![- ](?:hundred|thousand|million|billion))",
    re.I,
)


def words_to_digits(text: str) -> str:
    """'three months' -> '3 months', 'twenty-five' -> '25', 'two and a half' -> '2.5', 'twice' -> '2 times', 'a dozen'
    -> '12'. 'one' stays a word ('one of our best customers'), and so do amounts in words ('two thousand dollars'),
    which the fact check refuses."""

    def number(m: re.Match) -> str:
        unit = ({"one": 1} | _UNITS)[m["unit"].lower()] if m["unit"] else 0  # "twenty-one": one only after tens
        n = _TENS[m["tens"].lower()] + unit if m["tens"] else 0
        n = n or _UNITS[m["small"].lower()]
        return f"{n}.5" if m["half"] else str(n)

    text = re.sub(r"\btwice\b", "2 times", text, flags=re.I)
    text = re.sub(r"\bone(?=[- ]stars?\b)", "1", text, flags=re.I)  # "a one-star review" is a rating of 1
    text = re.sub(r"\b(only|just|exactly|bought|ordered|purchased|shopped)((?: from us)?) once\b", r"\1\2 1 time", text,
                  flags=re.I)  # fmt: skip
    text = re.sub(r"\b(?:a|one) dozen\b", "12", text, flags=re.I)
    text = re.sub(r"\bhalf a year\b", "6 months", text, flags=re.I)
    # a span after words that measure it ("a customer for more than a year", "about a month ago"); not "once a week"
    text = re.sub(r"\b(for|than|about|around|almost|nearly|over|under) (?:a|one) (year|month)\b", r"\1 1 \2", text,
                  flags=re.I)  # fmt: skip
    text = _WORD_ABROAD.sub(lambda m: str(_UNITS_ABROAD_WORDS[m.group(1).lower()]), text)
    return _WORD.sub(number, text)


# Small numbers in the other languages the service reads, read only before what they count ("seit zwei Jahren",
# "ruim twee jaar", "trois commandes"): alone, "due" and "sei" are English and Italian words of other meanings
_UNITS_ABROAD_WORDS = {
    w: n
    for n, words in enumerate(
        [
            (),
            (),
            ("zwei", "deux", "dos", "due", "twee", "dois", "duas"),
            ("drei", "trois", "tres", "tre", "drie", "tr\u00eas"),
            ("vier", "quatre", "cuatro", "quattro", "quatro"),
            ("f\u00fcnf", "fuenf", "cinq", "cinco", "cinque", "vijf"),
            ("sechs", "seis", "sei", "zes"),
            ("sieben", "sept", "siete", "sette", "zeven", "sete"),
            ("acht", "huit", "ocho", "otto", "oito"),
            ("neun", "neuf", "nueve", "nove", "negen"),
            ("zehn", "dix", "diez", "dieci", "tien", "dez"),
            ("elf", "onze", "once", "undici"),
            ("zw\u00f6lf", "douze", "doce", "dodici", "twaalf", "doze"),
        ]
    )
    for w in words
}
_WORD_ABROAD = re.compile(
    rf"\b({'|'.join(sorted(_UNITS_ABROAD_WORDS, key=len, reverse=True))})\s+(?=(?:jahre?n?|jaar|jaren|ans|"
    rf"ann[e\u00e9]es?|"
    r"a\u00f1os?|anni|anos|monate?n?|maanden|maand|mois|meses|mesi|wochen|weken|semaines|semanas|settimane|tage?n?|"
    r"dagen|jours|d[i\u00ed]as|giorni|bestellungen|k(?:\u00e4|ae)ufe\w*|eink(?:\u00e4|ae)ufe\w*|commandes|achats|pedidos|"
    r"compras|ordini|acquisti|bestellingen|aankopen|encomendas|bewertungen|avis|rese\u00f1as|recensioni|"
    r"beoordelingen|avalia\u00e7\u00f5es)\b)",
    re.I,
)


_CURRENCY_AFTER = r"\s?(?:R\$|US\$|[$\u20ac\u00a3]|USD|EUR|GBP|BRL|dollars?|euros?|reais)(?!\w)"
_CURRENCY_NEXT = rf"(?={_CURRENCY_AFTER})"


def normalise_numbers(text: str) -> str:
    """Numbers written the European way as the checks read them: thousands grouped by spaces ('1 380,15 $', French)
    joined; amounts with a decimal comma next to a currency ('1.380,15 $', '122,14 \u20ac') as '1380.15', '122.14'; a
    decimal comma before one digit ('1,5 Bestellungen', '6,1 commandes': never a thousands separator) as a point;
    '80 %' as '80%'. Even odds ('50/50', 'fifty-fifty') become words the number checks read as a chance of 50%."""
    text = re.sub(
        r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?=,\d{1,2}(?!\d)|" + _CURRENCY_AFTER + ")",
        lambda m: re.sub(r"[ \u00a0\u202f]", "", m.group(0)),
        text,
    )
    text = re.sub(
        r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+|\d+),(\d{2})(?!\d)" + _CURRENCY_NEXT,
        lambda m: m.group(1).replace(".", "") + "." + m.group(2),
        text,
    )
    text = re.sub(
        r"((?:R\$|US\$|[$\u20ac\u00a3])\s?)(\d{1,3}(?:\.\d{3})+|\d+),(\d{2})(?!\d|,\d)",
        lambda m: m.group(1) + m.group(2).replace(".", "") + "." + m.group(3),
        text,
    )
    text = re.sub(
        r"(?<![\d.,])(\d{1,3}(?:\.\d{3})+)(?![\d,.])" + _CURRENCY_NEXT, lambda m: m.group(1).replace(".", ""), text
    )
    text = re.sub(r"(?<![\d.,])(\d+),(\d)(?![\d,])", r"\1.\2", text)
    text = re.sub(r"(\d)[ \u00a0\u202f]%", r"\1%", text)
    # "around 20 cents" of $0.20: the amount in the facts' own currency (\u00a4)
    text = re.sub(
        r"(?<![\d.,])(\d{1,2})\s?(?:cents?|centimes?|c[e\u00e9]ntimos?|centavos?|centesimi|eurocent)\b",
        lambda m: f"\u00a4{int(m.group(1)) / 100:.2f}",
        text,
        flags=re.I,
    )
    return re.sub(r"\b(?:50\s?/\s?50|50-50|fifty[- ]fifty)\b", "even odds", text, flags=re.I)


# --- the facts by kind -----------------------------------------------------------------------------------------------


def driver_values(f: Facts, features: tuple[str, ...]) -> list[float]:
    return [d.value for d in f.drivers if d.value is not None and (d.feature or "") in features]


def figures_of(f: Facts, keys: tuple[str, ...]) -> list[float]:
    return [f.figures[k] for k in keys if k in f.figures]


def average_orders(f: Facts) -> list[float]:
    aov = driver_values(f, ("avg_order_value",))
    total, n = f.figures.get("monetary_total"), f.figures.get("frequency")
    return aov + ([total / n] if total is not None and n else [])


def floors(f: Facts) -> list[float]:
    found = [x for x in (f.tier_floor, f.next_tier_floor) if x is not None]
    return found + [v for k, v in f.figures.items() if k.startswith("floor_")]


def gaps(f: Facts) -> list[float]:
    return [x - f.predicted_value for x in floors(f) if x > f.predicted_value]


def margins(f: Facts) -> list[float]:
    """How far the forecast is above each floor it clears ("$14.84 above the VIP threshold"), and from the spend so far
    either way ("about $209 more than their entire spend to date", "$368 less than")."""
    spent = [abs(f.predicted_value - x) for x in figures_of(f, ("monetary_total",))]
    return [f.predicted_value - x for x in floors(f) if x < f.predicted_value] + spent


def past_spend(f: Facts) -> list[float]:
    keys = ("monetary_total", "historic_value", "spend_recent", "spend_prior")
    return figures_of(f, keys) + driver_values(f, ("monetary_total", "spend_recent", "spend_prior"))


def forecast(f: Facts) -> list[float]:
    return [f.predicted_value, *figures_of(f, ("predicted_value_exact",))]


def interval(f: Facts) -> list[float]:
    return list(f.value_interval or [])


def contributions(f: Facts) -> list[float]:
    return [abs(d.contribution) for d in f.drivers]


def driver_totals(f: Facts) -> list[float]:
    """The drivers' effects added up: all of them, those that lift, those that hold back ("the listed drivers net out
    to roughly -$54")."""
    effects = [d.contribution for d in f.drivers]
    totals = [sum(effects), sum(e for e in effects if e > 0), sum(e for e in effects if e < 0)] if effects else []
    return [abs(t) for t in totals if t]


def money(f: Facts) -> list[float]:
    found = average_orders(f) + floors(f) + gaps(f) + margins(f) + past_spend(f) + forecast(f) + interval(f)
    return found + contributions(f) + driver_totals(f)


# --- amounts ---------------------------------------------------------------------------------------------------------

_CURRENCIES = {
    "$": "$", "us$": "$", "usd": "$", "dollar": "$", "dollars": "$", "€": "€", "eur": "€", "euro": "€", "euros": "€",
    "£": "£", "gbp": "£", "pound": "£", "pounds": "£", "r$": "R$", "brl": "R$", "real": "R$", "reais": "R$",
}  # fmt: skip
_CUR = r"R\$|US\$|[$€£¤]|USD|EUR|GBP|BRL"  # ¤: the facts' own currency ("20 cents" is read as "¤0.20")
_AMOUNT = r"\d(?:[\d,]*\d)?(?:\.\d+)?"  # not its trailing comma: "$919, more than 95%" is no gap "more" away
MONEY = re.compile(
    rf"(?:(?P<c1>{_CUR})\s?(?P<n1>{_AMOUNT})|(?P<n2>{_AMOUNT})\s?(?P<c2>{_CUR}|dollars?|euros?|pounds?|reais)(?!\w))"
    r"(?:\s?(?P<scale>k|K|M|bn)\b)?",
)
# The average order in the other languages the service reads ("un pedido medio de 131,35 $", "panier moyen")
_AVERAGE_ORDER_ABROAD = (
    r"\b(?:(?:pedido|ticket|importe|gasto|valor) medio|(?:panier|montant|achat) moyen|commande moyenne|"
    r"durchschnittlich\w* (?:bestellwert|warenkorb\w*|bestellung|einkauf)|bestellwert|warenkorbwert|"
    r"(?:ordine|scontrino|importo|valore|acquisto) medio|gemiddelde (?:bestelling|orderwaarde|bestelwaarde|aankoop))\b"
)
# The spend so far and the forecast, in the languages the service reads
PAST_SPEND_WORDS = (
    r"spent|has spent|spend(?:ing)? (?:so far|to date)|lifetime|historic\w*|to date|so far|total spend|gastado|"
    r"hasta ahora|ausgegeben|bisher\w*|d[e\u00e9]pens[e\u00e9]|jusqu'[a\u00e0] pr[e\u00e9]sent|speso|finora|uitgegeven|"
    r"tot nu toe"
)
FORECAST_WORDS = (
    r"expect\w*|forecast\w*|predict\w*|projected|pr[e\u00e9]vu\w*|pr[e\u00e9]vision\w*|attendu\w*|erwart\w*|"
    r"prognos\w*|previst\w*|prevision\w*|esperad\w*|verwacht\w*|voorspel\w*"
)
# A tier's line, in the languages the service reads ("the threshold for Medium", "la soglia Medium di 25,72 $")
FLOOR_WORDS = r"threshold|floor|cut-?off|line|soglia|umbral|seuil|schwelle\w*|grenze|drempel\w*"
_OF = r"(?:for|of|de|del|de la|di|della|du|von|van|f[u\u00fc]r|per)"
# Purchases already made, "worth" an amount ("12 purchases so far worth $1,295.58"): their spend, not the forecast
# that "worth" names elsewhere
_WORTH_SO_FAR = (
    r"\b(?:purchases|orders|so far|to date)\b"
    r"(?:(?!\b(?:expect|forecast|predict|next|coming)\w*)[^.;$\u20ac\u00a3]){0,25}?\bworth\b"
)
# The 80% range and "between" in the languages the service reads ("intervallo all'80 % da 0,00 $ a 88,70 $", "rango del
# 80 %: 0,00 $\u2013310,40 $", "zwischen 0,00 $ und 1.783,95 $")
_RANGE_ABROAD = (
    r"intervall|intervalle|intervalo|intervallo|bereich|spanne|fourchette|horquilla|rango|faixa|marge|"
    r"zwischen|entre|tra|fra|tussen"
)
# What an amount is, by the words around it: (kind, facts, words before it in its clause, words just after it)
_MONEY_KINDS = (
    # "about $209 more than their entire spend to date": a difference between the forecast and an amount
    ("a difference from the forecast", lambda f: margins(f) + gaps(f), r"(?!)",
     r"^\s*(?:more|less|higher|lower)\s+than\s+(?:(?:her|his|their|the)\s+)?(?:entire\s+|total\s+|whole\s+)?"
     r"(?:spend|spent|lifetime|historic|all|everything|what)|"
     # "rund 177 $ mehr als der gesamte bisherige Umsatz", "177 $ de plus que ses d\u00e9penses"
     r"^\s*(?:mehr als|weniger als|(?:de )?plus que|(?:de )?moins que|m[a\u00e1]s que|menos que|pi\u00f9 d[ei]|"
     r"meno d[ei]|meer dan|minder dan|mais do que|menos do que)\s+(?:\w+\s+){0,3}?"
     r"(?:umsatz|ausgaben|bisher\w*|d[e\u00e9]pens\w*|gast\w*|spes\w*|uitgaven|uitgegeven|total\w*|gesamt\w*)"),
    ("the margin over a tier's floor", margins, r"(?!)",
     r"^\s*(?:above|over|past|beyond|clear of|more than)\s+(?:the\s+)?(?:[$\u20ac\u00a3]\s?[\d,]+(?:\.\d+)?\s+)?"
     r"(?:(?:VIP|High|Medium|Low)(?:'s)?\s+)?(?:tier\s+)?"
     rf"(?:{FLOOR_WORDS}|bar|mark|minimum|entry)\b"),
    ("the average order", average_orders, r"\baverage (?:order|basket|purchase)|\border value|\btypical order|"
     rf"{_AVERAGE_ORDER_ABROAD}",
     r"^\s*(?:per|a|an|each) (?:order|purchase|basket|visit)\b|^\s*(?:each|apiece)\b|^\s*on average\b|"
     r"^\s*(?:par|pro|por|per|je) "
     r"(?:commande|bestellung|pedido|ordine|bestelling|achat|compra)\b|"
     r"^\s*(?:en moyenne|im schnitt|en promedio|in media)\b"),
    ("the gap to the next tier", gaps, r"\b(?:short of|away from|gap|more to (?:reach|get)|needs? (?:another|only|just)"
     r"|to (?:reach|get to|move up))\b|"
     # "to reach VIP the forecast would need to climb by roughly $324"
     r"\b(?:climb|rise|grow|increase|go up|jump)\w*\s+by\s+(?:about\s+|around\s+|roughly\s+|"
     r"some\s+)?$", r"^\s*(?:short|away|more(?! than)|below) (?:of |from |to |before )?|"
     # "98,61 $ onder de High-grens", "unter der High-Schwelle", "sous le seuil", "por debajo del umbral"
     r"^\s*(?:onder de|unter der|unter dem|sous le|en dessous du|por debajo del?|sotto la|sotto il|abaixo d[oa])\s|"
     r"^\s*off (?!(?:the|her|his|their) (?:forecast|value|prediction))"),
    ("a tier's floor", floors, r"\b(?:climb|rise|grow|increase|go up|get)\w*\b(?:[^.;]|(?<=\d)\.(?=\d)){0,40}"
     r"\bto\s+$|\b(?:starts?|begins?|entry point|at least|"
     "(?<!bit )(?<!little )(?<!slightly )(?<!just )"
     r"(?:below|under)|above)\s+(?:at\s+|of\s+)?"
     r"(?:the\s+)?$|\b(?:VIP|High|Medium|Low)(?:\s+tier)?\s+(?:\w+\s+){0,2}(?:at|from|bij|vanaf|ab|bei|d[e\u00e8]s|"
     r"\u00e0 partir de|a partir de|desde|da)\s+$|"
     rf"\b(?:{FLOOR_WORDS})\s+(?:{_OF}\s+)?(?:(?:the\s+)?(?:VIP|High|Medium|Low)\s+)?(?:tier\s+)?"
     rf"(?:(?:at|is|{_OF})\s+|[:=]\s*)?(?:the\s+)?$",
     r"^\s*(?:(?:VIP|High|Medium|Low)\s+(?:tier\s+)?)?(?:threshold|floor|cut-?off|mark|line)\b|"
     r"^(?:\s*or so)?,?\s*where \w+ (?:starts|begins)\b|^\s*(?:needed|required|necessary) (?:for|to reach|to get)\b|"
     # a verb of starting after the amount ("terwijl Medium pas bij 24,48 $ begint", "ab 24,48 $ anf\u00e4ngt")
     r"^\s*(?:begint|beginnt|anf(?:\u00e4|a)ngt|commence|d[e\u00e9]bute|empieza|comienza|inizia|comincia|come(?:\u00e7|c)a)\b"),
    ("the spend so far", past_spend, _WORTH_SO_FAR + rf"|\b(?:{PAST_SPEND_WORDS}|paid|in total|last \d+ days|"
     r"past \d+ days|recent|(?:down|up) from)\b",
     r"^\s*(?:(?:she|he|they)(?:'ve|'s|\u2019ve|\u2019s|\s+have|\s+has)?\s+)?(?:spent\s+|in spend\s+)?"
     r"(?:so far|to date|in total|hasta ahora|bisher|jusqu|finora|tot nu toe)\b|"
     r"^\s*in the (?:last |past |previous )?"
     r"\d+ days\b"),
    ("an end of the 80% range", interval, r"\b(?:range|interval|between|up to|as (?:much|high|low|little) as|at most|"
     r"anywhere from|" + _RANGE_ABROAD + r")\b[^.;$\u20ac\u00a3]{0,16}$|\b(?:range|interval|between|" + _RANGE_ABROAD
     + r")\b(?:[^.;]|(?<=\d)\.(?=\d)){0,30}(?:\b(?:to|and|bis|und|[a\u00e0]|et|y|e|tot|en)\s+|\s?[-\u2013]\s?)"
     r"(?:about\s+|around\s+|roughly\s+|approximately\s+|nearly\s+|almost\s+|~\s*)?$",
     r"^\s*(?:and|to) (?:R\$|[$\u20ac\u00a3])"),
    ("the forecast", forecast, rf"\b(?:{FORECAST_WORDS}|will (?:\w+ )?spend|worth|likely to spend)\b",
     r"^\s*(?:of spend )?(?:in|over) the (?:next|coming)\b"),
    ("a driver's effect", contributions, r"\b(?:add|rais|lift|lower|reduc|cut|contribut|push|pull|knock|subtract|"
     r"tak|boost|cost)\w*\b[^.;]{0,20}$|\b(?:by|um)\s+(?:about\s+|around\s+|roughly\s+|some\s+|rund\s+|etwa\s+)?$|"
     # in the other languages: "resta 101,35 $", "ajoute 32 $", "kostet 33,15 $", "toglie", "voegt ... toe"
     r"\b(?:resta|restan|quita|aporta|suma|ajoute|retire|enl[e\u00e8]ve|co[u\u00fb]te|addiert|bringt|kostet|senkt|zieht|"
     r"erh(?:\u00f6|o)ht|aggiunge|toglie|sottrae|costa|voegt|kost|verlaagt|verhoogt|soma|acrescenta|tira|subtrai|"
     r"custa)\b[^.;]{0,12}$",
     r"^\s*(?:to|from|off) (?:her|his|their|the)\b|"
     # a verb after the amount ("die Prognose um 49,60 $ senkt", "de voorspelling met 49,60 $ verlaagt")
     r"^\s*(?:senkt|erh(?:\u00f6|o)ht|reduziert|verringert|dr(?:\u00fc|u)ckt|steigert|verlaagt|verhoogt)\b"),
)  # fmt: skip
_CLAUSE = re.compile(
    _STOP + r"|\n|\s[-\u2013\u2014]\s|[()]|,\s+(?:and|but|while|whereas)\s+|"
    # "... resta 101,35 $ y la \u00e9poca del a\u00f1o otros 51,97 $": a conjunction before an article starts another
    # clause
    r"\s+(?:y|e|und|et|en|ed)\s+(?=(?:la|el|los|las|le|les|il|lo|gli|die|der|das|de|het|o|a|os|as)\s)",
    re.I,
)


def clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.split(text) if c and c.strip()]


def _kind_of(clause: str, start: int, end: int, kinds) -> tuple[str, Callable[[Facts], list[float]]] | None:
    """The kind the words nearest an amount name: words just after it first ('$919 per order'), then the kind whose
    words end closest before it in its clause."""
    after, before = clause[end : end + 30], clause[:start]
    for name, facts_of, _, after_words in kinds:
        if re.search(after_words, after, re.I):
            return name, facts_of
    best, best_at = None, -1
    for name, facts_of, before_words, _ in kinds:
        for m in re.finditer(before_words, before, re.I):
            if m.end() > best_at:
                best, best_at = (name, facts_of), m.end()
    return best


_TOTAL_WORDS = re.compile(r"\b(?:net(?:s|ted)?|together|combined|altogether|in total|all told|sum|add up)\b", re.I)
SCALE = {"k": 1e3, "K": 1e3, "M": 1e6, "bn": 1e9}  # "$5.5k"


def amount_of(m: re.Match) -> float:
    """The amount a ``MONEY`` match states, its thousands suffix applied."""
    return float((m["n1"] or m["n2"]).replace(",", "")) * SCALE.get(m["scale"] or "", 1.0)


def money_reasons(text: str, f: Facts) -> list[str]:
    reasons = []
    own = _CURRENCIES.get(f.currency.strip().lower())
    for clause in clauses(text):
        for m in MONEY.finditer(clause):
            mark = m["c1"] or m["c2"]
            stated = _CURRENCIES.get(mark.lower())
            if own and stated and stated != own:
                reasons.append(
                    f"states an amount in {mark} ({m.group(0).strip()}) but the facts' currency is {f.currency}"
                )
                continue
            x = amount_of(m)
            approx = APPROX.search(clause[: m.start()]) is not None
            bound = bound_of(clause[max(0, m.start() - 25) : m.start()])
            per = per_period(clause[m.end() : m.end() + 30])
            if per is not None and abs(PERIOD_DAYS[per] - f.horizon_days) > 0.15 * f.horizon_days:
                reasons += rate_of_forecast_reasons(x, m.group(0).strip(), per, approx, bound, f)
                continue
            kind = _kind_of(clause, m.start(), m.end(), _MONEY_KINDS)
            if re.search(r"(?<=[\s(,:;])[+\u2212-]$", clause[max(0, m.start() - 2) : m.start()]):
                kind = ("a driver's effect", contributions)  # "+$413.22", "(\u221259,46 $)": an amount with its sign
                if _TOTAL_WORDS.search(clause[: m.start()]):
                    kind = ("the drivers' total", driver_totals)  # "the drivers net out to -$54"
            if kind is not None:
                kind = _narrowed(kind, clause[: m.start()], f)
            if kind is not None and not (near(x, kind[1](f), approx) or within_bound(x, kind[1](f), bound)):
                reasons.append(f"{m.group(0).strip()} is given as {kind[0]}, which it is not")
            elif not (near(x, money(f), approx) or within_bound(x, money(f), bound)):
                reasons.append(f"amount {m.group(0).strip()} matches no amount in the facts")
            if near(x, [f.predicted_value], approx):  # the forecast's amount, said for a window ("over the next year")
                reasons += forecast_window_reasons(
                    clause[max(0, m.start() - 60) : m.start()], clause[m.end() : m.end() + 40], f
                )
            if kind is None:
                continue
            if kind and kind[0] == "the forecast":
                reasons += _crossing_reasons(x, m.group(0).strip(), clause[: m.start()], f)
                sure = re.search(r"\b(?:definitely|certainly|surely|guaranteed|for sure|without doubt)\b", clause, re.I)
                if sure:
                    reasons.append(
                        f"states the forecast as a certainty (\u201c{sure.group(0)}\u201d); it is an expectation"
                    )
    return reasons


def _narrowed(kind, before: str, f: Facts):
    """A driver's effect of the one driver its clause names ('monetary adds $759.67'); a floor of the tier named just
    before it ('Medium starts at $25.72')."""
    if kind[0] == "a driver's effect":
        named = driver_named_last(before, f)  # the one named last before the amount, by name or in other words
        if named is not None:
            return f"the effect of {named.name}", lambda _f: [abs(named.contribution)]
    if kind[0] == "a tier's floor":
        m = re.search(
            rf"\b(VIP|High|Medium|Low)\W+(?:tier\W+)?(?:starts?|begins?|{FLOOR_WORDS})\b[^.;]{{0,15}}$|"
            rf"\b(?:{FLOOR_WORDS})\W+(?:{_OF}\W+)?(?:the\W+)?(VIP|High|Medium|Low)\b[^.;]{{0,15}}$|"
            r"\b(VIP|High|Medium|Low)(?:\s+tier)?\s+(?:\w+\s+){0,2}(?:at|from|bij|vanaf|ab|bei|d[e\u00e8]s|"
            r"\u00e0 partir de|"
            r"a partir de|desde|da)\s+$",
            before,
            re.I,
        )
        said = m and (m.group(1) or m.group(2) or m.group(3))
        name = said and ("VIP" if said.lower() == "vip" else said.capitalize())
        floor = f.figures.get(f"floor_{name}") if name else None
        if floor is not None:
            return f"the floor of {name}", lambda _f: [floor]
    return kind


_UPPER_BOUND = re.compile(r"\b(?:under|below|less than|shy of|up to|at most|nearly|almost)\s*$", re.I)
_LOWER_BOUND = re.compile(r"\b(?:over|above|more than|at least)\s*$", re.I)


def _crossing_reasons(x: float, said: str, before: str, f: Facts) -> list[str]:
    """A forecast rounded across a tier's line ('about $26' of $24.92, Medium starting at $25.72) puts the customer on
    the other side of it: refused, unless its words make it a bound that holds ('under $26')."""
    lines = {f.tier: f.tier_floor, f.next_tier: f.next_tier_floor}
    lines |= {k.removeprefix("floor_"): v for k, v in f.figures.items() if k.startswith("floor_")}
    actual = f.predicted_value
    for name, line in lines.items():
        if name is None or line is None or (x >= line) == (actual >= line):
            continue
        if (_UPPER_BOUND if x > actual else _LOWER_BOUND).search(before):
            continue
        side = "above" if x >= line else "below"
        return [f"{said} puts the forecast {side} the {name} line ({line:,.2f}); it is {actual:,.2f}"]
    return []


# the period a word names, by its first five letters, in the languages the service reads ("annually", "par an",
# "monatlich", "al mes", "per maand", "wöchentlich")
_PERIOD_OF = {
    "year": "year", "annum": "year", "annua": "year", "month": "month", "quart": "quarter", "week": "week",
    "weekl": "week", "mois": "month", "monat": "month", "mes": "month", "mese": "month", "maand": "month",
    "m\u00eas": "month", "mensu": "month", "mensa": "month", "mensi": "month", "jahr": "year", "an": "year",
    "a\u00f1o": "year", "anno": "year", "jaar": "year", "ano": "year", "j\u00e4hrl": "year", "jahrl": "year",
    "annue": "year", "anual": "year", "jaarl": "year", "semai": "week", "woche": "week", "seman": "week",
    "setti": "week", "w\u00f6che": "week",
}  # fmt: skip


_PER_PERIOD = re.compile(
    r"\s*(?:of (?:spend|spending|revenue|sales)\s+)?(?:(?:a|per|each|every|/)\s*(year|annum|month|mo|quarter|qtr|"
    r"week|wk)\b|(annually|monthly|weekly)\b|"
    # "86,00 $ par mois", "pro Monat", "al mes", "per maand", "por m\u00eas", "monatlich"
    r"(?:par|pro|al|por|per|im|au|a|in)\s+(?P<abroad>mois|monat|mes|mese|maand|m\u00eas|jahr|an|a\u00f1o|anno|"
    r"jaar|ano|semaine|woche|semana|settimana|week)\b|(?P<adverb>monatlich|mensuel\w*|mensual\w*|mensile|"
    r"maandelijks|mensal\w*|j(?:\u00e4|a)hrlich|annuel\w*|anual\w*|annual\w*|jaarlijks|w(?:\u00f6|o)chentlich))",
    re.I,
)  # fmt: skip
_PERIOD_SHORT = {"mo": "month", "qtr": "quarter", "wk": "week"}


def per_period(after: str) -> str | None:
    """The period an amount is said per ('$17.74 a month', '/mo', '17,74 $ por m\u00eas', 'monatlich'), or None."""
    m = _PER_PERIOD.match(after)
    if not m:
        return None
    word = next(g for g in (m.group(1), m.group(2), m["abroad"], m["adverb"]) if g).lower()
    return _PERIOD_SHORT.get(word) or _PERIOD_OF[word[:5]]


def per_period_spans(text: str) -> list[tuple[int, int]]:
    """Where an amount is said per period: a rate, checked by ``rate_of_forecast_reasons`` only (the first look
    knows no rate)."""
    return [m.span() for m in MONEY.finditer(text) if per_period(text[m.end() : m.end() + 30])]


def rate_of_forecast_reasons(x: float, said: str, per: str, approx: bool, bound: str | None, f: Facts) -> list[str]:
    """An amount said per period ('about $17.74 a month' of $53.22 in 90 days) is the forecast spread over its
    horizon, at the month's 30.44 days or as a whole share of the horizon (90 days as 3 months). The forecast's own
    amount per a period that is not the horizon ('$53 per month') is refused as the forecast said for a wrong window."""
    days = PERIOD_DAYS[per]
    if abs(days - f.horizon_days) <= 0.15 * f.horizon_days:
        return []  # per the horizon: the forecast itself, checked as such
    parts = round(f.horizon_days / days)
    rates = [f.predicted_value * days / f.horizon_days] + ([f.predicted_value / parts] if parts >= 1 else [])
    if near(x, rates, approx) or within_bound(x, rates, bound):
        return []
    if near(x, [f.predicted_value], approx):
        return [f"states the forecast per {per}, but it is for the next {f.horizon_days} days"]
    return [f"{said} per {per}: the forecast of {f.predicted_value:,.2f} over {f.horizon_days} days is about "
            f"{rates[-1]:,.2f} per {per}"]  # fmt: skip


# --- days and counts ----------------------------------------------------------------------------------

# The words of spans and counts in the other languages the service reads: "es cliente desde hace unos 4 meses",
# "environ 3 commandes sont attendues", "se esperan unos 2 pedidos"
_CUSTOMER_WORDS = r"customer|client\w*|kund\w*|klant\w*|bei uns|con nosotros|chez nous|con noi|bij ons"
_CUSTOMER_SINCE = rf"\b(?:{_CUSTOMER_WORDS})\b[^.;\d]{{0,25}}?\b(?:desde hace|seit|depuis|da|sinds)"
_ABOUT_ABROAD = (
    r"unos|unas|environ|etwa|rund|circa|ca\.|ongeveer|c\u00e9rca de|cerca de|quasi|presque|fast|bijna|casi|quase"
)
_MORE_ABROAD = r"ruim|meer dan|mehr als|(?:\u00fc|ue|u)ber|plus de|m[a\u00e1]s de|pi\u00f9 di|oltre|mais de"
_ORDERS = (
    r"orders|purchases|commandes?|achats?|bestellungen|k(?:\u00e4|ae)ufe|eink(?:\u00e4|ae)ufe|pedidos|compras|"
    r"ordini|acquisti|bestellingen|aankopen"
)
_EXPECTED_ABROAD = r"attendu\w*|pr[e\u00e9]vu\w*|erwart\w*|esperad\w*|esperan?|previst\w*|prevede|verwacht\w*|voorspeld"
_UNITS_ABROAD = re.compile(
    r"\b(\d+(?:\.\d+)?)\s*(?:(?P<day>d[i\u00ed]as?|tagen?|jours?|giorni|dagen)|(?P<week>semanas?|wochen|semaines?|"
    r"settimane|weken)|(?P<month>mes(?:es)?|monaten?|mois|mesi|maanden)|(?P<year>a\u00f1os?|jahren?|ans|ann[e\u00e9]es?|"
    r"anni|jaar|jaren))\b",
    re.I,
)

NUMBER = r"(\d+(?:\.\d+)?)"
_DAY_UNITS = {"day": 1.0, "week": 7.0, "month": 30.44, "year": 365.25}
# (what, facts in days, pattern: group 1 the number, group 2 the unit)
# Becoming a customer or the first order, said just before "N weeks ago": the tenure, not the last purchase
_BECAME_CUSTOMER = re.compile(
    r"\b(?:(?:became|become|becoming|se tornou|tornou-se|wurde|devenu|devenue|se hizo|diventat[oa]|werd)\s+"
    rf"(?:(?:a|an|our|unser\w*|client\w*|kund\w*)\s+)?(?:{_CUSTOMER_WORDS})|joined|signed up|first (?:order|purchase)|"
    r"erste\w* (?:kauf|bestellung)|premi(?:\u00e8|e)re commande|primer pedido|primo ordine|"
    r"eerste (?:aankoop|bestelling)|primeira compra)\b[^.;]{0,25}$",
    re.I,
)
_SPANS = (
    ("the days since the last purchase",
     lambda f: figures_of(f, ("recency_days",)) + driver_values(f, ("recency_days",)),
     rf"\b{NUMBER}\s*(day|week|month|year)s?\s+(?:ago\b|since (?:her|his|their|the) last (?:order|purchase)|"
     # "38 dagen geleden", "44 Wochen zur\u00fcck", "38 giorni fa", "38 dias atr\u00e1s"; "vor 38 Tagen", "il y a 38
     # jours", "hace 38 d\u00edas", "h\u00e1 38 dias"
     r"(?:geleden|zur(?:\u00fc|ue)ck|fa|atr[a\u00e1]s)\b)|"
     rf"\b(?:vor|il y a|hace|h[a\u00e1])\s+(?:(?:{_ABOUT_ABROAD}|about|around)\s+)?{NUMBER}\s*(day|week|month|"
     rf"year)s?\b"),
    ("the time between orders", lambda f: figures_of(f, ("avg_days_between_orders", "ipi_mean_days"))
     + driver_values(f, ("ipi_mean_days", "avg_days_between_orders")),
     rf"\bevery\s+{NUMBER}\s*(day|week|month|year)s?\b|"
     rf"\b{NUMBER}\s*(day|week|month|year)s?\s+(?:apart|between (?:orders|purchases))"),
    ("the tenure", lambda f: driver_values(f, ("tenure_days",)),
     rf"(?:\b(?:customer|shopping with us|with us|buying from us) for|{_CUSTOMER_SINCE})\s+"
     rf"(?:(?P<cmp>more than|less than|under|over|at least|{_MORE_ABROAD})\s+|(?:about|around|almost|nearly|"
     rf"{_ABOUT_ABROAD})\s+)?"
     rf"{NUMBER}\s*(day|week|month|year)s?\b|"
     rf"\b(?:seit|desde hace|depuis|sinds)\s+(?:(?:{_ABOUT_ABROAD})\s+)?{NUMBER}\s*(day|week|month|year)s?\b"
     rf"(?=[^.;\d]{{0,25}}\b(?:{_CUSTOMER_WORDS}))"),
    ("the horizon", lambda f: [float(f.horizon_days)], rf"\b(?:next|coming)\s+{NUMBER}\s*(day|week|month|year)s?\b"),
)  # fmt: skip
_COUNTS = (
    ("the purchases so far", lambda f: figures_of(f, ("frequency",)) + driver_values(f, ("frequency", "n_orders")),
     rf"\b(?:bought|ordered|purchased|placed|made|shopped|pass[e\u00e9]|command[e\u00e9]|achet[e\u00e9]|bestellt|gekauft|"
     rf"comprado|pedido|hecho|realizado|effettuato|gedaan|geplaatst|aufgegeben)\b[^.;]{{0,25}}?\b{NUMBER}\s*(?:times?|orders?|purchases?|commandes?|achats?|bestellungen|"
     rf"k[a\u00e4]ufe|pedidos|compras|ordini|bestellingen|mal|veces|fois)\b|"
     rf"\b{NUMBER}\s*(?:orders|purchases)\s+(?:so far|to date|in total|with us|placed)\b|"
     # a table's row or a label: "| Orders to date | 3 |", "Purchases so far: 8"
     rf"(?:^|(?<=[|\n]))\s*(?:\*\*)?(?:orders|purchases)(?:\s+(?:so far|to date|in total|placed))?\s*(?:\*\*)?\s*[|"
     rf":=]\s*"
     rf"{NUMBER}\b(?!\s*[/.,$%])|"
     # "spent $919.42 over 7 purchases", "122,82 $ en 2 achats", "in 2 K\u00e4ufen"
     rf"\b(?:over|in|across|from|en|con|bei|in|su|uber|\u00fcber|via)\s+{NUMBER}\s*(?:purchases|orders|achats|commandes|"
     rf"k[a\u00e4]ufen?|bestellungen|compras|pedidos|acquisti|ordini|aankopen|bestellingen)\b|"
     rf"\b{NUMBER}(?:st|nd|rd|th) (?:order|purchase)\b"),
    # the profile's levelled figure when there is one: the purchase-pattern driver's own value is an unlevelled input
    ("the orders expected",
     lambda f: figures_of(f, ("expected_orders",)) or driver_values(f, ("btyd_expected_orders",)),
     rf"\b{NUMBER}\s*(?:more\s+)?(?:{_ORDERS})\s+(?:(?:are|is|sont|werden|wird|son|sono|worden)\s+)?"
     rf"(?:expected|predicted|forecast|{_EXPECTED_ABROAD})\b|"
     rf"\b(?:expect\w*|{_EXPECTED_ABROAD})\s+(?:to\s+(?:place|make|buy|order)\s+)?"
     rf"(?:(?:about|around|roughly|{_ABOUT_ABROAD})\s+)?{NUMBER}\s*(?:more\s+)?(?:{_ORDERS})\b|"
     # a table's row or a label: "| Expected orders (90 days) | ~4.6 |", "Orders expected: 3.6"
     rf"(?:^|(?<=[|\n])|(?<=[.;] ))\s*(?:\*\*)?(?:expected (?:orders|purchases)|(?:orders|purchases) expected)"
     rf"(?:\s*\([^)]*\))?"
     rf"\s*(?:\*\*)?\s*[|:=]\s*(?:~|\u2248|about\s+|around\s+|roughly\s+)?{NUMBER}\b(?!\s*[/$%])"),
    # not the stars of "two 5/5 reviews"
    ("the reviews", lambda f: figures_of(f, ("review_count",)), rf"(?<!/)\b{NUMBER}\s*reviews\b"),
)  # fmt: skip


def _number(m: re.Match) -> float:
    return float(next(g for g in m.groups() if g is not None and re.fullmatch(r"\d+(?:\.\d+)?", g)))


# "every N days" in the other languages the service reads, said the English way before the spans are matched
_EVERY = re.compile(
    r"\b(?:cada|alle|tous les|toutes les|ogni|elke|iedere)\s+(\d+(?:\.\d+)?)\s*(?:(?P<day>d[i\u00ed]as?|tage?n?|jours?|"
    r"giorni|dagen)|(?P<week>semanas?|wochen?|semaines?|settimane|weken)|(?P<month>mes(?:es)?|monaten?|mois|mesi|maanden))\b",
    re.I,
)
# A time said vaguely ("a few weeks ago", "every couple of months", "with us for a few weeks"): how many units the words
# allow, widened (x0.6 to x1.6) so that only a clear mismatch is refused
_VAGUE_COUNT = {"couple of": (1.5, 3.0), "few": (2.0, 5.0), "several": (3.0, 9.0)}
_VAGUE = r"(?:a\s+)?(couple\s+of|few|several)\s+(day|week|month|year)s"
_VAGUE_SAID = (
    ("the days since the last purchase", ("recency_days",), rf"\b{_VAGUE}\s+ago\b", True),
    ("the time between orders", ("avg_days_between_orders", "ipi_mean_days"), rf"\bevery\s+{_VAGUE}\b", False),
    ("the tenure", ("tenure_days",),
     rf"\b(?:with us|a customer|customer|shopping with us|buying from us|been around)\s+for\s+(?:only\s+|just\s+)?"
     rf"{_VAGUE}\b", False),
)  # fmt: skip
_NAMED_AGO = {"yesterday": (0, 2), "last week": (1, 14), "this week": (0, 7)}
_LAST_PURCHASE = re.compile(
    r"\b(?:last|latest|most recent)\b[^.;]{0,30}\b(?:order|purchase|one|bought|ordered|shopped)\b|"
    r"\b(?:bought|ordered|purchased|shopped)\b",
    re.I,
)


def _vague_time_reasons(text: str, f: Facts) -> list[str]:
    reasons = []
    for what, keys, pattern, needs_purchase in _VAGUE_SAID:
        days = figures_of(f, keys) + driver_values(f, keys)
        if not days:
            continue
        for clause in clauses(text):
            if needs_purchase and not _LAST_PURCHASE.search(clause):
                continue
            for m in re.finditer(pattern, clause, re.I):
                low, high = _VAGUE_COUNT[re.sub(r"\s+", " ", m.group(1).lower())]
                unit = _DAY_UNITS[m.group(2).lower()]
                if not any(0.6 * low * unit <= d <= 1.6 * high * unit for d in days):
                    reasons.append(f"\u201c{m.group(0)}\u201d is not {what} ({shown(days[:1], 'day')})")
    days = figures_of(f, ("recency_days",))
    for clause in clauses(text) if days else ():
        if _LAST_PURCHASE.search(clause):
            for words, (low, high) in _NAMED_AGO.items():
                if re.search(rf"\b{words}\b", clause, re.I) and not low <= days[0] <= high:
                    reasons.append(f"\u201c{words}\u201d: the last purchase was {days[0]:.0f} days ago")
    return reasons


def span_and_count_reasons(text: str, f: Facts) -> list[str]:
    reasons = _vague_time_reasons(text, f)
    text = _EVERY.sub(lambda m: f"every {m.group(1)} " + next(k for k in ("day", "week", "month") if m[k]) + "s", text)
    units = ("day", "week", "month", "year")
    text = _UNITS_ABROAD.sub(lambda m: f"{m.group(1)} " + next(k for k in units if m[k]) + "s", text)
    for what, facts_of, pattern in _SPANS:
        for m in re.finditer(pattern, text, re.I):
            if what == "the days since the last purchase" and _BECAME_CUSTOMER.search(text[: m.start()]):
                continue  # "became a customer 8 weeks ago", "se tornou cliente, h\u00e1 8 semanas": the tenure
            unit = next(g for g in m.groups() if g is not None and g.lower() in _DAY_UNITS).lower()
            x, allowed = _number(m), [d / _DAY_UNITS[unit] for d in facts_of(f)]
            if not allowed:
                continue  # a fact these facts do not carry (no tenure driver): left to the first look
            cmp = (m.groupdict().get("cmp") or "").lower()
            if cmp in ("more than", "over", "at least") or re.fullmatch(
                _MORE_ABROAD, cmp
            ):  # "a customer for more than a year": an inequality
                ok = any(a >= x * 0.95 for a in allowed)
            elif cmp in ("less than", "under"):
                ok = any(a <= x * 1.05 for a in allowed)
            else:
                ok = near(x, allowed + [a // 1 for a in allowed], APPROX.search(text[: m.start()]) is not None)
            if not ok:
                reasons.append(f"\u201c{m.group(0)}\u201d is not {what} ({shown(allowed, unit)})")
    for what, facts_of, pattern in _COUNTS:
        for m in re.finditer(pattern, text, re.I):
            x, allowed = _number(m), facts_of(f)
            if not allowed:
                continue
            # a count said with a decimal ("1.3 orders") is that precise; a whole one may be the count rounded or cut
            ok = (
                any(abs(x - a) < 0.1 for a in allowed)
                if x != round(x)
                else near(x, allowed + [a // 1 for a in allowed])
            )
            if not ok:
                reasons.append(f"\u201c{m.group(0)}\u201d is not {what} ({shown(allowed)})")
    return reasons


def shown(values: list[float], unit: str | None = None) -> str:
    if not values:
        return "the facts do not hold it"
    return "the facts say " + " or ".join(f"{v:,.1f}" for v in values[:2]) + (f" {unit}s" if unit else "")
