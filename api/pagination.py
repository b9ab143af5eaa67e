"""Lists a page at a time: the API's envelope ({"items": [...], "total": N, "limit": L,
"offset": O}) and the web pages' links between pages."""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Query
from pydantic import BaseModel

Item = TypeVar("Item")


class Page:
    """`limit` and `offset` of a list, bounded as API.md says."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


class ListPage(BaseModel, Generic[Item]):
    items: list[Item]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, found: tuple[Sequence[Any], int], page: Page) -> "ListPage[Any]":
        """The envelope of one page of a domain list, as `incidents.db.paged` returns it."""
        # The items are table rows (Alert, not AlertPublic): FastAPI validates them into the
        # route's ListPage[...Public] answer, so nothing here can type them as the public model.
        items, total = found
        return cls(items=list(items), total=total, limit=page.limit, offset=page.offset)


# The pages show a list fifty rows at a time.
PAGE_ROWS = 50


def page_offset(number: int) -> int:
    return (number - 1) * PAGE_ROWS


def page_links(
    path: str, kept: Mapping[str, str], number: int, shown: int, total: int
) -> dict[str, Any]:
    """Where page `number` of a list stands, for a page's template: the rows it shows
    (`first`–`last` of `total`) and its own and its neighbours' addresses, filters kept."""
    offset = page_offset(number)

    def url(page: int) -> str:
        return f"{path}?" + urlencode({**kept, "page": page})

    return {
        "total": total,
        "first": offset + 1 if shown else 0,
        "last": offset + shown,
        "prev_url": url(number - 1) if number > 1 else None,
        "next_url": url(number + 1) if offset + shown < total else None,
        "here": url(number),
    }
