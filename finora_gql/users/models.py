"""People who use Finora: identity, profile and standing. Credentials live in `auth`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

from sqlmodel import Field, SQLModel

from finora_gql.core.models import created_at_field, enum_field, id_field, timestamp_field


class Role(str, Enum):
    USER = "USER"
    ADMIN = "ADMIN"


class User(SQLModel, table=True):
    id: uuid.UUID = id_field()
    # Stored normalised (lower-cased), so the unique index is case-insensitive in effect.
    email: str = Field(max_length=254, unique=True, nullable=False)
    name: str = Field(max_length=120, nullable=False)
    role: Role = enum_field(Role, Role.USER)
    base_currency: str = Field(default="USD", max_length=3, nullable=False)
    timezone: str = Field(default="UTC", max_length=64, nullable=False)
    email_verified_at: datetime | None = timestamp_field()
    banned_at: datetime | None = timestamp_field()
    ban_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()
