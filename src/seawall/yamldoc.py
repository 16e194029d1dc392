"""Hand-written YAML documents with errors that say which file and which line.

Packs and tool-location extensions are both written by hand, so a bad file must fail with
``file.yml:LINE: what is wrong`` rather than a pydantic location tuple. The mechanism is shared:

1. :func:`read_bounded_utf8` bounds the file's size and decodes it;
2. :func:`compose` parses the YAML once into its node tree (SafeLoader: no Python object tags);
3. :func:`check_node_tree` rejects recursive aliases, alias bombs and duplicate keys;
4. :func:`construct` builds the Python data from that same tree;
5. the data is validated with pydantic, and :func:`validation_error` walks each error's
   location (``("techniques", 3, "id")``) down the tree to the node's line with :func:`line_of`.

:func:`parse_model` runs steps 2 to 5 for a document that must be one mapping.

Every problem is a :class:`~seawall.errors.BadInputError` located at ``display:line``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from seawall.errors import BadInputError

# How many validation problems to spell out in one error message.
MAX_REPORTED_PROBLEMS = 10

Location = tuple[int | str, ...]
# libyaml's parser with SafeLoader's resolver (None when PyYAML was built without libyaml).
_CLoader: Any = getattr(yaml, "CSafeLoader", None)
_Model = TypeVar("_Model", bound=BaseModel)


def read_bounded_utf8(data: bytes, display: str, max_bytes: int, noun: str = "file") -> str:
    """Decode ``data`` as UTF-8, refusing more than ``max_bytes`` bytes.

    Read at most ``max_bytes + 1`` bytes so that an oversized file is detected here. ``noun``
    names the document in messages (``pack is not valid UTF-8``); a decoding error points at the
    line of the first bad byte.
    """
    if len(data) > max_bytes:
        raise BadInputError(f"{noun} is larger than {max_bytes} bytes", display)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BadInputError(f"{noun} is not valid UTF-8", f"{display}:{line}") from error


def compose(text: str, display: str, empty_message: str = "file is empty") -> yaml.Node:
    """Parse ``text`` into its single YAML node tree with SafeLoader.

    Syntax errors carry their line; an empty document raises ``empty_message`` at line 1.
    The tree comes from libyaml when PyYAML has it (the same nodes with the same lines, ten
    times faster: every hunt reads the shipped detections); a document libyaml refuses is
    parsed again by the pure-Python loader, whose result or message is the reference.
    """
    if _CLoader is not None:
        fast = _CLoader(text)
        try:
            node: yaml.Node | None = fast.get_single_node()
        except yaml.YAMLError:
            pass  # the pure-Python parser below says what is wrong, as it always has
        else:
            if node is None:
                raise BadInputError(empty_message, f"{display}:1")
            return node
        finally:
            fast.dispose()
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
        raise BadInputError(empty_message, f"{display}:1")
    return node


def construct(root: yaml.Node, display: str) -> object:
    """Build the Python data of a composed tree; unsafe tags fail at their line."""
    constructor = yaml.SafeLoader("")
    try:
        return constructor.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else root.start_mark.line + 1
        raise BadInputError(f"YAML error: {error.problem}", f"{display}:{line}") from None
    finally:
        constructor.dispose()


def check_node_tree(root: yaml.Node, display: str, max_nodes: int, noun: str = "document") -> None:
    """Reject recursive aliases, alias bombs and duplicate mapping keys, each with its line.

    The size counted is the document's size *after* alias expansion: a "billion laughs" of YAML
    anchors is cheap for PyYAML, which shares the objects, but not for validation, which walks
    every copy. PyYAML keeps the last of two equal keys without a word, silently dropping, say, a
    first ``detections:`` list, so a duplicate key is an error here. ``noun`` names the document
    in the alias-bomb message.
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
        if total > max_nodes:
            line = node.start_mark.line + 1
            raise BadInputError(
                f"{noun} expands to more than {max_nodes} YAML nodes (alias bomb?)",
                f"{display}:{line}",
            )
        return total

    size(root)


def child(node: yaml.Node, step: int | str) -> tuple[yaml.Node, yaml.Node] | None:
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
        found = child(node, step)
        if found is None:
            break
        marker, node = found
        line = marker.start_mark.line + 1
    return line


def _error_location(error: ErrorDetails, root: yaml.Node) -> Location:
    """The error's place in the document, made precise for custom errors.

    A custom error may carry its own ``path`` in its context; a ``duplicate_value`` error carries
    the ``index`` of the repeated item, and points at that item's ``id`` when it has one.
    """
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
            found = child(target, step)
            if found is None:
                return location
            target = found[1]
        if child(target, "id") is not None:
            location = (*location, "id")
    return location


def describe_location(location: Location, root_name: str = "document") -> str:
    """A location as ``techniques[3].id``; the empty location is ``root_name``."""
    text = ""
    for step in location:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text or root_name


def _message(error: ErrorDetails, root: yaml.Node) -> str:
    """The error's text; a duplicate points at the first occurrence's line, not its index."""
    context: Mapping[str, Any] = error.get("ctx") or {}
    first = context.get("first")
    if error["type"] == "duplicate_value" and isinstance(first, int):
        line = line_of(root, (*error["loc"], first))
        return f"duplicate {context.get('what')} '{context.get('value')}' (first on line {line})"
    return error["msg"]


def validation_error(
    error: ValidationError,
    root: yaml.Node,
    display: str,
    root_name: str = "document",
    max_problems: int = MAX_REPORTED_PROBLEMS,
) -> BadInputError:
    """A pydantic ``error`` on the data built from ``root`` as one ``BadInputError``.

    The error is located at the earliest problem's line; its message spells out that problem
    and up to ``max_problems - 1`` more, each with its own line.
    """
    problems: list[tuple[int, str]] = []
    for detail in error.errors(include_url=False):
        location = _error_location(detail, root)
        line = line_of(root, location)
        problems.append(
            (line, f"{describe_location(location, root_name)}: {_message(detail, root)}")
        )
    problems.sort(key=lambda problem: problem[0])
    first_line, first_message = problems[0]
    message = first_message
    rest = problems[1:max_problems]
    if rest:
        extra = "; ".join(f"line {line}: {text}" for line, text in rest)
        message += f" (and {len(problems) - 1} more: {extra})"
    return BadInputError(message, f"{display}:{first_line}")


def parse_model(
    text: str,
    display: str,
    model: type[_Model],
    *,
    max_nodes: int,
    noun: str,
    not_mapping: str,
    empty_message: str = "file is empty",
) -> _Model:
    """Validate YAML ``text`` as ``model``; every problem is located at ``display:line``.

    ``noun`` names the document in messages; ``not_mapping`` is the error when the document
    is not a mapping at all.
    """
    root = compose(text, display, empty_message=empty_message)
    check_node_tree(root, display, max_nodes, noun=noun)
    data = construct(root, display)
    if not isinstance(data, dict):
        raise BadInputError(not_mapping, f"{display}:{root.start_mark.line + 1}")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_error(error, root, display, root_name=noun) from None
