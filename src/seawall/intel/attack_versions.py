"""The ATT&CK releases seawall ships, apart from the knowledge base so that the CLI can name them
in its options without loading it."""

from __future__ import annotations

SUPPORTED_VERSIONS = ("9.0", "10.1", "18.1")
CURRENT_VERSION = "18.1"
