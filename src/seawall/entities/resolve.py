"""One identity per machine and per account, from the entity tables, with how it was reached.

:class:`Identities` reads the case's entities once (a hunt's correlation stage, ``seawall
entities``) and answers two questions about the names findings carry:

- **Which host is this?** A name the case knows as a machine (an event's computer, a swept
  ``--host``, a logon's workstation, a device…) is that host, ``given``. A short name with exactly
  one FQDN among the case's names is that FQDN (``web01`` → ``web01.tidewater.example``), and an
  FQDN whose short name is a machine (a DNS answer's name) is that machine, ``inferred`` from the
  name. A private address is the machine whose name was seen with it (a DNS answer, a logon's
  workstation and source address, a web server's address…), ``inferred`` from those
  observations, cited with their file and record; when several machines had it, the one seen
  with it nearest the finding's time, and when that does not decide, none (the address stays, with
  the candidates named). Public addresses are never made hosts: the name a remote client gives
  (an attacker's ``DESKTOP-…``) is not a machine of the case.
- **Which account is this?** ``TIDEWATER\\d.tan``, ``d.tan@tidewater.example``, ``d.tan@TIDEWATER``
  and ``d.tan`` are one account when their names are equal and their domains agree: the same
  domain, or a NetBIOS domain that is the first label of the DNS domain (``inferred``), or no
  domain when exactly one domain of the case has an account of that name (``inferred``). Accounts
  of a machine's own (SYSTEM, ``IIS APPPOOL\\…``) are local: one per host, never a link between
  hosts.

Canonical host names are lower-case, the FQDN when it is known; canonical accounts are
``DOMAIN\\name`` with the NetBIOS domain in capitals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from seawall.case.store import CaseStore
from seawall.entities.names import (
    PRIVATE_ADDRESS_SQL,
    AccountName,
    account,
    address,
    domain_of,
    host_name,
    is_private,
    short_name,
)
from seawall.model.reason import Reason, reason
from seawall.model.tables import ENTITY_TABLES

# An address observation counts for a time within this margin of its first and last sighting.
ADDRESS_MARGIN = timedelta(days=1)

_HOSTS_SQL = """
SELECT name, list(DISTINCT seen_as ORDER BY seen_as), min(first_seen), max(last_seen),
    sum(count)::BIGINT
FROM hosts WHERE name IS NOT NULL GROUP BY name ORDER BY name
"""
# Only names whose short name is a machine's: the DNS answers for the internet stay out.
_ADDRESSES_SQL = """
SELECT name, address, seen_as, min(first_seen), max(last_seen), sum(count)::BIGINT,
    arg_min(source_file, first_seen), arg_min(record_ref, first_seen)
FROM host_addresses
WHERE split_part(name, '.', 1) IN (SELECT DISTINCT short_name FROM hosts)
GROUP BY name, address, seen_as ORDER BY name, address, seen_as
"""
_PRIVATE_ENDS_SQL = f"""
SELECT source FROM links
WHERE source_type = 'address' AND regexp_matches(source, {PRIVATE_ADDRESS_SQL})
UNION
SELECT target FROM links
WHERE target_type = 'address' AND regexp_matches(target, {PRIVATE_ADDRESS_SQL})
"""
_ACCOUNTS_SQL = """
SELECT name, domain, list(DISTINCT sid ORDER BY sid) FILTER (sid IS NOT NULL),
    list(DISTINCT upn ORDER BY upn) FILTER (upn IS NOT NULL),
    list(DISTINCT host ORDER BY host) FILTER (host IS NOT NULL), sum(count)::BIGINT
FROM accounts GROUP BY name, domain ORDER BY name, domain
"""

_SEEN_AS = {
    "dns-answer": "a DNS answer for {name}",
    "dns-ptr": "a reverse DNS answer naming {name}",
    "logon-source": "logons from {name} (the workstation name and source address of 4624/4625)",
    "auth-device": "sign-ins of the device {name}",
    "web-server": "the web server log of {name}",
    "smb-share": "SMB mappings of \\\\{name}",
    "http-host": "HTTP requests to {name}",
    "tls-server-name": "TLS sessions to {name}",
    "scan": "a scan of {name}",
}


def has_entities(store: CaseStore) -> bool:
    """Whether the case has the entity tables (a case of a development build between the two
    versions of migration 7 does not)."""
    store.con.complete()
    rows = store.con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ?",
        [list(ENTITY_TABLES)],
    ).fetchall()
    return bool(rows and rows[0][0] == len(ENTITY_TABLES))


def utc(value: datetime | None) -> datetime | None:
    """A time as aware UTC (naive times are UTC, as the store keeps them)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class AddressSeen:
    """One name seen with an address, aggregated over the case."""

    name: str
    address: str
    seen_as: str
    first_seen: datetime | None
    last_seen: datetime | None
    count: int
    source_file: str | None
    record_ref: str | None

    def covers(self, when: datetime | None) -> bool:
        if when is None or self.first_seen is None or self.last_seen is None:
            return True
        return self.first_seen - ADDRESS_MARGIN <= when <= self.last_seen + ADDRESS_MARGIN

    def distance(self, when: datetime | None) -> timedelta:
        if when is None or self.first_seen is None or self.last_seen is None:
            return timedelta(0)
        if self.first_seen <= when <= self.last_seen:
            return timedelta(0)
        return min(abs(when - self.first_seen), abs(when - self.last_seen))

    def as_reason(self, host: str) -> Reason:
        how = _SEEN_AS.get(self.seen_as, self.seen_as + " of {name}").format(name=self.name)
        when = ""
        if self.first_seen is not None and self.last_seen is not None:
            when = f", {self.first_seen:%Y-%m-%d %H:%M} to {self.last_seen:%Y-%m-%d %H:%M}Z"
        where = f" ({self.source_file}, record {self.record_ref})" if self.source_file else ""
        return reason(
            f"identity.{self.seen_as}",
            f"{self.address} is {host}: {how} gave it ({self.count:,} times{when}){where}",
            address=self.address,
            name=self.name,
            host=host,
            seen_as=self.seen_as,
            count=self.count,
            first_seen=None if self.first_seen is None else self.first_seen.isoformat(),
            last_seen=None if self.last_seen is None else self.last_seen.isoformat(),
            source_file=self.source_file,
            record_ref=self.record_ref,
        )


@dataclass(frozen=True, slots=True)
class HostIdentification:
    """What a finding's host text was taken to be: ``host`` (canonical, or None when it is no
    host of the case: a public address, an ambiguous one), ``address`` when the text was an
    address, ``inferred`` and the ``reasons`` when it was not given as such."""

    given: str
    host: str | None
    address: str | None = None
    inferred: bool = False
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountIdentification:
    """What a finding's user text was taken to be: ``key`` (``DOMAIN\\name``, or
    ``domain\\name@host`` for a machine's own account), ``local``, ``inferred`` and why."""

    given: str
    key: str
    name: str
    local: bool = False
    inferred: bool = False
    reasons: tuple[Reason, ...] = ()


@dataclass(slots=True)
class Identities:
    """The case's machines and accounts (see the module docstring)."""

    hosts: dict[str, list[str]] = field(default_factory=dict)
    """Canonical host → every name it goes by."""
    seen_as: dict[str, set[str]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    """Name → canonical host, for names that are not the canonical one."""
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    """Short names of several FQDNs (``web01`` in two domains): the candidates."""
    by_short: dict[str, list[str]] = field(default_factory=dict)
    """Short name → the canonical hosts of that short name."""
    addresses: dict[str, list[tuple[str, AddressSeen]]] = field(default_factory=dict)
    """Address → (canonical host, observation) for every machine seen with it."""
    account_domains: dict[str, set[str]] = field(default_factory=dict)
    """Account name → the domain families (NetBIOS names) it exists in."""
    family_spellings: dict[str, set[str]] = field(default_factory=dict)
    """Domain family → the domains seen for it (``tidewater``, ``tidewater.example``)."""

    @classmethod
    def load(cls, store: CaseStore) -> Identities:
        store.con.complete()
        found = cls()
        host_rows = store.con.execute(_HOSTS_SQL).fetchall()
        address_rows = store.con.execute(_ADDRESSES_SQL).fetchall()
        account_rows = store.con.execute(_ACCOUNTS_SQL).fetchall()
        machines = {str(row[0]): set(row[1]) for row in host_rows}
        domains = {d for name in machines if (d := domain_of(name)) is not None}
        shorts = {short_name(name) for name in machines}
        names = set(machines)
        for row in address_rows:
            name = str(row[0])
            if short_name(name) in shorts and domain_of(name) in (None, *domains):
                names.add(name)
        found._build_hosts(names, machines)
        for name, addr, seen_as, first, last, count, source_file, record_ref in address_rows:
            canonical = found.canonical(str(name))
            if canonical is None or domain_of(str(name)) not in (None, *domains):
                continue
            seen = AddressSeen(
                str(name),
                str(addr),
                str(seen_as),
                utc(first),
                utc(last),
                int(count),
                source_file,
                record_ref,
            )
            found.addresses.setdefault(str(addr), []).append((canonical, seen))
        for name, domain, *_ in account_rows:
            family = _family(domain)
            if family is not None and not AccountName(str(name), domain).local:
                found.account_domains.setdefault(str(name), set()).add(family)
                found.family_spellings.setdefault(family, set()).add(str(domain))
        return found

    def _build_hosts(self, names: set[str], machines: dict[str, set[str]]) -> None:
        by_short: dict[str, set[str]] = defaultdict(set)
        for name in names:
            by_short[short_name(name)].add(name)
        for short, group in sorted(by_short.items()):
            fqdns = sorted(n for n in group if "." in n)
            if len(fqdns) > 1:
                for fqdn in fqdns:
                    self.hosts[fqdn] = [fqdn]
                    self.seen_as[fqdn] = set(machines.get(fqdn, set()))
                self.by_short[short] = fqdns
                self.ambiguous[short] = fqdns
                continue
            canonical = fqdns[0] if fqdns else short
            self.by_short[short] = [canonical]
            self.hosts[canonical] = sorted(group)
            self.seen_as[canonical] = set().union(*(machines.get(n, set()) for n in group))
            for name in group:
                if name != canonical:
                    self.aliases[name] = canonical

    @property
    def known_hosts(self) -> int:
        """How many machines the case knows by name."""
        return len(self.hosts)

    def machines(self, store: CaseStore) -> int:
        """How many machines the case has seen: those it knows by name, and each private
        address of the links that no name was seen with (a DNS client, a flow's end): the
        denominator of prevalence."""
        store.con.complete()
        rows = store.con.execute(_PRIVATE_ENDS_SQL).fetchall()
        unnamed = {str(a) for (a,) in rows if str(a) not in self.addresses and is_private(str(a))}
        return self.known_hosts + len(unnamed)

    def canonical(self, name: str) -> str | None:
        """The canonical host of a normalised name, or None when the case does not know it."""
        if name in self.hosts:
            return name
        return self.aliases.get(name)

    # -- hosts -----------------------------------------------------------------------------

    def host(self, text: str | None, when: datetime | None = None) -> HostIdentification | None:
        """The host a finding's ``host`` text names (None for no text)."""
        if text is None or not text.strip():
            return None
        given = text.strip()
        addr = address(given)
        if addr is not None:
            return self._by_address(given, addr, utc(when))
        name = host_name(given)
        if name is None:
            return HostIdentification(given, None)
        if name in self.hosts:
            return HostIdentification(given, name)
        if name not in self.aliases and "." not in name and len(self.by_short.get(name, [])) == 1:
            self.aliases[name] = self.by_short[name][0]
        if name in self.aliases:
            canonical = self.aliases[name]
            why = (
                f"{given} is {canonical}: the only name of the case whose short name is"
                f" {short_name(name)}"
                if "." not in name
                else f"{given} is {canonical}: its short name {short_name(name)} is that machine"
            )
            return HostIdentification(
                given,
                canonical,
                inferred=True,
                reasons=(reason("identity.name", why, name=name, host=canonical),),
            )
        if name in self.ambiguous:
            candidates = self.ambiguous[name]
            return HostIdentification(
                given,
                name,
                reasons=(
                    reason(
                        "identity.ambiguous",
                        f"{given} may be any of {', '.join(candidates)}: kept apart",
                        name=name,
                        candidates=list(candidates),
                    ),
                ),
            )
        return HostIdentification(given, name)  # a name no entity gives: taken as it is

    def _by_address(self, given: str, addr: str, when: datetime | None) -> HostIdentification:
        seen = self.addresses.get(addr, [])
        if not is_private(addr):
            names = sorted({s.name for _, s in seen})
            said = (
                (
                    reason(
                        "identity.external",
                        f"{addr} is a public address, no host of the case; it gave the"
                        f" name(s) {', '.join(names)} ({seen[0][1].seen_as})",
                        address=addr,
                        names=names,
                    ),
                )
                if names
                else ()
            )
            return HostIdentification(given, None, address=addr, reasons=said)
        if not seen:
            return HostIdentification(given, None, address=addr)
        hosts = {host for host, _ in seen}
        if len(hosts) > 1:
            covering = [(h, s) for h, s in seen if s.covers(when)] or seen
            nearest = min(s.distance(when) for _, s in covering)
            seen = [(h, s) for h, s in covering if s.distance(when) == nearest]
            hosts = {host for host, _ in seen}
        if len(hosts) != 1:
            return HostIdentification(
                given,
                None,
                address=addr,
                reasons=(
                    reason(
                        "identity.ambiguous",
                        f"{addr} was seen with {', '.join(sorted(hosts))} at that time: not"
                        " resolved",
                        address=addr,
                        candidates=sorted(hosts),
                    ),
                ),
            )
        host = hosts.pop()
        ordered = sorted((s for _, s in seen), key=lambda s: -s.count)
        return HostIdentification(
            given,
            host,
            address=addr,
            inferred=True,
            reasons=tuple(s.as_reason(host) for s in ordered[:3]),
        )

    def addresses_of(self, host: str) -> list[str]:
        return sorted({a for a, seen in self.addresses.items() for h, _ in seen if h == host})

    # -- accounts --------------------------------------------------------------------------

    def account(self, text: str | None, host: str | None = None) -> AccountIdentification | None:
        """The account a finding's ``user`` text names, on ``host`` (the canonical host of the
        finding: a machine's own accounts are one per host)."""
        if text is None:
            return None
        parsed = account(text)
        if parsed is None:
            return None
        given = text.strip()
        if parsed.local:
            where = host or "an unknown host"
            key = f"{(parsed.domain or '').upper()}\\{parsed.name}@{where}".lstrip("\\")
            return AccountIdentification(given, key, parsed.name, local=True)
        family = _family(parsed.domain)
        reasons: list[Reason] = []
        inferred = False
        if family is None:
            families = sorted(self.account_domains.get(parsed.name, set()))
            if len(families) == 1:
                family = families[0]
                inferred = True
                reasons.append(
                    reason(
                        "identity.account-name",
                        f"{given} is {family.upper()}\\{parsed.name}: the only domain of the"
                        f" case with an account {parsed.name}",
                        account=f"{family.upper()}\\{parsed.name}",
                    )
                )
            else:
                return AccountIdentification(given, parsed.name, parsed.name)
        elif parsed.domain is not None and parsed.domain != family:
            spellings = self.family_spellings.get(family, set())
            if family in spellings:  # the case knows both the DNS and the NetBIOS spelling
                inferred = True
                reasons.append(
                    reason(
                        "identity.account-domain",
                        f"{given} is {family.upper()}\\{parsed.name}: the NetBIOS domain"
                        f" {family.upper()} is the first label of {parsed.domain}",
                        account=f"{family.upper()}\\{parsed.name}",
                        domain=parsed.domain,
                    )
                )
        return AccountIdentification(
            given,
            f"{family.upper()}\\{parsed.name}",
            parsed.name,
            inferred=inferred,
            reasons=tuple(reasons),
        )


def _family(domain: str | None) -> str | None:
    """A domain's family: a NetBIOS name, or the first label of a DNS domain."""
    if domain is None or not domain.strip():
        return None
    return domain.strip().lower().split(".", 1)[0]
