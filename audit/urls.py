from django.urls import re_path

from audit import views

# Read-only, with or without a trailing slash. Ids are bounded so a huge number is a 404, not an overflow.
urlpatterns = [
    re_path(r"^audit/events/?$", views.EventListView.as_view(), name="audit-event-list"),
    re_path(r"^audit/events/(?P<pk>[0-9]{1,18})/?$", views.EventDetailView.as_view(), name="audit-event-detail"),
]
