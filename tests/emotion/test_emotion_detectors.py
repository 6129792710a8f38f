"""Detectors: lexicon known answers, the LLM judge through a backend, a local HF classifier."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simlab.emotion.detectors import (
    DETECTORS,
    EmotionDetector,
    HFClassifierDetector,
    LexiconDetector,
    LLMJudgeDetector,
    make_detector,
)
from simlab.emotion.labels import EKMAN7, GOEMOTIONS28, PLUTCHIK8
from simlab.errors import BackendUnavailable, ConfigError
from simlab.llm.base import ChatResponse

KNOWN = [
    ("I am furious! This is outrageous and I hate being treated like this.", "anger"),
    ("I'm so happy and grateful, this is wonderful news!", "joy"),
    ("I am terrified and afraid of what will happen to my family.", "fear"),
    ("I feel so sad and lonely, I lost everything.", "sadness"),
    ("That is disgusting and revolting.", "disgust"),
    ("Wow, I did not expect that at all, what a surprise!", "surprise"),
    ("The meeting is at 3 pm on Tuesday.", "neutral"),
]


def argmax(dist: dict[str, float]) -> str:
    return max(dist, key=dist.get)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lexicon() -> LexiconDetector:
    return LexiconDetector()


def assert_distribution(dist: dict[str, float], space) -> None:
    assert list(dist) == list(space)
    assert all(p >= 0 for p in dist.values())
    assert abs(sum(dist.values()) - 1.0) < 1e-9


@pytest.mark.parametrize("text,expected", KNOWN)
def test_lexicon_known_answers(lexicon, text, expected):
    dist = lexicon(text)
    assert_distribution(dist, EKMAN7)
    assert argmax(dist) == expected


def test_lexicon_is_a_detector_and_handles_edge_cases(lexicon):
    assert isinstance(lexicon, EmotionDetector)
    for text in ["", "   ", "!!!", "ALL CAPS WITHOUT FEELING", "12345"]:
        assert_distribution(lexicon(text), EKMAN7)
    # negation: "not happy" is not joy
    assert argmax(lexicon("I am not happy with this at all.")) != "joy"
    # task vocabulary ("pay", "deal") is not an emotion
    assert argmax(lexicon("We can pay 200 per month if that is the deal.")) == "neutral"
    # shouting raises arousal: anger gains over the same words without it
    calm, loud = lexicon("this is unacceptable and ridiculous"), lexicon("THIS IS UNACCEPTABLE AND RIDICULOUS!!!")
    assert loud["anger"] > calm["anger"]
    assert lexicon.detect_batch([KNOWN[0][0], KNOWN[1][0]]) == [lexicon(KNOWN[0][0]), lexicon(KNOWN[1][0])]


@pytest.mark.parametrize("space", [PLUTCHIK8, GOEMOTIONS28])
def test_lexicon_in_other_spaces(space):
    det = LexiconDetector(space=space)
    dist = det("I am furious! This is outrageous and I hate being treated like this.")
    assert_distribution(dist, space)
    assert argmax(dist) == "anger"
    assert argmax(det("I'm so happy and grateful, this is wonderful news!")) in ("joy", "gratitude", "admiration")


def test_lexicon_runs_offline_without_textblob_or_nltk():
    code = (
        "import sys, json, socket\n"
        "def no_network(*a, **k):\n"
        "    raise RuntimeError('network access')\n"
        "socket.socket.connect = no_network\n"
        "socket.create_connection = no_network\n"
        "from simlab.emotion.detectors import LexiconDetector\n"
        "d = LexiconDetector()\n"
        "r = d('I am furious and so angry!')\n"
        "print(json.dumps({'textblob': 'textblob' in sys.modules, 'nltk': 'nltk' in sys.modules, "
        "'top': max(r, key=r.get)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"textblob": False, "nltk": False, "top": "anger"}


# ---------------------------------------------------------------------------- LLM judge


class FakeBackend:
    """An LLMBackend answering from a script; records the requests."""

    model_id = "fake-judge"
    is_llm = True

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []

    def generate(self, requests):
        self.requests.append(list(requests))
        out = []
        for _ in requests:
            reply = self.replies.pop(0)
            if isinstance(reply, dict):
                out.append(ChatResponse(text=json.dumps(reply), parsed=reply, model=self.model_id))
            else:
                out.append(ChatResponse(text=reply, parsed=None, model=self.model_id))
        return out

    def close(self):
        pass


def test_llm_judge_constrains_to_the_labels_and_batches():
    backend = FakeBackend([{"emotion": "anger", "confidence": 0.9}, '{"emotion": "joy", "confidence": 0.6}'])
    judge = LLMJudgeDetector(backend)
    a, b = judge.detect_batch(["You are cheating me!", "Thanks a lot"])
    assert len(backend.requests) == 1 and len(backend.requests[0]) == 2  # one batch
    request = backend.requests[0][0]
    assert request.json_schema["properties"]["emotion"]["enum"] == list(EKMAN7)
    assert request.json_schema["required"] == ["emotion", "confidence"]
    assert_distribution(a, EKMAN7) and argmax(a) == "anger" and abs(a["anger"] - 0.9) < 1e-12
    assert argmax(b) == "joy" and abs(b["joy"] - 0.6) < 1e-12  # parsed from the raw text


def test_llm_judge_unparseable_reply_is_uniform_and_counted():
    judge = LLMJudgeDetector(FakeBackend(["no idea", {"emotion": "smug", "confidence": 1.0}]))
    for text in ("hmm", "hmm"):
        dist = judge(text)
        assert_distribution(dist, EKMAN7)
        assert max(dist.values()) - min(dist.values()) < 1e-12
    assert judge.failures == 2


# ------------------------------------------------------------------ Hugging Face classifier


def _tiny_classifier(folder: Path, labels: list[str], bias_label: str) -> Path:
    """Save a tiny random BERT classifier whose bias favours `bias_label` (no download)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "i", "am", "furious", "happy", "the"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    tokenizer = transformers.BertTokenizer(str(folder / "vocab.txt"))
    config = transformers.BertConfig(
        vocab_size=len(words), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=16, max_position_embeddings=32, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={x: i for i, x in enumerate(labels)},
    )
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.bias.zero_()
        model.classifier.bias[labels.index(bias_label)] = 6.0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.slow  # imports torch + transformers (~5 s)
def test_hf_classifier_loads_a_local_model_and_maps_labels(tmp_path):
    path = _tiny_classifier(tmp_path / "ekman", list(EKMAN7), "anger")
    det = HFClassifierDetector(path)
    dist = det("i am furious")
    assert_distribution(dist, EKMAN7)
    assert argmax(dist) == "anger"
    # a GoEmotions-labelled model used in the Ekman space: annoyance -> anger (published table)
    go = _tiny_classifier(tmp_path / "go", list(GOEMOTIONS28), "annoyance")
    assert argmax(HFClassifierDetector(go, space="ekman7")("i am furious")) == "anger"


@pytest.mark.slow
def test_hf_classifier_errors_are_one_line_and_actionable(tmp_path):
    with pytest.raises(BackendUnavailable, match="no Hugging Face classifier at"):
        HFClassifierDetector(tmp_path / "missing")
    odd = _tiny_classifier(tmp_path / "odd", ["LABEL_0", "LABEL_1"], "LABEL_0")
    with pytest.raises(ConfigError, match="label_map"):
        HFClassifierDetector(odd)
    det = HFClassifierDetector(odd, label_map={"LABEL_0": "joy", "LABEL_1": "sadness"})
    assert argmax(det("the")) == "joy"


def test_detector_registry_imports_every_entry():
    assert {"lexicon", "llm_judge", "hf_classifier"} <= set(DETECTORS.names())
    for name in DETECTORS.names():
        assert callable(DETECTORS.get(name))
    assert isinstance(make_detector("lexicon", space="plutchik8"), LexiconDetector)
