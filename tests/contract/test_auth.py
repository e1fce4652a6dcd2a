"""Auth: bearer tokens and the user-action signing flow, verified for real (DFNS.md §1.4)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.contract.dfns_helpers import DfnsUser, b64url, compact, new_key, sign_bytes


@pytest.mark.parametrize("kind", ["ed25519", "p256", "secp256k1", "rsa"])
def test_every_supported_key_kind_can_sign_a_user_action(
    make_service_account: Callable[..., DfnsUser], kind: str
):
    user = make_service_account(kind)
    response = user.signed("POST", "/wallets", {"network": "EthereumSepolia", "name": f"{kind} wallet"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == f"{kind} wallet"


def test_missing_or_unknown_bearer_token_is_401(http: httpx.Client):
    assert http.get("/wallets").status_code == 401
    response = http.get("/wallets", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["status"] == 401
    assert error["id"]
    assert "details" in error


def test_state_changing_call_without_user_action_is_403(svc: DfnsUser):
    response = svc.http.post("/wallets", content=compact({"network": "EthereumSepolia"}), headers=svc.auth)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "user action signature is missing or invalid"


def test_signature_by_another_key_is_rejected(svc: DfnsUser):
    challenge = svc.challenge("POST", "/wallets", "{}")
    response = svc.http.post("/auth/action", json=svc.assertion(challenge, key=new_key()), headers=svc.auth)
    assert response.status_code == 403


def test_client_data_must_carry_the_issued_challenge(svc: DfnsUser):
    challenge = svc.challenge("POST", "/wallets", "{}")
    forged = compact({"challenge": "another-challenge", "type": "key.get"})
    body = svc.assertion(challenge)
    body["firstFactor"]["credentialAssertion"].update(
        clientData=b64url(forged), signature=b64url(sign_bytes(svc.key, forged))
    )
    assert svc.http.post("/auth/action", json=body, headers=svc.auth).status_code == 403


def test_challenge_is_single_use(svc: DfnsUser):
    challenge = svc.challenge("POST", "/wallets", "{}")
    assert svc.http.post("/auth/action", json=svc.assertion(challenge), headers=svc.auth).status_code == 200
    again = svc.http.post("/auth/action", json=svc.assertion(challenge), headers=svc.auth)
    assert again.status_code == 400
    assert again.json()["error"]["message"] == "Challenge token is not valid."


def test_challenge_expires_after_15_minutes(svc: DfnsUser, advance: Callable[[float], None]):
    challenge = svc.challenge("POST", "/wallets", "{}")
    advance(15 * 60 + 1)
    response = svc.http.post("/auth/action", json=svc.assertion(challenge), headers=svc.auth)
    assert response.status_code == 400


def test_challenge_of_another_user_is_not_valid(svc: DfnsUser, officer: DfnsUser):
    challenge = svc.challenge("POST", "/wallets", "{}")
    response = officer.http.post("/auth/action", json=svc.assertion(challenge), headers=officer.auth)
    assert response.status_code == 400


def test_replayed_user_action_is_refused_and_creates_nothing(svc: DfnsUser):
    content = compact({"network": "EthereumSepolia"})
    action = svc.user_action("POST", "/wallets", content.decode())
    assert svc.send("POST", "/wallets", content, action).status_code == 200
    replay = svc.send("POST", "/wallets", content, action)
    assert replay.status_code == 400
    assert replay.json()["error"]["message"] == "user action has already been used"
    assert len(svc.get("/wallets").json()["items"]) == 1


def test_body_that_differs_from_the_signed_payload_is_403(svc: DfnsUser):
    action = svc.user_action(
        "POST", "/wallets", compact({"network": "EthereumSepolia", "name": "a"}).decode()
    )
    response = svc.send("POST", "/wallets", compact({"network": "EthereumSepolia", "name": "b"}), action)
    assert response.status_code == 403
    assert svc.get("/wallets").json()["items"] == []


def test_payload_is_compared_as_bytes_not_as_parsed_json(svc: DfnsUser):
    """The sandbox's decision on the UNCONFIRMED point: same JSON, other bytes → refused."""
    body = {"network": "EthereumSepolia", "name": "Café"}
    signed_as_ascii = compact(body).decode().replace("é", "\\u00e9")
    action = svc.user_action("POST", "/wallets", signed_as_ascii)
    assert svc.send("POST", "/wallets", compact(body), action).status_code == 403
    assert svc.signed("POST", "/wallets", body).json()["name"] == "Café"


def test_user_action_is_bound_to_method_and_path(svc: DfnsUser):
    content = compact({"network": "EthereumSepolia"})
    action = svc.user_action("POST", "/wallets", content.decode())
    assert svc.send("PUT", "/wallets", content, action).status_code in {403, 405}
    action = svc.user_action("POST", "/v2/policies", content.decode())
    assert svc.send("POST", "/wallets", content, action).status_code == 403


def test_user_action_of_another_user_is_refused(svc: DfnsUser, officer: DfnsUser):
    content = compact({"network": "EthereumSepolia"})
    action = officer.user_action("POST", "/wallets", content.decode())
    assert svc.send("POST", "/wallets", content, action).status_code == 403


def test_init_validates_its_body(svc: DfnsUser):
    bad = {"userActionHttpMethod": "PATCH", "userActionHttpPath": "/wallets", "userActionPayload": ""}
    assert svc.http.post("/auth/action/init", json=bad, headers=svc.auth).status_code == 400
    extra = {"userActionHttpMethod": "POST", "userActionHttpPath": "/w", "userActionPayload": "", "x": 1}
    assert svc.http.post("/auth/action/init", json=extra, headers=svc.auth).status_code == 400


def test_init_lists_the_users_credential(svc: DfnsUser):
    challenge = svc.challenge("POST", "/wallets", "")
    assert challenge["allowCredentials"]["key"] == [{"type": "public-key", "id": svc.cred_id}]
    assert challenge["challengeIdentifier"].count(".") == 2


def test_registering_a_service_account_rejects_bad_keys(http: httpx.Client):
    response = http.post("/sandbox/service-accounts", json={"name": "x", "publicKey": "ssh-ed25519 AAAA"})
    assert response.status_code == 400
