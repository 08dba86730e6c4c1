"""What the fake providers share: faults, replies, answers stored by key, control endpoints and `serve`.

A fake answers an API request in three steps:

1. `Faults.take` picks the fault queued for the request's path, if any. `unavailable` answers 503
   there, before the request is read, so nothing is stored or changed.
2. The provider's handler runs under the fake's lock and returns a `Reply`: what a healthy provider
   would answer, its state already changed and, for idempotent requests, already stored.
3. `FakeProvider._deliver` sends that reply, or what the fault makes of it: a 500, a late answer, a
   dropped connection, a wrong or negative amount, a body that is not JSON or is too large, or the
   reference of an older object.

Because the stored answer is always the healthy one, a retry after a fault sees the real outcome.
The control endpoints `POST /_faults`, `DELETE /_faults` and `GET /_state` are never faulted.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hmac
import json
import random
import re
import socket
import string
import threading
from abc import ABC, abstractmethod
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, ClassVar, Final, Literal, cast, get_args

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from fiduciary.domain.clock import Clock, SystemClock

HOST: Final = "127.0.0.1"
REQUEST_BODY_BYTES_MAX: Final = 1024 * 1024
HUGE_BODY_BYTES: Final = 6 * 1024 * 1024
"""Size of the `huge` answer: above 5 MB however a megabyte is counted."""
MALFORMED_BODY: Final = b'{"id": '
FAULT_COUNT_MAX: Final = 1_000
FAULTS_QUEUED_MAX: Final = 100
FAULT_DELAY_SECONDS_DEFAULT: Final = 5.0
FAULT_DELAY_SECONDS_MAX: Final = 60.0
IDEMPOTENCY_KEYS_MAX: Final = 10_000
"""Keys remembered at once; past this the oldest is forgotten, as keys expire at the providers."""
IDEMPOTENCY_KEY_CHARS_MAX: Final = 255
OBJECTS_MAX: Final = 10_000
"""Objects one fake stores; a test that creates more has a bug, and the fake stops it."""
SERVER_START_SECONDS_MAX: Final = 15
SERVER_STOP_SECONDS_MAX: Final = 15
SERVER_GRACE_SECONDS: Final = 1
"""How long a stopping server lets an unfinished request run before cancelling it."""

ALNUM: Final = string.ascii_letters + string.digits

FaultMode = Literal[
    "unavailable",
    "error_after",
    "timeout",
    "drop",
    "wrong_amount",
    "malformed",
    "huge",
    "stale_reference",
    "negative_amount",
]
FAULT_MODES: Final[tuple[str, ...]] = get_args(FaultMode)


@dataclass(slots=True)
class Fault:
    """One queued fault: its mode, how many more requests it applies to, where, and how long it waits."""

    mode: FaultMode
    remaining: int
    path_prefix: str | None
    delay: float

    def matches(self, path: str) -> bool:
        return self.path_prefix is None or path.startswith(self.path_prefix)

    def as_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "count": self.remaining, "path_prefix": self.path_prefix, "delay": self.delay}


class Faults:
    """A queue of faults, each applied to the next `count` API requests whose path it matches.

    The first queued fault that matches a request is the one applied, so faults queued for other
    paths do not hold it back. The test thread adds faults while the server thread takes them.
    """

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()

    def add(
        self,
        mode: str,
        count: int = 1,
        *,
        path_prefix: str | None = None,
        delay: float = FAULT_DELAY_SECONDS_DEFAULT,
    ) -> None:
        """Queue `mode` for the next `count` matching requests; a bad mode or value raises `ValueError`."""
        fault = Fault(_checked_mode(mode), _checked_count(count), _checked_prefix(path_prefix), _checked_delay(delay))
        with self._lock:
            if len(self._queue) >= FAULTS_QUEUED_MAX:
                raise ValueError(f"at most {FAULTS_QUEUED_MAX} faults may be queued")
            self._queue.append(fault)

    def take(self, path: str) -> Fault | None:
        """The fault to apply to one request on `path`, counted as used; None when none matches."""
        with self._lock:
            for fault in self._queue:
                if fault.matches(path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._queue.remove(fault)
                    return replace(fault)
        return None

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._queue.clear()

    def pending(self) -> list[dict[str, Any]]:
        """The queued faults, in the order they are tried, with the requests each has left."""
        with self._lock:
            return [fault.as_json() for fault in self._queue]


def _checked_mode(mode: object) -> FaultMode:
    if mode not in FAULT_MODES:
        raise ValueError(f"unknown fault mode {mode!r}; known: {', '.join(FAULT_MODES)}")
    return cast(FaultMode, mode)


def _checked_count(count: object) -> int:
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= FAULT_COUNT_MAX:
        raise ValueError(f"count is an integer from 1 to {FAULT_COUNT_MAX}")
    return count


def _checked_prefix(prefix: object) -> str | None:
    if prefix is not None and not (isinstance(prefix, str) and prefix.startswith("/")):
        raise ValueError("path_prefix is a path starting with '/', or null")
    return prefix


def _checked_delay(delay: object) -> float:
    if not isinstance(delay, int | float) or isinstance(delay, bool) or not 0 <= delay <= FAULT_DELAY_SECONDS_MAX:
        raise ValueError(f"delay is a number of seconds from 0 to {FAULT_DELAY_SECONDS_MAX}")
    return float(delay)


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer before it is sent: the status, the JSON body and any extra headers."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    def kept(self) -> Reply:
        """A copy whose body later changes to the stored objects cannot reach: what a replay answers."""
        return Reply(self.status, copy.deepcopy(self.body), dict(self.headers))

    def with_headers(self, extra: Mapping[str, str]) -> Reply:
        return Reply(self.status, self.body, {**self.headers, **extra})


@dataclass(frozen=True, slots=True)
class Stored:
    """An answer kept under an idempotency key, and the fingerprint of the request that earned it."""

    fingerprint: str
    reply: Reply


class Replays:
    """Answers stored under idempotency keys; the fake's lock guards it."""

    def __init__(self) -> None:
        self._stored: OrderedDict[str, Stored] = OrderedDict()

    def get(self, key: str) -> Stored | None:
        return self._stored.get(key)

    def keep(self, key: str, fingerprint: str, reply: Reply) -> None:
        """Store `reply` under `key`; past `IDEMPOTENCY_KEYS_MAX` keys the oldest is forgotten."""
        self._stored[key] = Stored(fingerprint, reply.kept())
        while len(self._stored) > IDEMPOTENCY_KEYS_MAX:
            self._stored.popitem(last=False)


def fingerprint(*parts: Any) -> str:
    """One string for a request's method, path and parameters, equal exactly when they are."""
    return json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)


def json_object(body: bytes) -> dict[str, Any] | None:
    """The request body as a JSON object, or None when it is anything else."""
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


_INTEGER = re.compile(r"-?[0-9]{1,18}")


def strict_int(text: str) -> int | None:
    """A decimal integer written plainly (no sign but '-', no spaces, no underscores), or None."""
    return int(text) if _INTEGER.fullmatch(text) else None


def is_json_int(value: object) -> bool:
    """True for a JSON integer; `True` and `1.0` are not amounts."""
    return isinstance(value, int) and not isinstance(value, bool)


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The user and password of an `Authorization: Basic ...` header, or None."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon else None


Handler = Callable[[Request, bytes], Reply]


@dataclass(frozen=True, slots=True)
class ApiRoute:
    """One provider endpoint; `public` ones answer without the provider's credentials (a token endpoint)."""

    method: str
    path: str
    handler: Handler
    public: bool = False


class FakeProvider(ABC):
    """A provider's HTTP API in memory, with faults and the control endpoints.

    Subclasses list their routes, check credentials, render errors in the provider's shape and say
    which fields hold amounts and references, so every fault works the same way on every fake.
    """

    amount_fields: ClassVar[frozenset[str]] = frozenset({"amount"})
    reference_fields: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    """Per kind of object, the fields that `stale_reference` copies from the first object of that kind."""

    def __init__(self, *, clock: Clock | None = None, rng: random.Random | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.faults = Faults()
        self._rng = rng or random.SystemRandom()
        self._lock = threading.RLock()
        self._created: dict[str, Counter[str]] = {}
        self._firsts: dict[str, dict[str, Any]] = {}
        self._objects_created = 0

    @cached_property
    def app(self) -> Starlette:
        """The Starlette app: the control endpoints, then the provider's API."""
        control = [
            Route("/_faults", self._add_fault, methods=["POST"]),
            Route("/_faults", self._clear_faults, methods=["DELETE"]),
            Route("/_state", self._state, methods=["GET"]),
        ]
        api = [Route(route.path, self._endpoint(route), methods=[route.method]) for route in self._routes()]
        return Starlette(routes=control + api, exception_handlers={HTTPException: self._unrouted})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A fake is an ASGI app itself, so `serve(fake)` works as well as `serve(fake.app)`."""
        await self.app(scope, receive, send)

    @property
    def objects(self) -> list[dict[str, Any]]:
        """Copies of the stored objects as the provider would render them; reading them changes nothing."""
        with self._lock:
            return copy.deepcopy(self._views())

    def created_count(self, key: str, *, kind: str | None = None) -> int:
        """How many objects were created under `key` (an idempotency key, a client id or a `fiduciary_key`).

        `kind` narrows the count to one kind of object, e.g. "payment_intent" rather than its refunds.
        """
        with self._lock:
            kinds = [kind] if kind is not None else list(self._created)
            return sum(self._created.get(name, Counter())[key] for name in kinds)

    def state(self) -> dict[str, Any]:
        """What `GET /_state` answers: objects, creations per key (in all and per kind), queued faults."""
        with self._lock:
            by_kind = {name: dict(counts) for name, counts in self._created.items()}
            total: Counter[str] = Counter()
            for counts in self._created.values():
                total.update(counts)
            return {
                "objects": copy.deepcopy(self._views()),
                "created": dict(total),
                "created_by_kind": by_kind,
                "faults": self.faults.pending(),
                **self._extra_state(),
            }

    @abstractmethod
    def _routes(self) -> list[ApiRoute]: ...

    @abstractmethod
    def _authorize(self, request: Request) -> Reply | None:
        """None when the request carries valid credentials, else the provider's refusal."""
        ...

    @abstractmethod
    def _error(self, status: int, code: str, message: str) -> Reply:
        """An error in the provider's own shape."""
        ...

    @abstractmethod
    def _views(self) -> list[dict[str, Any]]: ...

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _kind_of(self, view: Mapping[str, Any]) -> str | None:
        """The kind of object a rendered JSON object is, for `stale_reference`; None for other objects."""
        return None

    def _to_minor(self, value: Any) -> int | None:
        """An amount field's value in minor units, or None when it holds no amount."""
        return value if is_json_int(value) else None

    def _from_minor(self, minor: int) -> Any:
        return minor

    def _random_text(self, length: int, alphabet: str = ALNUM) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    def _record_creation(self, kind: str, keys: Iterable[str | None], view: Mapping[str, Any]) -> None:
        """Count a new object once under each of its keys, and keep the first of each kind's references."""
        assert self._objects_created < OBJECTS_MAX, "a fake holds a bounded number of objects"
        self._objects_created += 1
        counts = self._created.setdefault(kind, Counter())
        counts.update({key for key in keys if key})
        fields = self.reference_fields.get(kind, ())
        self._firsts.setdefault(kind, {name: view[name] for name in fields if name in view})

    def _endpoint(self, route: ApiRoute) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            fault = self.faults.take(request.url.path)
            if fault is not None and fault.mode == "unavailable":
                return _send(self._error(503, "service_unavailable", "the service is unavailable; nothing was done"))
            reply = await self._handle(route, request)
            return await self._deliver(request, reply, fault)

        return endpoint

    async def _handle(self, route: ApiRoute, request: Request) -> Reply:
        body = await read_body(request)
        if body is None:
            return self._error(413, "request_too_large", f"the body is larger than {REQUEST_BODY_BYTES_MAX} bytes")
        with self._lock:
            refusal = None if route.public else self._authorize(request)
            return refusal or route.handler(request, body)

    async def _deliver(self, request: Request, reply: Reply, fault: Fault | None) -> Response:
        """Send `reply`, or what `fault` makes of it; the state changes already happened."""
        if fault is None:
            return _send(reply)
        match fault.mode:
            case "timeout":
                await _pause(request, fault.delay)
                return _send(reply)
            case "drop":
                return _Dropped(_encoded(reply.body), reply.status, media_type="application/json")
            case "malformed":
                return Response(MALFORMED_BODY, 200, media_type="application/json")
            case "huge":
                return _send(Reply(200, _padded(reply.body)))
            case "error_after":
                return _send(self._error(500, "internal_error", "an error occurred after the request was processed"))
            case "wrong_amount":
                return _send(replace(reply, body=self._map_amounts(reply.body, lambda minor: minor + 1)))
            case "negative_amount":
                return _send(replace(reply, body=self._map_amounts(reply.body, lambda minor: -abs(minor) or -1)))
            case "stale_reference":
                return _send(replace(reply, body=self._stale(reply.body)))
        raise AssertionError(f"fault mode {fault.mode} is not delivered")

    def _map_amounts(self, body: Any, change: Callable[[int], int]) -> Any:
        """`body` with `change` applied to every amount field, at any depth."""
        if isinstance(body, list):
            return [self._map_amounts(item, change) for item in body]
        if not isinstance(body, dict):
            return body
        changed: dict[str, Any] = {}
        for name, value in body.items():
            minor = self._to_minor(value) if name in self.amount_fields else None
            changed[name] = self._map_amounts(value, change) if minor is None else self._from_minor(change(minor))
        return changed

    def _stale(self, body: Any) -> Any:
        """`body` with every object's references replaced by those of the first object of its kind."""
        if isinstance(body, list):
            return [self._stale(item) for item in body]
        if not isinstance(body, dict):
            return body
        stale = {name: self._stale(value) for name, value in body.items()}
        kind = self._kind_of(body)
        with self._lock:
            first = self._firsts.get(kind, {}) if kind is not None else {}
        return stale | first

    async def _unrouted(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "error")
        return _send(self._error(status, code, f"no {request.method} {request.url.path} here"))

    async def _add_fault(self, request: Request) -> Response:
        body = await read_body(request)
        spec = json_object(body) if body is not None else None
        unknown = set(spec or {}) - {"mode", "count", "path_prefix", "delay"}
        if spec is None or unknown:
            return JSONResponse({"error": "a JSON object with mode, count, path_prefix and delay"}, 400)
        try:
            self.faults.add(
                spec.get("mode", ""),
                spec.get("count", 1),
                path_prefix=spec.get("path_prefix"),
                delay=spec.get("delay", FAULT_DELAY_SECONDS_DEFAULT),
            )
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"faults": self.faults.pending()})

    async def _clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return JSONResponse({"faults": []})

    async def _state(self, request: Request) -> Response:
        return JSONResponse(self.state())


async def read_body(request: Request) -> bytes | None:
    """The request body, or None once it passes `REQUEST_BODY_BYTES_MAX`."""
    declared = strict_int(request.headers.get("content-length", "0")) or 0
    if declared > REQUEST_BODY_BYTES_MAX:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > REQUEST_BODY_BYTES_MAX:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _send(reply: Reply) -> Response:
    return JSONResponse(reply.body, reply.status, headers=dict(reply.headers))


def _encoded(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _padded(body: Any) -> Any:
    """`body` grown past `HUGE_BODY_BYTES` and still valid JSON."""
    padding = "x" * HUGE_BODY_BYTES
    if isinstance(body, dict):
        return {**body, "padding": padding}
    if isinstance(body, list):
        return [*body, {"padding": padding}]
    return {"value": body, "padding": padding}


async def _pause(request: Request, seconds: float) -> None:
    """Wait `seconds` before answering, or only until the client hangs up: then nobody is listening."""
    with anyio.move_on_after(seconds):
        while (await request.receive())["type"] != "http.disconnect":
            continue


class _Dropped(Response):
    """The status line, the headers and half the body, then the connection closes: no whole answer arrives.

    Returning before the body is complete makes uvicorn close the connection; the client sees a
    transport error (the body ended early), never a usable HTTP response.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        half = bytes(self.body[: len(self.body) // 2])
        await send({"type": "http.response.body", "body": half, "more_body": True})


@asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[str]:
    """Run `app` under uvicorn on 127.0.0.1 and a free port in a daemon thread; yield its base URL.

    The socket is bound before the server starts, so the port is known and cannot be taken. It is
    made with `IPPROTO_TCP` so that asyncio turns Nagle's algorithm off on the connections it
    accepts; with protocol 0 it does not, and every answer waits about 40 ms for a delayed ACK. On
    exit the server is told to stop and its thread joined; a request still running (a `timeout`
    fault whose client is gone) is cancelled after `SERVER_GRACE_SECONDS`.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((HOST, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=SERVER_GRACE_SECONDS,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"fake-{port}", daemon=True)
    thread.start()
    try:
        with anyio.fail_after(SERVER_START_SECONDS_MAX):
            while not server.started:
                assert thread.is_alive(), "the fake provider exited during start-up"
                await anyio.sleep(0.01)
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        await anyio.to_thread.run_sync(thread.join, SERVER_STOP_SECONDS_MAX)
        sock.close()
    assert not thread.is_alive(), "the fake provider did not stop"
