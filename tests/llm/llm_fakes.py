"""Test helpers: tiny fake backends (no model), a tiny local HF model builder, a free port."""
from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

from simlab.llm.base import ChatRequest, ChatResponse, parse_json_reply


def _digest(req: ChatRequest) -> int:
    return int(hashlib.sha256(req.cache_key_payload("fake").encode()).hexdigest()[:8], 16)


class EchoJSONBackend:
    """Replies with the request's fallback as JSON plus a seed-dependent tag; counts calls."""

    is_llm = True

    def __init__(self, model_id: str = "fake-json") -> None:
        self.model_id = model_id
        self.calls: list[list[ChatRequest]] = []

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        self.calls.append(list(requests))
        out = []
        for req in requests:
            move = dict(req.fallback or {"action": "offer", "amount": 1.0, "message": "hi"})
            move["message"] = f"{move.get('message', '')} #{_digest(req) % 1000}"
            text = json.dumps(move)
            out.append(
                ChatResponse(
                    text=text,
                    parsed=parse_json_reply(text, req.json_schema) if req.json_schema else None,
                    model=self.model_id,
                    prompt_tokens=10 * len(req.messages),
                    prompt_tokens_evaluated=10,
                    completion_tokens=len(text) // 4,
                    latency_s=0.01,
                )
            )
        return out

    def close(self) -> None:
        pass


class GarbageBackend(EchoJSONBackend):
    """Never produces JSON."""

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        self.calls.append(list(requests))
        return [
            ChatResponse(
                text=f"I refuse to answer in JSON ({_digest(r) % 97})",
                model=self.model_id,
                prompt_tokens=7,
                prompt_tokens_evaluated=7,
                completion_tokens=9,
                latency_s=0.02,
            )
            for r in requests
        ]


class FixedOnRepairBackend(EchoJSONBackend):
    """Garbage on the first attempt, valid JSON when the last message is a repair instruction."""

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        out = []
        good = super().generate(requests)
        for req, resp in zip(requests, good):
            if "not a valid JSON object" in req.messages[-1]["content"]:
                out.append(resp)
            else:
                out.append(
                    ChatResponse(
                        text="{broken", model=self.model_id, prompt_tokens=5,
                        prompt_tokens_evaluated=5, completion_tokens=2, latency_s=0.01,
                    )
                )  # fmt: skip
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def build_tiny_hf_model(path: Path) -> Path:
    """A 2-layer Llama with a byte-level BPE tokenizer trained here; no downloads."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    corpus = [
        '{"action": "offer", "offer": {"amount": 1200, "months": 12}, "emotion": "neutral", "message": "ok"}',
        "system user assistant You negotiate a debt. I can pay 1000 over 12 months.",
    ] * 20
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", bos_token="<|im_start|>", pad_token="<|endoftext|>"
    )
    fast.chat_template = CHATML
    fast.save_pretrained(path)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    return path


