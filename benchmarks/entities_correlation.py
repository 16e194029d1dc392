"""What entities and correlation cost: the derivation in each collection's last transaction, and
the correlation stage of the hunt, on ``seawall demo`` at a scale.

The demo is generated, collected and hunted (``--case DIR`` reuses a demo's case instead). Then,
on a copy of the case, for every collection run its entity rows are deleted and derived again
(:func:`seawall.entities.derive.derive_entities`, best of ``--repeat``), and the correlation
detections are run again on the stored hunt's findings (best of ``--repeat``).

**Limit, measured in the same run:** the collection itself (the run's own wall time, as the
case's ``runs`` table recorded it) for the derivation: ``share`` is the derivation's time over
it (**target:** ≤ 0.10: entities may not make a collection noticeably slower); the hunt's own
time (the stored run) for the correlation stage (**target:** ≤ 0.10).

    python benchmarks/entities_correlation.py --scale 10
    python benchmarks/entities_correlation.py --case /tmp/demo/case
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from seawall.case.store import CaseStore
from seawall.entities.derive import derive_entities
from seawall.model.tables import ENTITY_TABLES


def _derive(store: CaseStore, run_id: str, command: str, summary: dict[str, Any]) -> float:
    rows = summary.get("rows") or {}
    tables = [name for name, count in rows.items() if count]
    if command == "collect disk":
        tables = ["disk"]
    host = summary.get("host") if command in ("collect files", "collect logs") else None
    for name in ENTITY_TABLES:
        store.con.execute(f"DELETE FROM {name} WHERE run_id = ?", [run_id])
    started = time.perf_counter()
    with store.transaction():
        derive_entities(store, run_id, tables, named_host=host, rows=sum(rows.values()))
    return time.perf_counter() - started


def _correlate(store: CaseStore) -> tuple[float, int]:
    from seawall.detect.correlation.run import correlate
    from seawall.detect.engine import effective_parameters, load_detections
    from seawall.detect.stored import stored_document

    document = stored_document(store)
    loaded = load_detections()
    correlations = [item for item in loaded.values() if item.detection.correlation is not None]
    started = time.perf_counter()
    incidents, _ = correlate(
        store,
        document.findings,
        correlations,
        loaded,
        lambda item: effective_parameters(item.detection, None),
        True,
    )
    return time.perf_counter() - started, len(incidents)


def measure(case: Path, repeat: int) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    with CaseStore.open(case) as store:
        rows = store.con.execute(
            "SELECT run_id, command, summary, epoch(finished_at - started_at) FROM runs"
            " WHERE status = 'ok' ORDER BY started_at"
        ).fetchall()
        for run_id, command, text, seconds in rows:
            summary = json.loads(text or "{}")
            if command.startswith("collect"):
                best = min(_derive(store, run_id, command, summary) for _ in range(repeat))
                written = sum((summary.get("rows") or {}).values())
                runs.append(
                    {
                        "command": command,
                        "rows": written or summary.get("files") or summary.get("snapshots") or 0,
                        "collect_s": round(float(seconds), 3),
                        "entities_s": round(best, 3),
                        "share": round(best / max(float(seconds), 1e-9), 3),
                    }
                )
        hunt_s = max(float(s) for _, c, _, s in rows if c == "hunt")
        timings = [_correlate(store) for _ in range(repeat)]
        counts = {
            name: int(store.con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
            for name in ENTITY_TABLES
        }
    correlate_s = min(t for t, _ in timings)
    return {
        "collections": runs,
        "entity_rows": counts,
        "hunt_s": round(hunt_s, 3),
        "correlate_s": round(correlate_s, 3),
        "correlate_share": round(correlate_s / hunt_s, 3),
        "incidents": timings[0][1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--case", type=Path, help="a demo's case (default: make one)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="seawall-bench-") as temp:
        work = Path(temp)
        if args.case is None:
            from seawall.demo.run import run_demo

            run_demo(work / "demo", scale=args.scale)
            source = work / "demo" / "case"
        else:
            source = args.case
        case = work / "copy"
        shutil.copytree(source, case)
        result = measure(case, max(1, args.repeat))
    print(f"{'collection':<16}{'rows':>10}{'collect s':>11}{'entities s':>12}{'share':>8}")
    for run in result["collections"]:
        print(
            f"{run['command']:<16}{run['rows']:>10,}{run['collect_s']:>11.2f}"
            f"{run['entities_s']:>12.3f}{run['share']:>8.3f}"
        )
    total = sum(r["entities_s"] for r in result["collections"])
    collected = sum(r["collect_s"] for r in result["collections"])
    print(f"all collections: entities {total:.2f} s of {collected:.2f} s ({total / collected:.3f})")
    print(f"entity rows: {result['entity_rows']}")
    print(
        f"correlation: {result['correlate_s']:.3f} s for {result['incidents']} incidents, of a"
        f" {result['hunt_s']:.2f} s hunt ({result['correlate_share']:.3f})"
    )
    json.dump(result, sys.stderr)
    sys.stderr.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
