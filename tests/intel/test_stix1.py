"""STIX 1.x reader: CISA's published XML, our own small fixtures, and hostile XML."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from seawall.errors import BadInputError
from seawall.intel import stix1, stix2
from seawall.model.indicator import IndicatorType as T
from seawall.model.indicator import IntelDocument
from tests.conftest import TEST_DATA, shared

FIXTURES = TEST_DATA / "stix1"

_HEAD = (
    '<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1"'
    ' xmlns:indicator="http://stix.mitre.org/Indicator-2"'
    ' xmlns:cybox="http://cybox.mitre.org/cybox-2"'
    ' xmlns:DomainNameObj="http://cybox.mitre.org/objects#DomainNameObject-1"'
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.2">'
)


def _read(name: str) -> IntelDocument:
    return stix1.read((FIXTURES / name).read_bytes(), name)


def _pairs(doc: IntelDocument) -> list[tuple[T | None, str]]:
    return [(raw.type, raw.value) for raw in doc.indicators]


def _domain(value: str) -> str:
    return (
        '<cybox:Object><cybox:Properties xsi:type="DomainNameObj:DomainNameObjectType">'
        f"<DomainNameObj:Value>{value}</DomainNameObj:Value></cybox:Properties></cybox:Object>"
    )


# -- real data ---------------------------------------------------------------------------------


def test_cisa_aa26_204a_xml() -> None:
    path = shared("advisories/cisa-stix/AA26-204A.stix_.xml")
    doc = stix1.read(path.read_bytes(), path.name)
    assert doc.format == "stix1"
    assert doc.warnings == []
    assert doc.title is not None and doc.title.startswith("AA26-204A Russian State-Supported")
    assert doc.producer == "CISA"
    assert Counter(raw.type for raw in doc.indicators) == {T.DOMAIN: 18, T.IPV4: 9}
    first = doc.indicators[0]
    assert first.value == "i.emailanalytics.com.ua"
    assert first.location == f"{path.name}:CISA:Indicator-75101c8b-09a8-4f6b-8ec8-4c85e8593272"
    assert first.external_id == "CISA:Indicator-75101c8b-09a8-4f6b-8ec8-4c85e8593272"
    assert first.tags == ("Domain Watchlist",)
    assert first.first_seen == first.last_seen == datetime(2026, 1, 5)
    # Its 47 TTPs are top-level only (no indicator points at one): document techniques.
    assert {"T1557", "T1597.002", "T1027.010"} <= set(doc.techniques)
    assert all(raw.techniques == () for raw in doc.indicators)


def test_stix1_and_stix2_editions_of_aa26_204a_agree() -> None:
    xml = shared("advisories/cisa-stix/AA26-204A.stix_.xml")
    js = shared("advisories/cisa-stix/AA26-204A.stix_.json")
    from_xml = stix1.read(xml.read_bytes(), xml.name)
    from_json = stix2.read(js.read_bytes(), js.name)

    def pairs(doc: IntelDocument) -> set[tuple[T | None, str]]:
        return {
            (raw.type, raw.value.strip().lower()) for raw in doc.indicators if raw.type != T.CVE
        }

    assert pairs(from_xml) == pairs(from_json)
    assert len(pairs(from_xml)) == 27
    assert from_xml.title == from_json.title
    # The JSON edition has two attack-patterns the XML edition lacks (T1027, T1027.017).
    assert set(from_json.techniques) - set(from_xml.techniques) == {"T1027", "T1027.017"}
    assert set(from_xml.techniques) <= set(from_json.techniques)


# -- our fixtures ------------------------------------------------------------------------------


SHA512 = (
    "8d0f1a3c5e7b9d2f4a6c8e1b3d5f7a9c2e4b6d8f0a2c4e6b8d1f3a5c7e9b2d4f"
    "6a8c0e2b4d6f8a1c3e5b7d9f2a4c6e8b0d2f4a6c8e1b3d5f7a9c2e4b6d8f0a"
)


def test_file_object_hashes_names_and_indicated_ttp() -> None:
    doc = _read("file-ttp.xml")
    assert doc.warnings == []
    assert doc.title == "Test: web shell dropper"
    assert doc.producer == "seawall-tests"
    assert _pairs(doc) == [
        (T.MD5, "3B0F2D1E5A4C6B8D7E9F1A2B3C4D5E6F"),  # as written: normalising is not ours
        (T.SHA1, "6e1a9c0b2d4f6a8c1e3b5d7f9a2c4e6b8d0f1a3c"),
        (T.SHA256, "4f9a1c3e5b7d9f2a4c6e8b0d2f4a6c8e1b3d5f7a9c2e4b6d8f0a2c4e6b8d0f1a"),
        (T.SHA512, SHA512),
        (T.SSDEEP, "1536:Xk3Lm9Qp2Zr7Tn4Vw8Yb1Hc6Jd0Fg5Ks:Xk3Lm9Qp2Zr7Tn4"),
        (T.FILE_NAME, "update_helper.exe"),
        (T.FILE_PATH, "C:\\Users\\Public\\update_helper.exe"),
    ]  # fmt: skip
    raw = doc.indicators[0]
    assert raw.title == "Dropper that installs a JSP web shell"
    assert raw.description == "Seen on two internet-facing servers."
    assert raw.confidence == 85  # High
    assert raw.valid_from == datetime(2021, 3, 1)
    assert raw.valid_until == datetime(2021, 9, 1, 10)  # 12:00+02:00 as naive UTC
    assert (raw.first_seen, raw.last_seen) == (
        datetime(2021, 3, 15, 8, 30),
        datetime(2021, 4, 2, 10),
    )
    # From the TTP's title, and from an attack.mitre.org URL in its attack pattern.
    assert raw.techniques == ("T1505.003", "T1059.001")
    assert raw.tags == ("File Hash Watchlist", "capec:CAPEC-650", "malware:China Chopper")
    # The ICS-only TTP is a valid ATT&CK id, but not an Enterprise technique.
    assert doc.techniques == ["T1059.001", "T1505.003"]


def test_network_objects_lists_and_ranges() -> None:
    doc = _read("network.xml")
    assert _pairs(doc) == [
        (T.URL, "http://files.example.net/update/kb5031356.zip"),
        (T.DOMAIN, "files.example.net"),
        (T.IPV4, "203.0.113.10"),
        (T.IPV4, "203.0.113.11"),
        (T.IPV4, "203.0.113.12"),
        (T.CIDR, "198.51.100.0/24"),
        (T.IPV6, "2001:db8::5"),
        (T.EMAIL, "billing@mail.example.org"),
        (T.DOMAIN, "a.example.com"),
        (T.DOMAIN, "b.example.com"),
        (T.DOMAIN, "relay.example.org"),
        (T.URL, "https://relay.example.org/login.php"),
    ]
    confidence = {raw.value: raw.confidence for raw in doc.indicators}
    assert confidence["http://files.example.net/update/kb5031356.zip"] == 70  # a number
    assert confidence["files.example.net"] == 15  # Low
    assert len(doc.warnings) == 1
    warning = doc.warnings[0]
    assert warning.location == "network.xml:example:Indicator-addresses"
    assert "InclusiveBetween" in warning.message and "192.0.2.1, 192.0.2.50" in warning.message


RUN_KEY = "Software\\Microsoft\\Windows\\CurrentVersion\\Run"


def test_idref_observables_composites_and_host_objects() -> None:
    doc = _read("host-idref.xml")
    assert _pairs(doc) == [
        (T.EMAIL, "hr-team@mail.example.com"),
        (T.EMAIL, "bounce@relay.example.com"),
        (T.EMAIL_SUBJECT, "Annual leave policy 2021"),
        (T.FILE_NAME, "leave_policy.doc"),  # a related object (the attachment)
        (T.MUTEX, "Global\\MSCTF.Shared.MUTEX.ZRX"),
        (T.REGISTRY, f"HKEY_CURRENT_USER\\{RUN_KEY}\\OneDriveUpdate"),
        # Only the observable no indicator referenced is read on its own.
        (T.FILE_NAME, "svchost.exe"),
        (T.FILE_PATH, "C:\\Windows\\Temp\\svchost.exe"),
    ]  # fmt: skip
    by_value = {raw.value: raw for raw in doc.indicators}
    phish = by_value["Annual leave policy 2021"]
    assert phish.location == "host-idref.xml:example:Indicator-phish"
    assert phish.techniques == ("T1566.001",)
    assert phish.confidence == 50  # Medium
    mutex = by_value["Global\\MSCTF.Shared.MUTEX.ZRX"]
    assert mutex.location == "host-idref.xml:example:Indicator-mutex"
    assert mutex.title == "Implant persistence"  # inherited from the composite indicator
    registry = next(raw for raw in doc.indicators if raw.type == T.REGISTRY)
    assert registry.title == "Run key"
    assert registry.context["pattern_and"] is True  # one half of an AND composition
    assert by_value["svchost.exe"].context["stix1_section"] == "Observables"
    messages = {w.location.split(":", 2)[2]: w.message for w in doc.warnings}
    assert messages == {
        "Indicator-composite": (
            "confidence 'Very sure' is neither High/Medium/Low nor 0-100: ignored"
        ),
        "Indicator-regkey": (
            "observable idref 'example:Observable-missing' is not defined in this package"
        ),
        "Indicator-refs": (
            "File_Name with condition 'Contains' ('tmp') is not an exact value: not read"
        ),
        "Indicator-conn": "cybox object type 'NetworkConnectionObjectType' is not read",
    }


def test_reference_cycles_and_shared_references_terminate() -> None:
    cycle = (
        '<cybox:Observable id="a"><cybox:Observable_Composition operator="OR">'
        '<cybox:Observable idref="b"/></cybox:Observable_Composition></cybox:Observable>'
        '<cybox:Observable id="b"><cybox:Observable_Composition operator="OR">'
        '<cybox:Observable idref="a"/><cybox:Observable idref="leaf"/>'
        "</cybox:Observable_Composition></cybox:Observable>"
        f'<cybox:Observable id="leaf">{_domain("leaf.example")}</cybox:Observable>'
    )
    # Each level references the next one twice: 2**40 paths if read naively.
    levels = (
        "".join(
            f'<cybox:Observable id="l{i}"><cybox:Observable_Composition operator="OR">'
            f'<cybox:Observable idref="l{i + 1}"/><cybox:Observable idref="l{i + 1}"/>'
            "</cybox:Observable_Composition></cybox:Observable>"
            for i in range(20)
        )
        + f'<cybox:Observable id="l20">{_domain("deep.example")}</cybox:Observable>'
    )
    xml = (
        f"{_HEAD}<stix:Observables>{cycle}{levels}</stix:Observables><stix:Indicators>"
        '<stix:Indicator id="i1"><indicator:Observable idref="a"/></stix:Indicator>'
        '<stix:Indicator id="i2"><indicator:Observable idref="l0"/></stix:Indicator>'
        "</stix:Indicators></stix:STIX_Package>"
    )
    doc = stix1.read(xml.encode(), "cycle.xml")
    assert _pairs(doc) == [(T.DOMAIN, "leaf.example"), (T.DOMAIN, "deep.example")]


def test_composite_children_sharing_an_observable_each_get_it() -> None:
    xml = (
        f'{_HEAD}<stix:Observables><cybox:Observable id="x">{_domain("shared.example")}'
        "</cybox:Observable></stix:Observables><stix:Indicators>"
        '<stix:Indicator id="parent"><indicator:Composite_Indicator_Expression operator="OR">'
        '<indicator:Indicator id="a"><indicator:Observable idref="x"/></indicator:Indicator>'
        '<indicator:Indicator id="b"><indicator:Observable idref="x"/></indicator:Indicator>'
        '<indicator:Indicator idref="a"/>'
        "</indicator:Composite_Indicator_Expression></stix:Indicator>"
        "</stix:Indicators></stix:STIX_Package>"
    )
    doc = stix1.read(xml.encode(), "shared.xml")
    assert [(raw.value, raw.location) for raw in doc.indicators] == [
        ("shared.example", "shared.xml:a"),
        ("shared.example", "shared.xml:b"),
    ]
    assert doc.warnings == []


def test_quadratic_reference_bomb_is_refused() -> None:
    count = 600
    observables = "".join(
        f'<cybox:Observable id="p{i}">{_domain(f"d{i}.example")}</cybox:Observable>'
        for i in range(count)
    )
    composition = (
        '<cybox:Observable id="all"><cybox:Observable_Composition operator="OR">'
        + "".join(f'<cybox:Observable idref="p{i}"/>' for i in range(count))
        + "</cybox:Observable_Composition></cybox:Observable>"
    )
    indicators = "".join(
        f'<stix:Indicator id="j{i}"><indicator:Observable idref="all"/></stix:Indicator>'
        for i in range(count)
    )
    xml = (
        f"{_HEAD}<stix:Observables>{observables}{composition}</stix:Observables>"
        f"<stix:Indicators>{indicators}</stix:Indicators></stix:STIX_Package>"
    )
    with pytest.raises(BadInputError, match="reference bomb"):
        stix1.read(xml.encode(), "bomb.xml")


# -- hostile and malformed input ---------------------------------------------------------------

_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + ']>\n<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1">&lol9;</stix:STIX_Package>'
)


@pytest.fixture
def listener() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every request, to prove nothing is ever fetched."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<!ENTITY leak 'x'>")

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


def _xxe(system_id: str) -> bytes:
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "' + system_id + '"> ]>\n'
        '<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1">'
        "<stix:STIX_Header><stix:Title>&xxe;</stix:Title></stix:STIX_Header></stix:STIX_Package>"
    ).encode()


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(BadInputError, match="DTD") as caught:
        stix1.read(_LAUGHS.encode(), "laughs.xml")
    assert caught.value.location == "laughs.xml:2"


def test_xxe_to_a_local_file_is_refused() -> None:
    with pytest.raises(BadInputError, match="DTD"):
        stix1.read(_xxe("file:///etc/passwd"), "xxe.xml")


def test_xxe_over_http_is_refused_without_a_request(listener: tuple[str, list[str]]) -> None:
    url, requests = listener
    with pytest.raises(BadInputError, match="XXE"):
        stix1.read(_xxe(f"{url}/evil.dtd"), "xxe-http.xml")
    external_dtd = (
        f'<?xml version="1.0"?>\n<!DOCTYPE stix:STIX_Package SYSTEM "{url}/stix.dtd">\n'
        '<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1"/>'
    ).encode()
    with pytest.raises(BadInputError, match="DTD"):
        stix1.read(external_dtd, "external-dtd.xml")
    assert requests == []


def test_any_dtd_is_refused() -> None:
    harmless = (
        b'<?xml version="1.0"?>\n<!DOCTYPE stix:STIX_Package>\n'
        b'<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1"/>'
    )
    with pytest.raises(BadInputError, match="document type declaration"):
        stix1.read(harmless, "dtd.xml")


@pytest.mark.parametrize(
    ("data", "expected", "location"),
    [
        (
            b'<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1">\n<stix:Indicators>',
            "line 2",
            "x.xml:2",
        ),
        (b"<rss><channel/></rss>", "not a STIX 1.x package (root is <rss>)", "x.xml"),
        (b'<STIX_Package xmlns="urn:other"/>', "not a STIX 1.x package", "x.xml"),
        (b'{"type": "bundle"}', "not well-formed XML", "x.xml:1"),
        (b"<a>\xff\xfe</a>", "not well-formed XML", "x.xml:1"),
        (b"", "not well-formed XML", "x.xml:1"),
    ],
    ids=["truncated", "rss", "other-namespace", "json", "bad-bytes", "empty"],
)
def test_malformed_or_foreign_xml_is_bad_input(data: bytes, expected: str, location: str) -> None:
    with pytest.raises(BadInputError) as caught:
        stix1.read(data, "x.xml")
    assert expected in caught.value.message
    assert caught.value.location == location
