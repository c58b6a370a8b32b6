"""The building blocks of every shape: strict bodies, open-ended text, hall days, and the JSON Schema they give.

A shape is a pydantic model. The same model parses a request (body.py) and describes it in the OpenAPI
document (openapi.py), so what the server accepts and what the document says cannot drift apart.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

# Text that says something: one character that no regex flavour nor Python's str.strip() takes for a space. A
# plain \S differs between them: pydantic's (Rust) and ECMAScript's let U+001C..U+001F (and ECMAScript U+0085)
# through, which the server strips, so the document called valid what the server refused as blank.
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"


class Body(BaseModel):
    """A request body: unknown fields refused, JSON types taken strictly (true is not 1, "5" is not 5).

    An integral number such as 5.0 reaches the model as the int 5 (body.py reads it so): JSON Schema 2020-12,
    which the OpenAPI 3.1 document uses, counts it an integer, so the document's integer fields take it.

    `codes` names the error code of a field whose value (not its type) is out of range, where the
    contract gives one (a rating's level answers `invalid_level`).
    """

    # defer_build: a model's validator is built on its first use, not at import (start-up stays short)
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)
    codes: ClassVar[dict[str, str]] = {}


class Query(BaseModel):
    """A query string: the parameters it names; any other parameter is ignored (links carry tracking junk)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True, defer_build=True)


class Answer(BaseModel):
    """A response shape. Closed (additionalProperties false), so a field the server adds without describing
    it here fails the conformance tests instead of drifting silently."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built only for the OpenAPI document


def Choice(description: str = "", **kw: Any) -> Any:  # noqa: N802  (read as a field's type)
    """A field of one of the engine's StrEnums, given as its string value (strict mode wants the enum itself)."""
    return Field(strict=False, description=description or None, **kw)


def Sometimes(description: str = "", **kw: Any) -> Any:  # noqa: N802
    """An answer's field that is present only in some answers (never null when present): not required."""
    return Field(None, description=description or None, **kw)


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: "２０２４" is no year
# A month: years 0001 to 9999 (Python's dates; 0000 is none) and months 01 to 12, in ASCII digits. The same
# pattern is the document's, so what the schema allows is what the server reads (`\d` would let a Python-regex
# tool write Arabic-Indic digits, which the server refuses).
MONTH_PATTERN = r"^([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)


def _day(value: Any) -> date:
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise PydanticCustomError("day_format", "must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("day_format", "must be a date as YYYY-MM-DD") from None


# A hall-local calendar day in a query: YYYY-MM-DD and a real date (2024-02-30 is refused).
Day = Annotated[date, PlainValidator(_day), WithJsonSchema({"type": "string", "format": "date"})]


def _month(value: Any) -> date:
    if isinstance(value, str) and _MONTH.fullmatch(value):
        return date(int(value[:4]), int(value[5:]), 1)
    raise PydanticCustomError("month_format", "must be a month as YYYY-MM")


# A calendar month in a query, as its first day: YYYY-MM.
Month = Annotated[date, PlainValidator(_month), WithJsonSchema({"type": "string", "pattern": MONTH_PATTERN})]

# Response fields: what they hold, for the document.
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
DayText = Annotated[str, Field(json_schema_extra={"format": "date"})]
Count = Annotated[int, Field(ge=0)]
Seconds = Annotated[int, Field(ge=0)]


class Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema, written as a reader of the OpenAPI document would like it.

    - `X | None` of a plain type is `{"type": [X, "null"]}` (not an anyOf), so tools and tests see the
      type, length limits and enum of the field directly;
    - no generated titles on fields (the field's name says it);
    - fields with a default of None show no default (absent and null mean the same).
    """

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        kind = inner.get("type")
        if isinstance(kind, str) and "$ref" not in inner:
            out = {**inner, "type": [kind, "null"]}
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
            return out
        return {"anyOf": [inner, {"type": "null"}]}

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        out = super().default_schema(schema)
        if out.get("default", 0) is None:
            out.pop("default")
        return out
