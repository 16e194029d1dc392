"""Write the whole scenario into a folder: evidence, intel, hunt settings, ground truth.

Layout of ``OUT`` (default ``./seawall-demo``)::

    evidence/hosts/NAME/...          WEB01, FS01, ADM01: their C: drives (file sweeps)
    evidence/events/NAME.winlogbeat.ndjson
    evidence/network/zeek/DATE/{conn,dns,http,ssl,ssh}.log.gz
    evidence/network/squid/access.log
    evidence/hosts/WEB01/inetpub/logs/LogFiles/W3SVC1/u_exYYMMDD.log   (IIS, in WEB01's tree)
    evidence/auth/entra-signins.json
    evidence/disk/volumes.csv
    intel/apt40-demo.stix2.json
    hunt/allowlist.yml               what the company allows (admin checks, nightly backups)
    ground-truth.json                what the hunt must find
    manifest.json                    every piece of evidence and the command that collects it

Generation is deterministic: the same seed and scale give the same bytes (file times
included), so a run can be compared with another and the ground truth stays true.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from seawall.demo.auth import write_auth
from seawall.demo.clock import BASE, DAYS, DEFAULT_SEED, at
from seawall.demo.disk import write_disk
from seawall.demo.events import write_events
from seawall.demo.evidence import Manifest, stamp, write_text
from seawall.demo.files import write_trees
from seawall.demo.intel import write_intel
from seawall.demo.network import write_network
from seawall.demo.scenario import Scenario, build
from seawall.demo.truth import ground_truth, write_truth
from seawall.errors import UsageError

GENERATED = ("evidence", "intel", "hunt", "ground-truth.json", "manifest.json")
TRUSTED_NETWORKS = ["10.10.0.0/16", "10.20.0.0/24", "10.30.0.0/24"]
"""The LAN, the DMZ and the VPN pool: remote logons from anywhere else are audited."""

ALLOWLIST = """\
# What Tidewater's IT allows (seawall hunt --allowlist): matching findings are kept, suppressed,
# with the entry named. AA21-200A asks for exactly this: judge admin-share use and remote
# logons against an allowlist or a baseline.
allow:
  - detection: evtx.recon-burst
    user: adm-kpatel
    host: ADM01
    reason: the IT administrator's morning checks from the admin workstation
  - detection: evtx.admin-commands
    user: adm-kpatel
    host: ADM01
    reason: the IT administrator's routine commands on the admin workstation
  - detection: evtx.admin-share-command
    user: adm-kpatel
    source: adm01.tidewater.example
    host: FS01
    item: C$
    reason: weekly disk check of the file server
  - detection: evtx.admin-share-mapping
    user: adm-kpatel
    source: 10.10.2.50
    host: FS01
    item: C$
    reason: weekly disk check of the file server from the admin workstation
  - detection: evtx.admin-share-mapping
    user: BKP01$
    source: 10.10.1.30
    host: FS01
    item: C$
    reason: nightly backup of the file server (Keelson Backup, 18:00 UTC)
  - detection: net.beacon
    source: 10.10.0.3
    reason: the proxy's own upstream connections and lookups carry every user's browsing;
      beaconing is judged per client, from the proxy's log and the clients' requests
  - detection: evtx.service-install
    item: KeelsonAgent
    reason: backup agent update 11.0.4, rolled out by IT on 2024-03-10
"""


@dataclass(slots=True)
class Generated:
    """What :func:`generate` wrote."""

    out: Path
    scenario: Scenario
    manifest: Manifest
    truth: dict[str, Any]
    hunt: dict[str, Any] = field(default_factory=dict)


def _check_out(out: Path) -> None:
    """Refuse to write into a folder that holds anything but an earlier demo."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    extra = sorted(p.name for p in out.iterdir() if p.name not in (*GENERATED, "case", "report"))
    if extra:
        shown = ", ".join(extra[:5])
        raise UsageError(
            f"--out {out} holds files the demo did not write ({shown}): give an empty or new"
            " folder, or the folder of an earlier demo"
        )


def _clear(out: Path) -> None:
    for name in (*GENERATED, "case", "report"):
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def generate(
    out: Path, seed: int = DEFAULT_SEED, scale: int = 1, shared_data: Path | None = None
) -> Generated:
    """Write the scenario for ``seed`` and ``scale`` into ``out`` (an earlier demo there is
    replaced, case and report included)."""
    if scale < 1:
        raise UsageError(f"--scale must be at least 1, not {scale}")
    _check_out(out)
    _clear(out)
    out.mkdir(parents=True, exist_ok=True)
    scenario = build(seed, scale)
    manifest = Manifest(out)
    evidence = out / "evidence"
    putty = write_trees(scenario, evidence, manifest, shared_data)
    write_events(scenario, evidence, manifest, putty)
    write_network(scenario, evidence, manifest)
    write_auth(scenario, evidence, manifest)
    write_disk(scenario, evidence, manifest)
    write_intel(scenario, out, manifest, putty)
    hunt = _hunt_settings(out, manifest)
    for entry in manifest.files:  # the trees hold files other writers added (IIS logs)
        if entry.plane == "files":
            entry.records = sum(1 for p in (out / entry.path).rglob("*") if p.is_file())
    _stamp_folders(out)
    truth = ground_truth(scenario, manifest, putty.origin)
    write_truth(out / "ground-truth.json", truth)
    document = {
        "seed": seed,
        "scale": scale,
        "evidence": [entry.as_dict() for entry in manifest.files],
        "hunt": hunt,
    }
    write_text(out / "manifest.json", json.dumps(document, indent=2) + "\n", at(DAYS))
    return Generated(out, scenario, manifest, truth, hunt)


def _hunt_settings(out: Path, manifest: Manifest) -> dict[str, Any]:
    path = out / "hunt" / "allowlist.yml"
    write_text(path, ALLOWLIST, at(DAYS))
    parameters = {"evtx.remote-auth-audit": {"trusted_networks": TRUSTED_NETWORKS}}
    allowlist = manifest.relative(path)
    command = ["hunt", "--pack", "aa21-200a", "--allowlist", allowlist]
    for detection, values in parameters.items():
        for key, value in values.items():
            command += ["--param", f"{detection}.{key}={json.dumps(value)}"]
    return {
        "pack": "aa21-200a",
        "allowlists": [allowlist],
        "parameters": parameters,
        "command": command,
    }


def _stamp_folders(out: Path) -> None:
    """Give every generated folder the same time (writing files into it changed it)."""
    when = BASE - timedelta(days=1)
    folders = [p for name in ("evidence", "intel", "hunt") for p in (out / name).rglob("*")]
    for folder in sorted((p for p in folders if p.is_dir()), key=lambda p: -len(p.parts)):
        stamp(folder, when)
    for name in ("evidence", "intel", "hunt"):
        stamp(out / name, when)
