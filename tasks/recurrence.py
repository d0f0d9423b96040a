"""Recurring tasks: the RRULE subset of SPEC 4c, parsed and validated here, expanded by dateutil's `rrule`.

A rule is RFC 5545 text (`FREQ=MONTHLY;BYMONTHDAY=31;COUNT=6`, an optional `RRULE:` prefix). This module
only splits it into its parts and checks each (so a 400 can say which part is wrong); every date is computed
by `dateutil.rrule`, never by hand.

Occurrences are wall-clock times in the task's time zone: the rule is expanded over naive local times
(DTSTART is the series' first `due_at` seen in that zone) and each occurrence is then placed in the zone, so
a daily 09:00 Europe/Paris task is at 09:00 Paris time on both sides of a daylight-saving change (07:00 UTC
in summer, 08:00 UTC in winter). A local time that a spring-forward gap skips is read with the offset before
the gap (`fold=0`), as zoneinfo does.

The series' DTSTART (`Task.recurrence_start`) stays fixed while the task advances, so `COUNT` and `UNTIL`
end it as RFC 5545 says; it is set again when the rule, the time zone or `due_at` is changed by hand.
"""

from __future__ import annotations

import calendar
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from dateutil import rrule

BASIS_DUE = "due"
BASIS_COMPLETION = "completion"
BASES = (BASIS_DUE, BASIS_COMPLETION)

MAX_RULE_LENGTH = 500
MAX_INTERVAL = 1000
MAX_COUNT = 1000
# How far ahead a rule is searched for its next occurrence. A valid rule of the subset recurs at least every
# few years (BYMONTHDAY=29;BYMONTH=2 every 4 to 8), so a rule with nothing in this window never yields one.
HORIZON = timedelta(days=366 * 50)

_FREQS = {"DAILY": rrule.DAILY, "WEEKLY": rrule.WEEKLY, "MONTHLY": rrule.MONTHLY, "YEARLY": rrule.YEARLY}
_WEEKDAYS = {
    "MO": rrule.MO,
    "TU": rrule.TU,
    "WE": rrule.WE,
    "TH": rrule.TH,
    "FR": rrule.FR,
    "SA": rrule.SA,
    "SU": rrule.SU,
}
_PARTS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "COUNT", "UNTIL")
_BYDAY = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_UNTIL_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$")


class RuleError(ValueError):
    """A rule outside the subset, or with a wrong value; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed rule: dateutil's keyword arguments, except UNTIL, which depends on the task's zone."""

    text: str
    freq: Any  # one of dateutil's frequency constants
    kwargs: dict[str, Any]
    count: int | None
    until: datetime | None  # aware (UTC form) or naive (a local date-time), None without UNTIL
    until_is_date: bool


def _whole(part: str, value: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[+-]?\d{1,6}", value):
        raise RuleError(f"{part} must be a whole number from {low} to {high}.")
    number = int(value)
    if not low <= number <= high:
        raise RuleError(f"{part} must be a whole number from {low} to {high}.")
    return number


def _list(part: str, value: str) -> list[str]:
    items = value.split(",")
    if not all(items):
        raise RuleError(f"{part} has an empty item.")
    return items


def _byday(value: str, freq: str) -> list[Any]:
    days = []
    for item in _list("BYDAY", value):
        match = _BYDAY.match(item)
        if match is None:
            raise RuleError(f"BYDAY item {item!r} is not a weekday (MO, TU, ... or with a position such as 1MO, -1FR).")
        sign, position, day = match.groups()
        if position is None:
            days.append(_WEEKDAYS[day])
            continue
        if freq not in ("MONTHLY", "YEARLY"):
            raise RuleError("BYDAY with a position (such as 1MO) needs FREQ=MONTHLY or FREQ=YEARLY.")
        limit = 5 if freq == "MONTHLY" else 53
        number = int(position)
        if not 1 <= number <= limit:
            raise RuleError(f"BYDAY position must be from 1 to {limit} (or -1 to -{limit}) for FREQ={freq}.")
        days.append(_WEEKDAYS[day](-number if sign == "-" else number))
    return days


def _until(value: str) -> tuple[datetime, bool]:
    date_match = _UNTIL_DATE.match(value)
    time_match = _UNTIL_TIME.match(value)
    try:
        if date_match:
            year, month, day = (int(g) for g in date_match.groups())
            return datetime(year, month, day), True
        if time_match:
            year, month, day, hour, minute, second = (int(g) for g in time_match.groups()[:6])
            zulu = time_match.group(7)
            moment = datetime(year, month, day, hour, minute, second)
            return (moment.replace(tzinfo=UTC) if zulu else moment), False
    except ValueError:
        pass
    raise RuleError("UNTIL must be a date (20301231) or a UTC date-time (20301231T170000Z).")


def parse(text: str) -> Rule:
    """Parses and checks a rule of the subset; raises RuleError naming the part at fault."""
    if not isinstance(text, str):
        raise RuleError("Must be an RFC 5545 RRULE string, such as FREQ=WEEKLY;BYDAY=MO.")
    text = text.strip()
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(f"At most {MAX_RULE_LENGTH} characters.")
    body = text[len("RRULE:") :] if text.upper().startswith("RRULE:") else text
    parts: dict[str, str] = {}
    for chunk in body.split(";"):
        name, sep, value = chunk.partition("=")
        name = name.strip().upper()
        value = value.strip().upper()
        if not sep or not name or not value:
            raise RuleError(f"{chunk!r} is not a NAME=VALUE part.")
        if name not in _PARTS:
            raise RuleError(f"{name} is not supported; use only {', '.join(_PARTS)}.")
        if name in parts:
            raise RuleError(f"{name} is given twice.")
        parts[name] = value
    freq_name = parts.get("FREQ")
    if freq_name is None:
        raise RuleError("FREQ is required.")
    if freq_name not in _FREQS:
        raise RuleError(f"FREQ={freq_name} is not supported; use DAILY, WEEKLY, MONTHLY or YEARLY.")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("COUNT and UNTIL cannot both be given.")
    kwargs: dict[str, Any] = {"interval": _whole("INTERVAL", parts.get("INTERVAL", "1"), 1, MAX_INTERVAL)}
    if "BYDAY" in parts:
        kwargs["byweekday"] = _byday(parts["BYDAY"], freq_name)
    if "BYMONTHDAY" in parts:
        if freq_name == "WEEKLY":
            raise RuleError("BYMONTHDAY cannot be used with FREQ=WEEKLY.")
        days = [_whole("BYMONTHDAY", item, -31, 31) for item in _list("BYMONTHDAY", parts["BYMONTHDAY"])]
        if 0 in days:
            raise RuleError("BYMONTHDAY must be from 1 to 31 or -31 to -1.")
        kwargs["bymonthday"] = days
    if "BYMONTH" in parts:
        kwargs["bymonth"] = [_whole("BYMONTH", item, 1, 12) for item in _list("BYMONTH", parts["BYMONTH"])]
    count = _whole("COUNT", parts["COUNT"], 1, MAX_COUNT) if "COUNT" in parts else None
    until, until_is_date = _until(parts["UNTIL"]) if "UNTIL" in parts else (None, False)
    canonical = ";".join(f"{name}={parts[name]}" for name in _PARTS if name in parts)
    return Rule(canonical, _FREQS[freq_name], kwargs, count, until, until_is_date)


@lru_cache(maxsize=1024)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone; raises KeyError for an unknown name."""
    if not name or name not in zone_names():
        raise KeyError(name)
    return zoneinfo.ZoneInfo(name)


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_zone(name: str) -> bool:
    try:
        zone(name)
    except KeyError:
        return False
    return True


def _local(moment: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def _aware(local: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz).astimezone(UTC)


def _local_until(rule: Rule, tz: zoneinfo.ZoneInfo) -> datetime | None:
    """UNTIL as a naive local time: a date means the whole of that day in the task's zone."""
    if rule.until is None:
        return None
    if rule.until_is_date:
        return datetime.combine(rule.until.date(), time.max)
    if rule.until.tzinfo is not None:
        return _local(rule.until, tz)
    return rule.until


def _series(rule: Rule, *, start: datetime, tz: zoneinfo.ZoneInfo, with_count: bool = True) -> rrule.rrule:
    """The rule as a dateutil series over naive local times, from `start` (the series' DTSTART)."""
    kwargs = dict(rule.kwargs)
    until = _local_until(rule, tz)
    if until is not None:
        kwargs["until"] = until
    if rule.count is not None and with_count:
        kwargs["count"] = rule.count
    return rrule.rrule(rule.freq, dtstart=_local(start, tz).replace(microsecond=0), **kwargs)


def _first_after(series: rrule.rrule, after_local: datetime) -> datetime | None:
    """The first occurrence strictly after `after_local`, searched no further than the horizon."""
    found: datetime | None = series.after(after_local, inc=False)
    if found is not None and found - after_local > HORIZON:
        return None
    return found


def _impossible(rule: Rule, local_start: datetime) -> bool:
    """Rules that can be seen never to match without expanding them: no month of BYMONTH has a day of
    BYMONTHDAY (BYMONTH=2;BYMONTHDAY=30), or a DAILY step of whole weeks never lands on a BYDAY."""
    days = rule.kwargs.get("bymonthday")
    if days:
        months = rule.kwargs.get("bymonth") or range(1, 13)
        if not any(abs(day) <= calendar.monthrange(2000, month)[1] for month in months for day in days):
            return True
    weekdays = rule.kwargs.get("byweekday")
    if rule.freq == rrule.DAILY and weekdays and rule.kwargs["interval"] % 7 == 0:
        return local_start.weekday() not in {day.weekday for day in weekdays}
    return False


def first_occurrence(rule: Rule, *, start: datetime, tz: zoneinfo.ZoneInfo) -> datetime | None:
    """The series' first occurrence at or after `start` (None if the rule never yields one), in UTC.

    Bounded: dateutil walks candidate dates until one matches, so the search stops at the horizon instead of
    walking to year 9999 for a rule such as BYMONTH=2;BYMONTHDAY=30. COUNT (at least 1) cannot make the first
    occurrence disappear, so only UNTIL and the horizon bound the search.
    """
    local_start = _local(start, tz).replace(microsecond=0)
    if _impossible(rule, local_start):
        return None
    freq, kwargs = rule.freq, rule.kwargs
    if freq == rrule.DAILY and kwargs["interval"] == 1 and ("bymonthday" in kwargs or "byweekday" in kwargs):
        # The same days as a yearly rule with these filters, found by dateutil a year at a time rather than a
        # day at a time (it walks to year 9999 when nothing matches).
        freq = rrule.YEARLY
    until = local_start + HORIZON
    rule_until = _local_until(rule, tz)
    if rule_until is not None:
        until = min(until, rule_until)
    window = rrule.rrule(freq, dtstart=local_start, until=until, **kwargs)
    found = window.after(local_start, inc=True)
    return None if found is None else _aware(found, tz)


def check(rule: Rule, *, start: datetime, tz: zoneinfo.ZoneInfo) -> None:
    """Raises RuleError when the rule, started at `start`, never yields an occurrence."""
    if first_occurrence(rule, start=start, tz=tz) is None:
        raise RuleError("This rule never yields an occurrence from the task's due_at on.")


@dataclass(frozen=True, slots=True)
class Advance:
    """What completing one occurrence does: the occurrence completed, and the next `due_at` (None: the
    series is over and the task is completed for good)."""

    occurrence: datetime
    next_due: datetime | None


def next_due(
    rule: Rule,
    *,
    basis: str,
    tz: zoneinfo.ZoneInfo,
    start: datetime,
    due: datetime,
    done: int,
    now: datetime,
) -> datetime | None:
    """The `due_at` after completing the occurrence due at `due` at `now` (None: the series is exhausted).

    Basis `due`: the first occurrence of the series (from `start`) after both `due` and `now`; COUNT and
    UNTIL apply to the series as RFC 5545 counts it, skipped occurrences included.
    Basis `completion`: the rule counted from the moment of completion: a series started at the completion
    day at the due's wall-clock time, and its first occurrence after that start (DAILY;INTERVAL=3 completed
    on the 10th is due on the 13th); COUNT counts the occurrences completed (`done`, this one included).
    """
    if basis == BASIS_COMPLETION:
        if rule.count is not None and done >= rule.count:
            return None
        local_due = _local(due, tz)
        anchor_local = datetime.combine(_local(now, tz).date(), local_due.time()).replace(microsecond=0)
        series = _series(rule, start=_aware(anchor_local, tz), tz=tz, with_count=False)
        found = _first_after(series, anchor_local)
        if found is not None and rule.until is None:
            # Later than now as well: a completion before the due's hour on the due day still moves it on.
            while found is not None and _aware(found, tz) <= now:
                found = _first_after(series, found)
        return None if found is None else _aware(found, tz)
    series = _series(rule, start=start, tz=tz)
    after = max(_local(due, tz), _local(now, tz))
    found = _first_after(series, after)
    return None if found is None else _aware(found, tz)


# A task's recurrence -----------------------------------------------------------------------------------

_ANCHORING = {"recurrence", "timezone", "due_at"}
# Two completions of one recurring task this close together are one completion sent twice (a double click,
# a retried request, two tabs): the second answers the task as it stands instead of skipping an occurrence.
# A completion sent with a matching If-Match is deliberate and always advances.
REPEAT_WINDOW = timedelta(seconds=10)


def on_change(task: Any, changed: list[str], now: datetime, *, deliberate: bool = False) -> Advance | None:
    """Keeps a task's recurrence consistent after the fields in `changed` were set on it (not yet saved).

    Checks a recurring task (it needs a due_at, a known zone and a rule that yields an occurrence: else 400
    naming the field), sets the series' DTSTART again when the rule, zone or due_at was changed by hand, and
    when this change completes an occurrence, advances the task: it stays open (`pending`: the next
    occurrence is not started) with `due_at` on the next occurrence, or, the series exhausted, is completed
    for good. Adds the fields it sets to `changed`; answers the advance, or None if nothing was completed.
    """
    from config.http.errors import ValidationFailed
    from tasks.models import Status

    if not task.recurrence:
        if task.recurrence_start is not None or task.recurrence_done or task.occurrence_completed_at is not None:
            task.recurrence_start, task.recurrence_done, task.occurrence_completed_at = None, 0, None
            changed += ["recurrence_start", "recurrence_done", "occurrence_completed_at"]
        return None
    if task.due_at is None:
        field = "due_at" if "due_at" in changed else "recurrence"
        raise ValidationFailed.on(field, "A recurring task needs a due_at.")
    try:
        tz = zone(task.timezone)
    except KeyError:
        raise ValidationFailed.on("timezone", f"Unknown time zone {task.timezone!r}.") from None
    try:
        rule = parse(task.recurrence)
    except RuleError as exc:  # a rule stored before a change of the subset: say so rather than fail
        raise ValidationFailed.on("recurrence", str(exc)) from None
    if task.recurrence_start is None or _ANCHORING & set(changed):
        try:
            check(rule, start=task.due_at, tz=tz)
        except RuleError as exc:
            raise ValidationFailed.on("recurrence", str(exc)) from None
        task.recurrence_start, task.recurrence_done = task.due_at, 0
        changed += ["recurrence_start", "recurrence_done"]
    if "status" not in changed or task.status != Status.COMPLETED:
        return None
    last = task.occurrence_completed_at
    if not deliberate and last is not None and abs(now - last) < REPEAT_WINDOW:
        task.status, task.completed_at = Status.PENDING, None
        changed[:] = [field for field in changed if field not in ("status", "completed_at")]
        return None
    occurrence = task.due_at
    task.occurrence_completed_at = now
    task.recurrence_done += 1
    following = next_due(
        rule,
        basis=task.recurrence_basis,
        tz=tz,
        start=task.recurrence_start,
        due=occurrence,
        done=task.recurrence_done,
        now=now,
    )
    changed += ["recurrence_done", "occurrence_completed_at"]
    if following is not None:
        task.due_at, task.status, task.completed_at = following, Status.PENDING, None
        changed += ["due_at", "status", "completed_at"]
    return Advance(occurrence=occurrence, next_due=following)
