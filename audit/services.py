from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Required, TypedDict, Unpack

from django.db import connections, router, transaction
from django.db.models import Model
from django.db.models.sql import InsertQuery
from django.utils import timezone

from audit.context import SYSTEM, USER_AGENT_MAX, RequestContext
from audit.models import Event, EventType
from config.db.cursors import prepared_cursor
from config.http.redact import REDACTED, is_credential, is_secret_key

TRUNCATED = "[truncated]"
# Details are a small JSON object: deeper structures are cut rather than stored.
_MAX_DEPTH = 4


def _clean_text(value: str, limit: int | None = None) -> str:
    # PostgreSQL refuses NUL in text and in jsonb; a stray one must not turn an audited change into a 500.
    value = value.replace("\x00", "")
    return value[:limit] if limit is not None else value


def _scrub(value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict):
        if depth >= _MAX_DEPTH:
            return TRUNCATED
        return {
            _clean_text(str(key)): _scrub(item, depth + 1) for key, item in value.items() if not is_secret_key(str(key))
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        if depth >= _MAX_DEPTH:
            return TRUNCATED
        return [_scrub(item, depth + 1) for item in value]
    if isinstance(value, str):
        if is_credential(value):
            return REDACTED
        return _clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and Infinity are not JSON, and jsonb refuses them
    if value is None or isinstance(value, (bool, int, float)):
        return value
    # UUIDs, datetimes, Decimals...: their text, which is what the JSON column would hold anyway.
    return _clean_text(str(value))


class EventFields(TypedDict, total=False):
    """What an event says: `event` (required), `user`, `email`, `meta`, `details`, `actor`."""

    event: Required[EventType]
    user: Any
    email: str
    meta: RequestContext | None
    details: dict[str, Any] | None
    actor: Any


def audit_record(**fields: Unpack[EventFields]) -> Event:
    """Appends one event. Call it inside the transaction of the change, so both commit or neither.

    Strings are stored as data, never interpreted: the API answers them as JSON and the admin escapes
    them. `details` loses any key that names a secret and any value that looks like a token. The actor is
    `actor` when given, else the context's (the signed-in user behind the request; none for commands and jobs).
    """
    recorded = audit_event(**fields)
    recorded.save(force_insert=True)
    return recorded


def audit_event(
    *,
    event: EventType,
    user: Any = None,
    email: str = "",
    meta: RequestContext | None = None,
    details: dict[str, Any] | None = None,
    actor: Any = None,
) -> Event:
    """The event `audit_record` appends, not saved yet (`insert_recorded` writes it beside its change)."""
    meta = meta or SYSTEM
    email = email or (getattr(user, "email", "") if user is not None else "")
    actor = actor if actor is not None else meta.actor
    actor_id = getattr(actor, "pk", None) if actor is not None else None
    return Event(
        event=event,
        # An anonymous user has no row to point at; the email still says who it was.
        user=user if user is not None and getattr(user, "pk", None) else None,
        email=_clean_text(email or "", 254),
        actor_id=actor_id,
        actor_email=_clean_text(getattr(actor, "email", "") or "", 254) if actor_id else "",
        ip_address=meta.ip_address or None,
        user_agent=_clean_text(meta.user_agent or "", USER_AGENT_MAX),
        request_id=_clean_text(meta.request_id or "", 128),
        created_at=timezone.now(),
        details=_scrub(dict(details or {})),
    )


def insert_recorded(obj: Model, *, event: Event, id_detail: str) -> None:
    """Inserts `obj` (as `obj.save(force_insert=True)` would) and appends `event`, its details given the new
    row's id under `id_detail`: both or neither, as `audit_record` inside the change's transaction.

    On PostgreSQL it is one statement (the row's INSERT, and the event's INSERT reading its id, as data-modifying
    common table expressions), so a plain create costs one round trip instead of four (BEGIN, two INSERTs,
    COMMIT). Elsewhere, the two saves in a transaction.
    """
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=using):
            obj.save(force_insert=True, using=using)
            event.details = {id_detail: obj.pk, **event.details}
            event.save(force_insert=True, using=using)
        return
    opts = model._meta
    fields = [field for field in opts.local_concrete_fields if not field.generated and field is not opts.auto_field]
    query = InsertQuery(model)
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [opts.pk]
    ((row_sql, row_params),) = compiler.as_sql()
    pk = connection.ops.quote_name(str(opts.pk.column))
    record, record_params = event_insert_sql(
        event, connection, source="created", details=(f"jsonb_build_object(%s::text, created.{pk})", [id_detail])
    )
    sql = f"WITH created AS ({row_sql}), recorded AS ({record}) SELECT {pk} FROM created"  # noqa: S608
    # Its SQL is fixed for a model: prepared once per connection, planned once.
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, [*row_params, *record_params])
        setattr(obj, opts.pk.attname, cursor.fetchone()[0])
    obj._state.adding, obj._state.db = False, using
    event.details = {id_detail: obj.pk, **event.details}


def event_insert_sql(
    event: Event,
    connection: Any,
    *,
    source: str,
    details: tuple[str, list[Any]],
    columns: dict[str, str] | None = None,
) -> tuple[str, list[Any]]:
    """`INSERT INTO audit_event ... SELECT ... FROM <source>`: `event`'s values, for a statement whose common table
    expression `source` is the change it records (one row). The event's details are merged with the jsonb SQL
    `details` (with its parameters), and `columns` (field name -> SQL over `source`) replace the event's own
    values, for what only the change knows (its row's id, its user)."""
    quote = connection.ops.quote_name
    names, values, params = [], [], []
    for field in Event._meta.local_concrete_fields:
        if field.primary_key:
            continue
        names.append(quote(str(field.column)))
        if columns and field.name in columns:
            values.append(columns[field.name])
            continue
        value = field.get_db_prep_save(field.pre_save(event, True), connection)
        if field.name == "details":
            values.append(f"%s::jsonb || {details[0]}")
            params.extend([value, *details[1]])
        else:
            values.append("%s")
            params.append(value)
    table = quote(Event._meta.db_table)
    return f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(values)} FROM {source}", params  # noqa: S608


AUDIT_RETENTION_DAYS = 365


def audit_prune(
    *, days: int = AUDIT_RETENTION_DAYS, batch_size: int = 5000, on_batch: Callable[[int], None] | None = None
) -> int:
    """Deletes entries older than `days`, `batch_size` ids at a time; answers how many were deleted.

    Each batch is its own short statement (autocommit): the created_at index finds the ids, the primary key
    deletes them, and writers recording new events are never held up for long.
    """
    old = Event.objects.filter(created_at__lt=timezone.now() - timedelta(days=days))
    deleted = 0
    while True:
        ids = list(old.order_by("created_at", "id").values_list("id", flat=True)[:batch_size])
        if not ids:
            return deleted
        count, _ = Event.objects.filter(pk__in=ids).delete()
        deleted += count
        if on_batch is not None:
            on_batch(count)
