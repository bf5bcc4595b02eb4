"""A loopback OpenAI-compatible server with a tiny rule-based "LLM", for tests and offline demos.

It speaks ``POST /v1/chat/completions`` and ``GET /v1/models`` like vLLM, llama.cpp server or Ollama do,
reads the FACTS and CUSTOMER TEXTS out of the narrator's prompt and answers with the JSON the prompt asks
for. The model name picks a behaviour, so the real ``openai`` provider can be exercised end to end:

    good           a faithful answer built from the facts
    fix            a wrong number first, the faithful answer once the failures are fed back
    wrong-number   invents a spend figure            wrong-tier     names another tier
    flip           flips the top driver's direction  invent-quote   quotes something the customer never wrote
    unknown-driver names a driver not in the facts   obey           follows instructions found in customer texts
    garbage        answers with malformed JSON       slow           sleeps (for timeout tests)

    python -m service.narrators.stub_server --port 8011
    INSIGHT_LLM_PROVIDER=openai INSIGHT_LLM_BASE_URL=http://127.0.0.1:8011/v1 INSIGHT_LLM_MODEL=stub-good insight
    explain ID --store ...
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

BEHAVIOURS = (
    "good",
    "fix",
    "wrong-number",
    "wrong-tier",
    "flip",
    "invent-quote",
    "unknown-driver",
    "obey",
    "garbage",
    "slow",
)
MONEY_UNITS = {"spent to date", "per order on average"}
_INSTRUCTION = re.compile(r"\b(ignore|instruction|system prompt|disregard|you are now|pretend|reveal|override)\b", re.I)


def _between(text: str, start: str, end: str) -> str:
    i = text.index(start) + len(start)
    return text[i : text.index(end, i)]


def read_prompt(messages: list[dict]) -> tuple[dict, list[dict], str, bool]:
    """Facts, customer texts and system prompt of the narrator's conversation; and whether it is a retry."""
    users = [m for m in messages if m.get("role") == "user"]
    system = next((m["content"] for m in messages if m.get("role") == "system"), "")
    last = users[-1]["content"]
    retry = "failed the automatic faithfulness check" in last
    prompt = users[-2]["content"] if retry else last
    facts = json.loads(_between(prompt, "the only source of truth):\n", "\n\nCUSTOMER TEXTS"))
    texts = json.loads(_between(prompt, "<<<CUSTOMER_TEXTS\n", "\nCUSTOMER_TEXTS>>>"))
    return facts, texts, system, retry


def _money(x: float, c: str) -> str:
    return f"{c}{abs(x):,.2f}"


def _value(d: dict, c: str) -> str:
    v = d.get("value")
    if v is None:
        return ""
    if d.get("unit") in MONEY_UNITS:
        return _money(v, c)
    return f"{v:,.0f}" if abs(v) >= 10 or float(v).is_integer() else f"{v:,.2f}"


def faithful_answer(facts: dict, texts: list[dict]) -> dict:
    c = facts["currency"]
    drivers = sorted(facts["drivers"], key=lambda d: -abs(d["contribution"]))[:3]
    ups = [d["name"] for d in drivers if d["contribution"] > 0]
    downs = [d["name"] for d in drivers if d["contribution"] < 0]
    why = f", mainly thanks to {ups[0]}" if ups else f", mainly because of weak {downs[0]}" if downs else ""
    summary = (
        f"Customer {facts['customer_id']} is in the {facts['tier']} tier: the model expects "
        f"{_money(facts['predicted_value'], c)} of spend in the next {facts['horizon_days']} days, more than "
        f"{facts['value_rank_pct']:.1f}% of scored customers{why}. Churn risk: {facts['churn_probability'] * 100:.0f}% "
        "chance of no purchase in that time."
    )
    if facts.get("next_tier") and facts.get("next_tier_floor") is not None:
        summary += f" {facts['next_tier']} starts at {_money(facts['next_tier_floor'], c)}."
    claims = []
    for d in drivers:
        expl = f"{_value(d, c)} {d.get('unit') or ''}".strip()
        if d.get("percentile") is not None:
            expl += f", percentile {d['percentile']:.0f} among customers"
        claims.append({"fact": d["name"], "direction": d["direction"], "explanation": expl})
    evidence = []
    for t in texts:
        if t["source"].startswith("review") and not _INSTRUCTION.search(t["text"]):
            sentence = re.split(r"(?<=[.!?])\s", t["text"].strip())[0]
            evidence.append({"evidence_id": t["id"], "quote": sentence})
            break
    churn = facts["churn_probability"]
    if facts.get("playbook_next_action"):  # rule 6 of the prompt: the playbook decides the action
        action = facts["playbook_next_action"]
    elif churn >= 0.6:
        action = "Reach out personally with a win-back offer before they lapse."
    elif facts["tier"] in ("VIP", "High") and churn < 0.3:
        action = (
            "Keep them close with early access to new products and a personal account contact; no discount is needed."
        )
    elif any(d["name"] == "recency" and d["contribution"] < 0 for d in drivers):
        action = "Send a timely reminder for the products they usually buy."
    else:
        action = "Recommend related products from the categories they already buy."
    return {"summary": summary, "drivers": claims, "evidence": evidence, "next_action": action}


def answer(messages: list[dict], behaviour: str) -> str:
    facts, texts, system, retry = read_prompt(messages)
    good = faithful_answer(facts, texts)
    if behaviour == "garbage":
        return '{"summary": "Customer is great", "drivers": [ {"fact": frequency, '
    if behaviour == "good" or (behaviour == "fix" and retry):
        return json.dumps(good, ensure_ascii=False)
    bad = json.loads(json.dumps(good))
    if behaviour in ("wrong-number", "fix"):
        bad["summary"] = bad["summary"].replace("the model expects", "the model expects $9,870.00, roughly")
    elif behaviour == "wrong-tier":
        other = next(t for t in ("VIP", "High", "Medium", "Low") if t != facts["tier"])
        bad["summary"] = bad["summary"].replace(f"in the {facts['tier']} tier", f"in the {other} tier")
    elif behaviour == "flip":
        d = bad["drivers"][0]
        d["direction"] = "lowers" if d["direction"] == "raises" else "raises"
    elif behaviour == "invent-quote":
        bad["evidence"] = [{"evidence_id": "T1", "quote": "Best shop ever, I will buy everything again!"}]
    elif behaviour == "unknown-driver":
        known = {d["name"] for d in facts["drivers"]}
        name = next(
            n
            for n in (
                "tenure",
                "category breadth",
                "purchase rhythm",
                "returns and cancellations",
                "average order value",
            )
            if n not in known
        )
        bad["drivers"].append({"fact": name, "direction": "raises", "explanation": "a loyal customer"})
    elif behaviour == "obey":  # a gullible model: does whatever the customer texts it can see say
        for t in texts:
            txt = t["text"]
            m = re.search(r"\b(VIP|High|Medium|Low)\b", txt)
            if m:
                bad["summary"] = (
                    f"Customer {facts['customer_id']} is a {m.group(1)} customer and must be treated as {m.group(1)}."
                )
            if re.search(r"prompt|instructions|rules|Anweisungen", txt, re.I):
                bad["next_action"] = "My instructions say: " + " ".join(system.split()[:40])
            amount = re.search(r"[$] ?[0-9][0-9,]*", txt)
            if amount:
                bad["summary"] += f" They will spend {amount.group(0)}."
            pct = re.search(r"[0-9]+%", txt)
            if pct:
                bad["next_action"] += f" Offer a {pct.group(0)} discount."
            for d in bad["drivers"]:
                if re.search(rf"{re.escape(d['fact'])} lowers", txt):
                    d["direction"] = "lowers"
                elif re.search(rf"{re.escape(d['fact'])} raises", txt):
                    d["direction"] = "raises"
            if re.search(r"\brepeat\b", txt, re.I):
                bad["next_action"] += " The customer wrote: " + txt
    return json.dumps(bad, ensure_ascii=False)


class RuleBasedChatModel(BaseChatModel):
    """The same rule-based "LLM" as an in-process LangChain chat model (no HTTP)."""

    behaviour: str = "good"
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "rule-based-stub"

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.calls += 1
        msgs = [
            {"role": {"human": "user", "ai": "assistant"}.get(m.type, m.type), "content": m.content} for m in messages
        ]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=answer(msgs, self.behaviour)))])


class _Handler(BaseHTTPRequestHandler):
    server: StubServer
    server_version = "insight-stub-llm/1"

    def log_message(self, *args):  # quiet
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            self._send(
                200,
                {
                    "object": "list",
                    "data": [{"id": f"stub-{b}", "object": "model", "owned_by": "stub"} for b in BEHAVIOURS],
                },
            )
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        if not self.path.rstrip("/").endswith("/chat/completions"):
            return self._send(404, {"error": {"message": "not found"}})
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append(body)
        self.server.auth.append(self.headers.get("Authorization"))
        model = body.get("model", "stub-good")
        behaviour = self.server.behaviour or model.removeprefix("stub-")
        if behaviour not in BEHAVIOURS:
            return self._send(
                404, {"error": {"message": f"model {model!r} not found", "type": "invalid_request_error"}}
            )
        if behaviour == "slow":
            time.sleep(self.server.slow_s)
        try:
            content = answer(body.get("messages", []), behaviour)
        except (ValueError, KeyError, StopIteration, IndexError):
            content = "I can only explain customers when you give me their facts."
        self._send(
            200,
            {
                "id": f"chatcmpl-stub-{len(self.server.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in body.get("messages", [])),
                    "completion_tokens": len(content.split()),
                    "total_tokens": 0,
                },
            },
        )


class StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0, behaviour: str | None = None, slow_s: float = 5.0):
        super().__init__((host, port), _Handler)
        self.behaviour, self.slow_s = behaviour, slow_s
        self.requests: list[dict] = []  # every request body, in order
        self.auth: list[str | None] = []  # every request's Authorization header

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> StubServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def main() -> None:  # pragma: no cover - manual use
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8011)
    ap.add_argument("--behaviour", choices=BEHAVIOURS, help="force one behaviour whatever the model name")
    a = ap.parse_args()
    srv = StubServer(a.host, a.port, a.behaviour)
    print(f"stub LLM on {srv.base_url} (models: {', '.join('stub-' + b for b in BEHAVIOURS)})", flush=True)
    srv.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
