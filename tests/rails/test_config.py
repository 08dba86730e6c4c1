"""The rails file: every entry checked with a message that names the rail and the key; routing by
counterparty kind; credentials read only from where the file points, never kept in it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fiduciary.domain.counterparties import Kind
from fiduciary.domain.errors import ConfigError
from fiduciary.rails.config import SANDBOX_ONLY, RailKind, load_rails, parse_rails, route

CARD = """
[[rails]]
name = "stripe"
kind = "card"
base_url = "https://api.stripe.test"
credential_env = "STRIPE_SECRET_KEY"
retry = { attempts = 4, base_ms = 100, max_ms = 800 }
breaker = { failures = 3, open_seconds = 20 }

[[rails]]
name = "efi"
kind = "pix"
base_url = "https://pix.efi.test"
credential_file = "/run/secrets/efi"
payer_key = "finance@acme.test"

[[rails]]
name = "sandbox"
kind = "sandbox"
"""


STABLECOIN = """
[[rails]]
name = "circle"
kind = "stablecoin"
base_url = "https://api.circle.test"
credential_env = "CIRCLE_API_KEY"
source_wallet_id = "1000216185"
chain = "BASE"
"""


def parsed(text: str) -> object:
    return parse_rails(tomllib.loads(text))


def test_a_rails_file_names_each_rail_its_address_credential_source_and_limits() -> None:
    rails = parse_rails(tomllib.loads(CARD))
    stripe = rails.named("stripe")
    assert stripe is not None and stripe.kind is RailKind.CARD
    assert (stripe.retry.attempts, stripe.breaker.failures, stripe.breaker.open_seconds) == (4, 3, 20.0)
    assert stripe.credential_source == "$STRIPE_SECRET_KEY"
    assert stripe.credential({"STRIPE_SECRET_KEY": "sk_test_1"}) == "sk_test_1"
    assert "sk_test" not in repr(rails), "the file holds where a credential is, never the credential"
    efi = rails.named("efi")
    assert efi is not None and efi.options == {"payer_key": "finance@acme.test"}


def test_no_rails_file_is_the_sandbox_alone(tmp_path: Path) -> None:
    assert load_rails(tmp_path / "rails.toml") is SANDBOX_ONLY
    assert {route(SANDBOX_ONLY, kind) for kind in Kind} == {"sandbox"}


def test_counterparties_are_routed_by_kind_to_a_rail_that_carries_them() -> None:
    rails = parse_rails(tomllib.loads(CARD + '\n[routing]\nacct = "sandbox"\n'))
    assert route(rails, Kind.PIX) == route(rails, Kind.BR_CODE) == "efi"
    assert route(rails, Kind.CARD) == route(rails, Kind.CUSTOMER) == "stripe"
    assert route(rails, Kind.ACCOUNT) == "sandbox", "[routing] wins"
    assert route(rails, Kind.IBAN) == "sandbox", "no wire rail: the sandbox is next in line"
    assert route(rails, Kind.PIX, requested="stripe") == "stripe"
    assert route(rails, Kind.PIX, requested="nowhere") is None
    no_sandbox = parse_rails(tomllib.loads(CARD.split('[[rails]]\nname = "sandbox"')[0]))
    assert route(no_sandbox, Kind.IBAN) is None, "nothing carries it: refused, never sent to play money"
    assert route(rails, Kind.EVM) == "sandbox"
    circle = parse_rails(tomllib.loads(CARD + STABLECOIN))
    assert route(circle, Kind.EVM) == "circle", "an address goes by stablecoin"
    entry = circle.named("circle")
    assert entry is not None and entry.options == {"chain": "BASE", "source_wallet_id": "1000216185"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rails]]\nname = "x"\nkind = "carrier-pigeon"\n', "`kind` must be one of"),
        ('[[rails]]\nname = "Bad Name"\nkind = "sandbox"\n', "needs a `name`"),
        ('[[rails]]\nname = "c"\nkind = "card"\nbase_url = "https://a.test"\n', "exactly one of credential_env"),
        (
            '[[rails]]\nname = "c"\nkind = "card"\nbase_url = "ftp://a.test"\ncredential_env = "K"\n',
            "`base_url` must be",
        ),
        (
            '[[rails]]\nname = "c"\nkind = "card"\nbase_url = "https://a.test"\ncredential_env = "K"\nsecret = "x"\n',
            "unknown keys secret",
        ),
        (
            '[[rails]]\nname = "p"\nkind = "pix"\nbase_url = "https://a.test"\ncredential_env = "K"\n',
            "`payer_key` is required",
        ),
        (
            '[[rails]]\nname = "c"\nkind = "card"\nbase_url = "https://a.test"\ncredential_env = "K"\n'
            "timeout_ms = 999999\n",
            "`timeout_ms` must be a whole number",
        ),
        (
            '[[rails]]\nname = "c"\nkind = "card"\nbase_url = "https://a.test"\ncredential_env = "K"\n'
            "breaker = { failure_rate = 2 }\n",
            "`failure_rate`",
        ),
        (STABLECOIN.replace('chain = "BASE"', 'chain = "base; DROP"'), "`chain` is a Circle chain code"),
        (STABLECOIN.replace('source_wallet_id = "1000216185"\n', ""), "`source_wallet_id` is required"),
        ('[[rails]]\nname = "s"\nkind = "sandbox"\n[[rails]]\nname = "s"\nkind = "sandbox"\n', "share a name"),
        ('[[rails]]\nname = "s"\nkind = "sandbox"\n[routing]\npix = "efi"\n', "names no rail 'efi'"),
        ('[[rails]]\nname = "s"\nkind = "sandbox"\n[routing]\nfax = "s"\n', "not a counterparty kind"),
        ("", "give 1 to"),
    ],
)
def test_a_bad_rails_file_is_refused_naming_the_rail_and_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parsed(text)


def test_a_missing_credential_says_where_it_was_looked_for(tmp_path: Path) -> None:
    rails = parse_rails(tomllib.loads(CARD))
    stripe, efi = rails.named("stripe"), rails.named("efi")
    assert stripe is not None and efi is not None
    with pytest.raises(ConfigError, match="STRIPE_SECRET_KEY is not set"):
        stripe.credential({})
    with pytest.raises(ConfigError, match="cannot read /run/secrets/efi"):
        efi.credential({})
