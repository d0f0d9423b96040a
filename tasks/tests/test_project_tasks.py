"""Tasks in projects, black-box with an owner (`user`), an editor, a viewer and an outsider: who sees and may do
what, subtasks, assignees and the filters of SPEC 4b."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import Event, EventType
from tasks.models import Assignment, Membership, Project, Status, Task

pytestmark = pytest.mark.django_db


def create(client: Any, **body: Any) -> Any:
    return client.post("/api/v1/tasks/", body, format="json")


@pytest.fixture
def shared(editor_client: Any, project: Project) -> dict[str, Any]:
    """A project task created by the editor."""
    response = create(editor_client, title="Draft the plan", project=project.pk)
    assert response.status_code == 201, response.json()
    return response.json()


# Creating -----------------------------------------------------------------------------------------------------


def test_an_editor_creates_a_task_in_the_project_and_every_member_sees_it(
    shared: dict[str, Any], editor: Any, owner_client: Any, viewer_client: Any, project: Project
) -> None:
    assert shared["project"] == project.pk
    assert shared["created_by"] == shared["owner"] == str(editor.pk)
    for client in (owner_client, viewer_client):
        assert client.get(f"/api/v1/tasks/{shared['id']}").json()["title"] == "Draft the plan"
        assert [t["id"] for t in client.get("/api/v1/tasks/").json()["results"]] == [shared["id"]]


def test_an_outsider_gets_404_for_a_project_task_and_never_sees_it_listed(
    shared: dict[str, Any], outsider_api: Any
) -> None:
    url = f"/api/v1/tasks/{shared['id']}"
    for method in ("get", "patch", "put", "delete"):
        assert getattr(outsider_api, method)(url, {"title": "x"}, format="json").status_code == 404
    for action in ("complete", "reopen", "move"):
        assert outsider_api.post(f"{url}/{action}", {}, format="json").status_code == 404
    assert outsider_api.get("/api/v1/tasks/").json()["count"] == 0
    assert outsider_api.get(f"/api/v1/tasks/?project={shared['project']}").json()["count"] == 0
    assert Task.objects.get(pk=shared["id"]).title == "Draft the plan"


def test_a_project_you_cannot_see_is_400_on_project_and_a_viewer_cannot_add_tasks(
    outsider_api: Any, viewer_client: Any, project: Project
) -> None:
    response = create(outsider_api, title="Sneak in", project=project.pk)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["project"]
    assert create(viewer_client, title="Sneak in", project=project.pk).status_code == 403
    assert not Task.objects.filter(title="Sneak in").exists()


def test_mass_assignment_of_read_only_fields_is_ignored(owner_client: Any, outsider: Any) -> None:
    body = create(
        owner_client,
        title="Mine",
        created_by=str(outsider.pk),
        owner=str(outsider.pk),
        comments_count=99,
        position=-5,
        role="owner",
    ).json()
    task = Task.objects.get(pk=body["id"])
    assert (body["comments_count"], task.comments_count, task.owner_id) == (0, 0, owner_client_user(body))
    assert body["position"] != -5


def owner_client_user(body: dict[str, Any]) -> Any:
    return Task.objects.get(pk=body["id"]).owner_id


# Roles -----------------------------------------------------------------------------------------------------------


def test_a_viewer_reads_but_every_write_is_403_and_changes_nothing(shared: dict[str, Any], viewer_client: Any) -> None:
    url = f"/api/v1/tasks/{shared['id']}"
    writes = [
        viewer_client.patch(url, {"title": "Mine now"}, format="json"),
        viewer_client.put(url, {"title": "Mine now"}, format="json"),
        viewer_client.delete(url),
        viewer_client.post(f"{url}/complete"),
        viewer_client.post(f"{url}/move", {"after": None}, format="json"),
        viewer_client.post("/api/v1/tasks/bulk/", {"action": "complete", "ids": [shared["id"]]}, format="json"),
    ]
    assert [r.status_code for r in writes] == [403] * len(writes)
    assert all(r.json()["code"] == "permission_denied" for r in writes)
    task = Task.objects.get(pk=shared["id"])
    assert (task.title, task.status, task.deleted_at, task.version) == ("Draft the plan", Status.PENDING, None, 1)


def test_a_bulk_mixing_writable_and_read_only_tasks_changes_nothing(
    editor_client: Any, editor: Any, owner_client: Any, project: Project, viewer: Any
) -> None:
    Membership.objects.filter(user=editor, project=project).update(role="viewer")
    mine = create(editor_client, title="Personal").json()["id"]
    theirs = create(owner_client, title="Project", project=project.pk).json()["id"]
    response = editor_client.post("/api/v1/tasks/bulk/", {"action": "delete", "ids": [mine, theirs]}, format="json")
    assert response.status_code == 403
    assert Task.objects.live().filter(pk__in=[mine, theirs]).count() == 2


def test_removal_from_the_project_takes_effect_on_the_next_request(
    shared: dict[str, Any], owner_client: Any, editor_client: Any, editor: Any, project: Project
) -> None:
    owner_client.patch(f"/api/v1/tasks/{shared['id']}", {"assignees": [str(editor.pk)]}, format="json")
    assert owner_client.delete(f"/api/v1/projects/{project.pk}/members/{editor.pk}").status_code == 204
    assert editor_client.get(f"/api/v1/tasks/{shared['id']}").status_code == 404
    assert editor_client.get("/api/v1/tasks/").json()["count"] == 0
    # Assignees are members: whoever leaves is taken off the project's tasks.
    assert owner_client.get(f"/api/v1/tasks/{shared['id']}").json()["assignees"] == []
    assert not Assignment.objects.filter(user=editor).exists()


# Assignees ---------------------------------------------------------------------------------------------------


def test_members_can_be_assigned_and_the_assignee_filter_finds_them(
    shared: dict[str, Any], owner_client: Any, viewer_client: Any, viewer: Any, editor: Any
) -> None:
    url = f"/api/v1/tasks/{shared['id']}"
    response = owner_client.patch(url, {"assignees": [str(viewer.pk), str(editor.pk)]}, format="json")
    assert response.status_code == 200
    assert response.json()["assignees"] == sorted([str(viewer.pk), str(editor.pk)])
    assert [t["id"] for t in viewer_client.get("/api/v1/tasks/?assignee=me").json()["results"]] == [shared["id"]]
    assert owner_client.get("/api/v1/tasks/?assignee=me").json()["count"] == 0
    assert owner_client.get(f"/api/v1/tasks/?assignee={editor.pk}").json()["count"] == 1
    [event] = Event.objects.filter(event=EventType.TASK_ASSIGNED)
    assert event.details["added"] == sorted([str(viewer.pk), str(editor.pk)])
    assert event.details["project_id"] == shared["project"]


def test_a_non_member_cannot_be_assigned_nor_anyone_else_on_a_personal_task(
    shared: dict[str, Any], owner_client: Any, outsider: Any, editor: Any, user: Any
) -> None:
    response = owner_client.patch(f"/api/v1/tasks/{shared['id']}", {"assignees": [str(outsider.pk)]}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["assignees"]
    personal = create(owner_client, title="Mine", assignees=[str(editor.pk)])
    assert personal.status_code == 400
    assert not Task.objects.filter(title="Mine").exists()
    assert create(owner_client, title="Mine", assignees=[str(user.pk)]).json()["assignees"] == [str(user.pk)]


@pytest.mark.parametrize("value", ["me2", "12", "not-a-uuid"])
def test_a_malformed_assignee_filter_is_400(owner_client: Any, value: str) -> None:
    response = owner_client.get(f"/api/v1/tasks/?assignee={value}")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["assignee"]


@pytest.mark.parametrize("param", ["project", "parent"])
@pytest.mark.parametrize("value", ["abc", "-1", "0", "99999999999999999999", "\uff11\uff12"])
def test_a_malformed_project_or_parent_filter_is_400(owner_client: Any, param: str, value: str) -> None:
    response = owner_client.get(f"/api/v1/tasks/?{param}={value}")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [param]


# Subtasks ---------------------------------------------------------------------------------------------------


def chain(client: Any, levels: int, **body: Any) -> list[int]:
    ids: list[int] = []
    for level in range(levels):
        response = create(client, title=f"Level {level + 1}", parent=ids[-1] if ids else None, **body)
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
    return ids


def test_subtasks_nest_four_levels_and_a_fifth_is_400(owner_client: Any) -> None:
    ids = chain(owner_client, 4)
    response = create(owner_client, title="Level 5", parent=ids[-1])
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["parent"]
    assert owner_client.get(f"/api/v1/tasks/?parent={ids[0]}").json()["results"][0]["id"] == ids[1]
    assert [t["id"] for t in owner_client.get("/api/v1/tasks/?parent=none").json()["results"]] == [ids[0]]


def test_a_subtask_takes_its_parents_project(editor_client: Any, shared: dict[str, Any], project: Project) -> None:
    body = create(editor_client, title="Sub", parent=shared["id"]).json()
    assert (body["project"], body["parent"]) == (project.pk, shared["id"])


def test_a_parent_in_another_project_or_not_yours_is_400(
    owner_client: Any, shared: dict[str, Any], outsider_api: Any
) -> None:
    response = create(owner_client, title="Sub", parent=shared["id"], project=None)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["parent"]
    foreign = create(outsider_api, title="Theirs").json()["id"]
    response = create(owner_client, title="Sub", parent=foreign)
    assert response.status_code == 400
    assert "Theirs" not in response.content.decode()


def test_a_cycle_is_400_and_changes_nothing(owner_client: Any) -> None:
    top, _middle, bottom = chain(owner_client, 3)
    response = owner_client.patch(f"/api/v1/tasks/{top}", {"parent": bottom}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["parent"]
    assert owner_client.patch(f"/api/v1/tasks/{top}", {"parent": top}, format="json").status_code == 400
    assert Task.objects.get(pk=top).parent_id is None


def test_moving_a_subtree_deeper_than_four_levels_is_400(owner_client: Any) -> None:
    deep = chain(owner_client, 3)
    other = chain(owner_client, 2)
    response = owner_client.patch(f"/api/v1/tasks/{other[0]}", {"parent": deep[-1]}, format="json")
    assert response.status_code == 400
    assert owner_client.patch(f"/api/v1/tasks/{other[0]}", {"parent": deep[0]}, format="json").status_code == 200


def test_completing_a_task_completes_its_open_subtasks(owner_client: Any) -> None:
    top, middle, bottom = chain(owner_client, 3)
    owner_client.post(f"/api/v1/tasks/{bottom}/complete")
    done_at = Task.objects.get(pk=bottom).completed_at
    assert owner_client.post(f"/api/v1/tasks/{top}/complete").status_code == 200
    statuses = dict(Task.objects.values_list("pk", "status"))
    assert statuses == {top: "completed", middle: "completed", bottom: "completed"}
    assert Task.objects.get(pk=bottom).completed_at == done_at


def test_deleting_trashes_the_subtasks_and_restoring_brings_them_back(owner_client: Any) -> None:
    top, middle, bottom = chain(owner_client, 3)
    assert owner_client.delete(f"/api/v1/tasks/{top}").status_code == 204
    assert owner_client.get("/api/v1/tasks/").json()["count"] == 0
    assert {t["id"] for t in owner_client.get("/api/v1/tasks/trash/").json()["results"]} == {top, middle, bottom}
    assert owner_client.post(f"/api/v1/tasks/{top}/restore").status_code == 200
    assert {t["id"] for t in owner_client.get("/api/v1/tasks/").json()["results"]} == {top, middle, bottom}


def test_a_subtask_restored_alone_comes_back_at_the_top_level(owner_client: Any) -> None:
    top, middle = chain(owner_client, 2)
    owner_client.delete(f"/api/v1/tasks/{top}")
    body = owner_client.post(f"/api/v1/tasks/{middle}/restore").json()
    assert body["parent"] is None
    assert Task.objects.get(pk=top).deleted_at is not None


def test_members_share_the_projects_trash_and_an_editor_restores(
    shared: dict[str, Any], owner_client: Any, editor_client: Any, viewer_client: Any, outsider_api: Any
) -> None:
    owner_client.delete(f"/api/v1/tasks/{shared['id']}")
    assert [t["id"] for t in viewer_client.get("/api/v1/tasks/trash/").json()["results"]] == [shared["id"]]
    assert outsider_api.get("/api/v1/tasks/trash/").json()["count"] == 0
    assert viewer_client.post(f"/api/v1/tasks/{shared['id']}/restore").status_code == 403
    assert outsider_api.post(f"/api/v1/tasks/{shared['id']}/restore").status_code == 404
    assert editor_client.post(f"/api/v1/tasks/{shared['id']}/restore").status_code == 200


def test_patch_cannot_change_the_project(owner_client: Any, shared: dict[str, Any]) -> None:
    response = owner_client.patch(f"/api/v1/tasks/{shared['id']}", {"project": None}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["project"]
    same = owner_client.patch(f"/api/v1/tasks/{shared['id']}", {"project": shared["project"]}, format="json")
    assert same.status_code == 200


# Deleting projects and accounts -----------------------------------------------------------------------------------


def test_deleting_the_project_deletes_its_tasks(owner_client: Any, shared: dict[str, Any], project: Project) -> None:
    assert owner_client.delete(f"/api/v1/projects/{project.pk}").status_code == 204
    assert not Task.objects.filter(pk=shared["id"]).exists()


def test_a_deleted_account_takes_its_personal_tasks_and_leaves_its_project_tasks(
    editor: Any, editor_client: Any, shared: dict[str, Any], owner_client: Any
) -> None:
    personal = create(editor_client, title="Mine").json()["id"]
    editor.delete()
    assert not Task.objects.filter(pk=personal).exists()
    body = owner_client.get(f"/api/v1/tasks/{shared['id']}").json()
    assert (body["title"], body["created_by"], body["owner"]) == ("Draft the plan", None, None)


# Stats and export ----------------------------------------------------------------------------------------------


def test_stats_and_export_take_project(owner_client: Any, shared: dict[str, Any], project: Project) -> None:
    create(owner_client, title="Personal")
    assert owner_client.get("/api/v1/tasks/stats/").json()["total"] == 2
    assert owner_client.get(f"/api/v1/tasks/stats/?project={project.pk}").json()["total"] == 1
    assert owner_client.get("/api/v1/tasks/stats/?project=none").json()["total"] == 1
    assert owner_client.get("/api/v1/tasks/stats/?project=x").status_code == 400
    export = owner_client.get(f"/api/v1/tasks/export/?project={project.pk}")
    assert [t["id"] for t in _json(export)] == [shared["id"]]


def _json(response: Any) -> Any:
    import json

    return json.loads(b"".join(response.streaming_content))


# Moving ---------------------------------------------------------------------------------------------------------


def siblings(client: Any, **params: Any) -> list[int]:
    query = "&".join(f"{k}={v}" for k, v in {"ordering": "position", **params}.items())
    return [t["id"] for t in client.get(f"/api/v1/tasks/?{query}").json()["results"]]


def test_move_places_a_task_right_after_a_sibling_or_first(owner_client: Any) -> None:
    a, b, c, d = (create(owner_client, title=t).json()["id"] for t in "abcd")
    assert siblings(owner_client, parent="none") == [a, b, c, d]
    assert owner_client.post(f"/api/v1/tasks/{d}/move", {"after": a}, format="json").status_code == 200
    assert siblings(owner_client, parent="none") == [a, d, b, c]
    owner_client.post(f"/api/v1/tasks/{c}/move", {"after": None}, format="json")
    assert siblings(owner_client, parent="none") == [c, a, d, b]
    owner_client.post(f"/api/v1/tasks/{c}/move", {"after": b}, format="json")
    assert siblings(owner_client, parent="none") == [a, d, b, c]
    [event] = Event.objects.filter(event=EventType.TASK_MOVED).order_by("-id")[:1]
    assert event.details["after"] == b


def test_many_moves_between_two_neighbours_renumber_and_keep_the_order(owner_client: Any) -> None:
    a, b = (create(owner_client, title=t).json()["id"] for t in "ab")
    Task.objects.filter(pk=a).update(position=10)
    Task.objects.filter(pk=b).update(position=11)
    c = create(owner_client, title="c").json()["id"]
    assert owner_client.post(f"/api/v1/tasks/{c}/move", {"after": a}, format="json").status_code == 200
    assert siblings(owner_client, parent="none") == [a, c, b]
    positions = list(Task.objects.order_by("position").values_list("position", flat=True))
    assert len(set(positions)) == 3


def test_moving_after_a_task_that_is_not_a_sibling_is_400(owner_client: Any, outsider_api: Any) -> None:
    _top, sub = chain(owner_client, 2)
    other = create(owner_client, title="Other").json()["id"]
    foreign = create(outsider_api, title="Theirs").json()["id"]
    for after in (sub, foreign, other + 10_000):
        response = owner_client.post(f"/api/v1/tasks/{other}/move", {"after": after}, format="json")
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["after"]


def test_move_to_another_project_carries_the_subtasks_and_drops_non_members(
    owner_client: Any, editor_client: Any, editor: Any, viewer: Any, project: Project, user: Any
) -> None:
    other = owner_client.post("/api/v1/projects/", {"name": "Other"}, format="json").json()["id"]
    top = create(owner_client, title="Top", project=project.pk, assignees=[str(viewer.pk), str(user.pk)]).json()
    sub = create(owner_client, title="Sub", parent=top["id"]).json()
    response = owner_client.post(f"/api/v1/tasks/{top['id']}/move", {"project": other}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["project"], body["parent"], body["assignees"]) == (other, None, [str(user.pk)])
    assert Task.objects.get(pk=sub["id"]).project_id == other
    # The editor of the first project is not in the other: both are out of their sight now.
    assert editor_client.get(f"/api/v1/tasks/{top['id']}").status_code == 404
    assert editor_client.get(f"/api/v1/tasks/{sub['id']}").status_code == 404


def test_move_needs_edit_rights_in_both_projects(
    owner_client: Any, editor_client: Any, shared: dict[str, Any], outsider_api: Any, project: Project, editor: Any
) -> None:
    elsewhere = outsider_api.post("/api/v1/projects/", {"name": "Theirs"}, format="json").json()["id"]
    response = editor_client.post(f"/api/v1/tasks/{shared['id']}/move", {"project": elsewhere}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["project"]
    read_only = owner_client.post("/api/v1/projects/", {"name": "Read only"}, format="json").json()["id"]
    Membership.objects.create(project_id=read_only, user=editor, role="viewer")
    response = editor_client.post(f"/api/v1/tasks/{shared['id']}/move", {"project": read_only}, format="json")
    assert response.status_code == 403
    assert Task.objects.get(pk=shared["id"]).project_id == project.pk


def test_move_to_personal_makes_it_the_movers(
    editor_client: Any, editor: Any, shared: dict[str, Any], owner_client: Any
) -> None:
    body = owner_client.post(f"/api/v1/tasks/{shared['id']}/move", {"project": None}, format="json").json()
    assert body["project"] is None
    assert editor_client.get(f"/api/v1/tasks/{shared['id']}").status_code == 404
    assert owner_client.get("/api/v1/tasks/?project=none").json()["results"][0]["id"] == shared["id"]


def test_move_under_a_parent_refuses_cycles_and_depth(owner_client: Any) -> None:
    top, middle, bottom = chain(owner_client, 3)
    response = owner_client.post(f"/api/v1/tasks/{top}/move", {"parent": bottom}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["parent"]
    lone = create(owner_client, title="Lone").json()["id"]
    body = owner_client.post(f"/api/v1/tasks/{lone}/move", {"parent": middle, "after": bottom}, format="json").json()
    assert body["parent"] == middle
    assert siblings(owner_client, parent=middle) == [bottom, lone]
