"""The LoRA emotion expresser: a tiny random Llama learns to say the requested emotion; bad input gets one line."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simlab.config.models import BackendSpec
from simlab.emotion.detectors import make_detector
from simlab.errors import BackendUnavailable, ConfigError, StoreError
from simlab.store.store import RunRecord, RunStore

ROOT = Path(__file__).resolve().parents[2]
SAD = "I am so sad about this."
JOY = "I am so happy about this."
OPENINGS = ["I can pay 1000 over 12 months.", "That is too little.", "We need a better offer.",
            "Let us settle this today.", "My budget is tight.", "Can you change the fees?"]


def _tiny_model(path: Path) -> Path:
    spec = importlib.util.spec_from_file_location("llm_fakes_expresser", ROOT / "tests" / "llm" / "llm_fakes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod.build_tiny_hf_model(path)


def _store(path: Path, study: str = "expr", runs: int = 30) -> Path:
    """Runs whose sadness turns say SAD and joy turns say JOY, plus one mismatched turn per run (filtered out)."""
    detector = make_detector("lexicon", space="ekman7")
    store = RunStore(path)
    records = []
    for i in range(runs):
        rid = f"r{i:03d}"
        turns = []
        for k in range(6):
            emotion = "sadness" if (i + k) % 2 else "joy"
            message = OPENINGS[(i + k) % len(OPENINGS)] if k % 3 == 2 else (SAD if emotion == "sadness" else JOY)
            if k == 5:  # asked for joy, said something sad: not an example
                emotion, message = "joy", SAD
            turns.append({"run_id": rid, "turn_index": k, "round": k // 2, "role": ("creditor", "debtor")[k % 2],
                          "emotion": emotion, "message": message, "action": "offer",
                          "detected_json": json.dumps(detector.detect(message))})
        records.append(RunRecord(run={"run_id": rid, "study_id": study, "status": "done", "seed": i}, turns=turns))
    store.write_runs(records)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    pytest.importorskip("peft")
    base = tmp_path_factory.mktemp("expresser")
    return _tiny_model(base / "tiny"), _store(base / "runs.duckdb"), base


def _cfg(model: Path, store: Path, out: Path, **kw):
    from simlab.learn.expresser import ExpresserConfig

    data = {"kind": "expresser", "study": "expr", "store": str(store), "model": str(model), "out": str(out),
            "eval_prompts": 20, "max_new_tokens": 24, "seed": 3, "n_threads": 1,
            "lora": {"r": 8, "alpha": 16, "dropout": 0.0, "learning_rate": 1e-2, "steps": 150, "batch_size": 8,
                     "modules_to_save": ["lm_head"],  # a random model's lm_head is too weak to be steered by adapters alone
                     "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}}
    data.update(kw)
    return ExpresserConfig.model_validate(data)


def test_examples_are_turns_whose_detected_emotion_is_the_requested_one(setup):
    from simlab.learn.expresser import expression_examples

    model, store, base = setup
    train, test, digest = expression_examples(_cfg(model, store, base / "m"), store)
    assert train and test and {e["message"] for e in train + test} == {SAD, JOY}
    assert all((e["emotion"] == "sadness") == (e["message"] == SAD) for e in train + test)  # mismatches dropped
    assert not {e["run_id"] for e in train} & {e["run_id"] for e in test}  # held-out runs
    assert expression_examples(_cfg(model, store, base / "m"), store)[2] == digest


@pytest.mark.slow
def test_lora_expresser_learns_to_express_the_requested_emotion(setup):
    from simlab.learn.expresser import train_expresser
    from simlab.llm.base import ChatRequest
    from simlab.llm.transformers_backend import TransformersBackend

    model, store, base = setup
    cfg = _cfg(model, store, base / "models")
    meta = train_expresser(cfg)
    assert not meta["skipped"] and meta["n_eval"] >= 10
    assert meta["accuracy_before"] <= 0.3  # a random model says no emotion word
    assert meta["accuracy_after"] >= 0.9 and meta["accuracy_after"] >= meta["accuracy_before"] + 0.6
    assert meta["final_loss"] < meta["first_loss"]
    # the adapter round-trips through the backend option and says the requested emotion
    tuned = TransformersBackend(BackendSpec(kind="transformers", model=str(model), options={"adapter": meta["folder"]}))
    plain = TransformersBackend(BackendSpec(kind="transformers", model=str(model)))
    from simlab.learn.expresser import expression_accuracy, expression_examples, expression_messages

    _, held_out, _ = expression_examples(cfg, store)
    detector = make_detector("lexicon", space="ekman7")
    assert expression_accuracy(tuned, held_out, 24, detector)[0] == meta["accuracy_after"]
    assert expression_accuracy(plain, held_out, 24, detector)[0] == meta["accuracy_before"]
    text = tuned.generate([ChatRequest(expression_messages("debtor", "sadness", "We need a better offer."), max_tokens=24,
                                       temperature=0.0, seed=0)])[0].text
    assert "sad" in text, text
    assert train_expresser(cfg)["skipped"]  # same config and data: not retrained


def test_bad_input_is_one_clear_error(setup, tmp_path):
    from simlab.learn.expresser import expression_examples, load_expresser_config
    from simlab.llm.transformers_backend import TransformersBackend

    model, store, base = setup
    with pytest.raises(StoreError, match="does not exist"):
        expression_examples(_cfg(model, tmp_path / "absent.duckdb", base), tmp_path / "absent.duckdb")
    with pytest.raises(StoreError, match="no finished runs"):
        expression_examples(_cfg(model, store, base, study="nope"), store)
    with pytest.raises(StoreError, match="no turns whose detected emotion"):
        expression_examples(_cfg(model, store, base, roles=["mediator"]), store)
    with pytest.raises(BackendUnavailable, match="not a LoRA adapter folder"):
        TransformersBackend(BackendSpec(kind="transformers", model=str(model), options={"adapter": str(tmp_path)}))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"kind": "expresser", "study": "expr", "lora": {"step": 3}}))
    with pytest.raises(ConfigError, match="step"):
        load_expresser_config(bad)
    r = subprocess.run([sys.executable, "-m", "simlab.cli", "train", "expresser", str(bad)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode != 0 and "Traceback" not in r.stderr + r.stdout and "step" in r.stderr + r.stdout
