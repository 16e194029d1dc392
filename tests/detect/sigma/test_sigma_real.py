"""SigmaHQ's Windows rules over real EVTX (EVTX-ATTACK-SAMPLES and hayabusa-sample-evtx).

Every rule's hits must equal the reference evaluator's, every compiled rule's SQL must transpile to
Spark SQL, and the counts of rules compiled, run and not run (by reason) are pinned.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from seawall.case.store import CaseStore
from seawall.detect.sigma.execute import register_functions
from seawall.detect.sigma.hunt import event_sources, plan, rule_matches
from seawall.detect.sigma.rules import CompiledRule, RuleCache, load_rules
from seawall.detect.sigma.sql import rule_query
from tests.conftest import shared
from tests.detect.sigma.evtx_events import collect_evtx, evtx_files
from tests.detect.sigma.reference import by_channel, event_dict, load_reference, reference_hits

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> list[CompiledRule]:
    sigma = shared("sigma")
    folders = [sigma / "rules" / "windows", sigma / "rules-emerging-threats"]
    folders.append(sigma / "rules-threat-hunting")
    return load_rules(folders, RuleCache(tmp_path_factory.mktemp("sigma-cache")))


@pytest.fixture(scope="module")
def windows_rules(rules: list[CompiledRule]) -> list[CompiledRule]:
    root = str(shared("sigma") / "rules" / "windows")
    return [r for r in rules if r.path.startswith(root)]


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("evtx") / "case"
    files = evtx_files(shared("evtx/EVTX-ATTACK-SAMPLES"))
    files += evtx_files(shared("evtx/hayabusa-sample-evtx"))
    with CaseStore.open(folder) as store:
        collect_evtx(store, files)
    return folder


def _kind(reason: str) -> str:
    """A rule's not-run reason without the rule's own names and ids."""
    patterns = [
        ("not evaluable", r"^not evaluable: no .* events in the case$"),
        ("other product", r"^log source product \S+: seawall hunts Windows events with Sigma$"),
        ("category without Windows events", r"^log source category \S+ is mapped to no"),
        ("service without channel", r"^log source service \S+ has no Windows channel"),
        ("pipeline refuses", r"^pySigma pipeline \("),
        ("placeholder", r"^placeholder %\S+% \(\|expand\) has no value"),
    ]
    for name, pattern in patterns:
        if re.search(pattern, reason):
            return name
    return reason


def test_windows_tree_counts(windows_rules: list[CompiledRule], case: Path) -> None:
    with CaseStore.open(case) as store:
        planned = plan(windows_rules, event_sources(store))
        hits, errors = rule_matches(store, planned.jobs)
    compiled = [r for r in windows_rules if r.reason is None]
    not_compiled = Counter(_kind(r.reason) for r in windows_rules if r.reason is not None)
    not_evaluable = Counter(_kind(reason) for reason in planned.not_run.values())
    ran = {job.rule.id for job in planned.jobs}
    assert len(windows_rules) == 2407
    assert len(compiled) == 2383
    assert dict(not_compiled) == {
        # file_access, file_rename, ... have no Sysmon event id nor a Windows audit mapping
        "category without Windows events": 8,
        # windows-audit refuses Sysmon-only fields (EventType, NewName, User) on 4657
        "pipeline refuses": 10,
        # iis-configuration, ldap, smbclient-connectivity...: no channel in the pipeline
        "service without channel": 6,
    }
    # log sources of which neither sample corpus holds an event (e.g. no Security 4697)
    assert dict(not_evaluable) == {"not evaluable": 170}
    assert len(ran) == 2213
    assert len(compiled) == len(ran) + sum(not_evaluable.values())
    assert errors == {}
    assert sum(1 for r in ran if hits.get(r)) == 367


def test_hits_equal_the_reference(rules: list[CompiledRule], case: Path) -> None:
    with CaseStore.open(case) as store:
        planned = plan(rules, event_sources(store))
        hits, errors = rule_matches(store, planned.jobs)
        rows = store.con.sql("SELECT rowid AS _row, * FROM events").to_arrow_table().to_pylist()
    assert errors == {}
    events = by_channel(event_dict(r) for r in rows)
    ran = {job.rule.id for job in planned.jobs}
    checked = 0
    mismatched: list[str] = []
    for path in sorted({r.path for r in rules if r.id in ran}):
        for ref in load_reference(Path(path)):
            if ref.id not in ran:
                continue
            checked += 1
            if hits.get(ref.id, set()) != reference_hits(ref, events):
                mismatched.append(f"{ref.id} {path}")
    assert checked == len(ran)
    assert mismatched == []


def test_portable_sql_gives_the_hunts_hits(rules: list[CompiledRule], case: Path) -> None:
    """Each rule's standalone query, run by DuckDB, matches the rows the hunt's evaluation does."""
    with CaseStore.open(case) as store:
        sources = event_sources(store)
        planned = plan(rules, sources)
        hits, _ = rule_matches(store, planned.jobs, sources)
        register_functions(store.con)
        by_sql: dict[str, set[int]] = {}
        for job in planned.jobs:
            store.con.complete()
            query = rule_query(job.variant.tree).replace("SELECT *", "SELECT rowid AS r", 1)
            rows = store.con.sql(query).fetchall()
            by_sql.setdefault(job.rule.id, set()).update(int(r[0]) for r in rows)
    differ = sorted(k for k in by_sql if by_sql[k] != hits.get(k, set()))
    assert differ == []


def test_every_compiled_rule_transpiles_to_spark(rules: list[CompiledRule]) -> None:
    failed: list[str] = []
    count = 0
    for rule in rules:
        for variant in rule.variants:
            count += 1
            try:
                [spark] = sqlglot.transpile(
                    rule_query(variant.tree),
                    read="duckdb",
                    write="spark",
                    unsupported_level=ErrorLevel.RAISE,
                )
            except sqlglot.errors.SqlglotError as error:
                failed.append(f"{rule.path} ({variant.name}): {error}")
                continue
            assert spark.startswith("SELECT * FROM events WHERE")
    assert count > 4000
    assert failed == []


# Samples whose file name names a technique, and the SigmaHQ rule whose title names it.
NAMED = {
    "Credential Access/CA_DCSync_4662.evtx": "DcSync",
    "Credential Access/CA_hashdump_4663_4656_lsass_access.evtx": "LSASS",
    "Credential Access/sysmon_10_1_memdump_comsvcs_minidump.evtx": "Comsvcs",
    "Credential Access/sysmon_rdrleakdiag_lsass_dump.evtx": "RdrLeakDiag",
    "Command and Control/DE_RDP_Tunnel_5156.evtx": "RDP",
    "Defense Evasion/de_portforward_netsh_rdp_sysmon_13_1.evtx": "Port Forwarding",
    "Execution/exec_sysmon_lobin_regsvr32_sct.evtx": "Regsvr32",
    "Execution/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx": "Mshta",
    "Execution/sysmon_lolbin_bohops_vshadow_exec.evtx": "Vshadow",
    "Lateral Movement/LM_renamed_psexecsvc_5145.evtx": "PsExec",
    "Lateral Movement/LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx": "LethalHTA",
    "Credential Access/4794_DSRM_password_change_t1098.evtx": "DSRM",
}


def test_rules_named_after_a_sample_fire_on_it(rules: list[CompiledRule], case: Path) -> None:
    with CaseStore.open(case) as store:
        planned = plan(rules, event_sources(store))
        hits, _ = rule_matches(store, planned.jobs)
        titles = {r.id: r.title for r in rules}
        fired: dict[str, set[str]] = {}
        for rule_id, rows in hits.items():
            if not rows:
                continue
            files = store.con.execute(
                "SELECT DISTINCT source_file FROM events WHERE rowid IN (SELECT unnest(?))",
                [sorted(rows)],
            ).fetchall()
            for (source,) in files:
                fired.setdefault(source, set()).add(titles[rule_id])
    root = str(shared("evtx/EVTX-ATTACK-SAMPLES"))
    for sample, word in NAMED.items():
        titles_fired = fired.get(f"{root}/{sample}", set())
        assert any(word.lower() in t.lower() for t in titles_fired), (sample, sorted(titles_fired))
