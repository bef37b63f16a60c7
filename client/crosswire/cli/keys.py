"""`crosswire keys`: make, list and revoke the API keys of a server's keys file (`serve --api-keys FILE`).

`create` prints the new key once, on stdout, and appends only its SHA-256 to the
file: a lost key cannot be recovered, only replaced. With `--certificate PEM` (or
`--subject`) it lists a client certificate (mutual TLS) instead: no key is made,
the certificate gets the name, services and limits. A running server picks the
change up within a second (it watches the file) or at once on SIGHUP.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crosswire.cli import CLIError
from crosswire.cli.arguments import positive_int

KEYS_ENV = "CROSSWIRE_API_KEYS"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("keys", help="make, list and revoke API keys of a server's keys file",
                                   description=__doc__.split("\n\n")[1])
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a key, print it once and append its hash to the keys file; "
                                               "or list a client certificate (--certificate, --subject)")
    create.add_argument("name", help="the key's name, shown in the server's request log (letters, digits, . _ -)")
    create.add_argument("--services", required=True, metavar="LIST",
                        help="comma-separated services the key may call: translation, segmentation, alignment, "
                             "library, reflection, metrics, or * for all")
    _file_argument(create)
    certificate = create.add_mutually_exclusive_group()
    certificate.add_argument("--certificate", type=Path, metavar="PEM",
                             help="list this client certificate (matched by its SHA-256: that certificate only) "
                                  "instead of making a key")
    certificate.add_argument("--subject", metavar="SUBJECT",
                             help="list client certificates with this subject, RFC 2253 (e.g. CN=reporter,O=News): "
                                  "any the CA signs with it, renewals included")
    create.add_argument("--max-concurrent-calls", type=positive_int, metavar="N",
                        help="calls of this key in progress at once (default: no limit)")
    create.add_argument("--sentences-per-second", type=_positive_number, metavar="RATE",
                        help="sentences this key may have translated per second (default: no limit)")
    create.add_argument("--burst", type=_positive_number, metavar="SENTENCES",
                        help="with --sentences-per-second: sentences at once after an idle spell (default: RATE)")
    create.set_defaults(run=run_create)
    listing = actions.add_parser("list", help="the keys and certificates in the file: names, services and limits "
                                              "(never tokens)")
    _file_argument(listing)
    listing.set_defaults(run=run_list)
    revoke = actions.add_parser("revoke", help="remove a key or certificate from the keys file; servers drop it "
                                               "within a second")
    revoke.add_argument("name", help="the key's or certificate's name")
    _file_argument(revoke)
    revoke.set_defaults(run=run_revoke)


def _file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", type=Path, metavar="FILE",
                        help=f"the keys file (default: the {KEYS_ENV} variable, as `serve` reads it)")


def _positive_number(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value[:20]!r}") from None
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {value}")
    return number


def _keys_file(args: argparse.Namespace) -> Path:
    path = args.file or (Path(os.environ[KEYS_ENV]) if os.environ.get(KEYS_ENV) else None)
    if path is None:
        raise CLIError(f"name the keys file with --file FILE or the {KEYS_ENV} variable")
    return path


def _access():  # noqa: ANN202 - the module, imported only when the server side is installed
    try:
        from crosswire_server import access
    except ImportError:
        raise CLIError("keys files belong to the server: pip install 'crosswire[server]'") from None
    return access


def run_create(args: argparse.Namespace) -> int:
    access = _access()
    services = [s.strip() for s in args.services.split(",") if s.strip()]
    if args.burst is not None and args.sentences_per_second is None:
        raise CLIError("--burst needs --sentences-per-second")
    limits = access.Limits(args.max_concurrent_calls, args.sentences_per_second, args.burst)
    path = _keys_file(args)
    if args.certificate is not None or args.subject is not None:
        return _create_certificate(access, args, path, services, limits)
    try:
        token = access.add_key(path, args.name, services, limits)
    except (access.KeysFileError, OSError) as exc:
        raise CLIError(str(exc)) from None
    print(token)
    print(f"added key {args.name!r} to {path}; the key above is shown only this once", file=sys.stderr)
    return 0


def _create_certificate(access, args: argparse.Namespace, path: Path,  # noqa: ANN001 - crosswire_server.access
                        services: list[str], limits) -> int:  # noqa: ANN001
    """List a client certificate, by the SHA-256 of a PEM file or by a subject, with the key's services and limits."""
    fingerprint = ""
    if args.certificate is not None:
        try:
            fingerprint = access.certificate_fingerprint(args.certificate.read_bytes())
        except (OSError, ValueError) as exc:
            raise CLIError(f"{args.certificate}: {exc}") from None
    try:
        access.add_certificate(path, args.name, services, limits, fingerprint=fingerprint, subject=args.subject or "")
    except (access.KeysFileError, OSError) as exc:
        raise CLIError(str(exc)) from None
    matched = f"SHA-256 {fingerprint}" if fingerprint else f"subject {args.subject!r}"
    print(f"added certificate {args.name!r} ({matched}) to {path}; no key is made", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    """One line per entry: name, services, limits, and for certificates what they are matched by."""
    access = _access()
    path = _keys_file(args)
    try:
        listed = access.KeyStore(path).current()
    except access.KeysFileError as exc:
        raise CLIError(str(exc)) from None
    for key in listed.keys:
        print(f"{key.name}\t{_grant(key)}")
    for entry in listed.certificates:
        matched = f"sha256={entry.fingerprint}" if entry.fingerprint else f"subject={entry.subject}"
        print(f"{entry.name}\t{_grant(entry)}\tcertificate {matched}")
    if listed.certificates or listed.unlisted is not None:
        grant = _grant(listed.unlisted) if listed.unlisted is not None else "refused"
        print(f"(unlisted certificates)\t{grant}")
    return 0


def _grant(entry) -> str:  # noqa: ANN001 - a key or certificate entry of crosswire_server.access
    limits = ", ".join(f"{name}={value:g}" for name, value in vars(entry.limits).items() if value is not None)
    return f"{','.join(sorted(entry.services))}\t{limits or 'no limits'}"


def run_revoke(args: argparse.Namespace) -> int:
    access = _access()
    path = _keys_file(args)
    try:
        access.remove_key(path, args.name)
    except (access.KeysFileError, OSError) as exc:
        raise CLIError(str(exc)) from None
    print(f"removed {args.name!r} from {path}", file=sys.stderr)
    return 0
