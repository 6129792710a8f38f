"""Decision-bias studies: scenario models, persuasion tactics and simulated participants.

- `decision_models`: `AdvisoryScenario`, `VignetteScenario` (and their parts).
- `tactics`: the persuasion-tactic catalogue `TACTICS`, `detect_tactics`, `advocated_option`.
- `policies`: `DecisionContext`, `DecisionPolicy` (base of the policies below).
- `advisor`: `AdvisorPolicy`, strategy ``advisor`` (NA / MA / SEMA).
- `simulated_person`: `SimulatedPerson`, strategy ``simulated_person`` (advisory decider).
- `simulated_responder`: `SimulatedResponder`, strategy ``simulated_responder`` (vignettes).
- `prompts`: chat prompts and JSON schemas of both protocols.
- `analysis`: tables and effect sizes from the run store (used by `simlab.report.decision`).

Importing this package registers the three strategies in `STRATEGIES`.
"""
from __future__ import annotations

from simlab.decision.advisor import AdvisorPolicy
from simlab.decision.decision_models import AdvisoryScenario, VignetteScenario
from simlab.decision.policies import DecisionContext, DecisionPolicy
from simlab.decision.simulated_person import SimulatedPerson
from simlab.decision.simulated_responder import SimulatedResponder
from simlab.decision.tactics import TACTICS, advocated_option, detect_tactics

__all__ = [
    "TACTICS",
    "AdvisorPolicy",
    "AdvisoryScenario",
    "DecisionContext",
    "DecisionPolicy",
    "SimulatedPerson",
    "SimulatedResponder",
    "VignetteScenario",
    "advocated_option",
    "detect_tactics",
]
