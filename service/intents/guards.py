"""Layer 1 of the router, the guards (rules, several languages): instructions aimed at the service ("ignore your
instructions", "print the system prompt") and commands ("delete this customer") are refused; questions for contact data
get the contact refusal. These never reach the scorer, so no wording can talk its way past them."""

from __future__ import annotations

import re

from service.intents.normalise import fold

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
    r"where (does|do) (he|she|they|(this|the|that) (customer|client|person|one)) (live|reside|stay)|"
    r"where (is|are) (he|she|they) (based|located)|home town|wo wohnt|o[uù] habite)\b",
    re.I,
)


def refusal(question: str) -> str | None:
    """The intent a guard gives ``question``: "unsupported" for an instruction to the service or a command, "contact"
    for a request for contact data; None when no guard fires."""
    if _INJECTION.search(question) or _INJECTION.search(fold(question)):
        return "unsupported"
    if _CONTACT.search(question) or _CONTACT.search(fold(question)):
        return "contact"
    if _COMMAND.search(fold(question)):
        return "unsupported"
    return None
