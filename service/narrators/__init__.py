"""Narrators: the template (default) and LLM narrators behind one interface; see providers.get_narrator."""

from service.narrators.base import Draft, DraftingNarrator, Narrator, TemplateNarrator
from service.narrators.providers import NarratorConfigError, NarratorOptions, get_narrator, reset_narrators

__all__ = [
    "Draft",
    "DraftingNarrator",
    "Narrator",
    "TemplateNarrator",
    "NarratorConfigError",
    "NarratorOptions",
    "get_narrator",
    "reset_narrators",
]
