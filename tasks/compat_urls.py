"""`/api/{user_id}/tasks/...`: the task API for SPAs built on user-scoped URLs (403 unless user_id is the caller)."""

from django.urls import re_path

from tasks.urls import TASK
from tasks.views import tasks as views

USER = r"(?P<user_id>[^/]+)"

urlpatterns = [
    re_path(rf"^{USER}/tasks/?$", views.CompatTaskListView.as_view(), name="compat-task-list"),
    re_path(rf"^{USER}/tasks/{TASK}/?$", views.CompatTaskDetailView.as_view(), name="compat-task-detail"),
    re_path(rf"^{USER}/tasks/{TASK}/complete/?$", views.CompatTaskCompleteView.as_view(), name="compat-task-complete"),
]
