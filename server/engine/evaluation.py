"""The 好差评 push (PROTOCOL v1.2): a rating as one record of a provincial rating platform.

Pure: a profile (server/evaluation_profiles.toml, read by the config) lists the platform's fields, each
taken from one of the facts of a rating (FACTS) or a constant, through a value map or a time format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

FACTS = (
    "project_no",
    "task_code",
    "task_name",
    "channel",
    "level",
    "assessed_at",
    "assess_number",
    "tags",
    "comment",
    "clerk",
    "service_kind",
    "accepted_at",
    "due_at",
    "area_code",
    "dept_code",
    "data_source",
)


@dataclass(frozen=True)
class ProfileField:
    name: str  # the platform's field name
    source: str | None = None  # one of FACTS
    value: str | None = None  # a constant instead
    values: dict[str, str] = field(default_factory=dict)  # a fact's value -> the platform's code
    format: str | None = None  # strftime for a time


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    fields: tuple[ProfileField, ...]


@dataclass(frozen=True)
class EvaluationPush:
    """`[hall.evaluation_push]`: where every rating of the hall goes, in which profile's fields."""

    url: str
    profile: Profile
    area_code: str
    dept_code: str
    data_source: str = "hallq"
    secret: str | None = None  # when given, each push is signed as a webhook is (X-Hallq-Signature)
    retry_hours: int = 72


def record(profile: Profile, facts: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """The platform's record of one rating: the profile's fields in order."""
    out: dict[str, Any] = {}
    for f in profile.fields:
        value = f.value if f.source is None else facts.get(f.source)
        if isinstance(value, list):
            value = ",".join(f.values.get(str(v), str(v)) for v in value) if f.values else ",".join(map(str, value))
        elif f.values and value is not None:
            value = f.values.get(str(value), str(value))
        if isinstance(value, datetime):
            local = value.astimezone(zone)
            value = local.strftime(f.format) if f.format else local.isoformat(timespec="seconds")
        out[f.name] = value
    return out
