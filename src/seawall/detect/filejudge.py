"""Judge a file-based hit: where the file sits, what it was built as, and whether it is signed.

AA21-200A's hashes include genuine PuTTY, cmd.exe and svchost.exe binaries, so a hit alone says
little: the same bytes are routine in ``C:\\Program Files\\PuTTY`` and masquerading in
``C:\\Users\\Public\\Music``. Every file-based finding therefore carries one verdict with the
reasons behind it, strongest evidence first:

``signature-invalid``
    The Authenticode signature does not verify (tampered binary; T1036.001).
``renamed-binary``
    The PE's original file name differs from its name on disk (T1036.003).
``signature-untrusted``
    A known tool in its standard folder, signed by a certificate that chains to no trusted root
    (self-signed, or an unknown CA): vendors sign releases with trusted certificates, so this is
    a copy someone re-signed (T1036.001). Never suppressed; outside the standard folder the
    location verdict stands and the signature is one more reason.
``legit-tool-nonstandard-location``
    A known tool outside every folder it is installed in (T1036.005).
``legit-tool-standard-location``
    A known tool where it belongs: suppressed as a false positive, with the reason shown.
``location-not-judged``
    A known tool's name on a Windows host whose sweep recorded no Windows path (part of an image
    swept without ``--root-map``): where it sits cannot be judged, so it is never suppressed.
``unknown``
    Not a tool seawall knows: the hit stands on its own.

A file is only suppressed when nothing else is wrong with it: a renamed or badly signed binary in
a standard folder is exactly what masquerading looks like.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from seawall.triage.locations import LocationJudgement, ToolLocations, Verdict

SIGNATURE_INVALID = "signature-invalid"
NOT_JUDGED = "location-not-judged"
SIGNATURE_UNTRUSTED = "signature-untrusted"
RENAMED_BINARY = "renamed-binary"
RENAMED_TECHNIQUE = "T1036.003"
INVALID_SIGNATURE_TECHNIQUE = "T1036.001"


@dataclass(frozen=True, slots=True)
class FileJudgement:
    """The verdict of one file, its reasons in the order an analyst should read them."""

    verdict: str
    suppressed: bool
    reasons: tuple[str, ...]
    techniques: tuple[str, ...]


def _base_name(name: str) -> str:
    """A name for comparing PE original names: lower-case stem, no ``.mui``, no build digits.

    Windows records ``OriginalFilename`` loosely: ``Cmd.Exe.MUI`` for cmd.exe, ``PuTTY`` with no
    extension for putty.exe, ``"DeviceCredentialDeployment.exe"`` in quotes, ``mavinject32.exe``
    for mavinject.exe and ``psexec.c`` for PsExec64.exe. Comparing stems without quotes and
    trailing digits avoids calling those renamed (measured on xcyclopedia's known-good binaries,
    ``benchmarks/masquerade_eval.py``).
    """
    text = name.strip().strip("\"'").strip().lower()
    if text.endswith(".mui"):
        text = text[: -len(".mui")]
    stem, dot, _ = text.rpartition(".")
    base = stem if dot and stem else text
    return base.rstrip("0123456789") or base


def is_renamed(name_on_disk: str, original_name: str | None) -> bool:
    """True when the PE says it was built as another file than the one it is called now."""
    if not original_name or not original_name.strip() or not name_on_disk:
        return False
    return _base_name(name_on_disk) != _base_name(original_name)


def judged_path(row: Mapping[str, Any]) -> str:
    """The path a judgement uses: the mapped Windows path when the sweep recorded one."""
    windows = row.get("windows_path")
    return str(windows) if windows else str(row.get("path") or "")


def lacks_windows_path(row: Mapping[str, Any]) -> bool:
    """A file of a Windows host recorded without its Windows path: its location means nothing
    to the table of tool locations (``Program Files/PuTTY`` under some mount point)."""
    return row.get("os") == "windows" and not row.get("windows_path")


NOT_JUDGED_FIX = (
    "sweep again with --root-map SRC=C:\\ (SRC the folder that was the drive's root) or"
    " --root-map SRC=C:\\FOLDER for a folder copied alone"
)


def _not_judged(row: Mapping[str, Any], locations: ToolLocations, name: str) -> str | None:
    """Why a known tool's location cannot be judged (no Windows path recorded), else None."""
    if not (lacks_windows_path(row) and locations.is_known_tool(name)):
        return None
    return (
        f"location not judged: {name} is a known tool but the sweep recorded no Windows path"
        f" for {row.get('path')}; {NOT_JUDGED_FIX}"
    )


def judge_file(row: Mapping[str, Any], locations: ToolLocations) -> FileJudgement:
    """Judge one ``files`` row (it needs ``path``/``windows_path``, ``os``, ``name``, PE
    columns)."""
    name = str(row.get("name") or "")
    unjudged = _not_judged(row, locations, name)
    location = (
        locations.judge(judged_path(row))
        if unjudged is None
        else LocationJudgement(Verdict.UNKNOWN, (unjudged,), (), ())
    )
    reasons: list[str] = []
    techniques: list[str] = []
    verdict: str = location.verdict.value if unjudged is None else NOT_JUDGED

    status = row.get("signature_status")
    if status == "invalid":
        signer = f" (signer {row['signer']})" if row.get("signer") else ""
        reasons.append(f"its Authenticode signature is invalid{signer}: the file was altered")
        techniques.append(INVALID_SIGNATURE_TECHNIQUE)
        verdict = SIGNATURE_INVALID
    untrusted = status == "signed-untrusted" and locations.is_known_tool(name)
    if untrusted:
        signer = f" ({row['signer']})" if row.get("signer") else ""
        reasons.append(
            f"signed by a certificate that chains to no trusted root{signer}: self-signed or"
            " an unknown CA, where a known tool's vendor signs with a trusted one"
        )
        techniques.append(INVALID_SIGNATURE_TECHNIQUE)
    original = row.get("pe_original_name")
    if is_renamed(name, original):
        reasons.append(f"renamed: the PE was built as {original!r} but is called {name!r} on disk")
        techniques.append(RENAMED_TECHNIQUE)
        if verdict != SIGNATURE_INVALID:
            verdict = RENAMED_BINARY
    if untrusted and verdict == Verdict.STANDARD.value:  # in place, but not the vendor's
        verdict = SIGNATURE_UNTRUSTED
    reasons.extend(location.reasons)
    techniques.extend(location.techniques)
    suppressed = verdict == Verdict.STANDARD.value
    if suppressed:
        reasons.append("suppressed: a legitimate tool in its standard location is a false positive")
    elif status and status != "invalid" and not untrusted:
        reasons.append(f"signature status: {status}")
    return FileJudgement(verdict, suppressed, tuple(reasons), tuple(dict.fromkeys(techniques)))


def known_tool(locations: ToolLocations, name: str) -> str | None:
    """The table's name for ``name`` (PE original names often lack the ``.exe``), or None."""
    text = name.strip().strip("\"'").strip().lower().removesuffix(".mui")
    for candidate in (text, f"{text}.exe"):
        if locations.is_known_tool(candidate):
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class Renaming:
    """A PE called otherwise than it was built, and how much that says.

    ``tools`` are the known tools either name stands for. A known tool built under another name
    is serious (a renamed utility, or an implant wearing a system binary's name); the vendor's
    own inconsistent naming is not: a trusted-signed file in the standard folder of its on-disk
    name, whose original name is no other known tool (Windows ships rasautou.exe built as
    rasdlui.exe), is ``vendor_naming`` and reported at low severity with that reason.
    """

    original: str
    tools: tuple[str, ...]
    vendor_naming: bool
    reason: str | None


def assess_renaming(row: Mapping[str, Any], locations: ToolLocations) -> Renaming | None:
    """The renaming of one ``files`` row, or None when it is not renamed."""
    name, original = str(row.get("name") or ""), str(row.get("pe_original_name") or "")
    if not is_renamed(name, original):
        return None
    built_as, called = known_tool(locations, original), known_tool(locations, name)
    tools = tuple(dict.fromkeys(t for t in (built_as, called) if t))
    in_place = locations.judge(judged_path(row)).verdict is Verdict.STANDARD
    vendor = (
        built_as is None
        and called is not None
        and in_place
        and row.get("signature_status") == "signed-trusted"
    )
    reason = None
    if vendor:
        signer = f" by {row['signer']}" if row.get("signer") else ""
        reason = (
            f"signed{signer} and in {name}'s standard folder, and {original!r} is no other known"
            " tool: likely the vendor's own naming (low severity)"
        )
    return Renaming(original, tools, vendor, reason)
