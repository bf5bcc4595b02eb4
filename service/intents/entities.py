"""What a question names besides its intent: a tier (the route's ``tier``), a tier as a target to reach, a year."""

from __future__ import annotations

import re

_TIER_WORD = r"(VIP|High|Medium|Low)"
# Moving down into a tier: the tier they are in now, never one to reach ("why did she drop to Medium?").
_DEMOTED = (
    r"(?:dropped|drop|dropping|fell|fallen|falls?|slipped|slips?|slid|demoted|downgraded|relegated)\s+"
    r"(?:back\s+)?(?:down\s+)?(?:to|into)"
)


# The tier someone is in now, said as such: "is now Medium", "currently in High", "Medium now", "dropped to Low".
_CURRENT_TIER = re.compile(
    rf"\b(?:now|currently|nu|jetzt|maintenant|ahora|ora)\s+(?:in\s+|a\s+|an\s+|the\s+)?{_TIER_WORD}\b(?!\s*(?:risk|churn))|"
    rf"\b{_TIER_WORD}\s+(?:tier\s+|customer\s+)?(?:now|currently|atm|at the moment)\b|"
    rf"\b{_DEMOTED}\s+(?:the\s+)?{_TIER_WORD}\b",
    re.I,
)


_AMONG_THE_BEST = re.compile(
    r"\b(?:among|one of|with|join)\s+(?:our|the)\s+(?:very\s+)?(?:best|top|biggest)\s+"
    r"(?:customers|clients|accounts|spenders)\b",
    re.I,
)


def named_tier(question: str) -> str | None:
    """A tier the question names: VIP anywhere; High/Medium/Low capitalised, next to 'tier', after 'to/into/reach',
    or as what someone 'is' ("why is he low?"), but not 'high risk' / 'low churn'. A tier marked as the one they are in
    now wins over one they were in ("lost her VIP perks and is now Medium": Medium)."""
    now = _CURRENT_TIER.search(question)
    if now:
        word = next(g for g in now.groups() if g)
        return "VIP" if word.lower() == "vip" else word.capitalize()
    if re.search(r"\bVIP\b", question, re.I):
        return "VIP"
    if re.search(r"\b(?:top|highest|best)\s+(?:tier|segment|level|bucket)\b", question, re.I):
        return "VIP"
    if _AMONG_THE_BEST.search(question):  # "why isn't she counted among our best customers?"
        return "VIP"
    if re.search(r"\b(?:bottom|lowest)\s+(?:tier|segment|level|bucket)\b", question, re.I):
        return "Low"
    short = re.search(r"\b(hi|med|mid|lo)[\s-]*(?:tier|segment|level|bucket)\b", question, re.I)  # typed short
    if short:
        return {"hi": "High", "med": "Medium", "mid": "Medium", "lo": "Low"}[short.group(1).lower()]
    not_tier = r"(?!\s*(risk|churn|chance|probability|likelihood|odds|spend|value|engagement|activity|rating))"
    for pat in (
        rf"\b{_TIER_WORD}\b(?=[\s-]*(tier|value|segment|customer|stufe|level|niveau|nivel))",
        rf"\b(?:to|into|reach|become|the|in|zu|auf|en|au)\s+{_TIER_WORD}\b{not_tier}",
        r"\b(?:is|are|'s|ist|est|es|is)\s+(?:he|she|they|it|this customer|the customer|this one|er|sie|il|"
        r"elle|die kundin|der kunde|diese kundin|dieser kunde|le client|la cliente|el cliente|il cliente|de klant)?\s*"
        rf"(?:so\s+|a\s+|an\s+|in\s+|only\s+|just\s+|nur\s+|seulement\s+|solo\s+|maar\s+)?{_TIER_WORD}\b{not_tier}",
        # contractions typed without the apostrophe or with 're: "theyre only medium", "shes low", "they're High"
        r"\b(?:they['\u2019]?re|she['\u2019]?s|he['\u2019]?s)\s+(?:so\s+|a\s+|an\s+|in\s+|only\s+|just\s+|still\s+)?"
        rf"{_TIER_WORD}\b{not_tier}",
    ):
        m = re.search(pat, question, re.I)
        if m:
            return m.group(1).capitalize() if m.group(1).lower() != "vip" else "VIP"
    # a bare "why medium?", typed in a hurry
    m = re.match(rf"\s*why\s+(?:\w+\s+){{0,2}}?{_TIER_WORD}\s*[?.!]*\s*$", question, re.I)
    if m:
        return "VIP" if m.group(1).lower() == "vip" else m.group(1).capitalize()
    m = re.search(r"\b(High|Medium|Low)\b" + not_tier, question)  # capitalised as a tier name
    if m:
        return m.group(1)
    # a capitalised tier as their rating or status ("the rfm breakdown behind his Medium rating")
    m = re.search(
        r"\b(?:his|her|their|its)\s+(High|Medium|Low)\s+(?:rating|status|classification|label|score|band|grade)\b",
        question,
    )
    return m.group(1) if m else None


def tier_target(question: str) -> str | None:
    """The tier the question names as one to reach ("get him to VIP", "what does this Medium customer need to reach
    High" -> High), rather than the one someone is in; None when it names none."""
    question = re.sub(rf"\b{_DEMOTED}\s+(?:the\s+)?{_TIER_WORD}\b", " ", question, flags=re.I)
    found = (
        re.search(
            rf"\b(?:to|into|reach\w*|become|atteindre|alcanzar|raggiunger\w*|make (?:him|her|them|it)|hit|"
            rf"qualify for|make it to|sea|llegue a|llegar a|"
            rf"devien\w*|devenir|"
            rf"passe en|diventa\w*|diventi|word|zum|zur|"
            # moving over to a tier: "passare a High", "passer en VIP", "pasar a VIP", "aufsteigen zu", "naar"
            rf"passare a|passer \u00e0|passer a|pasar a|subir a|salire a|aufsteigen (?:zu|in)|naar)\s+"
            rf"(?:the\s+|a\s+|an\s+|un\s+|une\s+|el\s+|le\s+|la\s+)?"
            rf"{_TIER_WORD}\b",
            question,
            re.I,
        )
        # the verb after the tier: "VIP te worden", "om Medium te halen", "um High zu erreichen"
        or re.search(
            rf"\b{_TIER_WORD}\s+(?:te\s+|zu\s+)?(?:werden|wird|worden|wordt|halen|bereiken|erreichen|erreicht)\b",
            question,
            re.I,
        )
        # a tier they would be in after a change: "if she spends 200 more, will she be VIP?"
        or re.search(
            rf"\b(?:will|would|could|can|might)\s+(?:he|she|they|it|this customer)\s+(?:then\s+)?(?:be|make|get)\s+"
            rf"(?:a\s+|an\s+)?{_TIER_WORD}\b",
            question,
            re.I,
        )
        # what stands between them and a tier: "what's missing for VIP", "what is needed for High"
        or re.search(
            rf"\b(?:missing|needed|required|lacking|left)\s+(?:for|to get to|to reach)\s+(?:the\s+)?{_TIER_WORD}\b",
            question,
            re.I,
        )
        # the distance to a tier: "how far is he from High", "how close to VIP", "short of High"
        or re.search(
            rf"\b(?:far|away|close|closer|distance|short)\b[^?.!]{{0,25}}\b(?:from|to|of)\s+(?:the\s+)?{_TIER_WORD}\b",
            question,
            re.I,
        )
    )
    if found:
        word = found.group(1)
        return "VIP" if word.lower() == "vip" else word.capitalize()
    # the top tier named as a place to get into: "get her into the top tier"
    top = re.search(
        r"\b(?:to|into|reach\w*|make)\s+(?:\w+\s+)?(?:the\s+)?(?:top|highest|best)\s+(?:tier|segment|level)\b",
        question,
        re.I,
    )
    return "VIP" if top else None


def names_tier_target(question: str) -> bool:
    """Whether the question names a tier as one to reach ("get him to VIP", "make her a High") rather than the one
    someone is in."""
    return tier_target(question) is not None


def names_year(question: str) -> bool:
    """Whether the question names a year ("in 2024", "im Jahr 2024"): a period of the past."""
    return re.search(r"\b(?:19|20)\d\d\b", question) is not None
