"""The default YARA rule set seawall ships (from Neo23x0's signature-base), compiled once.

Two sets are compiled from them: ``all`` (every shipped rule, for executables and for
``--yara-all``) and ``scripts`` (the web-shell and exploitation files: 1,512 of 4,169 rules,
loaded in a fifth of the time and scanning text twice as fast, for the server-side scripts the
default policy selects; the other categories' rules target executables).

What ships is the *sources* of the selected rules (``data/yara/signature-base.json.gz``, built by
``tools/build_yara_set.py``, ~0.9 MB) and ``set.json`` naming the set's version. A compiled,
serialised set would be ~5 MB (1.8 MB gzipped) of binary in every rebuild's history and would
load only under the exact yara-x version that wrote it. So the sources are compiled the first
time a process needs them (2.5-4 s) and the serialised rules are kept in a cache directory keyed
by the set's version *and* the yara-x version (``$SEAWALL_CACHE_DIR``, else
``$XDG_CACHE_HOME/seawall``, else ``~/.cache/seawall``): every later process deserialises them
(~0.6-1 s). A cache written by another yara-x version is never read; one that fails to load is
compiled again. When the cache cannot be written the rules are compiled in memory for that
process, and :func:`load` says so.

``yara_x`` is imported inside the functions that need it: ``seawall.cli.app`` must start fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import yara_x

#: Loki's external variables, declared (as strings) in every compiled set.
EXTERNALS = ("filename", "filepath", "extension", "filetype", "owner", "md5")
Scope = Literal["scripts", "all"]
#: The upstream files' categories (``tools/build_yara_set.py``) each compiled set holds.
SCOPES: dict[str, frozenset[str] | None] = {
    "scripts": frozenset({"webshell", "exploitation"}),
    "all": None,
}
_DATA = "seawall.data.yara"


@dataclass(frozen=True, slots=True)
class SetInfo:
    version: str
    """``signature-base@<commit>+<hash of the sources>``: stored with every hit."""
    commit: str
    rules: int
    files: int


@cache
def set_info() -> SetInfo:
    """The shipped set's version and size (from ``set.json``; no rules are loaded)."""
    doc = json.loads(resources.files(_DATA).joinpath("set.json").read_text(encoding="utf-8"))
    return SetInfo(doc["version"], doc["commit"], doc["rules"], len(doc["files"]))


def yara_x_version() -> str:
    return metadata.version("yara-x")


def cache_dir() -> Path:
    explicit = os.environ.get("SEAWALL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "seawall"


def cache_path(scope: Scope = "all") -> Path:
    """Where the compiled set ``scope`` lives for this set version and yara-x version."""
    version = set_info().version.replace("@", "-").replace("+", "-")
    return cache_dir() / "yara" / f"{version}.{scope}.yara-x-{yara_x_version()}.rules"


def new_compiler() -> yara_x.Compiler:
    """A compiler with Loki's externals declared and YARA's relaxed regular expressions (as
    signature-base is written for libyara)."""
    import yara_x

    compiler = yara_x.Compiler(relaxed_re_syntax=True)
    for name in EXTERNALS:
        compiler.define_global(name, "")
    return compiler


class ShippedSetError(RuntimeError):
    """The shipped set does not compile under the installed yara-x (not the one seawall pins)."""


def compile_shipped(scope: Scope = "all") -> yara_x.Rules:
    """Compile the shipped sources of ``scope`` (one namespace per upstream file)."""
    import yara_x

    try:
        return _compile(scope)
    except yara_x.CompileError as error:
        info = json.loads(resources.files(_DATA).joinpath("set.json").read_text(encoding="utf-8"))
        raise ShippedSetError(
            f"the shipped YARA set {info['version']} was checked with yara-x"
            f" {info['built_with_yara_x']} but does not compile under the installed yara-x"
            f" {yara_x_version()}: {str(error).strip().splitlines()[0]}. Install the yara-x"
            " version seawall pins, or sweep with --no-default-yara"
        ) from None


def _compile(scope: Scope) -> yara_x.Rules:
    raw = resources.files(_DATA).joinpath("signature-base.json.gz").read_bytes()
    doc: dict[str, Any] = json.loads(gzip.decompress(raw))
    categories = SCOPES[scope]
    compiler = new_compiler()
    for item in doc["files"]:
        if categories is not None and item["category"] not in categories:
            continue
        compiler.new_namespace(item["namespace"])
        compiler.add_source(item["source"], origin=item["file"])
    return compiler.build()


def _deserialise(path: Path) -> yara_x.Rules | None:
    import yara_x

    try:
        with path.open("rb") as handle:
            return yara_x.Rules.deserialize_from(handle)
    except (OSError, ValueError, yara_x.CompileError):
        return None


def _write(rules: yara_x.Rules, path: Path) -> None:
    """Serialise atomically: a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".rules")
    try:
        with os.fdopen(fd, "wb") as handle:
            rules.serialize_into(handle)
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


@dataclass(frozen=True, slots=True)
class Loaded:
    rules: yara_x.Rules
    note: str | None
    """Why the rules were compiled in memory instead of cached (``None``: from/to the cache)."""


def load(scope: Scope = "all") -> Loaded:
    """The compiled shipped set ``scope``: from the cache, or compiled once and cached.

    Concurrent processes (a sweep's workers) take a lock, so the set is compiled once and the
    others wait for it and deserialise it.
    """
    path = cache_path(scope)
    rules = _deserialise(path) if path.exists() else None
    if rules is not None:
        return Loaded(rules, None)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(path.parent / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as error:
        note = f"YARA cache {path.parent} not writable ({error.strerror}): compiled in memory"
        return Loaded(compile_shipped(scope), note)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rules = _deserialise(path) if path.exists() else None  # another process made it
        if rules is None:
            rules = compile_shipped(scope)
            try:
                _write(rules, path)
            except OSError as error:
                note = f"YARA cache {path} not writable ({error.strerror}): compiled in memory"
                return Loaded(rules, note)
        return Loaded(rules, None)
    finally:
        os.close(lock)  # releases the lock
