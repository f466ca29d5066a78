"""How JSON bodies are read: nesting is capped, and models are validated with JSON's own types.

Litestar decodes a body to Python objects and hands them to pydantic in lax (Python) mode,
which turns `"12"` and `true` into 12 and a dict nested 5,000 deep into a RecursionError.
Here a body nested deeper than MAX_DEPTH is malformed (400), and every pydantic body model is
validated in pydantic's strict JSON mode: a number where the model wants a number, a boolean
where it wants a boolean; strings still carry dates, times, UUIDs and enum values, as JSON does.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.exceptions import SerializationException
from litestar.plugins.pydantic import PydanticInitPlugin
from litestar.plugins.pydantic.plugins.init import is_pydantic_v2_model_class
from pydantic import BaseModel, ConfigDict, ValidationError

from api.errors import invalid

# The deepest body the API takes (an athlete's availability exception windows) nests 5 levels.
MAX_DEPTH = 32
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"

M = TypeVar("M", bound=BaseModel)


class StrictBody(BaseModel):
    """A coach's command (plan, approval, clearance, roster re-plan, calendar source): a key
    the model does not know is refused (422 naming it), so a typo such as `week` for `weeks`
    is not silently a 12-week plan. Pain and feedback bodies are not strict: a pain report is
    never refused for a reason unrelated to the pain."""

    model_config = ConfigDict(extra="forbid")


def nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and objects in a decoded JSON value nest more than `limit` levels (a walk
    with its own stack: recursion is what a deep body would exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


class JsonRequest(Request[Any, Any, Any]):
    """A request whose JSON body is refused as malformed when it nests too deep."""

    async def json(self) -> Any:
        body = await self.body()
        # brackets counted in C: a body with fewer of them than the limit cannot nest deeper
        if body.count(b"[") + body.count(b"{") > MAX_DEPTH:
            try:
                value = await super().json()
            except RecursionError:  # the decoder gave up before reaching the end
                raise SerializationException(TOO_DEEP) from None
            if nests_deeper_than(value, MAX_DEPTH):
                raise SerializationException(TOO_DEEP)
            return value
        return await super().json()


def validate_json(model: type[M], value: Any) -> M:
    """`value` (decoded JSON) as `model`, with JSON's types: raises pydantic's ValidationError."""
    return model.model_validate_json(msgspec.json.encode(value), strict=True)


def _decode_body(model: type[BaseModel], value: Any) -> BaseModel:
    try:
        return validate_json(model, value)
    # pydantic's ValidationError, as the 422 the API gives for a body that breaks a rule, with
    # each field named. Not handed to Litestar: it takes an error whose key is the name of a
    # dependency for the server's own (an error on `settings` as a whole answered 500)
    except ValidationError as exc:
        raise invalid.from_validation(exc) from None


class JsonBodies(PydanticInitPlugin):
    """Litestar's pydantic plugin, with body models validated by `validate_json`."""

    @classmethod
    def decoders(cls, validate_strict: bool = False) -> list[Any]:
        return [(is_pydantic_v2_model_class, _decode_body), *super().decoders(validate_strict)]
