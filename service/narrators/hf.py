"""A thin LangChain chat model over a local transformers model folder (the ``hf`` provider).

langchain-huggingface would pin huggingface_hub below the version transformers 5 and sentence-transformers
need, so this is our own ~80-line BaseChatModel: the folder's chat template when it has one (a plain
"role: text" transcript otherwise), greedy ``generate`` bounded by ``max_new_tokens`` and ``max_time``,
offline (``local_files_only``), one generation at a time per model.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


class LocalModelError(ValueError):
    """The model folder is missing or not a causal language model."""


class LocalTransformersChat(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    max_new_tokens: int = 512
    max_time_s: float | None = 60.0
    temperature: float = 0.0
    max_input_tokens: int | None = None  # default: the model's context size minus max_new_tokens

    _tokenizer: Any = PrivateAttr(default=None)
    _model: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def load(self) -> LocalTransformersChat:
        if self._model is not None:
            return self
        path = Path(self.model_path)
        if not (path / "config.json").is_file():
            raise LocalModelError(
                f"{path}: not a transformers model folder (no config.json); set INSIGHT_LLM_MODEL_PATH"
            )
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self._model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise LocalModelError(f"{path}: cannot load a causal language model ({exc})") from exc
        self._model.eval()
        return self

    @property
    def _llm_type(self) -> str:
        return "local-transformers"

    @property
    def _identifying_params(self) -> dict:
        return {"model_path": self.model_path, "max_new_tokens": self.max_new_tokens}

    def _prompt(self, messages: list[BaseMessage]) -> str:
        chat = [
            {"role": _ROLES.get(m.type, "user"), "content": m.content if isinstance(m.content, str) else str(m.content)}
            for m in messages
        ]
        tok = self._tokenizer
        if getattr(tok, "chat_template", None):
            return tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        return "\n\n".join(f"{c['role']}: {c['content']}" for c in chat) + "\n\nassistant:"

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager=None, **kwargs: Any
    ) -> ChatResult:
        import torch

        self.load()
        tok, model = self._tokenizer, self._model
        enc = tok(self._prompt(messages), return_tensors="pt", add_special_tokens=False)
        n_in = enc["input_ids"].shape[1]
        ctx = (
            self.max_input_tokens
            or (
                getattr(model.config, "max_position_embeddings", None)
                or getattr(model.config, "n_positions", None)
                or 4096
            )
            - self.max_new_tokens
        )
        if n_in > ctx:
            raise ValueError(f"prompt of {n_in} tokens does not fit the model's context ({ctx} tokens for input)")
        gen = dict(
            max_new_tokens=self.max_new_tokens,
            pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        )
        if self.max_time_s:
            gen["max_time"] = self.max_time_s
        if self.temperature > 0:
            gen.update(do_sample=True, temperature=self.temperature)
        else:
            gen["do_sample"] = False
        with self._lock, torch.inference_mode():
            out = model.generate(**enc, **gen)
        text = tok.decode(out[0, n_in:], skip_special_tokens=True)
        for s in stop or []:
            text = text.split(s, 1)[0]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])
