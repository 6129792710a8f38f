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
"""
from __future__ import annotations

import time

import mesa

from simlab.engine.protocols.alternating import AlternatingOffers
from simlab.llm.base import LLMBackend


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
        self.finished: list[AlternatingOffers] = []
        self.llm_seconds = 0.0
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "active_sessions": lambda m: sum(not s.done for s in m.sessions),
                "finished_sessions": lambda m: len(m.finished),
                "batch_size": lambda m: m.last_batch,
            }
        )
        self.last_batch = 0
        self.just_finished: list[AlternatingOffers] = []

    def add_session(self, session: AlternatingOffers) -> None:
        if not self.needs_messages and hasattr(session, "prompt_messages"):
            session.prompt_messages = False
        self.sessions.append(session)
        for role in session.scenario.roles:
            NegotiatorAgent(self, session, role)

    def step(self) -> None:
        """Advance every active session by one turn; finished ones move to `just_finished`."""
        speakers = self.agents.select(lambda a: a.is_speaking).shuffle()
        asking, requests = [], []
        for agent in speakers:
            try:
                requests.append(agent.session.next_request())
                asking.append(agent)
            except Exception as exc:  # a run's own failure must not sink its batch
                agent.session.fail(exc)
        self.last_batch = len(requests)
        if requests:
            t0 = time.perf_counter()
            responses = self.backend.generate(requests)
            self.llm_seconds += time.perf_counter() - t0
            for agent, response in zip(asking, responses):
                try:
                    agent.session.apply(response)
                except Exception as exc:
                    agent.session.fail(exc)
        done = [s for s in self.sessions if s.done]
        self.just_finished = done
        if done:
            self.sessions = [s for s in self.sessions if not s.done]
            self.finished.extend(done)
            for agent in list(self.agents):
                if agent.session.done:
                    agent.remove()
        self.running = bool(self.sessions)
        self.datacollector.collect(self)
