"""Network evidence: a Zeek sensor on the core and DMZ, the Squid proxy and IIS's own log.

The Zeek sensor sees every client's DNS to the domain controller (and anything sent
elsewhere), clients' requests to the proxy and the proxy's to the internet, the web server's
traffic both ways; it writes ``conn``, ``dns``, ``http``, ``ssl`` and ``ssh`` logs, archived
one gzip file per log and day (:mod:`seawall.demo.zeek`). Squid writes its native
``access.log``; IIS writes W3C logs (``u_exYYMMDD.log``, UTC) into WEB01's own tree, where the
file sweep meets them too.

Background: workstations resolving internal and SaaS names, browsing through the proxy
(mostly HTTPS ``CONNECT``, some plain HTTP), visitors of the public web site, nightly backups.
The attack: the actor's requests to the upload form and the web shell, Remote Desktop to the
web server, the web server's SMB to the file server, the DNS tunnel from the file server, a
phished workstation's beacon through the proxy every ten minutes (10% jitter), and the PuTTY
SSH session that carries the archives out. One workstation resolves through a public resolver.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from seawall.demo.evidence import EvidenceFile, Manifest, stamp, write_text
from seawall.demo.scenario import (
    BEACON_INTERVAL,
    BEACON_JITTER,
    DAYS,
    DNS_DOMAIN,
    STAGED_BYTES,
    Scenario,
    at,
)
from seawall.demo.zeek import FIELDS, Tagged, epoch, uid, write_log

# Sites people browse (reserved names, documentation addresses), with how often.
SITES: tuple[tuple[str, str, int], ...] = (
    ("www.search.example", "203.0.113.10", 30),
    ("news.daily.example", "203.0.113.21", 12),
    ("cdn.daily.example", "203.0.113.22", 12),
    ("www.weather.example", "198.51.100.14", 6),
    ("maps.search.example", "203.0.113.11", 5),
    ("video.stream.example", "198.51.100.31", 6),
    ("static.stream.example", "198.51.100.32", 6),
    ("www.shipping-register.example", "192.0.2.141", 4),
    ("portal.classsociety.example", "192.0.2.142", 4),
    ("docs.cadvendor.example", "198.51.100.120", 3),
    ("updates.cadvendor.example", "198.51.100.121", 3),
    ("www.marine-news.test", "203.0.113.140", 3),
    ("forum.naval-arch.test", "203.0.113.141", 2),
    ("www.supplier-steel.example", "192.0.2.160", 2),
    ("shop.supplier-steel.example", "192.0.2.161", 1),
    ("www.bank.example", "198.51.100.200", 2),
    ("api.telemetry.example", "203.0.113.180", 4),
    ("www.wiki.example", "198.51.100.210", 5),
    ("upload.wiki.example", "198.51.100.211", 2),
    ("www.travel.test", "203.0.113.190", 1),
)
SAAS: tuple[tuple[str, str], ...] = (
    ("outlook.office365.example", "198.51.100.150"),
    ("teams.office365.example", "198.51.100.151"),
    ("login.cloudid.example", "198.51.100.152"),
    ("sharepoint.office365.example", "198.51.100.153"),
)
INTERNAL = ("dc01", "fs01", "prx01", "web01", "bkp01")
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/122.0.0.0 Safari/537.36"
)
BEACON_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0) like Gecko"
VISITOR_AGENTS = (
    USER_AGENT,
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like"
    " Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Searchbot/2.1; +http://www.search.example/bot.html)",
)
PAGES = ("/", "/About.aspx", "/Services.aspx", "/Projects.aspx", "/Careers.aspx", "/Contact.aspx")
ASSETS = ("/css/site.css", "/js/site.js") + tuple(f"/images/project-{i}.png" for i in range(1, 9))
TUNNEL_QTYPES = (("TXT", 16), ("TXT", 16), ("TXT", 16), ("NULL", 10))


def special_addresses(scenario: Scenario) -> set[str]:
    """Public addresses that already mean something in the scenario: never drawn for a
    visitor or a home connection."""
    infra = scenario.infra
    found = {infra.actor_vpn_exit, infra.c2_ip, infra.tunnel_ns_ip, infra.public_resolver,
             infra.office_egress, infra.web_public_ip, infra.vpn_gateway}  # fmt: skip
    found.update(ip for _host, ip, _weight in SITES)
    found.update(ip for _host, ip in SAAS)
    return found


def _workday(day: int) -> bool:
    return day % 7 < 5


@dataclass(slots=True)
class _Day:
    """One day's rows of every log, tagged with the item each is evidence of."""

    day: int
    zeek: dict[str, list[Tagged]] = field(default_factory=lambda: {k: [] for k in FIELDS})
    squid: list[tuple[datetime, str, str | None]] = field(default_factory=list)
    iis: list[tuple[datetime, str, str | None]] = field(default_factory=list)


class _Traffic:
    """Builds the rows of every log, one day at a time."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.infra = scenario.infra
        self.hosts = scenario.hosts
        self.dc = scenario.hosts["DC01"].ip
        self.proxy = scenario.hosts["PRX01"].ip
        self.web = scenario.hosts["WEB01"].ip
        self.fs = scenario.hosts["FS01"].ip
        self.number = 0
        self.proxy_cache: dict[str, datetime] = {}
        self.today = _Day(0)

    def next_uid(self) -> str:
        self.number += 1
        return uid(self.number + self.scenario.seed)

    def conn(self, time: datetime, orig: str, oport: int, resp: str, rport: int, proto: str,
             service: str | None, duration: float, out: int, back: int, *,
             state: str = "SF", history: str = "ShADadFf", item: str | None = None,
             uid_: str | None = None) -> str:  # fmt: skip
        ident = uid_ or self.next_uid()
        local = resp.startswith("10.")
        packets_out = max(1, out // 1200 + 2)
        packets_in = max(1, back // 1200 + 2)
        row = (epoch(time), ident, orig, oport, resp, rport, proto, service, round(duration, 6),
               out, back, state, orig.startswith("10."), local, 0, history, packets_out,
               out + 40 * packets_out, packets_in, back + 40 * packets_in, [])  # fmt: skip
        self.today.zeek["conn"].append((row, item))
        return ident

    def dns(self, time: datetime, client: str, server: str, query: str, qtype: str,
            answers: list[str] | None, ttls: list[float] | None, rng: random.Random, *,
            rcode: str = "NOERROR", item: str | None = None) -> None:  # fmt: skip
        codes = {"A": 1, "AAAA": 28, "TXT": 16, "NULL": 10, "SRV": 33, "CNAME": 5, "PTR": 12}
        rcodes = {"NOERROR": 0, "NXDOMAIN": 3, "SERVFAIL": 2}
        port = rng.randint(49152, 65535)
        rtt = rng.uniform(0.0004, 0.004) if server == self.dc else rng.uniform(0.01, 0.06)
        ident = self.conn(time, client, port, server, 53, "udp", "dns", rtt, 40 + len(query),
                          60 + len(query) + 24 * len(answers or []), state="SF", history="Dd",
                          item=item)  # fmt: skip
        row = (epoch(time), ident, client, port, server, 53, "udp", rng.randint(1, 65535),
               round(rtt, 6), query, 1, "C_INTERNET", codes[qtype], qtype, rcodes[rcode], rcode,
               server == self.dc and query.endswith(DNS_DOMAIN), False, True, True, 0,
               answers if answers is not None else None,
               [float(t) for t in ttls] if ttls is not None else None, False)  # fmt: skip
        self.today.zeek["dns"].append((row, item))

    def squid(self, time: datetime, elapsed: int, client: str, code: str, status: int, size: int,
              method: str, url: str, hierarchy: str, mime: str, item: str | None = None,
              user: str = "-") -> None:  # fmt: skip
        line = (
            f"{time.timestamp():.3f} {elapsed:6d} {client} {code}/{status:03d} {size} {method}"
            f" {url} {user} {hierarchy} {mime}"
        )
        self.today.squid.append((time, line, item))

    def proxy_dns(self, time: datetime, host: str, ip: str, rng: random.Random, ttl: int = 300,
                  item: str | None = None) -> None:  # fmt: skip
        """The proxy resolves a name when its cached answer has expired."""
        if self.proxy_cache.get(host, time - timedelta(seconds=1)) > time:
            return
        self.proxy_cache[host] = time + timedelta(seconds=ttl)
        self.dns(time - timedelta(milliseconds=5), self.proxy, self.dc, host, "A", [ip],
                 [float(ttl)], rng, item=item)  # fmt: skip

    def browse(self, time: datetime, client: str, user: str, rng: random.Random) -> None:
        host, ip, _weight = rng.choices(SITES, weights=[s[2] for s in SITES])[0]
        self.proxy_dns(time, host, ip, rng)
        duration = rng.uniform(0.2, 90.0)
        sent, received = rng.randint(800, 9000), rng.randint(3000, 900_000)
        port = rng.randint(49152, 65535)
        if rng.random() < 0.8:  # HTTPS through CONNECT
            self.squid(time, int(duration * 1000), client, "TCP_TUNNEL", 200, received, "CONNECT",
                       f"{host}:443", f"HIER_DIRECT/{ip}", "-", user=user)  # fmt: skip
            self.conn(time, client, port, self.proxy, 3128, "tcp", "http", duration, sent,
                      received)  # fmt: skip
            upstream = self.conn(time + timedelta(milliseconds=30), self.proxy,
                                 rng.randint(30000, 60999), ip, 443, "tcp", "ssl", duration,
                                 sent, received)  # fmt: skip
            ssl = (epoch(time + timedelta(milliseconds=31)), upstream, self.proxy,
                   rng.randint(30000, 60999), ip, 443, "TLSv13", "TLS_AES_128_GCM_SHA256",
                   "x25519", host, False, None, None, True, "CsxknGIi", None, None, None)  # fmt: skip
            self.today.zeek["ssl"].append((ssl, None))
            return
        path = rng.choice(("/", "/index.html", "/latest", "/feed.xml", "/img/logo.png"))
        url = f"http://{host}{path}"
        mime = "image/png" if path.endswith(".png") else "text/html"
        self.squid(time, int(duration * 100), client, "TCP_MISS", 200, received, "GET", url,
                   f"HIER_DIRECT/{ip}", mime, user=user)  # fmt: skip
        ident = self.conn(time, client, port, self.proxy, 3128, "tcp", "http", duration / 10,
                          sent, received)  # fmt: skip
        self.http(time, ident, client, port, self.proxy, 3128, "GET", host, url, USER_AGENT, 200,
                  received, mime)  # fmt: skip
        self.conn(time + timedelta(milliseconds=20), self.proxy, rng.randint(30000, 60999), ip,
                  80, "tcp", "http", duration / 10, sent, received)  # fmt: skip

    def http(self, time: datetime, ident: str, client: str, port: int, server: str, sport: int,
             method: str, host: str, uri: str, agent: str, status: int, size: int, mime: str,
             item: str | None = None) -> None:  # fmt: skip
        row = (epoch(time), ident, client, port, server, sport, 1, method, host, uri, None, "1.1",
               agent, None, 0, size, status, "OK", None, None, [], None, None, None, None, None,
               None, [f"F{ident[1:]}"], None, [mime])  # fmt: skip
        self.today.zeek["http"].append((row, item))

    def iis(self, time: datetime, method: str, stem: str, query: str | None, client: str,
            agent: str, referrer: str | None, status: int, taken: int,
            item: str | None = None) -> None:  # fmt: skip
        line = " ".join(
            (time.strftime("%Y-%m-%d %H:%M:%S"), self.web, method, stem, query or "-", "443", "-",
             client, agent.replace(" ", "+"), referrer or "-", str(status), "0", "0", str(taken))
        )  # fmt: skip
        self.today.iis.append((time, line, item))


def _visitor_ip(rng: random.Random, reserved: set[str]) -> str:
    while True:
        prefix = rng.choice(("198.51.100.", "203.0.113.", "192.0.2."))
        ip = f"{prefix}{rng.randint(100, 254)}"
        if ip not in reserved:
            return ip


def _visits(traffic: _Traffic, day: int, rng: random.Random, count: int,
            reserved: set[str]) -> None:  # fmt: skip
    for _ in range(count):
        time = at(day, seconds=rng.uniform(0, 86_399))
        client = _visitor_ip(rng, reserved)
        agent = rng.choice(VISITOR_AGENTS)
        port = rng.randint(1024, 65535)
        ident = traffic.conn(time, client, port, traffic.web, 443, "tcp", "ssl",
                             rng.uniform(0.5, 40), rng.randint(900, 4000),
                             rng.randint(20_000, 400_000))  # fmt: skip
        ssl = (epoch(time + timedelta(milliseconds=40)), ident, client, port, traffic.web, 443,
               "TLSv12", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "secp384r1",
               f"www.{DNS_DOMAIN}", False, None, "http/1.1", True, "CsiI", None, None,
               True)  # fmt: skip
        traffic.today.zeek["ssl"].append((ssl, None))
        page = rng.choice(PAGES)
        when = time + timedelta(milliseconds=60)
        traffic.iis(when, "GET", page, None, client, agent, None, 200, rng.randint(15, 180))
        for asset in rng.sample(ASSETS, rng.randint(1, 5)):
            when += timedelta(milliseconds=rng.randint(5, 90))
            traffic.iis(when, "GET", asset, None, client, agent, f"https://www.{DNS_DOMAIN}{page}",
                        200, rng.randint(0, 30))  # fmt: skip


def _people(traffic: _Traffic, day: int, rng: random.Random) -> None:
    scenario = traffic.scenario
    resolver = scenario.infra.public_resolver
    per_day = scenario.volume.dns_per_client_day
    for person in scenario.users:
        station, ip = scenario.workstation_of(person)
        if not _workday(day):
            continue
        developer = station == "WS022"
        for _ in range(per_day):
            time = at(day, seconds=rng.uniform(0, 9.5 * 3600))
            pick = rng.random()
            if pick < 0.5:
                name = f"{rng.choice(INTERNAL)}.{DNS_DOMAIN}"
                address = scenario.hosts[name.split(".")[0].upper()].ip
                traffic.dns(time, ip, traffic.dc, name, "A", [address], [1200.0], rng)
            elif pick < 0.6:
                traffic.dns(time, ip, traffic.dc, f"wpad.{DNS_DOMAIN}", "A", None, None, rng,
                            rcode="NXDOMAIN")  # fmt: skip
            else:
                name, address = rng.choice(SAAS)
                server = resolver if developer else traffic.dc
                item = "unapproved-resolver" if developer else None
                traffic.dns(time, ip, server, name, "A", [address], [300.0], rng, item=item)
        for _ in range(25 if _workday(day) else 0):
            time = at(day, seconds=rng.uniform(0, 9.5 * 3600))
            traffic.browse(time, ip, "-", rng)


def _webshell_requests(traffic: _Traffic, rng: random.Random) -> None:
    times = traffic.scenario.times
    actor = traffic.infra.actor_vpn_exit
    agent = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/96.0.4664.110 Safari/537.36"
    )
    upload = times["webshell_upload"]
    requests = [
        (upload - timedelta(seconds=40), "GET", "/Careers.aspx", 200, 41, "webshell-file"),
        (upload - timedelta(seconds=2), "POST", "/Careers.aspx", 200, 2_180, "webshell-file"),
        (upload + timedelta(seconds=30), "POST", "/aspnet_client/system_web/errorFE.aspx", 200,
         62, "webshell-file"),
    ]  # fmt: skip
    when = times["recon_start"] - timedelta(seconds=1)
    for _ in range(9):
        requests.append((when, "POST", "/aspnet_client/system_web/errorFE.aspx", 200,
                         rng.randint(300, 2500), "webshell-recon"))  # fmt: skip
        when += timedelta(seconds=rng.randint(35, 150))
    for offset in (0, 41):
        requests.append((times["tools_upload"] + timedelta(seconds=offset - 3), "POST",
                         "/aspnet_client/system_web/errorFE.aspx", 200, 9_800, "putty-public"))
    for time, method, stem, status, taken, item in requests:
        port = rng.randint(50000, 60000)
        traffic.conn(time - timedelta(milliseconds=80), actor, port, traffic.web, 443, "tcp",
                     "ssl", taken / 1000 + 0.2, rng.randint(600, 900_000) if method == "POST"
                     else 700, rng.randint(400, 4000), item=item)  # fmt: skip
        traffic.iis(time, method, stem, None, actor, agent, None, status, taken, item=item)


def _attack_day(traffic: _Traffic, rng: random.Random) -> None:
    """The actor's network traffic on the day it happens."""
    times = traffic.scenario.times
    day = traffic.today.day
    infra = traffic.infra
    if day == times["webshell_upload"].day - at(0).day:
        _webshell_requests(traffic, rng)
    for start, end in ((times["rdp_logon"] - timedelta(seconds=9), times["archive"]
                        + timedelta(hours=2, minutes=30)),
                       (times["exfil_start"] - timedelta(minutes=3, seconds=9),
                        times["cleanup"] + timedelta(minutes=4))):  # fmt: skip
        if start.date() == at(day).date():
            traffic.conn(start, infra.actor_vpn_exit, rng.randint(50000, 60000), traffic.web,
                         3389, "tcp", "rdp", (end - start).total_seconds(),
                         rng.randint(3_000_000, 9_000_000), rng.randint(40_000_000, 90_000_000),
                         item="rdp-from-vpn-exit")  # fmt: skip
    mapping = times["share_mapping"]
    if mapping.date() == at(day).date():
        traffic.dns(mapping - timedelta(seconds=1), traffic.web, traffic.dc, f"fs01.{DNS_DOMAIN}",
                    "A", [traffic.fs], [1200.0], rng)  # fmt: skip
        traffic.conn(mapping, traffic.web, rng.randint(50000, 60000), traffic.fs, 445, "tcp",
                     "smb,gssapi", 8_400.0, 2_900_000, STAGED_BYTES // 2,
                     item="admin-share-server")  # fmt: skip
    tunnel, tunnel_end = times["tunnel_start"], times["tunnel_end"]
    if tunnel.date() == at(day).date():
        zone = infra.tunnel_zone
        when = tunnel
        while when < tunnel_end:
            payload = rng.randbytes(rng.randint(24, 56)).hex()
            labels = [payload[i : i + 60] for i in range(0, len(payload), 60)]
            name = ".".join([*labels, zone])
            qtype = rng.choice(TUNNEL_QTYPES)[0]
            answer = rng.randbytes(rng.randint(16, 90)).hex()
            answers = [f"TXT {len(answer)} {answer}"] if qtype == "TXT" else None
            traffic.dns(when, traffic.fs, traffic.dc, name, qtype, answers,
                        [0.0] if answers else None, rng, item="dns-tunnel")  # fmt: skip
            when += timedelta(seconds=rng.uniform(0.8, 4.0))
    exfil, exfil_end = times["exfil_start"], times["exfil_end"]
    if exfil.date() == at(day).date():
        port = rng.randint(50000, 60000)
        ident = traffic.conn(exfil, traffic.web, port, infra.c2_ip, 443, "tcp", "ssh",
                             (exfil_end - exfil).total_seconds(), STAGED_BYTES + 91_552_113,
                             43_118_502, item="ssh-exfiltration")  # fmt: skip
        ssh = (epoch(exfil + timedelta(milliseconds=200)), ident, traffic.web, port, infra.c2_ip,
               443, 2, True, 1, "OUTBOUND", "SSH-2.0-PuTTY_Release_0.83",
               "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6", "aes256-ctr", "hmac-sha2-256",
               "none", "curve25519-sha256", "ssh-ed25519",
               "3b:9c:11:f0:6e:52:a4:08:77:d2:c1:5e:90:4b:2a:6d")  # fmt: skip
        traffic.today.zeek["ssh"].append((ssh, "ssh-exfiltration"))


def _beacon_schedule(scenario: Scenario) -> list[datetime]:
    """The implant's whole schedule, drawn once (so that each day's part is the same
    whichever days are built)."""
    rng = scenario.rng("network:beacon-schedule")
    when = scenario.times["phish_open"] + timedelta(seconds=37)
    times = []
    while when < at(DAYS):
        times.append(when)
        when += timedelta(seconds=BEACON_INTERVAL * (1 + rng.uniform(-BEACON_JITTER, BEACON_JITTER)))
    return times


def write_network(scenario: Scenario, evidence: Path, manifest: Manifest) -> None:
    """Write the Zeek archive, Squid's access.log and WEB01's IIS logs."""
    traffic = _Traffic(scenario)
    zeek_root = evidence / "network" / "zeek"
    squid_path = evidence / "network" / "squid" / "access.log"
    iis_root = evidence / "hosts" / "WEB01" / "inetpub" / "logs" / "LogFiles" / "W3SVC1"
    squid_path.parent.mkdir(parents=True, exist_ok=True)
    reserved = special_addresses(scenario)
    schedule = _beacon_schedule(scenario)
    counts = {"zeek": 0, "squid": 0, "iis": 0}
    squid_lines = 0
    with squid_path.open("w", encoding="utf-8", newline="\n") as squid:
        for day in range(DAYS):
            rng = scenario.rng(f"network:day:{day}")
            traffic.today = _Day(day)
            _people(traffic, day, rng)
            _visits(traffic, day, rng, scenario.volume.web_visits_per_day, reserved)
            _day_beacons(traffic, schedule, scenario.rng(f"network:beacon:{day}"))
            _attack_day(traffic, scenario.rng(f"network:attack:{day}"))
            opened, closed = at(day), at(day + 1) - timedelta(seconds=1)
            folder = zeek_root / opened.strftime("%Y-%m-%d")
            for log, rows in traffic.today.zeek.items():
                if not rows:
                    continue
                target = folder / f"{log}.log.gz"
                for item, lines in write_log(target, log, rows, opened, closed).items():
                    _note_lines(manifest, item, target, lines)
                counts["zeek"] += len(rows)
            traffic.today.squid.sort(key=lambda entry: entry[0])
            for _time, line, item in traffic.today.squid:
                squid_lines += 1
                squid.write(line + "\n")
                if item is not None:
                    manifest.notes.setdefault(f"_squid:{item}", []).append({"line": squid_lines})
            counts["squid"] += len(traffic.today.squid)
            counts["iis"] += _write_iis(traffic, iis_root, manifest)
    stamp(squid_path, at(DAYS) - timedelta(seconds=1))
    for key in [k for k in manifest.notes if k.startswith("_squid:")]:
        lines = [entry["line"] for entry in manifest.notes.pop(key)]
        _note_lines(manifest, key.split(":", 1)[1], squid_path, lines)
    _manifest_entries(manifest, zeek_root, squid_path, iis_root, counts)


def _day_beacons(traffic: _Traffic, schedule: list[datetime], rng: random.Random) -> None:
    scenario = traffic.scenario
    infra = traffic.infra
    client = scenario.workstation_of(scenario.accounts["l.wu"])[1]
    day_start, day_end = at(traffic.today.day), at(traffic.today.day + 1)
    for when in schedule:
        if not day_start <= when < day_end:
            continue
        tasking = rng.random() < 0.04
        size = rng.randint(12_000, 60_000) if tasking else rng.randint(480, 560)
        url = f"http://{infra.c2_domain}/api/v2/sync?id=7f3a91c0&t={rng.randbytes(6).hex()}"
        traffic.proxy_dns(when, infra.c2_domain, infra.c2_ip, rng, ttl=60, item="proxy-beacon")
        traffic.squid(when, rng.randint(180, 420), client, "TCP_MISS", 200, size, "GET", url,
                      f"HIER_DIRECT/{infra.c2_ip}", "text/html", item="proxy-beacon")  # fmt: skip
        port = rng.randint(49152, 65535)
        ident = traffic.conn(when, client, port, traffic.proxy, 3128, "tcp", "http",
                             rng.uniform(0.2, 0.5), 380, size, item="proxy-beacon")  # fmt: skip
        traffic.http(when, ident, client, port, traffic.proxy, 3128, "GET", infra.c2_domain, url,
                     BEACON_AGENT, 200, size, "text/html", item="proxy-beacon")  # fmt: skip
        traffic.conn(when + timedelta(milliseconds=25), traffic.proxy, rng.randint(30000, 60999),
                     infra.c2_ip, 80, "tcp", "http", rng.uniform(0.15, 0.4), 410, size,
                     item="proxy-beacon")  # fmt: skip


def _write_iis(traffic: _Traffic, root: Path, manifest: Manifest) -> int:
    day = at(traffic.today.day)
    entries = sorted(traffic.today.iis, key=lambda entry: entry[0])
    if not entries:
        return 0
    header = [
        "#Software: Microsoft Internet Information Services 10.0",
        "#Version: 1.0",
        f"#Date: {entries[0][0].strftime('%Y-%m-%d %H:%M:%S')}",
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip"
        " cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
    ]
    path = root / f"u_ex{day.strftime('%y%m%d')}.log"
    lines: dict[str, list[int]] = {}
    for number, (_time, _line, item) in enumerate(entries, start=len(header) + 1):
        if item is not None:
            lines.setdefault(item, []).append(number)
    body = "\r\n".join(header + [line for _time, line, _item in entries]) + "\r\n"
    write_text(path, body, at(traffic.today.day + 1) - timedelta(seconds=1))
    for item, numbers in lines.items():
        _note_lines(manifest, item, path, numbers)
    return len(entries)


def _note_lines(manifest: Manifest, item: str, path: Path, lines: list[int]) -> None:
    """Cite at most the first 25 lines of an item in a file, and how many there are."""
    where: dict[str, Any] = {"lines": lines[:25], "count": len(lines)}
    manifest.note(item, path, **where)


def _manifest_entries(manifest: Manifest, zeek: Path, squid: Path, iis: Path,
                      counts: dict[str, int]) -> None:  # fmt: skip
    for path, fmt, host, records, what in (
        (zeek, "zeek", None, counts["zeek"], "Zeek conn, dns, http, ssl and ssh logs (daily gzip)"),
        (squid, "squid", "PRX01", counts["squid"], "Squid's native access.log"),
        (iis, "w3c", "WEB01", counts["iis"], "IIS W3C logs of the public site (in WEB01's tree)"),
    ):
        relative = manifest.relative(path)
        command = ["collect", "logs", relative]
        if host is not None:
            command += ["--host", host]
        manifest.add(EvidenceFile(relative, "network", fmt, command, f"log format {fmt}", host,
                                  records, what))  # fmt: skip
