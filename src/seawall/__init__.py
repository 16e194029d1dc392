"""seawall: turn a threat advisory into a hunt across host, event-log and network evidence."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seawall")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
