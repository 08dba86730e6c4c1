from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from fiduciary.audit import GENESIS, AuditEntry, EntryBody, seal, verify_chain
from fiduciary.domain.canonical import canonical_json
from fiduciary.mandates.keys import KeyPurpose, generate, new_master_key, unlock

MASTER = new_master_key()
SIGNER = unlock(generate(KeyPurpose.AUDIT, master_key=MASTER), master_key=MASTER)
KEYS = {SIGNER.kid: SIGNER.private_key.public_key().public_bytes_raw()}


def chain(payloads: list[dict[str, object]]) -> list[AuditEntry]:
    entries, prev = [], GENESIS
    for seq, payload in enumerate(payloads, start=1):
        body = EntryBody(seq, "org_a", "prj_a", "2026-01-05T12:00:00.000000Z", "system", "t", None, None, payload)
        entry = seal(body, prev_hash=prev, signer=SIGNER)
        entries.append(entry)
        prev = entry.entry_hash
    return entries


def test_an_untouched_chain_verifies() -> None:
    report = verify_chain(chain([{"n": i} for i in range(5)]), KEYS)
    assert report.ok and report.checked == 5


def test_an_edited_entry_is_found() -> None:
    entries = chain([{"n": i} for i in range(5)])
    entries[2] = replace(entries[2], body=replace(entries[2].body, payload={"n": 99}))
    report = verify_chain(entries, KEYS)
    assert not report.ok and report.broken_seq == 3 and "edited" in (report.reason or "")


def test_a_deleted_entry_is_found() -> None:
    entries = chain([{"n": i} for i in range(5)])
    del entries[1]
    report = verify_chain(entries, KEYS)
    assert not report.ok and report.broken_seq == 3


def test_reordered_entries_are_found() -> None:
    entries = chain([{"n": i} for i in range(5)])
    entries[1], entries[2] = entries[2], entries[1]
    assert verify_chain(entries, KEYS).broken_seq == 3


def test_an_inserted_entry_is_found_even_if_rehashed_by_someone_without_the_key() -> None:
    entries = chain([{"n": i} for i in range(3)])
    other_master = new_master_key()
    forger = unlock(generate(KeyPurpose.AUDIT, master_key=other_master), master_key=other_master)
    forged = [seal(e.body, prev_hash=e.prev_hash, signer=forger) for e in entries]
    report = verify_chain(forged, KEYS)
    assert not report.ok and report.broken_seq == 1 and "unknown key" in (report.reason or "")


def test_a_bad_signature_is_found() -> None:
    entries = chain([{"n": 1}])
    entries[0] = replace(entries[0], signature=bytes(64))
    assert verify_chain(entries, KEYS).reason == "signature does not verify"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**52), 2**52) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60)
@given(st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=4), min_size=1, max_size=6), st.data())
def test_any_single_payload_edit_breaks_the_chain_at_that_entry(
    payloads: list[dict[str, object]], data: st.DataObject
) -> None:
    entries = chain(payloads)
    assert verify_chain(entries, KEYS).ok
    index = data.draw(st.integers(0, len(entries) - 1))
    edited = {**entries[index].body.payload, "__tamper__": True}
    entries[index] = replace(entries[index], body=replace(entries[index].body, payload=edited))
    assert verify_chain(entries, KEYS).broken_seq == index + 1


def test_canonical_json_sorts_keys_by_utf16_and_refuses_floats() -> None:
    assert canonical_json({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()
    assert canonical_json({"\U0001f600": 1, "\uff61": 2}) == '{"\U0001f600":1,"\uff61":2}'.encode()
    for bad in (1.5, {"x": 0.1}, 2**53, b"bytes"):
        try:
            canonical_json(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} should be refused")
