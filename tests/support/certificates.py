"""A self-signed certificate for localhost, made with openssl, for TLS tests on loopback."""

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
