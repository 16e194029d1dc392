"""Errors that carry their exit code, so every command fails the same, scriptable way."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The named exit codes that scripts rely on (part of the CLI contract)."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    BAD_INPUT = 3
    INTERNAL = 4
    # A hunt whose answer is incomplete: a detection failed (a YARA rule that does not compile, a
    # missing rules directory) or could not judge all of its input (coverage ``partial``). It
    # must never pass for a clean hunt (0) nor be taken for "findings only" (1): it wins over 1,
    # and the findings the hunt did make are still output.
    INCOMPLETE = 5


class SeawallError(Exception):
    """Base of every error seawall reports to a user; ``location`` says where (file:line)."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class UsageError(SeawallError):
    """The user asked for something that cannot be done as asked (unknown id, bad option)."""

    exit_code = ExitCode.USAGE


class BadInputError(SeawallError):
    """An input file is malformed, hostile or not what it claims to be."""

    exit_code = ExitCode.BAD_INPUT


class CaseError(SeawallError):
    """The case store cannot be opened as asked (e.g. written by a newer seawall)."""

    exit_code = ExitCode.USAGE
