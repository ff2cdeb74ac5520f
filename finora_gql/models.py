"""Every table, imported in one place so Alembic and the metadata see the whole schema."""

from sqlmodel import SQLModel

from finora_gql.admin.models import AuditLog
from finora_gql.auth.models import AuthSession, Credential, EmailToken, RefreshToken
from finora_gql.users.models import User

metadata = SQLModel.metadata

__all__ = ["AuditLog", "AuthSession", "Credential", "EmailToken", "RefreshToken", "User", "metadata"]
