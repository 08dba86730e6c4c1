"""The HTTP surface: Streamable HTTP at `/mcp`, SSE at `/sse`, `/healthz`, and the orgs' public
keys at `/.well-known/jwks.json` (`?org=ORG` for one org's).

Agents authenticate with their token as a bearer token; an unknown token gets 401 and an
entry in the platform audit chain. One runtime (store, gate) serves every connection. The JWKS
is public: it is what an outsider verifies the chain, checkpoints and exports with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fiduciary.audit.jwks import jwks
from fiduciary.domain import limits
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.runtime import Runtime, open_runtime
from fiduciary.server.agent_plane import AgentPlane
from fiduciary.settings import Settings

AGENT_SCOPE = "agent"

_client: ContextVar[str] = ContextVar("fiduciary_http_client", default="http:unknown")
"""The peer address of the request being served: the source unauthenticated refusals are counted by."""


class _RecordClient:
    """ASGI middleware: remember the peer address for the token check further in."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            _client.set(f"http:{client[0]}" if client else "http:unknown")
        await self._app(scope, receive, send)


class _Shared:
    """The one runtime the host app opens and every MCP session borrows."""

    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    def get(self) -> Runtime:
        assert self.runtime is not None, "the HTTP app's lifespan opens the runtime first"
        return self.runtime

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[Runtime]:
        yield self.get()


class AgentTokenVerifier:
    """Maps a bearer token to its agent; the SDK answers 401 when this returns None."""

    def __init__(self, shared: _Shared) -> None:
        self._shared = shared

    async def verify_token(self, token: str) -> AccessToken | None:
        gate = self._shared.get().gate
        caller = await gate.authenticate(token, tool="http", reference=new_id(Prefix.REFERENCE), source=_client.get())
        if caller is None:
            return None
        claims = {"org_id": caller.org_id, "project_id": caller.project_id}
        return AccessToken(
            token=token, client_id=caller.agent_id, scopes=[AGENT_SCOPE], subject=caller.agent_id, claims=claims
        )


def build_http_app(settings: Settings, *, host: str, port: int) -> Starlette:
    """The ASGI app `fiduciary serve --http` runs; tests run it under uvicorn on 127.0.0.1."""
    shared = _Shared()
    base = f"http://{host}:{port}"
    # Strings, validated by the model: a URL object would gain a trailing slash.
    auth = AuthSettings.model_validate(
        {
            "issuer_url": base,
            "resource_server_url": f"{base}/mcp",
            "required_scopes": [AGENT_SCOPE],
            "validate_token_resource": False,  # the verifier binds each token to an agent of this server
        }
    )
    plane = AgentPlane(shared.borrow, token_verifier=AgentTokenVerifier(shared), auth=auth)
    body_max = limits.http_request_body_bytes_max
    mcp_app = plane.streamable_http_app(host=host, max_request_body_size=body_max)
    sse_app = plane.sse_app(host=host, max_request_body_size=body_max)

    async def healthz(request: Request) -> JSONResponse:
        runtime = shared.get()
        await runtime.store.read.org_ids()  # the database answers
        return JSONResponse({"status": "ok"})

    async def jwks_json(request: Request) -> JSONResponse:
        org_id = request.query_params.get("org")
        keys = await shared.get().store.read.key_rows(org_id)
        if org_id is not None and not keys:
            return JSONResponse({"error": "not_found", "message": "no such org"}, status_code=404)
        return JSONResponse(jwks(keys), headers={"Cache-Control": f"public, max-age={limits.jwks_max_age_seconds}"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_runtime(settings, maintain=True) as runtime:
            shared.runtime = runtime
            async with plane.session_manager.run():
                yield
            shared.runtime = None

    # The inner apps route on the full path, so each is attached by exact route, not mounted.
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks_json, methods=["GET"]),
        Route("/mcp", mcp_app),
        Route("/.well-known/oauth-protected-resource/mcp", mcp_app),
        Route("/sse", sse_app),
        Route("/messages/", sse_app),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(_RecordClient)])
    app.state.runtime = lambda: shared.runtime  # the admin listener serves the same runtime
    return app
