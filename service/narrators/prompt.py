"""The narrator prompt: versioned files in prompts/, and the facts as the LLM may see them.

What goes to the model is structured data: the facts as JSON, and the customer's texts as a separate,
clearly delimited JSON list (redacted of e-mail addresses, phone numbers and card numbers, and capped in
length). The texts are JSON strings inside markers, so no text can break out of its slot; the system
prompt says they are data to quote, never instructions.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from service.explain import Evidence, Facts
from service.privacy import redact

PROMPT_NAME = "narrator"
PROMPT_VERSION = "v1"
TEXT_CAP = 400  # characters of one customer text sent to the model
QUESTION_CAP = 500
RAW_FEEDBACK_CAP = 4000  # characters of a rejected answer fed back on the retry
_PARTS = ("system", "user", "question", "retry")
_MARKERS = ("CUSTOMER_TEXTS", "AGENT_QUESTION")


@dataclass(frozen=True)
class PromptSet:
    name: str
    version: str
    system: str
    user: str
    question: str
    retry: str
    examples: list = field(default_factory=list)
    digest: str = ""

    @property
    def full_version(self) -> str:
        """What goes into every explanation and the cache key: name, version and a hash of the files."""
        return f"{self.name}-{self.version}-{self.digest}"


@lru_cache(maxsize=8)
def load_prompts(version: str = PROMPT_VERSION, name: str = PROMPT_NAME) -> PromptSet:
    root = resources.files("prompts")
    texts, h = {}, hashlib.sha256()
    for part in (*_PARTS, "examples"):
        fname = f"{name}.{version}.{part}.{'json' if part == 'examples' else 'md'}"
        f = root / fname
        if not f.is_file():
            raise FileNotFoundError(f"prompt file prompts/{fname} is missing")
        texts[part] = f.read_text(encoding="utf-8")
        h.update(fname.encode() + b"\0" + texts[part].encode() + b"\0")
    return PromptSet(
        name=name, version=version, examples=json.loads(texts.pop("examples")), digest=h.hexdigest()[:8], **texts
    )


# ----------------------------------------------------------------------------- what the model sees


def _cap(text: str, cap: int) -> tuple[str, bool]:
    if len(text) <= cap:
        return text, False
    cut = text[:cap]
    space = cut.rfind(" ")
    return (cut[:space] if space > cap // 2 else cut).rstrip(), True


def _neutralise(text: str) -> str:
    for m in _MARKERS:
        text = text.replace(m, m.lower().replace("_", " "))
    return text


def llm_text(text: str | None) -> str:
    """A text as it may leave the process: PII masked (cards included), prompt markers defused."""
    return _neutralise(redact(text or "", emails=True, phones=True, cards=True) or "")


@dataclass
class View:
    """The facts as the LLM sees them; the faithfulness check of an LLM narrative runs against these."""

    facts: Facts
    truncated: list[bool]


def llm_view(facts: Facts, cap: int = TEXT_CAP) -> View:
    evidence, truncated = [], []
    for e in facts.evidence:
        text, cut = _cap(llm_text(e.text), cap)
        evidence.append(Evidence(text=text, source=e.source))
        truncated.append(cut)
    return View(facts.model_copy(update={"evidence": evidence}), truncated)


def facts_payload(f: Facts) -> dict:
    return {
        "customer_id": f.customer_id,
        "tier": f.tier,
        "predicted_value": f.predicted_value,
        "currency": f.currency,
        "horizon_days": f.horizon_days,
        "value_rank_pct": f.value_rank_pct,
        "tier_floor": f.tier_floor,
        "next_tier": f.next_tier,
        "next_tier_floor": f.next_tier_floor,
        "churn_probability": round(f.churn_probability, 2),
        "rfm_segment": f.rfm_segment,
        "churn_band": f.churn_band,
        "playbook_next_action": f.next_action,
        "drivers": [
            {
                "name": d.name,
                "direction": "raises" if d.contribution > 0 else "lowers",
                "contribution": round(d.contribution, 2),
                "value": None if d.value is None else round(d.value, 2),
                "unit": d.unit,
                "percentile": None if d.percentile is None else round(d.percentile),
            }
            for d in f.drivers
        ],
    }


def texts_payload(view: View) -> list[dict]:
    return [
        {"id": f"T{i}", "source": e.source, "text": e.text, "truncated": cut}
        for i, (e, cut) in enumerate(zip(view.facts.evidence, view.truncated), 1)
    ]


def _dump(obj) -> str:
    """Readable and compact JSON: one key, or one list item, per line."""
    one = lambda x: json.dumps(x, ensure_ascii=False)  # noqa: E731
    if isinstance(obj, list):
        return "[\n" + ",\n".join(f"  {one(x)}" for x in obj) + "\n]" if obj else "[]"
    lines = []
    for k, v in obj.items():
        if isinstance(v, list) and v:
            lines.append(f"  {one(k)}: [\n" + ",\n".join(f"    {one(x)}" for x in v) + "\n  ]")
        else:
            lines.append(f"  {one(k)}: {one(v)}")
    return "{\n" + ",\n".join(lines) + "\n}"


def _user(p: PromptSet, facts_obj: dict, texts_obj: list, question: str | None) -> str:
    qblock = ""
    if question:
        qblock = string.Template(p.question).safe_substitute(question=_cap(llm_text(question), QUESTION_CAP)[0])
    return string.Template(p.user).safe_substitute(
        facts_json=_dump(facts_obj), customer_texts_json=_dump(texts_obj), question_block=qblock
    )


def build_messages(p: PromptSet, view: View, question: str | None = None) -> list[BaseMessage]:
    msgs: list[BaseMessage] = [SystemMessage(p.system)]
    for ex in p.examples:
        msgs.append(HumanMessage(_user(p, ex["facts"], ex["customer_texts"], None)))
        msgs.append(AIMessage(json.dumps(ex["answer"], ensure_ascii=False)))
    msgs.append(HumanMessage(_user(p, facts_payload(view.facts), texts_payload(view), question)))
    return msgs


def retry_messages(p: PromptSet, raw: str | None, reasons: list[str]) -> list[BaseMessage]:
    bullets = "\n".join(f"- {llm_text(r)}" for r in reasons)
    return [
        AIMessage(llm_text((raw or "")[:RAW_FEEDBACK_CAP]) or "(no answer)"),
        HumanMessage(string.Template(p.retry).safe_substitute(reasons=bullets)),
    ]
