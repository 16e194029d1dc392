"""Disk usage snapshots of the servers, as ``seawall collect disk --import`` reads them.

The company's monitoring records every volume's capacity and use once a day (02:00 UTC) and
exports them as CSV: ``time,host,mount,device,fs_type,total_bytes,used_bytes``. Forty-five
days end with the window: a month of ordinary history (logs, patches, the file server's
steady growth, the backup volume filling nightly and pruned weekly) before the intrusion. The
web server's ``C:`` jumps by the staged archives the night after the actor made them, and falls
back once they are sent and deleted. ``scale`` adds application servers, never changes the
attack's volume.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from seawall.demo.clock import BASE, DAYS, at
from seawall.demo.evidence import EvidenceFile, Manifest, write_text
from seawall.demo.scenario import STAGED_BYTES, Scenario, computer_name

HISTORY_DAYS = 31
GB = 1_000_000_000


@dataclass(frozen=True, slots=True)
class _Volume:
    host: str
    mount: str
    total: int
    used: int
    daily: float
    """Typical change per day, bytes."""
    noise: float
    weekly_prune: int = 0


def _volumes(scenario: Scenario, rng: random.Random) -> list[_Volume]:
    volumes = [
        _Volume("WEB01", "C:", 136_365_211_648, 48_310_000_000, 45e6, 90e6),
        _Volume("FS01", "C:", 127_999_979_520, 38_400_000_000, 20e6, 60e6),
        _Volume("FS01", "D:", 2_199_023_255_552, 1_104_000_000_000, 2.1 * GB, 0.9 * GB),
        _Volume("DC01", "C:", 107_374_182_400, 41_220_000_000, 15e6, 40e6),
        _Volume("ADM01", "C:", 255_999_967_232, 91_870_000_000, 60e6, 300e6),
        _Volume("BKP01", "C:", 127_999_979_520, 30_100_000_000, 10e6, 20e6),
        _Volume(
            "BKP01",
            "E:",
            21_990_232_555_520,
            12_400_000_000_000,
            160 * GB,
            25 * GB,
            weekly_prune=1_050 * GB,
        ),
    ]
    for index in range(scenario.volume.extra_disk_hosts):
        total = rng.choice((107_374_182_400, 214_748_364_800, 536_870_912_000))
        volumes.append(
            _Volume(
                f"APP{index + 1:03d}",
                "C:",
                total,
                int(total * rng.uniform(0.2, 0.7)),
                rng.uniform(5e6, 200e6),
                rng.uniform(20e6, 300e6),
            )
        )
    return volumes


def _volume_id(seed: int, volume: _Volume) -> str:
    bits = random.Random(f"{seed}:disk:device:{volume.host}:{volume.mount}").getrandbits(64)
    text = f"{bits:016x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-0000"


def write_disk(scenario: Scenario, evidence: Path, manifest: Manifest) -> None:
    """Write ``evidence/disk/volumes.csv``."""
    rng = scenario.rng("disk")
    volumes = _volumes(scenario, rng)
    staged_at = at(10, 2)  # the first snapshot after the archive was made
    deleted_at = at(11, 2)
    lines = ["time,host,mount,device,fs_type,total_bytes,used_bytes"]
    staging_line = 0
    for offset in range(-HISTORY_DAYS, DAYS):
        when = BASE + timedelta(days=offset, hours=2)
        for number, volume in enumerate(volumes):
            draw = random.Random(f"{scenario.seed}:disk:{volume.host}:{volume.mount}:{offset}")
            steps = offset + HISTORY_DAYS
            grown = volume.daily * steps + draw.gauss(0, volume.noise)
            if volume.weekly_prune:
                grown -= volume.weekly_prune * (steps // 7)
            used = int(volume.used + max(grown, -volume.used * 0.1))
            if volume.host == "WEB01" and volume.mount == "C:":
                if offset >= -12:  # a cumulative update installed
                    used += int(1.4 * GB)
                if staged_at <= when < deleted_at:
                    used += STAGED_BYTES
                elif when >= deleted_at:
                    used += 262_144  # the volume left behind
            used = min(used, volume.total - 1)
            device = f"\\\\?\\Volume{{{_volume_id(scenario.seed, volume)}-{number:012x}}}\\"
            lines.append(
                f"{when.strftime('%Y-%m-%dT%H:%M:%SZ')},{computer_name(volume.host)},{volume.mount},"
                f"{device},"
                f"NTFS,{volume.total},{used}"
            )
            if volume.host == "WEB01" and when == staged_at:
                staging_line = len(lines)
    path = evidence / "disk" / "volumes.csv"
    write_text(path, "\r\n".join(lines) + "\r\n", at(DAYS))
    manifest.note(
        "staging-growth", path, line=staging_line, host=computer_name("WEB01"), mount="C:"
    )
    relative = manifest.relative(path)
    manifest.add(
        EvidenceFile(
            relative,
            "disk",
            "disk-csv",
            ["collect", "disk", "--import", relative],
            "collect disk",
            None,
            len(lines) - 1,
            "daily volume usage exported from the monitoring system",
        )
    )
