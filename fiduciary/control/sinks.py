"""The audit sinks as an operator sees them: how far each has taken each org's chain, its last
error, whether it is stopped; an admin resumes a stopped one. The running server's delivery
round (`fiduciary.sinks.deliver`) runs from here too, with the evidence service's checkpoints."""

from __future__ import annotations

from dataclasses import dataclass

from fiduciary.control.base import ControlContext, Part, action, audit_platform, not_found
from fiduciary.control.evidence import Evidence
from fiduciary.control.roles import Action, Operator
from fiduciary.sinks.deliver import RESUMED, Delivery


@dataclass(frozen=True, slots=True)
class SinkStatus:
    """One sink and one org: how far the sink has the chain, and how its last attempt went."""

    sink: str
    kind: str
    where: str
    org_id: str
    cursor_seq: int
    head_seq: int
    last_success: str | None
    last_error: str | None
    last_error_status: int | None
    last_error_at: str | None
    failures: int
    """Failed attempts since the last success."""
    next_attempt: str | None
    stopped: bool
    stopped_at: str | None
    stop_reason: str | None

    @property
    def lag(self) -> int:
        """Entries in the chain the sink has not acknowledged."""
        return max(0, self.head_seq - self.cursor_seq)


class Sinks(Part):
    """Status and resume of the sinks; the delivery round."""

    def __init__(self, ctx: ControlContext, evidence: Evidence) -> None:
        super().__init__(ctx)
        self.delivery = Delivery(ctx.store, ctx.sinks, signers=ctx.keyring, checkpoints=evidence, environ=ctx.environ)

    async def deliver(self) -> int:
        """A system round: deliver what is due to every sink that is not stopped; how many entries."""
        return await self.delivery.run()

    @action(Action.SINKS_READ)
    async def status(self, op: Operator) -> list[SinkStatus]:
        """Every configured sink with every org: cursor, head, lag, last success and error, stop."""
        reads = self.store.read
        states = {s.sink: s for s in await reads.sink_states()}
        orgs = await reads.org_ids()
        heads = {org: (await reads.audit_head(org) or (0, b""))[0] for org in orgs}
        found = []
        for config in self.ctx.sinks.sinks:
            cursors = {c.org_id: c for c in await reads.sink_cursors(config.name)}
            state = states.get(config.name)
            stopped = state is not None and state.stopped_at is not None
            for org in orgs:
                c = cursors.get(org)
                found.append(
                    SinkStatus(
                        config.name,
                        config.kind.value,
                        config.where,
                        org,
                        cursor_seq=c.seq if c else 0,
                        head_seq=heads[org],
                        last_success=c.delivered_at if c else None,
                        last_error=c.error if c else None,
                        last_error_status=c.error_status if c else None,
                        last_error_at=c.error_at if c else None,
                        failures=c.attempts if c else 0,
                        next_attempt=c.next_at if c else None,
                        stopped=stopped,
                        stopped_at=state.stopped_at if stopped and state else None,
                        stop_reason=state.stop_reason if stopped and state else None,
                    )
                )
        return found

    @action(Action.SINKS_RESUME)
    async def resume(self, op: Operator, name: str) -> bool:
        """Clear a stopped sink so the next round delivers to it again; audited. False: it was not stopped."""
        config = self.ctx.sinks.named(name)
        if config is None:
            raise not_found("sink", name)
        async with self.store.write() as w:
            resumed = await w.resume_sink(name, by=op.actor)
            if resumed:
                payload = {"kind": config.kind.value, "where": config.where}
                await audit_platform(w, actor=op.actor, type=RESUMED, subject=name, payload=payload)
        return resumed
