"""`seawall entities`: the machines, addresses and accounts the collected evidence names, as
correlation sees them (:mod:`seawall.entities`)."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from seawall.cli.output import JSON_OPTION, Table, emit, open_case
from seawall.errors import UsageError


def _when(item: dict[str, Any]) -> str:
    first, last = item.get("first_seen"), item.get("last_seen")
    if not first:
        return ""
    return f"{first[:16]} → {last[:16]}" if last and last[:16] != first[:16] else first[:16]


def _links_table(links: list[dict[str, Any]]) -> Table:
    table = Table(title="Links", title_justify="left")
    for column in (
        "kind",
        "source",
        "target",
        "account",
        "detail",
        "count",
        "seen",
        "first record",
    ):
        table.add_column(column, overflow="fold")
    for link in links:
        table.add_row(
            link["kind"],
            link["source"],
            link["target"],
            link["account"] or "",
            link["detail"] or "",
            f"{link['count']:,}",
            _when(link),
            f"{link['source_file']}:{link['record_ref']}" if link["source_file"] else "",
        )
    return table


def _render_overview(console: Console, payload: dict[str, Any]) -> None:
    table = Table(title=f"Hosts ({payload['known_hosts']:,})", title_justify="left")
    for column in ("host", "names", "addresses", "seen as"):
        table.add_column(column, overflow="fold")
    for host in payload["hosts"]:
        table.add_row(
            host["host"],
            ", ".join(n for n in host["names"] if n != host["host"]),
            ", ".join(host["addresses"]),
            ", ".join(host["seen_as"]),
        )
    console.print(table)
    accounts = Table(title=f"Accounts ({len(payload['accounts']):,})", title_justify="left")
    for column in ("account", "spellings", "SIDs", "hosts"):
        accounts.add_column(column, overflow="fold")
    for item in payload["accounts"]:
        if item["local"]:
            continue
        accounts.add_row(
            escape(item["account"]),
            escape(", ".join(item["spellings"])),
            ", ".join(item["sids"]),
            f"{len(item['hosts']):,}",
        )
    console.print(accounts)
    console.print(
        "Links: "
        + ", ".join(f"{k['kind']} {k['observations']:,}" for k in payload["links"])
        + " [dim](machine accounts of a host's own, such as SYSTEM, not listed)[/]"
    )


def _render_host(console: Console, payload: dict[str, Any]) -> None:
    inferred = " (inferred)" if payload["inferred"] else ""
    console.print(
        f"[bold]{escape(payload['host'])}[/]{inferred}: {escape(', '.join(payload['names']))}"
    )
    for reason in payload["reasons"]:
        console.print(f"  · {escape(reason['text'])}")
    table = Table(title="Addresses", title_justify="left")
    for column in ("address", "name", "seen as", "count", "seen", "first record"):
        table.add_column(column, overflow="fold")
    for item in payload["addresses"]:
        table.add_row(
            item["address"],
            item["name"],
            item["seen_as"],
            f"{item['count']:,}",
            _when(item),
            f"{item['source_file']}:{item['record_ref']}" if item["source_file"] else "",
        )
    console.print(table)
    names = {
        f"{a['domain']}\\{a['name']}" if a["domain"] else a["name"] for a in payload["accounts"]
    }
    console.print(f"Accounts seen on it: {escape(', '.join(sorted(names))) or 'none'}")
    console.print(_links_table(payload["links"]))


def _render_account(console: Console, payload: dict[str, Any]) -> None:
    inferred = " (inferred)" if payload["inferred"] else ""
    console.print(f"[bold]{escape(payload['account'])}[/]{inferred}")
    for reason in payload["reasons"]:
        console.print(f"  · {escape(reason['text'])}")
    sids = sorted({s["sid"] for s in payload["seen"] if s["sid"]})
    upns = sorted({s["upn"] for s in payload["seen"] if s["upn"]})
    console.print(
        f"  SIDs: {', '.join(sids) or 'none seen'}; UPNs: {', '.join(upns) or 'none seen'}"
    )
    console.print(f"  hosts: {escape(', '.join(payload['hosts'])) or 'none'}")
    console.print(_links_table(payload["links"]))


def entities(
    ctx: typer.Context,
    host: str | None = typer.Option(
        None, "--host", help="One machine, by any name or address it goes by."
    ),
    account: str | None = typer.Option(
        None, "--account", help="One account: DOMAIN\\name, name@domain or name."
    ),
    limit: int = typer.Option(50, "--limit", help="Links listed at most (the busiest first)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Hosts, addresses, accounts and links the collected evidence names."""
    from seawall.entities.resolve import Identities
    from seawall.entities.view import account_view, host_view, overview

    if host is not None and account is not None:
        raise UsageError("give --host or --account, not both")
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    with open_case(ctx, create=False) as store:
        identities = Identities.load(store)
        if host is not None:
            payload = host_view(store, identities, host, limit)
            render = _render_host
        elif account is not None:
            payload = account_view(store, identities, account, limit)
            render = _render_account
        else:
            payload = overview(store, identities)
            render = _render_overview
    emit(as_json, payload, lambda console: render(console, payload))
