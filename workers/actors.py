"""Every actor module, imported once so the broker knows them all (worker, scheduler, serve)."""

from workers import assistant, budgets, email, files, gamification, imports, investments, outbox  # noqa: F401
from workers.broker import broker

__all__ = ["broker"]
