"""The rows of every network log of one day, built as the sensor, the proxy and IIS would write
them: Zeek ``conn``/``dns``/``http``/``ssl``/``ssh`` rows, Squid lines and IIS W3C lines, each
tagged with the ground-truth item it is evidence of. The names and addresses of the world
outside the company (reserved names, documentation addresses) are here too."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from seawall.demo.scenario import DNS_DOMAIN, Scenario
from seawall.demo.zeek import FIELDS, Tagged, epoch, uid

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
ASSETS = ("/css/site.css", "/js/site.js", *tuple(f"/images/project-{i}.png" for i in range(1, 9)))
TUNNEL_QTYPES = (("TXT", 16), ("TXT", 16), ("TXT", 16), ("NULL", 10))


def special_addresses(scenario: Scenario) -> set[str]:
    """Public addresses that already mean something in the scenario: never drawn for a
    visitor or a home connection."""
    infra = scenario.infra
    found = {
        infra.actor_vpn_exit,
        infra.c2_ip,
        infra.tunnel_ns_ip,
        infra.public_resolver,
        infra.office_egress,
        infra.web_public_ip,
        infra.vpn_gateway,
    }
    found.update(ip for _host, ip, _weight in SITES)
    found.update(ip for _host, ip in SAAS)
    return found


def workday(day: int) -> bool:
    return day % 7 < 5


@dataclass(slots=True)
class Day:
    """One day's rows of every log, tagged with the item each is evidence of."""

    day: int
    zeek: dict[str, list[Tagged]] = field(default_factory=lambda: {k: [] for k in FIELDS})
    squid: list[tuple[datetime, str, str | None]] = field(default_factory=list)
    iis: list[tuple[datetime, str, str | None]] = field(default_factory=list)


class Traffic:
    """Builds the rows of every log, one day at a time."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.infra = scenario.infra
        self.hosts = scenario.hosts
        self.dc = scenario.hosts["DC01"].ip
        self.proxy = scenario.hosts["PRX01"].ip
        self.web = scenario.hosts["WEB01"].ip
        self.fs = scenario.hosts["FS01"].ip
        self.uids = scenario.rng("network:uids")
        self.proxy_cache: dict[str, datetime] = {}
        self.today = Day(0)

    def next_uid(self) -> str:
        return uid(self.uids)

    def conn(
        self,
        time: datetime,
        orig: str,
        oport: int,
        resp: str,
        rport: int,
        proto: str,
        service: str | None,
        duration: float,
        out: int,
        back: int,
        *,
        state: str = "SF",
        history: str = "ShADadFf",
        item: str | None = None,
        uid_: str | None = None,
    ) -> str:
        ident = uid_ or self.next_uid()
        local = resp.startswith("10.")
        packets_out = max(1, out // 1200 + 2)
        packets_in = max(1, back // 1200 + 2)
        row: tuple[object, ...] = (
            epoch(time),
            ident,
            orig,
            oport,
            resp,
            rport,
            proto,
            service,
            round(duration, 6),
            out,
            back,
            state,
            orig.startswith("10."),
            local,
            0,
            history,
            packets_out,
            out + 40 * packets_out,
            packets_in,
            back + 40 * packets_in,
            [],
        )
        self.today.zeek["conn"].append((row, item))
        return ident

    def dns(
        self,
        time: datetime,
        client: str,
        server: str,
        query: str,
        qtype: str,
        answers: list[str] | None,
        ttls: list[float] | None,
        rng: random.Random,
        *,
        rcode: str = "NOERROR",
        item: str | None = None,
    ) -> None:
        codes = {"A": 1, "AAAA": 28, "TXT": 16, "NULL": 10, "SRV": 33, "CNAME": 5, "PTR": 12}
        rcodes = {"NOERROR": 0, "NXDOMAIN": 3, "SERVFAIL": 2}
        port = rng.randint(49152, 65535)
        rtt = rng.uniform(0.0004, 0.004) if server == self.dc else rng.uniform(0.01, 0.06)
        ident = self.conn(
            time,
            client,
            port,
            server,
            53,
            "udp",
            "dns",
            rtt,
            40 + len(query),
            60 + len(query) + 24 * len(answers or []),
            state="SF",
            history="Dd",
            item=item,
        )
        row: tuple[object, ...] = (
            epoch(time),
            ident,
            client,
            port,
            server,
            53,
            "udp",
            rng.randint(1, 65535),
            round(rtt, 6),
            query,
            1,
            "C_INTERNET",
            codes[qtype],
            qtype,
            rcodes[rcode],
            rcode,
            server == self.dc and query.endswith(DNS_DOMAIN),
            False,
            True,
            True,
            0,
            answers if answers is not None else None,
            [float(t) for t in ttls] if ttls is not None else None,
            False,
        )
        self.today.zeek["dns"].append((row, item))

    def squid(
        self,
        time: datetime,
        elapsed: int,
        client: str,
        code: str,
        status: int,
        size: int,
        method: str,
        url: str,
        hierarchy: str,
        mime: str,
        item: str | None = None,
        user: str = "-",
    ) -> None:
        line = (
            f"{time.timestamp():.3f} {elapsed:6d} {client} {code}/{status:03d} {size} {method}"
            f" {url} {user} {hierarchy} {mime}"
        )
        self.today.squid.append((time, line, item))

    def proxy_dns(
        self,
        time: datetime,
        host: str,
        ip: str,
        rng: random.Random,
        ttl: int = 300,
        item: str | None = None,
    ) -> None:
        """The proxy resolves a name when its cached answer has expired."""
        if self.proxy_cache.get(host, time - timedelta(seconds=1)) > time:
            return
        self.proxy_cache[host] = time + timedelta(seconds=ttl)
        self.dns(
            time - timedelta(milliseconds=5),
            self.proxy,
            self.dc,
            host,
            "A",
            [ip],
            [float(ttl)],
            rng,
            item=item,
        )

    def browse(self, time: datetime, client: str, user: str, rng: random.Random) -> None:
        host, ip, _weight = rng.choices(SITES, weights=[s[2] for s in SITES])[0]
        self.proxy_dns(time, host, ip, rng)
        duration = rng.uniform(0.2, 90.0)
        sent, received = rng.randint(800, 9000), rng.randint(3000, 900_000)
        port = rng.randint(49152, 65535)
        if rng.random() < 0.8:  # HTTPS through CONNECT
            self.squid(
                time,
                int(duration * 1000),
                client,
                "TCP_TUNNEL",
                200,
                received,
                "CONNECT",
                f"{host}:443",
                f"HIER_DIRECT/{ip}",
                "-",
                user=user,
            )
            self.conn(time, client, port, self.proxy, 3128, "tcp", "http", duration, sent, received)
            upstream = self.conn(
                time + timedelta(milliseconds=30),
                self.proxy,
                rng.randint(30000, 60999),
                ip,
                443,
                "tcp",
                "ssl",
                duration,
                sent,
                received,
            )
            ssl = (
                epoch(time + timedelta(milliseconds=31)),
                upstream,
                self.proxy,
                rng.randint(30000, 60999),
                ip,
                443,
                "TLSv13",
                "TLS_AES_128_GCM_SHA256",
                "x25519",
                host,
                False,
                None,
                None,
                True,
                "CsxknGIi",
                None,
                None,
                None,
            )
            self.today.zeek["ssl"].append((ssl, None))
            return
        path = rng.choice(("/", "/index.html", "/latest", "/feed.xml", "/img/logo.png"))
        url = f"http://{host}{path}"
        mime = "image/png" if path.endswith(".png") else "text/html"
        self.squid(
            time,
            int(duration * 100),
            client,
            "TCP_MISS",
            200,
            received,
            "GET",
            url,
            f"HIER_DIRECT/{ip}",
            mime,
            user=user,
        )
        ident = self.conn(
            time, client, port, self.proxy, 3128, "tcp", "http", duration / 10, sent, received
        )
        self.http(
            time,
            ident,
            client,
            port,
            self.proxy,
            3128,
            "GET",
            host,
            url,
            USER_AGENT,
            200,
            received,
            mime,
        )
        self.conn(
            time + timedelta(milliseconds=20),
            self.proxy,
            rng.randint(30000, 60999),
            ip,
            80,
            "tcp",
            "http",
            duration / 10,
            sent,
            received,
        )

    def http(
        self,
        time: datetime,
        ident: str,
        client: str,
        port: int,
        server: str,
        sport: int,
        method: str,
        host: str,
        uri: str,
        agent: str,
        status: int,
        size: int,
        mime: str,
        item: str | None = None,
    ) -> None:
        row: tuple[object, ...] = (
            epoch(time),
            ident,
            client,
            port,
            server,
            sport,
            1,
            method,
            host,
            uri,
            None,
            "1.1",
            agent,
            None,
            0,
            size,
            status,
            "OK",
            None,
            None,
            [],
            None,
            None,
            None,
            None,
            None,
            None,
            [f"F{ident[1:]}"],
            None,
            [mime],
        )
        self.today.zeek["http"].append((row, item))

    def iis(
        self,
        time: datetime,
        method: str,
        stem: str,
        query: str | None,
        client: str,
        agent: str,
        referrer: str | None,
        status: int,
        taken: int,
        item: str | None = None,
    ) -> None:
        line = " ".join(
            (
                time.strftime("%Y-%m-%d %H:%M:%S"),
                self.web,
                method,
                stem,
                query or "-",
                "443",
                "-",
                client,
                agent.replace(" ", "+"),
                referrer or "-",
                str(status),
                "0",
                "0",
                str(taken),
            )
        )
        self.today.iis.append((time, line, item))
