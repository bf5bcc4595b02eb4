"""Claims about what the customer did before the scoring that the fact check (``service.fact_check``) holds against
the facts: spend said to rise or fall, an amount said of the recent or the prior window (the two spends of the spend
trend, swapped: "$635.12 in the last 90 days versus $265.35 before" of a customer whose spend fell from $635.12), and
things said never to have happened ("no returns", "zonder retouren", "never left a review") when the facts hold
them."""

from __future__ import annotations

import re

from service.claim_numbers import MONEY, amount_of, clauses, near, normalise_numbers
from service.facts import Facts

_SPEND_WORD = re.compile(r"\b(?:spend\w*|spent|purchases|buying|ausgaben|ausgegeben|umsatz|d[e\u00e9]penses?|gasto\w*|"
                         r"spes[ae]|"
                         r"uitgaven)\b",
                         re.I)  # fmt: skip
_AGAINST = re.compile(r"\b(?:compared|than before|previous|prior|earlier|before|recent\w*|lately|vorher|seit|avant|"
                      r"zuletzt|zuvor|davor|j(?:\u00fc|ue|u)ngst\w*|"
                      r"antes|"
                      r"prima|period|periodo|p[e\u00e9]riode|zeitraum|periode|months|weeks|lately|precedente|ultimi|"
                      r"letzten|vorherig\w*|derniers|pr[e\u00e9]c[e\u00e9]dent\w*|[u\u00fa]ltimos|anterior\w*|laatste|"
                      r"vorige)\b", re.I)  # fmt: skip
# words that say a change over time by themselves ("spending is accelerating"), with no window named
_CHANGE = re.compile(r"\b(?:accelerat\w*|decelerat\w*|ramping up|ramped up|tailing off|tailed off|cooling off|"
                     r"cooled off|winding down|tapering off|tapered off)\b", re.I)  # fmt: skip
_UP = re.compile(r"\b(?:ris(?:e|es|en|ing)|rose|grow\w*|grew|increas\w*|picked up|picking up|up|higher|climb\w*|"
                 r"steig\w*|gestiegen|"
                 r"augment\w*|aument\w*|crec\w*|cresc\w*|accelerat\w*|ramp\w* up|speeding up|sped up|"
                 # "more than in the period before", in the languages the service reads
                 r"pi\u00f9 che nel|mehr als im|plus qu'(?:avant|au|lors)|m[a\u00e1]s que en|meer dan in|"
                 # German said with the verb between ("mehr ausgegeben als im", "ziehen zuletzt an", "nach oben")
                 r"mehr \w+ als|zieh\w* (?:\w+ ){0,2}an|nach oben|h(?:\u00f6|oe)her als|"
                 r"mais do que n[oa])\b", re.I)  # fmt: skip
_DOWN = re.compile(r"\b(?:drop\w*|fall\w*|fell|declin\w*|decreas\w*|down|lower|slow\w*|shr[ia]nk\w*|sink\w*|gesunken|"
                   r"baiss\w*|dismin\w*|cay\w*|decelerat\w*|tail\w* off|cool\w* off|winding down|taper\w* off|"
                   r"calo|in calo|calat\w*|r(?:\u00fc|u)ckl(?:\u00e4|a)ufig|gedaald|daalt|dalend|ca[i\u00ed]u|queda|"
                   r"meno che nel|weniger als im|moins qu'(?:avant|au|lors)|menos que en|minder dan in|"
                   r"weniger \w+ als|nach unten|unter (?:denen|dem|der)|niedriger als|"
                   r"menos do que n[oa])\b",
                   re.I)  # fmt: skip


def trend_reasons(unquoted: str, facts: Facts) -> list[str]:
    """Spend said to rise or fall must rise or fall from the prior window to the recent one (the facts' two spends)."""
    recent, prior = facts.figures.get("spend_recent"), facts.figures.get("spend_prior")
    if recent is None or prior is None:
        return []
    reasons = []
    # an aside in brackets ("im jüngsten Zeitraum (15,20 $) liegen unter ...") does not cut the claim in two
    for clause in clauses(re.sub(r"\([^()]*\)", " ", normalise_numbers(unquoted))):
        if not (_SPEND_WORD.search(clause) and (_AGAINST.search(clause) or _CHANGE.search(clause))):
            continue
        up, down = _UP.search(clause), _DOWN.search(clause)
        word = up or down
        if word is None or (up and down):
            continue
        said = "up" if up else "down"
        if (recent == prior == 0) or (said == "up" and recent < prior) or (said == "down" and recent > prior):
            reasons.append(
                f"says spend is {said} (\u201c{word.group(0)}\u201d), but it went from {prior:,.2f} to {recent:,.2f}"
            )
    return reasons


# The size of their orders said to change: the facts hold the average order, never how it moved ("their order sizes
# have been climbing steadily")
_ORDER_SIZE_TREND = re.compile(
    r"\b(?:order (?:sizes?|values?|amounts?)|basket (?:sizes?|values?)|average (?:order|basket)(?: (?:size|value))?|"
    r"aov|spend per order|(?:bestell|warenkorb)wert\w*|panier moyen|valor medio del pedido|valore medio dell'ordine)"
    r"\b[^.;,]{0,30}?\b(?:(?:ha(?:ve|s) been|are|is|keep|kept)\s+)?(?:ris(?:e|es|en|ing)|rose|grow\w*|grew|"
    r"increas\w*|climb\w*|drop\w*|fall\w*|fell|declin\w*|decreas\w*|shr[ia]nk\w*|trend\w* (?:up|down)|"
    r"steig\w*|gestiegen|gesunken|augment\w*|baiss\w*|aument\w*|crec\w*|cresc\w*|dismin\w*|cal\w*)\b",
    re.I,
)


def order_size_trend_reasons(unquoted: str) -> list[str]:
    """A trend in the size of their orders: no fact holds one."""
    m = _ORDER_SIZE_TREND.search(unquoted)
    return [f"says their order size changed (\u201c{m.group(0)}\u201d); the facts hold no trend of it"] if m else []


# the window an amount is said of, by the words just after it: the recent one ("$265.35 in the last 90 days") or the
# one before it ("$635.12 in the 90 days before", "in the previous 90 days")
_RECENT_WINDOW = re.compile(
    r"^\s*(?:of spend\w*\s+)?(?:in|over|during|across)\s+the\s+(?:last|past|latest|most recent)\s+\d+\s+days\b"
    r"(?!\s+(?:before|prior))|^\s*recently\b",
    re.I,
)
_PRIOR_WINDOW = re.compile(
    r"^\s*(?:of spend\w*\s+)?(?:in|over|during|across)\s+the\s+(?:(?:previous|prior|preceding|earlier)\s+\d+\s+days|"
    r"\d+\s+days\s+(?:before|prior|earlier|preceding)|(?:last|past)\s+\d+\s+days\s+before)\b|^\s*(?:before that|"
    r"previously|earlier)\b",
    re.I,
)


def window_reasons(text: str, facts: Facts) -> list[str]:
    """An amount said of the recent window must not be the prior window's spend, nor one said of the window before it
    the recent spend (the two swapped make a falling spend rise). ``text``: the narrative with number words as
    digits."""
    recent, prior = facts.figures.get("spend_recent"), facts.figures.get("spend_prior")
    if recent is None or prior is None or near(recent, [prior]):
        return []
    reasons = []
    for clause in clauses(text):
        for m in MONEY.finditer(clause):
            after, x = clause[m.end() : m.end() + 60], amount_of(m)
            if _RECENT_WINDOW.search(after) and near(x, [prior]) and not near(x, [recent]):
                reasons.append(
                    f"{m.group(0).strip()} is the spend of the window before; the recent one is {recent:,.2f}"
                )
            if _PRIOR_WINDOW.search(after) and near(x, [recent]) and not near(x, [prior]):
                reasons.append(f"{m.group(0).strip()} is the recent spend; the window before it is {prior:,.2f}")
    return reasons


# "none of them", in the languages the service reads; a qualifier ("no open returns", "no recent reviews") says
# something else, which the facts cannot confirm or deny
_NONE = (
    r"no|zero|without(?:\s+any)?|not\s+a\s+single|not\s+one|never\s+any|geen|zonder|keine?n?|ohne|aucune?|sans|pas\s+de|"
    r"sin|ningun[oa]?|nessun[oa]?|senza|sem|nenhum[a]?"
)
_QUALIFIED = (
    r"(?:(?:any|single|recorded|logged|past|previous|prior|earlier|real|aucune?|ningun[oa]?|nessun[oa]?|einzige\w*|"
    r"enkele)\s+)?"
)
# a window ("no returns in the last year") says something else
_NOT_A_WINDOW = r"(?!\s+(?:in|since|this|last|during|over|for|yet\s+(?:in|this)))"
_NO_RETURNS = re.compile(
    rf"\b(?:{_NONE})\s+{_QUALIFIED}(?:returns?|returned\s+(?:orders?|items?|purchases?)|cancell?ations?|"
    r"cancell?ed\s+orders?|retour\w*|terugzending\w*|annulering\w*|r(?:\u00fc|u|ue)cksendung\w*|r(?:\u00fc|u|ue)ckgabe\w*|"
    r"storn\w*|retours?|annulations?|devoluci\w*|cancelaci\w*|res[oi]|restituzion\w*|cancellazion\w*|annullament\w*|"
    rf"devolu\w*|cancelament\w*)\b{_NOT_A_WINDOW}|"
    r"\b(?:never|hasn't|has\s+not|haven't|have\s+not|didn't|did\s+not)\s+(?:\w+\s+)?(?:returned|cancell?ed|sent\s+back)\s+"
    r"(?:anything|an?\s+(?:single\s+)?(?:thing|order|item|purchase)|any\s+(?:orders?|items?|purchases?))\b|"
    r"\bnothing\s+(?:was\s+|has\s+been\s+)?(?:returned|cancell?ed|sent\s+back)\b|"
    r"\b(?:nooit|nie(?:mals)?|jamais|nunca|mai)\s+(?:\w+\s+){0,2}(?:geretourneerd|teruggestuurd|geannuleerd|"
    r"zur(?:\u00fc|u|ue)ckgeschickt|retourniert|storniert|retourn\w*|renvoy\w*|annul\w*|devuelto|devolvi\w*|devolveu|"
    r"restituit\w*|cancel\w*)",
    re.I,
)
_NO_REVIEWS = re.compile(
    rf"\b(?:{_NONE})\s+{_QUALIFIED}(?:reviews?|ratings?|bewertung\w*|rezension\w*|avis|rese\u00f1as?|resenas?|"
    rf"valoraci\w*|recensioni|recensione|beoordeling\w*|avalia\w*)\b{_NOT_A_WINDOW}|"
    r"\b(?:never|hasn't|has\s+not|haven't|have\s+not|didn't|did\s+not)\s+(?:\w+\s+)?(?:reviewed|rated|"
    r"(?:left|written|wrote|posted|given|submitted)\s+(?:a|any|us\s+a|us\s+any)\s+(?:\w+\s+)?(?:reviews?|ratings?))\b|"
    r"\b(?:nooit|nie(?:mals)?|jamais|nunca|mai)\s+(?:\w+\s+){0,3}(?:beoordeeld|bewertet|rezensiert|not\w*|"
    r"rese\u00f1\w*|valor\w*|recensit\w*|avali\w*)",
    re.I,
)


def returned_orders(facts: Facts) -> float | None:
    """The returned or cancelled orders the returns driver counts, or None when it is not among the drivers."""
    return next((d.value for d in facts.drivers if d.feature == "n_returned" and d.value is not None), None)


def none_reasons(unquoted: str, facts: Facts) -> list[str]:
    """'No returns' when a returns driver counts some, 'never left a review' when the facts hold reviews: something
    said never to have happened that did (a red team's Dutch 'zonder retouren of annuleringen' of a customer with a
    returned order had passed)."""
    returned = returned_orders(facts)
    reviews = sum(e.source.lower().startswith("review") for e in facts.evidence)
    reviews = max(reviews, int(facts.figures.get("review_count") or 0))
    reasons = []
    for clause in clauses(unquoted):
        m = _NO_RETURNS.search(clause)
        if m and returned:
            reasons.append(f"says \u201c{m.group(0)}\u201d, but they have {returned:g} returned or cancelled orders")
        m = _NO_REVIEWS.search(clause)
        if m and reviews:
            reasons.append(f"says \u201c{m.group(0)}\u201d, but the facts hold {reviews} of their reviews")
    return reasons
