"""Judge a file-based hit: where the file sits, what it was built as, and whether it is signed.

AA21-200A's hashes include genuine PuTTY, cmd.exe and svchost.exe binaries, so a hit alone says
little: the same bytes are routine in ``C:\\Program Files\\PuTTY`` and masquerading in
``C:\\Users\\Public\\Music``. Every file-based finding therefore carries the judgement as
structured reasons (:class:`~seawall.model.reason.Reason`), strongest evidence first, and one
:class:`~seawall.model.verdict.Verdict`:

``signature.invalid``
    The Authenticode signature does not verify (tampered binary; T1036.001).
``signature.untrusted``
    A known tool signed by a certificate that chains to no trusted root (self-signed, or an
    unknown CA): vendors sign releases with trusted certificates, so this is a copy someone
    re-signed (T1036.001). In its standard folder it is not explained away.
``renamed``
    The PE's original file name differs from its name on disk (T1036.003).
``location.nonstandard``
    A known tool outside every folder it is installed in (T1036.005).
``location.standard``
    A known tool where it belongs: with nothing else wrong, the verdict is ``benign`` and the
    finding is suppressed (kind ``judgement``), with the reason shown.
``location.not-judged``
    A known tool's name on a Windows host whose sweep recorded no Windows path (part of an image
    swept without ``--root-map``): where it sits cannot be judged, so it is never suppressed.
``location.unknown-tool``
    Not a tool seawall knows: the hit stands on its own (the judgement's verdict is
    ``unknown`` and the hit's own verdict is kept, :meth:`FileJudgement.verdict_for`).

A file is only suppressed when nothing else is wrong with it: a renamed or badly signed binary in
a standard folder is exactly what masquerading looks like.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from seawall.model.finding import Suppression
from seawall.model.reason import Reason, reason
from seawall.model.verdict import Verdict
from seawall.triage.locations import Location, LocationJudgement, ToolLocations

NOT_JUDGED = "location.not-judged"
RENAMED_TECHNIQUE = "T1036.003"
INVALID_SIGNATURE_TECHNIQUE = "T1036.001"
STANDARD_LOCATION = Suppression(
    kind="judgement", reason="a legitimate tool in its standard location is a false positive"
)


@dataclass(frozen=True, slots=True)
class FileJudgement:
    """The judgement of one file, its reasons in the order an analyst should read them.

    ``verdict`` is what the file's own traits say: ``benign`` (a known tool in place, nothing
    wrong), ``suspicious`` (out of place, renamed, badly signed, or not judgeable) or
    ``unknown`` (not a tool seawall knows).
    """

    verdict: Verdict
    suppression: Suppression | None
    reasons: tuple[Reason, ...]
    techniques: tuple[str, ...]

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None

    def verdict_for(self, hit: Verdict) -> Verdict:
        """The finding's verdict for a hit that on its own is ``hit``: benign when the file is
        explained away, else the hit's (a file judgement never makes an indicator weaker)."""
        return Verdict.BENIGN if self.verdict is Verdict.BENIGN else hit


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


def _not_judged(row: Mapping[str, Any], locations: ToolLocations, name: str) -> Reason | None:
    """Why a known tool's location cannot be judged (no Windows path recorded), else None."""
    if not (lacks_windows_path(row) and locations.is_known_tool(name)):
        return None
    path = row.get("path")
    return reason(
        NOT_JUDGED,
        f"location not judged: {name} is a known tool but the sweep recorded no Windows path"
        f" for {path}; {NOT_JUDGED_FIX}",
        tool=name,
        path=None if path is None else str(path),
    )


def location_reasons(judgement: LocationJudgement) -> list[Reason]:
    """The location judgement as reasons: where the file is, then why the tool is in the table."""
    data = {k: v for k, v in judgement.data.items() if v is not None}
    found = [Reason(code=judgement.location.value, text=judgement.reasons[0], data=data)]
    if len(judgement.reasons) > 1:
        tool = judgement.data.get("tool")
        found.append(reason("location.tool", judgement.reasons[1], tool=tool))
    return found


def judge_file(row: Mapping[str, Any], locations: ToolLocations) -> FileJudgement:
    """Judge one ``files`` row (it needs ``path``/``windows_path``, ``os``, ``name``, PE
    columns)."""
    name = str(row.get("name") or "")
    unjudged = _not_judged(row, locations, name)
    reasons: list[Reason] = []
    techniques: list[str] = []
    if unjudged is None:
        location = locations.judge(judged_path(row))
        verdict = location.verdict
        located = location_reasons(location)
        location_techniques = location.techniques
    else:
        verdict, located, location_techniques = Verdict.SUSPICIOUS, [unjudged], ()
    in_place = unjudged is None and location.location is Location.STANDARD

    status = row.get("signature_status")
    signer = str(row["signer"]) if row.get("signer") else None
    if status == "invalid":
        shown = f" (signer {signer})" if signer else ""
        reasons.append(
            reason(
                "signature.invalid",
                f"its Authenticode signature is invalid{shown}: the file was altered",
                signer=signer,
            )
        )
        techniques.append(INVALID_SIGNATURE_TECHNIQUE)
        verdict = Verdict.SUSPICIOUS
    untrusted = status == "signed-untrusted" and locations.is_known_tool(name)
    if untrusted:
        shown = f" ({signer})" if signer else ""
        reasons.append(
            reason(
                "signature.untrusted",
                f"signed by a certificate that chains to no trusted root{shown}: self-signed or"
                " an unknown CA, where a known tool's vendor signs with a trusted one",
                signer=signer,
            )
        )
        techniques.append(INVALID_SIGNATURE_TECHNIQUE)
        verdict = Verdict.SUSPICIOUS  # in place, but not the vendor's
    original = row.get("pe_original_name")
    if is_renamed(name, original):
        reasons.append(
            reason(
                "renamed",
                f"renamed: the PE was built as {original!r} but is called {name!r} on disk",
                original=str(original),
                name=name,
            )
        )
        techniques.append(RENAMED_TECHNIQUE)
        verdict = Verdict.SUSPICIOUS
    reasons.extend(located)
    techniques.extend(location_techniques)
    suppression = STANDARD_LOCATION if in_place and verdict is Verdict.BENIGN else None
    if suppression is None and status and status != "invalid" and not untrusted:
        reasons.append(reason("signature.status", f"signature status: {status}", status=status))
    return FileJudgement(verdict, suppression, tuple(reasons), tuple(dict.fromkeys(techniques)))


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
    in_place = locations.judge(judged_path(row)).location is Location.STANDARD
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
