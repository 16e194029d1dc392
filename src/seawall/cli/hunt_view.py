"""How a hunt's findings read for a person: the summary first, then the detail.

A hunt of a real host makes hundreds of findings; printed one table row each they run to
thousands of lines with no totals. The text view therefore opens with what a responder needs
before any row: whether the hunt is complete (a detection in error means it may have missed
what it looked for, and says so before anything else), the findings by severity, by detection
and by host, and the detections that did not run and why. The rows follow, then the coverage,
and a closing line repeats the totals at the bottom of a long scroll.

Renderers read only :class:`~seawall.model.finding.ResultDocument` (or the findings stored in
the case, for ``seawall findings``), like every other view. Each finding shows seawall's verdict,
its reasons, how it was suppressed (the allowlist entry as ``file:line``, or the judgement) and
the analyst's review when there is one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from seawall.cli.incident_view import render_incidents
from seawall.cli.output import DUAL_USE, DUAL_USE_MARK, VERDICT_STYLE, Table, plural

if TYPE_CHECKING:
    from seawall.model.finding import CoverageEntry, Finding, ResultDocument, Suppression

SEVERITY_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}
_SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
SIGMA = "sigma."  # coverage ids of Sigma rules (seawall.detect.sigma.hunt)
_STATUS_STYLE = {
    "ran": "green",
    "partial": "bold yellow",
    "not-run": "yellow",
    "not-evaluable": "yellow",
    "error": "red",
}


def _counts(counter: Counter[str], order: Sequence[str] = ()) -> str:
    """``2 high, 1 medium``: in ``order`` when given, else most common first."""
    if order:
        items = [(key, counter[key]) for key in order if counter[key]]
    else:
        items = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count:,} {escape(key)}" for key, count in items)


def _first_line(text: str | None) -> str:
    """A coverage reason's first line (a YARA compiler error goes on with a code frame)."""
    return (text or "").strip().splitlines()[0] if text and text.strip() else ""


def is_dual_use(finding: Finding) -> bool:
    """Whether the finding's indicator is a known-good binary's hash (tagged at import)."""
    return any(
        item.indicator is not None and DUAL_USE in item.indicator.tags for item in finding.evidence
    )


def render_summary(
    console: Console,
    findings: Sequence[Finding],
    coverage: Sequence[CoverageEntry],
    machines: Mapping[str, str] | None = None,
) -> None:
    """The totals a responder reads first; ``coverage`` is empty for stored findings;
    ``machines`` the hosts the incidents identified (:func:`identified_hosts`)."""
    failed = [entry for entry in coverage if entry.status == "error"]
    partial = [entry for entry in coverage if entry.status == "partial"]
    if failed:
        console.print(
            f"[bold red]INCOMPLETE:[/] {plural(len(failed), 'detection')} failed, so this hunt"
            " may have missed what it looked for (exit 5):"
        )
        for entry in failed:
            console.print(
                f"  [red]✗[/] {escape(entry.detection_id)}: {escape(_first_line(entry.reason))}"
            )
    if partial:
        console.print(
            f"[bold yellow]INCOMPLETE:[/] {plural(len(partial), 'detection')} could not judge"
            " all of its input (exit 5):"
        )
        for entry in partial:
            console.print(
                f"  [yellow]![/] {escape(entry.detection_id)}: {escape(_first_line(entry.reason))}"
            )
    open_findings = [f for f in findings if not f.dismissed]
    suppressed = sum(1 for f in findings if f.suppressed)
    reviewed = len(findings) - len(open_findings) - suppressed
    aside = [f"{suppressed:,} suppressed, with the reason"] if suppressed else []
    if reviewed:
        aside.append(f"{reviewed:,} reviewed as false-positive or benign")
    kept = f" ({'; '.join(aside)})" if aside else ""
    if not open_findings:
        console.print(f"[bold]No findings to review[/]{kept}.")
    else:
        console.print(f"[bold]{plural(len(open_findings), 'finding')} to review[/]{kept}")
        severities = Counter(str(f.severity) for f in open_findings)
        console.print(f"  by severity: {_counts(severities, _SEVERITY_ORDER)}")
        console.print(f"  by detection: {_counts(Counter(f.detection_id for f in open_findings))}")
        hosts = Counter(_host_name(f.host, machines) or "(no host)" for f in open_findings)
        touched = ", ".join(
            f"{escape(host)} ({count:,})"
            for host, count in sorted(hosts.items(), key=lambda item: (-item[1], item[0]))
        )
        console.print(f"  {plural(len(hosts), 'host')} touched: {touched}")
        dual = sum(1 for f in open_findings if is_dual_use(f))
        if dual:
            console.print(
                f"  {plural(dual, 'finding')} on dual-use hashes (legitimate tools the actors"
                " used): judged by location"
            )
    if coverage:
        statuses = Counter(entry.status for entry in coverage)
        console.print(
            f"[bold]Detections:[/] {len(coverage):,} selected,"
            f" {statuses['ran'] + statuses['partial']:,} ran ({statuses['partial']:,} partly),"
            f" {statuses['not-run']:,} not run, {statuses['not-evaluable']:,} not evaluable"
            f" (telemetry missing), {statuses['error']:,} failed"
        )
        for entry in coverage:
            if entry.detection_id.startswith(SIGMA):
                continue  # thousands of rules: grouped by reason in the Sigma table
            if entry.status in ("not-run", "not-evaluable"):
                label = "not run" if entry.status == "not-run" else "not evaluable"
                console.print(
                    f"  {label}: {escape(entry.detection_id)}: {escape(_first_line(entry.reason))}"
                )


def _host_name(host: str | None, machines: Mapping[str, str] | None) -> str | None:
    """The host the incidents identified ``host`` as, else ``host`` as given."""
    return (machines or {}).get(host, host) if host else host


def _host_text(host: str | None, machines: Mapping[str, str] | None) -> str:
    """`` on web01.corp.example (as 10.20.0.10)``: the identified host, with the name the
    evidence gave when it reads differently."""
    if not host:
        return ""
    name = _host_name(host, machines) or host
    given = f" (as {escape(host)})" if name.lower() != host.lower() else ""
    return f" on {escape(name)}{given}"


def render_findings(
    console: Console,
    findings: Sequence[Finding],
    title: str = "Findings",
    machines: Mapping[str, str] | None = None,
) -> None:
    """Every finding as a short block: a heading line, what matched, then one line per reason.

    Blocks rather than a table: a table's narrow columns folded each reason over many lines
    (a 300-finding hunt ran to 2,196 lines), and a block keeps each reason on a line of its
    own that a reader can scan and grep.
    """
    console.print(f"[bold]{title}[/] ({len(findings):,})")
    for finding in findings:
        style = "dim" if finding.dismissed else SEVERITY_STYLE[finding.severity]
        state = " [dim](suppressed)[/]" if finding.suppressed else ""
        techniques = " ".join(finding.techniques)
        host = _host_text(finding.host, machines)
        verdict = finding.verdict.value
        console.print(
            f"[{style}]{finding.severity}[/]{state} {escape(finding.detection_id)}{host}"
            f"  [{VERDICT_STYLE[verdict]}]{verdict}[/] {escape(techniques)}"
            f"  [dim]{finding.finding_id[:12]}[/]"
        )
        console.print(f"  {escape(finding.summary)}")
        if is_dual_use(finding):
            console.print(f"  [magenta]· {DUAL_USE_MARK}[/]")
        for reason in finding.reasons:
            if reason.text != finding.summary:  # a one-reason finding's summary is its reason
                console.print(f"  · {escape(reason.text)}")
        if finding.suppression is not None:
            console.print(
                f"  [dim]· suppressed: {escape(suppression_text(finding.suppression))}[/]"
            )
        if finding.review is not None:
            review = finding.review
            console.print(
                f"  [{VERDICT_STYLE[review.verdict.value]}]· reviewed {review.verdict.value}[/]"
                f" by {escape(review.analyst)} at {review.at:%Y-%m-%d %H:%M}Z:"
                f" {escape(review.reason)}"
            )


def suppression_text(suppression: Suppression) -> str:
    """``allowlisted by FILE:LINE: reason`` (or the judgement), and when it was applied."""
    if suppression.kind == "judgement":
        return suppression.reason
    text = f"allowlisted by {suppression.entry}: {suppression.reason}"
    if suppression.applied is not None:
        text += f" (triage apply, {suppression.applied:%Y-%m-%d %H:%M}Z)"
    if suppression.expires is not None:
        text += f"; expires {suppression.expires:%Y-%m-%d %H:%M}Z"
    return text


def coverage_table(coverage: Iterable[CoverageEntry]) -> Table:
    table = Table(title="Coverage", title_justify="left")
    for column in ("detection", "techniques", "status", "findings", "reason / notes"):
        table.add_column(column, overflow="fold")
    for entry in coverage:
        if entry.detection_id.startswith(SIGMA) and not (entry.findings or entry.status == "error"):
            continue  # summarised by reason in the Sigma table (all of them are in --json)
        status = f"[{_STATUS_STYLE[entry.status]}]{entry.status}[/]"
        found = f"{entry.findings}" + (
            f" ({entry.suppressed} suppressed)" if entry.suppressed else ""
        )
        if entry.incidents:
            found = plural(entry.incidents, "incident")
        notes = [entry.reason or "", *entry.notes]
        table.add_row(
            entry.detection_id,
            " ".join(entry.techniques),
            status,
            found if entry.status in ("ran", "partial") else "",
            escape("\n".join(n for n in notes if n)),
        )
    return table


def sigma_table(coverage: Iterable[CoverageEntry]) -> Table | None:
    """Sigma rules by outcome and reason: thousands of rules do not fit one line each."""
    groups: dict[tuple[str, str], list[str]] = {}
    for entry in coverage:
        if entry.detection_id.startswith(SIGMA):
            reason = _first_line(entry.reason) or ("matched" if entry.findings else "no match")
            groups.setdefault((entry.status, reason), []).append(entry.detection_id)
    if not groups:
        return None
    table = Table(title="Sigma rules (each one is in --json)", title_justify="left")
    for column in ("status", "rules", "reason", "examples"):
        table.add_column(column, overflow="fold")
    for (status, reason), ids in sorted(groups.items(), key=lambda item: -len(item[1])):
        table.add_row(
            f"[{_STATUS_STYLE[status]}]{status}[/]",
            str(len(ids)),
            escape(reason),
            escape(", ".join(ids[:2]) + (" …" if len(ids) > 2 else "")),
        )
    return table


def closing_line(findings: Sequence[Finding], coverage: Sequence[CoverageEntry]) -> str:
    """The totals again, as the last line of a long output."""
    open_count = sum(1 for f in findings if not f.dismissed)
    text = f"{plural(len(findings), 'finding')} ({open_count:,} to review)"
    if coverage:
        ran = sum(1 for e in coverage if e.status in ("ran", "partial"))
        failed = sum(1 for e in coverage if e.status == "error")
        partial = sum(1 for e in coverage if e.status == "partial")
        text += f"; {ran:,} of {plural(len(coverage), 'detection')} ran"
        if failed or partial:
            text += f", {failed:,} failed and {partial:,} partly: the hunt is incomplete"
    return text


def render_hunt(console: Console, document: ResultDocument) -> None:
    """Summary, then the incidents, every finding, the coverage, and the totals again."""
    console.print(
        f"Hunt {document.run_id[:12]}"
        + (f" (pack {escape(document.pack)})" if document.pack else "")
        + f" on case {escape(document.case)}"
    )
    from seawall.model.finding import identified_hosts

    machines = identified_hosts(document.incidents)
    render_summary(console, document.findings, document.coverage, machines)
    render_incidents(console, document.incidents)
    if document.findings:
        render_findings(console, document.findings, machines=machines)
    console.print(coverage_table(document.coverage))
    sigma = sigma_table(document.coverage)
    if sigma is not None:
        console.print(sigma)
    console.print(closing_line(document.findings, document.coverage))
