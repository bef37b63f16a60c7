"""--max-connection-age-s: the server retires aged connections (GOAWAY), and clients reconnect without a failed call.

Clients that balance over a dns:/// name resolve it again only when a connection closes; retiring connections is
what lets them find replicas an autoscaler added (deploy/, docs/scaling.md).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crosswire_server.app import SEGMENTATION_SERVICE
from crosswire_server.config import ServerConfig
from support.server import ServerThread


class Connections:
    """Counts the times a channel becomes READY (each is a new connection) and notices when it leaves READY."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.ready = 0
        self.left_ready = threading.Event()
        self._last: grpc.ChannelConnectivity | None = None
        channel.subscribe(self._changed, try_to_connect=True)

    def _changed(self, state: grpc.ChannelConnectivity) -> None:
        if state == grpc.ChannelConnectivity.READY and self._last != state:
            self.ready += 1
        if self._last == grpc.ChannelConnectivity.READY and state != state.READY:
            self.left_ready.set()
        self._last = state


def check(channel: grpc.Channel) -> None:
    response = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=SEGMENTATION_SERVICE), timeout=10)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_an_aged_connection_is_closed_by_the_server(tmp_path: Path) -> None:
    with ServerThread(tmp_path, max_connection_age_s=0.5) as handle, \
            grpc.insecure_channel(handle.address) as channel:
        connections = Connections(channel)
        check(channel)
        assert connections.left_ready.wait(20), "the server should retire the connection after 0.5 s"


def test_without_the_setting_a_connection_stays_open(tmp_path: Path) -> None:
    with ServerThread(tmp_path) as handle, grpc.insecure_channel(handle.address) as channel:
        connections = Connections(channel)
        check(channel)
        assert not connections.left_ready.wait(2.0)
        assert connections.ready == 1


def test_calls_go_on_across_reconnections_without_failing(tmp_path: Path) -> None:
    with ServerThread(tmp_path, max_connection_age_s=0.3) as handle, \
            grpc.insecure_channel(handle.address) as channel:
        connections = Connections(channel)
        calls = 0
        deadline = time.monotonic() + 30
        while connections.ready < 3 and time.monotonic() < deadline:
            check(channel)  # raises if any call fails
            calls += 1
        assert connections.ready >= 3, "the client should have reconnected at least twice"
        assert calls > connections.ready


def test_the_setting_is_a_flag_and_a_variable() -> None:
    assert ServerConfig.from_env({"CROSSWIRE_MAX_CONNECTION_AGE_S": "300"}).max_connection_age_s == 300.0
    with pytest.raises(ValueError, match="CROSSWIRE_MAX_CONNECTION_AGE_S"):
        ServerConfig.from_env({"CROSSWIRE_MAX_CONNECTION_AGE_S": "soon"})
