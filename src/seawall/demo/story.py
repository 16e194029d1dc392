"""The intrusion's ground-truth items, the benign look-alikes and the actor's timeline, as data.

Each :class:`Item` is a piece of the intrusion the hunt must report: its plane and host, its
ATT&CK techniques, the detections that must each report it (``detections``) and those that may
(``also``), and the texts that identify their findings. The writers tag the records that hold
it, and :mod:`seawall.demo.truth` writes both into ``ground-truth.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from seawall.demo.clock import at


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


ITEMS: tuple[Item, ...] = (
    Item(
        "webshell-file",
        "initial-access",
        "China Chopper-style ASPX web shell in the IIS web root",
        "files",
        ("T1505.003",),
        ("web.webshell", "ioc.file-hash", "ioc.yara-default"),
        host="WEB01",
        match=("errorfe.aspx",),
        also=("ioc.yara", "ioc.file-name"),
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
        "webshell-requests",
        "initial-access",
        "The actor's POSTs to the web shell in the IIS log (the upload, each command, the tools)",
        "web",
        ("T1505.003", "T1190"),
        ("web.webshell-request",),
        host="WEB01",
        match=("errorfe.aspx",),
        also=("web.rare-post", "web.tunnel-page"),
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
        also=("ioc.yara-default", "ioc.yara"),
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
        "25 GB of archives staged on the web server's C: drive",
        "disk",
        ("T1074.001",),
        ("host.disk-growth",),
        host="WEB01",
        match=("c:",),
        # one part of the archive was left in C:\ProgramData\Microsoft\Windows\Caches
        also=("host.staging-archive",),
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
        also=(
            "net.dns-ioc",
            "net.ioc-ip",
            "net.ioc-url",
            "net.baseline-anomaly",
            "net.rare-destination",
        ),
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
        also=("net.ioc-ip", "net.large-transfer", "net.rare-destination"),
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
        also=("net.beacon", "net.rare-destination"),
        kind="policy",
        note="its DNS to the resolver is regular enough for net.beacon to score it too",
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
        "initial-access",
        at(8, 6, 2, 11),
        "Web shell uploaded through the site's upload form",
        ("T1190", "T1505.003"),
        ("webshell-file", "webshell-requests"),
    ),
    Step(
        "discovery",
        at(8, 6, 5),
        "Discovery commands through the web shell",
        ("T1033", "T1016", "T1069", "T1087", "T1482", "T1018", "T1057", "T1082"),
        ("webshell-recon",),
    ),
    Step(
        "tools",
        at(8, 6, 25),
        "PuTTY and a renamed rar.exe written through the web shell",
        ("T1105", "T1036.005", "T1036.003"),
        ("putty-public", "renamed-rar"),
    ),
    Step(
        "credentials",
        at(9, 1, 32),
        "VPN sign-ins with a contractor's and a phished account",
        ("T1078", "T1133"),
        ("vpn-credential-mismatch", "impossible-travel"),
    ),
    Step(
        "lateral-movement",
        at(9, 1, 40),
        "RDP to the web server, admin shares on the file server",
        ("T1021.001", "T1021.002", "T1074.002"),
        ("rdp-from-vpn-exit", "admin-share-client", "admin-share-server"),
    ),
    Step(
        "execution",
        at(9, 1, 58),
        "PsExec runs a DNS tunnelling client on the file server",
        ("T1569.002", "T1543.003"),
        ("psexec-service",),
    ),
    Step(
        "command-and-control",
        at(9, 2, 5),
        "DNS tunnel and proxy beaconing",
        ("T1071.004", "T1071.001", "T1572"),
        ("dns-tunnel", "proxy-beacon"),
    ),
    Step(
        "collection",
        at(9, 2, 20),
        "Design share archived with a password and staged",
        ("T1560.001", "T1074.001"),
        ("archive-password", "staging-growth"),
    ),
    Step(
        "exfiltration",
        at(10, 3, 0),
        "Archives sent over a PuTTY SSH tunnel, then deleted",
        ("T1048", "T1572", "T1070.004"),
        ("ssh-exfiltration",),
    ),
    Step(
        "policy",
        at(0),
        "A workstation resolves names through a public resolver",
        ("T1071.004",),
        ("unapproved-resolver",),
    ),
)
