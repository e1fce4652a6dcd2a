"""Wallets (DFNS.md §2): create, get, list, update, tag/untag, assets, history, and sandbox deposits.

Decision on the UNCONFIRMED repeated ``externalId`` on ``POST /wallets``: 409 with
``details.duplicate{id, externalId}`` (the same shape as transfer conflicts), never a second wallet.
"""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING

from dfns_sandbox.clock import iso
from dfns_sandbox.context import Ctx, Reply, Route, ok
from dfns_sandbox.errors import bad_request, conflict, not_found, reject_unknown
from dfns_sandbox.prices import NETWORKS, new_address, normalise_address, random_id
from dfns_sandbox.store import Json, Wallet, page_body, paginate

if TYPE_CHECKING:
    from dfns_sandbox.core import Sandbox

TAG_PATTERN = re.compile(r"^[a-zA-Z0-9_.:/+-]{1,100}$")
MAX_TAGS = 10


def _optional_str(body: Json, key: str, max_len: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise bad_request(f"{key} must be a string of 1 to {max_len} characters", field=key)
    return value


def _tags(body: Json) -> list[str]:
    tags = body.get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, str) and TAG_PATTERN.match(t) for t in tags):
        raise bad_request("tags must be a list of strings matching ^[a-zA-Z0-9_.:/+-]{1,100}$", field="tags")
    return list(dict.fromkeys(tags))


def get_wallet(sb: Sandbox, wallet_id: str) -> Wallet:
    wallet = sb.store.wallets.get(wallet_id)
    if wallet is None:
        raise not_found("Wallet", wallet_id)
    return wallet


def render_wallet(wallet: Wallet) -> Json:
    body: Json = {
        "id": wallet.id,
        "network": wallet.network,
        "address": wallet.address,
        "signingKey": wallet.signing_key,
        "status": "Active",
        "dateCreated": iso(wallet.date_created),
        "custodial": True,
        "tags": list(wallet.tags),
    }
    if wallet.name is not None:
        body["name"] = wallet.name
    if wallet.external_id is not None:
        body["externalId"] = wallet.external_id
    return body


def _new_wallet_tags(ctx: Ctx, body: Json) -> list[str]:
    """Tags set in the create call itself: they need ``Wallets:Tags:Add`` too."""
    tags = _tags(body) if "tags" in body else []
    if tags:
        ctx.require("Wallets:Tags:Add")
    if len(tags) > MAX_TAGS:
        raise bad_request(f"a wallet holds at most {MAX_TAGS} tags", field="tags")
    return tags


def create_wallet(ctx: Ctx) -> Reply:
    body = ctx.body()
    reject_unknown(body, {"network", "name", "tags", "externalId", "delayDelegation"})
    network = body.get("network")
    if network not in NETWORKS:
        raise bad_request(f"network must be one of {', '.join(NETWORKS)}", field="network")
    name = _optional_str(body, "name", 100)
    external_id = _optional_str(body, "externalId", 100)
    tags = _new_wallet_tags(ctx, body)
    store = ctx.sb.store
    if external_id is not None and external_id in store.wallet_external_ids:
        existing = store.wallet_external_ids[external_id]
        raise conflict(
            "Conflicting wallet with same externalId", duplicate={"id": existing, "externalId": external_id}
        )
    curve = "secp256k1" if NETWORKS[network].evm or network.startswith(("Bitcoin", "Tron")) else "ed25519"
    wallet = Wallet(
        id=random_id("wa"),
        network=network,
        address=new_address(network),
        date_created=ctx.sb.clock.now(),
        signing_key={
            "id": random_id("key"),
            "scheme": "ECDSA" if curve == "secp256k1" else "EdDSA",
            "curve": curve,
            "publicKey": secrets.token_hex(33 if curve == "secp256k1" else 32),
        },
        name=name,
        external_id=external_id,
        tags=tags,
    )
    store.wallets[wallet.id] = wallet
    store.wallets_by_address[(network, normalise_address(network, wallet.address))] = wallet
    if external_id is not None:
        store.wallet_external_ids[external_id] = wallet.id
    ctx.sb.emit("wallet.created", {"wallet": render_wallet(wallet)})
    return ok(render_wallet(wallet))


def read_wallet(ctx: Ctx) -> Reply:
    return ok(render_wallet(get_wallet(ctx.sb, ctx.params["walletId"])))


def list_wallets(ctx: Ctx) -> Reply:
    items, token = paginate(list(ctx.sb.store.wallets.values()), ctx.args, render_wallet)
    return ok(page_body(items, token))


def update_wallet(ctx: Ctx) -> Reply:
    wallet = get_wallet(ctx.sb, ctx.params["walletId"])
    body = ctx.body()
    reject_unknown(body, {"name", "externalId"})
    if "name" in body:
        wallet.name = _optional_str(body, "name", 100)
    if "externalId" in body:
        external_id = _optional_str(body, "externalId", 100)
        owner = ctx.sb.store.wallet_external_ids.get(external_id or "")
        if owner is not None and owner != wallet.id:
            raise conflict(
                "Conflicting wallet with same externalId", duplicate={"id": owner, "externalId": external_id}
            )
        wallet.external_id = external_id
        if external_id is not None:
            ctx.sb.store.wallet_external_ids[external_id] = wallet.id
    return ok(render_wallet(wallet))


def _change_tags(ctx: Ctx, *, add: bool) -> Reply:
    wallet = get_wallet(ctx.sb, ctx.params["walletId"])
    body = ctx.body()
    reject_unknown(body, {"tags"})
    tags = _tags(body)
    if not tags:
        raise bad_request("tags must not be empty", field="tags")
    if add:
        changed = [t for t in tags if t not in wallet.tags]
        if len(wallet.tags) + len(changed) > MAX_TAGS:
            raise bad_request(f"a wallet holds at most {MAX_TAGS} tags", field="tags")
        wallet.tags.extend(changed)
    else:
        changed = [t for t in tags if t in wallet.tags]
        wallet.tags = [t for t in wallet.tags if t not in tags]
    ctx.sb.emit(
        "wallet.tags.modified",
        {
            "wallet": render_wallet(wallet),
            "tagsAdded": changed if add else [],
            "tagsRemoved": [] if add else changed,
        },
    )
    return ok({})


def tag_wallet(ctx: Ctx) -> Reply:
    return _change_tags(ctx, add=True)


def untag_wallet(ctx: Ctx) -> Reply:
    return _change_tags(ctx, add=False)


READ = ("Wallets:Read",)
ROUTES = [
    # A new wallet creates its signing key (Keys:Create, roles-and-permissions page); tags need Tags:Add.
    Route("POST", "/wallets", create_wallet, permissions=("Wallets:Create", "Keys:Create"), audit_safe=True),
    Route("GET", "/wallets", list_wallets, permissions=READ),
    Route("GET", "/wallets/{walletId}", read_wallet, permissions=READ),
    Route("PUT", "/wallets/{walletId}", update_wallet, permissions=("Wallets:Update",), audit_safe=True),
    Route("PUT", "/wallets/{walletId}/tags", tag_wallet, permissions=("Wallets:Tags:Add",), audit_safe=True),
    Route(
        "DELETE",
        "/wallets/{walletId}/tags",
        untag_wallet,
        permissions=("Wallets:Tags:Remove",),
        audit_safe=True,
    ),
]
