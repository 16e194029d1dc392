"""Open a page in Debian's headless Chromium through Playwright and record what it did.

Never a downloaded browser (``playwright install`` is never run): Playwright drives
``/usr/bin/chromium``, with networking features off. The recorder keeps every console message,
page error, dialog (an ``alert`` that ran would open one) and request, so a test can assert that
the page loaded nothing but itself and ran nothing it should not have.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Recorder:
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind in ("error", "warning")]


@contextmanager
def open_page(path: Path, width: int = 1400) -> Iterator[tuple[Page, Recorder]]:
    """``path`` loaded from ``file://`` in a fresh browser; the page and what it recorded."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is absent (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    recorder = Recorder()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: recorder.console.append((m.type, m.text)))
            page.on("pageerror", lambda e: recorder.errors.append(str(e)))

            def dialog(d: object) -> None:
                recorder.dialogs.append(getattr(d, "message", ""))
                d.dismiss()  # type: ignore[attr-defined]

            page.on("dialog", dialog)
            page.on("request", lambda r: recorder.requests.append(r.url))
            page.goto(path.resolve().as_uri(), wait_until="load")
            yield page, recorder
        finally:
            browser.close()
