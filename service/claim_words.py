"""Claims in words the fact check (``service.fact_check``) holds against the facts: the churn level ("low risk",
"likely to order again"), the rank ("top 5%", "one of our most valuable customers"), tier words other than the names
("premium", "entry-level"), a tier history, events the facts never hold ("we already sent her a voucher"), and the
playbook's incentives and contact rules."""

from __future__ import annotations

import re

from service.claim_bindings import TOP_ABROAD, TOP_OR_BOTTOM, event_of
from service.claim_history import returned_orders
from service.claim_numbers import FLOOR_WORDS, FORECAST_WORDS, PAST_SPEND_WORDS, SENTENCES, clauses
from service.facts import Facts
from service.tiers import SEGMENT_NAMES


def event_reasons(rest: str, facts: Facts) -> list[str]:
    """Events the facts never hold and details of the customer's life, unless the customer's own texts tell of them (a
    review's "we need a VAT invoice for our company" lets "for their company" through): every word of the claim but its
    pronouns and articles must be in one of their texts."""
    texts = [set(re.findall(r"\w+", e.text.lower())) for e in facts.evidence]
    for pattern, what in ((_EVENT, "an action or event"), (_PERSONAL, "a detail of the customer's life")):
        for m in pattern.finditer(rest):
            if _DENIED_BEFORE.search(rest[max(0, m.start() - 25) : m.start()]):
                continue  # "invite them if not already a member": said not to hold
            words = set(re.findall(r"\w+", m.group(0).lower())) - _GLUE
            if not any(words <= t for t in texts):
                return [f"states {what} the facts do not hold (\u201c{m.group(0)}\u201d)"]
    said = _RETURN_ABROAD.search(rest)
    if (
        said
        and not returned_orders(facts)
        and not _DENIED_BEFORE.search(rest[max(0, said.start() - 25) : said.start()])
    ):
        return [f"states a return the facts do not count (\u201c{said.group(0)}\u201d)"]
    return []


# A return said to have happened, in the other languages the service reads ("Im Fr\u00fchjahr gab es eine
# R\u00fccksendung"): refused when the facts count no returned order
_RETURN_ABROAD = re.compile(
    r"\b(?:gab es|hatte|hat)\s+(?:\w+\s+)?(?:eine|einen|zwei|mehrere)\s+(?:R(?:\u00fc|ue)cksendung|Retoure)\w*|"
    r"\b(?:a|avait)\s+(?:fait\s+|effectu[e\u00e9]\s+)?un\s+retour\b|\b(?:hizo|tuvo)\s+una\s+devoluci[o\u00f3]n\b|"
    r"\b(?:ha\s+fatto|c'[e\u00e8]\s+stato)\s+un\s+reso\b|\b(?:heeft|had)\s+(?:een\s+)?(?:retour|retourzending)\b|"
    r"\b(?:fez|teve)\s+uma\s+devolu[c\u00e7][a\u00e3]o\b",
    re.I,
)


_DENIED_BEFORE = re.compile(
    r"\b(?:not|never|no|isn't|aren't|wasn't|hasn't|haven't)\s+(?:yet\s+|already\s+)?(?:an?\s+)?$|"
    # an invitation, not a state: "invite them to become a loyalty member", "ask her to join as a rewards member"
    r"\b(?:become|becoming|join|joining|(?:sign|signing|signed) up as|enrol(?:l|ling|led)? as|to be)\s+(?:an?\s+)?$|"
    r"\b(?:offer|offering|invite|inviting|suggest|suggesting|propose|proposing|pitch|pitching)\s+"
    r"(?:(?:them|her|him)\s+)?(?:an?\s+|the\s+)?$",
    re.I,
)
_GLUE = frozenset(
    re.findall(
        r"\w+", "a an the her his their them its this that our my out was were has have had been is are for with"
    )
)
# The customer's life, which the facts never hold: what they run or do, their family, who they buy for
_PERSONAL = re.compile(
    r"\b(?:runs?|owns?|manages?|organi[sz]es?|leads?|coach(?:es)?|hosts?|teach(?:es)?)\s+(?:a|an|their|her|his|the)\s+"
    r"(?:\w+\s+){0,2}(?:club|group|team|business|company|shop|store|restaurant|caf[e\u00e9]|bakery|school|class|charity|"
    r"firm|practice|studio|salon|blog|channel|family)\b|"
    r"\b(?:her|his|their)\s+(?:husband|wife|partner|kids|children|sons?|daughters?|family|grandchildren|mother|father|"
    r"parents|colleagues|students|pupils|clients|employees|staff)\b|"
    r"\bfor\s+(?:the|a)\s+(?:group|club|office|school|class)\b|"
    r"\b(?:is|works as)\s+an?\s+(?:\w+\s+)?(?:teacher|nurse|student|doctor|developer|designer|chef|retiree|parent|"
    r"mother|father|mum|mom|dad|freelancer|collector|hobbyist|reseller|photographer|gardener|cyclist|runner)\b",
    re.I,
)
# Claims that support or a refund was settled: the facts hold the customer's words, never what we did
_RESOLVED = (
    r"\b(?:support|customer service|the team|we)\s+(?:\w+\s+)?(?:sorted|resolved|fixed|settled|handled|dealt with|"
    r"refunded|replaced)\b|"
    r"\b(?:sorted|resolved|fixed|settled|processed|handled|dealt with)\s+(?:out\s+)?"
    r"(?:the|her|his|their|its|this|that)\s+(?:refund|return|complaint|issue|problem|case|claim)\b|"
    r"\b(?:refund|return|complaint|issue|problem|case|claim)\s+(?:was|were|has been|had been|got)\s+(?:\w+\s+)?"
    r"(?:sorted|resolved|fixed|settled|processed|handled|issued|paid)\b|"
    r"\b(?:support|customer service|the team)\s+(?:was|were|has been)\s+(?:very\s+|really\s+)?(?:quick|fast|prompt|"
    r"helpful|responsive|great|excellent)\b|"
    r"\b(?:quickly|promptly)\s+(?:refunded|resolved|sorted|replaced|fixed)\b|"
    r"\b(?:we|support|customer service|the team|the shop|the store)\s+(?:have\s+|has\s+|had\s+)?(?:already\s+)?"
    r"(?:issued|processed|gave|granted|sent|offered|provided|arranged)\s+(?:them\s+|her\s+|him\s+)?(?:an?\s+)?"
    r"(?:full\s+|partial\s+|prompt\s+|quick\s+)?(?:refund|replacement|credit|voucher|coupon|discount|gift card|"
    r"exchange)\b"
)


# Events and actions the facts never hold: "we already sent her a voucher", "her refund has been resolved"
_EVENT = re.compile(
    _RESOLVED + r"|"
    r"\b(?:already|has been|have been|had been|was|were)\s+(?:\w+\s+)?(?:sent|refunded|resolved|contacted|called|"
    r"e-?mailed|issued|credited|closed|enrolled|compensated|promised|upgraded|downgraded)\b|"
    r"\b(?:already)\s+(?:a member|churned|left|gone|lost|ordered again)\b|"
    r"\basked (?:us )?to (?:be|close|stop|delete)\b|"
    # account states the facts never hold: marketing consent, open cases, memberships, flags
    r"\b(?:stopped|stops) (?:opening|reading|clicking)\b|\bopted (?:out|in)\b|\bunsubscribed\b|"
    r"\b(?:an? |her |his |their )?(?:open|pending|unresolved|ongoing) (?:complaint|return|ticket|case|dispute|claim|"
    r"request)\b|\bdo[- ]not[- ](?:contact|serve|sell|ship)\b|\b(?:is|are) (?:a |an )?(?:\w+ )?members? of\b|"
    r"\b(?:gold|silver|platinum|bronze|diamond) (?:member\w*|status|tier member)\b|\bblacklist\w*\b|"
    # flags and marks on the account ("flagged for chargeback fraud", "marked as do-not-serve") and how they want to
    # be reached ("asked that all contact now goes through WhatsApp")
    r"\bflagged\s+(?:as|for|by)\b|"
    # the same in the other languages ("het account staat gemarkeerd voor retourcontrole", "als ... markiert")
    r"\b(?:gemarkeerd|markiert|gekennzeichnet|signal[e\u00e9]|marqu[e\u00e9]|marcad[oa]|sinalizad[oa]|"
    r"segnalat[oa]|contrassegnat[oa])\s+(?:als|voor|f(?:\u00fc|u)r|wegen|comme|pour|como|por|para|per|come)\b|"
    r"\b(?:marked|tagged|listed|labell?ed)\s+as\s+(?:an?\s+)?(?:do[- ]not|fraud\w*|"
    r"risky|suspicious|blocked|banned|high[- ]risk|inactive|closed|vip[- ]only)\b|\bchargebacks?\b|\bfraud\w*\b|"
    r"\b(?:asked|requested|wants?|prefers?)\s+(?:us\s+)?(?:that|to be (?:contacted|reached|called)|contact|"
    r"all contact)\b|"
    r"\bwish ?list\w*|\bsaved (?:it |them |\w+ )?for later\b|"  # a wishlist: the facts hold views, searches, cart adds
    # deliveries and promotions the facts do not hold ("I hope the protein bars arrived", "made good use of our promo
    # codes")
    r"\b(?:arrived|(?:was|were|got|has been|have been) delivered|"
    r"(?:received|got) (?:the|her|his|their) (?:order|parcel|package|delivery|shipment))\b|"
    r"\b(?:used|redeemed|applied|use of)\s+(?:(?:our|the|a|an|past|previous|several|many|some|\w+)\s+){0,3}?"
    r"(?:promo\w*|discount|coupon|voucher)\s*(?:codes?|offers?|vouchers?)?\b|"
    r"\b(?:via|through|on|by|over)\s+(?:WhatsApp|SMS|Telegram|Signal|Messenger|text messages?|iMessage)\b|"
    # contacts, returns, refunds and memberships: the facts hold orders, reviews and browsing only
    r"\b(?:called|phoned|rang|emailed|e-mailed|contacted|wrote to|chatted with)\s+(?:our\s+|the\s+)?(?:support|"
    r"customer service|help ?desk|hotline|us)\b|"
    # the same in the other languages the service reads ("Il a appel\u00e9 le service client", "hat den Kundenservice
    # angerufen", "llam\u00f3 al servicio al cliente")
    r"\b(?:a appel\w*|a contact\w*|llam\u00f3|contact\u00f3|ha chiamato|ha contattato|belde|ligou|entrou em contato)"
    r"(?:\W+\w+){0,2}?\W+(?:service client\w*|support|atenci\u00f3n al cliente|servicio al cliente|soporte|"
    r"servizio clienti|assistenza|klantenservice|atendimento|suporte)\b|"
    r"\b(?:kundenservice|kundendienst|support|klantenservice)\W+(?:\w+\W+){0,2}?(?:angerufen|kontaktiert|"
    r"angeschrieben|gebeld|gecontacteerd|gemaild)\b|"
    r"\b(?:returned|sent back)\s+(?:it|them|the\s+\w+(?:\s+\w+)?|her\s+\w+|his\s+\w+|their\s+\w+)\b|"
    r"\b(?:started|initiated|opened|requested|filed|made)\s+an?\s+(?:return|refund|complaint|claim)\b|"
    r"\brefund\s+(?:has|had)\s+(?:since\s+|already\s+)?been\s+(?:issued|paid|processed|sent|made)\b|"
    r"\b(?:got|received)\s+(?:her|his|their|the)\s+refund\b|"
    r"\b(?:existing|current|already\s+an?)\s+(?:loyalty|rewards?|vip)\s+(?:programme|program|club|scheme)?\s*"
    r"members?\b|"
    # "as a long-standing loyalty-programme member"; "invite them if not a loyalty member" is denied before it
    r"\b(?:loyalty|rewards?)[- ](?:programme[- ]|program[- ]|club[- ]|scheme[- ])?members?(?:hip)?\b|"
    r"\b(?:in|on|part of)\s+(?:the|our)\s+(?:loyalty|rewards?)\s+(?:programme|program|club|scheme)\s+"
    r"already\b|"
    r"\b(?:runs?|owns?|has)\s+(?:a|an|their\s+own|her\s+own|his\s+own)\s+(?:small\s+|own\s+)?(?:business|company|"
    r"shop|firm)\b|\b(?:lives?|based|living)\s+in\s+(?-i:[A-Z][a-z]+)\b",
    re.I,
)


_NOT_NEEDED = re.compile(
    r"\W+(?:\w+\W+){0,2}?(?:(?:not|nicht|pas|no|non|niet|n[a\u00e3]o)\s+(?:\w+\s+)?(?:needed|necessary|required|"
    r"recommended|n(?:\u00f6|oe)tig|erforderlich|empfohlen|n[e\u00e9]cessaire|necesario|necessario|nodig|necess[a\u00e1]rio)|"
    r"unnecessary|not needed|(?:\u00fc|ue)berfl(?:\u00fc|ue)ssig|inutile|innecesario|superfluo|overbodig|"
    r"desnecess[a\u00e1]rio)\b",
    re.I,
)


def playbook_reasons(rest: str, facts: Facts) -> list[str]:
    """The next action is the playbook's: no incentive it does not give, no personal contact it rules out (``rest``:
    the narrative without the playbook's own action)."""
    playbook = (facts.next_action or "").lower()
    reasons = []
    incentive = next(
        (
            m
            for m in re.finditer(
                r"\b(discount|voucher|coupon|\d+\s?% off|free shipping|free delivery|gift card|store credit|free gift|"
                r"(?:double|bonus|extra) (?:loyalty )?points|loyalty points|cashback|cash back|free sample|"
                r"store[- ]credit|credit note|top[- ]up|goodwill (?:gesture|credit|payment)|compensation|"
                # other languages: "10 % Rabatt", "un bon de réduction", "un cupón", "uno sconto", "korting"
                r"rabatt\w*|gutschein\w*|remise|r[e\u00e9]duction|bon d'achat|descuento|cup[o\u00f3]n|sconto|"
                r"buono sconto|"
                r"korting\w*|waardebon|desconto|cupom|frete gr[a\u00e1]tis|livraison gratuite|env[i\u00ed]o gratis|"
                r"versandkostenfrei|spedizione gratuita|gratis verzending)\b",
                rest,
                re.I,
            )
            if not re.search(
                r"\b(no|without|not|never|nor|don't|doesn't|kein\w*|ohne|sans|pas|aucun\w*|sin|ning[u\u00fa]n\w*|senza|"
                r"nessun\w*|geen|zonder|sem|nenhum\w*|n[a\u00e3]o)\W+(?:\w+\W+){0,4}$",
                rest[: m.start()],
                re.I,
            )
            # ... or denied after it: "ein Rabatt ist nicht n\u00f6tig", "a discount is not needed"
            and not _NOT_NEEDED.match(rest[m.end() : m.end() + 40])
        ),
        None,
    )
    gives = re.search(r"\b(offer|give|send)\b[^.]{0,40}\b(discount|voucher|coupon|off|free shipping)\b", playbook)
    if incentive and (not gives or "no discount" in playbook):
        reasons.append(f"offers an incentive (\u201c{incentive.group(0)}\u201d) the playbook does not give")
    contact = next(
        (
            m
            for m in _PERSONAL_CONTACT.finditer(rest)
            if not _CONTACT_DENIED.search(rest[max(0, m.start() - 20) : m.start()])
        ),
        None,
    )
    if contact and re.search(r"no personal contact|automated", playbook):
        reasons.append(f"suggests personal contact (\u201c{contact.group(0)}\u201d) where the playbook rules it out")
    return reasons


# Personal contact suggested: a call or visit to the customer (by pronoun, as "the customer" or by id), an agent or
# account manager on it, and the same in the other languages the service reads ("anrufen", "appeler", "llamarle")
_PERSONAL_CONTACT = re.compile(
    r"\b(?:call|phone|ring|visit|contact) (?:her|him|them|the customer|the client|this customer|(?-i:[A-Z]+\d+))\b|"
    r"\bgive (?:her|him|them) a (?:\w+ )?(?:call|ring)\b|\bpersonally\b|\bpersonal (?:call|contact)\b|"
    r"\bby (?:phone|telephone)\b|\bphone call\b|\breach out\b|\bget in touch\b|\ban agent\b|\baccount manager\b|"
    r"\banrufen\b|\bappeler\b|\bt[e\u00e9]l[e\u00e9]phoner\b|\bllamar(?:le|la|lo|les)?\b|\bchiamar(?:e|lo|la|li)\b|"
    r"\b(?:op)?bellen\b|\bligar(?:-lhe)?\b",
    re.I,
)


# "High value" said of the customer ("a high-value customer", "is high value"), not of what they bought ("at a high
# value", "high-value orders")
_HIGH_VALUE = re.compile(
    r"(?<!\bat a )(?<!\bof )\bhigh[- ]value\b(?! (?:orders?|purchases?|items?|baskets?|products?))", re.I
)


# ... said not to be done ("no need to phone them", "bitte nicht anrufen")
_CONTACT_DENIED = re.compile(
    r"\b(?:don't|do not|never|no|not|rather than|instead of|without|nicht|kein\w*|pas|ne|non|niet|n[a\u00e3]o|nunca|"
    r"jamais|mai)\s+(?:\w+\s+){0,2}$",
    re.I,
)


# A tier history the facts do not hold ("downgraded from VIP", "has dropped to High", "used to be VIP").
_TIER_HISTORY = re.compile(
    r"\b(?:downgraded|upgraded|dropped|fell|fallen|slipped|slid|promoted|demoted|relegated|used to be|was once|"
    r"was previously|moved (?:up|down))\b[^.;\n]{0,30}?\b(?:VIP|High|Medium|Low)\b",
    re.I,
)


# Tier words other than the names: what each claims
_TIER_SYNONYMS = {
    "VIP": r"top[- ]tier|premium\w*|elite|platinum|best customers?",
    "Medium": r"mid[- ]?tier|middle[- ]tier|mid[- ]level|mid[- ]range",
    "Low": r"entry[- ]level|bottom[- ]tier|low[- ]value|lowest[- ]tier|(?:geringe|niedrige)[mnrs]? wert\w*|"
    r"faible valeur|(?:de )?bajo valor|basso valore",
}


# The season's effect given a reason of the customer's own ("the time-of-year factor reflects the fact that this
# customer only shops in the summer", "komt doordat het caf\u00e9 van deze klant in januari gesloten is"): the season
# features are the date of scoring, the same for everyone, and the facts hold no reason of the customer's for them
_SEASON_REASON = re.compile(
    r"\b(?:time[- ]of[- ](?:the[- ])?year|season\w*|seasonality|tijd van het jaar|seizoen\w*|jahreszeit\w*|saison\w*|"
    r"temporada|estaci[o\u00f3]n|stagion\w*|[e\u00e9]poca do ano|[e\u00e9]poca del a[n\u00f1]o|periodo dell'anno)\b"
    r"(?:[^.;]|(?<=\d)\.(?=\d)){0,60}?\b(?:because|since|due to|reflects?|means that|shows that|as (?:she|he|they)|"
    r"doordat|omdat|weil|"
    r"da (?:sie|er)|parce qu|car |porque|perch[e\u00e9]|poich[e\u00e9]|dado que|pois)\b[^.;]{0,80}?\b(?:she|he|they|"
    r"her|his|their|this customer|the customer|deze klant|de klant|die kundin|der kunde|ihr|sein|le client|la cliente|"
    r"el cliente|il cliente|o cliente|a cliente|zij|hij)\b",
    re.I,
)


def season_reason_reasons(unquoted: str) -> list[str]:
    m = _SEASON_REASON.search(unquoted)
    if m is None:
        return []
    return [f"gives the season's effect a reason of the customer's own (\u201c{m.group(0)[:80]}\u201d); it is the "
            "date of scoring, the same for everyone"]  # fmt: skip


def tier_history_reasons(unquoted: str) -> list[str]:
    m = _TIER_HISTORY.search(unquoted)
    return [f"claims a tier history (\u201c{m.group(0)[:60]}\u201d); the facts hold only the current tier"] if m else []


def rank_reasons(unquoted: str, facts: Facts) -> list[str]:
    """'top 5%' and 'bottom 10%' must hold for the customer's rank; tier words other than the names must fit the
    tier."""
    reasons = []
    top = 100 - facts.value_rank_pct
    said = [(m.group(1).lower(), m.group(2), m) for m in TOP_OR_BOTTOM.finditer(unquoted)]
    said += [
        ("top" if m["top"] or m["top2"] else "bottom", m["n"] or m["n2"], m) for m in TOP_ABROAD.finditer(unquoted)
    ]
    for word, n, m in said:
        x = float(n)
        holds = top <= x + 0.5 if word in ("top", "best") else facts.value_rank_pct <= x + 0.5
        if not holds:
            reasons.append(
                f"says {word} {n}% (\u201c{m.group(0)}\u201d), but the customer ranks above "
                f"{facts.value_rank_pct:.1f}% of customers"
            )
    for tier, pattern in _TIER_SYNONYMS.items():
        found = re.search(rf"\b(?:{pattern})\b", unquoted, re.I)
        if tier != facts.tier and found:
            reasons.append(f"calls the customer {tier}-like (\u201c{found.group(0)}\u201d) but they are {facts.tier}")
    if facts.tier in ("Medium", "Low") and _HIGH_VALUE.search(unquoted):
        reasons.append(f"calls the customer high-value but they are {facts.tier}")
    return reasons + _rank_word_reasons(unquoted, facts)


_FRACTIONS = {"half": 50.0, "third": 33.4, "quarter": 25.0, "fifth": 20.0, "tenth": 10.0}
_TIERS = ("Low", "Medium", "High", "VIP")


def _rank_word_reasons(unquoted: str, facts: Facts) -> list[str]:
    """The rank said without a percentage: 'the top tenth', 'above the median', 'our number one customer', 'one of
    our most valuable customers', 'higher than most VIP customers'."""
    rank, top, reasons = facts.value_rank_pct, 100 - facts.value_rank_pct, []
    for m in re.finditer(rf"\b(top|bottom)\s+({'|'.join(_FRACTIONS)})\b", unquoted, re.I):
        share = _FRACTIONS[m.group(2).lower()]
        if not (top <= share + 0.5 if m.group(1).lower() == "top" else rank <= share + 0.5):
            reasons.append(f"says {m.group(0)}, but the customer ranks above {rank:.1f}% of customers")
    median = re.search(r"\b(above|below|higher than|lower than|over|under)\s+(?:the\s+)?(?:median|typical|average)\b",
                       unquoted, re.I)  # fmt: skip
    if median and (rank > 50) != (median.group(1).lower() in ("above", "higher than", "over")):
        reasons.append(f"says {median.group(0)}, but the customer ranks above {rank:.1f}% of customers")
    one = re.search(r"(?<!\w)#1\b|\b(?:number one|single (?:best|biggest)|"
                    r"our (?:very )?(?:best|biggest|top) (?:customer|"
                    r"client|spender)\b|top \d+ (?:customers|clients|spenders|accounts))", unquoted, re.I)  # fmt: skip
    if one:
        reasons.append(f"says {one.group(0)}: the facts give a rank among all customers ({rank:.1f}%), not a place")
    most = re.search(
        r"\b(?:one of )?our (?:most valuable|best|biggest|top) (?:customers|clients|spenders)\b", unquoted, re.I
    )
    if most and facts.tier != "VIP":
        reasons.append(f"says {most.group(0)}, but the customer is {facts.tier}")
    for m in re.finditer(r"\b(?:higher|more|bigger|larger|greater)\s+than\s+"
                         r"(?:most|many|all|the average|typical|other)\s+"
                         r"(VIP|High|Medium)[- ](?:tier\s+)?(?:customers|clients)", unquoted, re.I):  # fmt: skip
        named = "VIP" if m.group(1).lower() == "vip" else m.group(1).capitalize()
        if _TIERS.index(named) > _TIERS.index(facts.tier):
            reasons.append(f"says {m.group(0)}, but the customer is {facts.tier}, below every {named} customer")
    return reasons


# Claims about the chance of buying again, by the band they state
_CHURN_HIGH = re.compile(
    r"\b(?:high|elevated|serious|significant|considerable)\s+(?:churn\s+)?risk\b|"
    r"(?<!un)\b(?:likely|about|certain|sure|going|set|poised)\s+to\s+(?:churn|leave|lapse|stop\s+(?:buying|ordering|shopping)|"
    r"walk\s+away|quit|drop\s+off)\b|\bat\s+(?:high\s+|serious\s+|real\s+)?risk\b(?!\s+of\s+nothing)|"
    r"\bchurn\s+risk\W+(?:is\s+)?(?:a\s+|very\s+)?(?:high|elevated)\b|\balready\s+(?:churned|gone|lost)\b|\brisque\s+de\s+d[ée]part\s+[ée]lev[ée]\b|"
    # said in other words, and in the other languages the service reads
    r"\bslipping\s+away\b|\bdrifting\s+away\b|\bflight\s+risk\b|\bon\s+(?:her|his|their)\s+way\s+out\b|"
    r"\bwon'?t\s+be\s+back\b|\bnot\s+(?:be\s+)?coming\s+back\b|"
    r"\b(?:wird|werden)\s+uns\s+(?:\w+\s+){0,2}verlassen\b|\bhohes?\s+(?:abwanderungs)?risiko\b|"
    r"\bprobable\s+que\s+nos\s+(?:deje|abandone)\b|\briesgo\s+(?:de\s+\w+\s+)?alto\b|"
    r"\brisque\s+(?:de\s+d[ée]part\s+)?(?:[ée]lev[ée]|fort)\b|\bva\s+nous\s+quitter\b|"
    r"\bone\s+foot\s+out\s+the\s+door\b|\bon\s+the\s+way\s+out\b|\babout\s+to\s+walk\b|\bhanging\s+by\s+a\s+thread\b",
    re.I,
)
_CHURN_LOW = re.compile(
    r"\b(?:low|minimal|negligible|little|no|small|tiny)\s+(?:churn\s+)?risk\b|"
    r"\bunlikely\s+to\s+(?:churn|leave|lapse|stop|walk\s+away|quit|drop\s+off)\b|"
    r"\b(?:likely|certain|sure|expected|bound)\s+to\s+(?:buy|order|shop|purchase|come\s+back|return|stay)\b|"
    r"\bchurn\s+risk\W+(?:is\s+)?(?:a\s+|an\s+|very\s+)?(?:low|minimal|negligible)\b|\bnot\s+(?:at\s+risk|likely\s+to\s+(?:churn|leave))\b|"
    r"\bwill\s+(?:certainly|surely|definitely)\s+(?:buy|order|come\s+back)\b|"
    r"\b(?:almost|very|most)\s+(?:surely|certainly|probably|likely)\s+(?:\w+\s+)?(?:buy|order|shop|come\s+back|return)\b|"
    r"\bno\s+need\s+to\s+worry\b|\bnothing\s+to\s+worry\b|\b(?:retention|she|he|they)\s+(?:looks?|is|are|seems?)\s+"
    r"(?:very\s+)?safe\b|\bmodest\s+(?:churn\s+)?risk\b|\bchurn\s+risk\W+(?:is\s+)?(?:modest|small|slight)\b|"
    r"\b(?:abwanderungsrisiko|risiko)\s+ist\s+(?:sehr\s+)?(?:gering|niedrig|klein)\b|\bgeringes\s+(?:abwanderungs)?risiko\b|"
    r"\brisque\s+(?:de\s+d[ée]part\s+)?(?:faible|bas)\b|\bfaible\s+risque\b|"
    r"\bprobable\s+que\s+(?:vuelva\s+a\s+comprar|compre|repita)\b|\briesgo\s+(?:de\s+\w+\s+)?bajo\b|"
    r"\brischio\s+(?:di\s+\w+\s+)?basso\b|\blaag\s+risico\b|"
    # idioms of a customer who stays
    r"\brock[- ]solid\b|\bnot\s+going\s+anywhere\b|\bgoing\s+nowhere\b|\bsafe\s+bet\b|\blocked\s+in\b|"
    r"\b(?:very\s+|highly\s+)?unlikely\s+to\s+(?:drift|slip|go)\s+away\b|\bhere\s+to\s+stay\b",
    re.I,
)


def segment_reasons(unquoted: str, facts: Facts) -> list[str]:
    """The RFM segment named as the customer's must be theirs, and the facts hold no segment history."""
    reasons = []
    for sentence in SENTENCES.split(unquoted):
        if not re.search(r"\bsegment\b|\bRFM\b", sentence, re.I):
            continue
        for name in SEGMENT_NAMES:
            m = re.search(rf"\b{re.escape(name)}\b", sentence, re.I if name != "Lost" else 0)
            if m is None or name == facts.rfm_segment:
                continue
            if re.search(
                r"\b(?:previously|formerly|used to be|was|were|from)\W+(?:\w+\W+){0,2}$", sentence[: m.start()], re.I
            ):
                reasons.append(
                    f"states a segment history (\u201c{name}\u201d); the facts hold only the current segment"
                )
            elif not re.search(
                r"\b(?:not|unlike|rather than|instead of|than)\W+(?:\w+\W+){0,2}$", sentence[: m.start()], re.I
            ):
                reasons.append(f"names the segment {name}, but the customer's is {facts.rfm_segment}")
    return reasons


_RISK_WORD = re.compile(r"\b\w*(?:risk|risiko|risque|riesgo|rischio|risico|risco|danger|gefahr)\w*|"
                        r"\b(?:chance|odds|probability|"
                        r"likelihood|wahrscheinlichkeit|probabilit\w*)\b", re.I)  # fmt: skip
_LEVELS = {
    "low": r"low|lower|small|slim|little|minimal|negligible|tiny|remote|gering\w*|niedrig\w*|faible|bas|basse|"
    r"basso|bassa|"
    r"bajo|baja|baix[oa]|laag|klein\w*",
    "medium": r"moderate|moderately|medium|middling|even|average|mittler\w*|moyen\w*|moderad[oa]|moderat[oa]|gemiddeld|"
    r"medi[oa]|m[e\u00e9]di[oa]|mittel",
    "high": r"high|higher|strong|good|great|serious|significant|considerable|elevated|hoch|hohe\w*|"
    r"[e\u00e9]lev[e\u00e9]e?|"
    r"alt[oa]|elevad[oa]|fort|forte|hoog",
}
_LEVEL = re.compile(r"\b(?:" + "|".join(f"(?P<{k}>{v})" for k, v in _LEVELS.items()) + r")\b", re.I)
_FLIP = {"low": "high", "high": "low", "medium": "medium"}


# A tier ("Low tier") and the RFM segment "At risk" name no churn level: "Low tier, At risk segment" had read as a low
# churn risk.
_NO_CHURN_LEVEL = re.compile(
    r"\b(?:vip|high|medium|low)[- ](?:tier|customers?|value)\b|\b(?:rfm\W+)?segment\W+at[- ]risk\b|"
    r"\bat[- ]risk\W+(?:rfm\W+)?segment\b",
    re.I,
)


_CHURN_RISK = re.compile(
    r"(?:churn|attrition|lapse|abwanderung|k(?:\u00fc|ue)ndigung|d[e\u00e9]part|d[e\u00e9]sabonnement|abandono|"
    r"abbandono|verloop|perda)\w*\W*(?:risk|risiko|risque|riesgo|rischio|risico|risco)|"
    r"(?:risk|risque|riesgo|rischio|risico|risco)\w*\W+(?:of|de|di|van)\W+(?:churn|d[e\u00e9]part|abandono|abbandono|"
    r"perda)",
    re.I,
)


_CHURN_LABEL = re.compile(
    r"\b(?:churn|attrition|abwanderung|abandono|abbandono|d[e\u00e9]part)\w*(?:\s+(?:risk|risiko|risque|riesgo|rischio|"
    r"risico|risco|band|level))?\s*[:=\-\u2013]?\s*$",
    re.I,
)


def churn_level_reasons(unquoted: str, facts: Facts) -> list[str]:
    """A level (low, moderate, high; in the languages the service reads) said of a risk or chance must be the churn
    band, turned over when the chance is of buying ("a high chance she buys again" is a low churn risk)."""
    band, reasons = facts.churn_band, []
    if band not in ("low", "medium", "high"):
        return []
    for clause in clauses(unquoted):
        clause = _NO_CHURN_LEVEL.sub(" ", clause)
        risk = _RISK_WORD.search(clause)
        if risk is None:
            continue
        levels = [m for m in _LEVEL.finditer(clause) if abs(m.start() - risk.start()) <= 60]
        if not levels:
            continue
        level_m = min(levels, key=lambda m: abs(m.start() - risk.start()))
        # a denial of the level itself ("not high"), not of the event ("de ne pas racheter")
        if re.search(
            r"\b(?:not|no|isn't|never|nicht|kein\w*|pas|no es|non)\W+(?:\w+\W+)?$", clause[: level_m.start()], re.I
        ):
            continue
        level = next(k for k, v in level_m.groupdict().items() if v)
        # a risk named as the risk of leaving ("Abwanderungsrisiko", "churn risk") is of no purchase, whatever purchase
        # the clause names before it ("Bisher ein Kauf über 14,07 $, Abwanderungsrisiko hoch")
        named = clause[max(0, risk.start() - 16) : risk.end()]
        # ... or the level labelled as churn's ("Churn: high, ~2.4% chance of a purchase")
        churn_risk = _CHURN_RISK.search(named) is not None or _CHURN_LABEL.search(clause[: level_m.start()]) is not None
        event = "no purchase" if churn_risk else event_of(clause, risk.end(), risk.start())
        if event is None and re.search(r"risk|risiko|risque|riesgo|rischio|risico|danger|gefahr", risk.group(0), re.I):
            event = "no purchase"  # a risk is of losing the customer
        if event is None:
            continue
        stated = level if event == "no purchase" else _FLIP[level]
        if stated != band:
            reasons.append(f"says \u201c{clause.strip()[:80]}\u201d, but the churn risk is {band}")
    return reasons


_BELOW = (
    r"below|under|short of|misses|missed|unter|unterhalb|por debajo del?|en dessous d[ue]|au-dessous d[ue]|sotto|"
    r"al di sotto d\w*|onder"
)
_LINE = rf"(?:{FLOOR_WORDS}|bar|mark|line)"
_TIER_LINE = rf"(?:{_LINE}|point|level)"
# A tier's line said crossed or not: "clears the VIP threshold", "just above the line where Medium starts", "sotto la
# soglia Medium", "over the threshold for High"
_CLEARS = re.compile(
    r"\b(?P<verb>clears?|cleared|cross(?:es|ed)?|above|over|exceeds?|exceeded|pass(?:es|ed)?|meets?|met|reach(?:es|ed)?|"
    rf"beyond|\u00fcber|oberhalb|por encima del?|au-dessus d[ue]|sopra|al di sopra d\w*|boven|{_BELOW})\s+"
    r"(?:(?:the|that|this|their|der|die|dem|den|el|la|le|il|het|de)\s+)?"
    rf"(?:(?P<t1>VIP|High|Medium)(?:'s)?[- ](?:tier\s+)?{_LINE}\b|"
    rf"{_TIER_LINE}\s+(?:(?:for|of|de|del|di|della|du|von|van|f\u00fcr)\s+)?(?:the\s+)?(?P<t2>VIP|High|Medium)\b"
    r"(?!\s+(?:customers?|clients?))|"
    rf"(?:{_TIER_LINE}\s+)?where\s+(?:the\s+)?(?P<t3>VIP|High|Medium)(?:\s+tier)?\s+(?:starts|begins|kicks in))",
    re.I,
)
_PAST_NOT_FORECAST = re.compile(rf"\b(?:{PAST_SPEND_WORDS}|past spend)\b", re.I)


def threshold_reasons(unquoted: str, facts: Facts) -> list[str]:
    """'The forecast clears the VIP threshold' must hold for the forecast and that tier's floor."""
    reasons = []
    for clause in clauses(unquoted):
        for m in _CLEARS.finditer(clause):
            before = clause[: m.start()]
            if _PAST_NOT_FORECAST.search(before) and not _FORECAST.search(before):
                continue  # the spend so far said to clear a line: not the forecast
            reasons += _line_reasons(m, facts)
    return reasons


_FORECAST = re.compile(rf"\b(?:{FORECAST_WORDS}|model\w*|mod[e\u00e8]le|next \d+ days)\b", re.I)


def _line_reasons(m: re.Match, facts: Facts) -> list[str]:
    tier = m["t1"] or m["t2"] or m["t3"]
    name = "VIP" if tier.lower() == "vip" else tier.capitalize()
    floor = facts.figures.get(f"floor_{name}")
    above = re.fullmatch(_BELOW, m["verb"], re.I) is None
    if floor is None or above == (facts.predicted_value >= floor):
        return []
    return [f"says the forecast {m.group(0)}, but it is {facts.predicted_value:,.2f} against {floor:,.2f}"]


def _denied(sentence: str, at: int) -> bool:
    return re.search(r"\b(?:not|no|isn't|aren't|never|hardly)\W+(?:\w+\W+){0,2}$", sentence[:at], re.I) is not None


def churn_reasons(unquoted: str, facts: Facts) -> list[str]:
    """A stated churn level must fit the customer's churn band: 'low risk' of a medium- or high-risk customer, or
    'high risk' of a low-risk one, is false; so is any certainty between 2% and 98%, and a churn that already
    happened."""
    p, band, reasons = facts.churn_probability, facts.churn_band, []
    # the band the scoring run gave (relative to the scored population), else fixed cut points
    high_is_false = band == "low" if band else p < 0.3
    low_is_false = band in ("medium", "high") if band else p > 0.5
    for sentence in SENTENCES.split(unquoted):
        high, low = _CHURN_HIGH.search(sentence), _CHURN_LOW.search(sentence)
        # both in one sentence ("her risk is high, but she is likely to order again"): the false one still counts,
        # unless it is denied ("not at high risk")
        high = high if high and not (low and _denied(sentence, high.start())) else None
        low = low if low and not (high and _denied(sentence, low.start())) else None
        if band == "medium" and high and re.search(r"\bhigh\b", high.group(0), re.I):
            reasons.append(f"says the churn risk is high (\u201c{high.group(0)}\u201d) but it is medium ({p:.0%})")
        if high and high_is_false:
            reasons.append(
                f"says the churn risk is high (\u201c{high.group(0)}\u201d) but it is {band or 'low'} ({p:.0%} chance "
                "of no purchase)"
            )
        if low and low_is_false:
            reasons.append(
                f"says the churn risk is low (\u201c{low.group(0)}\u201d) but it is {band or 'not low'} ({p:.0%} "
                "chance of no purchase)"
            )
        if re.search(r"\b(?:already|has)\s+(?:churned|left us|gone|been lost)\b", sentence, re.I):
            reasons.append(
                "says the customer has already churned; the facts give a chance of no purchase, not an event"
            )
        sure = re.search(r"\b(?:certain|certainly|definitely|guaranteed|sure)\b", sentence, re.I)
        if sure and (high or low) and 0.02 < p < 0.98:
            reasons.append(f"states a certainty (\u201c{sure.group(0)}\u201d) of a {p:.0%} chance")
    return reasons
