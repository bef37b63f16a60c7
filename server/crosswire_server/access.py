"""Who may call, what, and how much: API keys, the keys file, per-caller limits (no gRPC here).

The gRPC layer (rpc/auth.py) authenticates each call with `Access`, then runs
the handler with its `Caller` in a context variable, so that the core can charge
the caller's sentence rate (`charge_sentences`) and partition the translation
cache (`cache_partition`) without the caller's identity passing through every
function.

Keys file (TOML), one table per key; `crosswire keys create` appends them:

    [[key]]
    name = "newsroom"                       # shown in the request log, never the token
    sha256 = "<64 hex digits>"              # hash of the token; the token itself is not stored
    services = ["translation", "segmentation"]   # or ["*"]
    max_concurrent_calls = 4                # optional
    sentences_per_second = 50               # optional; burst = the same unless given
    burst = 200                             # optional

    [[certificate]]                         # a client certificate (mutual TLS); `keys create --certificate`
    name = "reporter"
    fingerprint = "<64 hex digits>"         # SHA-256 of that one certificate; or instead:
    # subject = "CN=reporter,O=Newsroom"    # any certificate the CA signs with this subject (RFC 2253)
    services = ["translation"]              # limits as for keys

    [unlisted_certificates]                 # optional: verified certificates not listed; without it, refused
    services = ["segmentation"]
    max_concurrent_calls = 1                # each such certificate counted on its own
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import re
import secrets
import socket
import threading
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from crosswire_server.config import ServerConfig
from crosswire_server.errors import CrosswireError, Overloaded

log = logging.getLogger("crosswire.server")

#: Service names a key can be given: one per gRPC service (its name without "Service"), and metrics.
SERVICES = ("translation", "segmentation", "alignment", "library", "reflection", "metrics")
ALL_SERVICES = "*"
TOKEN_PREFIX = "cw_"
#: The keys file is looked at (stat) at most this often.
RELOAD_CHECK_S = 1.0
#: Unlisted certificates whose counters are kept before idle ones (no call running, a full bucket) are forgotten.
MAX_UNLISTED_STATES = 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_LIMIT_FIELDS = ("max_concurrent_calls", "sentences_per_second", "burst")


class Unauthenticated(CrosswireError):
    """No credentials, or credentials this server does not know (UNAUTHENTICATED)."""


class PermissionDenied(CrosswireError):
    """The caller is known but may not call this service (PERMISSION_DENIED)."""


class RateLimited(Overloaded):
    """A per-caller or server-wide limit is reached (RESOURCE_EXHAUSTED); `retry_after_s` says when to try again."""

    def __init__(self, message: str, *, limit: str, retry_after_s: float) -> None:
        super().__init__(message, limit=limit)
        self.retry_after_s = retry_after_s


class KeysFileError(ValueError):
    """The keys file cannot be read or is not valid; the message names the file and the entry."""


def hash_token(token: str) -> str:
    """The SHA-256 of a token, hex: what the keys file stores.

    A fast hash is enough here, and bcrypt/scrypt would be wrong: tokens are 256
    random bits (`new_token`), so no guessing attack can search that space however
    fast the hash, while a slow hash would cost every call tens of milliseconds of CPU.
    Slow hashes protect low-entropy passwords, which API keys are not.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh API key: 256 bits from the OS's CSPRNG, URL-safe, prefixed so that it is recognisable."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Limits:
    """One caller's limits; None = no limit of that kind."""

    max_concurrent_calls: int | None = None
    sentences_per_second: float | None = None
    burst: float | None = None

    @property
    def bucket_size(self) -> float:
        """Sentences a caller may send at once after being idle: `burst`, else one second's worth (at least 1)."""
        if self.burst is not None:
            return self.burst
        return max(1.0, self.sentences_per_second or 0.0)


@dataclass(frozen=True)
class ApiKey:
    """One entry of the keys file."""

    name: str
    sha256: str
    services: frozenset[str]
    limits: Limits = Limits()

    def allows(self, service: str) -> bool:
        return ALL_SERVICES in self.services or service in self.services


@dataclass(frozen=True)
class CertificateEntry:
    """One [[certificate]] table: a verified client certificate's name, services and limits.

    It matches by `fingerprint` (SHA-256 of the certificate: that one certificate
    only) or by `subject` (RFC 2253, e.g. "CN=reporter,O=Newsroom": any certificate
    the trusted CA issues with it, renewals included). The [unlisted_certificates]
    table is one of these without either.
    """

    name: str
    services: frozenset[str]
    limits: Limits = Limits()
    fingerprint: str = ""
    subject: str = ""


@dataclass(frozen=True)
class AccessFile:
    """A keys file: its API keys, its client certificates, and what a verified certificate it does not list may do."""

    keys: tuple[ApiKey, ...] = ()
    certificates: tuple[CertificateEntry, ...] = ()
    unlisted: CertificateEntry | None = None  # None: certificates not listed are refused


_TOP_LEVEL = ("key", "certificate", "unlisted_certificates")


def parse_keys(text: str, source: str = "keys file") -> list[ApiKey]:
    """The keys in a keys file's text; KeysFileError names the file, the entry and the field at fault."""
    return list(parse_access_file(text, source).keys)


def parse_access_file(text: str, source: str = "keys file") -> AccessFile:
    """Everything a keys file's text says; KeysFileError names the file, the entry and the field at fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KeysFileError(f"{source}: not valid TOML: {exc}") from None
    unknown = set(data) - set(_TOP_LEVEL)
    if unknown:
        raise KeysFileError(f"{source}: unknown top-level entries {sorted(unknown)}; keys are [[key]] tables, "
                            "client certificates [[certificate]] tables, plus one [unlisted_certificates] table")
    names: set[str] = set()
    matchers: set[tuple[str, str]] = set()
    parsed: dict[str, list] = {"key": [], "certificate": []}
    for kind, parse in (("key", _parse_entry), ("certificate", _parse_certificate)):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise KeysFileError(f"{source}: '{kind}' must be an array of tables ([[{kind}]])")
        for position, entry in enumerate(entries):
            where = f"{source}: {kind} {position + 1}"
            item = parse(entry, where)
            if item.name in names:
                raise KeysFileError(f"{where}: the name {item.name!r} is used twice")
            names.add(item.name)
            if kind == "certificate":
                matcher = ("fingerprint", item.fingerprint) if item.fingerprint else ("subject", item.subject)
                if matcher in matchers:
                    raise KeysFileError(f"{where} ({item.name}): another certificate has the same {matcher[0]}")
                matchers.add(matcher)
            parsed[kind].append(item)
    unlisted = None
    if "unlisted_certificates" in data:
        where = f"{source}: unlisted_certificates"
        table = _table(data["unlisted_certificates"], {"services", *_LIMIT_FIELDS}, where)
        unlisted = CertificateEntry("", _parse_services(table, where), _parse_limits(table, where))
    return AccessFile(tuple(parsed["key"]), tuple(parsed["certificate"]), unlisted)


def _table(entry: object, allowed: set[str], where: str) -> dict:
    if not isinstance(entry, dict):
        raise KeysFileError(f"{where}: must be a table")
    unknown = set(entry) - allowed
    if unknown:
        raise KeysFileError(f"{where}: unknown fields {sorted(unknown)}")
    return entry


def _parse_name(entry: dict, where: str) -> str:
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise KeysFileError(f"{where}: name must be 1-64 letters, digits, '.', '_' or '-'")
    return name


def _parse_services(entry: dict, where: str) -> frozenset[str]:
    services = entry.get("services")
    if not isinstance(services, list) or not services or not all(isinstance(s, str) for s in services):
        raise KeysFileError(f"{where}: services must be a non-empty list, e.g. [\"translation\"] or [\"*\"]")
    check_services(services, where)
    return frozenset(services)


def _parse_entry(entry: object, where: str) -> ApiKey:
    entry = _table(entry, {"name", "sha256", "services", "created", *_LIMIT_FIELDS}, where)
    name = _parse_name(entry, where)
    where = f"{where} ({name})"
    digest = entry.get("sha256")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise KeysFileError(f"{where}: sha256 must be 64 lower-case hex digits (the hash of the token)")
    return ApiKey(name, digest, _parse_services(entry, where), _parse_limits(entry, where))


def _parse_certificate(entry: object, where: str) -> CertificateEntry:
    entry = _table(entry, {"name", "fingerprint", "subject", "services", "created", *_LIMIT_FIELDS}, where)
    name = _parse_name(entry, where)
    where = f"{where} ({name})"
    fingerprint, subject = entry.get("fingerprint"), entry.get("subject")
    if (fingerprint is None) == (subject is None):
        raise KeysFileError(f"{where}: give exactly one of fingerprint (the certificate's SHA-256) or subject")
    if fingerprint is not None:
        fingerprint = normalize_fingerprint(fingerprint, where)
    elif not isinstance(subject, str) or not subject.strip() or len(subject) > 1024:
        raise KeysFileError(f"{where}: subject must be the certificate's subject as RFC 2253 writes it, "
                            "e.g. \"CN=reporter,O=Newsroom\" (`openssl x509 -noout -subject -nameopt RFC2253`)")
    return CertificateEntry(name, _parse_services(entry, where), _parse_limits(entry, where),
                            fingerprint or "", subject or "")


def normalize_fingerprint(value: object, where: str = "fingerprint") -> str:
    """A SHA-256 fingerprint as 64 lower-case hex digits; openssl's "AB:CD:…" form is taken too."""
    digits = value.replace(":", "").strip().lower() if isinstance(value, str) else ""
    if not _DIGEST.fullmatch(digits):
        raise KeysFileError(f"{where}: fingerprint must be the certificate's SHA-256, 64 hex digits "
                            "(`openssl x509 -noout -fingerprint -sha256`)")
    return digits


_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----")


def certificate_fingerprint(pem: str | bytes) -> str:
    """The SHA-256 of the first certificate in PEM text (of its DER bytes), hex; ValueError without one."""
    text = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
    match = _PEM_CERTIFICATE.search(text)
    if match is None:
        raise ValueError("no PEM certificate (-----BEGIN CERTIFICATE-----) found")
    return hashlib.sha256(base64.b64decode("".join(match.group(1).split()))).hexdigest()


def check_services(services: Iterable[str], where: str = "services") -> None:
    """Refuse a service name this server does not have (a typo would make a key that can call nothing)."""
    for service in services:
        if service != ALL_SERVICES and service not in SERVICES:
            raise KeysFileError(f"{where}: unknown service {service!r}; known: {', '.join(SERVICES)} or *")


def _parse_limits(entry: dict, where: str) -> Limits:
    values: dict[str, float | int] = {}
    for name in _LIMIT_FIELDS:
        value = entry.get(name)
        if value is None:
            continue
        if name == "max_concurrent_calls":
            valid, kind = isinstance(value, int) and not isinstance(value, bool) and value >= 1, "a whole number >= 1"
        else:
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            valid = number and (value >= 1 if name == "burst" else value > 0)
            kind = "a number >= 1" if name == "burst" else "a number above 0"
        if not valid:
            raise KeysFileError(f"{where}: {name} must be {kind}")
        values[name] = value
    if "burst" in values and "sentences_per_second" not in values:
        raise KeysFileError(f"{where}: burst needs sentences_per_second")
    return Limits(**values)


def key_entry(name: str, token: str, services: Iterable[str], limits: Limits = Limits(),
              created: str | None = None) -> str:
    """The TOML text of one [[key]] table for a new token (its hash only), checked by parsing it back."""
    return _entry("key", name, {"sha256": hash_token(token)}, services, limits, created)


def certificate_entry(name: str, services: Iterable[str], limits: Limits = Limits(), *, fingerprint: str = "",
                      subject: str = "", created: str | None = None) -> str:
    """The TOML text of one [[certificate]] table, matching by fingerprint or subject, checked by parsing it back."""
    matcher = {"fingerprint": normalize_fingerprint(fingerprint)} if fingerprint else {"subject": subject}
    return _entry("certificate", name, matcher, services, limits, created)


def _entry(kind: str, name: str, matcher: dict[str, str], services: Iterable[str], limits: Limits,
           created: str | None) -> str:
    if not _NAME.fullmatch(name):
        raise KeysFileError(f"{kind} name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    services = list(services)
    check_services(services)
    created = created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # json.dumps writes a valid TOML basic string (a subject may hold quotes and backslashes)
    matched = [f"{field} = {json.dumps(value, ensure_ascii=False)}" for field, value in matcher.items()]
    lines = [f"[[{kind}]]", f'name = "{name}"', *matched,
             "services = [" + ", ".join(f'"{s}"' for s in services) + "]", f'created = "{created}"']
    lines += [f"{limit} = {getattr(limits, limit)}" for limit in _LIMIT_FIELDS if getattr(limits, limit) is not None]
    text = "\n".join(lines) + "\n"
    parse_access_file(text, f"the new {kind}")
    return text


def add_key(path: Path, name: str, services: Iterable[str], limits: Limits = Limits()) -> str:
    """Append a new key to the keys file (created owner-only if absent) and return its token, stored nowhere."""
    token = new_token()
    _append(path, name, key_entry(name, token, services, limits))
    return token


def add_certificate(path: Path, name: str, services: Iterable[str], limits: Limits = Limits(), *,
                    fingerprint: str = "", subject: str = "") -> None:
    """Append a [[certificate]] table to the keys file (created owner-only if absent); servers see it within a second."""
    _append(path, name, certificate_entry(name, services, limits, fingerprint=fingerprint, subject=subject))


def _append(path: Path, name: str, entry: str) -> None:
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    current = parse_access_file(existing, str(path))
    if any(item.name == name for item in (*current.keys, *current.certificates)):
        raise KeysFileError(f"{path}: a key or certificate named {name!r} exists already; "
                            "remove it first or pick another name")
    parse_access_file(existing + "\n" + entry, str(path))  # a certificate listed twice fails here
    separator = "\n" if existing and not existing.endswith("\n\n") else ""
    separator = ("\n" if existing and not existing.endswith("\n") else "") + separator
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as file:
        file.write(separator + entry)


_TABLE_START = re.compile(r"^\s*\[\[?\s*(?:key|certificate|unlisted_certificates)\s*\]\]?", re.MULTILINE)


def remove_key(path: Path, name: str) -> None:
    """Revoke a key or a certificate: rewrite the keys file without its table (atomically, keeping the file's mode).

    Comments and the other tables stay as they were; a running server drops the key
    when it next looks at the file (within a second) or on SIGHUP.
    """
    text = path.read_text(encoding="utf-8")
    parse_access_file(text, str(path))
    starts = [match.start() for match in _TABLE_START.finditer(text)]
    blocks = [text[:starts[0]] if starts else text] + [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]
    kept = [block for block in blocks if not (block is not blocks[0] and _block_name(block) == name)]
    if len(kept) == len(blocks):
        raise KeysFileError(f"{path}: no key or certificate named {name!r}")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, os.stat(path).st_mode & 0o777)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("".join(kept))
    os.replace(temporary, path)


def _block_name(block: str) -> str | None:
    """The name of the one key or certificate a table's text holds (None for [unlisted_certificates])."""
    parsed = parse_access_file(block, "a table")
    entries = [*parsed.keys, *parsed.certificates]
    return entries[0].name if entries else None


class TokenBucket:
    """Sentences per second with a burst: a call is let in while the bucket is not empty, then pays in full.

    Paying after the fact (possibly into debt) lets a call larger than the burst
    through once the caller has been idle, instead of refusing it for ever, while
    the long-run rate still holds: the debt delays the caller's next call.
    """

    def __init__(self, rate: float, size: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.size, self._clock = rate, size, clock
        self._level = size
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._level = min(self.size, self._level + (now - self._at) * self.rate)
        self._at = now

    def take(self, amount: float) -> float:
        """Take `amount` and return 0.0, or take nothing and return the seconds until the bucket is not empty."""
        with self._lock:
            self._refill()
            if self._level <= 0:
                return max(-self._level / self.rate, 0.001)
            self._level -= amount
            return 0.0

    def full(self) -> bool:
        """Whether the bucket is back to its burst size (nothing owed, nothing to remember)."""
        with self._lock:
            self._refill()
            return self._level >= self.size


class CallerState:
    """A key's counters, kept across reloads of the keys file for as long as the key exists."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.active = 0
        self._clock = clock
        self.limits = limits
        self.bucket: TokenBucket | None = None
        self.update(limits)

    @property
    def idle(self) -> bool:
        """No call running and a full bucket: the state a new caller starts in."""
        return self.active == 0 and (self.bucket is None or self.bucket.full())

    def update(self, limits: Limits) -> None:
        """Take new limits from a reloaded keys file (a changed rate starts a full bucket)."""
        previous, self.limits = self.limits, limits
        rate = limits.sentences_per_second
        if rate is None:
            self.bucket = None
        elif self.bucket is None or (previous.sentences_per_second, previous.bucket_size) != (rate, limits.bucket_size):
            self.bucket = TokenBucket(rate, limits.bucket_size, self._clock)


@dataclass
class Caller:
    """Who is calling: a key's or listed certificate's name, another certificate's subject, or "" when open."""

    name: str
    services: frozenset[str] = frozenset({ALL_SERVICES})
    state: CallerState | None = None
    via: str = "open"  # "key", "certificate" or "open"

    def allows(self, service: str) -> bool:
        return ALL_SERVICES in self.services or service in self.services

    @property
    def label(self) -> str:
        """How messages name the caller: "key 'newsroom'" or "certificate 'reporter'"."""
        return f"{'certificate' if self.via == 'certificate' else 'key'} {self.name!r}"


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("crosswire_caller", default=None)


def set_caller(caller: Caller | None) -> contextvars.Token:
    """Make `caller` the caller of the code that runs in this context (the gRPC layer does, per call)."""
    return _caller.set(caller)


def current_caller() -> Caller | None:
    return _caller.get()


def cache_partition() -> str:
    """The translation cache partition of the current caller ("" outside a call or when access is open)."""
    caller = _caller.get()
    return f"{caller.via}:{caller.name}" if caller is not None and caller.name else ""


def charge_sentences(count: int) -> None:
    """Charge `count` sentences to the current caller's rate; RateLimited when its bucket is empty."""
    caller = _caller.get()
    if caller is None or caller.state is None or caller.state.bucket is None or count <= 0:
        return
    wait = caller.state.bucket.take(count)
    if wait:
        rate = caller.state.limits.sentences_per_second
        raise RateLimited(f"{caller.label} is over its limit of sentences_per_second={rate:g}; "
                          f"retry in {wait:.3g} s", limit="sentences_per_second", retry_after_s=wait)


class KeyStore:
    """The keys and client certificates of a keys file, reread when it changes (looked at each second) or on reload().

    A new version that does not parse keeps the entries in force and logs one error
    per broken version; a removed file likewise. Each caller's counters outlive a
    reload (a changed limit applies at once, the calls in progress still count).
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic,
                 check_every_s: float = RELOAD_CHECK_S) -> None:
        self.path = Path(path)
        self._clock, self._check_every_s = clock, check_every_s
        self._lock = threading.Lock()
        self._signature = self._stat()
        self._failed: tuple | None = None
        self._states: dict[str, CallerState] = {}
        self._unlisted_states: dict[str, CallerState] = {}  # by fingerprint; idle ones pruned past MAX_UNLISTED_STATES
        self._unlisted_lock = threading.Lock()
        self._load(self._read())
        self._checked = clock()

    def _stat(self) -> tuple | None:
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def _read(self) -> AccessFile:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeysFileError(f"cannot read the keys file {self.path}: {exc}") from None
        return parse_access_file(text, str(self.path))

    def _load(self, file: AccessFile) -> None:
        """Put `file` in force: lookups built once per load, each entry's counters kept by name, its limits updated."""
        self._file, self._digests = file, _digests(file.keys)
        self._by_fingerprint = {entry.fingerprint: entry for entry in file.certificates if entry.fingerprint}
        self._by_subject = {entry.subject: entry for entry in file.certificates if entry.subject}
        entries = [*file.keys, *file.certificates]
        self._states = {entry.name: self._states.get(entry.name) or CallerState(entry.limits, self._clock)
                        for entry in entries}
        for entry in entries:
            self._states[entry.name].update(entry.limits)
        if file.unlisted is None:
            self._unlisted_states = {}
        else:
            for state in self._unlisted_states.values():
                state.update(file.unlisted.limits)

    def current(self) -> AccessFile:
        """What the file says now, after rereading it if it changed since the last look (at most once a second)."""
        if self._clock() - self._checked >= self._check_every_s:
            self._maybe_reload(force=False)
        return self._file

    def keys(self) -> list[ApiKey]:
        """The keys in force (see `current`)."""
        return list(self.current().keys)

    def reload(self) -> bool:
        """Reread the file now (SIGHUP); True when the new keys took effect."""
        return self._maybe_reload(force=True)

    def _maybe_reload(self, force: bool) -> bool:
        with self._lock:
            self._checked = self._clock()
            signature = self._stat()
            if not force and signature == self._signature:
                return False
            try:
                file = self._read()
            except KeysFileError as exc:
                if force or signature != self._failed:
                    log.error(f"{exc}; keeping the {len(self._file.keys)} keys in force")
                self._failed = signature
                return False
            self._signature, self._failed = signature, None
            self._load(file)
            log.info("keys reloaded", extra={"fields": {"keys": len(file.keys), "certificates": len(file.certificates),
                                                        "file": str(self.path)}})
            return True

    def _state(self, entry: ApiKey | CertificateEntry) -> CallerState:
        return self._states.get(entry.name) or self._states.setdefault(entry.name,
                                                                       CallerState(entry.limits, self._clock))

    def find(self, token: str) -> tuple[ApiKey, CallerState] | None:
        """The key whose hash matches the token's, compared in constant time against every key, and its state."""
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        found: ApiKey | None = None
        self.current()  # reread first if the file changed
        for known, key in self._digests:
            if hmac.compare_digest(digest, known):
                found = key
        return None if found is None else (found, self._state(found))

    def find_certificate(self, fingerprint: str, subject: str) -> tuple[CertificateEntry, CallerState] | None:
        """The entry a verified client certificate matches (by fingerprint, else subject) and its state; else the
        [unlisted_certificates] default with counters of that certificate's own; else None: refused."""
        file = self.current()
        entry = (self._by_fingerprint.get(fingerprint) if fingerprint else None) or \
            (self._by_subject.get(subject) if subject else None)
        if entry is not None:
            return entry, self._state(entry)
        if file.unlisted is None:
            return None
        identity = fingerprint or subject
        with self._unlisted_lock:
            state = self._unlisted_states.get(identity)
            if state is None:
                if len(self._unlisted_states) >= MAX_UNLISTED_STATES:
                    self._unlisted_states = {name: kept for name, kept in self._unlisted_states.items()
                                             if not kept.idle}
                state = self._unlisted_states[identity] = CallerState(file.unlisted.limits, self._clock)
        return file.unlisted, state


def _digests(keys: Iterable[ApiKey]) -> list[tuple[bytes, ApiKey]]:
    """Each key's hash as bytes, decoded once per load rather than once per call and key."""
    return [(bytes.fromhex(key.sha256), key) for key in keys]


_BEARER = re.compile(r"bearer[ \t]+(\S+)[ \t]*", re.IGNORECASE)


@dataclass
class Access:
    """The server's access rules: the keys (if any), whether client certificates are required, which services are open."""

    keys: KeyStore | None = None
    client_certificates: bool = False
    open_services: frozenset[str] = frozenset({"health"})

    @property
    def enabled(self) -> bool:
        return self.keys is not None or self.client_certificates

    def authenticate(self, authorization: str | None, certificate_subject: str | None,
                     certificate_fingerprint: str = "") -> Caller:
        """The caller a call's `authorization` metadata and verified client certificate stand for.

        A token, when sent, decides; without one, a verified client certificate
        does (`certificate_caller`). Unauthenticated otherwise. The token is never
        part of a message.
        """
        if not self.enabled:
            return Caller("")
        if authorization is not None and self.keys is not None:
            match = _BEARER.fullmatch(authorization)
            if match is None:
                raise Unauthenticated("the authorization metadata must read 'Bearer <API key>'")
            found = self.keys.find(match.group(1))
            if found is None:
                raise Unauthenticated("the API key is not valid (unknown, mistyped or revoked)")
            key, state = found
            return Caller(key.name, key.services, state, via="key")
        if certificate_subject or certificate_fingerprint:
            return self.certificate_caller(certificate_subject or "", certificate_fingerprint)
        raise Unauthenticated("this server needs an API key: send the metadata 'authorization: Bearer <API key>' "
                              "(crosswire clients: the CROSSWIRE_API_KEY variable or api_key=)")

    def certificate_caller(self, subject: str, fingerprint: str) -> Caller:
        """The caller a verified client certificate stands for.

        Without a keys file the CA is the list: every certificate it signed may call
        every service, without limits, named by its subject. With one, the entry the
        certificate matches decides (its name, services and limits), else the
        [unlisted_certificates] table (named by its subject, counted on its own), else
        PermissionDenied: a keys file lists who may call, certificates included.
        """
        fallback = subject or f"sha256:{fingerprint[:16]}"
        if self.keys is None:
            return Caller(fallback, via="certificate")
        found = self.keys.find_certificate(fingerprint, subject)
        if found is None:
            raise PermissionDenied(f"the client certificate {fallback!r} (SHA-256 {fingerprint or 'unknown'}) is not "
                                   "listed in the server's keys file, and certificates it does not list are refused")
        entry, state = found
        return Caller(entry.name or fallback, entry.services, state, via="certificate")

    def authorize(self, caller: Caller, service: str) -> None:
        """PermissionDenied when the caller may not call `service`, naming what it may call."""
        if not caller.allows(service):
            allowed = ", ".join(sorted(caller.services)) or "nothing"
            raise PermissionDenied(f"{caller.label} may not call the {service} service; it may call: {allowed}")

    def allows_scrape(self, authorization: str | None) -> bool:
        """Whether an HTTP Authorization header carries a key allowed the 'metrics' service."""
        try:
            caller = self.authenticate(authorization, None)
        except Unauthenticated:
            return False
        return caller.allows("metrics")

    def needs_credentials(self, service: str) -> bool:
        """Whether a call to `service` must authenticate (health never does; reflection as configured)."""
        return self.enabled and service not in self.open_services


class Gauge:
    """A count of calls in progress with a cap (0 = none), for the server-wide and per-key limits."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.value = 0

    def enter(self) -> bool:
        """Count one more call; False (and no count) when that would go over the cap."""
        if self.cap and self.value >= self.cap:
            return False
        self.value += 1
        return True

    def leave(self) -> None:
        self.value -= 1


def enter_call(caller: Caller, retry_after_s: float = 1.0) -> None:
    """Count a call of `caller` against its max_concurrent_calls; RateLimited (retry after `retry_after_s`) when it has that many open."""
    state = caller.state
    if state is None:
        return
    cap = state.limits.max_concurrent_calls
    if cap is not None and state.active >= cap:
        raise RateLimited(f"{caller.label} has {state.active} calls in progress, its limit of "
                          f"max_concurrent_calls={cap}; retry when one has finished",
                          limit="max_concurrent_calls", retry_after_s=retry_after_s)
    state.active += 1


def leave_call(caller: Caller) -> None:
    if caller.state is not None:
        caller.state.active -= 1


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback one (127.0.0.0/8, ::1, localhost); unresolvable = no."""
    host = host.strip().strip("[]")
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def exposure_problem(host: str, keys: bool, client_ca: bool, insecure: bool) -> str | None:
    """Why serving on `host` would let anyone call, or None: a non-loopback bind needs keys, client certificates or --insecure."""
    if keys or client_ca or insecure or is_loopback(host):
        return None
    return (f"refusing to serve on {host}, reachable from other machines, with no access control: give "
            "--api-keys FILE (see `crosswire keys create`) or --tls-client-ca PEM, or --insecure to let anyone call")


def access_from_config(config: ServerConfig) -> Access:
    """The access rules a server's settings ask for; KeysFileError when the keys file is unusable."""
    if config.metrics_access == "keys" and not config.api_keys:
        raise KeysFileError("--metrics-access keys needs --api-keys FILE (a key allowed the 'metrics' service)")
    keys = KeyStore(Path(config.api_keys)) if config.api_keys else None
    open_services = {"health"} | ({"reflection"} if config.reflection == "open" else set())
    return Access(keys, bool(config.tls_client_ca), frozenset(open_services))
