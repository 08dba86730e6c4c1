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
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from mcp import StdioServerParameters
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from fiduciary.control import Tenant
from fiduciary.domain.clock import SystemClock
from fiduciary.server.admin import build_admin_app
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
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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


@dataclass(frozen=True, slots=True)
class Servers:
    agent_port: int
    admin_port: int
    tenant: Tenant
    settings: Settings

    def admin(self, path: str) -> str:
        return f"http://{HOST}:{self.admin_port}/admin/v1{path}"


def _serve(app: Any, *, lifespan: str) -> tuple[uvicorn.Server, threading.Thread, socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host=HOST, port=port, log_config=None, access_log=False, lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    return server, thread, sock, port


@pytest.fixture
async def servers(settings: Settings) -> AsyncIterator[Servers]:
    tenant = await make_tenant(settings, SystemClock())
    agent_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    agent_sock.bind((HOST, 0))
    agent_port = agent_sock.getsockname()[1]
    app = build_http_app(settings, host=HOST, port=agent_port)
    config = uvicorn.Config(app, host=HOST, port=agent_port, log_config=None, access_log=False)
    agent_server = uvicorn.Server(config)
    agent_thread = threading.Thread(target=agent_server.run, kwargs={"sockets": [agent_sock]}, daemon=True)
    agent_thread.start()
    admin_server, admin_thread, admin_sock, admin_port = _serve(build_admin_app(app.state.runtime), lifespan="off")
    try:
        with anyio.fail_after(SERVER_START_SECONDS_MAX):
            while not (agent_server.started and admin_server.started):
                assert agent_thread.is_alive() and admin_thread.is_alive(), "a server exited during start-up"
                await anyio.sleep(0.01)
        yield Servers(agent_port, admin_port, tenant, settings)
    finally:
        for server in (agent_server, admin_server):
            server.should_exit = True
        for thread in (agent_thread, admin_thread):
            await anyio.to_thread.run_sync(thread.join, SERVER_START_SECONDS_MAX)
        agent_sock.close()
        admin_sock.close()


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def agent_pays(s: Servers, amount: str, *, purpose: str = "laptop <b>now</b>") -> dict[str, Any]:
    """One `pay` by the tenant's agent through the official MCP client over Streamable HTTP."""
    http = httpx2.AsyncClient(headers=bearer(s.tenant.agent_token))
    url = f"http://{HOST}:{s.agent_port}/mcp"
    async with http, Client(streamable_http_client(url, http_client=http)) as c:
        args = {"amount": amount, "currency": "USD", "counterparty": "acct:laptops", "purpose": purpose}
        result = await c.call_tool("pay", args)
    assert isinstance(result.structured_content, dict)
    return result.structured_content
