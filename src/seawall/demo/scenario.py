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
7. archives the design share with a password, staging 25 GB on the web server (T1560.001,
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
from datetime import datetime

from seawall.demo.clock import DEFAULT_SEED, at
from seawall.demo.story import ITEMS, LOOKALIKES, STEPS, Item, Lookalike, Step

ORG = "Tidewater Marine Engineering"
DOMAIN = "TIDEWATER"
DNS_DOMAIN = "tidewater.example"
DOMAIN_SID = "S-1-5-21-3623811015-3361044348-30300820"
APP_POOL = "TidewaterWeb"


def computer_name(name: str) -> str:
    """A host's name as its Windows events give it (``WEB01.tidewater.example``): the demo's
    own commands (``--host``) and exports use the same, so one host is one name in the case."""
    return f"{name}.{DNS_DOMAIN}"


@dataclass(frozen=True, slots=True)
class Host:
    """A machine; ``tree``: its file system is generated and swept (its ``C:`` drive)."""

    name: str
    ip: str
    role: str
    tree: bool = False


@dataclass(frozen=True, slots=True)
class Account:
    """A domain account; ``kind`` is user, admin, service or contractor."""

    name: str
    display: str
    rid: int
    kind: str = "user"

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
_SURNAMES = [
    "nguyen",
    "smith",
    "brown",
    "wilson",
    "taylor",
    "jones",
    "martin",
    "anderson",
    "thompson",
    "white",
    "walker",
    "harris",
    "lee",
    "ryan",
    "robinson",
    "kelly",
    "king",
    "davis",
    "wright",
    "evans",
    "roberts",
    "green",
    "hall",
    "wood",
    "jackson",
    "clarke",
    "patel",
    "khan",
    "lewis",
    "james",
    "phillips",
    "mitchell",
    "campbell",
    "bell",
    "young",
    "allen",
    "scott",
    "hughes",
    "edwards",
    "stewart",
    "baker",
    "murray",
    "cooper",
    "ward",
    "morris",
    "chen",
    "zhang",
    "ong",
    "lim",
]


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
        users.append(Account(name, display, rid, "user"))
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
    _desks: dict[str, int] = field(default_factory=dict)

    def rng(self, purpose: str) -> random.Random:
        """A random source of its own for each writer, so that one writer's volume never
        shifts another's draws."""
        return random.Random(f"{self.seed}:{purpose}")

    def workstation_of(self, user: Account) -> tuple[str, str]:
        """A person's workstation: its name and address."""
        if not self._desks:
            self._desks.update((person.name, index) for index, person in enumerate(self.users))
        index = self._desks[user.name]
        return workstation_name(index), workstation_ip(index)

    def item(self, ident: str) -> Item:
        for item in self.items:
            if item.id == ident:
                return item
        raise KeyError(ident)


def _hosts() -> dict[str, Host]:
    hosts = [
        Host("WEB01", "10.20.0.10", "IIS web server (DMZ), www.tidewater.example", tree=True),
        Host("FS01", "10.10.1.20", "file server (Projects share)", tree=True),
        Host("DC01", "10.10.1.5", "domain controller and internal DNS resolver"),
        Host("ADM01", "10.10.2.50", "IT administrators' workstation", tree=True),
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
        Account("adm-kpatel", "Kiran Patel (admin)", 1502, "admin"),
        Account("svc-backup", "Backup service", 1601, "service"),
    ]
    return {account.name: account for account in accounts}


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
STAGED_BYTES = 24_696_061_952
"""The archive volumes staged on WEB01 (23 GiB, about 24.7 GB)."""


def build(seed: int = DEFAULT_SEED, scale: int = 1) -> Scenario:
    """The scenario for ``seed`` and ``scale``: the fixed story, and background users drawn
    from the seed (as many as the scale asks for)."""
    accounts = _accounts()
    vol = volume(scale)
    rng = random.Random(f"{seed}:users")
    desks = {"d.tan": 2, "l.wu": 13, "s.okafor": 21}
    # The named people sit at fixed desks: l.wu's workstation is the phished one (WS014),
    # s.okafor's the developer's machine with its own resolver (WS022), d.tan's WS003.
    taken = set(accounts)
    others = iter(_background_users(rng, vol.workstations - len(desks), taken))
    by_desk = {index: accounts[name] for name, index in desks.items()}
    everyone = [by_desk.get(index) or next(others) for index in range(vol.workstations)]
    for person in everyone:
        accounts.setdefault(person.name, person)
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
