"""Literature reference values: complete sources, the published numbers, never used in computations."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import simlab.stats.references as refs_module
from simlab.stats import REFERENCES, get_reference, select_references

STATS_DIR = Path(refs_module.__file__).parent


def test_every_reference_has_a_full_source():
    keys = [r.key for r in REFERENCES]
    assert len(keys) == len(set(keys))
    for r in REFERENCES:
        assert r.source.citation and re.search(r"\(\d{4}\)", r.source.citation), r.key
        assert r.topic in {"manipulation", "ive", "framing", "negotiation"}
        assert r.population in {"human", "llm"}
        assert r.measure in {"proportion", "cohen_d", "cohen_h", "direction"}
        assert r.label and r.description
        if r.measure == "direction":
            assert not r.has_number
        else:
            assert r.has_number, r.key
        if r.measure == "proportion":
            assert 0.0 <= r.value <= 1.0


@pytest.mark.parametrize(
    "key,value",
    [
        ("manipulation.financial.na", 0.358),
        ("manipulation.financial.ma", 0.623),
        ("manipulation.financial.sema", 0.596),
        ("manipulation.emotional.na", 0.128),
        ("manipulation.emotional.ma", 0.423),
        ("manipulation.emotional.sema", 0.415),
        ("ive.llm.instruction_tuned_max", 1.56),
        ("ive.llm.pooled", 0.223),
        ("ive.llm.no_cot", 0.15),
        ("ive.llm.cot", 0.41),
        ("ive.human.single_victim", 0.10),
        ("framing.llm", 0.003),
    ],
)
def test_published_values(key, value):
    assert get_reference(key).value == value


def test_sources_named_in_the_brief():
    assert "arXiv:2502.07663" in get_reference("manipulation.financial.na").source.citation
    assert "Sabour" in get_reference("manipulation.emotional.ma").source.citation
    human = get_reference("framing.human")
    assert (human.value, human.low, human.high) == (None, 0.3, 0.8)
    ive_citations = " ".join(r.source.citation for r in select_references(topic="ive"))
    assert "Small, D. A., Loewenstein, G., & Slovic, P. (2007)" in ive_citations
    assert "Kogut, T., & Ritov, I. (2005)" in ive_citations
    assert "identifiable victim effect" in get_reference("ive.llm.pooled").source.citation.lower()


def test_select_and_get():
    assert len(select_references(topic="manipulation", measure="proportion")) == 6
    assert all(r.has_number for r in select_references(numeric_only=True))
    assert {r.population for r in select_references(topic="framing")} == {"human", "llm"}
    with pytest.raises(KeyError, match="known"):
        get_reference("nope")


def test_docstring_states_the_rule():
    doc = " ".join(refs_module.__doc__.split())
    assert "never used to compute a result" in doc
    assert "beside" in doc


def test_no_computing_module_imports_the_references():
    """Only the plotting module (and the package namespace) may import references."""
    allowed = {"references.py", "forest.py", "__init__.py"}
    for path in STATS_DIR.glob("*.py"):
        if path.name in allowed:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert "references" not in (node.module or ""), path.name
                assert all(a.name != "references" for a in node.names), path.name
            elif isinstance(node, ast.Import):
                assert all("references" not in a.name for a in node.names), path.name
