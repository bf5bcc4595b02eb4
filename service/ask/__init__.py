"""A CRM agent's free question about one customer, routed to a grounded answer.

The router (``service.intents``: guards and words, then the meaning of the question by the sentence encoder when
one is given) maps a question to one intent, and each
intent has an answer built only from facts about the customer: the same facts as the explanation
(``service.explain.facts_from_profile``), the model's own re-predictions for "what would move them
up" (``service.whatif``) and the similar-customer index. A question outside those intents gets an
answer that says what can be asked; nothing is ever made up. Every answer comes with the structured
data it was built from and a check that each number in the answer appears in that data.

Personal data: the profile handed in should already be redacted (``service.privacy``); questions
asking for contact details get a refusal.

The package, one job per module:

- ``models``: the answer schema (``AskRequest``, ``AskAnswer`` and the facts each intent returns).
- ``narrator``: the narrator choice and the explanation of a stored profile (shared by the CLI and the API).
- ``context``: ``CustomerContext`` (everything an answer may use) and the small readers of a stored profile.
- ``dispatch``: ``answer``: route the question, run each part's handler, check the numbers.
- the handlers, one module per family: ``tier`` (why this tier, value, evidence), ``churn``, ``upgrade`` (what-if),
  ``similar``, ``spend`` (spend in a period; the period words are parsed in ``period``), ``activity`` (next order,
  satisfaction, products), ``offer`` (playbook advice), ``summary``, ``refusals`` (contact details, unsupported).
- ``check``: the grounding check (every number in an answer appears in its facts).
"""

# Names in __all__ are the public surface; the others (``X as X``) stay importable from service.ask as before the split.
from service.ask.check import PHRASE_NUMBERS as PHRASE_NUMBERS
from service.ask.check import check_numbers as check_numbers
from service.ask.context import CustomerContext
from service.ask.context import question_text as question_text
from service.ask.dispatch import answer
from service.ask.models import AskAnswer, AskRequest, ChurnFacts, SimilarCustomer, ValueFacts
from service.ask.models import Browsed as Browsed
from service.ask.models import Category as Category
from service.ask.models import ChurnDriver as ChurnDriver
from service.ask.models import Intent as Intent
from service.ask.models import NextOrderFacts as NextOrderFacts
from service.ask.models import OfferFacts as OfferFacts
from service.ask.models import ProductFacts as ProductFacts
from service.ask.models import Quote as Quote
from service.ask.models import SatisfactionFacts as SatisfactionFacts
from service.ask.models import SpendFacts as SpendFacts
from service.ask.narrator import UnscoredCustomer as UnscoredCustomer
from service.ask.narrator import explain_customer, explain_stored, get_narrator
from service.ask.spend import spend_between as spend_between
from service.explain import ALL_DRIVER_NAMES

# The router lives in service.intents (meaning + multilingual words, rules only as guards).
from service.intents import INTENTS, SUGGESTIONS, route
from service.intents import Route as Route
from service.intents import named_tier as named_tier
from service.intents.period import parse_period as parse_period

__all__ = [
    "AskAnswer",
    "AskRequest",
    "ChurnFacts",
    "CustomerContext",
    "INTENTS",
    "SUGGESTIONS",
    "SimilarCustomer",
    "ValueFacts",
    "answer",
    "explain_customer",
    "explain_stored",
    "get_narrator",
    "route",
    "ALL_DRIVER_NAMES",
]
