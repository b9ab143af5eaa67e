"""The list envelope of API.md: {"items": [...], "total": N, "limit": L, "offset": O}."""

from typing import Generic, TypeVar

from pydantic import BaseModel

Item = TypeVar("Item")


class ListPage(BaseModel, Generic[Item]):
    items: list[Item]
    total: int
    limit: int
    offset: int
