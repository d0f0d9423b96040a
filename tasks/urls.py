from django.urls import re_path

from tasks.views import comments, notifications, projects, sync
from tasks.views import tasks as views

# Every route answers with or without a trailing slash. Ids are 1 to 19 digits: anything longer is the
# catch-all 404, and the services answer 404 for the few 19-digit numbers past a bigint.
TASK = r"(?P<id>[0-9]{1,19})"
PROJECT = TASK
INVITATION = r"(?P<invitation_id>[0-9]{1,19})"
COMMENT = r"(?P<comment_id>[0-9]{1,19})"
# A malformed user id is the member view's 404 (not the catch-all's), like an unknown one.
MEMBER = r"(?P<user_id>[^/]{1,64})"

# The busiest first (the list, one task, the sync poll): Django tries the patterns in order.
urlpatterns = [
    re_path(r"^tasks/?$", views.TaskListView.as_view(), name="task-list"),
    re_path(rf"^tasks/{TASK}/?$", views.TaskDetailView.as_view(), name="task-detail"),
    re_path(r"^sync/?$", sync.SyncView.as_view(), name="sync"),
    re_path(r"^tasks/trash/?$", views.TrashListView.as_view(), name="task-trash"),
    re_path(r"^tasks/bulk/?$", views.BulkView.as_view(), name="task-bulk"),
    re_path(r"^tasks/export/?$", views.ExportView.as_view(), name="task-export"),
    re_path(r"^tasks/stats/?$", views.StatsView.as_view(), name="task-stats"),
    re_path(rf"^tasks/{TASK}/complete/?$", views.TaskCompleteView.as_view(), name="task-complete"),
    re_path(rf"^tasks/{TASK}/reopen/?$", views.TaskReopenView.as_view(), name="task-reopen"),
    re_path(rf"^tasks/{TASK}/restore/?$", views.TaskRestoreView.as_view(), name="task-restore"),
    re_path(rf"^tasks/{TASK}/move/?$", views.TaskMoveView.as_view(), name="task-move"),
    re_path(r"^projects/?$", projects.ProjectListView.as_view(), name="project-list"),
    re_path(rf"^projects/{PROJECT}/?$", projects.ProjectDetailView.as_view(), name="project-detail"),
    re_path(rf"^projects/{PROJECT}/members/?$", projects.MemberListView.as_view(), name="project-members"),
    re_path(rf"^projects/{PROJECT}/members/{MEMBER}/?$", projects.MemberDetailView.as_view(), name="project-member"),
    re_path(
        rf"^projects/{PROJECT}/invitations/?$",
        projects.ProjectInvitationListView.as_view(),
        name="project-invitations",
    ),
    re_path(
        rf"^projects/{PROJECT}/invitations/{INVITATION}/?$",
        projects.ProjectInvitationDetailView.as_view(),
        name="project-invitation",
    ),
    re_path(r"^notifications/?$", notifications.NotificationListView.as_view(), name="notification-list"),
    re_path(
        r"^notifications/read-all/?$", notifications.NotificationReadAllView.as_view(), name="notification-read-all"
    ),
    re_path(rf"^notifications/{TASK}/read/?$", notifications.NotificationReadView.as_view(), name="notification-read"),
    re_path(r"^invitations/?$", projects.InvitationListView.as_view(), name="invitation-list"),
    re_path(rf"^invitations/{INVITATION}/accept/?$", projects.InvitationAcceptView.as_view(), name="invitation-accept"),
    re_path(
        rf"^invitations/{INVITATION}/decline/?$", projects.InvitationDeclineView.as_view(), name="invitation-decline"
    ),
    re_path(rf"^tasks/{TASK}/comments/?$", comments.CommentListView.as_view(), name="task-comments"),
    re_path(rf"^tasks/{TASK}/comments/{COMMENT}/?$", comments.CommentDetailView.as_view(), name="task-comment"),
]
