"""The hf provider's real generation path: a tiny randomly initialised transformers model, built inside the test
(no download), loaded from its folder through get_narrator. Its gibberish must fail the check and fall back."""

import re

import pytest

from service.config import Settings
from service.explain import TemplateNarrator, explain_facts, narrate_checked
from service.narrators import NarratorOptions, get_narrator, reset_narrators
from service.narrators.prompt import build_messages, llm_view, load_prompts
from service.narrators.redteam import sample_facts

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llm")
    corpus = "\n".join(m.content for m in build_messages(load_prompts(), llm_view(sample_facts("High"))))
    words = sorted(set(re.findall(r"\w+|[^\w\s]+", corpus)))
    specials = ["[UNK]", "[PAD]", "[EOS]", "<|system|>", "<|user|>", "<|assistant|>"]
    vocab = {w: i for i, w in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=len(vocab),
        n_positions=4096,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=2,
        eos_token_id=2,
        pad_token_id=1,
    )
    model = GPT2LMHeadModel(cfg)
    # A random model may argmax a special token forever (decoded as ''); keep it to words so the test sees real text.
    model.generation_config = GenerationConfig(suppress_tokens=[0, 1], bos_token_id=2, eos_token_id=2, pad_token_id=1)
    model.save_pretrained(folder)
    return folder


@pytest.fixture()
def hf_narrator(tiny_model, tmp_path):
    reset_narrators()
    s = Settings(_env_file=None, llm_provider="hf", llm_model_path=str(tiny_model), cache_dir=tmp_path)
    yield get_narrator(s, NarratorOptions(_env_file=None, max_tokens=24, timeout_s=60, cache="off"))
    reset_narrators()


def test_hf_provider_generates_and_its_gibberish_falls_back(hf_narrator):
    assert hf_narrator.name == "hf" and hf_narrator.identity.startswith("hf:tiny-llm")
    facts = sample_facts("High")
    out = narrate_checked(facts, hf_narrator)
    assert len(out.attempts) == 2  # retried once with the failures fed back
    raw = out.attempts[0].draft.raw
    assert raw and raw.strip()  # the model really generated text
    assert out.fallback and out.narrator == "template"
    assert all("unparseable LLM answer" in r for a in out.attempts for r in a.check.reasons)
    exp = explain_facts(facts, hf_narrator)
    assert exp.fallback and exp.narrator == "template" and exp.narrative == TemplateNarrator().narrate(facts)
    assert exp.prompt_version == load_prompts().full_version


def test_hf_prompt_uses_the_folder_chat_template(hf_narrator):
    chat = hf_narrator.model
    text = chat._prompt(build_messages(load_prompts(), llm_view(sample_facts("Low"))))
    assert text.startswith("<|system|> ") and text.rstrip().endswith("<|assistant|>")


def test_hf_prompt_too_long_for_the_context_is_a_fallback(hf_narrator):
    hf_narrator.model.max_input_tokens = 100
    try:
        exp = explain_facts(sample_facts("Low"), hf_narrator)
    finally:
        hf_narrator.model.max_input_tokens = None
    assert exp.fallback and "does not fit the model's context" in exp.check.reasons[0]
