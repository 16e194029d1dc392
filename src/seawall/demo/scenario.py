"""The demo's story as data: an APT40-style intrusion (FBI/CISA AA21-200A) in a small network.

*Tidewater Marine Engineering* (AD domain ``TIDEWATER``, DNS ``tidewater.example``) runs a
public web site on an IIS server in its DMZ, a file server holding hull designs, a domain
controller that is also the internal resolver, an administrators' workstation, a Squid proxy
and a few dozen workstations (more with ``--scale``). Over fourteen days of ordinary work the
actor:

1. uploads a China Chopper-style web shell into the IIS web root and runs discovery commands
   through it (``w3wp.exe`` starting ``cmd.exe``: T1505.003, T1033, T1016, T1069, T1482…);
2. drops PuTTY into ``C:\\Users\\Public`` and a renamed copy of WinRAR's ``rar.exe`` into
   ``C:\\ProgramData`` (T1036.005, T1036.003);
3. signs in to the company's Azure VPN with a former contractor's account that has no MFA and
   was never used inside (T1078, T1133), and with an employee's phished credentials from a place
   the employee cannot be (impossible travel);
4. logs on over Remote Desktop to the web server, whose RDP port faces the internet, from its
   commercial VPN exit address (T1021.001);
5. maps ``C$`` and ``ADMIN$`` on the file server and runs PsExec there (``PSEXESVC``:
   T1021.002, T1569.002);
6. starts a DNS tunnelling client on the file server (TXT queries under a look-alike domain,
   T1071.004, T1572);
7. archives the design share with a password, staging 21 GB on the web server (T1560.001,
   T1074.001), and sends it out over a PuTTY SSH tunnel to its server (T1048, T1572);
8. beacons from a phished workstation through the proxy to the same server (T1071.001).

A developer's workstation also sends its DNS queries to a public resolver (a policy breach the
advisory asks defenders to flag, not the actor's doing).

Every step leaves evidence in the formats real tools write (see the writer modules), and
every piece the hunt should find is a ground-truth item (:class:`Item`) naming the host, the
detections that must report it, and how to recognise their findings. Times are fixed offsets
from ``BASE``; the background's volume grows with ``scale``, never the attack.

Only reserved names (``.example``, ``.test``) and documentation addresses (192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24) stand for anything outside the company.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

BASE = datetime(2024, 3, 4, tzinfo=UTC)
"""Monday, midnight UTC (08:00 in Perth, where the company works): day 0 of the window."""
DAYS = 14
DEFAULT_SEED = 20210719
"""The day AA21-200A was published."""

ORG = "Tidewater Marine Engineering"
DOMAIN = "TIDEWATER"
DNS_DOMAIN = "tidewater.example"
DOMAIN_SID = "S-1-5-21-3623811015-3361044348-30300820"
APP_POOL = "TidewaterWeb"


def at(day: int, hours: int = 0, minutes: int = 0, seconds: float = 0) -> datetime:
    """A time of the scenario: ``day`` days after ``BASE`` plus a time of day (UTC)."""
    return BASE + timedelta(days=day, hours=hours, minutes=minutes, seconds=seconds)


@dataclass(frozen=True, slots=True)
class Host:
    """A machine. ``tree``: its file system is generated and swept; ``events``: its Windows
    event log is exported (Winlogbeat)."""

    name: str
    ip: str
    role: str
    tree: bool = False
    events: bool = False

    @property
    def fqdn(self) -> str:
        return f"{self.name.lower()}.{DNS_DOMAIN}"


@dataclass(frozen=True, slots=True)
class Account:
    """A domain account; ``kind`` is user, admin, service or contractor."""

    name: str
    display: str
    rid: int
    kind: str = "user"
    workstation: str | None = None

    @property
    def sid(self) -> str:
        return f"{DOMAIN_SID}-{self.rid}"

    @property
    def upn(self) -> str:
        return f"{self.name}@{DNS_DOMAIN}"

    @property
    def qualified(self) -> str:
        return f"{DOMAIN}\\{self.name}"


@dataclass(frozen=True, slots=True)
class Place:
    """Where a sign-in comes from, as Entra ID geolocates it."""

    city: str
    state: str
    country: str
    latitude: float
    longitude: float


PERTH = Place("Perth", "Western Australia", "AU", -31.9523, 115.8613)
FREMANTLE = Place("Fremantle", "Western Australia", "AU", -32.0569, 115.7439)
SYDNEY = Place("Sydney", "New South Wales", "AU", -33.8688, 151.2093)
SINGAPORE = Place("Singapore", "Singapore", "SG", 1.2897, 103.8501)


@dataclass(frozen=True, slots=True)
class Infrastructure:
    """Addresses and names outside the company (all reserved for documentation)."""

    actor_vpn_exit: str = "203.0.113.66"
    """The commercial VPN exit the actor signs in and connects from."""
    actor_place: Place = SINGAPORE
    c2_ip: str = "198.51.100.77"
    c2_domain: str = "update.mscdn-cache.example"
    tunnel_domain: str = "tidevvater.example"
    """A look-alike of the company's domain: the tunnel's authoritative zone."""
    tunnel_zone: str = "t.tidevvater.example"
    tunnel_ns_ip: str = "198.51.100.53"
    public_resolver: str = "192.0.2.53"
    office_egress: str = "192.0.2.20"
    web_public_ip: str = "192.0.2.10"
    vpn_gateway: str = "192.0.2.30"


@dataclass(frozen=True, slots=True)
class Item:
    """One ground-truth item: a piece of the intrusion the hunt must report.

    ``detections`` must each report it (a finding of that detection on ``host``, or for
    ``user`` when the detection has no host, whose document contains every ``match`` text);
    ``also`` may report it too (e.g. an inventory that lists the same commands). ``kind`` is
    ``attack`` (the actor's doing) or ``policy`` (a breach of the advisory's guidance).
    """

    id: str
    step: str
    title: str
    plane: str
    techniques: tuple[str, ...]
    detections: tuple[str, ...]
    host: str | None = None
    user: str | None = None
    match: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    kind: str = "attack"
    note: str | None = None
    via: tuple[str, ...] = ()
    """Hosts the evidence is also seen through (a proxy): findings there count too."""


@dataclass(frozen=True, slots=True)
class Lookalike:
    """Something benign built to resemble the attack: it must never be reported unsuppressed
    at or above the threshold (``match``: text of such a finding)."""

    id: str
    title: str
    host: str
    match: tuple[str, ...]
    why: str


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the actor's timeline, mapped to ATT&CK, with the items it leaves."""

    id: str
    time: datetime
    title: str
    techniques: tuple[str, ...]
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Volume:
    """Background volume, proportional to ``scale``."""

    workstations: int
    background_files: int
    """Benign files per swept host, beyond the fixed tree."""
    dns_per_client_day: int
    web_visits_per_day: int
    extra_disk_hosts: int


def volume(scale: int) -> Volume:
    if scale < 1:
        raise ValueError("scale must be at least 1")
    return Volume(
        workstations=24 * scale,
        background_files=150 * scale,
        dns_per_client_day=36,
        web_visits_per_day=120 * scale,
        extra_disk_hosts=4 * scale,
    )


_FIRST = "abcdeghjklmnprstwy"
_SURNAMES = (
    "nguyen smith brown wilson taylor jones martin anderson thompson white walker harris lee"
    " ryan robinson kelly king davis wright evans roberts green hall wood jackson clarke patel"
    " khan lewis james phillips mitchell campbell bell young allen scott hughes edwards stewart"
    " baker murray cooper ward morris chen zhang ong lim"
).split()


def _background_users(rng: random.Random, count: int, taken: set[str]) -> list[Account]:
    users: list[Account] = []
    rid = 1400
    while len(users) < count:
        name = f"{rng.choice(_FIRST)}.{rng.choice(_SURNAMES)}"
        if name in taken:
            name = f"{name}{len(users) % 97 + 2}"
        if name in taken:
            continue
        taken.add(name)
        rid += 1
        display = name.split(".")[1].capitalize()
        users.append(Account(name, display, rid, "user", workstation_name(len(users))))
    return users


def workstation_name(index: int) -> str:
    return f"WS{index + 1:03d}"


def workstation_ip(index: int) -> str:
    return f"10.10.{3 + index // 200}.{20 + index % 200}"


@dataclass(slots=True)
class Scenario:
    seed: int
    scale: int
    volume: Volume
    infra: Infrastructure
    hosts: dict[str, Host]
    accounts: dict[str, Account]
    users: list[Account]
    """Every person with a workstation (the named ones included)."""
    items: list[Item]
    lookalikes: list[Lookalike]
    steps: list[Step]
    times: dict[str, datetime] = field(default_factory=dict)

    def rng(self, purpose: str) -> random.Random:
        """A random source of its own for each writer, so that one writer's volume never
        shifts another's draws."""
        return random.Random(f"{self.seed}:{purpose}")

    def workstation_of(self, user: Account) -> tuple[str, str]:
        index = self.users.index(user)
        return workstation_name(index), workstation_ip(index)

    def item(self, ident: str) -> Item:
        for item in self.items:
            if item.id == ident:
                return item
        raise KeyError(ident)


def _hosts() -> dict[str, Host]:
    hosts = [
        Host("WEB01", "10.20.0.10", "IIS web server (DMZ), www.tidewater.example", True, True),
        Host("FS01", "10.10.1.20", "file server (Projects share)", True, True),
        Host("DC01", "10.10.1.5", "domain controller and internal DNS resolver", False, True),
        Host("ADM01", "10.10.2.50", "IT administrators' workstation", True, True),
        Host("PRX01", "10.10.0.3", "Squid web proxy"),
        Host("BKP01", "10.10.1.30", "backup server"),
    ]
    return {host.name: host for host in hosts}


def _accounts() -> dict[str, Account]:
    accounts = [
        Account("d.tan", "Daniel Tan", 1107, "user"),
        Account("p.morgan", "Priya Morgan (contractor, left 2023)", 1188, "contractor"),
        Account("l.wu", "Lena Wu", 1121, "user"),
        Account("s.okafor", "Sam Okafor", 1133, "user"),
        Account("adm-kpatel", "Kiran Patel (admin)", 1502, "admin", "ADM01"),
        Account("svc-backup", "Backup service", 1601, "service"),
    ]
    return {account.name: account for account in accounts}


ITEMS: tuple[Item, ...] = (
    Item(
        "webshell-file",
        "initial-access",
        "China Chopper-style ASPX web shell in the IIS web root",
        "files",
        ("T1505.003",),
        ("web.webshell", "ioc.file-hash"),
        host="WEB01",
        match=("errorfe.aspx",),
        also=("ioc.yara-default", "ioc.yara", "ioc.file-name"),
    ),
    Item(
        "webshell-recon",
        "discovery",
        "IIS worker (w3wp.exe) runs cmd.exe and discovery commands for the web shell",
        "events",
        ("T1505.003", "T1033", "T1016", "T1069", "T1087", "T1482", "T1018", "T1057", "T1082"),
        ("evtx.webserver-shell", "evtx.recon-unusual-parent", "evtx.recon-burst"),
        host="WEB01",
        user="TidewaterWeb",
        also=("evtx.admin-commands",),
        note="the commands run as the site's application pool identity, IIS APPPOOL\\TidewaterWeb",
    ),
    Item(
        "putty-public",
        "tools",
        "Genuine PuTTY run from C:\\Users\\Public (AA21-200A lists its hash)",
        "files",
        ("T1036.005", "T1572"),
        ("host.legit-tool-location", "ioc.file-hash"),
        host="WEB01",
        match=("users\\public\\putty.exe",),
    ),
    Item(
        "renamed-rar",
        "tools",
        "WinRAR's rar.exe renamed msadcs.exe in C:\\ProgramData",
        "files",
        ("T1036.003", "T1560.001"),
        ("host.renamed-binary",),
        host="WEB01",
        match=("msadcs.exe",),
    ),
    Item(
        "vpn-credential-mismatch",
        "credentials",
        "A former contractor's account signs in to the VPN without MFA and is never used inside",
        "auth",
        ("T1078", "T1133"),
        ("auth.credential-mismatch", "auth.no-mfa"),
        user="p.morgan",
    ),
    Item(
        "impossible-travel",
        "credentials",
        "Phished employee account signs in from Perth and, 37 minutes later, from Singapore",
        "auth",
        ("T1078", "T1133"),
        ("auth.anomalous-user",),
        user="d.tan",
    ),
    Item(
        "rdp-from-vpn-exit",
        "lateral-movement",
        "Remote Desktop logon to the web server from the actor's VPN exit address",
        "events",
        ("T1078", "T1133", "T1021.001"),
        ("evtx.remote-auth-audit",),
        host="WEB01",
        user="d.tan",
        match=("203.0.113.66",),
    ),
    Item(
        "admin-share-client",
        "lateral-movement",
        "net use \\\\fs01\\C$ and ADMIN$ typed on the web server",
        "events",
        ("T1021.002", "T1074.002"),
        ("evtx.admin-share-command",),
        host="WEB01",
        match=("fs01",),
        also=("evtx.admin-commands",),
    ),
    Item(
        "admin-share-server",
        "lateral-movement",
        "C$ and ADMIN$ on the file server mapped from the web server (5140/5145)",
        "events",
        ("T1021.002", "T1074.002"),
        ("evtx.admin-share-mapping",),
        host="FS01",
        user="d.tan",
        match=("10.20.0.10",),
    ),
    Item(
        "psexec-service",
        "execution",
        "PsExec service (PSEXESVC) installed on the file server",
        "events",
        ("T1569.002", "T1543.003", "T1021.002"),
        ("evtx.service-install",),
        host="FS01",
        match=("psexesvc",),
    ),
    Item(
        "archive-password",
        "collection",
        "The renamed rar.exe archives the design share with a header password",
        "events",
        ("T1560.001",),
        ("evtx.archive-password",),
        host="WEB01",
        match=("msadcs.exe",),
    ),
    Item(
        "staging-growth",
        "collection",
        "21 GB of archives staged on the web server's C: drive",
        "disk",
        ("T1074.001",),
        ("host.disk-growth",),
        host="WEB01",
        match=("c:",),
    ),
    Item(
        "dns-tunnel",
        "command-and-control",
        "DNS tunnel from the file server: long encoded labels, TXT and NULL queries under"
        " a look-alike of the company's domain",
        "network",
        ("T1071.004", "T1572"),
        ("net.dns-tunnel",),
        host="FS01",
        match=("tidevvater.example",),
        also=("net.dns-ioc", "net.baseline-anomaly"),
    ),
    Item(
        "proxy-beacon",
        "command-and-control",
        "Workstation beacons through the proxy to the C2 domain every ten minutes (with jitter)",
        "network",
        ("T1071.001",),
        ("net.beacon",),
        host="WS014",
        match=("update.mscdn-cache.example",),
        also=("net.dns-ioc", "net.ioc-ip", "net.ioc-url", "net.baseline-anomaly"),
        note="net.beacon: the beaconing analytic is being built and its id is not fixed yet"
        " (the aa21-200a pack names none); the findings of the proxy's own DNS queries count"
        " too (via PRX01)",
        via=("PRX01",),
    ),
    Item(
        "ssh-exfiltration",
        "exfiltration",
        "PuTTY SSH session from the web server to the C2 address on port 443 carrying 25 GB",
        "network",
        ("T1048", "T1041", "T1572"),
        ("net.baseline-anomaly",),
        host="WEB01",
        match=("198.51.100.77",),
        also=("net.ioc-ip",),
        note="SSH on port 443 to an address never seen before, 25 GB out: the network baseline"
        " (M-NET-4) is what the pack names for it",
    ),
    Item(
        "unapproved-resolver",
        "policy",
        "A developer's workstation sends its DNS queries to a public resolver",
        "network",
        ("T1071.004",),
        ("net.dns-unapproved-resolver",),
        host="WS022",
        match=("192.0.2.53",),
        kind="policy",
    ),
)

LOOKALIKES: tuple[Lookalike, ...] = (
    Lookalike(
        "putty-program-files",
        "PuTTY installed in C:\\Program Files\\PuTTY on the admin workstation (same hash)",
        "ADM01",
        ("program files\\putty",),
        "the dual-use hash matches, but the tool is where its installer puts it",
    ),
    Lookalike(
        "winrar-program-files",
        "WinRAR's rar.exe in C:\\Program Files\\WinRAR (same bytes as the renamed copy)",
        "ADM01",
        ("program files\\winrar",),
        "the same binary under its own name in its own folder",
    ),
    Lookalike(
        "admin-recon",
        "Administrator runs ipconfig, net, nltest and whoami on the admin workstation",
        "ADM01",
        ("adm-kpatel",),
        "allowlisted: the IT administrators' workstation and account",
    ),
    Lookalike(
        "backup-admin-share",
        "Backup server's computer account maps C$ on the file server every night",
        "FS01",
        ("bkp01",),
        "allowlisted: the nightly backup job",
    ),
)

STEPS: tuple[Step, ...] = (
    Step(
        "initial-access", at(8, 6, 2, 11), "Web shell uploaded through the site's upload form",
        ("T1190", "T1505.003"), ("webshell-file",),
    ),
    Step(
        "discovery", at(8, 6, 5), "Discovery commands through the web shell",
        ("T1033", "T1016", "T1069", "T1087", "T1482", "T1018", "T1057", "T1082"),
        ("webshell-recon",),
    ),
    Step(
        "tools", at(8, 6, 25), "PuTTY and a renamed rar.exe written through the web shell",
        ("T1105", "T1036.005", "T1036.003"), ("putty-public", "renamed-rar"),
    ),
    Step(
        "credentials", at(9, 1, 32), "VPN sign-ins with a contractor's and a phished account",
        ("T1078", "T1133"), ("vpn-credential-mismatch", "impossible-travel"),
    ),
    Step(
        "lateral-movement", at(9, 1, 40), "RDP to the web server, admin shares on the file server",
        ("T1021.001", "T1021.002", "T1074.002"),
        ("rdp-from-vpn-exit", "admin-share-client", "admin-share-server"),
    ),
    Step(
        "execution", at(9, 1, 58), "PsExec runs a DNS tunnelling client on the file server",
        ("T1569.002", "T1543.003"), ("psexec-service",),
    ),
    Step(
        "command-and-control", at(9, 2, 5), "DNS tunnel and proxy beaconing",
        ("T1071.004", "T1071.001", "T1572"), ("dns-tunnel", "proxy-beacon"),
    ),
    Step(
        "collection", at(9, 2, 20), "Design share archived with a password and staged",
        ("T1560.001", "T1074.001"), ("archive-password", "staging-growth"),
    ),
    Step(
        "exfiltration", at(10, 3, 0), "Archives sent over a PuTTY SSH tunnel, then deleted",
        ("T1048", "T1572", "T1070.004"), ("ssh-exfiltration",),
    ),
    Step(
        "policy", at(0), "A workstation resolves names through a public resolver",
        ("T1071.004",), ("unapproved-resolver",),
    ),
)  # fmt: skip

# The times every writer shares (the same instant in the events, the logs and the files).
TIMES: dict[str, datetime] = {
    "iis_start": at(0, 0, 1, 5),
    "webshell_upload": at(8, 6, 2, 11),
    "recon_start": at(8, 6, 5, 3),
    "tools_upload": at(8, 6, 25, 40),
    "legit_signin": at(9, 0, 55, 12),
    "actor_signin": at(9, 1, 32, 47),
    "contractor_signin": at(9, 1, 10, 2),
    "rdp_logon": at(9, 1, 40, 9),
    "share_mapping": at(9, 1, 52, 30),
    "psexec": at(9, 1, 58, 4),
    "tunnel_start": at(9, 2, 5, 0),
    "tunnel_end": at(9, 2, 50, 0),
    "archive": at(9, 2, 20, 31),
    "exfil_start": at(10, 3, 0, 12),
    "exfil_end": at(10, 5, 41, 55),
    "cleanup": at(10, 6, 30, 0),
    "phish_open": at(7, 1, 12, 0),
}
BEACON_INTERVAL = 600.0
BEACON_JITTER = 0.1
STAGED_BYTES = 21_474_836_480 + 3_221_225_472  # 23 GiB of archive volumes (about 25 GB)


def build(seed: int = DEFAULT_SEED, scale: int = 1) -> Scenario:
    """The scenario for ``seed`` and ``scale``: the fixed story, and background users drawn
    from the seed (as many as the scale asks for)."""
    accounts = _accounts()
    vol = volume(scale)
    rng = random.Random(f"{seed}:users")
    named = [accounts["d.tan"], accounts["l.wu"], accounts["s.okafor"]]
    taken = set(accounts)
    users = _background_users(rng, vol.workstations - len(named), taken)
    # The named users sit at fixed desks: l.wu's workstation is the phished one (WS014),
    # s.okafor's the developer's machine with its own resolver (WS022), d.tan at WS003.
    people: list[Account | None] = [None] * vol.workstations
    for account, index in ((accounts["d.tan"], 2), (accounts["l.wu"], 13), (accounts["s.okafor"], 21)):
        people[index] = Account(account.name, account.display, account.rid, account.kind,
                                workstation_name(index))  # fmt: skip
    rest = iter(users)
    for index, person in enumerate(people):
        if person is None:
            user = next(rest)
            people[index] = Account(user.name, user.display, user.rid, user.kind,
                                    workstation_name(index))  # fmt: skip
    everyone = [person for person in people if person is not None]
    for person in everyone:
        accounts.setdefault(person.name, person)
    accounts.update({p.name: p for p in everyone if p.name in ("d.tan", "l.wu", "s.okafor")})
    return Scenario(
        seed=seed,
        scale=scale,
        volume=vol,
        infra=Infrastructure(),
        hosts=_hosts(),
        accounts=accounts,
        users=everyone,
        items=list(ITEMS),
        lookalikes=list(LOOKALIKES),
        steps=list(STEPS),
        times=dict(TIMES),
    )
