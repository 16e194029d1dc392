"""Tables in the text output fold a long value instead of cutting it with an ellipsis."""

from __future__ import annotations

from rich.console import Console

from seawall.cli.output import Table

SHA256 = "14f9b44c64ee854d7bd81c4f49cbc219dc0ecb1f1b0a5cd1a3349b2d7f2ba86f"


def test_a_value_wider_than_its_column_is_printed_whole() -> None:
    console = Console(width=40, record=True, color_system=None)
    table = Table("type", "value")
    table.add_column("source")
    table.add_row("sha256", SHA256, "a-source-with-a-long-name")
    console.print(table)
    text = console.export_text()
    assert "…" not in text
    folded = "".join(
        line.split("│")[2].strip() for line in text.splitlines() if line.count("│") == 4
    )
    assert SHA256 in folded
