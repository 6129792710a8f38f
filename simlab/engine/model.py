"""`NegotiationModel`: a Mesa 3 model whose agents are the negotiators of many sessions.

Each `step` advances every active session by one turn: the speakers' requests
are collected and sent to the backend as **one batch**, then each reply is
applied to its session. Finished sessions leave the population and new ones can
be added (`add_session`), so a worker keeps its batch full. The model's own RNG
(Mesa's ``self.rng``) orders agent activation only; every draw that shapes a
run comes from that run's own generator (seeded from its spec), so a run's
result does not depend on which other runs shared its batch.

A backend that declares ``needs_messages = False`` (the scripted template
realiser, which reads only a request's fallback move, schema and seed) gets
requests without chat messages: `add_session` turns off the session's
`prompt_messages`, which saves building a prompt per turn and changes nothing
else. Backends that do not declare it get full prompts.

Containment: whatever goes wrong while one session prepares its request,
while the backend answers (an exception, a wrong number of replies, or a reply
marked ``extra["error"]`` by `RetryingBackend`) or while a reply is applied
ends *that* session as failed (`Session.fail`, stored with its error); the
other sessions of the batch go on.
"""
from __future__ import annotations

import time

import mesa

from simlab.engine.protocols.alternating import AlternatingOffers
from simlab.llm.base import ChatResponse, LLMBackend
from simlab.llm.retry import BackendCallFailed


def _cache_keys(response: ChatResponse) -> list[str]:
    """The response-cache keys behind `response` (its repair attempts included)."""
    keys = [a.get("extra", {}).get("cache_key") for a in response.extra.get("attempts", ())]
    keys.append(response.extra.get("cache_key"))
    return [k for k in keys if k]


class NegotiatorAgent(mesa.Agent):
    """One side of one session (a Mesa agent)."""

    def __init__(self, model: "NegotiationModel", session: AlternatingOffers, role: str) -> None:
        super().__init__(model)
        self.session = session
        self.role = role

    @property
    def is_speaking(self) -> bool:
        return not self.session.done and self.session.pending is None and self.session.speaker() == self.role


class NegotiationModel(mesa.Model):
    """A population of negotiation sessions sharing one LLM backend.

    Args:
        backend: answers each step's batch.
        seed: the model RNG's seed (agent activation order only).
    """

    def __init__(self, backend: LLMBackend, seed: int | None = None) -> None:
        super().__init__(rng=seed)
        self.backend = backend
        self.needs_messages = bool(getattr(backend, "needs_messages", True))
        self.sessions: list[AlternatingOffers] = []
        # a count, not the sessions: a worker's model runs thousands of sessions, and keeping each
        # finished one (its turns, calls, history) grew the worker's memory with every run
        self.n_finished = 0
        self.llm_seconds = 0.0
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "active_sessions": lambda m: sum(not s.done for s in m.sessions),
                "finished_sessions": lambda m: m.n_finished,
                "batch_size": lambda m: m.last_batch,
            }
        )
        self.last_batch = 0
        #: run id -> cache keys of the replies it got, so a failed run's replies can be forgotten
        self.cache_keys: dict[str, list[str]] = {}
        self.just_finished: list[AlternatingOffers] = []

    def add_session(self, session: AlternatingOffers) -> None:
        if not self.needs_messages and hasattr(session, "prompt_messages"):
            session.prompt_messages = False
        self.sessions.append(session)
        for role in session.scenario.roles:
            NegotiatorAgent(self, session, role)

    def step(self) -> None:
        """Advance every active session by one turn; finished ones move to `just_finished`."""
        # Mesa's ``agents.select(...).shuffle()`` order, without building two AgentSets (weak-key dicts) per
        # step: the same agents in the same order, shuffled by the same generator (random.shuffle's swaps
        # depend only on the list's length and the generator's state)
        speakers = [a for a in self.agents if a.is_speaking]
        self.random.shuffle(speakers)
        asking, requests = [], []
        for agent in speakers:
            try:
                requests.append(agent.session.next_request())
                asking.append(agent)
            except Exception as exc:  # noqa: BLE001 - a run's own failure must not sink its batch
                agent.session.fail(exc)
        self.last_batch = len(requests)
        if requests:
            t0 = time.perf_counter()
            try:
                responses = self.backend.generate(requests)
                if len(responses) != len(requests):
                    raise BackendCallFailed(f"the backend returned {len(responses)} replies for {len(requests)} requests")
            except Exception as exc:  # noqa: BLE001 - an unwrapped backend's error fails the runs that asked
                for agent in asking:
                    agent.session.fail(exc)
                responses = []
            self.llm_seconds += time.perf_counter() - t0
            for agent, response in zip(asking, responses):
                keys = _cache_keys(response)
                if keys:
                    self.cache_keys.setdefault(agent.session.run_id, []).extend(keys)
                error = response.extra.get("error")
                if error:  # a request the backend could not answer (RetryingBackend): the run fails
                    agent.session.fail(BackendCallFailed(error))
                    continue
                try:
                    agent.session.apply(response)
                except Exception as exc:  # noqa: BLE001 - a run's own failure must not sink its batch
                    agent.session.fail(exc)
        done = [s for s in self.sessions if s.done]
        self.just_finished = done
        if done:
            self.sessions = [s for s in self.sessions if not s.done]
            self.n_finished += len(done)
            for agent in list(self.agents):
                if agent.session.done:
                    agent.remove()
        self.running = bool(self.sessions)
        self.datacollector.collect(self)
