"""A tiny, bounded de-obfuscator for PHP used by :mod:`seawall.features.webshell`.

Web shells hide the names of the functions they call: ``$c = "a"."s"."sert"``,
``str_replace('km', '', 'crkmeate_fkmunction')``, ``$s[4].$s[5]`` indexing into an alphabet,
``strrev``, ``chr()``, XOR of two literals, or a payload base64-encoded twice. This module folds
such *constant* string expressions (never running anything: it only evaluates string literals
and a handful of pure string functions) so that the assessor can see which function a variable
will name, and which code an encoded literal holds. Everything is bounded: a limited number of
statements, operands and output characters.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Callable, Iterator

__all__ = ["DANGEROUS", "decoded_literals", "fold_expression", "fold_variables", "join_literals"]

#: Function names whose run-time construction and call marks a web shell.
DANGEROUS: frozenset[str] = frozenset(
    [
        "assert",
        "eval",
        "system",
        "exec",
        "shell_exec",
        "passthru",
        "popen",
        "proc_open",
        "pcntl_exec",
        "create_function",
        "call_user_func",
        "call_user_func_array",
        "preg_replace",
    ]
)

_MAX_STATEMENTS = 3000
_MAX_VALUE = 65536
_MAX_TOKENS = 400

_TOKEN_RE = re.compile(
    r"'(?:[^'\\]|\\.){0,4000}'|\"(?:[^\"\\]|\\.){0,4000}\"|\$\w+|\d+|\w+|[().,^\[\]{}~]|\s+",
    re.S,
)
# ``\$(?<![\w$]\$)`` is ``(?<![\w$])\$`` with the literal first: the engine skips ahead to "$".
_ASSIGN_RE = re.compile(r"\$(?<![\w$]\$)(\w{1,40})\s*(\.?=)(?![=>])\s*")
_MAX_RHS = 2000
_CONCAT_LIT_RE = re.compile(
    r"'((?:[^'\\\n]|\\.){0,200})'\s*\.\s*'|\"((?:[^\"\\\n]|\\.){0,200})\"\s*\.\s*\""
)
# Every match of _CONCAT_LIT_RE ends with this: far cheaper to look for (no string body to scan
# at every quote), and when it is absent the text has nothing to join.
_CONCAT_GUARD_RE = re.compile(r"'\s*\.\s*'|\"\s*\.\s*\"")


class _NotConstantError(Exception):
    """The expression is not a constant we can fold."""


def _unquote(tok: str) -> str:
    body = tok[1:-1]
    if tok[0] == "'":
        return body.replace("\\'", "'").replace("\\\\", "\\")
    if "$" in body:
        raise _NotConstantError
    body = re.sub(r"\\x([0-9a-f]{1,2})", lambda m: chr(int(m.group(1), 16)), body)
    return re.sub(r"\\([0-7]{1,3})", lambda m: chr(int(m.group(1), 8) & 0xFF), body)


def _b64(s: str) -> str:
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=False).decode("latin-1")
    except (binascii.Error, ValueError):
        raise _NotConstantError from None


def _inflate(s: str, wbits: int) -> str:
    try:
        d = zlib.decompressobj(wbits)
        return d.decompress(s.encode("latin-1"), _MAX_VALUE).decode("latin-1")
    except zlib.error:
        raise _NotConstantError from None


def _rot13(s: str) -> str:
    return s.translate(str.maketrans("abcdefghijklmnopqrstuvwxyz", "nopqrstuvwxyzabcdefghijklm"))


def _str_replace(a: str, b: str, c: str) -> str:
    if not a:
        return c
    return c.replace(a, b)


def _substr(s: str, start: str, length: str | None = None) -> str:
    i = int(start)
    if length is None:
        return s[i:]
    n = int(length)
    end = i + n if n >= 0 else len(s) + n
    if i < 0:
        i += len(s)
    return s[i:end] if n >= 0 or end >= 0 else ""


_FUNCS: dict[str, Callable[..., str]] = {
    "str_replace": _str_replace,
    "str_ireplace": _str_replace,
    "strrev": lambda s: s[::-1],
    "strtolower": str.lower,
    "strtoupper": str.upper,
    "ucfirst": lambda s: s,
    "trim": str.strip,
    "chr": lambda n: chr(int(n) % 256),
    "base64_decode": _b64,
    "str_rot13": _rot13,
    "gzinflate": lambda s: _inflate(s, -15),
    "gzuncompress": lambda s: _inflate(s, 15),
    "hex2bin": lambda s: bytes.fromhex(s).decode("latin-1"),
    "pack": lambda f, s: bytes.fromhex(s).decode("latin-1"),
    "substr": _substr,
    "strval": lambda s: s,
}


class _Folder:
    """Recursive-descent evaluator over one expression's tokens."""

    def __init__(self, toks: list[str], env: dict[str, str]) -> None:
        self.toks = toks
        self.i = 0
        self.env = env

    def peek(self) -> str:
        return self.toks[self.i] if self.i < len(self.toks) else ""

    def take(self, want: str | None = None) -> str:
        tok = self.peek()
        if not tok or (want is not None and tok != want):
            raise _NotConstantError
        self.i += 1
        return tok

    def expr(self) -> str:
        value = self.cat()
        while self.peek() == "^":
            self.take()
            other = self.cat()
            value = "".join(chr(ord(a) ^ ord(b)) for a, b in zip(value, other, strict=False))
        return value

    def cat(self) -> str:
        value = self.postfix()
        while self.peek() == ".":
            self.take()
            value += self.postfix()
            if len(value) > _MAX_VALUE:
                raise _NotConstantError
        return value

    def postfix(self) -> str:
        value = self.primary()
        while self.peek() in ("[", "{"):
            close = "]" if self.take() == "[" else "}"
            index = self.expr()
            self.take(close)
            try:
                value = value[int(index)]
            except (ValueError, IndexError):
                raise _NotConstantError from None
        return value

    def primary(self) -> str:
        tok = self.take()
        if tok[0] in "'\"":
            return _unquote(tok)
        if tok.isdigit():
            return tok
        if tok == "(":
            value = self.expr()
            self.take(")")
            return value
        if tok[0] == "$":
            name = tok[1:]
            if self.peek() == "(":  # call through a variable holding a known name
                return self.call(self.env.get(name, "").lower())
            if name not in self.env:
                raise _NotConstantError
            return self.env[name]
        if self.peek() == "(":
            return self.call(tok.lower())
        raise _NotConstantError

    def call(self, name: str) -> str:
        func = _FUNCS.get(name)
        if func is None:
            raise _NotConstantError
        self.take("(")
        args: list[str] = []
        while self.peek() != ")":
            args.append(self.expr())
            if self.peek() == ",":
                self.take()
        self.take(")")
        try:
            return func(*args)
        except (TypeError, ValueError, UnicodeError, IndexError):
            raise _NotConstantError from None


def _fold(expr: str, env: dict[str, str]) -> str:
    # Most right-hand sides of real code start with a name that is no foldable function
    # (``array(``, ``new``, ``get_option(``, ``true``): _Folder.primary() would refuse that first
    # token, so refuse it before tokenising the whole expression. The first token is found the
    # way findall() finds it (characters no token matches are skipped).
    first = _TOKEN_RE.search(expr)
    if first is not None and first.group(0).isspace():
        first = _TOKEN_RE.search(expr, first.end())
    if first is not None:
        tok = first.group(0)
        if (tok[0].isalpha() or tok[0] == "_") and tok.lower() not in _FUNCS:
            raise _NotConstantError
    every = _TOKEN_RE.findall(expr)
    toks = [t for t in every if not t.isspace()]
    # Characters no token matched are skipped by findall: too many of them, not a constant.
    if not toks or len(toks) > _MAX_TOKENS or sum(map(len, every)) < len(expr) - 4:
        raise _NotConstantError
    folder = _Folder(toks, env)
    value = folder.expr()
    if folder.i != len(toks):
        raise _NotConstantError
    return value


def fold_expression(expr: str, env: dict[str, str]) -> str:
    """The constant value of ``expr`` given ``env``; ValueError when it is not foldable."""
    try:
        return _fold(expr, env)
    except (_NotConstantError, RecursionError):
        raise ValueError(expr[:40]) from None


def _assignments(text: str) -> Iterator[tuple[str, str, str]]:
    """``$name = rhs;`` / ``$name .= rhs;`` statements as (name, operator, rhs), the right-hand
    side being 1..2000 characters up to the first ``;``.

    Same result as ``finditer`` over ``...\\s*([^;]{1,2000});`` but without letting the regex
    engine scan and back-track 2000 characters for every candidate that has no ``;`` after it
    (a hostile file of ``$x = "a"."a"...`` made that quadratic-ish and took seconds).
    """
    pos = 0
    while m := _ASSIGN_RE.search(text, pos):
        start = m.end()
        if start < len(text) and text[start] == ";":
            # ``$a = ;``: the regex would hand the last blank back to the right-hand side.
            if start > m.end(2):
                yield m.group(1), m.group(2), text[start - 1 : start]
                pos = start + 1
            else:
                pos = m.start() + 1
            continue
        semi = text.find(";", start + 1, start + _MAX_RHS + 1)
        if semi < 0:
            pos = m.start() + 1
            continue
        yield m.group(1), m.group(2), text[start:semi]
        pos = semi + 1


def fold_variables(text: str) -> dict[str, str]:
    """Variables (without ``$``) whose value is a foldable constant string expression.

    Statements are taken in file order; a variable reassigned to something unknown is dropped.
    ``text`` is PHP in its original case with comments removed.
    """
    env: dict[str, str] = {}
    for n, (name, op, rhs) in enumerate(_assignments(text)):
        if n >= _MAX_STATEMENTS:
            break
        try:
            value = _fold(rhs, env)
        except (_NotConstantError, RecursionError):
            env.pop(name, None)
            continue
        if op == ".=":
            if name not in env:
                continue
            value = env[name] + value
        env[name] = value[:_MAX_VALUE]
    return env


def join_literals(text: str) -> str:
    """``"s"."s"."e"`` becomes ``"sse"`` (same for single quotes); other text is unchanged."""
    for _ in range(8):
        if not (guard := _CONCAT_GUARD_RE.search(text)):
            break  # the pass below would change nothing: skip it (and the confirming pass)
        # A match ends with a guard match and starts at most 401 characters before it (quote,
        # 200 escaped characters): none starts before ``skip``, and the pattern looks neither
        # behind nor at the start, so substituting in the rest only gives the same text.
        skip = max(0, guard.start() - 401)
        joined = text[:skip] + _CONCAT_LIT_RE.sub(
            lambda m: (
                "'" + (m.group(1) or "") if m.group(1) is not None else '"' + (m.group(2) or "")
            ),
            text[skip:],
        )
        if joined == text:
            break
        text = joined
    return text


_B64_LIT_RE = re.compile(r"['\"]([a-z0-9+/]{16,60000}={0,2})['\"]", re.I)


def decoded_literals(data: str, limit: int = 64) -> list[str]:
    """Base64 string literals in ``data`` (original case) decoded up to three levels deep,
    inflating compressed results; only printable-looking results are kept."""
    out: list[str] = []
    for n, m in enumerate(_B64_LIT_RE.finditer(data)):
        if n >= limit:
            break
        value = m.group(1)
        for _ in range(3):
            try:
                value = _b64(value)
            except _NotConstantError:
                break
            if (
                not value.isascii()
                or sum(c.isprintable() or c.isspace() for c in value) < len(value) * 0.9
            ):
                for wbits in (-15, 15):
                    try:
                        value = _inflate(value, wbits)
                        break
                    except _NotConstantError:
                        continue
                else:
                    break
            out.append(value.lower())
            if not re.fullmatch(r"[a-z0-9+/=\s]{16,}", value, re.I):
                break
    return out
