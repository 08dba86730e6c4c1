"""Identifiers and secrets that say what they are by their prefix.

`txn_` transaction, `mdt_` mandate, `apr_` approval, `agt_` agent, `org_`/`prj_` tenant,
`opr_` operator, `ref_` the reference of one call (what an operator looks up in the audit
chain), `fid_agent_` an agent token, `fid_op_` an operator token and `fid_ses_` a dashboard
session. Tokens carry 256 random bits, are shown once and stored only as a hash.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from enum import StrEnum

from fiduciary.domain import limits


class Prefix(StrEnum):
    ORG = "org"
    PROJECT = "prj"
    AGENT = "agt"
    TRANSACTION = "txn"
    MANDATE = "mdt"
    APPROVAL = "apr"
    REFERENCE = "ref"
    KILL_SWITCH = "ks"
    TAINT = "tnt"
    OPERATOR = "opr"
    ALERT = "alr"
    DELIVERY = "dlv"
    FLAG = "flg"
    FUNDING = "fnd"
    SUBJECT = "sub"
    ERASURE = "dsr"
    HOLD = "hld"


AGENT_TOKEN_PREFIX = "fid_agent_"  # noqa: S105 (a prefix, not a secret)
OPERATOR_TOKEN_PREFIX = "fid_op_"  # noqa: S105 (a prefix, not a secret)
SESSION_TOKEN_PREFIX = "fid_ses_"  # noqa: S105 (a prefix, not a secret)


def new_id(prefix: Prefix) -> str:
    """A fresh random identifier such as `txn_5gq2...` (128 random bits, lower-case base32)."""
    raw = secrets.token_bytes(limits.id_random_bytes)
    return f"{prefix}_{base64.b32encode(raw).decode().rstrip('=').lower()}"


def new_agent_token() -> str:
    """A fresh bearer token for an agent; the caller shows it once and stores `token_hash`."""
    return AGENT_TOKEN_PREFIX + secrets.token_urlsafe(limits.agent_token_bytes)


def new_operator_token() -> str:
    """A fresh bearer token for an operator; shown once, stored as `token_hash`."""
    return OPERATOR_TOKEN_PREFIX + secrets.token_urlsafe(limits.agent_token_bytes)


def new_session_token() -> str:
    """A fresh dashboard session; the browser keeps it in a cookie, the store keeps `token_hash`."""
    return SESSION_TOKEN_PREFIX + secrets.token_urlsafe(limits.agent_token_bytes)


def token_hash(token: str) -> str:
    """The stored form of a token: SHA-256, hex. Tokens carry 256 random bits, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()
