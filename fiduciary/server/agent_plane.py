"""The agent plane: the MCP tools an agent may call, and nothing else.

Each tool validates its arguments against a strict schema, identifies the agent from its
token, hands the request to the gate (or a read-only view) and renders the answer. Refusals
are tool results with `isError: true`, a stable code and a reference id; no exception text,
SQL, path or secret ever reaches the model. No tool here can approve, revoke, change policy,
issue mandates or lift a kill switch: those live only on the control plane.
"""

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools.base import Tool as SdkTool
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp.types import CallToolResult, ElicitRequestURLParams, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ValidationError

from fiduciary import metrics
from fiduciary.domain.codes import Code
from fiduciary.domain.ids import Prefix, new_id
from fiduciary.domain.intents import AgentRef
from fiduciary.runtime import Runtime
from fiduciary.server import handlers
from fiduciary.server.schemas import (
    BalanceArgs,
    BalanceResult,
    ChargeArgs,
    ListMandatesArgs,
    ListTransactionsArgs,
    MandateListResult,
    PayArgs,
    PaymentResult,
    RefundArgs,
    TransactionArgs,
    TransactionListResult,
    TransactionResult,
)
from fiduciary.server.stdio import serve_stdio

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
fiduciary moves money for you through a safety gate. Amounts are decimal strings in major units
("125.50") with an ISO 4217 currency. Every payment is screened, checked against your policy and
mandate, and audited. A result with status "pending_approval" waits for a person: poll it with
get_transaction. A refusal has a stable `code`; quote its `reference` to an operator. Pass an
idempotency_key when you retry: a retry never pays twice."""

Handler = Callable[[Runtime, AgentRef, Any, str], Awaitable[BaseModel]]
RuntimeFactory = Callable[[], AbstractAsyncContextManager[Runtime]]

_MONEY = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)
_READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    title: str
    description: str
    args: type[BaseModel]
    result: type[BaseModel]
    annotations: ToolAnnotations
    handler: Handler


SPECS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            "pay", "Pay", "Send money from your wallet to a counterparty.", PayArgs, PaymentResult, _MONEY, handlers.pay
        ),
        ToolSpec(
            "charge",
            "Charge",
            "Collect money from a counterparty into your wallet.",
            ChargeArgs,
            PaymentResult,
            _MONEY,
            handlers.charge,
        ),
        ToolSpec(
            "refund",
            "Refund",
            "Return money of one of your settled charges to whoever paid it.",
            RefundArgs,
            PaymentResult,
            _MONEY,
            handlers.refund,
        ),
        ToolSpec(
            "get_balance",
            "Balance",
            "Your wallet balances: available and held, per currency.",
            BalanceArgs,
            BalanceResult,
            _READ,
            handlers.balance,
        ),
        ToolSpec(
            "get_transaction",
            "Transaction",
            "One of your transactions, with its current state.",
            TransactionArgs,
            TransactionResult,
            _READ,
            handlers.transaction,
        ),
        ToolSpec(
            "list_transactions",
            "Transactions",
            "Your transactions, newest first, a page at a time.",
            ListTransactionsArgs,
            TransactionListResult,
            _READ,
            handlers.transactions,
        ),
        ToolSpec(
            "list_mandates",
            "Mandates",
            "The standing mandates that authorise your payments.",
            ListMandatesArgs,
            MandateListResult,
            _READ,
            handlers.mandates,
        ),
    )
}


def _tool_result(result: BaseModel) -> CallToolResult:
    data = result.model_dump(mode="json")
    is_error = data["status"] in ("denied", "failed")
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(data))], structured_content=data, is_error=is_error
    )


def _input_code(exc: ValidationError) -> tuple[Code, list[str]]:
    """Map schema failures to one stable code; name the fields, never echo their values."""
    errors = exc.errors()
    fields = sorted({".".join(str(p) for p in err["loc"]) or "arguments" for err in errors})
    kinds = {err["type"] for err in errors}
    roots = {str(err["loc"][0]) for err in errors if err["loc"]}
    if "extra_forbidden" in kinds:
        return Code.UNKNOWN_ARGUMENT, fields
    if "missing" in kinds:
        return Code.MISSING_ARGUMENT, fields
    if kinds & {"string_too_long", "too_long"}:
        return Code.TEXT_TOO_LONG, fields
    if roots == {"amount"}:
        return Code.INVALID_AMOUNT, fields
    if roots == {"currency"}:
        return Code.UNKNOWN_CURRENCY, fields
    return Code.INVALID_ARGUMENT, fields


class AgentPlane(MCPServer[Runtime]):
    """The MCP server: seven tools, one gate, every transport."""

    def __init__(
        self,
        runtime: RuntimeFactory,
        *,
        agent_token: str | None = None,
        token_verifier: TokenVerifier | None = None,
        auth: AuthSettings | None = None,
    ) -> None:
        @asynccontextmanager
        async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
            async with runtime() as opened:
                yield opened

        super().__init__(
            "fiduciary",
            version="0.1.0",
            instructions=INSTRUCTIONS,
            lifespan=lifespan,
            tools=[self._sdk_tool(spec) for spec in SPECS.values()],
            token_verifier=token_verifier,
            auth=auth,
        )
        self._agent_token = agent_token

    def _sdk_tool(self, spec: ToolSpec) -> SdkTool:
        async def call(request: BaseModel, ctx: Context[Runtime, Any]) -> CallToolResult:
            return await self._run(spec, request.model_dump(), ctx)

        # Real objects, not strings: the SDK reads these to build the output schema.
        call.__annotations__ = {"request": spec.args, "ctx": Context, "return": Annotated[CallToolResult, spec.result]}
        tool = SdkTool.from_function(
            call, name=spec.name, title=spec.title, description=spec.description, annotations=spec.annotations
        )
        tool.parameters = spec.args.model_json_schema()  # the flat schema clients see and send
        return tool

    async def run_stdio_async(self) -> None:
        """Serve stdio, answering malformed frames with JSON-RPC errors (the SDK's reader drops them)."""
        # The SDK's own stdio runner reaches the low-level server the same way.
        await serve_stdio(self._lowlevel_server)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Runtime, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        spec = SPECS.get(name)
        if spec is None or context is None:
            return await super().call_tool(name, arguments, context)
        return await self._run(spec, arguments, context)

    async def _caller(self, runtime: Runtime, tool: str, reference: str) -> AgentRef | None:
        """Who calls: the agent the HTTP bearer check already resolved, else the stdio token's agent."""
        access = get_access_token()
        claims = access.claims if access is not None else None
        if access is not None and claims and {"org_id", "project_id"} <= claims.keys():
            return AgentRef(str(claims["org_id"]), str(claims["project_id"]), access.client_id)
        token = access.token if access is not None else self._agent_token
        return await runtime.gate.authenticate(token, tool=tool, reference=reference, source="stdio")

    async def _run(self, spec: ToolSpec, arguments: dict[str, Any], ctx: Context[Runtime, Any]) -> CallToolResult:
        runtime: Runtime = ctx.request_context.lifespan_context
        reference = new_id(Prefix.REFERENCE)
        try:
            caller = await self._caller(runtime, spec.name, reference)
            if caller is None:
                return _tool_result(handlers.refused(Code.UNAUTHENTICATED, reference))
            try:
                args = spec.args.model_validate(arguments)
            except ValidationError as exc:
                code, fields = _input_code(exc)
                await runtime.gate.refuse(
                    caller, tool=spec.name, code=code, reference=reference, detail={"fields": fields}
                )
                return _tool_result(handlers.refused(code, reference, fields=fields))
            result = await spec.handler(runtime, caller, args, reference)
        except Exception:
            # The traceback stays in the server log under the reference; the model gets neither.
            log.exception("tool %s failed; reference %s", spec.name, reference)
            return _tool_result(handlers.refused(Code.INTERNAL_ERROR, reference))
        metrics.count_call(spec.name, str(getattr(result, "code", "unknown")))
        page = _approval_page(runtime, result, ctx)
        if page is not None:
            raise UrlElicitationRequiredError([page])
        return _tool_result(result)


def _approval_page(runtime: Runtime, result: BaseModel, ctx: Context[Runtime, Any]) -> ElicitRequestURLParams | None:
    """For a held payment, the dashboard page a person decides it on, if the client can open URLs.

    A client that declared URL-mode elicitation shows the person the page and calls again with the
    same arguments when they are done; the call then answers with the payment's outcome (the same
    idempotency key finds the same transaction). The message holds no agent-written text.
    """
    dashboard = runtime.settings.dashboard_url
    if dashboard is None or not isinstance(result, PaymentResult) or result.status != "pending_approval":
        return None
    capabilities = ctx.client_capabilities
    elicitation = None if capabilities is None else capabilities.elicitation
    if elicitation is None or elicitation.url is None or result.approval_id is None:
        return None
    return ElicitRequestURLParams(
        mode="url",
        message=f"A person must approve this payment of {result.amount} {result.currency} before it goes ahead. "
        "Open the page to review it; the call goes on once it is decided.",
        url=f"{dashboard}/dashboard/approvals/{result.approval_id}",
        elicitation_id=result.approval_id,
    )
