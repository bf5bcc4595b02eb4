"""The narrator interface.

A narrator turns :class:`~service.explain.Facts` into prose: ``narrate(facts, question) -> str``. A narrator
that can take the check's feedback also has ``draft(facts, question, feedback=..., previous=...) -> Draft``
(the LLM narrators); ``service.explain.narrate_checked`` uses it for the retry-once-then-fall-back flow.
The protocol lives in service.explain and the template narrator in service.template_narrator; both are re-exported here.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from service.explain import Draft, Facts, Narrator, TemplateNarrator


@runtime_checkable
class DraftingNarrator(Protocol):
    name: str

    def narrate(self, facts: Facts, question: str | None = None) -> str: ...

    def draft(
        self,
        facts: Facts,
        question: str | None = None,
        feedback: list[str] | None = None,
        previous: Draft | None = None,
    ) -> Draft: ...


__all__ = ["Narrator", "DraftingNarrator", "Draft", "TemplateNarrator"]
