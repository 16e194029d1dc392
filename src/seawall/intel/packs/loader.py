"""Load advisory packs from YAML with errors that say which file and which line.

Packs are written by hand, so a bad pack must fail with ``pack.yml:LINE: what is wrong`` rather
than a pydantic location tuple. YAML is parsed once into its node tree (SafeLoader: no Python
object tags) and the Python data is constructed from that same tree; a validation error's
location (``("techniques", 3, "id")``) is then walked down the tree to the node's line. The
mechanism is shared with other hand-written YAML and lives in :mod:`seawall.yamldoc`.

A pack is also input from outside, so the loader bounds it: a size limit on the file, and a
limit on the document's size *after* alias expansion (a "billion laughs" of YAML anchors is
cheap for PyYAML, which shares the objects, but not for validation, which walks every copy).
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from seawall.errors import BadInputError, UsageError
from seawall.intel.packs.schema import Pack
from seawall.yamldoc import (
    line_of,
    parse_model,
    read_bounded_utf8,
)

__all__ = [
    "available_packs",
    "line_of",
    "list_packs",
    "load_pack",
    "load_pack_file",
    "parse_pack",
]

PACK_SUFFIXES = (".yml", ".yaml")
MAX_PACK_BYTES = 4 * 1024 * 1024
# Far above any real pack (aa21-200a has about 1,000 nodes), far below what hurts.
MAX_EXPANDED_NODES = 200_000


def _shipped_dir() -> Traversable:
    return resources.files("seawall.intel.packs").joinpath("data")


def _shipped_files() -> dict[str, Traversable]:
    """Shipped pack files by pack name (the file stem), which is also the pack's ``id``."""
    found: dict[str, Traversable] = {}
    directory = _shipped_dir()
    if not directory.is_dir():
        return found
    for entry in directory.iterdir():
        for suffix in PACK_SUFFIXES:
            if entry.is_file() and entry.name.endswith(suffix):
                found[entry.name.removesuffix(suffix)] = entry
    return dict(sorted(found.items()))


def _display_name(entry: Traversable) -> str:
    """A path for messages: the real file when installed as files, else a package-relative name."""
    if isinstance(entry, Path):
        return str(entry)
    return f"seawall/intel/packs/data/{entry.name}"


def available_packs() -> list[str]:
    """Names of the packs shipped with seawall (what ``load_pack`` accepts as a name)."""
    return list(_shipped_files())


def list_packs() -> list[Pack]:
    """Every shipped pack, loaded and validated, ordered by id."""
    return [_load_shipped(name, entry) for name, entry in _shipped_files().items()]


def load_pack(name_or_path: str | Path) -> Pack:
    """Load a shipped pack by name (``aa21-200a``) or any pack file by path.

    A string is a path when it names an existing file or looks like one (has a directory part or a
    YAML suffix); otherwise it is a pack name, and an unknown name lists the available ones.
    """
    if isinstance(name_or_path, Path) or _looks_like_path(name_or_path):
        return load_pack_file(Path(name_or_path))
    shipped = _shipped_files()
    entry = shipped.get(name_or_path)
    if entry is None:
        names = ", ".join(shipped) or "none"
        raise UsageError(f"no pack named {name_or_path!r}; available packs: {names}")
    return _load_shipped(name_or_path, entry)


def _looks_like_path(value: str) -> bool:
    return "/" in value or "\\" in value or value.endswith(PACK_SUFFIXES) or Path(value).is_file()


def _load_shipped(name: str, entry: Traversable) -> Pack:
    display = _display_name(entry)
    pack = parse_pack(_read_bounded(entry.read_bytes(), display), display)
    if pack.id != name:
        # The file name is how users ask for a pack; a mismatch would make it unreachable by id.
        raise BadInputError(f"pack id {pack.id!r} does not match its file name {name!r}", display)
    return pack


def load_pack_file(path: Path) -> Pack:
    """Load and validate one pack file; every problem is a BadInputError at ``path:line``."""
    if not path.is_file():
        raise UsageError(f"no such pack file: {path}")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PACK_BYTES + 1)
    except OSError as error:
        raise BadInputError(f"cannot read pack: {error.strerror or error}", str(path)) from error
    return parse_pack(_read_bounded(data, str(path)), str(path))


def _read_bounded(data: bytes, display: str) -> str:
    return read_bounded_utf8(data, display, MAX_PACK_BYTES, noun="pack")


def parse_pack(text: str, display: str) -> Pack:
    """Validate pack YAML ``text``; ``display`` names the source in error locations."""
    return parse_model(
        text,
        display,
        Pack,
        max_nodes=MAX_EXPANDED_NODES,
        noun="pack",
        not_mapping="a pack must be a YAML mapping",
        empty_message="pack file is empty",
    )
