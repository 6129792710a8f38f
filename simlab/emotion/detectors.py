"""Emotion detectors: text -> probability distribution over a label space.

Defines the `EmotionDetector` protocol, the `DETECTORS` registry and three
detectors:

- `LexiconDetector` ("lexicon", the default): the NRC Word-Emotion Association
  Lexicon (Mohammad & Turney 2013) as shipped inside the nrclex wheel, read
  directly from its JSON file (nrclex's own `load_raw_text` tokenises with
  TextBlob, whose lemmatiser needs NLTK corpora downloaded at run time, so it is
  not used), plus VADER valence (Hutto & Gilbert 2014, vaderSentiment wheel).
  Fully offline and deterministic.
- `LLMJudgeDetector` ("llm_judge"): constrained classification by any simlab
  `LLMBackend`: a `ChatRequest` whose JSON schema enumerates the labels.
- `HFClassifierDetector` ("hf_classifier"): a Hugging Face text-classification
  model from a local folder the user provides (transformers imported lazily).

Every detector is callable (``detector(text)``), which is how the engine calls
it after each turn, and has `detect_batch` for many texts at once. Every output
has exactly the labels of the detector's space, non-negative, summing to 1.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from simlab.emotion import vad as vad_mod
from simlab.emotion.labels import ALL_LABELS, PLUTCHIK8, get_space, infer_space
from simlab.emotion.mapping import mapping_matrix
from simlab.errors import BackendUnavailable, ConfigError
from simlab.registry import Registry


@runtime_checkable
class EmotionDetector(Protocol):
    """What every detector provides."""

    space: tuple[str, ...]

    def detect(self, text: str) -> dict[str, float]:
        """A distribution over `space` (every label present, summing to 1)."""
        ...

    def detect_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """`detect` for each text (one backend call where the detector supports batching)."""
        ...

    def __call__(self, text: str) -> dict[str, float]:
        ...


DETECTORS: Registry[type] = Registry("detector", entry_point_group="simlab.detectors")


def normalise(scores: Mapping[str, float] | np.ndarray, space: Sequence[str]) -> dict[str, float]:
    """Scores over `space` as a distribution (uniform when they are all zero)."""
    if isinstance(scores, Mapping):
        v = np.array([max(float(scores.get(x, 0.0)), 0.0) for x in space])
    else:
        v = np.clip(np.asarray(scores, dtype=float), 0.0, None)
    total = v.sum()
    if not math.isfinite(total) or total <= 0:
        v = np.ones(len(space))
        total = float(len(space))
    v = v / total
    return {x: float(p) for x, p in zip(space, v)}


def uniform(space: Sequence[str]) -> dict[str, float]:
    return {x: 1.0 / len(space) for x in space}


class _DetectorBase:
    space: tuple[str, ...]

    def detect(self, text: str) -> dict[str, float]:  # pragma: no cover - overridden
        raise NotImplementedError

    def detect_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        return [self.detect(t) for t in texts]

    def __call__(self, text: str) -> dict[str, float]:
        return self.detect(text)


# --------------------------------------------------------------------------------------
# Lexicon detector
# --------------------------------------------------------------------------------------

SEED_WORDS: dict[str, tuple[str, ...]] = {
    "anger": (
        "angry", "anger", "furious", "outraged", "outrage", "mad", "rage", "livid", "annoyed",
        "irritated", "infuriated", "infuriating", "enraged", "fuming", "insulting", "hate",
        "frustrated", "frustrating", "frustration", "annoys", "annoying", "unfair",
    ),
    "joy": (
        "happy", "glad", "delighted", "joy", "joyful", "pleased", "great", "wonderful", "excellent",
        "thrilled", "grateful", "thankful", "thank", "thanks", "fantastic", "cheerful", "relieved",
    ),
    "sadness": (
        "sad", "sadness", "unhappy", "depressed", "miserable", "heartbroken", "sorry", "lonely",
        "grief", "disappointed", "hopeless", "devastated", "crying", "cry", "upset",
        "difficult", "struggling", "struggle", "hardship", "burden",
    ),
    "fear": (
        "afraid", "scared", "terrified", "fear", "frightened", "worried", "anxious", "nervous",
        "panic", "panicked", "scary", "frightening", "scare", "scares",
    ),
    "surprise": (
        "surprised", "surprise", "surprising", "shocked", "astonished", "amazed", "unexpected",
        "wow", "stunned", "startled",
    ),
    "disgust": (
        "disgusting", "disgusted", "gross", "revolting", "repulsive", "sickening", "vile",
        "nauseating", "yuck", "distasteful",
    ),
    "trust": ("trust", "trustworthy", "reliable", "honest", "confident"),
    "anticipation": ("hope", "hoping", "eager", "forward"),
}
"""Prototype words per Plutchik category: the category names and their common synonyms.

The NRC lexicon associates most words with several emotions ("furious":
anger and disgust); a prototype adds `seed_weight` to its primary category,
which breaks such ties and covers frequent emotion words the lexicon file
lacks ("sad", "scared").
"""

TASK_WORDS: frozenset[str] = frozenset(
    {
        "deal", "pay", "payment", "payments", "paid", "offer", "offers", "debt", "money", "price",
        "cost", "loan", "interest", "balance", "account", "contract", "term", "terms", "settle",
        "settlement", "agree", "agreement", "plan", "month", "months", "amount", "budget",
        "fee", "fees", "late", "charge", "charges", "rate", "rates", "installment", "installments",
        "bill", "bills", "invoice", "due", "owe", "owed", "credit", "propose", "proposal", "percent",
        "discount",
    }
)
"""Negotiation vocabulary the NRC lexicon tags with emotions ("pay": joy, trust)
that names the task rather than expressing a feeling; ignored by default."""

DISCOURSE_WORDS: frozenset[str] = frozenset(
    {"honestly", "frankly", "really", "truly", "actually", "seriously", "literally", "well", "just"}
)
"""Discourse markers and intensifiers the lexicon tags with emotions ("honestly": trust);
ignored by default."""

NEGATORS: frozenset[str] = frozenset(
    {"not", "no", "never", "without", "hardly", "neither", "nor", "cannot", "nothing", "nobody"}
)

_TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


@lru_cache(maxsize=4)
def load_nrc_lexicon(path: str | None = None) -> dict[str, tuple[str, ...]]:
    """word -> NRC associations (emotions and positive/negative), from nrclex's wheel by default."""
    if path is None:
        try:
            handle = resources.files("nrclex.data").joinpath("nrc_en.json").open("r", encoding="utf-8")
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            raise BackendUnavailable(
                "the lexicon detector needs the NRC lexicon shipped in the nrclex wheel: pip install nrclex"
            ) from exc
        with handle:
            data = json.load(handle)
    else:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    return {str(w).lower(): tuple(v) for w, v in data.items()}


@lru_cache(maxsize=1)
def _vader() -> Any:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as exc:
        raise BackendUnavailable(
            "the lexicon detector needs VADER: pip install vaderSentiment"
        ) from exc
    return SentimentIntensityAnalyzer()


def _candidates(word: str) -> list[str]:
    """The word and its likely base forms (a small suffix-stripping lemmatiser)."""
    out = [word]
    if word.endswith("'s"):
        word = word[:-2]
        out.append(word)
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", ""), ("ed", "e"),
                         ("ing", ""), ("ing", "e"), ("ly", ""), ("ness", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: len(word) - len(suffix)] + repl
            out.append(base)
            if repl == "" and len(base) >= 4 and base[-1] == base[-2]:
                out.append(base[:-1])  # stopped -> stop
    return out


@DETECTORS.register("lexicon")
class LexiconDetector(_DetectorBase):
    """NRC emotion lexicon + VADER valence; offline and deterministic (the default detector).

    The text is tokenised; each token (or its base form) found in the NRC
    lexicon adds 1/k to each of its k associated Plutchik emotions, and a
    prototype word (`SEED_WORDS`) adds `seed_weight` to its primary emotion.
    Emotion words within three tokens after a negator are skipped (VADER
    accounts for the negated valence). The Plutchik scores are mapped into the
    target space with the soft VAD mapping. Then:

    - neutral (if the space has it) gets `neutral_weight`, so a text without
      affect words is neutral;
    - VADER's compound valence c in [-1, 1] reweights each label by
      exp(valence_weight * c * v), v its centred VAD valence, and adds
      vader_weight * max(0, c * v); neutral is damped by exp(-valence_weight * |c|);
    - exclamation marks and all-caps words (up to three) raise high-arousal
      labels by exp(arousal_weight * a * (2A - 1)), A the label's VAD arousal.

    Args:
        space: label space name or labels (default Ekman-7).
        lexicon_path: a JSON word -> associations file replacing nrclex's.
        ignore_words: tokens never scored (default `TASK_WORDS` and `DISCOURSE_WORDS`).
    """

    name = "lexicon"

    def __init__(
        self,
        space: str | Iterable[str] | None = "ekman7",
        seed_weight: float = 2.0,
        neutral_weight: float = 1.0,
        valence_weight: float = 1.5,
        vader_weight: float = 0.5,
        arousal_weight: float = 1.0,
        smoothing: float = 0.05,
        ignore_words: Iterable[str] | None = None,
        lexicon_path: str | None = None,
    ) -> None:
        self.space = get_space(space)
        self.seed_weight = float(seed_weight)
        self.neutral_weight = float(neutral_weight)
        self.valence_weight = float(valence_weight)
        self.vader_weight = float(vader_weight)
        self.arousal_weight = float(arousal_weight)
        self.smoothing = float(smoothing)
        self.ignore = frozenset(
            TASK_WORDS | DISCOURSE_WORDS if ignore_words is None else (w.lower() for w in ignore_words)
        )
        self.lexicon = load_nrc_lexicon(lexicon_path)
        self.seeds = {w: emo for emo, words in SEED_WORDS.items() for w in words}
        self._to_space = mapping_matrix(PLUTCHIK8, self.space, soft=True)
        coords = vad_mod.matrix(self.space, centre=True)
        self._valence = coords[:, 0]
        self._arousal = coords[:, 1]
        self._neutral = self.space.index("neutral") if "neutral" in self.space else None
        self._analyzer = _vader()

    def _lookup(self, token: str) -> tuple[tuple[str, ...], str | None]:
        for cand in _candidates(token):
            if cand in self.ignore:
                return (), None
            assoc = self.lexicon.get(cand)
            seed = self.seeds.get(cand)
            if assoc is not None or seed is not None:
                return tuple(a for a in (assoc or ()) if a in PLUTCHIK8), seed
        return (), None

    def plutchik_scores(self, text: str) -> np.ndarray:
        """Raw lexicon evidence per Plutchik-8 emotion (before valence and arousal cues)."""
        scores = np.zeros(len(PLUTCHIK8))
        negated_for = 0
        for raw in _TOKEN.findall(text):
            token = raw.lower()
            if token in NEGATORS or token.endswith("n't"):
                negated_for = 3
                continue
            emotions, seed = self._lookup(token)
            if negated_for > 0:
                negated_for -= 1
                continue
            for emo in emotions:
                scores[PLUTCHIK8.index(emo)] += 1.0 / len(emotions)
            if seed is not None:
                scores[PLUTCHIK8.index(seed)] += self.seed_weight
        return scores

    def detect(self, text: str) -> dict[str, float]:
        text = (text or "").replace("\u2019", "'")
        raw = self.plutchik_scores(text) @ self._to_space + self.smoothing
        if self._neutral is not None:
            raw[self._neutral] += self.neutral_weight
        c = float(self._analyzer.polarity_scores(text)["compound"]) if text.strip() else 0.0
        raw = raw + self.vader_weight * np.clip(c * self._valence, 0.0, None)
        factor = np.exp(self.valence_weight * c * self._valence)
        if self._neutral is not None:
            raw[self._neutral] -= self.vader_weight * max(0.0, c * self._valence[self._neutral])
            factor[self._neutral] = math.exp(-self.valence_weight * abs(c))
        raw = raw * factor
        caps = sum(1 for w in _TOKEN.findall(text) if len(w) > 1 and w.isupper())
        arousal = min(1.0, (text.count("!") + caps) / 3.0)
        raw = raw * np.exp(self.arousal_weight * arousal * self._arousal)
        return normalise(raw, self.space)


# --------------------------------------------------------------------------------------
# LLM judge
# --------------------------------------------------------------------------------------

JUDGE_SYSTEM = (
    "You are an emotion classifier. Read one message from a negotiation and answer with the "
    "single emotion its speaker expresses most clearly, chosen from the allowed labels, and "
    "your confidence in [0, 1]. Answer with a JSON object only."
)


@DETECTORS.register("llm_judge")
class LLMJudgeDetector(_DetectorBase):
    """Constrained classification by an LLM judge through any simlab `LLMBackend`.

    Each text becomes a `ChatRequest` whose JSON schema is
    ``{"emotion": enum of the labels, "confidence": number in [0, 1]}``; all texts
    of a `detect_batch` call go to the backend as one batch. The judged label gets
    the reported confidence (`default_confidence` if absent) and the remaining
    mass is spread evenly over the other labels. A reply that cannot be parsed
    (or was replaced by a fallback) yields the uniform distribution and is
    counted in `failures`.

    Args:
        backend: an `LLMBackend` instance, or a name from `simlab.llm.BACKENDS`
            (then `backend_params` are its constructor arguments).
        space: label space name or labels (default Ekman-7).
    """

    name = "llm_judge"

    def __init__(
        self,
        backend: Any,
        space: str | Iterable[str] | None = "ekman7",
        temperature: float = 0.0,
        max_tokens: int = 48,
        seed: int = 0,
        default_confidence: float = 0.7,
        backend_params: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(backend, str):
            from simlab.llm.base import BACKENDS

            backend = BACKENDS.get(backend)(**dict(backend_params or {}))
        self.backend = backend
        self.space = get_space(space)
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        self.seed = int(seed)
        self.default_confidence = float(default_confidence)
        self.failures = 0
        self.schema: dict[str, Any] = {
            "type": "object",
            "properties": {
                "emotion": {"type": "string", "enum": list(self.space)},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            },
            "required": ["emotion", "confidence"],
        }

    def request(self, text: str) -> Any:
        """The `ChatRequest` that classifies `text`."""
        from simlab.llm.base import ChatRequest

        user = (
            f"Allowed labels: {', '.join(self.space)}.\n"
            f"Message:\n\"\"\"\n{text}\n\"\"\"\n"
            'Answer as {"emotion": <label>, "confidence": <0..1>}.'
        )
        return ChatRequest(
            messages=({"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}),
            json_schema=self.schema,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=self.seed,
        )

    def _distribution(self, response: Any) -> dict[str, float]:
        from simlab.llm.base import parse_json_reply

        parsed = None if getattr(response, "parse_failed", False) else response.parsed
        if parsed is None and not getattr(response, "parse_failed", False):
            parsed = parse_json_reply(response.text or "", self.schema)
        label = parsed.get("emotion") if isinstance(parsed, dict) else None
        if label not in self.space:
            self.failures += 1
            return uniform(self.space)
        conf = parsed.get("confidence", self.default_confidence)
        try:
            conf = float(conf)
        except (TypeError, ValueError):
            conf = self.default_confidence
        n = len(self.space)
        conf = min(max(conf, 1.0 / n), 1.0)
        rest = (1.0 - conf) / (n - 1) if n > 1 else 0.0
        return normalise({x: (conf if x == label else rest) for x in self.space}, self.space)

    def detect_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        responses = self.backend.generate([self.request(t or "") for t in texts])
        return [self._distribution(r) for r in responses]

    def detect(self, text: str) -> dict[str, float]:
        return self.detect_batch([text])[0]


# --------------------------------------------------------------------------------------
# Hugging Face classifier
# --------------------------------------------------------------------------------------


@DETECTORS.register("hf_classifier")
class HFClassifierDetector(_DetectorBase):
    """Any Hugging Face text-classification model in a local folder (no download at run time).

    The model's labels (its config's id2label, lower-cased) are mapped into the
    target space: a label of the space directly, a label of another known space
    (e.g. a GoEmotions model used with Ekman-7) through `simlab.emotion.mapping`,
    anything else through `label_map` ({model label: space label}). Scores are
    summed per target label and normalised (multi-label sigmoid outputs too).

    Args:
        model_path: a folder with config, weights and tokenizer (save_pretrained).
        space: label space name or labels (default Ekman-7).
        label_map: model label -> label of `space`, for models with other labels.
        device: torch device index (-1 = CPU).

    Raises:
        BackendUnavailable: transformers is not installed, or the folder is missing.
        ConfigError: a model label that cannot be mapped into the space.
    """

    name = "hf_classifier"

    def __init__(
        self,
        model_path: str | Path,
        space: str | Iterable[str] | None = "ekman7",
        label_map: Mapping[str, str] | None = None,
        device: int = -1,
        batch_size: int = 16,
        max_length: int = 256,
    ) -> None:
        self.space = get_space(space)
        self.model_path = Path(model_path).expanduser()
        if not self.model_path.is_dir() or not (self.model_path / "config.json").exists():
            raise BackendUnavailable(
                f"no Hugging Face classifier at {self.model_path}: download a text-classification "
                "model once (e.g. `huggingface-cli download <model> --local-dir <folder>`) and pass "
                "that folder as model_path; simlab never downloads at run time."
            )
        try:
            from transformers import pipeline
        except ImportError as exc:
            raise BackendUnavailable(
                "the hf_classifier detector needs transformers and torch: pip install 'simlab[hf]'"
            ) from exc
        self.batch_size = int(batch_size)
        self.max_length = int(max_length)
        self._pipe = pipeline(
            "text-classification",
            model=str(self.model_path),
            tokenizer=str(self.model_path),
            top_k=None,
            device=device,
        )
        id2label = getattr(self._pipe.model.config, "id2label", {}) or {}
        self.model_labels = [str(v) for _, v in sorted(id2label.items(), key=lambda kv: int(kv[0]))]
        self._rows = self._label_rows({str(k).lower(): v for k, v in (label_map or {}).items()})

    def _label_rows(self, label_map: Mapping[str, str]) -> dict[str, np.ndarray]:
        rows: dict[str, np.ndarray] = {}
        bad = []
        for raw in self.model_labels:
            key = raw.lower().strip()
            target = label_map.get(key, key)
            if target in self.space:
                row = np.zeros(len(self.space))
                row[self.space.index(target)] = 1.0
            elif target in ALL_LABELS:
                src = infer_space([target])
                row = np.asarray(mapping_matrix(src, self.space)[src.index(target)], dtype=float)
            else:
                bad.append(raw)
                continue
            rows[raw] = row
        if bad:
            raise ConfigError(
                f"classifier labels {', '.join(bad)} are not emotion labels of {', '.join(self.space)}: "
                "pass label_map={model_label: space_label} for them."
            )
        return rows

    def detect_batch(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if not texts:
            return []
        outputs = self._pipe(
            [t or "" for t in texts], batch_size=self.batch_size, truncation=True, max_length=self.max_length
        )
        result = []
        for out in outputs:
            items = out if isinstance(out, list) else [out]
            acc = np.zeros(len(self.space))
            for item in items:
                row = self._rows.get(str(item["label"]))
                if row is not None:
                    acc += float(item["score"]) * row
            result.append(normalise(acc, self.space))
        return result

    def detect(self, text: str) -> dict[str, float]:
        return self.detect_batch([text])[0]


def make_detector(name: str = "lexicon", **params: Any) -> EmotionDetector:
    """The detector registered as `name`, built with `params`."""
    return DETECTORS.get(name)(**params)
