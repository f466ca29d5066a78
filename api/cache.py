"""A small bounded cache for rendered bytes keyed by what they were rendered from."""

from __future__ import annotations

from typing import Generic, TypeVar

V = TypeVar("V")


class Rendered(Generic[V]):
    """Values by key, the oldest dropped first once `size` are held.

    Keys carry every input of the rendering (athlete, plan version, update time, ...), so an
    entry is never stale: a change makes a new key, and the old entry ages out.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.items: dict[tuple[object, ...], V] = {}

    def get(self, key: tuple[object, ...]) -> V | None:
        return self.items.get(key)

    def put(self, key: tuple[object, ...], value: V) -> None:
        if len(self.items) >= self.size:
            self.items.pop(next(iter(self.items)))
        self.items[key] = value
