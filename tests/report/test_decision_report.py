"""Decision-study reports: they open with the headline table, carry effect sizes, plots, references and failure counts."""
from __future__ import annotations

from pathlib import Path

import pytest

from simlab.errors import StoreError
from simlab.llm.base import ChatResponse
from simlab.llm.repair import RepairingBackend
from simlab.llm.scripted import ScriptedBackend
from simlab.report.decision import build_report, summary_table
from simlab.store.store import RunStore
from simlab.sweep.runner import run_study

ROOT = Path(__file__).resolve().parents[2]
STUDIES = {
    "manipulation": "manipulation",
    "identifiable_victim": "identifiable-victim",
    "framing_robustness": "framing-robustness",
}


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reports") / "s.duckdb"
    for name in STUDIES:
        result = run_study(ROOT / "experiments" / f"{name}.yaml", backend="scripted", store_path=path, cache_path=None)
        assert result.failed == 0 and result.ran > 0
    return path


@pytest.mark.parametrize("study_id", list(STUDIES.values()))
def test_report_starts_with_its_headline_table(store_path, tmp_path, study_id):
    path = build_report(RunStore(store_path, read_only=True), study_id, tmp_path / study_id)
    assert path == tmp_path / study_id / "report.md"
    lines = path.read_text().splitlines()
    assert lines[0].startswith("| ") and lines[0].endswith(" |")
    assert set(lines[1].replace("|", "")) == {"-"}
    n_cols = lines[0].count("|")
    body = [ln for ln in lines[2:] if ln.startswith("|")][:3]
    assert body and all(ln.count("|") == n_cols for ln in body)
    png = tmp_path / study_id / "forest.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = path.read_text()
    assert "## Effect sizes" in text and "p (Holm)" in text and "[" in text
    assert "## Published values" in text and "not an LLM" in text
    assert "could not be parsed" in text


def test_manipulation_report_rates_tactics_and_human_values(store_path, tmp_path):
    text = build_report(RunStore(store_path, read_only=True), "manipulation", tmp_path).read_text()
    head = text.splitlines()[0]
    assert "harmful choice" in head and "humans (Sabour 2025)" in head
    for value in ("0.358", "0.623", "0.596", "0.128", "0.423", "0.415"):
        assert value in text
    assert "| financial | NA |" in text and "| emotional | SEMA |" in text
    assert "MA vs NA" in text and "Cohen's h" in text
    assert "## Tactics detected" in text


def test_vignette_reports_show_contrasts_with_their_published_values(store_path, tmp_path):
    st = RunStore(store_path, read_only=True)
    ive = build_report(st, "identifiable-victim", tmp_path / "ive").read_text()
    assert "identified vs statistical" in ive and "d = 0.223" in ive and "## Pooled estimates" in ive
    assert "## Trends" in ive and "log10_victims" in ive
    assert (tmp_path / "ive" / "forest_cohen_h.png").is_file()  # the yes/no paradigm's h gets its own plot
    framing = build_report(st, "framing-robustness", tmp_path / "fr").read_text()
    assert "h = 0.003" in framing and "0.3 to 0.8" in framing and "rule-correct" in framing.splitlines()[0]


class _EveryFourthGarbage:
    """Answers like the scripted backend, but never parseably for every fourth trial (repair retries included)."""

    is_llm = True
    model_id = "flaky-model"

    def __init__(self):
        self.inner = ScriptedBackend()

    def generate(self, requests):
        out = []
        for r in requests:
            resp = self.inner.generate([r])[0]
            resp.is_llm, resp.model = True, self.model_id
            bad = int(r.session.rsplit("trial", 1)[1]) % 4 == 0
            out.append(ChatResponse(text="no idea", model=self.model_id) if bad else resp)
        return out

    def close(self):
        pass


def test_unparseable_judgements_are_counted_in_the_report(tmp_path, monkeypatch):
    import simlab.sweep.executors.worker as worker  # one worker runs in this process and builds its backend here

    backend = RepairingBackend(_EveryFourthGarbage())
    monkeypatch.setattr(worker, "build_backend", lambda spec, cache: backend)
    (tmp_path / "experiments").mkdir()
    study = tmp_path / "experiments" / "flaky.yaml"
    study.write_text("study: flaky\nscenarios: [framing_finance]\nagents: {decider: [decider_respondent]}\nseeds: [1, 2]\n"
                     "backend: {kind: scripted}\n")
    run_study(study, store_path=tmp_path / "s.duckdb", cache_path=None)
    st = RunStore(tmp_path / "s.duckdb", read_only=True)
    n_failed = int(st.query("SELECT sum(parse_failures) AS n FROM runs")["n"][0])
    n_trials = int(st.query("SELECT count(*) AS n FROM turns")["n"][0])
    assert 0 < n_failed < n_trials
    text = build_report(st, "flaky", tmp_path / "r").read_text()
    assert f"{n_failed} of {n_trials} judgements could not be parsed" in text
    table = [ln for ln in text.splitlines()[:6] if ln.startswith("| emotional_framing")]
    # headline rows: n judged + unparseable == trials per arm
    assert sum(int(ln.split("|")[3]) + int(ln.split("|")[4]) for ln in table) == n_trials
    assert sum(int(ln.split("|")[4]) for ln in table) == n_failed


def test_unknown_study_is_a_store_error(store_path, tmp_path):
    with pytest.raises(StoreError, match="no finished advisory or vignette runs"):
        build_report(RunStore(store_path, read_only=True), "nope", tmp_path)


def test_summary_table_for_the_cli(store_path):
    st = RunStore(store_path, read_only=True)
    assert summary_table(st, "manipulation").row_count == 6
    assert summary_table(st, "framing-robustness").row_count == 6
