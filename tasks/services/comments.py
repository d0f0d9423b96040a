"""Comment writes: create, edit, delete. Each runs in one transaction with its audit event.

Who may do what: whoever can see the task may comment on it (any member of its project, a viewer included;
the creator of a personal task); only the author edits a comment; the author or an owner of the task's
project deletes it. A task the caller cannot see, or in the trash, is a 404 for everything under it, and so is
a comment id that is not on that task; a caller who can see the comment but may not change it gets 403.

The task's `comments_count` is exact: every write locks the task's row first (SELECT ... FOR UPDATE; on
SQLite the IMMEDIATE transaction holds the database's write lock), then changes the count from the value read
under the lock, in the comment's own transaction. The order is always the task, then the comment, so two
writes never wait on each other crosswise.

The count is part of the task as the API shows it, so changing it increments the task's `version` (its ETag
changes and a client holding the old one gets 412 on its next conditional write). It leaves the task's
`updated_at` alone: a comment is not an edit of the task, and "recently updated" must not be reordered by a
conversation under it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.context import RequestContext
from audit.models import EventType
from audit.services import audit_record
from config.http.errors import PermissionDenied
from tasks.models import MAX_ID, Comment, Role, Task
from tasks.selectors.comments import comment_not_found
from tasks.selectors.tasks import role_of
from tasks.services.notifications import notify_commented
from tasks.services.tasks import lock_task


def _lock_comment(*, task: Task, comment_id: int) -> Comment:
    if not 0 < comment_id <= MAX_ID:
        raise comment_not_found()
    comment = Comment.objects.select_for_update().filter(pk=comment_id, task=task).first()
    if comment is None:
        raise comment_not_found()
    comment.task = task  # the locked row, with the caller's role: no second read
    return comment


def _count(task: Task, delta: int) -> None:
    # The row is locked: the value read is the current one, and no other write changes it until commit.
    task.comments_count += delta
    task.version += 1
    task.save(update_fields=["comments_count", "version"])


def _audit(event: EventType, *, user: Any, meta: RequestContext, comment: Comment, **details: Any) -> None:
    # Ids only: what a comment says never reaches the audit log.
    audit_record(
        event=event,
        user=user,
        meta=meta,
        details={
            "task_id": comment.task_id,
            "project_id": comment.task.project_id,
            "comment_id": comment.pk,
            **details,
        },
    )


def comment_create(*, user: Any, task_id: int, body: str, meta: RequestContext) -> Comment:
    """Any member of the task's project (a viewer too), or the creator of a personal task."""
    with transaction.atomic():
        task = lock_task(user=user, task_id=task_id, write=False)
        now = timezone.now()
        comment = Comment.objects.create(task=task, author=user, body=body, created_at=now, updated_at=now)
        _count(task, +1)
        _audit(EventType.COMMENT_CREATED, user=user, meta=meta, comment=comment)
        notify_commented(task=task, actor=user)
    return comment


def comment_update(*, user: Any, task_id: int, comment_id: int, body: str, meta: RequestContext) -> Comment:
    """The author only. An edit that changes nothing writes and records nothing; the count does not change, so
    neither does the task's version."""
    with transaction.atomic():
        task = lock_task(user=user, task_id=task_id, write=False)
        comment = _lock_comment(task=task, comment_id=comment_id)
        if comment.author_id != user.pk:
            raise PermissionDenied("Only its author can edit a comment.")
        comment.author = user  # the caller is the author: the answer shows them without another query
        if comment.body != body:
            comment.body = body
            comment.updated_at = timezone.now()
            comment.save(update_fields=["body", "updated_at"])
            _audit(EventType.COMMENT_UPDATED, user=user, meta=meta, comment=comment)
    return comment


def comment_delete(*, user: Any, task_id: int, comment_id: int, meta: RequestContext) -> None:
    """The author, or an owner of the task's project (the creator of a personal task is its owner).

    Recorded as the caller's event; when it is not the author's own comment, `author_id` says whose it was.
    """
    with transaction.atomic():
        task = lock_task(user=user, task_id=task_id, write=False)
        comment = _lock_comment(task=task, comment_id=comment_id)
        own = comment.author_id is not None and comment.author_id == user.pk
        if not own and role_of(task) != Role.OWNER:
            raise PermissionDenied("Only its author or an owner of the project can delete a comment.")
        details = {} if own else {"author_id": str(comment.author_id) if comment.author_id else None}
        _audit(EventType.COMMENT_DELETED, user=user, meta=meta, comment=comment, **details)
        comment.delete()
        _count(task, -1)
