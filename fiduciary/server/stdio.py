"""The stdio transport, with an answer for every frame.

The SDK's stdio reader turns a line it cannot parse into an exception on its read stream, and
the server then answers nothing: a client that sent a malformed frame (a lone surrogate, a raw
control character, nesting too deep, not JSON at all) waits forever. JSON-RPC 2.0 requires an
error response with a null id: -32700 when the text is not JSON, -32600 when it is JSON but not
a JSON-RPC message. `serve_stdio` puts that answer on the wire and passes every good frame on.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

log = logging.getLogger(__name__)


def frame_error(exc: Exception) -> JSONRPCError:
    """The JSON-RPC error for a frame that could not be read; it never echoes the frame."""
    not_json = not isinstance(exc, ValidationError) or any(e["type"] == "json_invalid" for e in exc.errors())
    error = (
        ErrorData(code=PARSE_ERROR, message="Parse error")
        if not_json
        else ErrorData(code=INVALID_REQUEST, message="Invalid Request")
    )
    return JSONRPCError(jsonrpc="2.0", id=None, error=error)


async def serve_stdio(server: Server[Any]) -> None:
    """Serve one MCP connection on stdin/stdout until stdin closes."""
    async with stdio_server() as (wire_in, wire_out):
        send, receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)

        async def screen_frames() -> None:
            async with send:
                async for item in wire_in:
                    if isinstance(item, Exception):
                        log.info("answered an unreadable stdio frame with a JSON-RPC error")
                        await wire_out.send(SessionMessage(frame_error(item)))
                        continue
                    await send.send(item)

        async with anyio.create_task_group() as tg:
            tg.start_soon(screen_frames)
            await server.run(receive, wire_out, server.create_initialization_options())
