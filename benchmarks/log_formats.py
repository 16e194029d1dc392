"""Per-line network log readers: rows/s of ``collect logs`` for each format.

    python benchmarks/log_formats.py                # 200,000 lines (packets) per format
    python benchmarks/log_formats.py --lines 50000 --formats dnsmasq,pcap

Each format's input is generated deterministically in ``benchmarks/.work/`` (documentation
addresses, ``.example`` names). The **limit** of each is the irreducible per-line work measured
in the same run: the format's own line regex (``json.loads`` for Zeek JSON; dpkt's decoding of
Ethernet/IP/UDP/DNS for pcap) over the same lines, with nothing built or stored. The ratio says
how much of the reader's time is more than that floor (row building, normalisation, the ingest
into DuckDB). Zeek TSV is not here: ``dns_hunt.py`` measures it against DuckDB's ``read_csv``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import time
from collections.abc import Callable
from pathlib import Path

import dpkt

from seawall.case.store import CaseStore
from seawall.collect.base import ingest_files
from seawall.collect.logs import LogOptions, choose_logs, dnsservers, weblogs

WORK = Path(__file__).resolve().parent / ".work"


def _dnsmasq(i: int) -> str:
    name = f"host{i % 5000}.zone{i % 13}.example"
    step = i % 3
    when = f"Mar 15 08:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}"
    if step == 0:
        return f"{when} dnsmasq[412]: query[A] {name} from 192.0.2.{i % 250 + 1}"
    if step == 1:
        return f"{when} dnsmasq[412]: forwarded {name} to 198.51.100.53"
    return f"{when} dnsmasq[412]: reply {name} is 203.0.113.{i % 250 + 1}"


def _bind(i: int) -> str:
    return (
        f"15-Mar-2024 08:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d} queries: info:"
        f" client @0x7f3a2c0a1b50 192.0.2.{i % 250 + 1}#{1024 + i % 60000}"
        f" (host{i % 5000}.example): query: host{i % 5000}.example IN A +E(0)K (198.51.100.1)"
    )


def _w3c(i: int) -> str:
    return (
        f"2024-03-15 08:{i // 60000 % 60:02d}:{i // 1000 % 60:02d} 192.0.2.80 GET"
        f" /app/page{i % 300}.aspx id={i} 443 - 203.0.113.{i % 250 + 1}"
        f" Mozilla/5.0+(Windows+NT+10.0) - {200 if i % 10 else 404} 0 0 {i % 500}"
    )


def _access(i: int) -> str:
    return (
        f"203.0.113.{i % 250 + 1} - - [15/Mar/2024:08:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}"
        f' +0100] "GET /page{i % 300}.php?id={i} HTTP/1.1" 200 {i % 9000}'
        f' "http://www.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"'
    )


def _squid(i: int) -> str:
    return (
        f"{1710489600 + i / 100:.3f} {i % 900:6d} 192.0.2.{i % 250 + 1} TCP_MISS/200 {i % 9000}"
        f" GET http://site{i % 700}.example/p{i} - HIER_DIRECT/203.0.113.{i % 250 + 1} text/html"
    )


def _zeek_json(i: int) -> str:
    return json.dumps(
        {
            "_path": "dns", "ts": 1710489600 + i / 100, "uid": f"C{i:017d}",
            "id.orig_h": f"192.0.2.{i % 250 + 1}", "id.orig_p": 1024 + i % 60000,
            "id.resp_h": "198.51.100.53", "id.resp_p": 53, "proto": "udp", "trans_id": i % 65536,
            "query": f"host{i % 5000}.example", "qtype_name": "A", "rcode_name": "NOERROR",
            "answers": [f"203.0.113.{i % 250 + 1}"], "TTLs": [60.0],
        }
    )  # fmt: skip


TEXT: dict[str, tuple[Callable[[int], str], Callable[[str], object]]] = {
    "dnsmasq": (_dnsmasq, dnsservers._SYSLOG.match),
    "bind": (_bind, dnsservers._BIND_QUERY.search),
    "w3c": (_w3c, lambda line: line.split(" ")),
    "access": (_access, weblogs.access_match),
    "squid": (_squid, weblogs._SQUID.match),
    "zeek-json": (_zeek_json, json.loads),
}
_W3C_HEADER = (
    "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip"
    " cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken\n"
)


def generate_text(name: str, lines: int) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"{name}-{lines}.log"
    if not path.exists():
        make = TEXT[name][0]
        with path.open("w") as out:
            if name == "w3c":
                out.write(_W3C_HEADER)
            for i in range(lines):
                out.write(make(i) + "\n")
    return path


def generate_pcap(packets: int) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"dns-{packets}.pcap"
    if path.exists():
        return path
    query = dpkt.dns.DNS(id=0, qd=[dpkt.dns.DNS.Q(name="host1.example")])
    segment = dpkt.udp.UDP(sport=40000, dport=53, data=bytes(query))
    segment.ulen = len(segment)
    ip = dpkt.ip.IP(src=b"\xc0\x00\x02\x0a", dst=b"\xc6\x33\x64\x35", p=17, data=segment)
    ip.len = len(ip)
    frame = bytearray(bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, data=ip)))
    dns_at = 14 + 20 + 8
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        for i in range(packets):
            struct.pack_into("!H", frame, dns_at, i % 65536)  # transaction id
            struct.pack_into("!H", frame, 14 + 20, 1024 + i % 60000)  # source port
            frame[14 + 15] = i % 250 + 1  # client address, last octet
            writer.writepkt(bytes(frame), ts=1710489600 + i / 1000)
    return path


def pcap_floor(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        for _, buf in dpkt.pcap.Reader(handle):
            dpkt.dns.DNS(dpkt.ethernet.Ethernet(buf).data.data.data)
            count += 1
    return count


def measure(name: str, path: Path, floor: Callable[[], int]) -> None:
    started = time.perf_counter()
    count = floor()
    limit = count / (time.perf_counter() - started)
    case = WORK / f"case-{name}"
    shutil.rmtree(case, ignore_errors=True)
    started = time.perf_counter()
    with CaseStore.open(case) as store:
        report = ingest_files(
            store, "collect logs", [path], choose_logs(name, LogOptions({"year": 2024}))
        )
    seconds = time.perf_counter() - started
    rows = sum(report.rows.values())
    shutil.rmtree(case, ignore_errors=True)
    print(
        f"{name:10s} {rows:>9,} rows in {seconds:6.2f} s = {rows / seconds:>9,.0f} rows/s"
        f" ({path.stat().st_size / 1e6 / seconds:5.1f} MB/s); floor {limit:>10,.0f} lines/s;"
        f" ratio {rows / seconds / limit:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--formats", default=",".join([*TEXT, "pcap"]))
    args = parser.parse_args()
    for name in args.formats.split(","):
        if name == "pcap":
            capture = generate_pcap(args.lines)
            measure(name, capture, lambda c=capture: pcap_floor(c))  # type: ignore[misc]
            continue
        path = generate_text(name, args.lines)
        pattern = TEXT[name][1]

        def floor(p: Path = path, test: Callable[[str], object] = pattern) -> int:
            count = 0
            with p.open(encoding="utf-8") as handle:
                for line in handle:
                    if not line.startswith("#"):
                        test(line.rstrip("\n"))
                        count += 1
            return count

        measure(name, path, floor)


if __name__ == "__main__":
    main()
