"""An upstream MCP server as a rail: its payment tool, called behind fiduciary's own guarantees.

The rails file names the server (`url` for Streamable HTTP, or `command` for stdio), the tool,
how a payment maps onto its arguments and how its result maps onto a receipt:

```toml
[[rails]]
name = "acme"
kind = "mcp"
url = "https://mcp.acme.example/mcp"          # or: command = ["acme-mcp", "--stdio"]
credential_env = "ACME_TOKEN"                 # optional: a bearer token for the URL
tool = "create_payment"
arguments = { amount = "amount_minor", currency = "currency", to = "counterparty_value", ref = "idempotency_key" }
receipt = { reference = "id", amount = "amount", currency = "currency", status = "status" }
succeeded = ["paid"]
failed = ["declined"]
status_tool = "get_payment"                   # optional: asked about a key after a lost answer
status_argument = "ref"
idempotent = false                            # does the server itself answer a repeat with the first outcome?
```

Argument sources: `amount_minor` (an integer), `amount` (major units, a string), `currency`,
`counterparty` (canonical), `counterparty_value` (without its kind), `idempotency_key`,
`direction`. The receipt's `amount` is read as minor units (an integer).

Most providers' own servers send no idempotency key: with `idempotent = false` a lost answer is
never resent. It is looked up with `status_tool` if there is one, and otherwise stays `unknown`,
with its hold, for a person. A tool result marked as an error is a refusal; any text the server
returns reaches neither the model nor the audit chain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2
from mcp import StdioServerParameters
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult

from fiduciary.domain.clock import iso
from fiduciary.domain.errors import RailMismatch, RailRejected, RailTimeout, RailUnavailable
from fiduciary.domain.money import Money
from fiduciary.rails.base import Outcome, RailReceipt, RailRequest

SOURCES = frozenset(
    {"amount_minor", "amount", "currency", "counterparty", "counterparty_value", "idempotency_key", "direction"}
)
RECEIPT_FIELDS = frozenset({"reference", "amount", "currency", "status"})


@dataclass(frozen=True, slots=True)
class McpSettings:
    tool: str
    arguments: Mapping[str, str]
    """Tool argument name -> what it carries (one of `SOURCES`)."""
    receipt: Mapping[str, str]
    """Receipt field (`RECEIPT_FIELDS`) -> the key of the tool's structured result that holds it."""
    succeeded: frozenset[str]
    failed: frozenset[str]
    url: str | None = None
    command: tuple[str, ...] = ()
    status_tool: str | None = None
    status_argument: str | None = None
    idempotent: bool = False


def _value(request: RailRequest, source: str) -> Any:
    kind_value = request.counterparty.partition(":")[2]
    return {
        "amount_minor": request.amount_minor,
        "amount": Money(request.amount_minor, request.currency).to_major(),
        "currency": request.currency,
        "counterparty": request.counterparty,
        "counterparty_value": kind_value,
        "idempotency_key": request.idempotency_key,
        "direction": request.direction.value,
    }[source]


class McpRail:
    def __init__(self, name: str, settings: McpSettings, *, token: str | None, timeout_ms: int) -> None:
        self.name = name
        self._settings = settings
        self._token = token
        self._timeout = timeout_ms / 1000

    async def open(self) -> None:
        """Nothing is kept open: each call connects, so a server that restarts is simply reached again."""

    async def close(self) -> None: ...

    async def _call(self, tool: str, arguments: dict[str, Any]) -> Mapping[str, Any]:
        s = self._settings
        http = None
        try:
            if s.url is not None:
                headers = {} if self._token is None else {"Authorization": f"Bearer {self._token}"}
                http = httpx2.AsyncClient(headers=headers, timeout=self._timeout)
                target: Any = streamable_http_client(s.url, http_client=http)
            else:
                target = StdioServerParameters(command=s.command[0], args=list(s.command[1:]))
            async with Client(target, read_timeout_seconds=self._timeout) as client:
                result = await client.call_tool(tool, arguments)
        except (httpx2.ConnectError, httpx2.ConnectTimeout, FileNotFoundError) as exc:
            raise RailUnavailable(f"rail {self.name}: the upstream MCP server could not be reached") from exc
        except MCPError as exc:
            raise RailRejected("upstream_error", f"rail {self.name}: the upstream server refused the call") from exc
        except Exception as exc:  # a lost connection or answer: the call may have been made
            raise RailTimeout(f"rail {self.name}: no answer from the upstream MCP server") from exc
        finally:
            if http is not None:
                await http.aclose()
        return _structured(result)

    async def dispatch(self, request: RailRequest) -> RailReceipt:
        s = self._settings
        arguments = {name: _value(request, source) for name, source in s.arguments.items()}
        return self._receipt(await self._call(s.tool, arguments), request)

    async def status(self, idempotency_key: str, *, request: RailRequest | None = None) -> RailReceipt | None:
        s = self._settings
        if s.status_tool is None or s.status_argument is None or request is None:
            raise RailRejected("status_unsupported", f"rail {self.name} cannot be asked about a payment")
        try:
            data = await self._call(s.status_tool, {s.status_argument: idempotency_key})
        except RailRejected as exc:
            if s.idempotent:
                return None  # it does not know the payment, and sending it again is safe
            # Without the server's own idempotency a "not found" proves nothing worth a second payment.
            raise RailRejected("status_unproven", f"rail {self.name} cannot prove the payment never arrived") from exc
        return self._receipt(data, request)

    async def reverse(self, receipt: RailReceipt, *, amount_minor: int, idempotency_key: str) -> RailReceipt:
        raise RailRejected("reversal_unsupported", f"rail {self.name} has no reversal tool configured")

    async def receipts(self, since: datetime) -> list[RailReceipt]:
        raise RailRejected("receipts_unsupported", f"rail {self.name} cannot list its receipts")

    def _receipt(self, data: Mapping[str, Any], request: RailRequest) -> RailReceipt:
        s, fields = self._settings, self._settings.receipt
        status = str(data.get(fields["status"], ""))
        outcome = (
            Outcome.SUCCEEDED if status in s.succeeded else Outcome.FAILED if status in s.failed else Outcome.PENDING
        )
        amount = data.get(fields["amount"])
        reference = data.get(fields["reference"])
        if type(amount) is not int:
            raise RailMismatch("amount")
        if not isinstance(reference, str | int) or isinstance(reference, bool):
            raise RailMismatch("reference")
        currency = data.get(fields["currency"], request.currency) if "currency" in fields else request.currency
        return RailReceipt(
            rail=self.name,
            rail_reference=str(reference),
            idempotency_key=request.idempotency_key,
            direction=request.direction,
            amount_minor=amount,
            currency=str(currency).upper(),
            counterparty=request.counterparty,
            settled_at=iso(datetime.now(UTC)),
            outcome=outcome,
            failure_code="upstream_failed" if outcome is Outcome.FAILED else None,
        )


def _structured(result: CallToolResult) -> Mapping[str, Any]:
    if result.is_error:
        raise RailRejected("upstream_refused", "the upstream tool answered with an error")
    if isinstance(result.structured_content, dict):
        return result.structured_content
    for block in result.content:
        text = getattr(block, "text", None)
        if text is not None:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise RailMismatch("answer_not_json") from exc
            if isinstance(data, dict):
                return data
    raise RailMismatch("answer_not_json")
