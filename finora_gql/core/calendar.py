"""Month arithmetic on calendar dates: the one copy budgets, goals and the wallet share."""

from __future__ import annotations

import calendar
import datetime as dt


def month_start(day: dt.date) -> dt.date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (or earlier), clamped to the end of a shorter month."""
    years, index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, index + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after `day`'s."""
    return add_months(month_start(day), 1)


def month_end(day: dt.date) -> dt.date:
    """The last day of `day`'s month."""
    return next_month(day) - dt.timedelta(days=1)


def whole_months(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date] | None:
    """[first day of the first whole month, first day after the last) within start..end, if any."""
    first = start if start.day == 1 else next_month(start)
    until = month_start(end + dt.timedelta(days=1))
    return (first, until) if first < until else None
