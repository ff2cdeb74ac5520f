"""Credentials, sign-in sessions and one-time tokens.

A `AuthSession` is one sign-in on one device: the family of refresh tokens that rotate from the
login. Each refresh token is used once; presenting a used one again means it was stolen, so
the whole family is revoked.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum

from sqlmodel import Field, SQLModel

from finora_gql.core.models import created_at_field, enum_field, id_field, owner_field, timestamp_field


class Credential(SQLModel, table=True):
    user_id: uuid.UUID = Field(foreign_key="user.id", ondelete="CASCADE", primary_key=True)
    password_hash: str = Field(max_length=255, nullable=False)
    failed_attempts: int = Field(default=0, nullable=False)
    locked_until: datetime | None = timestamp_field()
    password_changed_at: datetime = created_at_field()


class AuthSession(SQLModel, table=True):
    __tablename__ = "auth_session"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    created_at: datetime = created_at_field()
    last_used_at: datetime = created_at_field()
    revoked_at: datetime | None = timestamp_field()
    revoke_reason: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)
    ip_address: str | None = Field(default=None, max_length=64)


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_token"

    id: uuid.UUID = id_field()
    session_id: uuid.UUID = Field(foreign_key="auth_session.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True, nullable=False)
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False)
    rotated_at: datetime | None = timestamp_field()


class TokenPurpose(str, Enum):
    VERIFY_EMAIL = "VERIFY_EMAIL"
    RESET_PASSWORD = "RESET_PASSWORD"


class EmailToken(SQLModel, table=True):
    __tablename__ = "email_token"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = owner_field()
    purpose: TokenPurpose = enum_field(TokenPurpose, TokenPurpose.VERIFY_EMAIL)
    token_hash: str = Field(max_length=64, unique=True, nullable=False)
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False)
    used_at: datetime | None = timestamp_field()
