"""The service account learns who it is from its token and reads its own roles from Dfns."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from managed_accounts.dfns.errors import DfnsError
from managed_accounts.dfns.identity import token_claims, token_user_id

from tests.unit.dfns.conftest import ClientFactory
from tests.unit.dfns.fake_dfns import FakeDfns


def _jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'EdDSA', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


DFNS_TOKEN = _jwt(
    {
        "iss": "auth.dfns.io",
        "sub": "or-30tnh-itmjs-s235s5ontr3r23h2",
        "https://custom/username": "",
        "https://custom/app_metadata": {
            "userId": "us-6b58p-r53sr-rlrd3l5cj3uc4ome",
            "orgId": "or-30tnh-itmjs-s235s5ontr3r23h2",
            "tokenKind": "Service",
        },
    }
)


def test_the_user_id_comes_from_the_tokens_app_metadata_claim() -> None:
    assert token_user_id(DFNS_TOKEN) == "us-6b58p-r53sr-rlrd3l5cj3uc4ome"
    assert token_claims(DFNS_TOKEN)["sub"].startswith("or-")
    for opaque in (
        "tok-secret",
        "a.b.c",
        "a.!!!.c",
        _jwt({"sub": "x"}),
        f"x.{base64.b64encode(b'[1]').decode()}.y",
    ):
        assert token_user_id(opaque) is None


def _account(*assignments: dict[str, Any], flat: list[str] | None = None) -> httpx.Response:
    info: dict[str, Any] = {
        "userId": "us-svc",
        "isServiceAccount": True,
        "permissionAssignments": list(assignments),
    }
    if flat is not None:
        info["permissions"] = flat
    return httpx.Response(200, json={"userInfo": info, "accessTokens": []})


def test_own_permissions_reads_a_role_dfns_lists_without_its_operations(
    fake: FakeDfns, make_client: ClientFactory
) -> None:
    fake.script(
        "GET",
        "/auth/service-accounts/us-6b58p-r53sr-rlrd3l5cj3uc4ome",
        _account(
            {
                "permissionId": "pm-1",
                "permissionName": "listed",
                "assignmentId": "as-1",
                "operations": ["Wallets:Read"],
            },
            {"permissionId": "pm-2", "permissionName": "bare", "assignmentId": "as-2"},
            flat=["Wallets:Read", "Wallets:Tags:Remove"],
        ),
    )
    fake.script(
        "GET",
        "/permissions/pm-2",
        httpx.Response(
            200, json={"id": "pm-2", "name": "bare", "operations": ["Policies:Read"], "status": "Active"}
        ),
    )
    fake.token = DFNS_TOKEN
    client = make_client(fake, token=DFNS_TOKEN)
    assert client.token_user_id() == "us-6b58p-r53sr-rlrd3l5cj3uc4ome"

    held = client.own_permissions()

    assert held.user_id == "us-6b58p-r53sr-rlrd3l5cj3uc4ome"
    assert [(r.id, r.operations) for r in held.roles] == [
        ("pm-1", ["Wallets:Read"]),
        ("pm-2", ["Policies:Read"]),
    ]
    assert held.operations() == {"Wallets:Read", "Policies:Read", "Wallets:Tags:Remove"}
    assert held.sources_of("Wallets:Tags:Remove") == ["userInfo.permissions"]
    assert len(fake.calls("GET", "/permissions/pm-2")) == 1
    assert fake.calls("GET", "/permissions/pm-1") == []


def test_roles_on_the_token_count_too_and_an_explicit_id_wins(
    fake: FakeDfns, make_client: ClientFactory
) -> None:
    token_role = {
        "permissionId": "pm-t",
        "permissionName": "on-token",
        "assignmentId": "as-t",
        "operations": ["X:Y"],
    }
    body = {
        "userInfo": {"userId": "us-explicit", "permissionAssignments": []},
        "accessTokens": [{"permissionAssignments": [token_role]}],
    }
    fake.script("GET", "/auth/service-accounts/us-explicit", httpx.Response(200, json=body))
    client = make_client(fake)  # an opaque token: no user id in it

    held = client.own_permissions("us-explicit")

    assert [r.id for r in held.roles] == ["pm-t"]
    assert held.operations() == {"X:Y"}


def test_without_a_user_id_it_cannot_read_its_permissions(fake: FakeDfns, make_client: ClientFactory) -> None:
    client = make_client(fake)
    assert client.token_user_id() is None
    with pytest.raises(DfnsError, match="names no user id"):
        client.own_permissions()
    assert fake.seen == []
