"""Periods people name in questions: "last month", "this year", "in March", "past 90 days", "Q2",
"since January", "March 2025", "2025"... resolved against the person's today."""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
from dataclasses import dataclass

MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
           "ten": 10, "eleven": 11, "twelve": 12, "a": 1, "couple": 2, "few": 3}


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    label: str
    month: dt.date | None = None  # set when the period is one calendar month


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_period(first: dt.date, today: dt.date, label: str | None = None) -> Period:
    last = dt.date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
    return Period(first, min(last, today) if first <= today else last, label or f"{first:%B %Y}", first)


def _month_word(word: str) -> int | None:
    if word in MONTHS:
        return MONTHS[word]
    if len(word) >= 5:
        close = difflib.get_close_matches(word, [m for m in MONTHS if len(m) > 3], n=1, cutoff=0.8)
        if close:
            return MONTHS[close[0]]
    return None


def _count(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    return NUMBERS.get(word)


def parse_period(text: str, today: dt.date) -> Period | None:
    """The period a question names, or None when it names none."""
    q = " " + re.sub(r"[^a-z0-9 ]+", " ", text.lower()) + " "
    q = re.sub(r"\s+", " ", q)
    this_month = today.replace(day=1)
    if re.search(r" (last|previous|past|prior) ?month ", q) and not re.search(r" (last|past) \w+ months ", q):
        return month_period(add_months(this_month, -1), today, "last month")
    if re.search(r" (this|current) month | so far this month | month to date | mtd ", q):
        return month_period(this_month, today, "this month")
    if re.search(r" (two|2) months? ago | month before last ", q):
        return month_period(add_months(this_month, -2), today)
    m = re.search(r" (last|past|previous|prior) (\w+) (full )?months ", q)
    if m and (n := _count(m.group(2))):
        n = max(1, min(n, 36))
        first = add_months(this_month, -n)
        end = this_month - dt.timedelta(days=1)
        return Period(first, end, f"the last {n} full months")
    m = re.search(r" (last|past|previous) (\w+) days ", q)
    if m and (n := _count(m.group(2))):
        n = max(1, min(n, 3660))
        return Period(today - dt.timedelta(days=n - 1), today, f"the last {n} days")
    m = re.search(r" (last|past|previous) (\w+) weeks ", q)
    if m and (n := _count(m.group(2))):
        return Period(today - dt.timedelta(days=7 * n - 1), today, f"the last {n} weeks")
    if re.search(r" (last|previous|past) weekend ", q):  # the Saturday and Sunday before this week
        saturday = today - dt.timedelta(days=today.weekday() + 2)
        return Period(saturday, saturday + dt.timedelta(days=1), "last weekend")
    if re.search(r" (last|previous|past) ?week ", q):
        monday = today - dt.timedelta(days=today.weekday() + 7)
        return Period(monday, monday + dt.timedelta(days=6), "last week")
    if re.search(r" this week ", q):
        return Period(today - dt.timedelta(days=today.weekday()), today, "this week")
    if " yesterday " in q:
        day = today - dt.timedelta(days=1)
        return Period(day, day, "yesterday")
    if " today " in q:
        return Period(today, today, "today")
    if re.search(r" (last|previous|past) ?year ", q) and not re.search(r" (last|past) \w+ years ", q):
        return Period(dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31), f"{today.year - 1}")
    if re.search(r" (this|current) year | so far this year | year to date | ytd ", q):
        return Period(dt.date(today.year, 1, 1), today, f"{today.year} so far")
    m = re.search(r" q([1-4]) (20\d\d)? ?", q)
    if m:
        year = int(m.group(2)) if m.group(2) else today.year
        first = dt.date(year, 3 * int(m.group(1)) - 2, 1)
        if first > today and not m.group(2):
            first = first.replace(year=year - 1)
        end = add_months(first, 3) - dt.timedelta(days=1)
        return Period(first, min(end, today), f"Q{m.group(1)} {first.year}")
    words = q.split()
    for i, word in enumerate(words):
        number = _month_word(word)
        if number is None or (word in ("may", "mar", "jan", "jun", "jul", "aug", "oct", "nov", "dec", "sep", "feb", "apr")
                              and not _month_context(words, i)):
            continue
        year = None
        if i + 1 < len(words) and re.fullmatch(r"20\d\d", words[i + 1]):
            year = int(words[i + 1])
        since = i > 0 and words[i - 1] in ("since", "from")
        if year is None:
            year = today.year if number <= today.month else today.year - 1
        first = dt.date(year, number, 1)
        if since:
            return Period(first, today, f"since {first:%B %Y}")
        if (through := _through(words, i, first)) is not None:  # "sept and oct", "from march to may"
            return Period(first, min(through, today), f"{first:%B} to {through:%B %Y}")
        return month_period(first, today)
    m = re.search(r" (in|for|during|of) (20\d\d) ", q) or re.search(r" (20\d\d) ", q)
    if m:
        year = int(m.groups()[-1])
        return Period(dt.date(year, 1, 1), min(dt.date(year, 12, 31), today), str(year))
    return None


def _through(words: list[str], i: int, first: dt.date) -> dt.date | None:
    """The last day of the month a range starting at words[i] runs to, if one follows."""
    if i + 2 >= len(words) or words[i + 1] not in ("and", "to", "through", "thru", "till", "until"):
        return None
    number = _month_word(words[i + 2])
    if number is None:
        return None
    year = first.year if number >= first.month else first.year + 1
    return dt.date(year, number, calendar.monthrange(year, number)[1])


def _month_context(words: list[str], i: int) -> bool:
    before = words[i - 1] if i > 0 else ""
    after = words[i + 1] if i + 1 < len(words) else ""
    return before in ("in", "for", "during", "of", "since", "from", "last", "this") or bool(re.fullmatch(r"20\d\d", after)) or (
        words[i] not in ("may",) and after in ("", "budget", "spending"))
