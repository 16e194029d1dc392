"""Load advisory packs from YAML with errors that say which file and which line.

Packs are written by hand, so a bad pack must fail with ``pack.yml:LINE: what is wrong`` rather
than a pydantic location tuple. YAML is parsed once into its node tree (SafeLoader: no Python
object tags) and the Python data is constructed from that same tree; a validation error's
location (``("techniques", 3, "id")``) is then walked down the tree to the node's line.

A pack is also input from outside, so the loader bounds it: a size limit on the file, and a
limit on the document's size *after* alias expansion (a "billion laughs" of YAML anchors is
cheap for PyYAML, which shares the objects, but not for validation, which walks every copy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from seawall.errors import BadInputError, UsageError
from seawall.intel.packs.schema import Pack

PACK_SUFFIXES = (".yml", ".yaml")
MAX_PACK_BYTES = 4 * 1024 * 1024
# Far above any real pack (aa21-200a has about 1,000 nodes), far below what hurts.
MAX_EXPANDED_NODES = 200_000
# How many validation problems to spell out in one error message.
MAX_REPORTED_PROBLEMS = 10

Location = tuple[int | str, ...]


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
    if len(data) > MAX_PACK_BYTES:
        raise BadInputError(f"pack is larger than {MAX_PACK_BYTES} bytes", display)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BadInputError("pack is not valid UTF-8", f"{display}:{line}") from error


def parse_pack(text: str, display: str) -> Pack:
    """Validate pack YAML ``text``; ``display`` names the source in error locations."""
    root = _compose(text, display)
    _check_node_tree(root, display)
    data = _construct(root, display)
    if not isinstance(data, dict):
        line = root.start_mark.line + 1
        raise BadInputError("a pack must be a YAML mapping", f"{display}:{line}")
    try:
        return Pack.model_validate(data)
    except ValidationError as error:
        raise _to_bad_input(error, root, display) from None


def _compose(text: str, display: str) -> yaml.Node:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = error.problem or error.context or "invalid YAML"
        raise BadInputError(f"YAML syntax error: {problem}", f"{display}:{line}") from None
    except yaml.YAMLError as error:
        raise BadInputError(f"YAML error: {error}", f"{display}:1") from None
    finally:
        loader.dispose()
    if node is None:
        raise BadInputError("pack file is empty", f"{display}:1")
    return node


def _construct(root: yaml.Node, display: str) -> object:
    constructor = yaml.SafeLoader("")
    try:
        return constructor.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else root.start_mark.line + 1
        raise BadInputError(f"YAML error: {error.problem}", f"{display}:{line}") from None
    finally:
        constructor.dispose()


def _check_node_tree(root: yaml.Node, display: str) -> None:
    """Reject recursive aliases, alias bombs and duplicate mapping keys, each with its line.

    PyYAML keeps the last of two equal keys without a word; in a pack that silently drops, say,
    the first ``detections:`` list, so it is an error here.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            line = node.start_mark.line + 1
            raise BadInputError("recursive YAML alias", f"{display}:{line}")
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    name = str(key_node.value)
                    line = key_node.start_mark.line + 1
                    if name in seen:
                        raise BadInputError(
                            f"duplicate key {name!r} (first on line {seen[name]})",
                            f"{display}:{line}",
                        )
                    seen[name] = line
                total += size(key_node) + size(value_node)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        active.discard(key)
        sizes[key] = total
        if total > MAX_EXPANDED_NODES:
            line = node.start_mark.line + 1
            raise BadInputError(
                f"pack expands to more than {MAX_EXPANDED_NODES} YAML nodes (alias bomb?)",
                f"{display}:{line}",
            )
        return total

    size(root)


def _child(node: yaml.Node, step: int | str) -> tuple[yaml.Node, yaml.Node] | None:
    """The (key-or-item node, value node) one ``step`` below ``node``, if the tree has it."""
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == step:
                return key_node, value_node
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int):
        if 0 <= step < len(node.value):
            item: yaml.Node = node.value[step]
            return item, item
        return None
    return None


def line_of(root: yaml.Node, location: Iterable[int | str]) -> int:
    """The 1-based line of the deepest node on ``location`` that the YAML actually contains.

    A key that is present points at its own line (``unknown key`` errors name the key); a key that
    is missing points at the mapping that should hold it.
    """
    node = root
    line = root.start_mark.line + 1
    for step in location:
        found = _child(node, step)
        if found is None:
            break
        marker, node = found
        line = marker.start_mark.line + 1
    return line


def _error_location(error: ErrorDetails, root: yaml.Node) -> Location:
    """The error's place in the document, made precise for the schema's custom errors."""
    location: Location = tuple(error["loc"])
    context: Mapping[str, Any] = error.get("ctx") or {}
    path = context.get("path")
    if isinstance(path, Sequence) and not isinstance(path, str):
        return tuple(path)
    index = context.get("index")
    if error["type"] == "duplicate_value" and isinstance(index, int):
        location = (*location, index)
        target = root
        for step in location:
            found = _child(target, step)
            if found is None:
                return location
            target = found[1]
        if _child(target, "id") is not None:
            location = (*location, "id")
    return location


def _describe(location: Location) -> str:
    text = ""
    for step in location:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text or "pack"


def _message(error: ErrorDetails, root: yaml.Node) -> str:
    """The error's text; a duplicate points at the first occurrence's line, not its index."""
    context: Mapping[str, Any] = error.get("ctx") or {}
    first = context.get("first")
    if error["type"] == "duplicate_value" and isinstance(first, int):
        line = line_of(root, (*error["loc"], first))
        return f"duplicate {context.get('what')} '{context.get('value')}' (first on line {line})"
    return error["msg"]


def _to_bad_input(error: ValidationError, root: yaml.Node, display: str) -> BadInputError:
    problems: list[tuple[int, str]] = []
    for detail in error.errors(include_url=False):
        location = _error_location(detail, root)
        line = line_of(root, location)
        problems.append((line, f"{_describe(location)}: {_message(detail, root)}"))
    problems.sort(key=lambda problem: problem[0])
    first_line, first_message = problems[0]
    message = first_message
    rest = problems[1:MAX_REPORTED_PROBLEMS]
    if rest:
        extra = "; ".join(f"line {line}: {text}" for line, text in rest)
        message += f" (and {len(problems) - 1} more: {extra})"
    return BadInputError(message, f"{display}:{first_line}")
