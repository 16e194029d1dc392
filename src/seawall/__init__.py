"""seawall: turn a threat advisory into a hunt across host, event-log and network evidence."""

from __future__ import annotations

__all__ = ["__version__"]

_version: str | None = None


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed metadata on first use.

    ``importlib.metadata`` costs tens of milliseconds to import, which every command paid at
    start-up; only the commands that record or print the version need it.
    """
    global _version
    if name != "__version__":
        raise AttributeError(f"module 'seawall' has no attribute {name!r}")
    if _version is None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            _version = version("seawall")
        except PackageNotFoundError:  # running from a source tree that was never installed
            _version = "0.0.0+unknown"
    return _version
