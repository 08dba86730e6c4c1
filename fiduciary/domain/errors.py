"""The one exception tree of fiduciary.

```
FiduciaryError
 ├── InputError        a caller sent something we refuse (carries a stable code)
 ├── AccessError       an operator is not authenticated, or its role may not act (carries a code)
 ├── MandateError      a mandate failed verification (opaque on purpose)
 ├── StoreError        the database refused or failed
 │    └── ConflictError    a uniqueness or state race lost (e.g. idempotency key reuse)
 ├── RailError         a payment rail failed
 │    ├── RailTimeout      the outcome is unknown: we may or may not have been paid out
 │    └── RailRejected     the rail said no; nothing moved
 ├── StateError        an illegal transaction state move: a bug, never a user error
 └── ConfigError       a configuration, policy or key file is invalid
```

Operating refusals (budget, injection, revoked mandate) are not exceptions: they are
`Decision` values. Exceptions are for input we cannot parse, failures of the machinery and
programmer errors. Foreign exceptions are mapped at the edge with `raise ... from exc`.
"""

from __future__ import annotations


class FiduciaryError(Exception):
    """Root of every error fiduciary raises on purpose."""


class InputError(FiduciaryError):
    """A caller's input was refused; `code` is stable and safe to show to the caller."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class AccessError(FiduciaryError):
    """A control-plane caller is unknown (`unauthenticated`) or its role may not act (`forbidden`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MandateError(FiduciaryError):
    """A mandate did not verify. The detailed cause goes to the audit chain, not here."""

    def __init__(self, cause: str = "mandate_invalid") -> None:
        super().__init__("mandate did not verify")
        self.cause = cause


class StoreError(FiduciaryError):
    """The store failed or refused a write."""


class ConflictError(StoreError):
    """A write lost against existing data (a reused key, a concurrent state change)."""


class RailError(FiduciaryError):
    """A rail failed."""


class RailTimeout(RailError):
    """The rail did not answer in time after the request may have been sent."""


class RailRejected(RailError):
    """The rail refused the payment; nothing moved."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class StateError(FiduciaryError):
    """An illegal state transition was attempted."""


class ConfigError(FiduciaryError):
    """A configuration, policy file or key is invalid or missing."""
