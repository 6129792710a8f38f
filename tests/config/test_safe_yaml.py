"""The bounded YAML reader: hostile files are one-line ConfigErrors, fast and without blowing up memory."""
import os
import time

import pytest

from simlab.config.loader import read_yaml, validate_file
from simlab.config.safe_yaml import LIMITS, parse_yaml_text, read_yaml_file
from simlab.errors import ConfigError


def _bomb(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_before_it_expands():
    text = _bomb()
    assert len(text) < 1000  # 9**9 = 387 million strings once expanded
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="alias bomb"):
        parse_yaml_text(text, "bomb.yaml")
    assert time.perf_counter() - t0 < 1.0


def test_small_aliases_still_work():
    assert parse_yaml_text("base: &b {x: 1}\nother: *b\n", "ok.yaml") == {"base": {"x": 1}, "other": {"x": 1}}


@pytest.mark.parametrize(
    "text, needle",
    [
        ("a: " + "[" * 3000 + "]" * 3000, "nest"),  # libyaml stops at its own depth limit first
        ("a: " + "[" * 60 + "]" * 60, "nested more than 40"),
        ("".join("  " * i + f"k{i}:\n" for i in range(100)) + "  " * 100 + "v: 1\n", "nested more than"),
        ("seed: 1180591620717411303424\n", "beyond 64 bits"),
        ("a: " + "9" * 5000 + "\n", "cannot be read"),
        ("a: .nan\n", "not a finite number"),
        ("a: [1, -.inf]\n", "a.1: -inf is not a finite number"),
        ("loop: &l [1, *l]\n", "cycle"),
        ("a: " + "x" * (LIMITS.string_chars + 1) + "\n", "characters"),
        ("1: one\n", "not a string"),
        ("a: !!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
        ("a: 1\n---\nb: 2\n", "not valid YAML"),
        ("a: \x07\n", "not valid YAML"),
    ],
)
def test_hostile_text_is_one_line_config_error(text, needle):
    with pytest.raises(ConfigError) as info:
        parse_yaml_text(text, "f.yaml")
    msg = str(info.value)
    assert needle in msg and msg.startswith("f.yaml") and "\n" not in msg


def test_files_that_are_not_small_regular_utf8_files(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("a: 1\nb: caf\xe9\n".encode("latin-1"))
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" + b"#" * (LIMITS.file_bytes + 10))
    for path, needle in [
        (fifo, "not a regular file"),  # would block forever on open()
        (bad, "line 2: not UTF-8"),
        (big, "bytes"),
        (tmp_path, "is a directory"),
        (tmp_path / "missing.yaml", "no such file"),
        (tmp_path / ("x" * 5000 + ".yaml"), "File name too long"),
    ]:
        with pytest.raises(ConfigError, match=needle):
            read_yaml_file(path)


def test_top_level_must_be_a_mapping(tmp_path):
    p = tmp_path / "list.yaml"
    p.write_text("[1, 2]\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        read_yaml(p)


def test_shipped_configs_read_within_the_limits(root):
    files = [*root.glob("scenarios/*.yaml"), *root.glob("agents/*.yaml"), *root.glob("experiments/*.yaml")]
    assert len(files) > 40
    for f in files:
        assert isinstance(read_yaml(f), dict)


def test_validate_flags_a_lone_brace_in_a_persona_and_a_context(tmp_path):
    agent = tmp_path / "agents" / "odd.yaml"
    agent.parent.mkdir()
    agent.write_text("id: odd\nrole: creditor\npersona: 'owe {balance'\nstrategy: {name: vanilla}\n")
    _, _, problems = validate_file(agent)
    assert len(problems) == 1 and "persona" in problems[0] and "literal brace" in problems[0]
    sc = (tmp_path / "sc.yaml")
    from simlab.config.resolve import builtin_roots

    text = (builtin_roots()[1] / "scenarios" / "debt_collection.yaml").read_text()
    sc.write_text(text.replace('context: "The call is', 'context: "The {call is'))
    _, _, problems = validate_file(sc)
    assert any("context" in p and "literal brace" in p for p in problems), problems
