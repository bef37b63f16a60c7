"""Crosswire: translate Russian news into English and line it up with English coverage.

`from crosswire import Client, AsyncClient` gives the gRPC client; the typed
results live in `crosswire.types`. The client modules are imported lazily so
that `crosswire.types` stays free of grpc for the server core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Client", "AsyncClient", "CrosswireError"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from crosswire.client import AsyncClient, Client, CrosswireError


def __getattr__(name: str) -> Any:
    if name in __all__:
        from crosswire import client

        return getattr(client, name)
    raise AttributeError(f"module 'crosswire' has no attribute {name!r}")
