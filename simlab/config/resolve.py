"""Where a name in a study lives on disk: `search_roots`, `resolve_name`, `check_name`.

A study names scenarios and agents (``debt_collection``, ``boulware_creditor``).
Each name resolves, in order, against (issue 10, item 5):

1. the study file's folder (``<study dir>/<name>.yaml``);
2. the ``scenarios/`` or ``agents/`` folder beside the study file, then beside
   its folder (``<study dir>/scenarios``, ``<study dir>/../scenarios``);
3. the built-ins shipped in the package (``simlab/_data/``), then the source checkout.

Without a study file the current directory takes the study folder's place. A
name is confined to the folder it is found in: it must be a relative path of
plain segments (letters, digits, ``_ . -``), never absolute and never ``..``,
and the file it names (symlinks followed) must lie inside that folder, so a
study cannot make `simlab validate` read ``/etc/shadow`` (issue 9, Security).
The error when nothing matches lists every folder it looked in.
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath

from simlab.errors import ConfigError

SUBDIRS: dict[str, str] = {"scenario": "scenarios", "agent": "agents", "study": "experiments"}
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")
MAX_NAME_CHARS = 200


def check_name(kind: str, name: object) -> str:
    """`name` if it is a confined relative name; ConfigError saying what is allowed otherwise."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{kind} name {name!r} must be a non-empty string such as debt_collection")
    shown = name if len(name) <= 60 else name[:57] + "..."
    rule = "use a plain name (letters, digits, '_', '.', '-') or a relative path below the study's folders"
    if len(name) > MAX_NAME_CHARS:
        raise ConfigError(f"{kind} name '{shown}' is longer than {MAX_NAME_CHARS} characters; {rule}")
    if name.startswith(("/", "\\", "~")) or "\\" in name or re.match(r"[A-Za-z]:", name):
        raise ConfigError(f"{kind} name '{shown}' is an absolute path; {rule}")
    parts = PurePosixPath(name).parts
    if any(p == ".." for p in parts):
        raise ConfigError(f"{kind} name '{shown}' leaves its folder ('..'); {rule}")
    if not parts or not all(_SEGMENT.fullmatch(p) for p in parts):
        raise ConfigError(f"{kind} name '{shown}' has characters a name may not have; {rule}")
    return name


def builtin_roots() -> list[Path]:
    """The folders holding the built-in configs: package data, then the source checkout."""
    pkg = Path(__file__).resolve().parent.parent
    return [pkg / "_data", pkg.parent]


def search_roots(kind: str, near: Path | None = None) -> list[Path]:
    """The folders a `kind` name is looked up in, in order (see the module docstring)."""
    sub = SUBDIRS[kind]
    base = Path(near).resolve().parent if near is not None else Path.cwd()
    roots = [base, base / sub, base.parent / sub] + [r / sub for r in builtin_roots()]
    out: list[Path] = []
    for r in roots:
        if r not in out:
            out.append(r)
    return out


def _inside(path: Path, root: Path) -> bool:
    try:
        return Path(os.path.realpath(path)).is_relative_to(Path(os.path.realpath(root)))
    except OSError:
        return False


def _is_file(path: Path, kind: str) -> bool:
    """Whether `path` is a regular file; ConfigError when something else (a FIFO, a folder) has the name."""
    try:
        st = os.stat(path)
    except OSError:  # missing, name too long and the like: not a file we can use
        return False
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{kind} file {path} is not a regular file (a folder, FIFO, socket or device); replace it with a .yaml file")
    return True


def resolve_name(kind: str, name: str, near: Path | None = None) -> Path:
    """The YAML file `name` of `kind` names; ConfigError listing where it looked."""
    check_name(kind, name)
    fnames = [name] if name.endswith((".yaml", ".yml")) else [f"{name}.yaml", f"{name}.yml"]
    roots = search_roots(kind, near)
    for root in roots:
        for fname in fnames:
            cand = root / fname
            if _is_file(cand, kind):
                if not _inside(cand, root):
                    raise ConfigError(f"{kind} '{name}': {cand} points outside {root} (a symlink); copy the file in instead")
                return cand
    looked = ", ".join(str(r) for r in roots)
    raise ConfigError(f"{kind} '{name}' not found: looked for {fnames[0]} in {looked}; create it or fix the name")


def confined_file(base_dir: Path, rel: str, what: str) -> Path:
    """`base_dir / rel` for a file a config names relative to its own folder (a case bank), kept inside it."""
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts:
        raise ConfigError(f"{what} '{rel}' must be a relative path inside {base_dir} (no '..', not absolute); move the file there")
    full = base_dir / p
    if not _inside(full, base_dir):
        raise ConfigError(f"{what} '{rel}' points outside {base_dir}; move the file there")
    return full.resolve()


_STUDY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")


def _first_existing(path: Path) -> Path | None:
    for p in (path, *path.parents):
        try:
            if p.exists():
                return p
        except OSError:
            return None
    return None


def check_dir_target(path: Path, what: str) -> Path:
    """`path` if a folder can be created or written there; ConfigError when it or a parent is a file."""
    found = _first_existing(path)
    if found is not None and not found.is_dir():
        where = "is a file" if found == path else f"lies under {found}, which is a file"
        raise ConfigError(f"{what} {path}: {where}, not a folder; give a folder path")
    return path


def check_file_target(path: Path, what: str) -> Path:
    """`path` if a file can be created there (it is not a folder and no parent is a file); ConfigError otherwise."""
    try:
        if path.is_dir():
            raise ConfigError(f"{what} {path}: is a folder; give a file path such as runs/simlab.duckdb")
    except OSError as exc:
        raise ConfigError(f"{what} {str(path)[:200]}: unusable ({exc.strerror}); give another path") from None
    check_dir_target(path.parent, what)
    return path


def output_dir(base: str, study_id: str, out: str | Path | None = None) -> Path:
    """The folder a report or export of `study_id` goes to: `out`, or ``<base>/<study_id>``.

    A study id read from a store is untrusted (a store file can hold ``../../x``):
    it must be a plain slug to name a folder, otherwise pass `out`.
    """
    if out is not None:
        return check_dir_target(Path(out), "--out")
    if not isinstance(study_id, str) or not _STUDY_ID.fullmatch(study_id):
        shown = str(study_id)[:60]
        raise ConfigError(
            f"study id '{shown}' is not a plain name (letters, digits, '_', '.', '-'), so it cannot name a folder "
            f"under {base}/; pass --out DIR"
        )
    return check_dir_target(Path(base) / study_id, "output folder")
