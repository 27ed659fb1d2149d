"""Named registries (metrics, RDM distances, datasets, ...) with helpful failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from crossalign._validation import check_option
from crossalign.errors import InputError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """A mapping from names to objects of one kind.

    An unknown name fails with the list of valid names and the closest match, e.g.
    ``The 'metric' parameter must be one of [...]. Got 'spearmn' instead. Did you mean
    'spearman'?``
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T, *, overwrite: bool = False) -> T:
        if not overwrite and name in self._items:
            raise InputError(f"A {self.kind} named {name!r} is already registered.")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        check_option(name, self.kind, self._items)
        return self._items[name]

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
