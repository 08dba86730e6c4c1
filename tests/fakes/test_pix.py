"""The fake Pix PSP (Efí) over real HTTP: OAuth2, payouts by idEnvio, statuses, lists, returns, faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from fiduciary.domain.clock import FakeClock
from tests.fakes import FakePix
from tests.fakes.base import MALFORMED_BODY
from tests.fakes.clients import (
    CLIENT_ID,
    CLIENT_SECRET,
    Served,
    payout,
    pix_token,
    running,
)

pytestmark = pytest.mark.anyio


async def test_a_token_needs_the_client_credentials_and_every_endpoint_needs_a_token(pix: Served[FakePix]) -> None:
    wrong = await pix.http.post("/oauth/token", json={"grant_type": "client_credentials"}, auth=(CLIENT_ID, "nope"))
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    token = await pix.http.post(
        "/oauth/token", json={"grant_type": "client_credentials"}, auth=(CLIENT_ID, CLIENT_SECRET)
    )
    assert token.json() | {"access_token": ""} == {
        "access_token": "",
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": token.json()["scope"],
    }
    anonymous = await pix.http.put("/v3/gn/pix/envio1", json=payout(), headers={"Authorization": ""})
    assert (anonymous.status_code, anonymous.json()["nome"]) == (401, "nao_autorizado")
    assert pix.fake.objects == []


async def test_expired_tokens_are_refused_until_a_new_one_is_fetched(pix: Served[FakePix]) -> None:
    pix.fake.expire_tokens()
    refused = await pix.http.get("/v2/gn/pix/enviados/id-envio/envio1")
    assert (refused.status_code, refused.json()["nome"]) == (401, "nao_autorizado")
    pix.http.headers["Authorization"] = f"Bearer {await pix_token(pix.http)}"
    assert (await pix.http.get("/v2/gn/pix/enviados/id-envio/envio1")).status_code == 404


async def test_a_payout_is_accepted_in_processing(pix: Served[FakePix]) -> None:
    answer = await pix.http.put("/v3/gn/pix/envio1", json=payout())
    assert answer.status_code == 201
    body = answer.json()
    assert (body["idEnvio"], body["valor"], body["status"]) == ("envio1", "12.34", "EM_PROCESSAMENTO")
    assert body["e2eId"].startswith("E") and len(body["e2eId"]) == 33 and body["e2eId"].isalnum()
    assert datetime.fromisoformat(body["horario"]["solicitacao"]).tzinfo is not None
    assert "liquidacao" not in body["horario"]


async def test_the_same_id_envio_and_body_answer_the_same_payout(pix: Served[FakePix]) -> None:
    first = (await pix.http.put("/v3/gn/pix/envio1", json=payout())).json()
    again = await pix.http.put("/v3/gn/pix/envio1", json=payout())
    assert (again.status_code, again.json()) == (200, first)
    assert pix.fake.created_count("envio1") == 1


async def test_the_same_id_envio_with_another_body_is_a_conflict(pix: Served[FakePix]) -> None:
    await pix.http.put("/v3/gn/pix/envio1", json=payout())
    other = await pix.http.put("/v3/gn/pix/envio1", json=payout(valor="99.00"))
    assert (other.status_code, other.json()["nome"]) == (409, "id_envio_duplicado")
    assert pix.fake.created_count("envio1") == 1


@pytest.mark.parametrize(
    ("id_envio", "body"),
    [
        ("envio-1", payout()),
        ("e" * 36, payout()),
        ("envio1", payout(valor="12.3")),
        ("envio1", payout(valor="0.00")),
        ("envio1", {"valor": "1.00", "favorecido": {"chave": "ana@example.com"}}),
    ],
)
async def test_a_bad_id_envio_or_body_is_400(pix: Served[FakePix], id_envio: str, body: dict[str, Any]) -> None:
    refused = await pix.http.put(f"/v3/gn/pix/{id_envio}", json=body)
    assert (refused.status_code, refused.json()["nome"]) == (400, "valor_invalido")
    assert pix.fake.objects == []


async def test_a_payout_is_settled_or_refused_by_its_first_read(pix: Served[FakePix]) -> None:
    await pix.http.put("/v3/gn/pix/paid", json=payout())
    await pix.http.put("/v3/gn/pix/refused", json=payout(payee="recusado@example.com"))
    paid = (await pix.http.get("/v2/gn/pix/enviados/id-envio/paid")).json()
    assert paid["status"] == "REALIZADO" and "liquidacao" in paid["horario"]
    refused = (await pix.http.get("/v2/gn/pix/enviados/id-envio/refused")).json()
    assert refused["status"] == "NAO_REALIZADO" and "liquidacao" not in refused["horario"]
    missing = await pix.http.get("/v2/gn/pix/enviados/id-envio/unknown")
    assert (missing.status_code, missing.json()["nome"]) == (404, "pix_nao_encontrado")


async def test_a_payout_settles_only_once_settle_after_has_passed() -> None:
    clock = FakeClock()
    async with running(FakePix(CLIENT_ID, CLIENT_SECRET, settle_after=60, clock=clock)) as served:
        served.http.headers["Authorization"] = f"Bearer {await pix_token(served.http)}"
        await served.http.put("/v3/gn/pix/envio1", json=payout())
        read = (await served.http.get("/v2/gn/pix/enviados/id-envio/envio1")).json()
        assert read["status"] == "EM_PROCESSAMENTO"
        clock.advance(seconds=60)
        assert (await served.http.get("/v2/gn/pix/enviados/id-envio/envio1")).json()["status"] == "REALIZADO"


async def test_the_list_holds_the_payouts_requested_in_the_range(pix: Served[FakePix]) -> None:
    for id_envio in ("envio1", "envio2"):
        await pix.http.put(f"/v3/gn/pix/{id_envio}", json=payout())
    now = datetime.now(UTC)
    window = {"inicio": (now - timedelta(minutes=5)).isoformat(), "fim": (now + timedelta(minutes=5)).isoformat()}
    body = (await pix.http.get("/v2/gn/pix/enviados", params=window)).json()
    assert (body["parametros"]["inicio"], body["parametros"]["fim"]) == (window["inicio"], window["fim"])
    assert [(item["idEnvio"], item["status"]) for item in body["pix"]] == [
        ("envio1", "REALIZADO"),
        ("envio2", "REALIZADO"),
    ]
    earlier = {"inicio": (now - timedelta(days=2)).isoformat(), "fim": (now - timedelta(days=1)).isoformat()}
    assert (await pix.http.get("/v2/gn/pix/enviados", params=earlier)).json()["pix"] == []
    assert (await pix.http.get("/v2/gn/pix/enviados", params={"inicio": "yesterday"})).status_code == 400


async def test_a_received_pix_is_returned_once_per_id_and_never_beyond_its_amount(pix: Served[FakePix]) -> None:
    e2e_id = "E09089356202601051200abcdefABCDEF"
    pix.fake.receive(e2e_id, "10.00")
    answer = await pix.http.put(f"/v2/pix/{e2e_id}/devolucao/dev1", json={"valor": "4.00"})
    assert answer.status_code == 201
    body = answer.json()
    assert (body["id"], body["valor"], body["status"]) == ("dev1", "4.00", "EM_PROCESSAMENTO")
    assert body["rtrId"].startswith("D") and len(body["rtrId"]) == 33
    again = await pix.http.put(f"/v2/pix/{e2e_id}/devolucao/dev1", json={"valor": "4.00"})
    assert (again.status_code, again.json()) == (200, body) and pix.fake.created_count("dev1") == 1
    read = (await pix.http.get(f"/v2/pix/{e2e_id}/devolucao/dev1")).json()
    assert read["status"] == "DEVOLVIDO"
    beyond = await pix.http.put(f"/v2/pix/{e2e_id}/devolucao/dev2", json={"valor": "6.01"})
    assert beyond.status_code == 400 and pix.fake.created_count("dev2") == 0
    unknown = await pix.http.put("/v2/pix/Eunknown/devolucao/dev3", json={"valor": "1.00"})
    assert unknown.status_code == 404


async def test_a_dropped_payout_was_made_and_its_retry_answers_it(pix: Served[FakePix]) -> None:
    pix.fake.faults.add("drop", path_prefix="/v3/gn/pix/")
    with pytest.raises(httpx2.TransportError):
        await pix.http.put("/v3/gn/pix/envio1", json=payout())
    assert pix.fake.created_count("envio1") == 1
    retried = await pix.http.put("/v3/gn/pix/envio1", json=payout())
    assert (retried.status_code, retried.json()["e2eId"]) == (200, pix.fake.objects[0]["e2eId"])


async def test_a_malformed_answer_is_not_json(pix: Served[FakePix]) -> None:
    pix.fake.faults.add("malformed")
    answer = await pix.http.put("/v3/gn/pix/envio1", json=payout())
    assert (answer.status_code, answer.content) == (200, MALFORMED_BODY)
    with pytest.raises(json.JSONDecodeError):
        answer.json()
    assert pix.fake.created_count("envio1") == 1


async def test_a_negative_amount_is_reported_for_a_positive_payout(pix: Served[FakePix]) -> None:
    await pix.http.put("/v3/gn/pix/envio1", json=payout())
    pix.fake.faults.add("negative_amount")
    assert (await pix.http.get("/v2/gn/pix/enviados/id-envio/envio1")).json()["valor"] == "-12.34"
    assert pix.fake.objects[0]["valor"] == "12.34"
