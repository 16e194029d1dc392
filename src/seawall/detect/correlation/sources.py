"""Where a lateral movement came from when its finding does not say: a service installed on a
host (7045) names no source, but the share mapping or logon that delivered it does.

The entities' links hold every logon, share mapping and Remote Desktop session by source,
target and account (:mod:`seawall.entities.derive`). The source of a movement onto ``target`` at
``time`` is the source of the link onto that host, by the finding's account when it names one,
active within ``window`` before the time (its last sighting nearest the time; a share mapping
before a logon, since services are pushed through ``ADMIN$``). The answer is an inference and
says so, citing the link's first record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from seawall.case.store import CaseStore
from seawall.detect.correlation.members import Member
from seawall.entities.resolve import Identities, utc
from seawall.model.reason import Reason, reason

_KINDS = ("share", "logon", "rdp", "rdp-session", "ntlm")
_SQL = """
SELECT kind, source, account, detail, first_seen, last_seen, count, source_file, record_ref
FROM links
WHERE kind IN ? AND target IN ? AND first_seen <= ? AND last_seen >= ?
ORDER BY last_seen DESC
"""


@dataclass(frozen=True, slots=True)
class _Link:
    kind: str
    source: str
    account: str | None
    detail: str | None
    first_seen: datetime | None
    last_seen: datetime | None
    count: int
    source_file: str | None
    record_ref: str | None


def infer_source(
    store: CaseStore,
    identities: Identities,
    member: Member,
    window: timedelta,
) -> tuple[str | None, Reason | None]:
    """The source (as the link names it: an address or a host name) of the movement onto the
    member's host, and the reason that cites it; (None, None) when no link explains it."""
    target = member.host_key
    time = member.time
    if target is None or time is None:
        return None, None
    names = identities.hosts.get(target, [target])
    store.con.complete()
    rows = store.con.execute(
        _SQL, [list(_KINDS), list(names), time + timedelta(minutes=1), time - window]
    ).fetchall()
    links = [
        _Link(str(k), str(s), a, d, utc(f), utc(last), int(n), sf, rr)
        for k, s, a, d, f, last, n, sf, rr in rows
    ]
    wanted = member.account_key if member.account and not member.account.local else None
    best: _Link | None = None
    best_rank: tuple[int, timedelta] | None = None
    for link in links:
        if wanted is not None:
            found = identities.account(link.account) if link.account else None
            if found is None or found.key != wanted:
                continue
        gap = abs(time - link.last_seen) if link.last_seen is not None else window
        rank = (0 if link.kind == "share" else 1, gap)
        if best_rank is None or rank < best_rank:
            best, best_rank = link, rank
    if best is None:
        return None, None
    what = f"{best.kind} {best.detail}" if best.detail else best.kind
    who = f" by {best.account}" if best.account else ""
    until = f" up to {best.last_seen:%Y-%m-%d %H:%M:%S}Z" if best.last_seen else ""
    text = (
        f"the source of {member.finding.detection_id} on {target} is taken to be"
        f" {best.source}: {what}{who} from {best.source} to it, {best.count:,} time(s){until}"
        f" ({best.source_file}, record {best.record_ref})"
    )
    return best.source, reason(
        "movement.source-inferred",
        text,
        source=best.source,
        target=target,
        link=best.kind,
        detail=best.detail,
        account=best.account,
        first_seen=None if best.first_seen is None else best.first_seen.isoformat(),
        last_seen=None if best.last_seen is None else best.last_seen.isoformat(),
        source_file=best.source_file,
        record_ref=best.record_ref,
    )
