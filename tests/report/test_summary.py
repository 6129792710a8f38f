"""`simlab.report.summary.summary_table` sends decision studies to their own table, everything else to the negotiation one."""
import pandas as pd
import pytest

from simlab.report import summary as summary_mod


class _Store:
    def __init__(self, protocols):
        self.protocols = protocols

    def query(self, sql, params):
        assert "protocol" in sql and params == ["s"]
        return pd.DataFrame({"protocol": self.protocols})


@pytest.mark.parametrize(
    "protocols,expected",
    [(["advisory"], "decision"), (["vignette", "advisory"], "decision"), (["alternating_offers"], "negotiation"),
     (["alternating_offers", "vignette"], "negotiation"), ([], "negotiation")],
)
def test_summary_dispatches_on_the_study_protocols(monkeypatch, protocols, expected):
    monkeypatch.setattr(summary_mod, "decision_summary", lambda store, sid: ("decision", sid))
    monkeypatch.setattr(summary_mod, "negotiation_summary", lambda store, sid: ("negotiation", sid))
    assert summary_mod.summary_table(_Store(protocols), "s") == (expected, "s")
