"""The LLM narrator: any LangChain chat model behind the narrator interface.

prompt (prompts/ files) -> chat model (timeout, bounded retries, concurrency limit) -> JSON answer parsed
into :class:`NarrativeOut` -> structural checks (drivers tied to facts, directions, verbatim quotes, no
prompt leak) -> rendered narrative. ``service.explain.narrate_checked`` then runs the faithfulness check
on the rendered text, retries once with the failures fed back, and falls back to the template.
"""

from __future__ import annotations

import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field, ValidationError, field_validator

from service.claim_directions import direction_of
from service.explain import Draft, Facts, money
from service.narrators.prompt import (
    TEXT_CAP,
    PromptSet,
    View,
    build_messages,
    llm_text,
    llm_view,
    load_prompts,
    retry_messages,
)

log = logging.getLogger("service.narrators")

_UP_WORDS = {"raises", "raise", "up", "increases", "increase", "positive", "+", "lifts", "adds"}
_DOWN_WORDS = {"lowers", "lower", "down", "decreases", "decrease", "negative", "-", "reduces", "takes off"}
LEAK_WORDS = 8  # this many consecutive words of the system prompt in a narrative count as a prompt leak
ECHO_WORDS = (
    6  # this many consecutive words of a customer text outside the quotes count as following or paraphrasing it
)


class NarratorError(RuntimeError):
    """The LLM call failed (timeout, connection, server error)."""


class DriverClaim(BaseModel):
    fact: str = Field(description="A driver name from the facts, verbatim.")
    direction: Literal["raises", "lowers"]
    explanation: str = Field(default="", description="One short clause on what the driver's value means.")

    @field_validator("direction", mode="before")
    @classmethod
    def _direction(cls, v):
        s = str(v).strip().lower()
        return "raises" if s in _UP_WORDS else "lowers" if s in _DOWN_WORDS else s


class Quote(BaseModel):
    evidence_id: str | None = None
    quote: str = Field(min_length=1)


class NarrativeOut(BaseModel):
    """The structured answer the LLM must give (prompts/narrator.*.system.md describes it to the model)."""

    summary: str = Field(min_length=1)
    drivers: list[DriverClaim] = Field(min_length=1, max_length=6)
    evidence: list[Quote] = Field(default_factory=list, max_length=3)
    next_action: str = Field(min_length=1)


class UnparseableAnswer(ValueError):
    pass


def _json_object(text: str) -> str:
    """The first balanced {...} of ``text`` (models wrap JSON in fences or chatter)."""
    start = text.find("{")
    if start < 0:
        raise UnparseableAnswer("no JSON object in the answer")
    depth, in_str, esc = 0, False, False
    for i in range(start, len(text)):
        ch = text[i]
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    raise UnparseableAnswer("the JSON object in the answer is not closed")


def parse_answer(text: str) -> NarrativeOut:
    try:
        data = json.loads(_json_object(text))
    except json.JSONDecodeError as exc:
        raise UnparseableAnswer(f"invalid JSON ({exc.msg} at char {exc.pos})") from exc
    if not isinstance(data, dict):
        raise UnparseableAnswer("the answer is not a JSON object")
    try:
        return NarrativeOut.model_validate(data)
    except ValidationError as exc:
        errs = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors()[:4])
        raise UnparseableAnswer(f"the JSON does not match the answer format ({errs})") from exc


def _one_line(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def render(out: NarrativeOut, facts: Facts) -> tuple[str, list[str]]:
    """The narrative text of a structured answer, and the quotes it contains.

    Amounts come from the facts (the model chooses, orders and explains the drivers); the direction word is
    the model's own, so a flipped direction shows in the text and fails the check.
    """
    known = {d.name: d for d in facts.drivers}
    sources = {f"T{i}": e.source for i, e in enumerate(facts.evidence, 1)}
    lines = [_one_line(out.summary)]
    for c in out.drivers:
        d = known.get(c.fact)
        amount = f" {money(d.contribution, facts.currency)}" if d else ""
        verb = "adds" if c.direction == "raises" else "takes off"
        expl = _one_line(c.explanation).rstrip(".")
        lines.append(f"- {c.fact} {verb}{amount}." + (f" {expl[0].upper()}{expl[1:]}." if expl else ""))
    quotes = [q.quote for q in out.evidence]
    if quotes:
        lines.append(
            "In the customer's own words: "
            + " ".join(
                f"\u201c{q.quote}\u201d" + (f" ({sources[q.evidence_id]})." if q.evidence_id in sources else ".")
                for q in out.evidence
            )
        )
    lines.append(f"Suggested next action: {_one_line(out.next_action)}")
    return "\n".join(lines), quotes


def _shingles(text: str, n: int) -> set[str]:
    w = re.findall(r"[a-z0-9]+", text.lower())
    return {" ".join(w[i : i + n]) for i in range(len(w) - n + 1)}


def structural_reasons(out: NarrativeOut, facts: Facts, prompts: PromptSet) -> list[str]:
    """What the structured answer gets wrong, before the text check: drivers, directions, quotes, prompt leaks."""
    reasons: list[str] = []
    known = {d.name: d for d in facts.drivers}
    for c in out.drivers:
        d = known.get(c.fact)
        if d is None:
            reasons.append(f"driver '{c.fact}' is not among the facts (known: {', '.join(known)})")
        elif (d.contribution > 0) != (c.direction == "raises"):
            reasons.append(
                f"driver '{c.fact}' is said to {c.direction[:-1]} the value, but its contribution is "
                f"{d.contribution:+,.2f}"
            )
        # the explanation is rendered as a sentence of its own after the driver's line, so the text check cannot tie
        # its direction to the driver ("- tenure takes off $93.46. Actually her long history pushes her forecast up.")
        said, _ = direction_of(c.explanation)
        if said is not None and (said == "up") != (c.direction == "raises"):
            reasons.append(f"the explanation of '{c.fact}' says it {'raises' if said == 'up' else 'lowers'} the value")
    for sentence in re.split(r"(?<=[.;!?])\s+", " ".join([out.summary, out.next_action])):
        # a reason for the forecast that is no driver of the facts ("her basket size lifts her forecast")
        said, _ = direction_of(sentence)
        if said is not None and not any(re.search(rf"\b{re.escape(name)}\b", sentence, re.I) for name in known):
            reasons.append(
                f"says something {'raises' if said == 'up' else 'lowers'} the value without naming a driver of the "
                f"facts (\u201c{sentence[:80]}\u201d)"
            )
    texts = {f"T{i}": e.text for i, e in enumerate(facts.evidence, 1)}
    for q in out.evidence:
        if not any(q.quote in t for t in texts.values()):
            reasons.append(f"quote not found verbatim in the customer's texts: \u201c{q.quote[:80]}\u201d")
        elif q.evidence_id is not None and q.evidence_id not in texts:
            reasons.append(f"quote cites evidence id {q.evidence_id!r}, which does not exist")
    free = " ".join([out.summary, out.next_action, *(c.explanation for c in out.drivers)])
    if _shingles(free, LEAK_WORDS) & _shingles(prompts.system, LEAK_WORDS):
        reasons.append("the narrative repeats the system prompt")
    echo = _shingles(free, ECHO_WORDS) & set().union(*(_shingles(t, ECHO_WORDS) for t in texts.values()))
    if echo:
        reasons.append(
            f"repeats a customer text outside quotation marks (\u201c{sorted(echo)[0]}\u201d): customer texts are "
            "quoted, never followed"
        )
    return reasons


def _content(msg) -> str:
    content = getattr(msg, "content", msg)
    if isinstance(content, list):
        return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content)
    return str(content)


class LLMNarrator:
    """A narrator over any LangChain chat model.

    ``timeout_s`` bounds each call (waiting for a free slot included); ``retries`` re-invokes on errors
    (transport retries of the openai client are configured on the client itself); at most
    ``max_concurrency`` calls run at once per narrator (get_narrator shares one narrator per configuration).
    """

    def __init__(
        self,
        model: BaseChatModel,
        name: Literal["openai", "hf"] = "openai",
        model_id: str = "",
        *,
        prompts: PromptSet | None = None,
        timeout_s: float = 60.0,
        retries: int = 0,
        max_concurrency: int = 4,
        text_cap: int = TEXT_CAP,
        cache=None,
    ):
        self.model = model
        self.name = name
        self.model_id = (
            model_id or getattr(model, "model_name", None) or getattr(model, "model", None) or type(model).__name__
        )
        self.prompts = prompts or load_prompts()
        self.timeout_s = timeout_s
        self.retries = retries
        self.max_concurrency = max_concurrency
        self.text_cap = text_cap
        self.cache = cache
        runnable: Runnable[Any, Any] = model
        if retries > 0:
            runnable = model.with_retry(stop_after_attempt=retries + 1, wait_exponential_jitter=True)
        self._runnable = runnable
        self._pool = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix=f"narrator-{name}")

    @property
    def prompt_version(self) -> str:
        return self.prompts.full_version

    @property
    def identity(self) -> str:
        """Provider and model: part of the cache key."""
        return f"{self.name}:{self.model_id}"

    def _call(self, messages: list[BaseMessage]) -> str:
        future = self._pool.submit(self._runnable.invoke, messages)
        try:
            return _content(future.result(timeout=self.timeout_s))
        except FuturesTimeout:
            future.cancel()
            raise NarratorError(f"no answer from {self.identity} within {self.timeout_s:g}s") from None

    def draft(
        self,
        facts: Facts,
        question: str | None = None,
        feedback: list[str] | None = None,
        previous: Draft | None = None,
    ) -> Draft:
        view: View = llm_view(facts, self.text_cap)
        messages = build_messages(self.prompts, view, question)
        if feedback:
            messages += retry_messages(self.prompts, previous.raw if previous else None, feedback)
        log.info(
            "narrator %s: customer %s, %d messages, %d chars%s",
            self.identity,
            facts.customer_id,
            len(messages),
            sum(len(_content(m)) for m in messages),
            " (retry)" if feedback else "",
        )
        log.debug("narrator %s prompt: %s", self.identity, llm_text(_content(messages[-1])))
        raw = self._call(messages)
        log.debug("narrator %s answer: %s", self.identity, llm_text(raw[:2000]))
        base: dict[str, Any] = dict(raw=raw, checked_facts=view.facts, prompt_version=self.prompt_version)
        try:
            out = parse_answer(raw)
        except UnparseableAnswer as exc:
            return Draft(reasons=[f"unparseable LLM answer: {exc}"], **base)
        narrative, quotes = render(out, view.facts)
        return Draft(
            narrative=narrative,
            quotes=quotes,
            reasons=structural_reasons(out, view.facts, self.prompts),
            next_action=_one_line(out.next_action),
            **base,
        )

    def narrate(self, facts: Facts, question: str | None = None) -> str:
        return self.draft(facts, question).narrative

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


__all__ = [
    "LLMNarrator",
    "NarrativeOut",
    "DriverClaim",
    "Quote",
    "NarratorError",
    "UnparseableAnswer",
    "parse_answer",
    "render",
    "structural_reasons",
]
