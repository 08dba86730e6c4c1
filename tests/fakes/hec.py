"""A fake Splunk HTTP Event Collector: `POST /services/collector/event`.

- Credentials: `Authorization: Splunk <token>`; none is 401 (code 2, "Token is required"), another
  scheme is 401 (code 3), another token is 403 (code 4, "Invalid token"), as HEC answers.
- The body is concatenated JSON event objects (no array, no commas). Each holds `event` (here: an
  audit entry, exactly its members) and only the envelope keys HEC knows; `time` is a number,
  `source` and `sourcetype` are fiduciary's. An empty body is 400 (code 5, "No data"), one that is
  not events 400 (code 6, "Invalid data format").
- Limits: the body at most `max_content_length` bytes (413 past it; 1 MB by default) and, here,
  at most `max_events` events per request (400 past it), so a sender's batching is checked.
- 200 `{"text": "Success", "code": 0}`. Acknowledgements are not enabled (no channel needed).
"""

from __future__ import annotations

import json
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.base import same_secret
from tests.fakes.intake import Intake, Refused, check_entry

ENVELOPE: Final = frozenset({"time", "host", "source", "sourcetype", "index", "event", "fields"})


class FakeHec(Intake):
    path = "/services/collector/event"
    body_bytes_max = 1024 * 1024

    def __init__(self, token: str, *, max_events: int = 1_000, index: str | None = None) -> None:
        super().__init__(token)
        self.max_events = max_events
        self.index = index
        self.envelopes: list[dict[str, Any]] = []

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("authorization")
        if header is None:
            raise Refused(401, {"text": "Token is required", "code": 2})
        scheme, _, token = header.partition(" ")
        if scheme != "Splunk" or not token:
            raise Refused(401, {"text": "Invalid authorization", "code": 3})
        if not same_secret(token, self.credential):
            raise Refused(403, {"text": "Invalid token", "code": 4})

    def _parse(self, request: Request, body: bytes) -> list[dict[str, Any]]:
        text = body.decode("utf-8", errors="strict").strip() if body else ""
        if not text:
            raise Refused(400, {"text": "No data", "code": 5})
        decoder, at, events = json.JSONDecoder(), 0, []
        while at < len(text):
            try:
                event, at = decoder.raw_decode(text, at)
            except ValueError as exc:
                raise Refused(400, {"text": "Invalid data format", "code": 6}) from exc
            events.append(self._envelope(event))
            while at < len(text) and text[at] in " \t\r\n":
                at += 1
        if len(events) > self.max_events:
            raise Refused(400, {"text": f"more than {self.max_events} events", "code": 6})
        self.envelopes.extend(events)
        return [check_entry(e["event"]) for e in events]

    def _envelope(self, event: object) -> dict[str, Any]:
        if not isinstance(event, dict) or "event" not in event or not set(event) <= ENVELOPE:
            raise Refused(400, {"text": "Invalid data format", "code": 6})
        if not isinstance(event.get("time"), int | float) or isinstance(event.get("time"), bool):
            raise Refused(400, {"text": "Invalid data format", "code": 6})
        if event.get("source") != "fiduciary" or event.get("sourcetype") != "fiduciary:audit":
            raise Refused(400, {"text": "Invalid data format", "code": 6})
        if self.index is not None and event.get("index") != self.index:
            raise Refused(400, {"text": "Incorrect index", "code": 7})
        return event

    def _accepted(self) -> Response:
        return JSONResponse({"text": "Success", "code": 0})

    def _failure(self, status: int) -> Response:
        text = {503: "Server is busy", 429: "Server is busy"}.get(status, "Internal server error")
        return JSONResponse({"text": text, "code": 9 if status in (429, 503) else 8}, status)
