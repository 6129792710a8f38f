"""Backend options are strict: every key a backend reads is declared, and an unknown or bad one is refused."""
import re
from pathlib import Path

import pytest

from simlab.errors import ConfigError
from simlab.llm.options import BACKEND_OPTIONS, check_backend_options

LLM = Path(__file__).resolve().parents[2] / "simlab" / "llm"
SOURCES = {"embedded": "embedded.py", "openai": "openai_backend.py", "transformers": "transformers_backend.py"}


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_every_option_a_backend_reads_is_declared(kind):
    text = (LLM / SOURCES[kind]).read_text()
    read = set(re.findall(r"opts(?:\.get\(|\[)\"(\w+)\"", text))
    assert read, f"no options found in {SOURCES[kind]}: the pattern is stale"
    assert read <= set(BACKEND_OPTIONS[kind].model_fields), read - set(BACKEND_OPTIONS[kind].model_fields)


def test_unknown_and_bad_options_are_one_line_errors():
    assert check_backend_options("embedded", {"n_threads": 2}).n_threads == 2
    with pytest.raises(ConfigError, match="unknown option 'n_thread'"):
        check_backend_options("embedded", {"n_thread": 4})
    with pytest.raises(ConfigError, match="option 'slots'"):
        check_backend_options("embedded", {"slots": "many"})
    with pytest.raises(ConfigError, match="option 'timeout_s'"):
        check_backend_options("openai", {"timeout_s": float("nan")})
    assert check_backend_options("scripted", {"n_threads": 1}) is None  # reads none: a study's options stay


def test_validate_refuses_a_misspelled_backend_option(tmp_path):
    import subprocess
    import sys

    p = tmp_path / "s.yaml"
    p.write_text("study: s\nscenarios: [debt_collection]\nagents: {creditor: [boulware_creditor], debtor: [cooperative_debtor]}\n"
                 "seeds: [1]\nbackend: {kind: embedded, options: {n_thread: 4}}\n")
    r = subprocess.run([sys.executable, "-m", "simlab.cli", "validate", str(p)], capture_output=True, text=True)
    assert r.returncode == 1 and "unknown option 'n_thread'" in r.stderr and "Traceback" not in r.stderr
