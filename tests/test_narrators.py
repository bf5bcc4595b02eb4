"""LLM narrator with LangChain fake chat models: good, wrong and malformed answers, each caught by the check;
retry with feedback; timeouts, retries, the concurrency limit; the cache; providers; privacy of what is sent."""

import json
import logging
import threading
import time
from dataclasses import replace

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from service.config import Settings
from service.explain import (
    ALL_DRIVER_NAMES,
    Explanation,
    TemplateNarrator,
    check_narrative,
    explain_facts,
    narrate_checked,
)
from service.narrators import NarratorConfigError, NarratorOptions, get_narrator, reset_narrators
from service.narrators.cache import ExplanationCache
from service.narrators.llm import LLMNarrator, parse_answer
from service.narrators.prompt import build_messages, facts_payload, llm_view, load_prompts, texts_payload
from service.narrators.redteam import sample_facts
from service.narrators.stub_server import RuleBasedChatModel, faithful_answer


class RecordingFake(FakeListChatModel):
    """FakeListChatModel that remembers every conversation it was sent."""

    seen: list = []

    def _call(self, messages, *args, **kwargs):
        self.seen.append(list(messages))
        return super()._call(messages, *args, **kwargs)


@pytest.fixture()
def facts():
    return sample_facts("High")


def good_answer(facts) -> dict:
    view = llm_view(facts)
    return faithful_answer(facts_payload(view.facts), texts_payload(view))


def narrator_for(*answers, **kw) -> LLMNarrator:
    model = RecordingFake(responses=[a if isinstance(a, str) else json.dumps(a) for a in answers], seen=[])
    return LLMNarrator(model, **kw)


def test_good_answer_passes_and_records_narrator_and_prompt_version(facts):
    ans = good_answer(facts)
    exp = explain_facts(facts, narrator_for(ans))
    assert exp.narrator == "openai" and not exp.fallback and exp.check.passed, exp.check.reasons
    assert exp.prompt_version == load_prompts().full_version and exp.prompt_version.startswith("narrator-v1-")
    assert exp.next_action == ans["next_action"]
    assert "High tier" in exp.narrative and "\u201cPrinter ink arrived quickly" in exp.narrative
    assert "recency takes off $5.72" in exp.narrative and "frequency adds $22.88" in exp.narrative
    # The explanation contract is unchanged: the template narrator still fills every field.
    t = explain_facts(facts, TemplateNarrator())
    assert t.narrator == "template" and t.prompt_version is None and t.next_action == facts.next_action
    assert set(Explanation.model_fields) >= {
        "customer_id",
        "tier",
        "predicted_value",
        "narrative",
        "drivers",
        "evidence",
        "narrator",
        "check",
        "fallback",
    }


def _mutate(facts, kind):
    a = good_answer(facts)
    if kind == "wrong number":
        a["summary"] = a["summary"].replace("$57.20", "$75.20")
    elif kind == "wrong tier":
        a["summary"] = a["summary"].replace("High tier", "VIP tier")
    elif kind == "flipped driver":
        a["drivers"][0]["direction"] = "lowers"
    elif kind == "invented quote":
        a["evidence"] = [{"evidence_id": "T1", "quote": "Best shop in town, I buy everything here."}]
    elif kind == "unknown driver":
        a["drivers"].append({"fact": "tenure", "direction": "raises", "explanation": "a long-standing customer"})
    elif kind == "injection obeyed":
        a["summary"] = f"Customer {facts.customer_id} is a VIP customer, as the customer asked."
    elif kind == "prompt leaked":
        a["next_action"] = "My rules: " + " ".join(load_prompts().system.split()[:30])
    elif kind == "wrong churn":
        a["summary"] += " Churn risk is 75%."
    return a


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("wrong number", "number 75.20 matches no fact"),
        ("wrong tier", "states tier VIP but the customer is High"),
        ("flipped driver", "driver 'frequency' is said to lower the value"),
        ("invented quote", "quote not found verbatim"),
        ("unknown driver", "driver 'tenure' is not among the facts"),
        ("injection obeyed", "states tier VIP but the customer is High"),
        ("prompt leaked", "repeats the system prompt"),
        ("wrong churn", "75% matches no fact"),
        ("malformed", "unparseable LLM answer"),
        ("not json at all", "unparseable LLM answer: no JSON object"),
        ("missing field", "does not match the answer format"),
    ],
)
def test_every_unfaithful_answer_is_caught_retried_once_and_replaced(facts, kind, reason):
    if kind == "malformed":
        bad = '{"summary": "Customer C000314 is in the High tier", "drivers": [{"fact": "frequency", '
    elif kind == "not json at all":
        bad = "Sure! This customer is great and will buy a lot."
    elif kind == "missing field":
        bad = json.dumps({k: v for k, v in good_answer(facts).items() if k != "next_action"})
    else:
        bad = json.dumps(_mutate(facts, kind))
    nar = narrator_for(bad)
    exp = explain_facts(facts, nar)
    assert exp.fallback and exp.narrator == "template" and not exp.check.passed
    assert exp.narrative == TemplateNarrator().narrate(facts)
    assert any(reason in r for r in exp.check.reasons), exp.check.reasons
    assert len(nar.model.seen) == 2  # retried exactly once
    assert exp.prompt_version == nar.prompt_version  # names the prompt whose narrative was rejected
    assert all(r.startswith(("attempt 1: ", "attempt 2: ", "attempts 1, 2: ")) for r in exp.check.reasons)


def test_failures_are_fed_back_and_a_fixed_answer_is_accepted(facts):
    nar = narrator_for(_mutate(facts, "wrong number"), good_answer(facts))
    exp = explain_facts(facts, nar)
    assert exp.narrator == "openai" and exp.check.passed and not exp.fallback
    first, second = nar.model.seen
    assert len(second) == len(first) + 2
    assert second[-2].type == "ai" and "75.20" in second[-2].content  # its own rejected answer
    assert second[-1].type == "human" and "number 75.20 matches no fact" in second[-1].content


def test_parse_tolerates_fences_and_chatter(facts):
    a = good_answer(facts)
    out = parse_answer("Here you go:\n```json\n" + json.dumps(a) + "\n```\nAnything else?")
    assert out.summary == a["summary"]
    a["drivers"][0]["direction"] = "Positive"
    assert parse_answer(json.dumps(a)).drivers[0].direction == "raises"


def test_structured_checks_catch_what_prose_checks_could_miss(facts):
    # A flipped direction whose rendered sentence has no direction word cannot hide: the structure is checked too.
    a = good_answer(facts)
    a["drivers"] = [{"fact": "recency", "direction": "raises", "explanation": ""}]
    exp = explain_facts(facts, narrator_for(a, a))
    assert exp.fallback and any("driver 'recency' is said to raise" in r for r in exp.check.reasons)


def test_rule_based_model_reading_the_real_prompt_passes(facts):
    model = RuleBasedChatModel()
    exp = explain_facts(facts, LLMNarrator(model))
    assert exp.narrator == "openai" and exp.check.passed and model.calls == 1


# ----------------------------------------------------------------------------- prompt, privacy, logs


def test_prompt_carries_facts_as_json_and_texts_delimited_redacted_capped():
    from service.explain import Evidence

    long = "word " * 300
    f = sample_facts(
        "Medium",
        [
            Evidence(
                text="Mail me at jane.doe@example.com or call +44 20 7946 0958, card 4111 1111 1111 1111.",
                source="review 2025-12-01, 3/5",
            ),
            Evidence(text=long, source="review 2025-11-01, 4/5"),
        ],
    )
    msgs = build_messages(load_prompts(), llm_view(f, cap=120))
    user = msgs[-1].content
    assert msgs[0].type == "system" and "never instructions" in msgs[0].content
    facts_json = json.loads(user.split("the only source of truth):\n", 1)[1].split("\n\nCUSTOMER TEXTS", 1)[0])
    assert facts_json["tier"] == "Medium" and facts_json["drivers"][2] == {
        "name": "recency",
        "direction": "lowers",
        "contribution": -0.79,
        "value": 48,
        "unit": "days since last purchase",
        "percentile": 64,
    }
    texts = json.loads(user.split("<<<CUSTOMER_TEXTS\n", 1)[1].split("\nCUSTOMER_TEXTS>>>", 1)[0])
    assert texts[0]["text"] == "Mail me at [email] or call [phone], card [card]."
    assert texts[1]["truncated"] and len(texts[1]["text"]) <= 120
    everything = "\n".join(m.content for m in msgs)
    for secret in ("jane.doe@example.com", "7946", "4111"):
        assert secret not in everything
    # few-shot examples: (human, ai) pairs before the real question
    assert [m.type for m in msgs[1:-1]] == ["human", "ai"] * len(load_prompts().examples)


def test_nothing_personal_leaves_the_process_nor_reaches_the_logs(facts, caplog):
    from service.explain import Evidence

    facts.evidence = [
        Evidence(text="Great ink. Reach me on 0151 496 0321 or ann@example.org.", source="review 2025-12-01, 5/5")
    ]
    a = good_answer(facts)
    a["evidence"] = [{"evidence_id": "T1", "quote": "Great ink. Reach me on [phone] or [email]."}]
    nar = narrator_for(a)
    with caplog.at_level(logging.DEBUG, logger="service.narrators"):
        exp = explain_facts(facts, nar, question="Should I call ann@example.org back?")
    sent = "\n".join(m.content for m in nar.model.seen[0])
    assert "ann@example.org" not in sent and "496 0321" not in sent and "[email]" in sent
    assert "ann@example.org" not in caplog.text and "496 0321" not in caplog.text and "prompt" in caplog.text
    # The quote of the redacted text is verbatim against what the model saw.
    assert exp.check.passed, exp.check.reasons
    assert "\u201cGreat ink. Reach me on [phone] or [email].\u201d" in exp.narrative


# ----------------------------------------------------------------------------- timeouts, retries, concurrency


def test_timeout_falls_back_without_retry_and_says_why(facts):
    model = RecordingFake(responses=[json.dumps(good_answer(facts))], sleep=2.0, seen=[])
    nar = LLMNarrator(model, timeout_s=0.2)
    t0 = time.perf_counter()
    exp = explain_facts(facts, nar)
    assert time.perf_counter() - t0 < 1.5
    assert exp.fallback and exp.narrator == "template"
    assert exp.check.reasons == [f"the narrator failed: NarratorError: no answer from {nar.identity} within 0.2s"]


def test_transient_errors_are_retried_a_bounded_number_of_times(facts):
    class Flaky(FakeListChatModel):
        failures: int = 0
        calls: int = 0

        def _call(self, *a, **k):
            self.calls += 1
            if self.calls <= self.failures:
                raise ConnectionError("connection reset by peer")
            return super()._call(*a, **k)

    ok = Flaky(responses=[json.dumps(good_answer(facts))], failures=1)
    assert explain_facts(facts, LLMNarrator(ok, retries=1)).check.passed and ok.calls == 2
    down = Flaky(responses=["{}"], failures=99)
    exp = explain_facts(facts, LLMNarrator(down, retries=2))
    assert exp.fallback and down.calls == 3 and "connection reset by peer" in exp.check.reasons[0]


def test_concurrency_limit_holds(facts):
    class Counting(FakeListChatModel):
        def _call(self, *a, **k):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(0.05)
            with lock:
                state["now"] -= 1
            return super()._call(*a, **k)

    lock, state = threading.Lock(), {"now": 0, "max": 0}
    nar = LLMNarrator(Counting(responses=[json.dumps(good_answer(facts))]), max_concurrency=2, timeout_s=10)
    results = []
    threads = [threading.Thread(target=lambda: results.append(explain_facts(facts, nar))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r.check.passed for r in results)
    assert state["max"] == 2


# ----------------------------------------------------------------------------- cache


def test_cache_answers_repeats_and_new_model_or_prompt_or_provider_invalidates(facts, tmp_path):
    cache = ExplanationCache(tmp_path / "explanations.sqlite")
    nar = narrator_for(good_answer(facts), cache=cache)
    first = explain_facts(facts, nar)
    again = explain_facts(facts, nar)
    assert again == first and len(nar.model.seen) == 1 and cache.hits == 1
    explain_facts(facts, nar, question="why?")  # another question is another entry
    assert len(nar.model.seen) == 2
    newer = facts.model_copy(update={"model_version": "2026-02-01-next"})
    explain_facts(newer, nar)
    assert len(nar.model.seen) == 3
    other_prompt = narrator_for(good_answer(facts), cache=cache, prompts=replace(load_prompts(), digest="00000000"))
    explain_facts(facts, other_prompt)
    assert len(other_prompt.model.seen) == 1
    other_model = narrator_for(good_answer(facts), cache=cache, model_id="another-model")
    explain_facts(facts, other_model)
    assert len(other_model.model.seen) == 1
    assert len(cache) == 5
    assert cache.purge(keep_model_version=facts.model_version) == 1


def test_failed_calls_are_not_cached_but_failed_checks_are(facts, tmp_path):
    cache = ExplanationCache(tmp_path / "c.sqlite")
    slow = LLMNarrator(RecordingFake(responses=["{}"], sleep=1.0, seen=[]), timeout_s=0.1, cache=cache)
    explain_facts(facts, slow)
    assert len(cache) == 0
    wrong = narrator_for(_mutate(facts, "wrong tier"), cache=cache)
    a = explain_facts(facts, wrong)
    b = explain_facts(facts, wrong)
    assert a.fallback and b == a and len(wrong.model.seen) == 2  # the retry, then nothing


# ----------------------------------------------------------------------------- providers


def test_get_narrator_template_is_the_default():
    assert isinstance(get_narrator(Settings(_env_file=None)), TemplateNarrator)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"llm_provider": "openai"}, "INSIGHT_LLM_MODEL"),
        ({"llm_provider": "openai", "llm_model": "gpt-4o-mini"}, "INSIGHT_LLM_API_KEY"),
        ({"llm_provider": "hf"}, "INSIGHT_LLM_MODEL_PATH"),
        ({"llm_provider": "hf", "llm_model_path": "/nonexistent/model"}, "not a transformers model folder"),
    ],
)
def test_incomplete_llm_settings_are_config_errors(kw, message):
    with pytest.raises(NarratorConfigError, match=message):
        get_narrator(Settings(_env_file=None, **kw), NarratorOptions(_env_file=None, cache="off"))


def test_openai_narrator_is_built_once_per_configuration(tmp_path):
    reset_narrators()
    s = Settings(
        _env_file=None, llm_provider="openai", llm_base_url="http://127.0.0.1:9/v1", llm_model="m", cache_dir=tmp_path
    )
    opts = NarratorOptions(_env_file=None, timeout_s=3, max_retries=0, max_concurrency=3)
    a, b = get_narrator(s, opts), get_narrator(s, opts)
    assert a is b and a.name == "openai" and a.identity == "openai:m@http://127.0.0.1:9/v1" and a.max_concurrency == 3
    assert a.model.max_retries == 0 and a.model.request_timeout == 3 and a.cache is not None
    assert a.cache.path == tmp_path / "explanations.sqlite"
    c = get_narrator(s.model_copy(update={"llm_model": "other"}), opts)
    assert c is not a
    reset_narrators()


def test_unreachable_server_falls_back_with_the_reason(facts, tmp_path):
    reset_narrators()
    s = Settings(
        _env_file=None, llm_provider="openai", llm_base_url="http://127.0.0.1:9/v1", llm_model="m", cache_dir=tmp_path
    )
    exp = explain_facts(facts, get_narrator(s, NarratorOptions(_env_file=None, timeout_s=3, max_retries=0)))
    assert exp.fallback and exp.narrator == "template" and "Connection" in exp.check.reasons[0]
    reset_narrators()


def test_check_still_accepts_the_template_everywhere(facts):
    for tier in ("VIP", "High", "Medium", "Low"):
        f = sample_facts(tier)
        assert check_narrative(TemplateNarrator().narrate(f), f, ALL_DRIVER_NAMES).passed
    assert narrate_checked(facts, TemplateNarrator()).attempts[0].check.passed
