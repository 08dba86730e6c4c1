"""A fake Datadog logs intake: `POST /api/v2/logs`.

- Credentials: the `DD-API-KEY` header; missing or another key is 403, as Datadog answers.
- `Content-Type: application/json`; the body is a JSON array of 1 to 1,000 log objects, each with
  `ddsource`, `service`, `hostname` and `message` strings and the audit entry's members as its
  other attributes, exactly.
- Limits, as Datadog documents them: 5 MB per payload (413 past it), 1,000 entries per array and
  1 MB per entry. Datadog truncates a larger entry and still answers 2xx; this fake refuses it
  (400), so a sender that would lose part of an entry is caught.
- 202 `{}`.
"""

from __future__ import annotations

import json
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.fakes.base import same_secret
from tests.fakes.intake import ENTRY_MEMBERS, Intake, Refused, check_entry

RESERVED: Final = ("ddsource", "service", "hostname", "message")
ENTRIES_MAX: Final = 1_000
ENTRY_BYTES_MAX: Final = 1_000_000


class FakeDatadog(Intake):
    path = "/api/v2/logs"
    body_bytes_max = 5_000_000

    def __init__(self, api_key: str, *, entries_max: int = ENTRIES_MAX) -> None:
        super().__init__(api_key)
        self.entries_max = entries_max
        self.logs: list[dict[str, Any]] = []

    def _authorize(self, request: Request) -> None:
        key = request.headers.get("dd-api-key")
        if key is None or not same_secret(key, self.credential):
            raise Refused(403, {"errors": ["Forbidden"]})

    def _parse(self, request: Request, body: bytes) -> list[dict[str, Any]]:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise Refused(400, {"errors": ["Bad Request: the content type is not application/json"]})
        try:
            logs = json.loads(body)
        except ValueError as exc:
            raise Refused(400, {"errors": ["Bad Request: not JSON"]}) from exc
        if not isinstance(logs, list) or not 1 <= len(logs) <= self.entries_max:
            raise Refused(400, {"errors": [f"Bad Request: an array of 1 to {self.entries_max} logs"]})
        entries = []
        for log in logs:
            if not isinstance(log, dict) or not all(isinstance(log.get(k), str) for k in RESERVED):
                raise Refused(400, {"errors": ["Bad Request: a log needs ddsource, service, hostname, message"]})
            if set(log) != {*RESERVED, *ENTRY_MEMBERS}:
                raise Refused(400, {"errors": ["Bad Request: unexpected attributes"]})
            if len(json.dumps(log, separators=(",", ":"), ensure_ascii=False).encode()) > ENTRY_BYTES_MAX:
                raise Refused(400, {"errors": ["Bad Request: a log is larger than 1 MB"]})
            entries.append(check_entry({k: v for k, v in log.items() if k not in RESERVED}))
        self.logs.extend(logs)
        return entries

    def _accepted(self) -> Response:
        return JSONResponse({}, 202)

    def _failure(self, status: int) -> Response:
        return JSONResponse({"errors": ["Internal Server Error" if status >= 500 else "Too Many Requests"]}, status)
