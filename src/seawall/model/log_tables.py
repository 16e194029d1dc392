"""The case's tables of network, server and authentication logs (``collect logs``): DNS, flows,
HTTP, web server and proxy requests, TLS, SMB, authentication, other log lines and scans. Part
of the case schema (:mod:`seawall.model.tables`), defined like the others."""

from __future__ import annotations

import pyarrow as pa

from seawall.model.columns import TEXT, TEXT_LIST, UTC_TIME, json_field
from seawall.model.columns import evidence_table as _evidence

DNS = _evidence(
    "dns",
    "DNS queries and answers (Zeek, DNS server logs, pcap, Sysmon 22)",
    pa.field("time", UTC_TIME),
    pa.field("client_ip", TEXT),
    pa.field("client_port", pa.int32()),
    pa.field("server_ip", TEXT),
    pa.field("server_port", pa.int32()),
    pa.field("proto", TEXT),
    pa.field("query", TEXT),
    pa.field("qtype", TEXT),
    pa.field("rcode", TEXT),
    pa.field("answers", TEXT_LIST),
    # what the line or packet records: query, response, or both (a Zeek row), forwarded,
    # cached… (DNS server logs write one line per step)
    pa.field("message", TEXT),
    pa.field("trans_id", pa.int32()),
    pa.field("uid", TEXT),
    # round-trip time of the answer (seconds) and the answers' TTLs (seconds), when recorded
    pa.field("rtt", pa.float64()),
    pa.field("ttls", pa.list_(pa.float64())),
)

CONN = _evidence(
    "conn",
    "network flows (Zeek conn, pcap flows, firewall/flow CSV)",
    pa.field("time", UTC_TIME),
    pa.field("client_ip", TEXT),
    pa.field("client_port", pa.int32()),
    pa.field("server_ip", TEXT),
    pa.field("server_port", pa.int32()),
    pa.field("proto", TEXT),
    pa.field("service", TEXT),
    pa.field("duration", pa.float64()),
    pa.field("bytes_out", pa.int64()),
    pa.field("bytes_in", pa.int64()),
    pa.field("packets_out", pa.int64()),
    pa.field("packets_in", pa.int64()),
    pa.field("state", TEXT),
    pa.field("action", TEXT),
    pa.field("uid", TEXT),
)

HTTP = _evidence(
    "http",
    "HTTP requests seen on the wire or by a proxy (Zeek http, pcap, Squid)",
    pa.field("time", UTC_TIME),
    pa.field("client_ip", TEXT),
    pa.field("client_port", pa.int32()),
    pa.field("server_ip", TEXT),
    pa.field("server_port", pa.int32()),
    pa.field("method", TEXT),
    pa.field("http_host", TEXT),
    pa.field("url", TEXT),
    pa.field("user_agent", TEXT),
    pa.field("referrer", TEXT),
    pa.field("status", pa.int32()),
    pa.field("request_bytes", pa.int64()),
    pa.field("response_bytes", pa.int64()),
    pa.field("content_type", TEXT),
    pa.field("action", TEXT),
    pa.field("uid", TEXT),
    # a proxy's authenticated user and the time it took to serve the request (milliseconds)
    pa.field("user_name", TEXT),
    pa.field("duration_ms", pa.float64()),
)

WEB = _evidence(
    "web",
    "web server access logs (IIS W3C, Apache/nginx, Tomcat)",
    pa.field("time", UTC_TIME),
    pa.field("client_ip", TEXT),
    pa.field("server_ip", TEXT),
    pa.field("server_port", pa.int32()),
    pa.field("vhost", TEXT),
    pa.field("method", TEXT),
    pa.field("uri", TEXT),
    pa.field("query", TEXT),
    pa.field("status", pa.int32()),
    pa.field("bytes_sent", pa.int64()),
    pa.field("bytes_received", pa.int64()),
    pa.field("duration_ms", pa.float64()),
    pa.field("referrer", TEXT),
    pa.field("user_agent", TEXT),
    pa.field("user_name", TEXT),
)

TLS = _evidence(
    "tls",
    "TLS sessions (Zeek ssl, pcap ClientHello): server name, version, certificate",
    pa.field("time", UTC_TIME),
    pa.field("client_ip", TEXT),
    pa.field("client_port", pa.int32()),
    pa.field("server_ip", TEXT),
    pa.field("server_port", pa.int32()),
    pa.field("server_name", TEXT),
    pa.field("version", TEXT),
    pa.field("cipher", TEXT),
    pa.field("subject", TEXT),
    pa.field("issuer", TEXT),
    pa.field("ja3", TEXT),
    pa.field("established", pa.bool_()),
    pa.field("uid", TEXT),
)

SMB = _evidence(
    "smb",
    "SMB tree mappings and file actions on the wire (Zeek smb_mapping, smb_files)",
    pa.field("time", UTC_TIME),
    pa.field("client_ip", TEXT),
    pa.field("client_port", pa.int32()),
    pa.field("server_ip", TEXT),
    pa.field("server_port", pa.int32()),
    pa.field("action", TEXT),
    pa.field("share_path", TEXT),
    pa.field("share_type", TEXT),
    pa.field("file_name", TEXT),
    pa.field("size", pa.int64()),
    pa.field("uid", TEXT),
)

AUTH = _evidence(
    "auth",
    "authentication outside Windows event logs: VPN, webmail, SSO, Entra ID, Zeek"
    " kerberos/ntlm/rdp",
    pa.field("time", UTC_TIME),
    pa.field("user_name", TEXT),
    pa.field("user_domain", TEXT),
    pa.field("source_ip", TEXT),
    pa.field("source_location", TEXT),
    pa.field("target", TEXT),
    pa.field("service", TEXT),
    pa.field("logon_type", TEXT),
    pa.field("method", TEXT),
    pa.field("result", TEXT),
    pa.field("mfa", TEXT),
    pa.field("reason", TEXT),
    pa.field("device", TEXT),
    # Where the source was (when the log says): ISO country code and coordinates, for
    # impossible travel; 'external' (VPN, webmail, SSO, cloud sign-in) or 'internal' (a domain
    # controller, Zeek on the LAN) for correlating credentials used on both sides.
    pa.field("country", TEXT),
    pa.field("latitude", pa.float64()),
    pa.field("longitude", pa.float64()),
    pa.field("scope", TEXT),
)

NETLOG = _evidence(
    "netlog",
    "network log rows no specific table holds (Zeek weird, x509, files and unknown logs):"
    " their columns as JSON, never dropped",
    pa.field("time", UTC_TIME),
    pa.field("log_type", TEXT),
    pa.field("client_ip", TEXT),
    pa.field("client_port", pa.int32()),
    pa.field("server_ip", TEXT),
    pa.field("server_port", pa.int32()),
    pa.field("uid", TEXT),
    json_field("fields"),
)

SCAN = _evidence(
    "scan",
    "port scan results (nmap -oX): one row per address, port and protocol",
    pa.field("time", UTC_TIME),
    pa.field("address", TEXT),
    pa.field("hostname", TEXT),
    pa.field("port", pa.int32()),
    pa.field("proto", TEXT),
    pa.field("state", TEXT),
    pa.field("service", TEXT),
    pa.field("product", TEXT),
)
