"""Iterating over Dfns list endpoints (``items`` + ``nextPageToken``, DFNS.md §8)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from managed_accounts.dfns.errors import DfnsError

MAX_PAGE_SIZE = 500

# Fetches one page given the token of the page (None for the first): the decoded JSON object.
PageFetcher = Callable[[str | None], Mapping[str, Any]]


class PaginationLoop(DfnsError):
    """Dfns returned a page token it had already returned: following it would never end."""


def page_size_param(page_size: int) -> int:
    """Dfns accepts 1–500 items per page."""
    return min(max(page_size, 1), MAX_PAGE_SIZE)


def iter_items(fetch: PageFetcher) -> Iterator[dict[str, Any]]:
    """Every item of every page, fetched lazily, stopping at the page without ``nextPageToken``."""
    seen: set[str] = set()
    token: str | None = None
    while True:
        page = fetch(token)
        items = page.get("items") or []
        for item in items:
            if isinstance(item, dict):
                yield item
        next_token = page.get("nextPageToken")
        if not next_token:
            return
        next_token = str(next_token)
        if next_token in seen:
            raise PaginationLoop(f"page token repeated after {len(seen)} pages")
        seen.add(next_token)
        token = next_token
