"""Development outbox routes, included under `dev/` only while KABINET_OUTBOX is on."""

from django.urls import path

from kabinet.notifications import views

urlpatterns = [
    path("outbox/", views.outbox_page, name="outbox"),
    path("outbox.json", views.outbox_json, name="outbox-json"),
]
