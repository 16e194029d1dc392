"""Zeek TSV and JSON logs: values normalised, bad lines warnings at their line, nothing lost."""

from __future__ import annotations

import gzip
import json
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from benchmarks.netplant import DNS_FIELDS, DNS_TYPES

from seawall.collect.base import Batch
from seawall.collect.logs import zeek
from seawall.collect.logs.common import prefetched

from .netlogs import ingest, line_warnings, rows

HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t{path}\n"
    "#open\t2024-03-15-08-00-00\n#fields\t{fields}\n#types\t{types}\n"
)


def dns_line(i: int, query: str = "www.example.com", answers: str = "192.0.2.1") -> str:
    values = [
        f"{1710489600 + i}.250000",
        f"C{i:017d}",
        "192.0.2.10",
        str(40000 + i),
        "198.51.100.53",
        "53",
        "udp",
        str(i),
        "0.001500",
        query,
        "1",
        "C_INTERNET",
        "1",
        "A",
        "0",
        "NOERROR",
        "F",
        "F",
        "T",
        "T",
        "0",
        answers,
        "60.000000" if answers != "-" else "-",
        "F",
    ]
    return "\t".join(values) + "\n"


def header(path: str, fields: list[str], types: list[str]) -> str:
    return HEADER.format(path=path, fields="\t".join(fields), types="\t".join(types))


def test_tsv_values_and_bad_lines(tmp_path: Path) -> None:
    log = tmp_path / "dns.log"
    body = header("dns", DNS_FIELDS, DNS_TYPES)  # lines 1-8
    body += dns_line(1, "WWW.Example.COM.")  # 9
    body += dns_line(2, "tun\\x41nel.example", "(empty)")  # 10: an escape, an empty set
    body += "1710489603.0\tCshort\t192.0.2.10\n"  # 11: too few fields
    body += "\n"  # 12: empty
    body += dns_line(4, "-", "-").replace("\tNOERROR\t", "\t-\t").replace("\t0\t-\tF", "\t-\t-\tF")
    log.write_bytes(body.encode() + b"\xff\xfe" + dns_line(5).encode()[2:] + b"#close\tx\n")
    report = ingest(tmp_path / "case", log)
    assert report.rows == {"dns": 3}
    assert line_warnings(report) == [
        ("dns.log:11", "3 fields where #fields names 24: line skipped"),
        ("dns.log:12", "empty line: line skipped"),
        ("dns.log:14", "not UTF-8: invalid start byte: line skipped"),
    ]
    got = rows(
        tmp_path / "case",
        "SELECT time, client_ip, client_port, server_ip, server_port, proto, query, qtype, rcode,"
        " answers, message, trans_id, rtt, ttls, uid, record_ref FROM dns ORDER BY record_ref::INT",
    )
    assert got[0] == (
        datetime(2024, 3, 15, 8, 0, 1, 250000, UTC),
        "192.0.2.10",
        40001,
        "198.51.100.53",
        53,
        "udp",
        "www.example.com",
        "A",
        "NOERROR",
        ["192.0.2.1"],
        "query+response",
        1,
        0.0015,
        [60.0],
        "C00000000000000001",
        "9",
    )
    assert got[1][6] == "tunanel.example" and got[1][9] == [] and got[1][15] == "10"
    assert got[2][6] is None and got[2][9] is None and got[2][10] == "query"


def test_header_blocks_change_fields_and_blocks_cut_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of two logs one after the other (cat of rotated files), read in tiny blocks."""
    monkeypatch.setattr(zeek, "BLOCK_BYTES", 300)
    conn_fields = [
        "ts",
        "uid",
        "id.orig_h",
        "id.orig_p",
        "id.resp_h",
        "id.resp_p",
        "proto",
        "service",
        "duration",
    ]
    conn_fields += ["orig_bytes", "resp_bytes", "conn_state", "orig_pkts", "resp_pkts"]
    conn_types = "time string addr port addr port enum string interval count count string"
    conn_types += " count count"
    body = header("dns", DNS_FIELDS, DNS_TYPES) + "".join(dns_line(i) for i in range(20))
    body += "#close\t2024\n" + header("conn", conn_fields, conn_types.split())
    body += "1710489600.5\tCc1\t192.0.2.20\t51000\t203.0.113.5\t443\ttcp\tssl\t1.5\t100\t2000"
    body += "\tSF\t5\t6\n"
    body += "1710489601.5\tCc2\t2001:db8::20\t51001\t2001:db8::5\t80\ttcp\t-\t-\t-\t-\tS0\t1\t0\n"
    log = tmp_path / "mixed.log.gz"
    log.write_bytes(gzip.compress(body.encode()))
    report = ingest(tmp_path / "case", log)
    assert report.rows == {"dns": 20, "conn": 2} and report.warning_count == 0
    refs = rows(tmp_path / "case", "SELECT record_ref::INT FROM dns ORDER BY 1")
    assert [r[0] for r in refs] == list(range(9, 29))
    assert rows(
        tmp_path / "case",
        "SELECT client_ip, server_port, service, duration, bytes_out, bytes_in, packets_out,"
        " state, record_ref FROM conn ORDER BY record_ref",
    ) == [
        ("192.0.2.20", 443, "ssl", 1.5, 100, 2000, 5, "SF", "38"),
        ("2001:db8::20", 80, None, None, None, None, 1, "S0", "39"),
    ]


def test_other_logs_and_unknown_logs_are_kept_whole(tmp_path: Path) -> None:
    log = tmp_path / "mine.log"
    body = header(
        "my_custom",
        ["ts", "uid", "id.orig_h", "note", "tags"],
        ["time", "string", "addr", "string", "set[string]"],
    )
    body += "1710489600.0\tCx\t192.0.2.1\ta\\\\b\tx,y\n1710489601.0\t-\t-\t(empty)\t(empty)\n"
    log.write_text(body)
    report = ingest(tmp_path / "case", log)
    assert report.rows == {"netlog": 2}
    got = rows(
        tmp_path / "case",
        "SELECT log_type, client_ip, uid, fields FROM netlog ORDER BY record_ref::INT",
    )
    assert [(g[0], g[1], g[2], json.loads(g[3])) for g in got] == [
        (
            "my_custom",
            "192.0.2.1",
            "Cx",
            {
                "ts": 1710489600.0,
                "uid": "Cx",
                "id.orig_h": "192.0.2.1",
                "note": "a\\b",
                "tags": ["x", "y"],
            },
        ),
        ("my_custom", None, None, {"ts": 1710489601.0, "note": "", "tags": []}),
    ]


def test_smb_auth_and_tls_columns(tmp_path: Path) -> None:
    ids = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]
    idt = ["time", "string", "addr", "port", "addr", "port"]
    conn = "1710489600.0\tCa\t192.0.2.5\t50000\t192.0.2.9\t445\t"
    smb = tmp_path / "smb_mapping.log"
    smb.write_text(
        header(
            "smb_mapping",
            [*ids, "path", "service", "native_file_system", "share_type"],
            [*idt, "string", "string", "string", "string"],
        )
        + conn
        + "\\\\\\\\FS01\\\\C$\t-\tNTFS\tDISK\n"
    )
    krb = tmp_path / "kerberos.log"
    krb.write_text(
        header(
            "kerberos",
            [*ids, "request_type", "client", "service", "success", "error_msg"],
            [*idt, "string", "string", "string", "bool", "string"],
        )
        + conn.replace("445", "88")
        + "TGS\talice/CORP.EXAMPLE\tcifs/fs01\tF\tKDC_ERR_BADOPTION\n"
    )
    ssl = tmp_path / "ssl.log"
    ssl.write_text(
        header(
            "ssl",
            [*ids, "version", "cipher", "server_name", "established"],
            [*idt, "string", "string", "string", "bool"],
        )
        + conn.replace("445", "443")
        + "TLSv13\tTLS_AES_128_GCM_SHA256\tMail.Example.\tT\n"
    )
    report = ingest(tmp_path / "case", smb, krb, ssl)
    assert report.rows == {"smb": 1, "auth": 1, "tls": 1} and report.warning_count == 0
    assert rows(tmp_path / "case", "SELECT action, share_path, share_type FROM smb") == [
        ("TREE_CONNECT", "\\\\FS01\\C$", "DISK")
    ]
    assert rows(
        tmp_path / "case",
        "SELECT user_name, user_domain, source_ip, target, service, method, logon_type, result,"
        " reason FROM auth",
    ) == [
        (
            "alice",
            "CORP.EXAMPLE",
            "192.0.2.5",
            "192.0.2.9",
            "cifs/fs01",
            "kerberos",
            "TGS",
            "failure",
            "KDC_ERR_BADOPTION",
        )
    ]
    assert rows(tmp_path / "case", "SELECT server_name, version, established FROM tls") == [
        ("mail.example", "TLSv13", True)
    ]


def test_json_with_and_without_path(tmp_path: Path) -> None:
    lines = [
        {
            "_path": "dns",
            "ts": 1710489600.5,
            "uid": "Cd",
            "id.orig_h": "192.0.2.7",
            "id.orig_p": 5353,
            "id.resp_h": "192.0.2.53",
            "id.resp_p": 53,
            "proto": "udp",
            "query": "A.Example",
            "qtype_name": "A",
            "rcode_name": "NOERROR",
            "answers": ["192.0.2.80", "b,c.example"],
            "TTLs": [30.0, 60.0],
            "trans_id": 7,
        },
        {
            "ts": "2024-03-15T08:00:02.000001Z",
            "uid": "Cc",
            "id": {"orig_h": "192.0.2.7", "orig_p": 1, "resp_h": "203.0.113.9", "resp_p": 80},
            "proto": "tcp",
            "conn_state": "SF",
            "orig_bytes": 10,
            "resp_bytes": 20,
            "duration": 0.5,
        },
        {
            "ts": 1710489603,
            "uid": "Ch",
            "id.orig_h": "192.0.2.7",
            "id.orig_p": 2,
            "id.resp_h": "203.0.113.9",
            "id.resp_p": 80,
            "method": "GET",
            "host": "WWW.EXAMPLE",
            "uri": "/a?b=1",
            "status_code": 200,
            "user_agent": "curl/8",
            "resp_mime_types": ["text/html"],
        },
        {"ts": 1710489604, "fingerprint": "ab", "certificate.subject": "CN=x", "san.dns": ["x"]},
    ]
    text = "\n".join(json.dumps(x) for x in lines[:2]) + "\n{not json\n[1]\n"
    text += "\n".join(json.dumps(x) for x in lines[2:]) + "\n"
    archive = tmp_path / "zeek.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("logs/all.json", text)
    report = ingest(tmp_path / "case", archive)
    assert report.rows == {"dns": 1, "conn": 1, "http": 1, "netlog": 1}
    assert line_warnings(report) == [
        (
            "all.json:3",
            "not JSON (Expecting property name enclosed in double quotes): line skipped",
        ),
        ("all.json:4", "not a JSON object: line skipped"),
    ]
    case = tmp_path / "case"
    assert rows(
        case, "SELECT query, answers, ttls, trans_id, source_file, record_ref FROM dns"
    ) == [
        (
            "a.example",
            ["192.0.2.80", "b,c.example"],
            [30.0, 60.0],
            7,
            f"{archive}!logs/all.json",
            "1",
        )
    ]
    assert rows(case, "SELECT time, client_ip, server_port, bytes_in, state FROM conn") == [
        (datetime(2024, 3, 15, 8, 0, 2, 1, UTC), "192.0.2.7", 80, 20, "SF")
    ]
    assert rows(case, "SELECT http_host, url, status, content_type FROM http") == [
        ("www.example", "/a?b=1", 200, "text/html")
    ]
    assert rows(case, "SELECT log_type, fields->>'fingerprint' FROM netlog") == [("x509", "ab")]


def test_giant_lines_and_bad_values_cost_only_themselves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zeek, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(zeek, "MAX_LINE_BYTES", 10_000)
    body = header("dns", DNS_FIELDS, DNS_TYPES) + dns_line(1)  # 9
    body += "x" * 50_000 + "\n"  # 10: longer than the bound, in many blocks
    body += dns_line(3).replace("\t40003\t", "\tport?\t")  # 11: a bad port: NULL and a warning
    body += dns_line(4)  # 12
    log = tmp_path / "dns.log"
    log.write_text(body)
    report = ingest(tmp_path / "case", log)
    assert report.rows == {"dns": 3}
    assert line_warnings(report) == [
        ("dns.log:10", "line longer than 10000 bytes: skipped"),
        ("dns.log:11", "id.orig_p 'port?' is not a whole number: left empty"),
    ]
    assert rows(tmp_path / "case", "SELECT record_ref, client_port FROM dns ORDER BY 1") == [
        ("11", None),
        ("12", 40004),
        ("9", 40001),
    ]


def test_prefetch_keeps_order_raises_and_stops() -> None:
    def batches(fail: bool) -> Iterator[Batch]:
        for i in range(5):
            yield Batch("dns", pa.table({"query": [f"q{i}"]}))
        if fail:
            raise RuntimeError("reader bug")

    got = [b.data.column("query")[0].as_py() for b in prefetched(batches(False), 2)]
    assert got == ["q0", "q1", "q2", "q3", "q4"]
    seen = []
    with pytest.raises(RuntimeError, match="reader bug"):
        for batch in prefetched(batches(True), 1):
            seen.append(batch)
    assert len(seen) == 5
    before = threading.active_count()
    stream = prefetched(batches(False), 1)
    next(stream)
    stream.close()  # the consumer stops early: the worker ends
    assert threading.active_count() == before
