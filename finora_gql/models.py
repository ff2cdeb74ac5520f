"""Every table, imported in one place so Alembic and the metadata see the whole schema."""

from sqlmodel import SQLModel

from finora_gql.accounts.models import Account
from finora_gql.admin.models import AuditLog
from finora_gql.assistant.models import AiContext, Conversation, Message, Proposal, ToolCall
from finora_gql.auth.models import AuthSession, Credential, EmailToken, RefreshToken
from finora_gql.budgets.models import Budget, Goal, GoalContribution
from finora_gql.core.jobs import JobOutbox
from finora_gql.files.models import File
from finora_gql.gamification.models import (
    Award,
    Badge,
    Challenge,
    ChallengeEnrollment,
    ChallengeProgress,
    GamificationEvent,
    GamificationState,
    LeaderboardProfile,
    PointsEntry,
    Redemption,
    Reward,
)
from finora_gql.imports.models import Import, ImportIssue
from finora_gql.investments.models import Activity, Checkpoint, InvestmentSetting, Price, Security
from finora_gql.notifications.models import Notification, NotificationPreference, OutgoingEmail
from finora_gql.transactions.models import Category, CategoryRule, Transaction
from finora_gql.users.models import User
from finora_gql.wallet.models import DailyTotal, FxRate, MonthlyTotal, NetWorthSnapshot

metadata = SQLModel.metadata

__all__ = [
    "Account", "Activity", "AuditLog", "AuthSession", "Budget", "Category", "CategoryRule", "Checkpoint", "Credential",
    "DailyTotal", "EmailToken", "File", "FxRate", "Goal", "GoalContribution", "Import", "ImportIssue",
    "InvestmentSetting", "JobOutbox", "MonthlyTotal", "NetWorthSnapshot",
    "Award", "Badge", "Challenge", "ChallengeEnrollment", "ChallengeProgress", "GamificationEvent", "GamificationState",
    "LeaderboardProfile", "PointsEntry", "Redemption", "Reward",
    "AiContext", "Conversation", "Message", "Proposal", "ToolCall",
    "Notification",
    "NotificationPreference", "OutgoingEmail", "Price", "RefreshToken", "Security", "Transaction",
    "User", "metadata",
]
