"""Web and proxy logs (our fixtures): IIS with two #Fields blocks, Apache/nginx/Tomcat access
logs with their offsets, Squid native; malformed lines warnings at their line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ..conftest import TEST_DATA
from .netlogs import ingest, line_warnings, rows

DATA = TEST_DATA / "network"
_WEB = (
    "SELECT record_ref::INT, time, client_ip, server_ip, server_port, vhost, method, uri, query,"
    " status, bytes_sent, bytes_received, duration_ms, referrer, user_agent, user_name, host"
    " FROM web ORDER BY 1"
)


def test_iis_field_blocks_in_any_order(tmp_path: Path) -> None:
    report = ingest(tmp_path / "case", DATA / "iis-u_ex240315.log")
    assert report.sources[0].format == "w3c" and report.rows == {"web": 3}
    assert line_warnings(report) == [
        ("iis-u_ex240315.log:7", "5 fields where #Fields names 15: line skipped"),
        ("iis-u_ex240315.log:13", "bad date/time 2024-03-15 09:00:0x: line skipped"),
    ]  # 13 lines: 8 directives, 3 rows, 2 warnings
    got = rows(tmp_path / "case", _WEB)
    assert got[0] == (
        5,
        datetime(2024, 3, 15, 8, 3, 1, tzinfo=UTC),
        "203.0.113.50",
        "192.0.2.80",
        443,
        None,
        "GET",
        "/owa/auth/logon.aspx",
        "replaceCurrent=1",
        200,
        None,
        None,
        15.0,
        None,
        "Mozilla/5.0 (Windows NT 10.0)",
        None,
        None,
    )
    assert got[1][6:9] == ("POST", "/aspnet_client/system_web/shell.aspx", None)
    assert got[1][13] == "https://mail.example/owa" and got[1][15] == "CORP\\alice"
    assert got[2] == (
        12,
        datetime(2024, 3, 15, 9, 0, 1, tzinfo=UTC),
        "203.0.113.52",
        "192.0.2.80",
        80,
        "www.example.com",
        "GET",
        "/index.htm",
        None,
        404,
        1245,
        320,
        3.0,
        None,
        "curl/8.0",
        None,
        "WEB01",
    )


def test_apache_nginx_tomcat(tmp_path: Path) -> None:
    files = [
        DATA / "apache-access.log",
        DATA / "apache-vhost-access.log",
        DATA / "nginx-access.log",
        DATA / "tomcat-localhost_access_log.2024-03-15.txt",
    ]
    report = ingest(tmp_path / "case", *files)
    assert {s.format for s in report.sources} == {"access"}
    assert report.rows == {"web": 10}
    assert line_warnings(report) == [
        ("apache-access.log:5", "not a combined or common access log line: skipped"),
        ("apache-access.log:6", "bad time [15/Mar/2024:09:10:99 +0100]: line skipped"),
        (
            "tomcat-localhost_access_log.2024-03-15.txt:4",
            "not a combined or common access log line: skipped",
        ),
    ]
    got = rows(
        tmp_path / "case",
        "SELECT regexp_extract(source_file, '[^/]+$'), record_ref, time, client_ip, vhost,"
        " server_port, method, uri, query, status, bytes_sent, referrer, user_agent, user_name"
        " FROM web ORDER BY 1, 2",
    )
    apache = [g for g in got if g[0] == "apache-access.log"]
    assert apache[0][2:] == (
        datetime(2024, 3, 15, 8, 10, 11, tzinfo=UTC),
        "203.0.113.60",
        None,
        None,
        "GET",
        "/wp-login.php",
        "redirect_to=%2F",
        200,
        4521,
        None,
        "Mozilla/5.0 (X11; Linux x86_64)",
        None,
    )
    assert apache[1][12:] == ("python-requests/2.31", "bob")
    assert apache[2][6:8] == (None, "\\x16\\x03\\x01\\x02\\x00\\x01")  # junk kept in uri
    assert apache[3][6:8] == ("GET", '/say "hi"')
    vhost = next(g for g in got if g[0] == "apache-vhost-access.log")
    assert vhost[2:8] == (
        datetime(2024, 3, 15, 14, 11, tzinfo=UTC),
        "203.0.113.64",
        "www.example.com",
        443,
        "GET",
        "/cgi-bin/test.cgi",
    )
    tomcat = [g for g in got if g[0].startswith("tomcat")]
    assert [(g[6], g[7], g[8], g[9], g[10], g[13]) for g in tomcat] == [
        ("GET", "/manager/html", None, 401, 2473, None),
        ("POST", "/manager/text/deploy", "path=/cmd", 200, 52, "tomcat"),
        ("GET", "/cmd/cmd.jsp", "c=whoami", 200, None, None),
    ]
    nginx = [g for g in got if g[0] == "nginx-access.log"]
    assert [(g[3], g[6], g[12]) for g in nginx] == [
        ("198.51.100.70", "GET", "Go-http-client/2.0"),
        ("198.51.100.71", "HEAD", "masscan/1.3"),
    ]


def test_squid_native(tmp_path: Path) -> None:
    report = ingest(tmp_path / "case", DATA / "squid-access.log")
    assert report.sources[0].format == "squid" and report.rows == {"http": 3}
    assert line_warnings(report) == [
        ("squid-access.log:4", "not a Squid native access log line: skipped")
    ]
    assert rows(
        tmp_path / "case",
        "SELECT time, client_ip, server_ip, server_port, method, http_host, url, status,"
        " response_bytes, content_type, action, user_name, duration_ms FROM http ORDER BY time",
    ) == [
        (
            datetime(2024, 3, 15, 8, 0, 0, 123000, UTC),
            "192.0.2.100",
            "203.0.113.10",
            None,
            "GET",
            "www.example.com",
            "http://www.example.com/index.html",
            200,
            4110,
            "text/html",
            "TCP_MISS",
            None,
            180.0,
        ),
        (
            datetime(2024, 3, 15, 8, 0, 1, 456000, UTC),
            "192.0.2.101",
            "203.0.113.11",
            443,
            "CONNECT",
            "files.example.net",
            "files.example.net:443",
            200,
            5120,
            None,
            "TCP_TUNNEL",
            "alice",
            35.0,
        ),
        (
            datetime(2024, 3, 15, 8, 0, 2, tzinfo=UTC),
            "192.0.2.102",
            None,
            None,
            "GET",
            "blocked.example",
            "http://blocked.example/",
            403,
            3900,
            "text/html",
            "TCP_DENIED",
            None,
            0.0,
        ),
    ]


def test_a_byte_order_mark_does_not_hide_the_format(tmp_path: Path) -> None:
    log = tmp_path / "u_ex.log"
    log.write_bytes(b"\xef\xbb\xbf" + (DATA / "iis-u_ex240315.log").read_bytes())
    report = ingest(tmp_path / "case", log)
    assert report.sources[0].format == "w3c" and report.rows == {"web": 3}
