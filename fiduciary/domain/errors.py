"""The one exception tree of fiduciary.

```
FiduciaryError
 ├── InputError        a caller sent something we refuse (carries a stable code)
 ├── AccessError       an operator is not authenticated, or its role may not act (carries a code)
 ├── MandateError      a mandate failed verification (opaque on purpose)
 ├── StoreError        the database refused or failed
 │    └── ConflictError    a uniqueness or state race lost (e.g. idempotency key reuse)
 ├── RailError         a payment rail failed
 │    ├── RailTimeout      the request may have arrived: the outcome is unknown until looked up
 │    ├── RailUnavailable  the request provably never arrived (refused connection, open breaker)
 │    ├── RailRejected     the rail said no; nothing moved
 │    └── RailMismatch     the rail answered about something else than was asked: not believed
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


class RailUnavailable(RailError):
    """The request provably never reached the rail: safe to retry, or to fail with nothing moved."""


class RailRejected(RailError):
    """The rail refused the payment; nothing moved."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class RailMismatch(RailError):
    """An answer whose amount, currency, counterparty, direction or key differs from the request,
    or that cannot be read. The outcome stays unknown until an operator or a lookup settles it."""

    def __init__(self, cause: str) -> None:
        super().__init__(f"the rail's answer does not match the request: {cause}")
        self.cause = cause


class StateError(FiduciaryError):
    """An illegal state transition was attempted."""


class ConfigError(FiduciaryError):
    """A configuration, policy file or key is invalid or missing."""
