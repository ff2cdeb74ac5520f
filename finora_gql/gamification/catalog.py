"""The default catalog, installed by migration 0010: about ten badges and six challenges.

Plain data (no models), so the migration can insert it as it was when the migration was written.
Ids are fixed, so the catalog is the same in every database.
"""

from __future__ import annotations

import uuid

_NS = uuid.UUID("8f2d4a36-3b1e-4f0c-9a51-6d0b7a1e2c90")


def catalog_id(code: str) -> uuid.UUID:
    return uuid.uuid5(_NS, code)


# code, name, description, icon, criterion, threshold, points
DEFAULT_BADGES: list[tuple[str, str, str, str, str, int, int]] = [
    ("FIRST_TRANSACTION", "First Entry", "Logged your first transaction by hand.", "pencil", "TRANSACTIONS_LOGGED", 1, 10),
    ("TEN_TRANSACTIONS", "Bookkeeper", "Logged ten transactions by hand.", "book", "TRANSACTIONS_LOGGED", 10, 25),
    ("HUNDRED_TRANSACTIONS", "Ledger Keeper", "Logged a hundred transactions by hand.", "ledger", "TRANSACTIONS_LOGGED", 100, 100),
    ("FIRST_IMPORT", "Importer", "Completed an import that added new transactions.", "upload", "IMPORTS_COMPLETED", 1, 10),
    ("FIRST_CONTRIBUTION", "First Step", "Put money towards a goal for the first time.", "seedling", "GOAL_CONTRIBUTIONS", 1, 10),
    ("TEN_CONTRIBUTIONS", "Steady Saver", "Put money towards goals ten times.", "piggy-bank", "GOAL_CONTRIBUTIONS", 10, 50),
    ("STREAK_7", "Week Streak", "Opened Finora seven days in a row.", "flame", "LOGIN_STREAK", 7, 25),
    ("STREAK_30", "Month Streak", "Opened Finora thirty days in a row.", "fire", "LOGIN_STREAK", 30, 100),
    ("FIRST_CHALLENGE", "Challenger", "Completed a challenge.", "flag", "CHALLENGES_COMPLETED", 1, 10),
    ("UNDER_BUDGET_MONTH", "Under-Budget Month", "Kept every budget of a month.", "shield", "BUDGETS_KEPT", 1, 50),
]

# code, name, description, kind, target, reward points, recurrence, duration days, default enrolled
DEFAULT_CHALLENGES: list[tuple[str, str, str, str, str, int, str, int | None, bool]] = [
    ("LOG_5_WEEK", "Five a Week", "Log five transactions by hand this week.", "TRANSACTION_COUNT", "5", 20,
     "WEEKLY", None, True),
    ("NO_SPEND_3", "No-Spend Days", "Have three days without spending this week.", "NO_SPEND_DAYS", "3", 30,
     "WEEKLY", None, False),
    ("UNDER_BUDGET_MONTH", "Under-Budget Month", "Keep every budget this month.", "BUDGET_KEPT", "1", 50,
     "MONTHLY", None, True),
    ("LOGIN_STREAK_5", "Five-Day Streak", "Open Finora five days in a row.", "LOGIN_STREAK", "5", 15,
     "WEEKLY", None, False),
    ("SAVE_100_MONTH", "Savings Streak", "Put 100 (base currency) towards your goals this month.", "SAVE_AMOUNT", "100",
     40, "MONTHLY", None, False),
    ("GOAL_2_WEEK", "Twice a Week", "Contribute to a goal twice this week.", "GOAL_CONTRIBUTION", "2", 15,
     "WEEKLY", None, False),
]
