"""Who may do what on the control plane: roles, actions, and the operator who acts.

```
admin      configures: operators, agents, mandates, wallets, policies, kill switch and unfreeze,
           and everything the other roles may do
approver   decides held payments (approve, reject), reads them, and may pull (and see) kill switches
auditor    reads everything, verifies the audit chain; changes nothing
```

A role that may not act is refused before anything is read or changed, and the refusal is
itself an audit entry. No agent token is an operator token: the two kinds never meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Role(StrEnum):
    ADMIN = "admin"
    APPROVER = "approver"
    AUDITOR = "auditor"


class Action(StrEnum):
    """Every control-plane action, named as the audit chain records it."""

    OPERATORS_ADD = "operators.add"
    OPERATORS_REVOKE = "operators.revoke"
    OPERATORS_READ = "operators.read"
    AGENTS_ADD = "agents.add"
    AGENTS_ROTATE_TOKEN = "agents.rotate_token"  # noqa: S105 (an action name, not a secret)
    AGENTS_DISABLE = "agents.disable"
    AGENTS_READ = "agents.read"
    MANDATES_ISSUE = "mandates.issue"
    MANDATES_REVOKE = "mandates.revoke"
    MANDATES_RENEW = "mandates.renew"
    MANDATES_READ = "mandates.read"
    WALLETS_FUND = "wallets.fund"
    WALLETS_READ = "wallets.read"
    APPROVALS_READ = "approvals.read"
    APPROVE = "approvals.approve"
    REJECT = "approvals.reject"
    KILL = "kill_switch.pull"
    KILL_READ = "kill_switch.read"
    UNFREEZE = "kill_switch.lift"
    POLICY_APPLY = "policy.apply"
    INJECTION_APPLY = "injection.apply"
    CONFIG_READ = "config.read"
    TRANSACTIONS_READ = "transactions.read"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    DB_MIGRATE = "db.migrate"
    RECONCILE_READ = "reconcile.read"
    RECONCILE_RESOLVE = "reconcile.resolve"
    RECONCILE_RUN = "reconcile.run"
    RAILS_READ = "rails.read"
    RAILS_CONFIGURE = "rails.configure"
    METRICS_READ = "metrics.read"
    KEYS_READ = "keys.read"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    AUDIT_EXPORT = "audit.export"
    KEYS_ROTATE = "keys.rotate"
    SINKS_READ = "sinks.read"
    SINKS_RESUME = "sinks.resume"
    DSR_ERASE = "dsr.erase"
    LEGAL_HOLD_SET = "legal_hold.set"
    LEGAL_HOLD_CLEAR = "legal_hold.clear"
    LEGAL_HOLD_READ = "legal_hold.read"


A = Action
_READS: Final = frozenset(
    {
        A.OPERATORS_READ,
        A.AGENTS_READ,
        A.MANDATES_READ,
        A.WALLETS_READ,
        A.APPROVALS_READ,
        A.KILL_READ,
        A.CONFIG_READ,
        A.TRANSACTIONS_READ,
        A.AUDIT_READ,
        A.AUDIT_VERIFY,
        A.RECONCILE_READ,
        A.RAILS_READ,
        A.METRICS_READ,
        A.KEYS_READ,
        A.SINKS_READ,
        A.LEGAL_HOLD_READ,
    }
)

PERMISSIONS: Final[dict[Role, frozenset[Action]]] = {
    Role.ADMIN: frozenset(Action),
    Role.APPROVER: frozenset({A.APPROVALS_READ, A.APPROVE, A.REJECT, A.KILL, A.KILL_READ}),
    Role.AUDITOR: _READS | {A.AUDIT_CHECKPOINT, A.AUDIT_EXPORT},
}


def may(role: Role, action: Action) -> bool:
    """Whether `role` may perform `action`; an unknown pairing is a no."""
    return action in PERMISSIONS.get(role, frozenset())


@dataclass(frozen=True, slots=True)
class Operator:
    """An authenticated person acting on the control plane."""

    operator_id: str
    name: str
    role: Role

    @property
    def actor(self) -> str:
        """How the audit chain names this operator."""
        return f"operator:{self.operator_id}"
