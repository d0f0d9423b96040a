from django.apps import AppConfig
from django_tasks_db.apps import TasksAppConfig


class JobsConfig(AppConfig):
    default = True  # this module holds two configs; "config.jobs" in INSTALLED_APPS means this one
    default_auto_field = "django.db.models.BigAutoField"
    name = "config.jobs"
    label = "jobs"
    verbose_name = "Background workers"


class QueueConfig(TasksAppConfig):
    """django-tasks-db's app (the queue table), named for staff: in Taskdesk "tasks" are to-dos."""

    verbose_name = "Background jobs"

    def ready(self) -> None:
        super().ready()
        from django_tasks_db.models import DBTaskResult

        DBTaskResult._meta.verbose_name = "job"
        DBTaskResult._meta.verbose_name_plural = "jobs"
