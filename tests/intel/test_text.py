"""Plain-text, CSV and Loki/THOR IOC readers, on our own fixtures and on hostile input."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seawall.errors import BadInputError, UsageError
from seawall.intel import text
from seawall.model.indicator import IndicatorType as T
from seawall.model.indicator import IntelDocument
from tests.conftest import TEST_DATA

FIXTURES = TEST_DATA / "text"


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _values(document: IntelDocument) -> list[tuple[T | None, str]]:
    return [(raw.type, raw.value) for raw in document.indicators]


@pytest.mark.parametrize(
    ("name", "format"),
    [
        ("plain-defanged.txt", "text"),
        ("with-header.csv", "csv"),
        ("no-header.csv", "csv"),
        ("hash-iocs.txt", "loki-hash"),
        ("c2-iocs.txt", "loki-c2"),
        ("filename-iocs.txt", "loki-filename"),
        ("abusech-style.csv", "csv"),
        ("bazaar-style.csv", "csv"),
    ],
)
def test_sniff_fixtures(name: str, format: str) -> None:
    assert text.sniff(_fixture(name)) == format
    assert text.read(_fixture(name), name).format == format


@pytest.mark.parametrize(
    ("data", "format"),
    [
        (b"", "text"),
        (b"# only a comment\n\n", "text"),
        (b"evil.example.net\n1.2.3.4\n", "text"),
        (b"http://a.example/x?a=1,2\nevil.example.net\n", "text"),
        (b"indicator;type;comment\nevil.example.net;domain;c2\n", "csv"),
        (b"value\nevil.example.net\n", "csv"),
        (b"evil.example.net\tc2\t80\n1.2.3.4\tscanner\t443\n", "csv"),
        (b"evil.example.net;c2\n1.2.3.4;scanner\n", "loki-c2"),
        (b"\\\\x\\\\[a-z]{1,3}\\.aspx;70\n\\\\y\\\\[0-9]{2,4}\\.exe;60\n", "loki-filename"),
        (b"1.2.3.4," + b"x" * 300_000 + b"\n", "text"),  # over the csv module's field limit
    ],
)
def test_sniff_content(data: bytes, format: str) -> None:
    assert text.sniff(data) == format


def test_plain_defanged_list() -> None:
    document = text.read(_fixture("plain-defanged.txt"), "iocs.txt")
    assert _values(document) == [
        (T.URL, "http://evil.example.net/x"),
        (T.URL, "https://update-check.example.org:443/ver.php?id=7"),
        (T.IPV4, "1.2.3.4"),
        (T.IPV6, "2001:db8::dead:beef"),
        (T.CIDR, "10.10.0.0/16"),
        (T.MD5, "D41D8CD98F00B204E9800998ECF8427E"),
        (T.SHA1, "3395856ce81f2b7382dee72602f798b642f14140"),
        (T.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (T.FILE_NAME, "putty.exe"),
        (T.FILE_NAME, "rar.exe"),
        (T.CVE, "CVE-2021-26855"),
        (T.CVE, "cve-2021-27065"),
        (T.EMAIL, "phish@mail.example.com"),
        (T.REGISTRY, "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"),
        (T.FILE_PATH, "C:\\Users\\Public\\Libraries\\svchost.exe"),
        (T.IPV4, "203.0.113.7"),
    ]
    by_value = {raw.value: raw for raw in document.indicators}
    assert by_value["rar.exe"].description == "staging"
    assert by_value["rar.exe"].location == "iocs.txt:15"
    assert by_value["203.0.113.7"].description == "scanner seen in May"
    assert by_value["putty.exe"].description is None
    assert [(w.location, w.message) for w in document.warnings] == [
        ("iocs.txt:21", "cannot tell what kind of indicator 'this is not an indicator' is")
    ]


def test_plain_crlf_bom_and_long_value_warning() -> None:
    data = b"\xef\xbb\xbfevil.example.net\r\n" + b"x" * 500 + b"\r\n"
    document = text.read(data, "list.txt", "text")
    assert _values(document) == [(T.DOMAIN, "evil.example.net")]
    (warning,) = document.warnings
    assert warning.location == "list.txt:2"
    assert len(warning.message) < 120
    assert "…" in warning.message


def test_csv_with_header() -> None:
    document = text.read(_fixture("with-header.csv"), "feed.csv")
    assert _values(document) == [
        (T.URL, "http://c2.example.net/a,b"),
        (T.DOMAIN, "update.example.com"),
        (T.IPV4, "8.8.4.4"),
        (T.MD5, "44d88612fea8a8f36de82e1278abb02f"),
        (T.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (T.FILE_NAME, "mimikatz.exe"),
        (T.DOMAIN, "svc.example.org"),
        (T.IPV4, "203.0.113.9"),
    ]
    url, domain, ip, *_rest = document.indicators
    assert url.location == "feed.csv:2"
    assert url.confidence == 85
    assert url.first_seen == datetime(2021, 7, 19, 12, 0, tzinfo=UTC)
    assert url.tags == ("apt40", "T1071.001")
    assert url.techniques == ("T1071.001",)
    assert domain.description == 'spear-phishing sender, see "Lure 2"'
    assert domain.confidence == 85  # "high" on the STIX 2.1 scale
    assert domain.first_seen == datetime(2021, 7, 18, tzinfo=UTC)
    assert domain.techniques == ("T1566.001",)
    assert ip.confidence == 70  # 0.7 as a fraction
    assert ip.first_seen == datetime(2021, 7, 19, 12, 0, tzinfo=UTC)  # Unix seconds
    assert document.indicators[-1].location == "feed.csv:11"  # MISP "domain|ip" row
    messages = {(w.location, w.message) for w in document.warnings}
    assert (
        "feed.csv:6",
        "type 'md5' does not fit the value; "
        "'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b785…' read as sha256",
    ) in messages
    assert (
        "feed.csv:8",
        "cannot tell what kind of indicator 'something odd' is (type 'domain')",
    ) in messages
    assert (
        "feed.csv",
        "skipped rows whose type is not an indicator: comment (1)",
    ) in messages
    assert len(document.warnings) == 3


def test_csv_declared_type_wins_when_the_value_fits() -> None:
    data = b"value,type\nevil.com,filename\nsvchost.exe,domain\n1.2.3.4,hash\n"
    document = text.read(data, "t.csv")
    assert _values(document) == [
        (T.FILE_NAME, "evil.com"),
        (T.DOMAIN, "svchost.exe"),
        (T.IPV4, "1.2.3.4"),  # a mismatch is read as what the value is, with a warning
    ]
    (warning,) = document.warnings
    assert warning.location == "t.csv:4"
    assert warning.message == "type 'hash' does not fit the value; '1.2.3.4' read as ipv4"


def test_csv_unknown_type_falls_back_to_detection() -> None:
    document = text.read(b"ioc,ioc_type\nevil.example.net,FileHash-PEHASH\n", "t.csv")
    assert _values(document) == [(T.DOMAIN, "evil.example.net")]
    assert "is not a type seawall knows" in document.warnings[0].message


def test_csv_without_header() -> None:
    document = text.read(_fixture("no-header.csv"), "nh.csv")
    assert _values(document) == [
        (T.DOMAIN, "evil.example.net"),
        (T.IPV4, "198.51.100.23"),
        (T.SHA1, "0123456789abcdef0123456789abcdef01234567"),
    ]
    assert document.indicators[0].description == "C2; seen 2021-07"
    assert document.indicators[1].description == "scanner"
    assert [w.location for w in document.warnings] == ["nh.csv:4"]


def test_csv_bad_cells_are_warnings() -> None:
    data = (
        b"indicator,confidence,last_seen,techniques\n"
        b"evil.example.net,very,yesterday,T1059.001 and T1105\n"
        b"8.8.8.8,nan,,\n"
        b"1.1.1.1,250,2021-07-19 08:00:00,\n"
    )
    document = text.read(data, "t.csv")
    first, second, third = document.indicators
    assert first.confidence is None and first.last_seen is None
    assert first.techniques == ("T1059.001", "T1105")
    assert second.confidence is None
    assert third.confidence == 100
    assert third.last_seen == datetime(2021, 7, 19, 8, 0, tzinfo=UTC)
    assert [w.location for w in document.warnings] == ["t.csv:2", "t.csv:2", "t.csv:3"]


def test_csv_oversized_field_is_a_warning_and_the_rest_is_read() -> None:
    data = b"value,comment\n1.2.3.4," + b"x" * 200_000 + b"\n8.8.8.8,ok\n"
    document = text.read(data, "big.csv")
    assert _values(document) == [(T.IPV4, "8.8.8.8")]
    assert document.warnings[0].location == "big.csv:2"
    assert "unreadable CSV row" in document.warnings[0].message


def test_csv_header_in_a_comment_and_typed_columns() -> None:
    """abuse.ch layout: the header is the last comment line, the value column is named ``url``."""
    document = text.read(_fixture("abusech-style.csv"), "urls.csv")
    assert _values(document) == [
        (T.URL, "http://dl.example.net/a/payload.bin"),
        (T.URL, "http://203.0.113.50:8080/x.ps1"),
    ]
    first = document.indicators[0]
    assert first.location == "urls.csv:6"
    assert first.external_id == "1001"
    assert first.first_seen == datetime(2021, 7, 19, 8, 15, 2, tzinfo=UTC)
    assert first.tags == ("malware_download", "apt40", "T1105")  # "threat" and "tags" columns
    assert first.techniques == ("T1105",)
    assert document.warnings == []


def test_csv_one_indicator_per_typed_column() -> None:
    document = text.read(_fixture("bazaar-style.csv"), "bazaar.csv")
    assert _values(document) == [
        (T.SHA256, "0f5b7b3e0b4d6b4a7c8f4c86ef3a1f0f0b5d3c2e1f0a9b8c7d6e5f4a3b2c1d0e"),
        (T.MD5, "2a2410cef5497cbd3f6c13eaff9619da"),
        (T.FILE_NAME, "update.zip"),
    ]
    assert {raw.location for raw in document.indicators} == {"bazaar.csv:2"}


def test_csv_row_with_type_names_is_data_not_a_header() -> None:
    document = text.read(b"1.2.3.4,ip,scanner\nevil.example.net,domain,c2\n", "t.csv", "csv")
    assert _values(document) == [(T.IPV4, "1.2.3.4"), (T.DOMAIN, "evil.example.net")]
    assert document.indicators[0].description == "ip; scanner"


def test_loki_hash_iocs() -> None:
    document = text.read(_fixture("hash-iocs.txt"), "hash-iocs.txt")
    assert _values(document) == [
        (T.MD5, "2a2410cef5497cbd3f6c13eaff9619da"),
        (T.SHA1, "9e3f7e6697843075de537a8ba83da541aa3f5b2b"),
        (T.MD5, "d41d8cd98f00b204e9800998ecf8427e"),
        (T.SHA256, "0f5b7b3e0b4d6b4a7c8f4c86ef3a1f0f0b5d3c2e1f0a9b8c7d6e5f4a3b2c1d0e"),
    ]
    chopper, no_comment, _empty, staged = document.indicators
    assert chopper.description == "China Chopper variant"
    assert no_comment.description == (
        "APT40 web shells (AA21-200A) "
        "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-200a"
    )
    assert staged.confidence == 70  # THOR's HASH;SCORE;COMMENT
    assert staged.context == {"score": 70}
    assert staged.description == "renamed rar.exe"
    assert [(w.location, w.message) for w in document.warnings] == [
        ("hash-iocs.txt:13", "'zzzz' is not an MD5, SHA-1, SHA-256 or SHA-512")
    ]


def test_loki_c2_iocs() -> None:
    document = text.read(_fixture("c2-iocs.txt"), "c2-iocs.txt")
    assert _values(document) == [
        (T.DOMAIN, "cdn.example.net"),
        (T.IPV4, "203.0.113.77"),
        (T.DOMAIN, "mail-update.example.org"),
        (T.CIDR, "198.51.100.0/24"),
    ]
    descriptions = [raw.description for raw in document.indicators]
    assert descriptions == [
        "C2 over HTTPS",
        "APT40 infrastructure (AA21-200A)",  # the block heading, not the file header
        "defanged in the source",
        "scanning range",
    ]
    assert [w.location for w in document.warnings] == ["c2-iocs.txt:12"]


def test_loki_filename_iocs() -> None:
    document = text.read(_fixture("filename-iocs.txt"), "filename-iocs.txt")
    assert [raw.type for raw in document.indicators] == [T.PATH_REGEX] * 4
    temp, webshell, clamped, no_score = document.indicators
    assert temp.value == r"\\Windows\\Temp\\[^\\]+\.exe"
    assert temp.confidence == 50
    assert temp.context == {
        "score": 50,
        "false_positive_regex": r"\\Windows\\Temp\\(?:mpam|MpSigStub)[^\\]*\.exe",
    }
    assert temp.description == "Suspicious executables in Windows temp folders"
    assert webshell.context == {"score": 75, "false_positive_regex": None}
    assert webshell.description == (
        "APT40 web shells (AA21-200A) "
        "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-200a"
    )
    assert webshell.location == "filename-iocs.txt:9"
    assert clamped.confidence == 100
    assert clamped.context["score"] == 150
    assert no_score.confidence is None
    assert no_score.context == {"score": None, "false_positive_regex": None}
    locations = [(w.location, w.message.split(" ")[0]) for w in document.warnings]
    assert locations == [("filename-iocs.txt:11", "invalid"), ("filename-iocs.txt:12", "score")]


def test_loki_filename_bad_false_positive_regex_is_dropped_with_a_warning() -> None:
    document = text.read(b"\\\\Temp\\\\x\\.exe;60;[broken\n", "f.txt", "loki-filename")
    (raw,) = document.indicators
    assert raw.context == {"score": 60, "false_positive_regex": None}
    assert "false-positive regex ignored" in document.warnings[0].message


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        text.read(b"evil.example.net\n", "x", "yaml")


# --- hostile input ----------------------------------------------------------------------------


def test_invalid_utf8_names_line_and_offset() -> None:
    data = b"evil.example.net\n1.2.3.4\nbad\xff\xfevalue\n8.8.8.8\n"
    with pytest.raises(BadInputError) as caught:
        text.read(data, "iocs.txt")
    assert caught.value.location == "iocs.txt:3"
    assert "line 3" in caught.value.message
    assert "byte offset 28" in caught.value.message


def test_utf16_is_refused_with_advice() -> None:
    data = "evil.example.net\n".encode("utf-16")
    with pytest.raises(BadInputError, match="UTF-16"):
        text.read(data, "iocs.txt", "text")


def test_giant_single_line_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "giant.txt"
    with path.open("wb") as out:
        chunk = b"A" * (1024 * 1024)
        for _ in range(200):
            out.write(chunk)
    data = path.read_bytes()
    started = time.perf_counter()
    with pytest.raises(BadInputError) as caught:
        text.read(data, "giant.txt")
    elapsed = time.perf_counter() - started
    assert "line 1 is 209715200 bytes long; not an indicator list" in caught.value.message
    assert caught.value.location == "giant.txt:1"
    assert elapsed < 2.0


def test_long_line_later_in_the_file_is_located() -> None:
    limit = text.MAX_LINE_BYTES
    ok = b"x" * limit  # exactly at the limit is fine
    data = b"1.2.3.4\n" * 3 + ok + b"\n" + b"y" * (limit + 1) + b"\n8.8.8.8\n"
    with pytest.raises(BadInputError) as caught:
        text.read(data, "f.txt", "text")
    assert caught.value.location == "f.txt:5"
    assert f"line 5 is {limit + 1} bytes long" in caught.value.message
    document = text.read(b"1.2.3.4\n" + ok, "f.txt", "text")
    assert _values(document) == [(T.IPV4, "1.2.3.4")]
