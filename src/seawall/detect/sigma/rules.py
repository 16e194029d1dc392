"""Load Sigma rules from folders with pySigma and the Windows/Sysmon pipelines: compiled rules.

Each rule file is read once, parsed with pySigma (YAML and rule errors carry ``file:line``), and
every rule in it becomes one :class:`CompiledRule`: its metadata and either the detection trees of
its variants (see :mod:`seawall.detect.sigma.logsource`) or the exact reason it cannot run.
Nothing is dropped: a file that is not YAML, a rule pySigma refuses, a correlation rule, a log
source without Windows events, an unsupported modifier — each is a rule with a reason.

Compiling the 2,800 rules of SigmaHQ's Windows set takes pySigma seconds, so compiled rules are
cached by the SHA-256 of the rule file (and the versions of everything that compiles it) in
``$SEAWALL_CACHE_DIR`` (default ``~/.cache/seawall``); a changed file is compiled again, and a
file whose size and times have not changed is not even read (:class:`RuleCache`).
"""

from __future__ import annotations

import contextlib
import copy
import gc
import hashlib
import marshal
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from seawall.detect.sigma.facts import Facts, facts_of
from seawall.detect.sigma.ir import Node
from seawall.errors import UsageError

if TYPE_CHECKING:
    from sigma.rule import SigmaRule

# Bump when the compiled form changes: cached rules of another version are compiled again.
COMPILER_VERSION = 3
_LEVELS = {
    "informational": "info",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}


class Variant:
    """One compiled form of a rule (e.g. its Sysmon 1 and its Security 4688 form): its
    detection tree, the events it can match, and the tree's :class:`~.facts.Facts`.

    The tree is kept marshalled until something reads it: a hunt reads the trees of the few
    rules whose needed tests match some value, not those of the 3,000 it loads.
    """

    __slots__ = ("_facts", "_tree", "blob", "channels", "event_ids", "name")

    def __init__(
        self,
        name: str,
        tree: Node | None,
        channels: tuple[str, ...] | None,
        event_ids: tuple[int, ...] | None,
        *,
        blob: bytes | None = None,
        facts: Facts | None = None,
    ) -> None:
        if blob is None:
            if tree is None:
                raise ValueError("a variant needs its tree")
            blob = marshal.dumps(tree)  # type: ignore[arg-type]
        self.name = name
        self.channels = channels
        self.event_ids = event_ids
        self._tree = tree
        self.blob = blob
        self._facts = facts

    @property
    def tree(self) -> Node:
        if self._tree is None:
            self._tree = marshal.loads(self.blob)
        return self._tree

    @property
    def facts(self) -> Facts:
        if self._facts is None:
            self._facts = facts_of(self.tree)
        return self._facts

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Variant):
            return NotImplemented
        return (self.name, self.blob, self.channels, self.event_ids) == (
            other.name,
            other.blob,
            other.channels,
            other.event_ids,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.blob, self.channels, self.event_ids))

    def __repr__(self) -> str:
        return f"Variant({self.name!r}, channels={self.channels}, event_ids={self.event_ids})"


@dataclass(slots=True)
class CompiledRule:
    """A Sigma rule as the hunt uses it; ``reason`` is set when it cannot run at all."""

    id: str
    title: str
    path: str
    level: str = "medium"
    status: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    false_positives: list[str] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    reason: str | None = None
    kind: str = "rule"

    @property
    def techniques(self) -> list[str]:
        """ATT&CK technique ids from ``attack.tNNNN[.NNN]`` tags."""
        found: list[str] = []
        for tag in self.tags:
            name = tag.lower()
            if name.startswith("attack.t") and name[8:9].isdigit():
                found.append(name[7:].upper())
        return found

    @property
    def severity(self) -> str:
        return _LEVELS.get(self.level, "medium")

    def to_json(self) -> dict[str, Any]:
        """Plain values for the cache: the tree marshalled, its facts alongside."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["variants"] = [
            {
                "name": v.name,
                "blob": v.blob,
                "channels": v.channels,
                "event_ids": v.event_ids,
                "facts": v.facts.to_plain(),
            }
            for v in self.variants
        ]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CompiledRule:
        data = dict(data)
        data["variants"] = [
            Variant(
                v["name"],
                None,
                None if v["channels"] is None else tuple(v["channels"]),
                None if v["event_ids"] is None else tuple(v["event_ids"]),
                blob=v["blob"],
                facts=Facts.from_plain(v["facts"]),
            )
            for v in data["variants"]
        ]
        return cls(**data)


def rule_files(directories: Iterable[Path]) -> Iterator[Path]:
    """Every ``.yml``/``.yaml`` file under the folders (or the files given), in name order."""
    for given in directories:
        path = Path(given)
        if path.is_file():
            yield path
        elif path.is_dir():
            found: list[tuple[tuple[str, ...], str]] = []
            _walk(str(path), path.parts, found)
            yield from (Path(text) for _, text in sorted(found))
        else:
            raise UsageError(f"--sigma: no such file or directory: {path}")


def _walk(folder: str, parts: tuple[str, ...], found: list[tuple[tuple[str, ...], str]]) -> None:
    """The rule files under ``folder`` with their path parts (``Path`` order is parts order),
    as ``Path.rglob`` finds them (linked folders are not entered); one ``scandir`` per folder,
    no ``stat`` per file."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _walk(entry.path, (*parts, entry.name), found)
        # a Path per file would cost what this walk saves
        elif os.path.splitext(entry.name)[1] in (".yml", ".yaml") and entry.is_file():  # noqa: PTH122
            found.append(((*parts, entry.name), entry.path))


def _versions() -> str:
    names = ("pySigma", "pysigma-pipeline-windows", "pysigma-pipeline-sysmon")
    return f"{COMPILER_VERSION}:" + ",".join(version(n) for n in names)


def cache_dir() -> Path:
    configured = os.environ.get("SEAWALL_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "seawall"


# A file changed this recently when its stamp was taken may change again within the file
# system's time granularity without its stamp changing: such a stamp is not kept.
_RACY_NS = 2_000_000_000
Stamp = tuple[int, int, int, int]
"""A rule file's (size, mtime_ns, ctime_ns, inode): unchanged, its content is unchanged."""


def _stamp(status: os.stat_result) -> Stamp:
    return (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino)


class RuleCache:
    """Compiled rules by rule-file SHA-256, in one file per user (``marshal``: plain values only,
    read back ten times faster than JSON; a file of another compiler version is ignored).

    Each file's rules are kept marshalled on their own, and read only when that file is loaded.
    The SHA-256 of each path is kept with the file's stamp (:data:`Stamp`): a hunt whose rule
    files did not change reads none of them (3,000 files read and hashed took a fifth of a
    second), and a file whose stamp changed is read and hashed again.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or cache_dir()) / "sigma-compiled.marshal"
        self.key = _versions()
        self.entries: dict[str, bytes] = {}
        self.stamps: dict[str, tuple[Stamp, str]] = {}
        self.changed = False
        try:
            stored = marshal.loads(self.path.read_bytes())
            if isinstance(stored, dict) and stored.get("key") == self.key:
                self.entries = stored["files"]
                self.stamps = stored["stamps"]
        except (OSError, ValueError, EOFError, KeyError, TypeError):
            self.entries, self.stamps = {}, {}

    def get(self, sha256: str) -> list[dict[str, Any]] | None:
        entry = self.entries.get(sha256)
        return None if entry is None else list(marshal.loads(entry))

    def put(self, sha256: str, rules: list[CompiledRule]) -> None:
        self.entries[sha256] = marshal.dumps([r.to_json() for r in rules])
        self.changed = True

    def digest(self, path: Path) -> tuple[str, bytes | None]:
        """The file's SHA-256, and its content when it had to be read (unknown or changed)."""
        key = str(path)
        status = path.stat()
        known = self.stamps.get(key)
        if known is not None and known[0] == _stamp(status) and known[1] in self.entries:
            return known[1], None
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()
        newest = max(status.st_mtime_ns, status.st_ctime_ns)
        if newest < time.time_ns() - _RACY_NS and _stamp(path.stat()) == _stamp(status):
            self.stamps[key] = (_stamp(status), digest)
        else:
            self.stamps.pop(key, None)
        self.changed = self.changed or known != self.stamps.get(key)
        return digest, content

    def save(self, keep: set[str]) -> None:
        """Write the cache (only the files of this load, so it never grows without bound)."""
        if not self.changed and set(self.entries) <= keep:
            return
        files = {k: v for k, v in self.entries.items() if k in keep}
        stamps = {k: v for k, v in self.stamps.items() if v[1] in keep}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(
                marshal.dumps({"key": self.key, "files": files, "stamps": stamps})
            )
            temporary.replace(self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time


def load_rules(directories: Iterable[Path], cache: RuleCache | None = None) -> list[CompiledRule]:
    """Every rule under the folders, compiled (from the cache when the file is unchanged).

    Rule ids are unique in the result: a second rule with an id already loaded is kept as a
    not-run rule naming the first one's file.
    """
    with _no_collection():
        return _load_rules(directories, cache)


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """No garbage collection while cached rules are read back: their hundred thousand small
    tuples would trigger it a hundred times (half the time of a load), and they hold no
    cycle to collect."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_rules(directories: Iterable[Path], cache: RuleCache | None) -> list[CompiledRule]:
    store = cache if cache is not None else RuleCache()
    loaded: list[CompiledRule] = []
    seen_files: set[str] = set()
    for path in rule_files(directories):
        digest, content = store.digest(path)
        seen_files.add(digest)
        cached = store.get(digest)
        if cached is not None:
            compiled = [CompiledRule.from_json(item) for item in cached]
            for rule in compiled:
                rule.path = str(path)
        else:
            compiled = compile_file(path, content if content is not None else path.read_bytes())
            store.put(digest, compiled)
        loaded.extend(compiled)
    store.save(seen_files)
    return _unique(loaded)


def _unique(rules: list[CompiledRule]) -> list[CompiledRule]:
    first: dict[str, str] = {}
    for rule in rules:
        if rule.id in first:
            where = first[rule.id]
            rule.id = f"{rule.id}@{rule.path}"
            rule.variants = []
            rule.reason = rule.reason or f"duplicate rule id: already loaded from {where}"
        else:
            first[rule.id] = rule.path
    return rules


def compile_file(path: Path, content: bytes) -> list[CompiledRule]:
    """Every rule of one file, compiled, or one not-run entry naming where the file is broken."""
    # pySigma is imported here: a hunt whose rules are all cached never needs it
    from sigma.collection import SigmaCollection
    from sigma.correlations import SigmaCorrelationRule
    from sigma.exceptions import SigmaError
    from sigma.rule import SigmaRule

    display = str(path)
    try:
        documents = [d for d in yaml.load_all(content, Loader=_LOADER) if d is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{display}:{mark.line + 1}" if mark is not None else display
        problem = getattr(error, "problem", None) or str(error)
        return [_broken(display, f"{where}: not valid YAML: {problem}")]
    except UnicodeDecodeError as error:
        return [_broken(display, f"{display}: not UTF-8 at byte {error.start}")]
    if not all(isinstance(d, dict) for d in documents):
        return [_broken(display, f"{display}: a YAML document is not a mapping")]
    try:
        collection = SigmaCollection.from_dicts(
            copy.deepcopy(documents), collect_errors=True, resolve_references=False
        )
    except SigmaError as error:
        return [_broken(display, f"{display}: {error}")]
    result: list[CompiledRule] = []
    for index, item in enumerate(collection.rules):
        rule = _metadata(item, display, index)
        if item.errors:
            rule.reason = "; ".join(_error_text(e, display) for e in item.errors)
        elif isinstance(item, SigmaCorrelationRule):
            rule.kind = "correlation"
            rule.reason = (
                f"Sigma correlation rule ({item.type.name.lower()}) is not supported:"
                " seawall evaluates single-event rules only"
            )
        elif isinstance(item, SigmaRule):
            _compile_variants(rule, documents, index)
        else:
            rule.kind = type(item).__name__
            rule.reason = f"{type(item).__name__} documents are not supported"
        result.append(rule)
    if not result:
        return [_broken(display, f"{display}: no Sigma rule in the file")]
    return result


def _compile_variants(rule: CompiledRule, documents: list[Any], index: int) -> None:
    """Apply each variant's pipeline to a fresh parse of the rule and compile its detection."""
    from sigma.exceptions import SigmaError

    from seawall.detect.sigma.compile import Unsupported, compile_rule
    from seawall.detect.sigma.ir import channels_of, event_ids_of
    from seawall.detect.sigma.logsource import variants

    first = _fresh(documents, index)
    specs, reason = variants(first.logsource)
    if reason is not None:
        rule.reason = reason
        return
    for spec in specs:
        parsed = first if spec is specs[0] else _fresh(documents, index)
        try:
            spec.pipeline().apply(parsed)
            tree = compile_rule(parsed)
        except Unsupported as unsupported:
            rule.variants = []
            rule.reason = unsupported.reason
            return
        except SigmaError as error:
            rule.variants = []
            rule.reason = f"pySigma pipeline ({spec.name}): {error}"
            return
        channels = channels_of(tree)
        event_ids = event_ids_of(tree)
        if channels is None and (first.logsource.service or first.logsource.category):
            service = first.logsource.service or first.logsource.category
            rule.variants = []
            rule.reason = f"log source service {service} has no Windows channel in the pipelines"
            return
        rule.variants.append(
            Variant(
                name=spec.name,
                tree=tree,
                channels=None if channels is None else tuple(sorted(channels)),
                event_ids=None if event_ids is None else tuple(sorted(event_ids)),
            )
        )


def _fresh(documents: list[Any], index: int) -> SigmaRule:
    from sigma.collection import SigmaCollection
    from sigma.rule import SigmaRule

    parsed = SigmaCollection.from_dicts(
        copy.deepcopy(documents), collect_errors=True, resolve_references=False
    ).rules[index]
    assert isinstance(parsed, SigmaRule)
    return parsed


def _metadata(item: Any, display: str, index: int) -> CompiledRule:
    ident = str(item.id) if getattr(item, "id", None) else f"{display}#{index + 1}"
    level = getattr(item, "level", None)
    status = getattr(item, "status", None)
    return CompiledRule(
        id=ident,
        title=str(getattr(item, "title", "") or ident),
        path=display,
        level=str(level).lower() if level is not None else "medium",
        status=str(status).lower() if status is not None else None,
        tags=[f"{t.namespace}.{t.name}" for t in getattr(item, "tags", None) or []],
        description=getattr(item, "description", None),
        false_positives=[str(f) for f in getattr(item, "falsepositives", None) or []],
    )


def _error_text(error: Exception, display: str) -> str:
    text = str(error.args[0]) if error.args else type(error).__name__
    source = getattr(error, "source", None)
    line = getattr(source, "line", None) if source is not None else None
    return f"{display}:{line}: {text}" if line else f"{display}: {text}"


def _broken(display: str, reason: str) -> CompiledRule:
    return CompiledRule(id=display, title=Path(display).name, path=display, reason=reason)


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
