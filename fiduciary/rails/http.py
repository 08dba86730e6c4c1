"""What every HTTP adapter shares: one client per rail, bounded answers, and what a failure means.

| what happened | raised | why |
| --- | --- | --- |
| no connection (refused, DNS, pool full), 429, 503 | `RailUnavailable` | the request was not taken |
| sent, then no answer in time, a dropped connection, other 5xx | `RailTimeout` | it may have arrived |
| 4xx with the provider's reason | `RailRejected` | the provider said no |
| an answer that is not JSON or larger than the bound | `RailMismatch` | not believed |

The credential goes only into the request's headers; no error, log line or receipt carries it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, NamedTuple

import httpx2

from fiduciary.domain import limits
from fiduciary.domain.errors import RailMismatch, RailRejected, RailTimeout, RailUnavailable

log = logging.getLogger(__name__)


class Answer(NamedTuple):
    status: int
    data: Any
    headers: Mapping[str, str]


class HttpRail:
    """The HTTP side of an adapter: `call` sends one request and answers its JSON, or raises."""

    def __init__(self, name: str, base_url: str, *, timeout_ms: int) -> None:
        self.name = name
        self._base_url = base_url
        self._timeout = timeout_ms / 1000
        self._client: httpx2.AsyncClient | None = None

    async def open(self) -> None:
        if self._client is None:
            timeout = httpx2.Timeout(self._timeout, connect=min(self._timeout, 5.0))
            self._client = httpx2.AsyncClient(base_url=self._base_url, timeout=timeout, follow_redirects=False)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def call(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        missing_ok: bool = False,
    ) -> Answer:
        """Send one request and read its JSON answer. A 404 with `missing_ok` answers with no data."""
        await self.open()
        assert self._client is not None
        try:
            async with self._client.stream(
                method, path, headers=headers, json=json_body, data=form, params=params, auth=auth
            ) as response:
                body = await _bounded(response)
                status, received = response.status_code, response.headers
        except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
            raise RailUnavailable(f"rail {self.name} could not be reached") from exc
        except (httpx2.TimeoutException, httpx2.TransportError) as exc:
            raise RailTimeout(f"rail {self.name} did not answer") from exc
        if status == 404 and missing_ok:
            return Answer(status, None, received)
        if status in (429, 503):
            raise RailUnavailable(f"rail {self.name} is limiting requests or not serving ({status})")
        if status >= 500:
            raise RailTimeout(f"rail {self.name} failed with {status}")
        data = _json(body)
        if status >= 400:
            raise RailRejected(reason(data, status), f"rail {self.name} refused the request ({status})")
        return Answer(status, data, received)

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`call`, answering only the JSON."""
        return (await self.call(method, path, **kwargs)).data


async def _bounded(response: httpx2.Response) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limits.rail_response_bytes_max:
            raise RailMismatch("answer_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RailMismatch("answer_not_json") from exc


def reason(data: Any, status: int) -> str:
    """A provider's refusal as a short code: Stripe's `error.code`, Modern Treasury's `errors.code`,
    the Pix API's `nome`; else the HTTP status."""
    if isinstance(data, dict):
        for holder in ("error", "errors"):
            inner = data.get(holder)
            if isinstance(inner, dict):
                code = inner.get("decline_code") or inner.get("code") or inner.get("type")
                if isinstance(code, str):
                    return _code(code)
        for key in ("nome", "error"):
            if isinstance(data.get(key), str):
                return _code(data[key])
    return f"http_{status}"


def _code(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in text.lower())[:64]
    return cleaned or "refused"


def field(data: Any, *path: str) -> Any:
    """`data[path[0]][path[1]]...`, or a `RailMismatch` naming what is missing."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            raise RailMismatch(f"missing_{key}")
        data = data[key]
    return data


def whole(value: Any, what: str) -> int:
    """A provider's integer amount; anything else (a float, a string, a bool) is not believed."""
    if type(value) is not int:
        raise RailMismatch(what)
    return value
