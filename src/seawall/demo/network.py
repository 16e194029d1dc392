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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from seawall.demo.clock import DAYS, at
from seawall.demo.evidence import EvidenceFile, Manifest, stamp, write_text
from seawall.demo.scenario import (
    BEACON_INTERVAL,
    BEACON_JITTER,
    DNS_DOMAIN,
    STAGED_BYTES,
    Scenario,
    computer_name,
)
from seawall.demo.traffic import (
    ASSETS,
    BEACON_AGENT,
    INTERNAL,
    PAGES,
    SAAS,
    TUNNEL_QTYPES,
    VISITOR_AGENTS,
    Day,
    Traffic,
    special_addresses,
    workday,
)
from seawall.demo.zeek import epoch, write_log


def _visitor_ip(rng: random.Random, reserved: set[str]) -> str:
    while True:
        prefix = rng.choice(("198.51.100.", "203.0.113.", "192.0.2."))
        ip = f"{prefix}{rng.randint(100, 254)}"
        if ip not in reserved:
            return ip


def _visits(traffic: Traffic, day: int, rng: random.Random, count: int, reserved: set[str]) -> None:
    for _ in range(count):
        time = at(day, seconds=rng.uniform(0, 86_399))
        client = _visitor_ip(rng, reserved)
        agent = rng.choice(VISITOR_AGENTS)
        port = rng.randint(1024, 65535)
        ident = traffic.conn(
            time,
            client,
            port,
            traffic.web,
            443,
            "tcp",
            "ssl",
            rng.uniform(0.5, 40),
            rng.randint(900, 4000),
            rng.randint(20_000, 400_000),
        )
        ssl = (
            epoch(time + timedelta(milliseconds=40)),
            ident,
            client,
            port,
            traffic.web,
            443,
            "TLSv12",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "secp384r1",
            f"www.{DNS_DOMAIN}",
            False,
            None,
            "http/1.1",
            True,
            "CsiI",
            None,
            None,
            True,
        )
        traffic.today.zeek["ssl"].append((ssl, None))
        page = rng.choice(PAGES)
        when = time + timedelta(milliseconds=60)
        traffic.iis(when, "GET", page, None, client, agent, None, 200, rng.randint(15, 180))
        for asset in rng.sample(ASSETS, rng.randint(1, 5)):
            when += timedelta(milliseconds=rng.randint(5, 90))
            traffic.iis(
                when,
                "GET",
                asset,
                None,
                client,
                agent,
                f"https://www.{DNS_DOMAIN}{page}",
                200,
                rng.randint(0, 30),
            )


def _people(traffic: Traffic, day: int, rng: random.Random) -> None:
    scenario = traffic.scenario
    resolver = scenario.infra.public_resolver
    per_day = scenario.volume.dns_per_client_day
    for person in scenario.users:
        station, ip = scenario.workstation_of(person)
        if not workday(day):
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
                traffic.dns(
                    time,
                    ip,
                    traffic.dc,
                    f"wpad.{DNS_DOMAIN}",
                    "A",
                    None,
                    None,
                    rng,
                    rcode="NXDOMAIN",
                )
            else:
                name, address = rng.choice(SAAS)
                server = resolver if developer else traffic.dc
                item = "unapproved-resolver" if developer else None
                traffic.dns(time, ip, server, name, "A", [address], [300.0], rng, item=item)
        for _ in range(25 if workday(day) else 0):
            time = at(day, seconds=rng.uniform(0, 9.5 * 3600))
            traffic.browse(time, ip, "-", rng)


def _webshell_requests(traffic: Traffic, rng: random.Random) -> None:
    times = traffic.scenario.times
    actor = traffic.infra.actor_vpn_exit
    agent = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " Chrome/96.0.4664.110 Safari/537.36"
    )
    upload = times["webshell_upload"]
    requests = [
        (upload - timedelta(seconds=40), "GET", "/Careers.aspx", 200, 41, "webshell-requests"),
        (upload - timedelta(seconds=2), "POST", "/Careers.aspx", 200, 2_180, "webshell-requests"),
        (
            upload + timedelta(seconds=30),
            "POST",
            "/aspnet_client/system_web/errorFE.aspx",
            200,
            62,
            "webshell-requests",
        ),
    ]
    when = times["recon_start"] - timedelta(seconds=1)
    for _ in range(9):
        requests.append(
            (
                when,
                "POST",
                "/aspnet_client/system_web/errorFE.aspx",
                200,
                rng.randint(300, 2500),
                "webshell-requests",
            )
        )
        when += timedelta(seconds=rng.randint(35, 150))
    for offset in (0, 41):
        requests.append(
            (
                times["tools_upload"] + timedelta(seconds=offset - 3),
                "POST",
                "/aspnet_client/system_web/errorFE.aspx",
                200,
                9_800,
                "webshell-requests",
            )
        )
    for time, method, stem, status, taken, item in requests:
        port = rng.randint(50000, 60000)
        traffic.conn(
            time - timedelta(milliseconds=80),
            actor,
            port,
            traffic.web,
            443,
            "tcp",
            "ssl",
            taken / 1000 + 0.2,
            rng.randint(600, 900_000) if method == "POST" else 700,
            rng.randint(400, 4000),
            item=item,
        )
        traffic.iis(time, method, stem, None, actor, agent, None, status, taken, item=item)


def _attack_day(traffic: Traffic, rng: random.Random) -> None:
    """The actor's network traffic on the day it happens."""
    times = traffic.scenario.times
    day = traffic.today.day
    infra = traffic.infra
    if day == times["webshell_upload"].day - at(0).day:
        _webshell_requests(traffic, rng)
    for start, end in (
        (
            times["rdp_logon"] - timedelta(seconds=9),
            times["archive"] + timedelta(hours=2, minutes=30),
        ),
        (
            times["exfil_start"] - timedelta(minutes=3, seconds=9),
            times["cleanup"] + timedelta(minutes=4),
        ),
    ):
        if start.date() == at(day).date():
            traffic.conn(
                start,
                infra.actor_vpn_exit,
                rng.randint(50000, 60000),
                traffic.web,
                3389,
                "tcp",
                "rdp",
                (end - start).total_seconds(),
                rng.randint(3_000_000, 9_000_000),
                rng.randint(40_000_000, 90_000_000),
                item="rdp-from-vpn-exit",
            )
    mapping = times["share_mapping"]
    if mapping.date() == at(day).date():
        traffic.dns(
            mapping - timedelta(seconds=1),
            traffic.web,
            traffic.dc,
            f"fs01.{DNS_DOMAIN}",
            "A",
            [traffic.fs],
            [1200.0],
            rng,
        )
        traffic.conn(
            mapping,
            traffic.web,
            rng.randint(50000, 60000),
            traffic.fs,
            445,
            "tcp",
            "smb,gssapi",
            8_400.0,
            2_900_000,
            STAGED_BYTES // 2,
            item="admin-share-server",
        )
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
            traffic.dns(
                when,
                traffic.fs,
                traffic.dc,
                name,
                qtype,
                answers,
                [0.0] if answers else None,
                rng,
                item="dns-tunnel",
            )
            when += timedelta(seconds=rng.uniform(0.8, 4.0))
    exfil, exfil_end = times["exfil_start"], times["exfil_end"]
    if exfil.date() == at(day).date():
        port = rng.randint(50000, 60000)
        ident = traffic.conn(
            exfil,
            traffic.web,
            port,
            infra.c2_ip,
            443,
            "tcp",
            "ssh",
            (exfil_end - exfil).total_seconds(),
            STAGED_BYTES + 91_552_113,
            43_118_502,
            item="ssh-exfiltration",
        )
        ssh = (
            epoch(exfil + timedelta(milliseconds=200)),
            ident,
            traffic.web,
            port,
            infra.c2_ip,
            443,
            2,
            True,
            1,
            "OUTBOUND",
            "SSH-2.0-PuTTY_Release_0.83",
            "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6",
            "aes256-ctr",
            "hmac-sha2-256",
            "none",
            "curve25519-sha256",
            "ssh-ed25519",
            "3b:9c:11:f0:6e:52:a4:08:77:d2:c1:5e:90:4b:2a:6d",
        )
        traffic.today.zeek["ssh"].append((ssh, "ssh-exfiltration"))


def _beacon_schedule(scenario: Scenario) -> list[datetime]:
    """The implant's whole schedule, drawn once (so that each day's part is the same
    whichever days are built)."""
    rng = scenario.rng("network:beacon-schedule")
    when = scenario.times["phish_open"] + timedelta(seconds=37)
    times = []
    while when < at(DAYS):
        times.append(when)
        when += timedelta(
            seconds=BEACON_INTERVAL * (1 + rng.uniform(-BEACON_JITTER, BEACON_JITTER))
        )
    return times


def write_network(scenario: Scenario, evidence: Path, manifest: Manifest) -> None:
    """Write the Zeek archive, Squid's access.log and WEB01's IIS logs."""
    traffic = Traffic(scenario)
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
            traffic.today = Day(day)
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
                for tag, lines in write_log(target, log, rows, opened, closed).items():
                    _note_lines(manifest, tag, target, lines)
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


def _day_beacons(traffic: Traffic, schedule: list[datetime], rng: random.Random) -> None:
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
        traffic.squid(
            when,
            rng.randint(180, 420),
            client,
            "TCP_MISS",
            200,
            size,
            "GET",
            url,
            f"HIER_DIRECT/{infra.c2_ip}",
            "text/html",
            item="proxy-beacon",
        )
        port = rng.randint(49152, 65535)
        ident = traffic.conn(
            when,
            client,
            port,
            traffic.proxy,
            3128,
            "tcp",
            "http",
            rng.uniform(0.2, 0.5),
            380,
            size,
            item="proxy-beacon",
        )
        traffic.http(
            when,
            ident,
            client,
            port,
            traffic.proxy,
            3128,
            "GET",
            infra.c2_domain,
            url,
            BEACON_AGENT,
            200,
            size,
            "text/html",
            item="proxy-beacon",
        )
        traffic.conn(
            when + timedelta(milliseconds=25),
            traffic.proxy,
            rng.randint(30000, 60999),
            infra.c2_ip,
            80,
            "tcp",
            "http",
            rng.uniform(0.15, 0.4),
            410,
            size,
            item="proxy-beacon",
        )


def _write_iis(traffic: Traffic, root: Path, manifest: Manifest) -> int:
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


def _manifest_entries(
    manifest: Manifest, zeek: Path, squid: Path, iis: Path, counts: dict[str, int]
) -> None:
    for path, fmt, host, records, what in (
        (zeek, "zeek", None, counts["zeek"], "Zeek conn, dns, http, ssl and ssh logs (daily gzip)"),
        (squid, "squid", "PRX01", counts["squid"], "Squid's native access.log"),
        (iis, "w3c", "WEB01", counts["iis"], "IIS W3C logs of the public site (in WEB01's tree)"),
    ):
        relative = manifest.relative(path)
        command = ["collect", "logs", relative]
        if host is not None:
            command += ["--host", computer_name(host)]
        manifest.add(
            EvidenceFile(
                relative, "network", fmt, command, f"log format {fmt}", host, records, what
            )
        )
