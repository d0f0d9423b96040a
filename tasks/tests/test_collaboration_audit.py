"""The audit trail of a whole collaboration, through the API only: an owner creates a project and invites an
editor, who accepts; they create, assign, move, comment, complete and trash tasks; the owner changes a role and
removes a member. Staff then read every event in order, each with its actor and project."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import Event

pytestmark = pytest.mark.django_db


def test_a_collaboration_leaves_every_event_with_actor_and_project(
    user: Any, editor: Any, viewer: Any, client_for: Any, run_jobs: Any
) -> None:
    owner, mate = client_for(user), client_for(editor)
    project = owner.post("/api/v1/projects/", {"name": "Launch"}, format="json").json()["id"]
    other = owner.post("/api/v1/projects/", {"name": "Later"}, format="json").json()["id"]
    owner.patch(f"/api/v1/projects/{project}", {"color": "#112233"}, format="json")
    owner.post(f"/api/v1/projects/{project}/invitations", {"email": editor.email, "role": "editor"}, format="json")
    owner.post(f"/api/v1/projects/{other}/invitations", {"email": editor.email, "role": "editor"}, format="json")
    for invitation in mate.get("/api/v1/invitations/").json()["results"]:
        assert mate.post(f"/api/v1/invitations/{invitation['id']}/accept").status_code == 200
    task = mate.post("/api/v1/tasks/", {"title": "Brief", "project": project}, format="json").json()["id"]
    sub = mate.post("/api/v1/tasks/", {"title": "Draft", "parent": task}, format="json").json()["id"]
    owner.patch(f"/api/v1/tasks/{task}", {"assignees": [str(editor.pk)]}, format="json")
    comment = mate.post(f"/api/v1/tasks/{task}/comments", {"body": "On it"}, format="json").json()["id"]
    mate.patch(f"/api/v1/tasks/{task}/comments/{comment}", {"body": "On it, today"}, format="json")
    owner.delete(f"/api/v1/tasks/{task}/comments/{comment}")
    mate.post(f"/api/v1/tasks/{task}/move", {"project": other}, format="json")
    mate.post(f"/api/v1/tasks/{task}/complete")
    mate.delete(f"/api/v1/tasks/{task}")
    owner.patch(f"/api/v1/projects/{project}/members/{editor.pk}", {"role": "viewer"}, format="json")
    owner.delete(f"/api/v1/projects/{project}/members/{editor.pk}")
    owner.delete(f"/api/v1/projects/{project}")

    trail = [
        (e.event, e.actor_id, e.details.get("project_id"))
        for e in Event.objects.filter(event__regex=r"^(project|task|comment)\.").order_by("id")
    ]
    assert trail == [
        ("project.created", user.pk, project),
        ("project.created", user.pk, other),
        ("project.updated", user.pk, project),
        ("project.invitation_sent", user.pk, project),
        ("project.invitation_sent", user.pk, other),
        *[
            (event, editor.pk, pid)
            for pid in sorted([project, other], reverse=True)
            for event in ("project.invitation_accepted", "project.member_added")
        ],
        ("task.created", editor.pk, project),
        ("task.created", editor.pk, project),
        ("task.assigned", user.pk, project),
        ("task.updated", user.pk, project),
        ("comment.created", editor.pk, project),
        ("comment.updated", editor.pk, project),
        ("comment.deleted", user.pk, project),
        ("task.moved", editor.pk, other),
        ("task.updated", editor.pk, other),
        ("task.deleted", editor.pk, other),
        ("project.role_changed", user.pk, project),
        ("project.member_removed", user.pk, project),
        ("project.deleted", user.pk, project),
    ]
    moved = Event.objects.get(event="task.moved")
    assert moved.details["from_project_id"] == project
    assert moved.details["subtasks"] == [sub]
    completed = Event.objects.filter(event="task.updated", actor=editor).get()
    assert completed.details["subtasks_completed"] == [sub]
