"""GET /accounts/me/activity: the wallet's movements, newest first, one opaque cursor over two Dfns lists.

Incoming funds come from the wallet history (``direction=In``), outgoing ones from the transfers list
(every status). Both lists are newest first; a page merges them by time (on a tie, history first, so
each list keeps its own order). The cursor holds, for each list, Dfns's page token and the position in
that page of the next item not yet shown: each call reads at most two pages of each list (usually one),
and paging returns every movement exactly once, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from managed_accounts.dfns.errors import DfnsError
from managed_accounts.domain.movements import Movement, from_history, from_transfer
from managed_accounts.domain.ports import AccountsRepository, ReportsDfnsGateway
from managed_accounts.domain.report_accounts import DestinationLabels, client_account
from managed_accounts.domain.report_models import InvalidQuery
from managed_accounts.domain.report_queries import MAX_LIMIT, open_cursor, seal_cursor
from managed_accounts.errors import from_dfns

# Dfns page size for both lists: at least the largest page a client may ask for, so the rest of one
# Dfns page and the next one always cover a client page.
DFNS_PAGE = MAX_LIMIT
CURSOR_KIND = "activity"

PageFetcher = Callable[[str | None], tuple[list[Movement], str | None]]


@dataclass(frozen=True, slots=True)
class _Position:
    token: str | None = None
    offset: int = 0
    done: bool = False

    def as_state(self) -> list[Any]:
        return [self.token, self.offset, self.done]

    @classmethod
    def of_state(cls, raw: Any) -> _Position:
        if (
            not isinstance(raw, list)
            or len(raw) != 3
            or not (raw[0] is None or isinstance(raw[0], str))
            or not isinstance(raw[1], int)
            or not isinstance(raw[2], bool)
            or raw[1] < 0
        ):
            raise InvalidQuery("cursor is not valid")
        return cls(raw[0], raw[1], raw[2])


@dataclass(slots=True)
class _Window:
    """Items of one list from a position on, each with where it sits (token of its page, index)."""

    items: list[Movement] = field(default_factory=list)
    positions: list[tuple[str | None, int]] = field(default_factory=list)
    after: _Position = field(default_factory=lambda: _Position(done=True))

    def position_after(self, consumed: int) -> _Position:
        if consumed < len(self.items):
            token, offset = self.positions[consumed]
            return _Position(token, offset)
        return self.after


def _window(fetch: PageFetcher, start: _Position, need: int) -> _Window:
    window = _Window()
    if start.done:
        return window
    token, offset = start.token, start.offset
    for _ in range(2):  # need <= DFNS_PAGE: the rest of this page and the next one are enough
        page, next_token = fetch(token)
        for index in range(offset, len(page)):
            window.items.append(page[index])
            window.positions.append((token, index))
        if next_token is None:
            window.after = _Position(done=True)
            return window
        token, offset = next_token, 0
        if len(window.items) >= need:
            break
    window.after = _Position(token, 0)
    return window


def _merge(history: _Window, transfers: _Window, limit: int) -> tuple[list[Movement], int, int]:
    """Newest first; a tie goes to the history."""
    i = j = 0
    merged: list[Movement] = []
    while len(merged) < limit and (i < len(history.items) or j < len(transfers.items)):
        take_history = j >= len(transfers.items) or (
            i < len(history.items) and history.items[i].occurred_at >= transfers.items[j].occurred_at
        )
        if take_history:
            merged.append(history.items[i])
            i += 1
        else:
            merged.append(transfers.items[j])
            j += 1
    return merged, i, j


@dataclass(frozen=True, slots=True)
class LabelledMovement:
    movement: Movement
    counterparty_label: str | None
    counterparty_approved: bool


@dataclass(frozen=True, slots=True)
class ActivityPage:
    items: list[LabelledMovement]
    next_cursor: str | None


class ActivityService:
    def __init__(self, accounts: AccountsRepository, dfns: ReportsDfnsGateway) -> None:
        self._accounts = accounts
        self._dfns = dfns

    def page(self, client_id: str, *, limit: int, cursor: str | None = None) -> ActivityPage:
        account = client_account(self._accounts, client_id)
        state = open_cursor(client_id, CURSOR_KIND, cursor) if cursor else {}
        wallet_id = str(account.wallet_id)
        try:
            history = _window(
                self._history(wallet_id), _Position.of_state(state.get("h", [None, 0, False])), limit
            )
            transfers = _window(
                self._transfers(wallet_id), _Position.of_state(state.get("t", [None, 0, False])), limit
            )
        except DfnsError as error:
            raise from_dfns(error) from error
        merged, used_history, used_transfers = _merge(history, transfers, limit)
        next_h, next_t = history.position_after(used_history), transfers.position_after(used_transfers)
        next_cursor = None
        if not (next_h.done and next_t.done):
            next_cursor = seal_cursor(
                client_id, CURSOR_KIND, {"h": next_h.as_state(), "t": next_t.as_state()}
            )
        labels = DestinationLabels(self._accounts, account)
        return ActivityPage(
            [
                LabelledMovement(m, labels.label(m.counterparty), labels.is_approved(m.counterparty))
                for m in merged
            ],
            next_cursor,
        )

    def _history(self, wallet_id: str) -> PageFetcher:
        def fetch(token: str | None) -> tuple[list[Movement], str | None]:
            page = self._dfns.wallet_history_page(wallet_id, limit=DFNS_PAGE, token=token, direction="In")
            return [from_history(e) for e in page.items], page.next_page_token

        return fetch

    def _transfers(self, wallet_id: str) -> PageFetcher:
        def fetch(token: str | None) -> tuple[list[Movement], str | None]:
            page = self._dfns.transfers_page(wallet_id, limit=DFNS_PAGE, token=token)
            return [from_transfer(t) for t in page.items], page.next_page_token

        return fetch
