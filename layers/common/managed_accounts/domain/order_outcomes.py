"""Order state changes and the transfer outcomes that move orders forward.

Every change is one conditional write on the order (its ``version``) with the domain events it
reports in the same transaction (the outbox), published after. A transfer's status moves an order
forward only (submitted → executing → broadcasted → confirmed | failed | rejected), so a late webhook,
a duplicate, or the reconciler racing a webhook changes nothing it should not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from managed_accounts.dfns.models import TransferRequest
from managed_accounts.domain.events import DomainEvent, DomainEventType
from managed_accounts.domain.outbox import Outbox
from managed_accounts.domain.ports import Clock, OrdersRepository
from managed_accounts.domain.trading import (
    ORDER_STAGE,
    ORDER_STATUS_OF_TRANSFER,
    TERMINAL_ORDER_STATUSES,
    Order,
    OrderStatus,
    SkipReason,
)
from managed_accounts.errors import ConcurrentUpdate
from managed_accounts.logs import get_logger

logger = get_logger("orders")

_TERMINAL_EVENT: dict[str, DomainEventType] = {
    "confirmed": "OrderConfirmed",
    "failed": "OrderFailed",
    "rejected": "OrderRejected",
}
_SUBMITTED_STAGE = ORDER_STAGE["submitted"]


class OrderTransitions:
    def __init__(self, orders: OrdersRepository, outbox: Outbox, clock: Clock) -> None:
        self._orders = orders
        self._outbox = outbox
        self._clock = clock

    # --- before Dfns --------------------------------------------------------------------------------

    def claim(self, order: Order) -> Order:
        """This worker submits the order; raises ``ConcurrentUpdate`` if another got there first."""
        now = self._clock.now()
        claimed = replace(
            order, status="claimed", attempts=order.attempts + 1, claimed_at=now, updated_at=now
        )
        return self._orders.save_order(claimed, expected_version=order.version)

    def release(self, order: Order) -> Order:
        """Back to ``planned`` (Dfns certainly or probably did not act; a retry may submit it)."""
        released = replace(order, status="planned", claimed_at=None, updated_at=self._clock.now())
        return self._orders.save_order(released, expected_version=order.version)

    def skip(self, order: Order, reason: SkipReason) -> Order:
        skipped = replace(
            order, status="skipped", reason=reason, claimed_at=None, updated_at=self._clock.now()
        )
        saved = self._orders.save_order(skipped, expected_version=order.version)
        logger.info(
            "order skipped", extra={"clientId": order.client_id, "runId": order.run_id, "reason": reason}
        )
        return saved

    def refuse(self, order: Order, reason: str) -> Order:
        """Dfns refused the transfer outright (an error answer, so no transfer exists): ``rejected``."""
        now = self._clock.now()
        refused = replace(
            order, status="rejected", reason=reason, claimed_at=None, resolved_at=now, updated_at=now
        )
        return self._save(order, refused)

    # --- what Dfns says -----------------------------------------------------------------------------

    def apply_transfer(self, order: Order, transfer: TransferRequest) -> Order | None:
        """The order as the transfer shows it, forward only; None when nothing changes."""
        updated = self._forward(order, transfer)
        if updated is None:
            return None
        return self._save(order, updated)

    def _forward(self, order: Order, transfer: TransferRequest) -> Order | None:
        status: OrderStatus | None = ORDER_STATUS_OF_TRANSFER.get(str(transfer.status))
        if status is None or ORDER_STAGE[status] < ORDER_STAGE[order.status]:
            return None
        now = self._clock.now()
        terminal = status in TERMINAL_ORDER_STATUSES
        updated = replace(
            order,
            status=status,
            wallet_id=transfer.wallet_id,
            transfer_id=transfer.id,
            transfer_status=str(transfer.status),
            approval_id=transfer.approval_id or order.approval_id,
            tx_hash=transfer.tx_hash or order.tx_hash,
            reason=transfer.reason if status in ("failed", "rejected") else None,
            claimed_at=None,
            submitted_at=order.submitted_at or now,
            resolved_at=order.resolved_at or (now if terminal else None),
        )
        if _same_facts(order, updated):
            return None
        return replace(updated, updated_at=now)

    def _save(self, before: Order, after: Order) -> Order:
        events = self._events(before, after)
        saved = self._orders.save_order(after, expected_version=before.version, events=events)
        logger.info(
            "order recorded",
            extra={
                "clientId": after.client_id,
                "runId": after.run_id,
                "status": after.status,
                "transferId": after.transfer_id,
                "approvalId": after.approval_id,
            },
        )
        self._outbox.publish(events)
        return saved

    def _events(self, before: Order, after: Order) -> list[DomainEvent]:
        kinds: list[DomainEventType] = []
        if ORDER_STAGE[before.status] < _SUBMITTED_STAGE and after.transfer_id:
            kinds.append("OrderSubmitted")
        if after.status in _TERMINAL_EVENT and before.status != after.status:
            kinds.append(_TERMINAL_EVENT[after.status])
        now = self._clock.now()
        return [DomainEvent(kind, after.client_id, _detail(after), occurred_at=now) for kind in kinds]


class OrderOutcomes:
    """``TransferOutcomes`` for the webhook processor and ``OrderTransfers`` for the reconciler."""

    def __init__(self, orders: OrdersRepository, transitions: OrderTransitions) -> None:
        self._orders = orders
        self._transitions = transitions

    def record_transfer(self, client_id: str, transfer: TransferRequest) -> bool:
        """Moves the order that made ``transfer`` (found by its ``externalId``) forward; False when no
        order of the client made it or nothing changed."""
        if not transfer.external_id:
            return False
        order = self._orders.find_order_by_external_id(client_id, transfer.external_id)
        for _ in range(3):
            if order is None:
                return False
            try:
                return self._transitions.apply_transfer(order, transfer) is not None
            except ConcurrentUpdate:  # the worker or another event moved it meanwhile: look again
                order = self._orders.get_order(order.client_id, order.run_id, order.run_created_at)
        raise ConcurrentUpdate("the order keeps changing; the next event or reconciler run records it")

    def iter_open_transfers(self) -> Iterator[tuple[str, str, str]]:
        for order in self._orders.iter_open_orders():
            if order.wallet_id and order.transfer_id:
                yield order.client_id, order.wallet_id, order.transfer_id


def _same_facts(before: Order, after: Order) -> bool:
    fields = ("status", "transfer_id", "transfer_status", "approval_id", "tx_hash", "reason")
    return all(getattr(before, name) == getattr(after, name) for name in fields)


def _detail(order: Order) -> dict[str, object]:
    return {
        "runId": order.run_id,
        "externalId": order.external_id,
        "status": order.status,
        "exchange": order.exchange,
        "network": order.network,
        "asset": order.asset,
        "amount": order.amount,
        "to": order.to,
        "transferId": order.transfer_id,
        "approvalId": order.approval_id,
        "txHash": order.tx_hash,
        "reason": order.reason,
    }
