"""An event's own fields (``EventData``/``UserData``) as one flat object: the ``data`` column.

Every reader of the ``events`` table (EVTX and every JSON export) gives ``data`` the same field
names, so that one Sigma rule or one SQL detection (``data->>'CommandLine'``) works on all of
them. The rules, in the order a reader applies them:

- ``<Data Name="X">v</Data>`` is ``"X": v``. The EVTX parser already names repeated elements
  ``X``, ``X_1``, ``X_2``… and we keep its names.
- Unnamed ``<Data>`` values (classic PowerShell 400/600/800, many Application and System events,
  MSSQL audit lines…) are ``Data_1``…``Data_n`` in order, 1-based like the message template's
  ``%1``…``%n`` insertion strings, and ``Data`` is all of them joined by a newline, so that the
  Sigma idiom ``Data|contains: 'HostApplication=powershell'`` finds a value whichever position
  holds it (and ``Data`` equals the value when there is one).
- ``UserData`` holds one element (``LogFileCleared``, ``EventXML``…) whose children are the
  fields: each child is ``Child`` (as in ``EventData``) and also ``Element.Child``, so
  ``data->>'SubjectUserName'`` reads a 1102 like a 4624, and the full path stays unambiguous.
- Nested elements are joined with ``.`` (``Applications.Application_1``); an element's text
  with attributes is the element's value and its attributes are ``Element@attr`` (the root's
  own attributes ``@attr``); namespace declarations (``xmlns``…) are dropped. ``Binary`` is
  the hex text the parser gives. Other children of ``Event`` (``ProcessingErrorData``,
  ``DebugData``, ``RenderingInfo``…) are flattened with their element name as prefix.
- Values stay the scalars the source gives: text, or a number or boolean where Windows stores
  one (EVTX ``UInt32``, ``Boolean``…), or null for an empty element. SQL reads every one of
  them as text with ``->>`` (``data->>'ProcessId'`` is ``'2772'`` whether the JSON holds
  ``2772`` or ``"2772"``), in DuckDB and Spark alike, which is what a compiled Sigma rule
  does. Turning the parser's numbers into JSON strings would cost more than the whole rest of
  reading an EVTX record (measured: DuckDB's MAP cast or a regular expression over the
  object, 7–13 µs a record), for no difference a ``->>`` can see. Lists (joined) and nested
  structures become text as described above.

The event's user (``user_sid``, ``user_name``, ``user_domain``) is derived from these fields by
SQL in :mod:`seawall.collect.events.table`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

Scalar = str | int | float | bool | None

# Children of <Event> that are not the event's own fields.
_SYSTEM_KEYS = frozenset({"System", "#attributes"})
# The parser's JSON holds dicts, lists and these; checks are on exact types (this runs per
# field of every nested record: an ABC's isinstance costs ten times more).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _is_namespace(name: str) -> bool:
    return name == "xmlns" or name.startswith("xmlns:")


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _text(value: Any) -> str:
    """A value as Windows would print it inside a joined list."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return ""
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    return _json_text(value)


def _scalar(value: Any) -> Scalar:
    return value if type(value) in _SCALARS else _json_text(value)


def _unnamed(values: list[Any], out: dict[str, Scalar], name: str = "Data") -> None:
    texts = [_text(v) for v in values]
    if name not in out:
        out[name] = "\n".join(texts)
    for position, text in enumerate(texts, start=1):
        key = f"{name}_{position}"
        if key not in out:
            out[key] = text


def _attributes(path: str, attributes: dict[str, Any], out: dict[str, Scalar]) -> None:
    for attribute, value in attributes.items():
        key = f"{path}@{attribute}"
        if not _is_namespace(attribute) and key not in out:
            out[key] = _scalar(value)


def _element(path: str, value: Any, out: dict[str, Scalar]) -> None:
    """Flatten the element at ``path`` (``''`` is the root of EventData or UserData); the first
    field of a name wins."""
    kind = type(value)
    if kind is dict:
        for key, child in value.items():
            if type(child) in _SCALARS and not key.startswith("#"):
                name = f"{path}.{key}" if path else key
                if name not in out:
                    out[name] = child
            elif key == "#attributes" and type(child) is dict:
                _attributes(path, child, out)
            elif key == "#text":
                if type(child) is list:
                    _unnamed(child, out, path or "Data")
                elif (path or "Data") not in out:
                    out[path or "Data"] = _scalar(child)
            elif key == "Data" and not path and type(child) in (dict, list):
                # <Data> elements without a Name: the parser gives {"#text": [...]} or a list
                _unnamed_data(child, out)
            else:
                _element(f"{path}.{key}" if path else key, child, out)
    elif kind is list:
        _unnamed(value, out, path or "Data")
    elif (path or "Data") not in out:
        out[path or "Data"] = _scalar(value)


def _unnamed_data(value: dict[str, Any] | list[Any], out: dict[str, Scalar]) -> None:
    if type(value) is list:  # [{"#text": ...}, ...] or plain values
        _unnamed([v.get("#text") if type(v) is dict else v for v in value], out)
        return
    assert isinstance(value, dict)
    if "#text" in value:
        text = value["#text"]
        _unnamed(text if type(text) is list else [text], out)
    for key, child in value.items():
        if key == "#attributes" and type(child) is dict:
            _attributes("Data", child, out)
        elif key != "#text":
            _element(f"Data.{key}", child, out)


def flatten_user_data(value: Any, out: dict[str, Scalar]) -> None:
    """``UserData``'s one element: its children bare, and under the element's name."""
    if type(value) is not dict:
        _element("", value, out)
        return
    for element, children in value.items():
        if element == "#attributes":
            _element("", {"#attributes": children}, out)
            continue
        if type(children) is dict:
            _element("", children, out)
        _element(element, children, out)


def flatten_event(event: Mapping[str, Any]) -> dict[str, Scalar]:
    """The ``data`` object of an EVTX-shaped event (``{"System": …, "EventData": …}``, as the
    EVTX parser renders a record's ``Event`` element)."""
    out: dict[str, Scalar] = {}
    for key, value in event.items():
        if key in _SYSTEM_KEYS or value is None:
            continue
        if key == "EventData":
            _element("", value, out)
        elif key == "UserData":
            flatten_user_data(value, out)
        else:
            _element(key, value, out)
    return out


def flatten_fields(fields: Mapping[str, Any]) -> dict[str, Scalar]:
    """A mapping of field name to value that an export already flattened by name (Winlogbeat's
    ``event_data``, Velociraptor's ``EventData``…), under the same rules."""
    out: dict[str, Scalar] = {}
    _element("", dict(fields), out)
    return out
