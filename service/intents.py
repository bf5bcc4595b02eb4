"""What a CRM agent's question asks: routed by meaning, with rules only as guards.

Three layers, cheapest first:

1. **Guards** (rules, several languages): instructions aimed at the service ("ignore your instructions",
   "print the system prompt") are refused; questions for contact data get the contact refusal. These
   never reach the scorer, so no wording can talk its way past them.
2. **Lexical evidence**: every intent has weighted word stems and phrases in English, German, French,
   Spanish, Dutch and Italian (synonyms, inflections by prefix, accents folded, one-letter typos
   forgiven on longer words). This is what carries the non-English questions: the bundled encoder
   is an English model.
3. **Meaning**: the sentence encoder the product ships (all-MiniLM-L6-v2) embeds the question and a set
   of example questions per intent (``EXAMPLES``); the best cosine per intent, above a floor, adds to
   the intent's score. This carries paraphrases no stem list foresees ("is this account slipping away").

The intent with the highest combined score wins if it clears ``THRESHOLD``; below it the question is
refused with suggestions, never guessed. A question with two parts ("why is she VIP and will she
churn?") is split and each part routed; both are answered when both are confident.

``route_rules`` is the previous, keyword-only router, kept to measure the new one against it
(tests/test_intents.py reports both on a labelled set).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

Intent = Literal[
    "why_tier",
    "churn",
    "upgrade",
    "similar",
    "value",
    "evidence",
    "summary",
    "next_order",
    "spend_period",
    "satisfaction",
    "products",
    "offer",
    "contact",
    "unsupported",
]
INTENTS: tuple[str, ...] = get_args(Intent)
ANSWERABLE = tuple(i for i in INTENTS if i not in ("contact", "unsupported"))

THRESHOLD = 0.6  # combined score an intent needs; below it the question is refused
SEM_FLOOR = 0.40  # cosine below which an example says nothing
SEM_SPAN = 0.30  # cosine above the floor that counts as one full unit of evidence
LEX_CAP = 2.0

# ----------------------------------------------------------------------------- normalisation


def fold(text: str) -> str:
    """Lower case, accents folded (gefährdet -> gefahrdet, ¿Cuándo -> ¿cuando), ß -> ss, apostrophes unified."""
    text = text.replace("ß", "ss").replace("\u2019", "'").replace("\u2018", "'")
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


# ----------------------------------------------------------------------------- guards

_INJECTION = re.compile(
    r"\b(ignore|ignoriere?|ignorez|ignora|disregard|forget|vergiss|oublie[sz]?|olvida|override|bypass)\b.{0,60}"
    r"\b(instructions?|rules|above|previous|prompt|guidelines|anweisungen|regeln|vorgaben|consignes|reglas|"
    r"instrucciones|istruzioni|regole)\b|"
    r"\b(system ?prompt|systemprompt|jailbreak|developer mode|entwicklermodus|dan mode|pretend (to be|you are)|act as|"
    r"you are now|"
    r"du bist jetzt|tu es maintenant|ahora eres|reveal (your|the) (rules|prompt|instructions)|"
    r"(print|show|repeat|output|gib|zeig) (me )?(your|the|deine|den) (hidden |secret |geheimen )?(instructions|prompt|"
    r"system ?prompt|rules|anweisungen))\b|"
    r"^\s*(system|assistant)\s*:",
    re.I,
)
# Requests to do something to records or outside the product ("delete this customer", "book a meeting"): not questions.
_COMMAND = re.compile(
    r"^\s*(please\s+)?(delete|remove|erase|assign|merge|update|change|set|modify|rename|export|download|upload|"
    r"book|schedule|translate|write|compose|draft|email|mail|call|phone|text|create|add|edit|block|ban|refund|"
    r"losch\w*|entfern\w*|supprime\w*|borra\w*|elimina\w*)\b",
    re.I,
)
_CONTACT = re.compile(
    r"\b(e-?mails?|e-?mail address|e-?mail-adresse|emailadresse|courriel|correo|phone|telephone|telefon\w*|"
    r"t[eé]l[eé]phone|tel[eé]fono|"
    r"mobile number|cell number|handynummer|rufnummer|contact (details|info\w*)|kontaktdaten|coordonn[eé]es|"
    r"datos de contacto|"
    r"home address|postal address|(street )?address|adresse|anschrift|direcci[oó]n|indirizzo|adres|"
    r"credit card|card number|kreditkart\w*|carte bancaire|tarjeta|iban|date of birth|geburtsdatum|"
    r"where (does|do) (he|she|they|the customer) live|wo wohnt)\b",
    re.I,
)


# ----------------------------------------------------------------------------- lexicon

# (stem or phrase, weight). A stem matches a token that starts with it; a phrase of several words matches
# consecutive tokens (each by prefix). Accents are folded before matching, so write stems without them.
LEXICON: dict[str, list[tuple[str, float]]] = {
    "why_tier": [
        ("why", 0.7),
        ("how come", 0.9),
        ("explain", 0.6),
        ("explanation", 0.6),
        ("reason", 0.8),
        ("factor", 0.7),
        ("driv", 0.7),
        ("driver", 0.3),
        ("behind", 0.5),
        ("what makes", 0.6),
        ("tier", 0.6),
        ("rank", 0.4),
        ("classif", 0.7),
        ("segment", 0.5),
        ("rfm", 0.8),
        ("score", 0.4),
        ("put them", 0.3),
        ("rated", 0.3),
        ("shap", 0.8),
        ("valuable", 0.4),
        ("status", 0.3),
        # de, fr, es, nl, it
        ("warum", 0.9),
        ("wieso", 0.9),
        ("weshalb", 0.9),
        ("grund", 0.8),
        ("grunde", 0.8),
        ("stufe", 0.5),
        ("einstuf", 0.7),
        ("pourquoi", 0.9),
        ("raison", 0.8),
        ("niveau", 0.3),
        ("por que", 0.9),
        ("porque", 0.7),
        ("razon", 0.8),
        ("motivo", 0.7),
        ("waarom", 0.9),
        ("reden", 0.6),
        ("perche", 0.9),
        ("livello", 0.3),
    ],
    "churn": [
        ("churn", 1.3),
        ("leave", 0.7),
        ("leaving", 0.7),
        ("leave us", 0.4),
        ("leaving us", 0.4),
        ("lose", 0.8),
        ("losing", 0.8),
        ("lost", 0.5),
        ("stay", 0.5),
        ("come back", 0.9),
        ("coming back", 0.9),
        ("buy again", 0.8),
        ("purchase again", 0.8),
        ("return to us", 0.8),
        ("at risk", 1.0),
        ("risk", 0.6),
        ("stop buying", 1.0),
        ("stop ordering", 1.0),
        ("stop shopping", 1.0),
        ("stops", 0.4),
        ("quit", 0.8),
        ("walk away", 1.0),
        ("drift", 0.8),
        ("slipping", 0.8),
        ("slip away", 0.9),
        ("gone quiet", 0.8),
        ("inactive", 0.8),
        ("dormant", 0.8),
        ("lapse", 0.8),
        ("retain", 0.5),
        ("retention", 0.4),
        ("loyal", 0.4),
        ("still active", 0.8),
        ("attrition", 1.0),
        ("cancel", 0.4),
        ("for good", 0.5),
        ("done with", 0.8),
        ("stopped", 0.7),
        ("gone", 0.5),
        ("defect", 0.6),
        ("abandon", 0.8),
        ("abwander", 1.3),
        ("kundigen", 0.9),
        ("kundigt", 0.9),
        ("verlass", 1.0),
        ("verlier", 1.0),
        ("wieder", 0.6),
        ("risiko", 0.7),
        ("absprung", 1.0),
        ("gefahrdet", 0.6),
        ("bleibt", 0.5),
        ("treu", 0.5),
        ("quitt", 1.0),
        ("depart", 0.6),
        ("perdre", 0.9),
        ("risque", 0.7),
        ("resili", 0.8),
        ("partir", 0.8),
        ("se va", 0.9),
        ("irse", 0.9),
        ("perder", 0.9),
        ("riesgo", 0.7),
        ("fuga", 0.8),
        ("abandono", 1.0),
        ("weg", 0.6),
        ("verlaten", 1.0),
        ("opzeg", 0.8),
        ("verliez", 0.9),
        ("lasciar", 0.8),
        ("perdere", 0.9),
        ("rischio", 0.7),
        ("abbandon", 1.0),
    ],
    "upgrade": [
        ("move up", 1.2),
        ("move them", 0.6),
        ("move him", 0.6),
        ("move her", 0.6),
        ("up a tier", 1.2),
        ("tier up", 1.2),
        ("upgrad", 1.2),
        ("promote", 0.9),
        ("next tier", 1.2),
        ("next level", 1.1),
        ("higher tier", 1.2),
        ("what would it take", 1.1),
        ("what if", 0.8),
        ("become", 0.6),
        ("reach", 0.6),
        ("grow", 0.7),
        ("increase", 0.6),
        ("increase his", 0.4),
        ("increase her", 0.4),
        ("increase their", 0.4),
        ("increase the", 0.3),
        ("boost", 0.6),
        ("raise", 0.5),
        ("lift", 0.4),
        ("push", 0.5),
        ("over the line", 0.9),
        ("bump", 1.0),
        ("get her to", 0.6),
        ("get him to", 0.6),
        ("get them to", 0.6),
        ("get her into", 0.6),
        ("get him into", 0.6),
        ("into the", 0.3),
        ("more orders", 0.6),
        ("climb", 0.8),
        ("hoher", 0.8),
        ("aufsteig", 1.2),
        ("aufstieg", 1.2),
        ("damit", 0.3),
        ("wird", 0.2),
        ("bringen", 0.4),
        ("steiger", 0.7),
        ("superieur", 1.0),
        ("monter", 0.9),
        ("passer", 0.4),
        ("suba", 1.0),
        ("subir", 1.0),
        ("hoger", 0.8),
        ("salire", 1.0),
    ],
    "similar": [
        ("similar", 1.3),
        ("alike", 1.0),
        ("lookalike", 1.3),
        ("look alike", 1.3),
        ("like this customer", 1.0),
        ("like him", 0.9),
        ("like her", 0.9),
        ("like them", 0.7),
        ("peer", 1.0),
        ("neighbo", 1.0),
        ("comparable", 1.0),
        ("resembl", 1.0),
        ("same way", 0.7),
        ("same profile", 0.9),
        ("who else", 1.0),
        ("others", 0.4),
        ("twins", 0.8),
        ("cluster", 0.6),
        ("ahnlich", 1.3),
        ("vergleichbar", 1.0),
        ("similair", 1.3),
        ("semblabl", 1.0),
        ("ressembl", 1.0),
        ("parecid", 1.3),
        ("como este", 0.6),
        ("vergelijkbar", 1.0),
        ("soortgelijk", 1.0),
        ("simil", 1.2),
    ],
    "value": [
        ("forecast", 1.0),
        ("predict", 0.9),
        ("projected", 0.8),
        ("projection", 0.8),
        ("expect", 0.5),
        ("next quarter", 0.5),
        ("next 90 days", 0.6),
        ("coming months", 0.6),
        ("worth", 0.8),
        ("revenue", 0.4),
        ("bring in", 0.7),
        ("prognos", 0.8),
        ("going forward", 0.6),
        ("will spend", 0.9),
        ("will they spend", 0.9),
        ("will she spend", 0.9),
        ("will he spend", 0.9),
        ("future", 0.7),
        ("how much", 0.3),
        ("will", 0.3),
        ("going to", 0.3),
        ("likely to buy", 0.4),
        ("clv", 1.0),
        ("ltv", 1.0),
        ("lifetime value", 1.0),
        ("value", 0.5),
        ("big spender", 0.8),
        ("potential", 0.5),
        ("prognose", 1.0),
        ("erwart", 0.6),
        ("wert", 0.6),
        ("umsatz", 0.3),
        ("ausgeben", 0.4),
        ("nachsten", 0.3),
        ("zukunft", 0.7),
        ("voraussicht", 0.8),
        ("depenser", 0.5),
        ("va t il", 0.3),
        ("prevision", 1.0),
        ("valeur", 0.6),
        ("gastar", 0.5),
        ("va a", 0.3),
        ("pronostico", 1.0),
        ("valor", 0.6),
        ("verwacht", 0.6),
        ("waarde", 0.6),
        ("previsione", 1.0),
        ("spendera", 0.9),
    ],
    "evidence": [
        ("write", 0.5),
        ("did they write", 0.6),
        ("did she write", 0.6),
        ("did he write", 0.6),
        ("wrote", 1.1),
        ("written", 1.0),
        ("said", 0.7),
        ("say", 0.4),
        ("did they say", 0.5),
        ("did she say", 0.5),
        ("did he say", 0.5),
        ("review", 0.7),
        ("quote", 1.0),
        ("own words", 1.3),
        ("words", 0.8),
        ("feedback", 0.6),
        ("comment", 0.8),
        ("told us", 0.9),
        ("read me", 0.5),
        ("their words", 1.2),
        ("texts", 0.6),
        ("geschrieben", 1.1),
        ("schreib", 0.9),
        ("bewertung", 0.8),
        ("rezension", 0.9),
        ("kommentar", 0.8),
        ("gesagt", 0.7),
        ("ecrit", 1.1),
        ("avis", 0.8),
        ("commentaire", 0.8),
        ("escrib", 1.1),
        ("escrito", 1.1),
        ("resena", 0.9),
        ("comentario", 0.8),
        ("geschreven", 1.1),
        ("recensie", 0.9),
        ("scritto", 1.1),
        ("recension", 0.9),
    ],
    "summary": [
        ("summar", 1.3),
        ("summary", 1.3),
        ("overview", 1.2),
        ("tell me about", 1.0),
        ("who is", 0.6),
        ("going on", 1.0),
        ("brief me", 1.1),
        ("briefing", 1.0),
        ("big picture", 1.0),
        ("snapshot", 0.8),
        ("tl dr", 1.2),
        ("tldr", 1.2),
        ("know before", 0.9),
        ("story", 0.6),
        ("profile", 0.5),
        ("nutshell", 1.0),
        ("recap", 1.0),
        ("rundown", 1.0),
        ("everything", 0.5),
        ("describe", 0.8),
        ("background", 0.6),
        ("situation", 0.6),
        ("status of", 0.6),
        ("deal with", 0.4),
        ("overall", 0.6),
        ("doing", 0.3),
        ("know about", 0.8),
        ("zusammen", 1.2),
        ("uberblick", 1.2),
        ("ist los", 0.9),
        ("was ist mit", 0.7),
        ("steckbrief", 1.0),
        ("kurzprofil", 1.2),
        ("profil", 0.6),
        ("erzahl", 0.8),
        ("beschreib", 0.8),
        ("resum", 1.3),
        ("apercu", 1.0),
        ("qui est", 0.6),
        ("synthese", 1.0),
        ("que pasa", 0.8),
        ("perfil", 0.6),
        ("samenvat", 1.3),
        ("overzicht", 1.2),
        ("riassun", 1.3),
        ("panoramica", 1.0),
        ("sintesi", 1.0),
    ],
    "next_order": [
        ("next order", 1.2),
        ("next purchase", 1.2),
        ("buy next", 0.6),
        ("order next", 0.6),
        ("purchase next", 0.6),
        ("when", 0.7),
        ("how often", 1.2),
        ("frequen", 0.8),
        ("usual gap", 1.2),
        ("between orders", 1.2),
        ("between purchases", 1.2),
        ("overdue", 1.0),
        ("due", 0.5),
        ("how many orders", 1.0),
        ("order again", 0.5),
        ("cadence", 1.0),
        ("rhythm", 0.8),
        ("interval", 0.7),
        ("wann", 0.9),
        ("nachste mal", 1.0),
        ("nachste bestellung", 1.2),
        ("nachsten bestellung", 1.2),
        ("wie oft", 1.2),
        ("bestellt", 0.3),
        ("quand", 0.9),
        ("prochain", 0.8),
        ("combien de fois", 1.0),
        ("frequence", 0.8),
        ("de nouveau", 0.4),
        ("cuando", 0.9),
        ("proxima", 0.8),
        ("cada cuanto", 1.2),
        ("wanneer", 0.9),
        ("hoe vaak", 1.2),
        ("volgende", 0.6),
        ("quando", 0.9),
        ("prossim", 0.8),
        ("ogni quanto", 1.2),
    ],
    "spend_period": [
        ("last year", 1.2),
        ("last yr", 1.2),
        ("past year", 1.2),
        ("this year", 1.0),
        ("last month", 1.1),
        ("last quarter", 1.1),
        ("past month", 1.1),
        ("past quarter", 1.1),
        ("so far", 0.9),
        ("to date", 0.9),
        ("lifetime spend", 1.2),
        ("total spend", 1.1),
        ("spent", 0.8),
        ("how much", 0.3),
        ("did", 0.2),
        ("did they spend", 1.0),
        ("did she spend", 1.0),
        ("did he spend", 1.0),
        ("has spent", 1.0),
        ("have spent", 1.0),
        ("last 30", 1.0),
        ("last 60", 1.0),
        ("last 90", 1.0),
        ("last 180", 1.0),
        ("last 365", 1.0),
        ("past 6", 1.0),
        ("past 3", 1.0),
        ("past 12", 1.0),
        ("last 6", 1.0),
        ("last 3", 1.0),
        ("last 12", 1.0),
        ("history", 0.4),
        ("historic", 0.6),
        ("in total", 0.8),
        ("letzt", 0.8),
        ("vorjahr", 1.2),
        ("im jahr", 0.8),
        ("bisher", 0.9),
        ("ausgegeben", 0.9),
        ("insgesamt", 0.6),
        ("dieses jahr", 1.0),
        ("annee derniere", 1.2),
        ("derniere", 0.6),
        ("dernier", 0.6),
        ("a depense", 1.0),
        ("depense", 0.4),
        ("ano pasado", 1.2),
        ("pasado", 0.7),
        ("gasto", 0.8),
        ("este ano", 1.0),
        ("vorig", 0.9),
        ("uitgegeven", 1.0),
        ("anno scorso", 1.2),
        ("speso", 1.0),
    ],
    "satisfaction": [
        ("happy", 1.0),
        ("unhappy", 1.2),
        ("satisf", 1.2),
        ("dissatisf", 1.2),
        ("complain", 1.3),
        ("complaint", 1.3),
        ("problem", 0.8),
        ("issue", 0.7),
        ("pain point", 1.2),
        ("went wrong", 1.2),
        ("wrong", 0.5),
        ("annoy", 1.0),
        ("upset", 1.0),
        ("angry", 1.0),
        ("frustrat", 1.0),
        ("fan", 0.5),
        ("rate", 0.6),
        ("rating", 0.8),
        ("how do they rate", 0.6),
        ("rate our", 0.5),
        ("rate us", 0.8),
        ("pleased", 1.0),
        ("negative", 0.9),
        ("positive", 0.5),
        ("like us", 0.8),
        ("love us", 0.9),
        ("sentiment", 1.0),
        ("think of", 0.7),
        ("think about", 0.7),
        ("opinion", 0.9),
        ("our product", 0.5),
        ("our service", 0.5),
        ("mood", 0.8),
        ("stars", 0.7),
        ("bad review", 1.1),
        ("disappoint", 1.0),
        ("grievance", 1.1),
        ("content", 0.5),
        ("zufrieden", 1.3),
        ("beschwer", 1.3),
        ("beschwerde", 1.3),
        ("reklamation", 1.2),
        ("reklamier", 1.2),
        ("unzufrieden", 1.3),
        ("glucklich", 1.0),
        ("sterne", 0.7),
        ("probleme", 0.8),
        ("satisfait", 1.3),
        ("content", 0.5),
        ("plaint", 1.3),
        ("plaindre", 1.3),
        ("mecontent", 1.3),
        ("heureux", 1.0),
        ("contento", 1.2),
        ("satisfech", 1.3),
        ("queja", 1.3),
        ("quejas", 1.3),
        ("problema", 0.8),
        ("feliz", 1.0),
        ("tevreden", 1.3),
        ("klacht", 1.3),
        ("blij", 1.0),
        ("soddisf", 1.3),
        ("lament", 1.3),
        ("reclam", 1.2),
        ("felice", 1.0),
    ],
    "products": [
        ("product", 1.0),
        ("categor", 1.0),
        ("usually buy", 0.9),
        ("buy", 0.3),
        ("browse", 0.8),
        ("browsing", 0.8),
        ("look at", 0.6),
        ("looked at", 0.7),
        ("search", 0.6),
        ("searching", 0.8),
        ("items", 0.8),
        ("item", 0.6),
        ("favourite", 0.8),
        ("favorite", 0.8),
        ("shop for", 1.0),
        ("basket", 0.8),
        ("cart", 0.6),
        ("interest", 0.7),
        ("what kind", 0.5),
        ("into", 0.2),
        ("brand", 0.8),
        ("viewed", 0.8),
        ("purchase history", 0.7),
        ("what do they buy", 1.0),
        ("what does he buy", 1.0),
        ("what does she buy", 1.0),
        ("produkt", 1.0),
        ("kategori", 1.0),
        ("sucht", 0.8),
        ("website", 0.4),
        ("site", 0.4),
        ("interessiert", 0.9),
        ("artikel", 0.9),
        ("warenkorb", 0.8),
        ("kauft", 0.3),
        ("produit", 1.0),
        ("achete", 0.5),
        ("aime", 0.5),
        ("producto", 1.0),
        ("compra", 0.3),
        ("prodott", 1.0),
        ("artikelen", 0.9),
    ],
    "offer": [
        ("discount", 1.3),
        ("coupon", 1.3),
        ("voucher", 1.3),
        ("promotion", 1.0),
        ("promo", 1.0),
        ("offer", 0.9),
        ("incentive", 1.0),
        ("next best action", 1.3),
        ("next step", 1.0),
        ("what now", 0.8),
        ("retention", 0.4),
        ("best action", 1.2),
        ("what should i do", 1.1),
        ("what should we do", 1.1),
        ("approach", 0.9),
        ("recommend", 0.5),
        ("do you recommend", 0.4),
        ("would you recommend", 0.5),
        ("recommendation", 0.3),
        ("should i", 0.5),
        ("shall i", 0.5),
        ("should we", 0.5),
        ("worth giving", 0.6),
        ("how should i", 0.6),
        ("deal", 0.6),
        ("action", 0.6),
        ("advice", 0.9),
        ("advise", 0.9),
        ("treat", 0.4),
        ("reach out", 0.7),
        ("campaign", 0.8),
        ("perk", 0.8),
        ("gift", 0.7),
        ("free shipping", 1.0),
        ("reward", 0.8),
        ("win back", 0.9),
        ("retention offer", 1.2),
        ("rabatt", 1.3),
        ("gutschein", 1.3),
        ("angebot", 1.0),
        ("soll ich", 0.5),
        ("sollten wir", 0.5),
        ("empfehl", 0.9),
        ("aktion", 0.6),
        ("nachste schritt", 1.0),
        ("massnahme", 0.9),
        ("remise", 1.3),
        ("reduction", 1.2),
        ("offre", 0.9),
        ("offrir", 0.9),
        ("proposer", 0.8),
        ("que faire", 0.9),
        ("recommand", 0.9),
        ("descuento", 1.3),
        ("cupon", 1.3),
        ("oferta", 0.9),
        ("ofrec", 0.9),
        ("ofrez", 0.9),
        ("promocion", 1.0),
        ("que hago", 0.9),
        ("recomend", 0.9),
        ("korting", 1.3),
        ("aanbieding", 1.0),
        ("moet ik", 0.5),
        ("sconto", 1.3),
        ("offrire", 0.9),
        ("promozion", 1.0),
        ("devo", 0.4),
    ],
}

# Example questions per intent, embedded once per encoder: the meaning half of the router. English only (the
# encoder is an English model); other languages are carried by the lexicon.
EXAMPLES: dict[str, list[str]] = {
    "why_tier": [
        "Why is this customer in this tier?",
        "Why is she a VIP?",
        "What are the reasons for his classification?",
        "Explain the tier of this customer.",
        "What drives this customer's score?",
        "Why did the model rank them like that?",
        "What factors put this customer in the high tier?",
        "Why is he considered a low value customer?",
    ],
    "churn": [
        "Is this customer about to churn?",
        "Are we going to lose this customer?",
        "Will she stop buying from us?",
        "How likely is he to leave?",
        "Is this customer at risk of leaving?",
        "Will they come back and buy again?",
        "Has this customer gone inactive?",
        "What is the probability that they stop ordering?",
        "Is the customer slipping away?",
    ],
    "upgrade": [
        "What would move this customer up a tier?",
        "How can we get her to the next tier?",
        "What would it take to make him VIP?",
        "How could we increase this customer's value?",
        "What if they ordered more often?",
        "What does she need to reach a higher tier?",
    ],
    "similar": [
        "Which customers are similar to this one?",
        "Show me lookalike customers.",
        "Who else behaves like this customer?",
        "Find customers with a comparable profile.",
        "Which other customers resemble her?",
    ],
    "value": [
        "How much will this customer spend in the next quarter?",
        "What is the predicted value of this customer?",
        "How much revenue do we expect from them?",
        "What is the spend forecast for the next 90 days?",
        "What is this customer worth in the future?",
        "How much is he expected to buy in the coming months?",
    ],
    "evidence": [
        "What did this customer write?",
        "Show me the customer's reviews.",
        "What did she say in her feedback?",
        "Give me quotes from the customer.",
        "What comments has he left?",
    ],
    "summary": [
        "Summarize this customer.",
        "Give me an overview of this customer.",
        "What's going on with this customer?",
        "Tell me about this customer.",
        "Brief me on this account.",
        "What should I know about this customer before I call?",
        "Who is this customer?",
        "Give me the big picture on this client.",
    ],
    "next_order": [
        "When will this customer order next?",
        "When is the next purchase expected?",
        "How often does she buy?",
        "How many days between his orders?",
        "Is the customer overdue for an order?",
        "How many orders will they place next quarter?",
    ],
    "spend_period": [
        "How much did this customer spend last year?",
        "What did she spend in 2024?",
        "How much has he spent so far?",
        "What was their total spend in the last 90 days?",
        "How much did they spend this year?",
        "What is the lifetime spend to date?",
        "How much money did they spend last month?",
    ],
    "satisfaction": [
        "Is this customer happy with us?",
        "What did they complain about?",
        "Is she satisfied with our service?",
        "Has he had any problems with orders?",
        "How does the customer rate our products?",
        "Any negative reviews?",
        "Is the customer unhappy or frustrated?",
    ],
    "products": [
        "What products does this customer like?",
        "Which categories does she buy?",
        "What has he been browsing?",
        "What items are they interested in?",
        "What does this customer usually shop for?",
        "Which products did they search for?",
    ],
    "offer": [
        "Should I offer this customer a discount?",
        "What offer should we make?",
        "What is the next best action for this customer?",
        "Would a coupon help retain her?",
        "How should I approach this customer?",
        "What do you recommend we do with this account?",
        "Is a promotion worth it for him?",
    ],
}

SUGGESTIONS = [
    "Summarize this customer",
    "Why is this customer in their tier?",
    "Is this customer about to churn?",
    "When will they buy next?",
    "How much did they spend last year?",
    "Are they happy with us?",
    "What products do they like?",
    "Should I offer a discount?",
    "What would move them up a tier?",
    "Who else is like this customer?",
]


def _phrase_tokens(lexicon: dict[str, list[tuple[str, float]]]) -> dict[str, list[tuple[tuple[str, ...], float]]]:
    return {i: [(tuple(tokens(p)), w) for p, w in entries] for i, entries in lexicon.items()}


_LEX = _phrase_tokens(LEXICON)
_STEMS = sorted({p[0] for entries in _LEX.values() for p, _ in entries if len(p) == 1 and len(p[0]) >= 6})


def _close(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1 (one typo: a letter added, dropped, changed or two swapped)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _typo_fix(tok: str) -> str:
    """A token one typo away from a known stem of 6+ letters (or from its start) becomes that stem: 'complants' ->
    'complain', 'sumarize' -> 'summar', 'simlar' -> 'similar'. A changed letter only counts on stems of 8+ letters: on
    short ones it turns real words into other words ('spend' -> 'spent', 'cuanto' -> 'cuando', 'kundin' -> 'kundig')."""
    if len(tok) < 5 or any(tok.startswith(s) for s in _STEMS):
        return tok
    for s in _STEMS:
        for cand in {tok, tok[: len(s)], tok[: len(s) + 1], tok[: len(s) - 1]}:
            if len(cand) >= 5 and _close(cand, s) and (len(cand) != len(s) or len(s) >= 8 or sorted(cand) == sorted(s)):
                return s
    return tok


def _matches(toks: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    if n == 1:
        return any(t.startswith(phrase[0]) for t in toks)
    for i in range(len(toks) - n + 1):
        # Every word but the last must match whole; the last by prefix ("buy again" matches "buy agains", not "buyer").
        if all(toks[i + j] == phrase[j] for j in range(n - 1)) and toks[i + n - 1].startswith(phrase[-1]):
            return True
    return False


def lexical_scores(question: str) -> dict[str, float]:
    toks = [_typo_fix(t) for t in tokens(question)]
    out = {}
    for intent, entries in _LEX.items():
        s = sum(w for p, w in entries if p and _matches(toks, p))
        out[intent] = min(s, LEX_CAP)
    return out


# ----------------------------------------------------------------------------- meaning


class ExampleIndex:
    """The example questions of every intent, embedded once per encoder."""

    def __init__(self, encoder):
        self.encoder = getattr(
            encoder, "encoder", encoder
        )  # the plain model, not its on-disk cache: questions are not stored
        self.intents: list[str] = []
        texts: list[str] = []
        for intent, ex in EXAMPLES.items():
            self.intents += [intent] * len(ex)
            texts += ex
        self.vectors = np.asarray(self.encoder.encode(texts), dtype=np.float32)
        self._intent_idx = {i: np.array([k for k, x in enumerate(self.intents) if x == i]) for i in EXAMPLES}

    def scores(self, question: str) -> dict[str, float]:
        v = np.asarray(self.encoder.encode([question]), dtype=np.float32)[0]
        sims = self.vectors @ v
        return {i: float(sims[idx].max()) for i, idx in self._intent_idx.items()}


_INDEXES: dict[int, ExampleIndex] = {}
_INDEX_LOCK = threading.Lock()


def example_index(encoder) -> ExampleIndex | None:
    if encoder is None:
        return None
    key = id(getattr(encoder, "encoder", encoder))
    with _INDEX_LOCK:
        if key not in _INDEXES:
            _INDEXES[key] = ExampleIndex(encoder)
        return _INDEXES[key]


# ----------------------------------------------------------------------------- routing

_TIER_WORD = r"(VIP|High|Medium|Low)"


def named_tier(question: str) -> str | None:
    """A tier the question names: VIP anywhere; High/Medium/Low capitalised, next to 'tier', after 'to/into/reach',
    or as what someone 'is' ("why is he low?"), but not 'high risk' / 'low churn'."""
    if re.search(r"\bVIP\b", question, re.I):
        return "VIP"
    not_tier = r"(?!\s*(risk|churn|chance|probability|likelihood|odds|spend|value|engagement|activity|rating))"
    for pat in (
        rf"\b{_TIER_WORD}\b(?=[\s-]*(tier|value|segment|customer|stufe|level|niveau|nivel))",
        rf"\b(?:to|into|reach|become|the|in|zu|auf|en|au)\s+{_TIER_WORD}\b{not_tier}",
        r"\b(?:is|are|'s|ist|est|es|is)\s+(?:he|she|they|it|this customer|the customer|this one|er|sie|il|"
        rf"elle)?\s*(?:so\s+|a\s+|an\s+|in\s+|only\s+)?{_TIER_WORD}\b{not_tier}",
    ):
        m = re.search(pat, question, re.I)
        if m:
            return m.group(1).capitalize() if m.group(1).lower() != "vip" else "VIP"
    m = re.search(r"\b(High|Medium|Low)\b" + not_tier, question)  # capitalised as a tier name
    return m.group(1) if m else None


@dataclass
class Route:
    intent: str
    tier: str | None = None  # a tier named in the question ("why is she VIP?", "move them to High")
    score: float = 0.0  # combined score of the chosen intent
    scores: dict[str, float] = field(default_factory=dict)
    parts: list[Route] = field(
        default_factory=list
    )  # for a two-part question: one route per part (this one is the first)
    texts: list[str] = field(default_factory=list)  # the parts' texts
    text: str = ""  # the question (or part) this route is for

    @property
    def intents(self) -> list[str]:
        return [p.intent for p in self.parts] if self.parts else [self.intent]


def _score(question: str, index: ExampleIndex | None) -> dict[str, float]:
    lex = lexical_scores(question)
    if index is None:
        return lex
    sem = index.scores(question)
    return {i: lex.get(i, 0.0) + float(np.clip((sem.get(i, 0.0) - SEM_FLOOR) / SEM_SPAN, 0.0, 1.2)) for i in ANSWERABLE}


def _route_one(question: str, index: ExampleIndex | None) -> Route:
    r = _route_text(question, index)
    r.text = question
    return r


def _route_text(question: str, index: ExampleIndex | None) -> Route:
    tier = named_tier(question)
    if _INJECTION.search(question) or _INJECTION.search(fold(question)):
        return Route("unsupported", tier)
    if _CONTACT.search(question) or _CONTACT.search(fold(question)):
        return Route("contact", tier)
    if _COMMAND.search(fold(question)):
        return Route("unsupported", tier)
    scores = _score(question, index)
    if tier is not None:
        # "why is he VIP?", "VIP?": naming a tier is evidence for a question about the tier; "get him to VIP" for one
        # about reaching it.
        target = re.search(
            rf"\b(?:to|into|reach\w*|become|make (?:him|her|them|it))\s+(?:the\s+|a\s+|an\s+)?{_TIER_WORD}\b",
            question,
            re.I,
        )
        key = "upgrade" if target else "why_tier"
        scores[key] = scores.get(key, 0.0) + (0.5 if target else 0.6)
    years = re.findall(r"\b(?:19|20)\d\d\b", question)
    if years:  # "in 2024", "im Jahr 2024": a period of the past
        scores["spend_period"] = scores.get("spend_period", 0.0) + 0.8
    best = max(scores, key=lambda i: scores[i])
    if scores[best] < THRESHOLD:
        return Route("unsupported", tier, scores[best], scores)
    return Route(best, tier, scores[best], scores)


_SPLIT = re.compile(
    r"\?\s+(?=\S)|;\s*|\s+(?:and also|and then|also|plus|as well as|und auch|et aussi|y tambien)\s+|\s+(?:and|und|et|y|"
    r"en|e)\s+(?=(?:what|why|how|when|who|is|are|will|should|does|do|did|can|could|would|which|wie|was|warum|wann|ist|"
    r"wird|soll|quel|pourquoi|quand|est|que|por|cuando|cuanto|es)\b)",
    re.I,
)


def route(question: str, encoder=None) -> Route:
    """The intent of ``question``; with ``encoder`` (the product's sentence encoder) by meaning and words, without it
    by words."""
    index = example_index(encoder)
    whole = _route_one(question, index)
    if whole.intent in ("unsupported", "contact") and whole.scores == {}:
        return whole  # a guard fired: no splitting around it
    pieces = [p.strip(" ?.!,") for p in _SPLIT.split(question) if p and p.strip(" ?.!,")]
    if len(pieces) >= 2:
        parts = [_route_one(p, index) for p in pieces[:3]]
        if any(p.intent in ("unsupported", "contact") and not p.scores for p in parts):
            guard = next(p for p in parts if p.intent in ("unsupported", "contact") and not p.scores)
            return Route(guard.intent, whole.tier)
        good = [(p, t) for p, t in zip(parts, pieces) if p.intent in ANSWERABLE]
        distinct = list(dict.fromkeys(p.intent for p, _ in good))
        if len(distinct) >= 2:
            first = good[0][0]
            keep: list[tuple[Route, str]] = []
            for p, t in good:
                if p.intent not in [k[0].intent for k in keep]:
                    keep.append((p, t))
            return Route(
                first.intent,
                first.tier or whole.tier,
                first.score,
                first.scores,
                parts=[k[0] for k in keep],
                texts=[k[1] for k in keep],
                text=question,
            )
    return whole


# ----------------------------------------------------------------------------- the previous router (for comparison)

_RULES_V1: list[tuple[str, re.Pattern]] = [
    (
        "unsupported",
        re.compile(
            r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|above|previous|prompt|guidelines)\b|"
            r"\b(system prompt|jailbreak|pretend (to be|you are)|act as|you are now)\b",
            re.I,
        ),
    ),
    (
        "contact",
        re.compile(
            r"\b(e-?mails?|e-?mail address|phone|telephone|mobile number|cell number|contact (details|info\w*)|"
            r"home address|postal address|(street )?address|credit card|card number|iban|password|date of birth)\b",
            re.I,
        ),
    ),
    (
        "upgrade",
        re.compile(
            r"\b(what would (it take|move|get|make|push|bring)|what (does|do) (it|they|he|she) (take|need)|"
            r"move (him|her|them|this customer|the customer)?\s*(up|to|into)|upgrade\w*|promot\w*|bump\w*|"
            r"next tier|higher tier|tier up|up a tier|level up|get (him|her|them) (to|into)|reach\w*|become|"
            r"what if|how (can|could|do|would) (we|i|they|he|she) (increase|raise|grow|boost|lift|improve|get)|"
            r"(increase|raise|grow|boost|lift) (his|her|their|the) (value|tier|spend))\b",
            re.I,
        ),
    ),
    (
        "similar",
        re.compile(
            r"\b(similar|alike|look-?alikes?|(customers|others|people|anyone|who) (else )?like (this|him|her|them)|"
            r"who else|peers|neighbou?rs|comparable|resembl\w*)\b",
            re.I,
        ),
    ),
    (
        "churn",
        re.compile(
            r"\b(churn\w*|leav(e|es|ing)|lose|losing|lost|at risk|risk\w*|stop(s|ped)? (buying|ordering|shopping|"
            r"purchasing)|"
            r"come back|coming back|buy again|order again|retain\w*|retention|lapse\w*|inactive|drop(ping)? off|"
            r"going away|about to go|still (active|buying|around)|slipping|dormant)\b",
            re.I,
        ),
    ),
    (
        "why_tier",
        re.compile(
            r"\b(why|how come|explain\w*|reasons?|what makes|driv(e|es|ers?|ing)|factors?|tier|segment|rfm|"
            r"is (he|she|it|they|this customer|the customer) (a |an )?(vip|high|medium|low))\b",
            re.I,
        ),
    ),
    (
        "value",
        re.compile(
            r"\b(how much|spend\w*|value|worth|predict\w*|forecast\w*|expect\w*|revenue|clv|ltv|lifetime|"
            r"next (quarter|month|90 days)|big spender)\b",
            re.I,
        ),
    ),
    (
        "evidence",
        re.compile(
            r"\b((did|does|do) (he|she|they|this customer|the customer) (say|write|think|feel|browse|search|look)|"
            r"said|wrote|written|reviews?|own words|feedback|complain\w*|quotes?|opinions?|browsed|searched|"
            r"look(ed|ing) at|interested in)\b",
            re.I,
        ),
    ),
]


def route_rules(question: str) -> str:
    """The intent the previous keyword router (first matching rule) gave ``question``."""
    for intent, pattern in _RULES_V1:
        if pattern.search(question):
            return intent
    if re.search(r"\bVIP\b|\b(High|Medium|Low)\b", question):
        return "why_tier"
    return "unsupported"
