"""Gamification that can't be gamed: badges, challenges, points, rewards and an opt-in leaderboard.

Other domains tell it what happened with one call, `gamification.events.record(...)`, in the
same transaction as the cause; a job processes each event once, after commit (see `engine.py`
for the rules and `service.py` for the state they are applied to).
"""
