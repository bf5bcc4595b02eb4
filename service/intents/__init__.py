"""What a CRM agent's question asks: the question router of the "ask" feature (``route`` in ``router``).

The package, one job per module:

- ``router``: ``route`` and its result ``Route``: guards, then words and meaning weighed into one score per intent,
  a two-part question split and each part routed. Start here.
- ``names``: the intents (``Intent``, the answer schema's field) and the suggestions a refusal offers.
- ``normalise``: ``fold`` (lower case, accents folded) and the word tokens every layer reads.
- ``guards``: the refusals decided by rules (instructions to the service, commands, contact data).
- ``words``: the lexical evidence per intent (typos forgiven), from the word lists in ``lexicon_model`` (tier, churn,
  upgrade, similar, value, evidence) and ``lexicon_activity`` (summary, next order, spend, satisfaction, products,
  offer).
- ``examples``: the example questions per intent and their index embedded by the sentence encoder.
- ``entities``: what a question names besides its intent (a tier, a tier to reach, a year).
- ``period``: the period a spend question names ("Q3", "since March", "the last 90 days"), read against the cutoff.
- ``rule_router``: the previous keyword-only router, kept for comparison.
"""

from service.intents.entities import named_tier
from service.intents.examples import example_index
from service.intents.names import ANSWERABLE, INTENTS, SUGGESTIONS, Intent
from service.intents.normalise import fold
from service.intents.router import Route, route
from service.intents.rule_router import route_rules
from service.intents.words import lexical_scores

__all__ = [
    "ANSWERABLE",
    "INTENTS",
    "SUGGESTIONS",
    "Intent",
    "Route",
    "example_index",
    "fold",
    "lexical_scores",
    "named_tier",
    "route",
    "route_rules",
]
