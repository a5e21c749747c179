"""Back office: messages read-only, "retry now" audited, delivery jobs visible."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kabinet.core.models import AuditEntry
from kabinet.notifications.models import Message, Status
from kabinet.notifications.services import notify
from kabinet.notifications.testing import run_pending_jobs

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/notifications/message/"


def failed_message(notify_settings, phone: str = "+79161234567") -> Message:
    """A message that was given up: the gateway is misconfigured and one attempt is allowed."""
    notify_settings(MAX_ATTEMPTS=1, SMS_GATEWAY="nowhere")
    message = notify(channel="sms", to=phone, template="otp_code", context={"code": "1234"})
    run_pending_jobs()
    message.refresh_from_db()
    assert message.status == Status.FAILED
    return message


def test_message_changelist_opens_with_filters_and_search(admin_client):
    notify(channel="sms", to="+79161234567", template="otp_code", context={"code": "1234"})
    notify(channel="email", to="anna@example.ru", template="otp_code", context={"code": "5678"})

    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "+79161234567" in page
    assert "anna@example.ru" in page

    by_channel = admin_client.get(CHANGELIST, {"channel__exact": "email"}).content.decode()
    assert "anna@example.ru" in by_channel
    assert "+79161234567" not in by_channel


def test_search_finds_a_phone_typed_in_any_form(admin_client):
    notify(channel="sms", to="+79161234567", template="otp_code", context={"code": "1234"})
    notify(channel="sms", to="+79031112233", template="otp_code", context={"code": "5678"})

    page = admin_client.get(CHANGELIST, {"q": "8 916 123-45-67"}).content.decode()

    assert "+79161234567" in page
    assert "+79031112233" not in page


def test_messages_are_read_only(admin_client):
    message = notify(channel="sms", to="+79161234567", template="otp_code", context={"code": "1"})

    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    page = admin_client.get(f"{CHANGELIST}{message.pk}/change/")
    assert page.status_code == 200
    assert 'name="body"' not in page.content.decode()  # no editable field
    assert admin_client.post(f"{CHANGELIST}{message.pk}/delete/").status_code == 403
    assert Message.objects.count() == 1


def test_message_page_links_its_delivery_jobs(admin_client):
    message = notify(channel="sms", to="+79161234567", template="otp_code", context={"code": "1"})
    job = DBTaskResult.objects.get()

    page = admin_client.get(f"{CHANGELIST}{message.pk}/change/").content.decode()

    assert f"/admin/django_tasks_database/dbtaskresult/{job.pk}/change/" in page


def test_retry_now_requeues_failed_messages_and_is_audited(
    admin_client, admin_user, notify_settings
):
    failed = failed_message(notify_settings)
    sent = notify(channel="email", to="anna@example.ru", template="otp_code", context={"code": "2"})
    notify_settings(SMS_GATEWAY="outbox")
    run_pending_jobs()

    response = admin_client.post(
        CHANGELIST,
        {"action": "retry_now", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Поставлено в очередь на доставку сообщений: 1." in page
    assert "Пропущено сообщений (повторить можно только недоставленные): 1." in page
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.QUEUED, 0)
    entry = AuditEntry.objects.get(action="notifications.message.retry")
    assert entry.actor == admin_user
    assert (entry.object_type, entry.object_id) == ("notifications.message", str(failed.pk))
    assert entry.data["attempts"] == 1
    assert "nowhere" in entry.data["last_error"]

    run_pending_jobs()
    failed.refresh_from_db()
    assert failed.status == Status.SENT


def test_retry_now_needs_the_retry_permission(client, django_user_model, notify_settings):
    from django.contrib.auth.models import Permission

    failed = failed_message(notify_settings)
    staff = django_user_model.objects.create_user(username="viewer", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_message"))
    client.force_login(staff)

    page = client.get(CHANGELIST).content.decode()
    assert 'value="retry_now"' not in page
    client.post(CHANGELIST, {"action": "retry_now", "_selected_action": [failed.pk]})

    failed.refresh_from_db()
    assert failed.status == Status.FAILED
    assert not AuditEntry.objects.exists()


def test_failed_and_waiting_jobs_are_visible_in_the_task_results_admin(
    admin_client, notify_settings
):
    failed_message(notify_settings)  # its one job crashed on the misconfigured gateway
    waiting = notify(
        channel="email", to="anna@example.ru", template="otp_code", context={"code": "2"}
    )
    crashed_job = DBTaskResult.objects.get(status=TaskResultStatus.FAILED)
    waiting_job = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert admin.site.is_registered(DBTaskResult)
    changelist = "/admin/django_tasks_database/dbtaskresult/"

    failed_page = admin_client.get(changelist, {"status__exact": "FAILED"}).content.decode()
    ready_page = admin_client.get(changelist, {"status__exact": "READY"}).content.decode()

    assert str(crashed_job.pk) in failed_page
    assert str(waiting_job.pk) not in failed_page
    assert str(waiting_job.pk) in ready_page
    assert waiting_job.args_kwargs["args"] == [waiting.pk]
    detail = admin_client.get(f"{changelist}{crashed_job.pk}/change/").content.decode()
    assert "ImproperlyConfigured" in detail
