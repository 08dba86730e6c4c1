"""Real servers for the end-to-end tests: uvicorn on 127.0.0.1 in a thread, `fiduciary serve` over stdio.

These servers read the wall clock, so their tenant is created with the system clock: a tenant
made with the fake clock would hold a mandate that expired long ago.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import pytest
import uvicorn
from mcp import StdioServerParameters

from fiduciary.control import Tenant
from fiduciary.domain.clock import SystemClock
from fiduciary.server.http import build_http_app
from fiduciary.settings import Settings
from tests.conftest import make_tenant

HOST = "127.0.0.1"
SERVER_START_SECONDS_MAX = 15
SERVER_STOP_SECONDS_MAX = 15


@dataclass(frozen=True, slots=True)
class HttpServer:
    """A running `build_http_app` and the tenant whose agent may call it."""

    port: int
    settings: Settings
    tenant: Tenant

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tenant.agent_token}"}


def stdio_server(settings: Settings, token: str) -> StdioServerParameters:
    """`python -m fiduciary serve --home H`, the agent's token in its environment."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "fiduciary", "serve", "--home", str(settings.home)],
        env={"FIDUCIARY_AGENT_TOKEN": token, "FIDUCIARY_LOG_LEVEL": "WARNING"},
    )


@pytest.fixture
async def live_tenant(settings: Settings) -> Tenant:
    """A tenant for servers that run on the system clock."""
    return await make_tenant(settings, SystemClock())


@pytest.fixture
async def http_server(settings: Settings, live_tenant: Tenant) -> AsyncIterator[HttpServer]:
    """`build_http_app` under a real uvicorn on 127.0.0.1 and a free port, stopped at teardown.

    The server runs in a daemon thread, so it dies with the test process if that process dies.
    The socket is bound here, before the app is built, so the port is known and cannot be taken.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    app = build_http_app(settings, host=HOST, port=port)
    config = uvicorn.Config(app, host=HOST, port=port, log_config=None, access_log=False, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        with anyio.fail_after(SERVER_START_SECONDS_MAX):
            while not server.started:
                assert thread.is_alive(), "the HTTP server exited during start-up"
                await anyio.sleep(0.01)
        yield HttpServer(port, settings, live_tenant)
    finally:
        server.should_exit = True
        await anyio.to_thread.run_sync(thread.join, SERVER_STOP_SECONDS_MAX)
        sock.close()
    assert not thread.is_alive(), "the HTTP server did not stop"
