"""Certificates made with openssl for TLS tests on loopback: self-signed, or a CA with server and client ones."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a test certificate")


def self_signed(folder: Path) -> tuple[Path, Path]:
    """(key, certificate) PEM files valid for localhost and 127.0.0.1, written into `folder`."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return key, cert


def _openssl(*arguments: object) -> None:
    subprocess.run(["openssl", *map(str, arguments)], check=True, capture_output=True)


def certificate_authority(folder: Path, name: str = "Crosswire Test CA") -> tuple[Path, Path]:
    """(key, certificate) of a fresh CA, written into `folder`, for signing server and client certificates."""
    key, cert = folder / f"{name.replace(' ', '-')}-key.pem", folder / f"{name.replace(' ', '-')}.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
             "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, cert


def signed(folder: Path, ca: tuple[Path, Path], common_name: str, client: bool = False) -> tuple[Path, Path]:
    """(key, certificate) for `common_name` signed by `ca`: a server one for localhost/127.0.0.1, or a client one."""
    ca_key, ca_cert = ca
    stem = folder / common_name.replace(" ", "-")
    key, request, cert, extensions = (stem.with_suffix(suffix) for suffix in (".key", ".csr", ".pem", ".ext"))
    usage = "clientAuth" if client else "serverAuth"
    names = "" if client else "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    extensions.write_text(f"basicConstraints=CA:FALSE\nextendedKeyUsage={usage}\n{names}")
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request,
             "-subj", f"/CN={common_name}")
    _openssl("x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
             "-days", "1", "-extfile", extensions)
    return key, cert
