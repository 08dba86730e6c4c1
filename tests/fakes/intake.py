"""What the fake log intakes share (`hec.py`, `datadog.py`): a strict receiver, what arrived, faults.

A receiver answers one request in three steps:

1. The next queued fault, if any, is taken. `unavailable` (503), `error` (500) and `throttle`
   (429 with `Retry-After`) answer before anything is read or stored.
2. The service's own checks run: the credential, the body's shape and the documented limits. A
   refused request stores nothing and is counted in `refusals` with its status and reason.
3. The entries are stored in arrival order, then the answer is sent, or what the fault makes of
   it: `error_after` (500 after storing: the sender must send again, and the receiver sees the
   batch twice), `timeout` (a late answer after storing) or `drop` (the connection closes
   after storing, with no whole answer).
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.fakes.base import _Dropped, _pause

MODES: Final = ("unavailable", "error", "throttle", "error_after", "timeout", "drop")
FAULTS_QUEUED_MAX: Final = 100
FAULT_COUNT_MAX: Final = 10_000
ENTRY_MEMBERS: Final = frozenset(
    {"seq", "org_id", "project_id", "ts", "actor", "type", "subject", "ref", "payload", "prev_hash", "entry_hash",
     "signature", "kid"}
)  # fmt: skip
"""An entry as docs/AUDIT_FORMAT.md §5.1 writes it."""


class Refused(Exception):
    """A request the service refuses: its status and its own error body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


@dataclass(slots=True)
class Fault:
    mode: str
    remaining: int
    retry_after: str = "1"
    delay: float = 1.0


class IntakeFaults:
    """Faults applied, in order, to the next requests; the test thread adds, the server thread takes."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()

    def add(self, mode: str, count: int = 1, *, retry_after: str = "1", delay: float = 1.0) -> None:
        if mode not in MODES or not 1 <= count <= FAULT_COUNT_MAX:
            raise ValueError(f"a mode of {', '.join(MODES)} and a count from 1 to {FAULT_COUNT_MAX}")
        with self._lock:
            if len(self._queue) >= FAULTS_QUEUED_MAX:
                raise ValueError(f"at most {FAULTS_QUEUED_MAX} faults may be queued")
            self._queue.append(Fault(mode, count, retry_after, delay))

    def take(self) -> Fault | None:
        with self._lock:
            if not self._queue:
                return None
            fault = self._queue[0]
            fault.remaining -= 1
            if fault.remaining == 0:
                self._queue.popleft()
            return Fault(fault.mode, 1, fault.retry_after, fault.delay)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()


class Intake(ABC):
    """A log intake on 127.0.0.1 (run it with `tests.fakes.serve`)."""

    path: ClassVar[str]
    body_bytes_max: ClassVar[int]

    def __init__(self, credential: str) -> None:
        self.credential = credential
        self.faults = IntakeFaults()
        self.entries: list[dict[str, Any]] = []
        """Every entry that arrived, in arrival order (a batch sent twice is here twice)."""
        self.batches: list[int] = []
        """How many entries each stored request held."""
        self.bodies: list[bytes] = []
        self.refusals: list[tuple[int, str]] = []
        self.requests = 0
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route(self.path, self._endpoint, methods=["POST"])])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def seqs(self, org_id: str) -> list[int]:
        """The `seq` of every entry of `org_id` that arrived, in arrival order."""
        with self._lock:
            return [e["seq"] for e in self.entries if e["org_id"] == org_id]

    @abstractmethod
    def _authorize(self, request: Request) -> None:
        """Raise `Refused` unless the request carries the credential."""

    @abstractmethod
    def _parse(self, request: Request, body: bytes) -> list[dict[str, Any]]:
        """The entries of a valid body; raise `Refused` for anything the service would refuse."""

    @abstractmethod
    def _accepted(self) -> Response: ...

    @abstractmethod
    def _failure(self, status: int) -> Response: ...

    async def _endpoint(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
        fault = self.faults.take()
        if fault is not None and fault.mode in ("unavailable", "error", "throttle"):
            status = {"unavailable": 503, "error": 500, "throttle": 429}[fault.mode]
            response = self._failure(status)
            if fault.mode == "throttle":
                response.headers["Retry-After"] = fault.retry_after
            return response
        try:
            self._authorize(request)
            body = await _read(request, self.body_bytes_max)
            entries = self._parse(request, body)
        except Refused as refused:
            with self._lock:
                self.refusals.append((refused.status, json.dumps(refused.body)))
            return JSONResponse(refused.body, refused.status)
        with self._lock:
            self.entries.extend(entries)
            self.batches.append(len(entries))
            self.bodies.append(body)
        if fault is None:
            return self._accepted()
        if fault.mode == "timeout":
            await _pause(request, fault.delay)
            return self._accepted()
        if fault.mode == "drop":
            return _Dropped(b'{"status":"accepted"}', 200, media_type="application/json")
        return self._failure(500)


async def _read(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, {"error": f"the body is larger than {limit} bytes"})
        chunks.append(chunk)
    return b"".join(chunks)


def check_entry(value: object) -> dict[str, Any]:
    """An entry with exactly the members of AUDIT_FORMAT §5.1, or a `Refused` 400."""
    if not isinstance(value, dict) or set(value) != ENTRY_MEMBERS or not isinstance(value["seq"], int):
        raise Refused(400, {"error": "not an audit entry with exactly its members"})
    return value
