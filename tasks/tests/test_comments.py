"""Comments on tasks: read and written by whoever can see the task (a viewer too), edited by their author,
deleted by their author or a project owner; `comments_count` exact; outsiders and trashed tasks get 404."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from audit.models import Event, EventType
from config.tests.concurrency import all_at_once
from tasks.models import Comment, Membership, Task
from tasks.tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

COMMENT_FIELDS = ["id", "task", "author", "body", "created_at", "updated_at"]
ROLES = ["owner", "editor", "viewer"]


@pytest.fixture
def shared_task(user: Any, project: Any) -> Task:
    return TaskFactory(owner=user, project=project, title="Plan the launch")


@pytest.fixture
def clients(owner_client: Any, editor_client: Any, viewer_client: Any) -> dict[str, Any]:
    return {"owner": owner_client, "editor": editor_client, "viewer": viewer_client}


def url(task: Any, comment: Any = None) -> str:
    base = f"/api/v1/tasks/{task.pk}/comments"
    return base if comment is None else f"{base}/{comment if isinstance(comment, int) else comment.pk}"


def post(client: Any, task: Any, body: Any = "Looks good") -> Any:
    return client.post(url(task), {"body": body}, format="json")


def add(client: Any, task: Any, body: str = "Looks good") -> Comment:
    response = post(client, task, body)
    assert response.status_code == 201, response.content
    return Comment.objects.get(pk=response.json()["id"])


def count_of(task: Any) -> int:
    return Task.objects.values_list("comments_count", flat=True).get(pk=task.pk)


def events(event: EventType) -> list[Event]:
    return list(Event.objects.filter(event=event).order_by("id"))


# Reading and commenting, by role -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_member_of_the_project_can_comment_and_read_the_comments(
    clients: dict[str, Any], role: str, shared_task: Task, request: Any
) -> None:
    response = post(clients[role], shared_task, "First!\n  with an indented second line")

    assert response.status_code == 201, response.content
    body = response.json()
    assert list(body) == COMMENT_FIELDS
    author = request.getfixturevalue({"owner": "user"}.get(role, role))
    assert body["author"] == {"id": str(author.pk), "email": author.email, "full_name": author.full_name}
    assert body["task"] == shared_task.pk
    assert body["body"] == "First!\n  with an indented second line"
    assert body["created_at"] == body["updated_at"]
    for reader in clients.values():
        listed = reader.get(url(shared_task))
        assert listed.status_code == 200
        assert listed.json()["count"] == 1
        assert listed.json()["results"] == [body]


def test_an_outsider_gets_404_from_every_comment_endpoint_and_nothing_changes(
    outsider_api: Any, owner_client: Any, shared_task: Task
) -> None:
    comment = add(owner_client, shared_task)

    answers = [
        outsider_api.get(url(shared_task)),
        post(outsider_api, shared_task),
        outsider_api.patch(url(shared_task, comment), {"body": "mine now"}, format="json"),
        outsider_api.delete(url(shared_task, comment)),
    ]

    assert [answer.status_code for answer in answers] == [404] * 4
    assert {answer.json()["code"] for answer in answers} == {"not_found"}
    # The same answer as a task that does not exist: nothing says the task is there.
    assert {answer.json()["detail"] for answer in answers} == {"Task not found."}
    assert list(Comment.objects.values_list("body", flat=True)) == ["Looks good"]
    assert count_of(shared_task) == 1


def test_the_creator_of_a_personal_task_comments_on_it_and_nobody_else_sees_them(
    owner_client: Any, outsider_api: Any, editor_client: Any, task: Task
) -> None:
    comment = add(owner_client, task, "Note to self")

    assert owner_client.get(url(task)).json()["results"][0]["body"] == "Note to self"
    for stranger in (outsider_api, editor_client):
        assert stranger.get(url(task)).status_code == 404
        assert post(stranger, task).status_code == 404
        assert stranger.patch(url(task, comment), {"body": "x"}, format="json").status_code == 404
        assert stranger.delete(url(task, comment)).status_code == 404
    assert owner_client.delete(url(task, comment)).status_code == 204
    assert count_of(task) == 0


def test_a_task_in_the_trash_is_404_for_every_comment_endpoint(
    owner_client: Any, editor_client: Any, shared_task: Task
) -> None:
    comment = add(editor_client, shared_task)
    Task.objects.filter(pk=shared_task.pk).update(deleted_at=timezone.now())

    for client in (owner_client, editor_client):
        assert client.get(url(shared_task)).status_code == 404
        assert post(client, shared_task).status_code == 404
        assert client.patch(url(shared_task, comment), {"body": "x"}, format="json").status_code == 404
        assert client.delete(url(shared_task, comment)).status_code == 404
    assert Comment.objects.get().body == "Looks good"


def test_a_comment_of_another_task_is_404_even_to_its_author(owner_client: Any, shared_task: Task, task: Task) -> None:
    elsewhere = add(owner_client, task, "On my personal task")

    patched = owner_client.patch(url(shared_task, elsewhere), {"body": "moved?"}, format="json")
    deleted = owner_client.delete(url(shared_task, elsewhere))

    assert patched.status_code == deleted.status_code == 404
    assert patched.json()["detail"] == "Comment not found."
    assert Comment.objects.get().body == "On my personal task"
    assert count_of(task) == 1 and count_of(shared_task) == 0


@pytest.mark.parametrize("path", ["/api/v1/tasks/{task}/comments/", "/api/v1/tasks/{task}/comments/{comment}/"])
def test_the_trailing_slash_is_optional(owner_client: Any, shared_task: Task, path: str) -> None:
    comment = add(owner_client, shared_task)
    response = owner_client.get(path.format(task=shared_task.pk, comment=comment.pk))
    # The detail route has no GET: 405 says the route matched.
    assert response.status_code == (200 if path.endswith("comments/") else 405)


@pytest.mark.parametrize("task_id", ["9223372036854775808", "0", "12345678901234567890"])
def test_task_ids_out_of_range_are_404(owner_client: Any, task_id: str) -> None:
    assert owner_client.get(f"/api/v1/tasks/{task_id}/comments").status_code == 404
    assert owner_client.post(f"/api/v1/tasks/{task_id}/comments", {"body": "x"}, format="json").status_code == 404


@pytest.mark.parametrize("comment_id", ["9223372036854775808", "0", "12345678901234567890", "abc"])
def test_comment_ids_out_of_range_or_malformed_are_404(owner_client: Any, shared_task: Task, comment_id: str) -> None:
    target = f"{url(shared_task)}/{comment_id}"
    assert owner_client.delete(target).status_code == 404
    assert owner_client.patch(target, {"body": "x"}, format="json").status_code == 404
    assert not Comment.objects.exists()


def test_a_removed_member_loses_the_comments_on_their_next_request(
    viewer_client: Any, viewer: Any, shared_task: Task
) -> None:
    comment = add(viewer_client, shared_task)
    Membership.objects.filter(user=viewer).delete()

    assert viewer_client.get(url(shared_task)).status_code == 404
    assert viewer_client.patch(url(shared_task, comment), {"body": "x"}, format="json").status_code == 404
    assert viewer_client.delete(url(shared_task, comment)).status_code == 404


# Input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"body": ""},
        {"body": "   \n\t "},
        {"body": None},
        {"body": 123},
        {"body": ["a"]},
        {"body": "x" * 5_001},
        {"body": "nul \x00 inside"},
    ],
    ids=["missing", "empty", "whitespace", "null", "number", "list", "too-long", "nul"],
)
def test_an_invalid_body_is_a_400_naming_it_and_nothing_is_written(
    owner_client: Any, shared_task: Task, body: dict[str, Any]
) -> None:
    response = owner_client.post(url(shared_task), body, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert "body" in response.json()["errors"]
    assert not Comment.objects.exists()
    assert count_of(shared_task) == 0


def test_a_huge_comment_is_refused_on_create_and_edit(owner_client: Any, shared_task: Task) -> None:
    comment = add(owner_client, shared_task)

    assert post(owner_client, shared_task, "y" * 100_000).status_code == 400
    patched = owner_client.patch(url(shared_task, comment), {"body": "y" * 100_000}, format="json")
    assert patched.status_code == 400
    assert Comment.objects.get().body == "Looks good"


def test_a_comment_of_exactly_5000_characters_is_accepted(owner_client: Any, shared_task: Task) -> None:
    assert len(add(owner_client, shared_task, "é" * 5_000).body) == 5_000


def test_author_task_and_timestamps_in_the_body_are_ignored(
    viewer_client: Any, viewer: Any, user: Any, shared_task: Task, task: Task
) -> None:
    response = viewer_client.post(
        url(shared_task),
        {
            "body": "hi",
            "author": str(user.pk),
            "task": task.pk,
            "id": 999,
            "created_at": "2000-01-01T00:00:00Z",
            "updated_at": "2000-01-01T00:00:00Z",
        },
        format="json",
    )

    assert response.status_code == 201
    comment = Comment.objects.get()
    assert comment.author == viewer and comment.task_id == shared_task.pk and comment.pk != 999
    assert comment.created_at.year != 2000
    patched = viewer_client.patch(
        url(shared_task, comment), {"body": "edited", "author": str(user.pk), "task": task.pk}, format="json"
    )
    assert patched.status_code == 200
    comment.refresh_from_db()
    assert (comment.author, comment.task_id, comment.body) == (viewer, shared_task.pk, "edited")


# Editing ----------------------------------------------------------------------------------------------


def test_the_author_edits_their_comment(viewer_client: Any, shared_task: Task) -> None:
    comment = add(viewer_client, shared_task, "Typo hree")
    Comment.objects.filter(pk=comment.pk).update(created_at=comment.created_at - timedelta(minutes=5))

    response = viewer_client.patch(url(shared_task, comment) + "/", {"body": "Typo here"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert list(body) == COMMENT_FIELDS
    assert body["body"] == "Typo here"
    assert body["updated_at"] > body["created_at"]
    assert Comment.objects.get().body == "Typo here"
    assert count_of(shared_task) == 1


def test_an_edit_that_changes_nothing_writes_and_records_nothing(owner_client: Any, shared_task: Task) -> None:
    comment = add(owner_client, shared_task, "Same")

    response = owner_client.patch(url(shared_task, comment), {"body": "Same"}, format="json")

    assert response.status_code == 200
    assert response.json()["updated_at"] == response.json()["created_at"]
    assert not events(EventType.COMMENT_UPDATED)


@pytest.mark.parametrize("editor_role", ["owner", "viewer"])
def test_someone_elses_comment_cannot_be_edited_even_by_a_project_owner(
    clients: dict[str, Any], editor_role: str, shared_task: Task
) -> None:
    comment = add(clients["editor"], shared_task, "Mine")

    response = clients[editor_role].patch(url(shared_task, comment), {"body": "Not yours"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Comment.objects.get().body == "Mine"
    assert not events(EventType.COMMENT_UPDATED)


def test_the_patch_body_is_required(owner_client: Any, shared_task: Task) -> None:
    comment = add(owner_client, shared_task)
    response = owner_client.patch(url(shared_task, comment), {}, format="json")
    assert response.status_code == 400
    assert "body" in response.json()["errors"]


# Deleting ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_author_deletes_their_own_comment(clients: dict[str, Any], role: str, shared_task: Task) -> None:
    comment = add(clients[role], shared_task)

    assert clients[role].delete(url(shared_task, comment)).status_code == 204

    assert not Comment.objects.exists()
    assert count_of(shared_task) == 0


def test_a_project_owner_deletes_any_comment(owner_client: Any, viewer_client: Any, shared_task: Task) -> None:
    comment = add(viewer_client, shared_task)

    assert owner_client.delete(url(shared_task, comment)).status_code == 204

    assert not Comment.objects.exists()
    assert viewer_client.get(url(shared_task)).json()["count"] == 0


@pytest.mark.parametrize("deleter", ["editor", "viewer"])
def test_a_member_who_is_not_an_owner_cannot_delete_someone_elses_comment(
    clients: dict[str, Any], deleter: str, shared_task: Task
) -> None:
    comment = add(clients["owner"], shared_task)

    response = clients[deleter].delete(url(shared_task, comment))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert Comment.objects.filter(pk=comment.pk).exists()
    assert count_of(shared_task) == 1


def test_deleting_twice_is_404_the_second_time_and_the_count_stays_exact(owner_client: Any, shared_task: Task) -> None:
    comment = add(owner_client, shared_task)
    add(owner_client, shared_task, "Another")

    assert owner_client.delete(url(shared_task, comment)).status_code == 204
    assert owner_client.delete(url(shared_task, comment)).status_code == 404
    assert count_of(shared_task) == 1


def test_a_deleted_accounts_comments_stay_with_a_null_author(
    editor_client: Any, owner_client: Any, editor: Any, shared_task: Task
) -> None:
    comment = add(editor_client, shared_task, "Before I go")
    editor.delete()

    (shown,) = owner_client.get(url(shared_task)).json()["results"]
    assert shown["author"] is None and shown["body"] == "Before I go"
    # Nobody can edit an orphan; an owner can still delete it.
    assert owner_client.patch(url(shared_task, comment), {"body": "x"}, format="json").status_code == 403
    assert owner_client.delete(url(shared_task, comment)).status_code == 204
    assert count_of(shared_task) == 0


def test_deleting_an_account_takes_its_personal_tasks_comments_and_keeps_the_projects(
    owner_client: Any, editor_client: Any, editor: Any, client_for: Any, shared_task: Task
) -> None:
    personal = TaskFactory(owner=editor)
    add(client_for(editor), personal, "private")
    add(editor_client, shared_task, "shared")
    editor.delete()

    assert not Task.objects.filter(pk=personal.pk).exists()
    assert list(Comment.objects.values_list("body", "author")) == [("shared", None)]
    assert count_of(shared_task) == 1


def test_a_task_purged_from_the_trash_takes_its_comments_with_it(owner_client: Any, shared_task: Task) -> None:
    add(owner_client, shared_task)
    shared_task.delete()
    assert not Comment.objects.exists()


# comments_count and the task's ETag -------------------------------------------------------------------


def test_comments_count_is_exact_and_the_tasks_etag_changes_but_not_its_updated_at(
    owner_client: Any, editor_client: Any, shared_task: Task
) -> None:
    def etag() -> str:
        response = owner_client.get(f"/api/v1/tasks/{shared_task.pk}")
        assert response.status_code == 200
        assert response.json()["comments_count"] == count_of(shared_task)
        return str(response.headers["ETag"])

    updated_at = Task.objects.get(pk=shared_task.pk).updated_at
    first = etag()
    one = add(owner_client, shared_task)
    two = add(editor_client, shared_task)
    add(editor_client, shared_task)
    assert count_of(shared_task) == 3
    after_create = etag()
    assert after_create != first

    editor_client.patch(url(shared_task, two), {"body": "edited"}, format="json")
    assert etag() == after_create  # an edit does not change the task as the API shows it

    owner_client.delete(url(shared_task, one))
    owner_client.delete(url(shared_task, two))
    assert count_of(shared_task) == 1
    assert etag() not in (first, after_create)
    assert Task.objects.get(pk=shared_task.pk).updated_at == updated_at


def test_a_stale_etag_is_refused_after_a_comment(owner_client: Any, editor_client: Any, shared_task: Task) -> None:
    stale = owner_client.get(f"/api/v1/tasks/{shared_task.pk}").headers["ETag"]
    add(editor_client, shared_task)

    response = owner_client.patch(
        f"/api/v1/tasks/{shared_task.pk}", {"title": "Renamed"}, format="json", HTTP_IF_MATCH=stale
    )

    assert response.status_code == 412


# Lists: order, pages and queries ------------------------------------------------------------------------


@pytest.fixture
def many_comments(shared_task: Task, user: Any, editor: Any, viewer: Any) -> list[Comment]:
    start = timezone.now() - timedelta(hours=1)
    authors = [user, editor, viewer]
    comments = Comment.objects.bulk_create(
        Comment(
            task=shared_task,
            author=authors[n % 3],
            body=f"comment {n}",
            # Pairs share a timestamp: the id keeps their order.
            created_at=start + timedelta(seconds=n // 2),
            updated_at=start + timedelta(seconds=n // 2),
        )
        for n in range(45)
    )
    Task.objects.filter(pk=shared_task.pk).update(comments_count=45)
    return comments


def test_the_list_is_oldest_first_in_pages(viewer_client: Any, shared_task: Task, many_comments: Any) -> None:
    seen: list[str] = []
    page = 1
    while True:
        response = viewer_client.get(f"{url(shared_task)}?page={page}&page_size=20")
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 45
        seen += [comment["body"] for comment in body["results"]]
        if not body["next"]:
            break
        page += 1

    assert seen == [f"comment {n}" for n in range(45)]
    assert viewer_client.get(f"{url(shared_task)}?page=4&page_size=20").status_code == 404
    assert viewer_client.get(f"{url(shared_task)}?page_size=0").status_code == 400


def test_an_empty_list_is_an_empty_page(owner_client: Any, shared_task: Task) -> None:
    body = owner_client.get(url(shared_task)).json()
    assert body["count"] == 0 and body["results"] == []


# GET /api/v1/tasks/{id}/comments:
#   1. the session and its user (authentication)
#   2. the task, if the caller can see it (one condition: personal and theirs, or in one of their projects)
#   3. the page of comments with their authors joined, each row carrying the total (COUNT(*) OVER ())
LIST_QUERIES = 3


@pytest.mark.parametrize("page_size", [1, 100])
def test_the_list_costs_the_same_queries_whatever_the_page_size(
    viewer_client: Any, shared_task: Task, many_comments: Any, page_size: int, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(LIST_QUERIES):
        response = viewer_client.get(f"{url(shared_task)}?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, 45)
    assert response.json()["results"][0]["author"]["email"] == "owner@example.com"


def test_creating_a_comment_is_a_fixed_number_of_queries(
    editor_client: Any, shared_task: Task, many_comments: Any, django_assert_num_queries: Any
) -> None:
    # 1. session  2. SAVEPOINT (the test's transaction encloses the service's)  3. the task, locked, with the
    # caller's role  4. INSERT the comment  5. UPDATE the task's count and version  6. INSERT the audit event
    # 7. who hears of it (creator and assignees still in the project)  8. INSERT their notifications, in one
    # statement  9. one job fanning their emails out  10. RELEASE SAVEPOINT: the same for 1 or 50 recipients
    with django_assert_num_queries(10):
        assert post(editor_client, shared_task).status_code == 201
    assert count_of(shared_task) == 46


def test_editing_and_deleting_are_a_fixed_number_of_queries(
    editor_client: Any, shared_task: Task, django_assert_num_queries: Any
) -> None:
    comment = add(editor_client, shared_task)
    # 1. session  2. SAVEPOINT  3. the task, locked  4. the comment, locked  5. UPDATE it  6. audit  7. RELEASE
    with django_assert_num_queries(7):
        assert editor_client.patch(url(shared_task, comment), {"body": "v2"}, format="json").status_code == 200
    # 1. session  2. SAVEPOINT  3. the task, locked  4. the comment, locked  5. audit  6. DELETE it  7. UPDATE the
    # task's count and version  8. RELEASE
    with django_assert_num_queries(8):
        assert editor_client.delete(url(shared_task, comment)).status_code == 204


# Audit ------------------------------------------------------------------------------------------------


def test_every_comment_write_is_audited_with_its_actor_and_project_and_never_its_text(
    editor_client: Any, owner_client: Any, editor: Any, user: Any, shared_task: Task, project: Any
) -> None:
    comment = add(editor_client, shared_task, "secret plans")
    editor_client.patch(url(shared_task, comment), {"body": "more secret plans"}, format="json")
    own = add(editor_client, shared_task, "another")
    editor_client.delete(url(shared_task, own))
    owner_client.delete(url(shared_task, comment))

    ids = {"task_id": shared_task.pk, "project_id": project.pk}
    created = events(EventType.COMMENT_CREATED)
    assert [(e.user, e.actor_id, e.details) for e in created] == [
        (editor, editor.pk, {**ids, "comment_id": comment.pk}),
        (editor, editor.pk, {**ids, "comment_id": own.pk}),
    ]
    (updated,) = events(EventType.COMMENT_UPDATED)
    assert (updated.user, updated.actor_id, updated.details) == (editor, editor.pk, {**ids, "comment_id": comment.pk})
    by_author, by_owner = events(EventType.COMMENT_DELETED)
    assert (by_author.user, by_author.actor_id, by_author.details) == (editor, editor.pk, {**ids, "comment_id": own.pk})
    assert (by_owner.user, by_owner.actor_id) == (user, user.pk)
    assert by_owner.details == {**ids, "comment_id": comment.pk, "author_id": str(editor.pk)}
    assert not any("secret" in str(e.details) for e in Event.objects.all())


def test_a_comment_on_a_personal_task_is_audited_without_a_project(owner_client: Any, user: Any, task: Task) -> None:
    comment = add(owner_client, task)
    (event,) = events(EventType.COMMENT_CREATED)
    assert event.user == user
    assert event.details == {"task_id": task.pk, "project_id": None, "comment_id": comment.pk}


def test_a_refused_or_invalid_write_records_nothing(
    viewer_client: Any, owner_client: Any, shared_task: Task, outsider_api: Any
) -> None:
    comment = add(owner_client, shared_task)
    before = Event.objects.count()
    viewer_client.delete(url(shared_task, comment))
    viewer_client.patch(url(shared_task, comment), {"body": "x"}, format="json")
    post(viewer_client, shared_task, "")
    post(outsider_api, shared_task)
    assert Event.objects.count() == before


# OpenAPI ----------------------------------------------------------------------------------------------

COMMENT_RESPONSES = {
    ("/api/v1/tasks/{id}/comments/", "get"): {"200", "400", "404"},
    ("/api/v1/tasks/{id}/comments/", "post"): {"201", "400", "404"},
    ("/api/v1/tasks/{id}/comments/{comment_id}/", "patch"): {"200", "400", "403", "404"},
    ("/api/v1/tasks/{id}/comments/{comment_id}/", "delete"): {"204", "403", "404"},
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_comment_operation_is_documented_with_its_errors(schema: dict[str, Any]) -> None:
    assert set(schema["paths"]["/api/v1/tasks/{id}/comments/"]) == {"get", "post"}
    assert set(schema["paths"]["/api/v1/tasks/{id}/comments/{comment_id}/"]) == {"patch", "delete"}
    for (path, method), expected in COMMENT_RESPONSES.items():
        operation = schema["paths"][path][method]
        assert expected | {"401", "429", "503"} <= set(operation["responses"]), (path, method)
        assert operation["tags"] == ["comments"]
    names = {p["name"] for p in schema["paths"]["/api/v1/tasks/{id}/comments/"]["get"]["parameters"]}
    assert {"id", "page", "page_size"} <= names


def test_the_comment_shapes_are_what_the_api_sends(
    schema: dict[str, Any], owner_client: Any, shared_task: Task
) -> None:
    components = schema["components"]["schemas"]
    sent = post(owner_client, shared_task).json()
    assert list(components["Comment"]["properties"]) == list(sent)
    assert list(components["Person"]["properties"]) == list(sent["author"])
    assert components["CommentWriteRequest"]["required"] == ["body"]
    assert set(components["CommentWriteRequest"]["properties"]) == {"body"}
    # PATCH takes the same body, `body` required.
    patch = schema["paths"]["/api/v1/tasks/{id}/comments/{comment_id}/"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CommentWriteRequest")


# Races (PostgreSQL) -------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_comments_and_deletions_leave_comments_count_exact(
    user: Any, editor: Any, viewer: Any, project: Any, client_for: Any
) -> None:
    shared = TaskFactory(owner=user, project=project)
    doomed = [add(client_for(user), shared, f"old {n}") for n in range(4)]
    version = Task.objects.get(pk=shared.pk).version
    people = [user, editor, viewer] * 4
    creators = [client_for(person) for person in people]
    owner = client_for(user)

    calls: list[Callable[[], Any]] = [partial(post, client, shared, "at once") for client in creators]
    calls += [partial(owner.delete, url(shared, comment)) for comment in doomed]
    results = [response.status_code for response in all_at_once(calls)]

    assert results == [201] * len(creators) + [204] * len(doomed)
    task = Task.objects.get(pk=shared.pk)
    assert task.comments_count == Comment.objects.filter(task=shared).count() == len(creators)
    # Every write bumped the version exactly once: none was lost.
    assert task.version == version + len(creators) + len(doomed)
