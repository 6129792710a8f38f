"""Bounded YAML reading: `read_yaml_file`, `LIMITS`.

`yaml.safe_load` never runs code, but it happily expands an alias bomb (a few KB
that becomes gigabytes once anything walks it), recurses until the interpreter
gives up on deep nesting, blocks forever on a FIFO and turns a non-UTF-8 byte
into a traceback. simlab reads every config file through `read_yaml_file`, which
refuses each of these with one line naming the file and the fix, before the
data reaches pydantic (issue 9, "validate is a safe gate").

The limits are far above anything a real scenario, agent or study needs (the
largest shipped scenario is 10 KB, 6 levels deep, with no aliases).
"""
from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from simlab.errors import ConfigError


@dataclass(frozen=True)
class Limits:
    """Upper bounds on a config file; each breach is a `ConfigError`."""

    file_bytes: int = 2_000_000
    depth: int = 40
    aliases: int = 1_000
    expanded_nodes: int = 200_000
    string_chars: int = 50_000
    int_abs: int = 2**63 - 1


LIMITS = Limits()


class _LimitBreach(Exception):
    """Raised inside the loader; turned into a ConfigError naming the file."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases and nesting while composing the node graph."""

    def __init__(self, stream: str, limits: Limits) -> None:
        super().__init__(stream)
        self._limits = limits
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self._limits.aliases:
                raise _LimitBreach(f"more than {self._limits.aliases} aliases (*name); write the values out")
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > self._limits.depth:
            mark = self.peek_event().start_mark
            raise _LimitBreach(f"line {mark.line + 1}: nested more than {self._limits.depth} levels deep; flatten it")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _expanded_size(node: Node, memo: dict[int, int], limit: int) -> int:
    """Nodes the graph has once every alias is expanded (what any walk of the data visits)."""
    key = id(node)
    if key in memo:
        if memo[key] < 0:
            raise _LimitBreach("an alias refers to the mapping or list that contains it (a cycle); remove it")
        return memo[key]
    memo[key] = -1
    if isinstance(node, ScalarNode):
        size = 1
    elif isinstance(node, SequenceNode):
        size = 1 + sum(_expanded_size(c, memo, limit) for c in node.value)
    elif isinstance(node, MappingNode):
        size = 1 + sum(_expanded_size(k, memo, limit) + _expanded_size(v, memo, limit) for k, v in node.value)
    else:  # pragma: no cover - yaml has only these three node kinds
        size = 1
    if size > limit:
        raise _LimitBreach(f"expands to more than {limit} values (an alias bomb?); write the values out")
    memo[key] = size
    return size


def _check_values(data: Any, limits: Limits, where: str = "") -> None:
    """Reject NaN/infinite numbers, integers beyond 64 bits and over-long strings, naming the field."""
    here = where or "(top level)"
    if isinstance(data, bool) or data is None:
        return
    if isinstance(data, float):
        if not math.isfinite(data):
            raise _LimitBreach(f"{here}: {data} is not a finite number; give a number")
    elif isinstance(data, int):
        if abs(data) > limits.int_abs:
            raise _LimitBreach(f"{here}: {str(data)[:12]}... is beyond 64 bits (|x| <= 2**63-1); use a smaller number")
    elif isinstance(data, str):
        if len(data) > limits.string_chars:
            raise _LimitBreach(f"{here}: a string of {len(data)} characters (at most {limits.string_chars}); shorten it")
    elif isinstance(data, dict):
        for k, v in data.items():
            if not isinstance(k, str):
                raise _LimitBreach(f"{here}: key {str(k)[:40]!r} is not a string; quote it")
            _check_values(k, limits, where)
            _check_values(v, limits, f"{where}.{k}" if where else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _check_values(v, limits, f"{where}.{i}" if where else str(i))


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def read_text_bounded(path: Path, limits: Limits = LIMITS, what: str = "file") -> str:
    """The UTF-8 text of a regular file of at most ``limits.file_bytes`` bytes; ConfigError otherwise."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}; check the path") from None
    except OSError as exc:
        raise ConfigError(f"{_one_line(path)[:200]}: cannot read ({exc.strerror}); check the path") from None
    if stat.S_ISDIR(st.st_mode):
        raise ConfigError(f"{path}: is a directory, not a {what}; give a .yaml file")
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{path}: not a regular file (a FIFO, socket or device); give a .yaml file")
    if st.st_size > limits.file_bytes:
        raise ConfigError(f"{path}: {st.st_size} bytes, more than the {limits.file_bytes} a config may have; split or shorten it")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limits.file_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    if len(raw) > limits.file_bytes:
        raise ConfigError(f"{path}: more than the {limits.file_bytes} bytes a config may have; split or shorten it")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None


_CLoader = getattr(yaml, "CSafeLoader", None)  # libyaml: ten times faster than the pure-Python loader


def _check_events(text: str, limits: Limits) -> None:
    """First pass with libyaml's event parser (flat, no recursion): bound the nesting and the aliases."""
    depth = aliases = 0
    for ev in yaml.parse(text, Loader=_CLoader):
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > limits.depth:
                raise _LimitBreach(f"line {ev.start_mark.line + 1}: nested more than {limits.depth} levels deep; flatten it")
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(ev, yaml.AliasEvent):
            aliases += 1
            if aliases > limits.aliases:
                raise _LimitBreach(f"more than {limits.aliases} aliases (*name); write the values out")


def parse_yaml_text(text: str, path: Path | str, limits: Limits = LIMITS) -> Any:
    """`text` parsed as one YAML document within `limits`; ConfigError naming `path` otherwise.

    With libyaml, a first pass over the parser's events bounds nesting and
    aliases, then libyaml composes the (now shallow) node graph; without it the
    pure-Python `_BoundedLoader` counts both while composing.
    """
    loader: Any = None
    try:
        if _CLoader is not None:
            _check_events(text, limits)
            loader = _CLoader(text)
        else:  # pragma: no cover - PyYAML wheels ship libyaml
            loader = _BoundedLoader(text, limits)
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, {}, limits.expanded_nodes)
        data = loader.construct_document(node)
        _check_values(data, limits)
    except _LimitBreach as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(f"{path}:{where} is not valid YAML ({_one_line(problem)}); fix the syntax") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. int() of a 5,000-digit scalar, unhashable keys
        why = "a number with thousands of digits" if "integer string conversion" in str(exc) else _one_line(exc)[:160]
        raise ConfigError(f"{path}: a value cannot be read ({why}); use a smaller number or quote it") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data


def read_yaml_file(path: Path | str, limits: Limits = LIMITS) -> Any:
    """Read and parse one YAML config file within `limits` (see the module docstring)."""
    p = Path(path)
    return parse_yaml_text(read_text_bounded(p, limits), p, limits)
