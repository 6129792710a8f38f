"""Every command that reads or writes a store, on every kind of damaged or foreign store:
one line on stderr, a non-zero exit, no traceback, and the file byte-for-byte unchanged."""
from __future__ import annotations

import subprocess
import sys

import pytest

from damaged_stores import DAMAGE, damage_kinds, digest, make_damaged


def commands(study_path, out):
    return {
        "run": ["run", str(study_path)],
        "show": ["show", "abc"],
        "runs": ["runs", "small"],
        "summary": ["summary", "small"],
        "export": ["export", "small", "--out", str(out / "export")],
        "report": ["report", "small", "--out", str(out / "report")],
        "fit hmm": ["fit", "hmm", "--study", "small", "--out", str(out / "hmm.json")],
        "dataset": ["dataset", "small", "--out", str(out / "d.parquet")],
        "import human": ["import", "human", str(out / "trials.csv"), "--as", "h", "--mapping", str(out / "m.yaml")],
    }


def _cli(monkeypatch, capsys, args):
    from simlab import cli

    monkeypatch.setattr(sys, "argv", ["simlab", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    cap = capsys.readouterr()
    return exit_.value.code, cap.err


@pytest.mark.parametrize("kind", damage_kinds())
def test_every_command_refuses_a_damaged_store_in_one_line(kind, tmp_path, small_study, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "stores"
    folder.mkdir()
    path = make_damaged(kind, folder)
    before = digest(path) if path.is_file() else None
    listing = sorted(p.name for p in folder.iterdir())
    for name, args in commands(small_study, tmp_path).items():
        code, err = _cli(monkeypatch, capsys, [*args, "--store", str(path)])
        lines = err.strip().splitlines()
        assert code not in (0, None), (name, err)
        assert len(lines) == 1 and "Traceback" not in err, (name, err)
        assert DAMAGE[kind] in lines[0], (name, lines[0])
        if before is not None:
            assert digest(path) == before, f"{name} changed the {kind} store"
        assert sorted(p.name for p in folder.iterdir()) == listing, f"{name} left files beside the {kind} store"
    assert not (tmp_path / "report").exists() and not (tmp_path / "export").exists()


@pytest.mark.slow
def test_in_a_real_process_too(tmp_path, small_study):
    kind = "sqlite"  # the case that made DuckDB hang ~90 s trying to download an extension
    path = make_damaged(kind, tmp_path)
    before = digest(path)
    for args in (["run", str(small_study)], ["summary", "small"]):
        r = subprocess.run([sys.executable, "-m", "simlab.cli", *args, "--store", str(path)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 4, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and DAMAGE[kind] in r.stderr
    assert digest(path) == before
