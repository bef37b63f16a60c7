"""A real Crosswire gRPC server on a loopback port, run in a background thread for tests."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from crosswire_server.app import CrosswireServer
from crosswire_server.config import ServerConfig


class ServerThread:
    """Starts a CrosswireServer on 127.0.0.1:<free port> in its own event loop thread."""

    def __init__(self, models_dir: Path, wait_ready: bool = True, **settings: Any) -> None:
        settings = {"host": "127.0.0.1", "port": 0, **settings}
        self.config = ServerConfig.from_env({}, models_dir=models_dir, **settings)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.server: CrosswireServer = self.call(self._make())
        self.port = self.call(self.server.start())
        self.address = f"127.0.0.1:{self.port}"
        if wait_ready:
            self.call(self.server.wait_until_ready())

    async def _make(self) -> CrosswireServer:
        return CrosswireServer(self.config)

    def call(self, coroutine: Any, timeout: float = 120) -> Any:
        """Run a coroutine in the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self, grace: float = 0) -> None:
        self.call(self.server.stop(grace))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
