"""What a client shows a server that checks who calls: an API key on every call, a certificate for mutual TLS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import grpc

#: The variable the command line reads an API key from (a token on the command line would show in `ps`).
API_KEY_ENV = "CROSSWIRE_API_KEY"


def channel_credentials(tls: bool, root_certificates: bytes | None = None, certificate_chain: bytes | None = None,
                        private_key: bytes | None = None) -> grpc.ChannelCredentials | None:
    """TLS credentials (with the client's certificate and key for mutual TLS), or None for plaintext."""
    if (certificate_chain is None) != (private_key is None):
        raise ValueError("a client certificate needs its private key and the reverse (certificate_chain, private_key)")
    if not tls and root_certificates is None and certificate_chain is None:
        return None
    return grpc.ssl_channel_credentials(root_certificates=root_certificates, private_key=private_key,
                                        certificate_chain=certificate_chain)


def check_api_key(api_key: str) -> str:
    """The key without surrounding whitespace (as read from a file); ValueError, never echoing it, when unusable."""
    key = api_key.strip()
    if not key or any(c.isspace() or not c.isprintable() for c in key):
        raise ValueError("the API key is empty or contains spaces or control characters")
    return key


class _Details(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: Any
    compression: Any


class _SyncDetails(_Details, grpc.ClientCallDetails):
    """grpc.ClientCallDetails with the key added to its metadata."""


class BearerInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                        grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds `authorization: Bearer <key>` to every call of a blocking channel."""

    def __init__(self, api_key: str) -> None:
        self._header = ("authorization", f"Bearer {check_api_key(api_key)}")

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        return _SyncDetails(details.method, details.timeout, (*(details.metadata or ()), self._header),
                            details.credentials, getattr(details, "wait_for_ready", None),
                            getattr(details, "compression", None))

    def _intercept(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._details(details), request)

    intercept_unary_unary = intercept_unary_stream = _intercept
    intercept_stream_unary = intercept_stream_stream = _intercept


class AsyncBearerInterceptor(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor,
                             grpc.aio.StreamUnaryClientInterceptor, grpc.aio.StreamStreamClientInterceptor):
    """Adds `authorization: Bearer <key>` to every call of an asyncio channel."""

    def __init__(self, api_key: str) -> None:
        self._header = ("authorization", f"Bearer {check_api_key(api_key)}")

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()), self._header)
        return grpc.aio.ClientCallDetails(details.method, details.timeout, metadata, details.credentials,
                                          details.wait_for_ready)

    async def _intercept(self, continuation: Callable[..., Any], details: grpc.aio.ClientCallDetails,
                         request: Any) -> Any:
        return await continuation(self._details(details), request)

    intercept_unary_unary = intercept_unary_stream = _intercept
    intercept_stream_unary = intercept_stream_stream = _intercept
