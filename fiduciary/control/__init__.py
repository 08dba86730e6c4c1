"""The control plane: every operator action and every operator read.

Each action takes the `Operator` who acts and checks its role itself; the CLI, the admin
API and the dashboard are thin shells over this package. Every change writes its audit
entry, naming the operator, in the same transaction; every refusal writes one too.

```
Control
 ├── operators   authenticate, add, list, revoke
 ├── agents      first set-up (initialise), tenants, agents, token rotation, disabling
 ├── mandates    issue, list, show, revoke, renew
 ├── wallets     fund (sandbox), show
 ├── approvals   list, show, approve, reject, the expiry sweep
 ├── kill        pull (agent, project, org, platform), lift
 ├── config      policy and screening files
 ├── records     transactions, audit entries, chain verification and replay
 ├── reconciliation  flags (list, resolve with a note), a round on demand
 ├── rails       the configured rails, their breakers, a probe
 ├── keys        the public keys as a JWKS, rotation on demand and by age
 ├── evidence    signed checkpoints, inclusion and consistency proofs, signed exports
 ├── sinks       audit sinks: delivery status, resuming a stopped sink, the delivery round
 ├── privacy     erasure of a counterparty's personal data, and the legal holds that block it
 └── sessions    dashboard sign-in, the session each request presents, sign-out
```
"""

from __future__ import annotations

from fiduciary.control.approvals import Approvals, HeldPayment
from fiduciary.control.base import ControlContext
from fiduciary.control.config import Applied, Config, PolicyDiff, diff_policies
from fiduciary.control.evidence import Evidence
from fiduciary.control.keys import Keys, Rotation
from fiduciary.control.kill import KillReport, KillSwitch, Scope, UnfreezeReport
from fiduciary.control.mandates import MandateDetails, Mandates, MandateSpec, parse_time
from fiduciary.control.operators import Operators
from fiduciary.control.privacy import Erasure, Privacy
from fiduciary.control.rails import Rails, RailStatus
from fiduciary.control.reconciliation import Reconciliation
from fiduciary.control.records import Records, verify_chain
from fiduciary.control.roles import Action, Operator, Role, may
from fiduciary.control.sessions import Session, Sessions, csrf_token
from fiduciary.control.sinks import Sinks, SinkStatus
from fiduciary.control.tenants import AgentDetails, Agents, Tenant, TenantSpec, first_admin, initialise
from fiduciary.control.wallets import AgentWallets, Wallets


class Control:
    """The control-plane service runtime builds once; its parts share one context."""

    def __init__(self, ctx: ControlContext) -> None:
        self.ctx = ctx
        self.operators = Operators(ctx)
        self.agents = Agents(ctx)
        self.mandates = Mandates(ctx)
        self.wallets = Wallets(ctx)
        self.approvals = Approvals(ctx)
        self.kill = KillSwitch(ctx)
        self.config = Config(ctx)
        self.records = Records(ctx)
        self.sessions = Sessions(ctx, self.operators)
        self.reconciliation = Reconciliation(ctx)
        self.rails = Rails(ctx)
        self.keys = Keys(ctx)
        self.evidence = Evidence(ctx)
        self.sinks = Sinks(ctx, self.evidence)
        self.privacy = Privacy(ctx)

    async def initialise(self, spec: TenantSpec, *, admin_name: str) -> Tenant:
        """The first set-up of an empty data directory (`fiduciary init`)."""
        return await initialise(self.ctx, spec, admin_name=admin_name)

    async def first_admin(self, *, admin_name: str) -> tuple[Operator, str]:
        """The first admin of a data directory that has tenants but no operators yet (an upgrade)."""
        return await first_admin(self.ctx, admin_name=admin_name)


__all__ = [
    "Action",
    "AgentDetails",
    "AgentWallets",
    "Applied",
    "Control",
    "ControlContext",
    "Erasure",
    "Evidence",
    "HeldPayment",
    "Keys",
    "KillReport",
    "MandateDetails",
    "MandateSpec",
    "Operator",
    "PolicyDiff",
    "RailStatus",
    "Role",
    "Rotation",
    "Scope",
    "Session",
    "SinkStatus",
    "Sinks",
    "Tenant",
    "TenantSpec",
    "UnfreezeReport",
    "csrf_token",
    "diff_policies",
    "may",
    "parse_time",
    "verify_chain",
]
