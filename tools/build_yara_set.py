"""Build the default YARA rule set that seawall ships, from Neo23x0's signature-base.

Loki and THOR users trust signature-base to find known web shells and hack tools; seawall runs the
part of it that bears on what a sweep scans by default (server-side scripts, and executables
outside the system's folders) and on the advisory: web shells (China Chopper included), hack
tools, APT families (Leviathan/APT40 included), exploitation of public-facing applications, and
the rules that judge a file by its name and path through Loki's external variables. Commodity
crimeware, documents, e-mail and log rules and generic hunting heuristics are left out (a user
adds them with ``seawall hunt --yara DIR``); every file left out is listed with its reason.

Rules are taken apart by a small lexer (strings, regular expressions and comments skipped) so
that single rules can be dropped: rules whose ``license`` meta names a licence other than the
Detection Rule License 1.1 (signature-base's own; some imported rules are CC BY-NC, which seawall
cannot redistribute), and rules that yara-x rejects. Each kept file is compiled alone with yara-x
and the external variables declared; what does not compile is dropped with the compiler's reason.

Output, in ``src/seawall/data/yara/`` (deterministic: a rebuild reproduces it byte for byte):
``signature-base.json.gz`` (the kept sources, one namespace per upstream file),
``set.json`` (the set's version, upstream commit, included and skipped files and rules),
``ATTRIBUTION.md`` and ``LICENSE-DRL-1.1.txt``. The sources are compiled once per machine and
yara-x version into a cache (``seawall.features.yara_set``), not per run.

Usage (from the project root)::

    python tools/build_yara_set.py [--data ../shared/data/yara/signature-base]
        [--out src/seawall/data/yara]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import yara_x

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "yara" / "signature-base"
DEFAULT_OUT = ROOT / "src" / "seawall" / "data" / "yara"
SOURCES_NAME = "signature-base.json.gz"
SET_NAME = "set.json"
FORMAT = 1
UPSTREAM = "Neo23x0/signature-base"
# Loki's external variables (loki.py declares them with dummy values at compile time).
EXTERNALS = ("filename", "filepath", "extension", "filetype", "owner", "md5")

# -- selection -----------------------------------------------------------------------------------

# (category, pattern on the file name) in order; a file whose rules are named for web shells
# is a web-shell file whatever its name (``category_of``), and one whose rules are named for hack
# tools is a hack-tool file unless its name says otherwise.
_WEBSHELL_FILE = r"webshell|chopper|laudanum|regeorg|b374k|p0wnshell|ysoserial|winshells"
_BY_NAME: tuple[tuple[str, str], ...] = (
    ("apt", r"^apt_"),
    ("exploitation", r"^(?:expl|exploit|vul|vuln)_|^gen_exploit_"),
    (
        "hacktool",
        r"hktl|hacktool|pentest|mimikatz|mimikittenz|mimipenguin|powerkatz|kirbi|kerberoast"
        r"|invoke_|powershell_(?:toolkit|suite|empire)|powersploit|ps_empire|empire|cobaltstrike"
        r"|gcti_|metasploit|impacket|merlin|pupy|armitage|sharpcat|potato|privesc|reverse_shell"
        r"|pty_shell|winpayloads|wmi_implant|nopowershell|powershdll|ps1_shellcode|gpp_cpassword"
        r"|recon_indicators|frp_proxy|venom|koh_|redsails|redteam|nighthawk|nimpackt|khepri"
        r"|redmimicry|bruteratel|BlueHammer",
    ),
    ("masquerading", r"^(?:thor_inverse_matches|generic_anomalies|general_cloaking)\.yar$"),
)
_WEBSHELL_RULE = re.compile(r"webshell|chopper", re.IGNORECASE)
_HACKTOOL_RULE = re.compile(r"^(?:hktl|hacktool)", re.IGNORECASE)
# Why a file that no category takes is left out, by its name.
_LEFT_OUT: tuple[tuple[str, str], ...] = (
    (r"^(?:crime|mal|bkdr|threat)_", "commodity crimeware, not the advisory's scope"),
    (r"^(?:pua|pup)_", "potentially unwanted applications"),
    (r"^spy_", "Five Eyes implants, not the advisory's scope"),
    (r"^log_|_logs?\.yar$", "log-file rules: the sweep scans scripts and executables"),
    (
        r"office|macro|excel|doc_|maldoc|pdf|rtf|lnk|onenote|phish|email|hta_|ole|svg",
        "document and e-mail rules: the default policy scans scripts and executables",
    ),
)


def category_of(name: str, rule_names: list[str]) -> tuple[str | None, str]:
    """The category that includes upstream file ``name``, or ``None`` and why it is left out.

    Web-shell files come first: they make the set that scans scripts (``SCRIPT_CATEGORIES``).
    """
    if re.search(_WEBSHELL_FILE, name, re.IGNORECASE) or any(
        _WEBSHELL_RULE.search(rule) for rule in rule_names
    ):
        return "webshell", ""
    for category, pattern in _BY_NAME:
        if re.search(pattern, name, re.IGNORECASE):
            return category, ""
    if any(_HACKTOOL_RULE.search(rule) for rule in rule_names):
        return "hacktool", ""
    for pattern, reason in _LEFT_OUT:
        if re.search(pattern, name, re.IGNORECASE):
            return None, reason
    return None, "generic hunting heuristics outside the default scope"


# -- a YARA source, rule by rule -----------------------------------------------------------------

_HEADER = re.compile(
    r"((?:(?:private|global)\s+)*)rule\s+([A-Za-z_]\w*)\s*(?::\s*([A-Za-z_][\w\s]*?))?\s*\{"
)
_IMPORT = re.compile(r'(?:import|include)\s+"[^"\n]*"')
_SECTION = re.compile(r"(meta|strings|condition)\s*:")
_META = re.compile(r'([A-Za-z_]\w*)\s*=\s*("(?:[^"\\\n]|\\.)*"|-?\d+|true|false)')
_IDENT = re.compile(r"[A-Za-z_]\w*")


class SourceError(ValueError):
    """A YARA source this lexer cannot take apart; the message carries the line."""


@dataclass(slots=True)
class RuleSource:
    name: str
    text: str
    line: int
    meta: dict[str, str] = field(default_factory=dict)
    condition: str = ""


@dataclass(slots=True)
class FileSource:
    imports: list[str]
    rules: list[RuleSource]

    def render(self, rules: list[RuleSource] | None = None) -> str:
        kept = self.rules if rules is None else rules
        return "\n".join([*self.imports, "", *(r.text + "\n" for r in kept)])


def _line(text: str, i: int) -> int:
    return text.count("\n", 0, i) + 1


def _skip_quoted(text: str, i: int, quote: str, what: str) -> int:
    """Index after the string (``"``) or regular expression (``/``, with its flags) at ``i``."""
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == quote:
            j += 1
            while quote == "/" and j < len(text) and text[j].isalpha():
                j += 1
            return j
        if c == "\n":
            break
        j += 1
    raise SourceError(f"line {_line(text, i)}: unterminated {what}")


def _skip_comment(text: str, i: int) -> int:
    """Index after the comment at ``i``, or ``i`` when none starts there."""
    if text.startswith("//", i):
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        if end < 0:
            raise SourceError(f"line {_line(text, i)}: unterminated comment")
        return end + 2
    return i


def _body_end(text: str, i: int, sections: dict[str, int]) -> int:
    """Index after the ``}`` closing the rule body opened just before ``i``. Braces of hex
    strings and regex quantifiers balance; strings, regexes and comments are skipped (YARA
    divides with ``\\``, so a ``/`` outside a comment always opens a regular expression)."""
    depth = 1
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _skip_quoted(text, i, '"', "string")
        elif c == "/":
            j = _skip_comment(text, i)
            i = j if j != i else _skip_quoted(text, i, "/", "regular expression")
        elif c in "{}":
            depth += 1 if c == "{" else -1
            i += 1
            if depth == 0:
                return i
        elif depth == 1 and c.isalpha() and not (text[i - 1].isalnum() or text[i - 1] in "_$#@!"):
            match = _SECTION.match(text, i)
            if match:
                sections[match.group(1)] = match.end()
                i = match.end()
            else:
                i = _IDENT.match(text, i).end()  # type: ignore[union-attr]
        else:
            i += 1
    raise SourceError(f"line {_line(text, i)}: rule body never closed")


def split_rules(text: str) -> FileSource:
    """Imports and rules of one YARA file (comments between rules are dropped)."""
    imports: list[str] = []
    rules: list[RuleSource] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        j = _skip_comment(text, i)
        if j != i:
            i = j
            continue
        if match := _IMPORT.match(text, i):
            imports.append(match.group(0))
            i = match.end()
            continue
        header = _HEADER.match(text, i)
        if header is None:
            raise SourceError(f"line {_line(text, i)}: unexpected {text[i : i + 30]!r}")
        sections: dict[str, int] = {}
        end = _body_end(text, header.end(), sections)
        rule = RuleSource(header.group(2), text[i:end], _line(text, i))
        rule.condition = text[sections.get("condition", end - 1) : end - 1]
        if "meta" in sections:
            stop = min([v for v in sections.values() if v > sections["meta"]] or [end])
            for item in _META.finditer(text, sections["meta"], stop):
                key, raw = item.group(1).lower(), item.group(2)
                rule.meta.setdefault(key, raw[1:-1] if raw.startswith('"') else raw)
        rules.append(rule)
        i = end
    return FileSource(imports, rules)


def licence_problem(rule: RuleSource) -> str | None:
    """Why a rule cannot be shipped under the DRL 1.1, or ``None`` (no ``license`` meta means
    the repository's DRL 1.1 applies)."""
    licence = rule.meta.get("license")
    if licence is None or re.search(r"detection.rule.license", licence, re.IGNORECASE):
        return None
    return f"licence {licence!r} is not the Detection Rule License 1.1"


def references(rule: RuleSource, names: set[str]) -> set[str]:
    """Rules of the same file that ``rule``'s condition names (private helper rules)."""
    return {word for word in _IDENT.findall(rule.condition) if word in names} - {rule.name}


# -- compiling -----------------------------------------------------------------------------------


def new_compiler() -> yara_x.Compiler:
    """A compiler as seawall's runtime makes one: Loki's externals, YARA's relaxed regexes."""
    compiler = yara_x.Compiler(relaxed_re_syntax=True)
    for name in EXTERNALS:
        compiler.define_global(name, "")
    return compiler


def compile_problem(source: str, origin: str) -> tuple[str | None, list[tuple[str, str]]]:
    """Compile one file alone: the error that stops it (``None``: it compiles) and the rules
    yara-x ignores, with their reasons."""
    compiler = new_compiler()
    compiler.ignore_invalid_rules(True)
    try:
        compiler.add_source(source, origin=origin)
    except yara_x.CompileError as error:
        return str(error).strip().splitlines()[0], []
    # (yara-x's stubs declare these as methods; they are properties)
    ignored = cast(Any, compiler).ignored_rules()
    return None, [(str(r.name), f"yara-x: {str(r.message).strip()}") for r in ignored]


@dataclass(slots=True)
class Kept:
    file: str
    category: str
    sha256: str
    source: FileSource
    rules: list[RuleSource]

    @property
    def namespace(self) -> str:
        return re.sub(r"\W", "_", self.file.rsplit(".", 1)[0])


@dataclass(slots=True)
class Selection:
    kept: list[Kept] = field(default_factory=list)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    skipped_rules: list[tuple[str, str, str]] = field(default_factory=list)
    read: int = 0


def _drop(rules: list[RuleSource], drop: dict[str, str]) -> tuple[list[RuleSource], dict[str, str]]:
    """Rules without ``drop`` and without the rules that name a dropped one (transitively)."""
    names = {r.name for r in rules}
    dropped = dict(drop)
    changed = True
    while changed:
        changed = False
        for rule in rules:
            if rule.name in dropped:
                continue
            lost = references(rule, names) & dropped.keys()
            if lost:
                dropped[rule.name] = f"uses rule {sorted(lost)[0]}, which is left out"
                changed = True
    return [r for r in rules if r.name not in dropped], dropped


def select(data: Path) -> Selection:
    """Read every rule file of signature-base and keep what the default set includes."""
    out = Selection()
    for path in sorted((data / "yara").iterdir()):
        if path.suffix.lower() not in (".yar", ".yara"):
            continue
        out.read += 1
        raw = path.read_bytes()
        try:
            source = split_rules(raw.decode("utf-8"))
        except (UnicodeDecodeError, SourceError) as error:
            out.skipped_files.append((path.name, f"cannot be read: {error}"))
            continue
        category, reason = category_of(path.name, [r.name for r in source.rules])
        if category is None:
            out.skipped_files.append((path.name, reason))
            continue
        drop = {r.name: p for r in source.rules if (p := licence_problem(r))}
        rules, dropped = _drop(source.rules, drop)
        problem, ignored = compile_problem(source.render(rules), path.name)
        if ignored:
            rules, dropped = _drop(rules, {**dropped, **dict(ignored)})
            problem, ignored = compile_problem(source.render(rules), path.name)
        if problem is not None:
            out.skipped_files.append((path.name, f"does not compile under yara-x: {problem}"))
            continue
        if not rules:
            why = "; ".join(sorted(set(dropped.values()))) or "no rules (all commented out)"
            out.skipped_files.append((path.name, f"no rule left: {why}"))
            continue
        out.skipped_rules += [(path.name, name, why) for name, why in sorted(dropped.items())]
        digest = hashlib.sha256(raw).hexdigest()
        out.kept.append(Kept(path.name, category, digest, source, rules))
    return out


# -- output --------------------------------------------------------------------------------------


def sources_document(selection: Selection, commit: str) -> bytes:
    """The shipped sources: deterministic JSON, gzip without name or mtime."""
    document = {
        "format": FORMAT,
        "upstream": UPSTREAM,
        "commit": commit,
        "externals": list(EXTERNALS),
        "files": [
            {
                "file": k.file,
                "namespace": k.namespace,
                "category": k.category,
                "source": k.source.render(k.rules),
            }
            for k in selection.kept
        ],
    }
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as out:
        out.write(text.encode("utf-8"))
    return buffer.getvalue()


def set_document(selection: Selection, commit: str, sources: bytes) -> dict[str, object]:
    version = hashlib.sha256(gzip.decompress(sources)).hexdigest()[:16]
    return {
        "format": FORMAT,
        "version": f"signature-base@{commit}+{version}",
        "upstream": UPSTREAM,
        "commit": commit,
        "built_with_yara_x": metadata.version("yara-x"),
        "files_read": selection.read,
        "rules": sum(len(k.rules) for k in selection.kept),
        "files": [
            {"file": k.file, "category": k.category, "rules": len(k.rules), "sha256": k.sha256}
            for k in selection.kept
        ],
        "skipped_files": [{"file": f, "reason": r} for f, r in selection.skipped_files],
        "skipped_rules": [
            {"file": f, "rule": n, "reason": r} for f, n, r in selection.skipped_rules
        ],
    }


def _count(rules: int) -> str:
    return f"{rules} rule" if rules == 1 else f"{rules} rules"


def _reasons(selection: Selection) -> str:
    """How many single rules were left out for each kind of reason."""
    kinds = {"licence": 0, "yara-x": 0, "uses rule": 0}
    for _, _, reason in selection.skipped_rules:
        for kind in kinds:
            if reason.startswith(kind):
                kinds[kind] += 1
    return (
        f"rules: {kinds['licence']} for their licence, {kinds['yara-x']} rejected by yara-x,"
        f" {kinds['uses rule']} that use a rule left out"
    )


def attribution(doc: dict[str, object], selection: Selection) -> str:
    by_category: dict[str, list[Kept]] = {}
    for kept in selection.kept:
        by_category.setdefault(kept.category, []).append(kept)
    lines = [
        "# Default YARA rule set (signature-base) — attribution and licence",
        "",
        f"`{SOURCES_NAME}` holds YARA rules from [{UPSTREAM}](https://github.com/{UPSTREAM}) at",
        f"commit `{doc['commit']}`, by Florian Roth (Nextron Systems) and the other authors named",
        "in each rule's `author` meta, with each rule's `reference`. They are licensed under the",
        "Detection Rule License (DRL) 1.1, reproduced in `LICENSE-DRL-1.1.txt` beside this file",
        "(also <https://github.com/SigmaHQ/Detection-Rule-License>). Each rule's text is as",
        "upstream wrote it (comments between rules are not kept); the selection was made by",
        "`tools/build_yara_set.py`, which also wrote this file. Every",
        "finding seawall makes from a rule carries the rule's author and reference, as the DRL",
        "asks.",
        "",
        f"Set version `{doc['version']}`: {doc['rules']:,} rules from {len(selection.kept)} of",
        f"{selection.read} upstream files; {len(selection.skipped_files)} files and",
        f"{len(selection.skipped_rules)} single rules left out, each with its reason below",
        f"({_reasons(selection)}). Rules are compiled by yara-x {doc['built_with_yara_x']} with",
        "YARA's relaxed regular-expression syntax (as libyara reads them) and Loki's external",
        f"variables ({', '.join(EXTERNALS)}) declared.",
        "",
        "## Included files, by category",
    ]
    for category in sorted(by_category):
        members = by_category[category]
        lines += ["", f"### {category} ({len(members)} files)", ""]
        lines += [f"- `{k.file}` ({_count(len(k.rules))})" for k in members]
    lines += ["", "## Rules left out of included files", ""]
    lines += [f"- `{f}` `{n}`: {r}" for f, n, r in selection.skipped_rules] or ["- none"]
    lines += ["", "## Files left out", ""]
    lines += [f"- `{f}`: {r}" for f, r in selection.skipped_files]
    return "\n".join(lines) + "\n"


def upstream_commit(data: Path) -> str:
    """The commit that ``../shared/data/README.md`` records for signature-base."""
    readme = data.parents[1] / "README.md"
    if readme.exists():
        found = re.search(r"Neo23x0/signature-base @(\w+)", readme.read_text(encoding="utf-8"))
        if found:
            return found.group(1)
    return "unknown"


def build(data: Path, out: Path) -> dict[str, object]:
    if not (data / "yara").is_dir():
        raise SystemExit(f"missing signature-base rules: {data / 'yara'}")
    selection = select(data)
    commit = upstream_commit(data)
    sources = sources_document(selection, commit)
    doc = set_document(selection, commit, sources)
    out.mkdir(parents=True, exist_ok=True)
    (out / SOURCES_NAME).write_bytes(sources)
    text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    (out / SET_NAME).write_text(text, encoding="utf-8")
    (out / "ATTRIBUTION.md").write_text(attribution(doc, selection), encoding="utf-8")
    licence = (data / "LICENSE").read_text(encoding="utf-8")
    (out / "LICENSE-DRL-1.1.txt").write_text(licence, encoding="utf-8")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="signature-base folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="package data folder")
    args = parser.parse_args(argv)
    doc = build(args.data, args.out)
    skipped_files = doc["skipped_files"]
    skipped_rules = doc["skipped_rules"]
    assert isinstance(skipped_files, list) and isinstance(skipped_rules, list)
    for item in skipped_rules:
        print(f"rule left out: {item['file']} {item['rule']}: {item['reason']}", file=sys.stderr)
    for item in skipped_files:
        print(f"file left out: {item['file']}: {item['reason']}", file=sys.stderr)
    files = doc["files"]
    assert isinstance(files, list)
    print(
        f"{doc['version']}: {doc['rules']} rules from {len(files)} files"
        f" ({len(skipped_files)} files and {len(skipped_rules)} rules left out)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
