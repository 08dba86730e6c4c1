"""Malformed JSON-RPC frames over stdio get a JSON-RPC error, and the connection goes on.

The server is `python -m fiduciary serve` as a real subprocess, spoken to line by line.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

from fiduciary.control import Tenant
from fiduciary.settings import Settings

pytestmark = pytest.mark.anyio

ANSWER_SECONDS_MAX = 20
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


class Lines:
    """The server's stdout, one JSON message a line."""

    def __init__(self, process: Process) -> None:
        assert process.stdout is not None
        self._text = TextReceiveStream(process.stdout)
        self._buffer = ""

    async def next(self) -> dict[str, Any]:
        with anyio.fail_after(ANSWER_SECONDS_MAX):
            while "\n" not in self._buffer:
                self._buffer += await self._text.receive()
        line, self._buffer = self._buffer.split("\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\\ud800"}}', -32700),
        (b'{"jsonrpc":"2.0","id":2,"method":"ping\x01"}', -32700),
        (b"[" * 5000 + b"]" * 5000, -32700),
        (b"not json at all", -32700),
        (b'{"hello": "world"}', -32600),
    ],
    ids=["lone-surrogate", "raw-control-character", "deep-nesting", "not-json", "not-json-rpc"],
)
async def test_a_malformed_frame_gets_a_json_rpc_error_and_the_session_goes_on(
    settings: Settings, tenant: Tenant, frame: bytes, code: int
) -> None:
    command = [sys.executable, "-m", "fiduciary", "serve", "--home", str(settings.home)]
    env = {"FIDUCIARY_AGENT_TOKEN": tenant.agent_token, "FIDUCIARY_LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"}
    async with await anyio.open_process(command, env=env, stderr=None) as process:
        assert process.stdin is not None
        lines = Lines(process)
        await process.stdin.send(json.dumps(INITIALIZE).encode() + b"\n")
        assert (await lines.next())["id"] == 0
        await process.stdin.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

        await process.stdin.send(frame + b"\n")
        error = await lines.next()
        assert error == {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": error["error"]["message"]}}

        await process.stdin.send(b'{"jsonrpc":"2.0","id":7,"method":"ping"}\n')
        assert await lines.next() == {"jsonrpc": "2.0", "id": 7, "result": {}}
        await process.stdin.aclose()
        with anyio.fail_after(ANSWER_SECONDS_MAX):
            await process.wait()
