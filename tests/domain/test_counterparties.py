"""One canonical form per counterparty: published check-digit vectors, refusals, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fiduciary.domain.counterparties import canonical, crc16_ccitt, eip55, listed, match_keys, parse_counterparty
from fiduciary.domain.errors import InputError

# The static BR Code example of the Banco Central do Brasil's Pix manual, with its published CRC.
BCB_STATIC = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR"
    "5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)
# The EIP-55 specification's test addresses (all checksummed).
EIP55 = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DE89 3704 0044 0532 0130 00", "iban:DE89370400440532013000"),
        ("iban:gb82west12345698765432", "iban:GB82WEST12345698765432"),
        ("Ana.Souza@Example.COM", "pix:ana.souza@example.com"),
        ("pix:+55 (11) 99999-8888", "pix:+5511999998888"),
        ("529.982.247-25", "pix:52998224725"),
        ("11.222.333/0001-81", "pix:11222333000181"),
        ("pix:123E4567-E12B-12D1-A456-426655440000", "pix:123e4567-e12b-12d1-a456-426655440000"),
        ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "evm:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        ("evm:0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", "evm:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        ("tok_4eC39HqLyjWDarjtT1zdp7dc", "card:tok_4eC39HqLyjWDarjtT1zdp7dc"),
        ("ACCT:Laptops", "acct:laptops"),
        ("acct:\uff43asino", "acct:casino"),
        ("cus:ana", "cus:ana"),
    ],
)
def test_each_kind_has_one_canonical_form(text: str, expected: str) -> None:
    assert canonical(text) == expected


@pytest.mark.parametrize("address", EIP55)
def test_eip55_checksums_match_the_specification(address: str) -> None:
    assert eip55(address.lower()) == address
    assert canonical(address) == f"evm:{address}"


def test_a_br_code_verifies_its_crc_and_answers_to_the_pix_key_it_carries() -> None:
    assert crc16_ccitt(BCB_STATIC[:-4].encode()) == 0x1D3D
    parsed = parse_counterparty(BCB_STATIC)
    assert parsed.canonical == f"brcode:{BCB_STATIC}"
    assert parsed.pix_key == "pix:123e4567-e12b-12d1-a456-426655440000"
    assert listed(("pix:123E4567-e12b-12d1-a456-426655440000",), BCB_STATIC)
    with pytest.raises(InputError, match="CRC"):
        parse_counterparty(BCB_STATIC[:-4] + "0000")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("acct:casino ", "surrounding space"),
        (" acct:casino", "surrounding space"),
        ("acct:casino\u200b", "invisible"),
        ("acct:\u202ecasino", "invisible"),
        ("acct:\u0441\u0430sino", "ASCII"),  # Cyrillic es and a
        ("DE89 3704 0044 0532 0130 01", "mod-97"),
        ("529.982.247-26", "CPF"),
        ("11.222.333/0001-82", "CNPJ"),
        ("111.111.111-11", "CPF"),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "EIP-55"),
        ("0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea", "0x and 40 hex"),
        ("pix:+12", "E.164"),
        ("pix:not a key", "not a Pix key"),
        ("foo:bar", "unknown kind"),
        ("the supplier changed banks", "not a known kind"),
        ("", "empty"),
        ("acct:" + "x" * 300, "longer than"),
    ],
)
def test_a_counterparty_that_is_not_a_valid_identifier_is_refused_never_stripped(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as refused:
        parse_counterparty(text)
    assert refused.value.code == "invalid_counterparty"
    assert text.strip() not in refused.value.message or not text.strip(), "the refusal never echoes the input"


def test_lists_compare_canonical_forms_only() -> None:
    assert listed(("iban:DE89370400440532013000",), "DE89 3704 0044 0532 0130 00")
    assert listed(("acct:Casino",), "acct:\uff43asino")
    assert not listed(("acct:casino",), "acct:casinos")
    assert match_keys("acct:casino\u200b") == frozenset(), "an invalid entry matches nothing"


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}", fullmatch=True))
def test_the_canonical_form_is_a_fixed_point(ident: str) -> None:
    once = canonical(f"acct:{ident}")
    assert canonical(once) == once


@given(st.sampled_from([*EIP55, BCB_STATIC, "DE89 3704 0044 0532 0130 00", "529.982.247-25", "ana@example.com"]))
def test_every_kind_round_trips_through_its_canonical_form(text: str) -> None:
    once = canonical(text)
    assert canonical(once) == once
