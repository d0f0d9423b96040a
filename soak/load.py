"""The load: teams of users doing what an SPA's users do, each team in a thread of its own.

A team is a lead, who owns projects, and a mate, who verifies their email from the message the app mailed,
is invited to the lead's projects, accepts, changes role, is removed and invited again. Both log in, refresh,
create, read and change tasks (with reminders, assignees, subtasks), comment, move tasks between projects,
act in bulk, export and sync; now and then a guest registers. A team acts on its own data only, so it knows
the answer to expect to each request: any other answer is an error.

A request that gets no answer while a process serving it was killed counts as killed and is sent again as
it was (a create with the same Idempotency-Key); after such a retry the answers that mean "the first one
did commit" are expected too (409 to a repeated registration, 404 to a repeated removal, ...). Requests
that no client could safely repeat (a comment, a project create) are not sent again: the team reads back
what it has instead.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from soak.processes import Inbox

PASSWORD = "soak passphrase 2026 harbour"
TIMEOUT = 40  # above gunicorn's 30 s timeout: a stuck worker is killed by the master before we give up
MAX_RETRIES = 5


@dataclass
class Outcome:
    status: int | None  # None: no answer (connection refused or reset)
    body: bytes
    started: float
    ended: float
    error: str = ""

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


@dataclass
class Ack:
    """A create the API acknowledged (201) and the key it was sent with."""

    user_id: str
    key: str
    task_id: int
    title: str


class Recorder:
    """The figures of the run, shared by every thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_kind: Counter[str] = Counter()
        self.killed: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()
        self.errors: list[str] = []
        self.kills: list[float] = []
        self.acks: list[Ack] = []
        self.unacknowledged: list[tuple[str, str, str]] = []  # (user id, key, title) never answered
        self.registered: list[str] = []  # emails of the accounts this run opened

    def kill_at(self, moment: float) -> None:
        with self.lock:
            self.kills.append(moment)

    def was_killed(self, outcome: Outcome) -> bool:
        with self.lock:
            return any(outcome.started - 0.05 <= moment <= outcome.ended + 0.05 for moment in self.kills)

    def count(self, kind: str) -> None:
        with self.lock:
            self.by_kind[kind] += 1

    def note(self, counter: Counter[str], kind: str) -> None:
        with self.lock:
            counter[kind] += 1

    def error(self, kind: str, method: str, path: str, outcome: Outcome, request_id: str) -> None:
        what = f"{outcome.status}" if outcome.status is not None else f"no answer ({outcome.error})"
        with self.lock:
            self.errors.append(f"{kind}: {method} {path} -> {what} {outcome.body[:300]!r} request_id={request_id}")


def call(
    port: int, method: str, path: str, body: Any = None, *, token: str | None = None, headers: dict[str, str]
) -> Outcome:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    sent = {"Content-Type": "application/json", **headers}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    started = time.monotonic()
    try:
        connection.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=sent)
        response = connection.getresponse()
        data = response.read()
        return Outcome(response.status, data, started, time.monotonic())
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, b"", started, time.monotonic(), error=type(exc).__name__)
    finally:
        connection.close()


def _error_shaped(outcome: Outcome) -> bool:
    """An expected 4xx must still be the SPEC's error body."""
    try:
        body = outcome.json()
    except ValueError:
        return False
    return isinstance(body, dict) and all(isinstance(body.get(key), str) for key in ("detail", "code", "request_id"))


@dataclass
class User:
    email: str
    id: str = ""
    access: str = ""
    refresh: str = ""
    verified: bool = False


@dataclass
class TaskState:
    owner: str  # "lead" or "mate"
    project: int | None
    parent: int | None = None


@dataclass
class ProjectState:
    mate_role: str | None = None  # None: the mate is not a member


@dataclass
class Replica:
    """A client's local copy, kept by sync as an SPA would: the answers applied in order."""

    cursor: str = ""
    projects: dict[int, Any] = field(default_factory=dict)
    tasks: dict[int, Any] = field(default_factory=dict)

    def apply(self, body: dict[str, Any]) -> None:
        self.projects.update({project["id"]: project for project in body["projects"]})
        self.tasks.update({task["id"]: task for task in body["tasks"]})
        for project_id in body["removed"]["projects"]:
            self.projects.pop(project_id, None)
        for task_id in body["removed"]["tasks"]:
            self.tasks.pop(task_id, None)
        self.cursor = body["cursor"]


@dataclass
class Team:
    number: int
    port: int
    tag: str
    deadline: float
    recorder: Recorder
    inbox: Inbox
    stop: threading.Event
    rng: random.Random
    users: dict[str, User] = field(default_factory=dict)
    projects: dict[int, ProjectState] = field(default_factory=dict)
    tasks: dict[int, TaskState] = field(default_factory=dict)
    guests: int = 0
    replicas: dict[str, Replica] = field(default_factory=dict)

    # One request, judged ------------------------------------------------------------------------------

    def request(
        self,
        kind: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        who: str | None = None,
        expect: tuple[int, ...] = (200,),
        after_kill: tuple[int, ...] = (),
        retry: bool = True,
        key: str | None = None,
    ) -> Outcome | None:
        """Sends the request (again while it is killed, if `retry`); answers it when its status is expected."""
        token = self.users[who].access if who else None
        killed = False
        for _ in range(MAX_RETRIES + 1):
            request_id = f"soak-{uuid.uuid4().hex[:16]}"
            headers = {"X-Request-ID": request_id}
            if key:
                headers["Idempotency-Key"] = key
            outcome = call(self.port, method, path, body, token=token, headers=headers)
            self.recorder.count(kind)
            if outcome.status is None and self.recorder.was_killed(outcome):
                self.recorder.note(self.recorder.killed, kind)
                killed = True
                if retry:
                    self.recorder.note(self.recorder.retried, kind)
                    continue
                return None
            expected = outcome.status in expect or (killed and outcome.status in after_kill)
            if expected and ((outcome.status or 0) < 400 or _error_shaped(outcome)):
                return outcome
            self.recorder.error(kind, method, path, outcome, request_id)
            return None
        return None

    # Accounts -----------------------------------------------------------------------------------------

    def register(self, name: str) -> User | None:
        user = User(email=f"{self.tag}-t{self.number}-{name}@example.com")
        body = {"email": user.email, "password": PASSWORD, "full_name": f"Soak {name}"}
        outcome = self.request("register", "POST", "/api/v1/auth/register", body, expect=(201,), after_kill=(409,))
        if outcome is None:
            return None
        self.recorder.registered.append(user.email)
        self.users[name] = user
        if outcome.status == 409:  # the killed attempt had made the account
            return user if self.login(name) else None
        self._take_tokens(user, outcome.json())
        return user

    def _take_tokens(self, user: User, body: dict[str, Any]) -> None:
        if "user" in body:
            user.id = str(body["user"]["id"])
        user.access, user.refresh = body["access"], body["refresh"]

    def login(self, name: str) -> bool:
        user = self.users[name]
        body = {"email": user.email, "password": PASSWORD}
        outcome = self.request("login", "POST", "/api/v1/auth/login", body)
        if outcome is not None:
            self._take_tokens(user, outcome.json())
        return outcome is not None

    def refresh(self, name: str) -> None:
        # A retry after a kill presents the same token again: within the grace window it still works.
        user = self.users[name]
        outcome = self.request("refresh", "POST", "/api/v1/auth/refresh", {"refresh": user.refresh})
        if outcome is not None:
            self._take_tokens(user, outcome.json())

    def verify_mate(self) -> None:
        """Follows the verification link the app mailed to the mate, once it has arrived."""
        mate = self.users.get("mate")
        if mate is None or mate.verified:
            return
        for mail in self.inbox.to(mate.email):
            match = re.search(r"https?://\S*verify-email\?\S+", mail.text)
            if match is None:
                continue
            query = parse_qs(urlsplit(match.group(0)).query)
            body = {"uid": query["uid"][0], "token": query["token"][0]}
            outcome = self.request(
                "verify email", "POST", "/api/v1/auth/email/verify", body, expect=(204,), after_kill=(400,)
            )
            mate.verified = outcome is not None
            return

    # Projects and membership -------------------------------------------------------------------------

    def create_project(self) -> None:
        body = {"name": f"Soak {self.number}.{len(self.projects) + 1}", "color": "#336699"}
        outcome = self.request(
            "project create", "POST", "/api/v1/projects/", body, who="lead", expect=(201,), retry=False
        )
        if outcome is not None:
            self.projects[int(outcome.json()["id"])] = ProjectState()
        else:
            self.read_back_projects()

    def read_back_projects(self) -> None:
        """After a create nobody answered: the lead's projects as the API lists them."""
        outcome = self.request("project read", "GET", "/api/v1/projects/?page_size=100", who="lead")
        if outcome is not None:
            for project in outcome.json()["results"]:
                self.projects.setdefault(int(project["id"]), ProjectState())

    def change_project(self) -> None:
        project_id = self.rng.choice(list(self.projects))
        body = {"color": f"#{self.rng.randrange(16**6):06x}", "description": f"changed at {time.time():.0f}"}
        self.request("project update", "PATCH", f"/api/v1/projects/{project_id}", body, who="lead")

    def membership(self) -> None:
        mate = self.users.get("mate")
        if mate is None or not mate.verified or not self.projects:
            return
        project_id = self.rng.choice(list(self.projects))
        state = self.projects[project_id]
        if state.mate_role is None:
            self.invite_and_accept(project_id)
        elif self.rng.random() < 0.7:
            role = "viewer" if state.mate_role == "editor" else "editor"
            path = f"/api/v1/projects/{project_id}/members/{mate.id}"
            if self.request("member role", "PATCH", path, {"role": role}, who="lead"):
                state.mate_role = role
        else:
            path = f"/api/v1/projects/{project_id}/members/{mate.id}"
            if self.request("member remove", "DELETE", path, who="lead", expect=(204,), after_kill=(404,)):
                state.mate_role = None

    def invite_and_accept(self, project_id: int) -> None:
        mate = self.users["mate"]
        path = f"/api/v1/projects/{project_id}/invitations"
        if not self.request("invite", "POST", path, {"email": mate.email, "role": "editor"}, who="lead", expect=(202,)):
            return
        outcome = self.request("invitations read", "GET", "/api/v1/invitations/?page_size=100", who="mate")
        if outcome is None:
            return
        for invitation in outcome.json()["results"]:
            if invitation["project"]["id"] == project_id:
                accept = f"/api/v1/invitations/{invitation['id']}/accept"
                if self.request("invitation accept", "POST", accept, who="mate", after_kill=(409,)):
                    self.projects[project_id].mate_role = "editor"
                return

    # Tasks --------------------------------------------------------------------------------------------

    def writable_projects(self, who: str) -> list[int]:
        if who == "lead":
            return list(self.projects)
        return [pid for pid, state in self.projects.items() if state.mate_role == "editor"]

    def create_task(self) -> None:
        who = "lead" if self.rng.random() < 0.7 else "mate"
        if who not in self.users:
            return
        key = str(uuid.uuid4())
        title = f"{self.tag} {key}"
        body: dict[str, Any] = {"title": title, "priority": self.rng.choice(["low", "medium", "high", "urgent"])}
        projects = self.writable_projects(who)
        project = self.rng.choice(projects) if projects and self.rng.random() < 0.6 else None
        parent = None
        if project is not None:
            body["project"] = project
            roots = [tid for tid, t in self.tasks.items() if t.project == project and t.parent is None]
            if roots and self.rng.random() < 0.3:
                parent = body["parent"] = self.rng.choice(roots)
            if self.projects[project].mate_role is not None and self.rng.random() < 0.5:
                body["assignees"] = [self.users["mate"].id]
        elif self.rng.random() < 0.4:
            # Fires during the run: a notification and an email to the creator, once.
            at = datetime.now(UTC) + timedelta(seconds=self.rng.uniform(10, 45))
            body["reminders"] = [{"at": at.isoformat()}]
        user = self.users[who]
        outcome = self.request("task create", "POST", "/api/v1/tasks/", body, who=who, expect=(201,), key=key)
        if outcome is None:
            with self.recorder.lock:
                self.recorder.unacknowledged.append((user.id, key, title))
            return
        task_id = int(outcome.json()["id"])
        with self.recorder.lock:
            self.recorder.acks.append(Ack(user.id, key, task_id, title))
        self.tasks[task_id] = TaskState(owner=who, project=project, parent=parent)

    def mine(self, who: str) -> list[int]:
        """Tasks `who` may change: their personal ones and those of the projects where they edit."""
        editing = set(self.writable_projects(who))
        return [
            tid
            for tid, task in self.tasks.items()
            if (task.project is None and task.owner == who) or task.project in editing
        ]

    def read_tasks(self) -> None:
        choice = self.rng.random()
        if choice < 0.4 and self.tasks:
            task_id = self.rng.choice(list(self.tasks))
            task = self.tasks[task_id]
            # A personal task is its creator's alone; the lead owns every project of the team.
            self.request(
                "task read", "GET", f"/api/v1/tasks/{task_id}", who=task.owner if task.project is None else "lead"
            )
        elif choice < 0.7 and self.projects:
            project = self.rng.choice(list(self.projects))
            self.request("task read", "GET", f"/api/v1/tasks/?project={project}&ordering=position", who="lead")
        else:
            who = self.rng.choice(list(self.users.keys() & {"lead", "mate"}))
            self.request("task read", "GET", "/api/v1/tasks/?page_size=50&ordering=-updated_at", who=who)

    def change_task(self) -> None:
        who = "lead" if self.rng.random() < 0.75 else "mate"
        candidates = self.mine(who) if who in self.users else []
        if not candidates:
            return
        task_id = self.rng.choice(candidates)
        choice = self.rng.random()
        if choice < 0.5:
            body = {"priority": self.rng.choice(["low", "medium", "high", "urgent"]), "description": uuid.uuid4().hex}
            self.request("task update", "PATCH", f"/api/v1/tasks/{task_id}", body, who=who)
        else:
            action = "complete" if choice < 0.75 else "reopen"
            self.request("task update", "POST", f"/api/v1/tasks/{task_id}/{action}", who=who)

    def comment(self) -> None:
        mate_projects = {pid for pid, state in self.projects.items() if state.mate_role is not None}
        in_projects = [tid for tid, task in self.tasks.items() if task.project is not None]
        if not in_projects:
            return
        task_id = self.rng.choice(in_projects)
        who = "mate" if self.tasks[task_id].project in mate_projects and self.rng.random() < 0.6 else "lead"
        body = {"body": f"Comment {uuid.uuid4().hex[:8]} from the {who}"}
        path = f"/api/v1/tasks/{task_id}/comments"
        # Not repeated after a kill (no client could know whether it landed); the count check covers it.
        self.request("comment", "POST", path, body, who=who, expect=(201,), retry=False)

    def move(self) -> None:
        if len(self.projects) < 2:
            return
        roots = [tid for tid, task in self.tasks.items() if task.project is not None and task.parent is None]
        if not roots:
            return
        task_id = self.rng.choice(roots)
        target = self.rng.choice([pid for pid in self.projects if pid != self.tasks[task_id].project])
        body = {"project": target, "parent": None, "after": None}
        if self.request("move", "POST", f"/api/v1/tasks/{task_id}/move", body, who="lead"):
            for task in self.tasks.values():
                if task.parent == task_id:
                    task.project = target
            self.tasks[task_id].project = target

    def bulk(self) -> None:
        personal = [tid for tid, task in self.tasks.items() if task.owner == "lead" and task.project is None]
        if not personal:
            return
        ids = self.rng.sample(personal, min(len(personal), self.rng.randint(1, 5)))
        action = self.rng.choice(["complete", "reopen", "update", "delete"])
        body: dict[str, Any] = {"action": action, "ids": ids}
        if action == "update":
            body["fields"] = {"priority": self.rng.choice(["low", "high"])}
        # A delete or restore sent again after it committed finds the tasks gone from where it looks: 404.
        gone = (404,) if action == "delete" else ()
        done = self.request("bulk", "POST", "/api/v1/tasks/bulk/", body, who="lead", after_kill=gone)
        if done and action == "delete":
            # From the trash back again: the tasks stay the team's to work on.
            restore = {"action": "restore", "ids": ids}
            self.request("bulk", "POST", "/api/v1/tasks/bulk/", restore, who="lead", after_kill=(404,))

    def export(self) -> None:
        who = self.rng.choice(list(self.users.keys() & {"lead", "mate"}))
        fmt = self.rng.choice(["csv", "json"])
        self.request("export", "GET", f"/api/v1/tasks/export/?format={fmt}", who=who)

    def sync(self, who: str | None = None, *, pages: int = 5, fresh: float = 0.15) -> bool:
        """Brings `who`'s local copy up to date (now and then from scratch, with a full sync); answers
        whether it got to the end (`has_more` false) within `pages`."""
        who = who or self.rng.choice(sorted(self.users.keys() & {"lead", "mate"}))
        replica = self.replicas.get(who)
        if replica is None or not replica.cursor or self.rng.random() < fresh:
            replica = self.replicas[who] = Replica()
        for _ in range(pages):
            query = f"?limit=200&cursor={quote(replica.cursor)}" if replica.cursor else "?limit=200"
            outcome = self.request("sync", "GET", f"/api/v1/sync{query}", who=who)
            if outcome is None:
                return False
            body = outcome.json()
            replica.apply(body)
            if not body["has_more"]:
                return True
        return False

    def listed(self, who: str, path: str) -> dict[int, Any] | None:
        """Every object of a list, page after page, by id."""
        objects: dict[int, Any] = {}
        page = 1
        while True:
            outcome = self.request("final read", "GET", f"{path}?page_size=100&page={page}", who=who)
            if outcome is None:
                return None
            body = outcome.json()
            objects.update({item["id"]: item for item in body["results"]})
            if not body["next"]:
                return objects
            page += 1

    def diverged(self) -> list[str]:
        """After the load: each user's local copy, synced once more, against what the lists show now."""
        problems = []
        for who, replica in self.replicas.items():
            if not self.sync(who, pages=100, fresh=0):
                problems.append(f"team {self.number} {who}: the last sync did not finish")
                continue
            replica = self.replicas[who]
            for name, kept, path in (
                ("tasks", replica.tasks, "/api/v1/tasks/"),
                ("projects", replica.projects, "/api/v1/projects/"),
            ):
                shown = self.listed(who, path)
                if shown is None:
                    problems.append(f"team {self.number} {who}: the {name} list did not answer")
                    continue
                extra, missing = sorted(kept.keys() - shown.keys()), sorted(shown.keys() - kept.keys())
                stale = sorted(i for i in kept.keys() & shown.keys() if kept[i] != shown[i])
                if extra or missing or stale:
                    problems.append(
                        f"team {self.number} {who} {name}: kept but not listed {extra[:5]}, listed but not kept "
                        f"{missing[:5]}, different {stale[:5]}"
                    )
        return problems

    def guest(self) -> None:
        if self.guests >= 3:
            return
        self.guests += 1
        if self.register(f"guest{self.guests}"):
            self.login(f"guest{self.guests}")

    # The loop -----------------------------------------------------------------------------------------

    def setup(self) -> bool:
        if self.register("lead") is None or self.register("mate") is None:
            return False
        self.create_project()
        self.create_project()
        return True

    def run(self) -> None:
        try:
            if not self.setup():
                return
            ops = [
                (self.read_tasks, 28),
                (self.create_task, 20),
                (self.change_task, 12),
                (self.comment, 7),
                (self.membership, 6),
                (self.refresh_someone, 6),
                (self.sync, 5),
                (self.move, 5),
                (self.bulk, 5),
                (self.export, 3),
                (self.login_someone, 2),
                (self.change_project, 2),
                (self.create_project_rarely, 1),
                (self.guest, 1),
            ]
            actions, weights = zip(*ops, strict=True)
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                self.verify_mate()
                self.rng.choices(actions, weights)[0]()
        except Exception as exc:  # a bug of the soak itself: it must show, not end the thread silently
            with self.recorder.lock:
                self.recorder.errors.append(f"team {self.number} stopped: {type(exc).__name__}: {exc}")
            raise

    def refresh_someone(self) -> None:
        self.refresh(self.rng.choice(list(self.users.keys() & {"lead", "mate"})))

    def login_someone(self) -> None:
        self.login(self.rng.choice(list(self.users.keys() & {"lead", "mate"})))

    def create_project_rarely(self) -> None:
        if len(self.projects) < 4:
            self.create_project()
