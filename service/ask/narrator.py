"""Which narrator tells explanations, and the explanation of one stored profile (the CLI and the API share it)."""

from __future__ import annotations

import importlib.util

from service.explain import Explanation, Narrator, TemplateNarrator, explain_facts, facts_from_profile
from service.privacy import redact_profile

# ----------------------------------------------------------------------------- narrator


def get_narrator(settings=None) -> Narrator:
    """The narrator of explanations: ``service.narrators.get_narrator(settings)`` once that module exists,
    the template narrator until then. The one place the API and the CLI choose a narrator."""
    if importlib.util.find_spec("service.narrators") is not None:
        from service.narrators import get_narrator as _get_narrator

        if settings is None:
            from service.config import get_settings

            settings = get_settings()
        return _get_narrator(settings)
    return TemplateNarrator()


def explain_customer(profile: dict, meta: dict, narrator: Narrator, mask: bool = True) -> Explanation:
    """The explanation of one stored profile, customer texts masked first (so no narrator sees contact data)."""
    if mask:
        profile = redact_profile(profile)
    return explain_facts(facts_from_profile(profile, meta), narrator)


def explain_stored(customer_id: str, store, narrator: Narrator | None = None, mask: bool = True) -> Explanation:
    """`insight explain` and `GET /v1/customers/{id}/explanation` share this path, so their JSON is identical."""
    from service.store import ProfileStore

    try:
        profile, meta = ProfileStore.read_profile(store, customer_id)
    except KeyError:
        ps = ProfileStore(store)
        try:
            unscored = customer_id in set(ps.meta().get("unscored_customers") or [])
        finally:
            ps.close()
        if unscored:
            raise UnscoredCustomer(customer_id) from None
        raise
    return explain_customer(profile, meta, narrator or get_narrator(), mask=mask)


class UnscoredCustomer(ValueError):
    """A customer the input tables know, without orders, so not scored (a user error in the CLI: message, exit code
    2)."""

    def __init__(self, customer_id: str):
        super().__init__(f"customer {customer_id!r} is known, no orders yet, so not scored")
        self.customer_id = customer_id
