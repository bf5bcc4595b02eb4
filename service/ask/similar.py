"""The similar-customers answer, from the similar-customer index."""

from __future__ import annotations

from service.intents import Route


def answer_similar(r: Route, facts, profile, ctx):
    if ctx.similar is None:
        return ("Similar customers need the similar-customer index, which is not loaded here.", {})
    sims = ctx.similar(5)
    if not sims:
        return (f"No similar customers are indexed for {facts.customer_id}.", {"similar": []})
    parts = [f"{s.customer_id} ({s.tier or 'unknown tier'}, similarity {s.similarity:.2f})" for s in sims]
    text = f"Customers most like {facts.customer_id} ({facts.tier}) in behaviour and texts: " + "; ".join(parts) + "."
    return text, {"similar": sims}
