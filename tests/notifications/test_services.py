"""notify / send_raw: validation, rendering and the transaction they write in (SPEC X-2)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kabinet.core.errors import ValidationFailed
from kabinet.notifications.models import Message, Status
from kabinet.notifications.services import notify, send_raw
from kabinet.notifications.tasks import deliver

pytestmark = pytest.mark.django_db


def test_notify_stores_a_queued_message_and_its_delivery_job():
    message = notify(
        channel="sms", to="+79161234567", template="otp_code", context={"code": "1234"}
    )

    message.refresh_from_db()
    assert message.status == Status.QUEUED
    assert message.to == "+79161234567"
    assert message.body == "Код подтверждения: 1234. Никому не сообщайте его."
    assert message.subject == ""
    assert message.template == "otp_code"
    assert message.language == "ru"
    assert message.purpose == "transactional"
    assert message.attempts == 0
    job = DBTaskResult.objects.get()
    assert job.task_path == deliver.module_path
    assert job.args_kwargs == {"args": [message.pk], "kwargs": {}}
    assert job.status == TaskResultStatus.READY


def test_notify_writes_in_the_callers_transaction_so_a_rollback_leaves_nothing():
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(channel="sms", to="+79161234567", template="otp_code", context={"code": "1234"})
        assert Message.objects.count() == 1
        assert DBTaskResult.objects.count() == 1
        raise RuntimeError("the caller's change failed")

    assert Message.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


def test_notify_commits_message_and_job_with_the_callers_change():
    with transaction.atomic():
        message = notify(
            channel="email", to="Anna@Example.RU", template="otp_code", context={"code": "4821"}
        )

    assert Message.objects.get().pk == message.pk
    assert DBTaskResult.objects.get().args_kwargs["args"] == [message.pk]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("9161234567", "+79161234567"),
        ("89161234567", "+79161234567"),
        ("+7 (916) 123-45-67", "+79161234567"),
        ("7 916 123 45 67", "+79161234567"),
    ],
)
def test_phones_are_stored_in_e164(typed, stored):
    message = notify(channel="sms", to=typed, template="otp_code", context={"code": "1234"})
    assert message.to == stored


def test_email_domain_is_lowercased_and_the_local_part_kept():
    message = notify(
        channel="email", to=" Anna@Example.RU ", template="otp_code", context={"code": "1"}
    )
    assert message.to == "Anna@example.ru"


def test_a_voice_call_may_ring_a_landline_but_an_sms_may_not():
    landline = "+74951234567"
    assert (
        notify(channel="voice", to=landline, template="otp_code", context={"code": "1"}).to
        == landline
    )
    with pytest.raises(ValidationFailed):
        notify(channel="sms", to=landline, template="otp_code", context={"code": "1"})


@pytest.mark.parametrize(
    ("channel", "to", "field", "text"),
    [
        ("email", "not-an-address", "to", "адрес электронной почты"),
        ("sms", "12345", "to", "номер телефона"),
        ("voice", "", "to", "номер телефона"),
        ("push", "short token", "to", "токен"),
        ("fax", "+79161234567", "channel", "канал"),
    ],
)
def test_invalid_recipients_are_refused_naming_the_field(channel, to, field, text):
    with pytest.raises(ValidationFailed) as caught:
        notify(channel=channel, to=to, template="generic", context={"text": "Привет"})

    assert caught.value.field == field
    assert caught.value.code == "validation_error"
    assert text in caught.value.message
    assert Message.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


def test_unknown_purpose_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        notify(
            channel="sms",
            to="+79161234567",
            template="generic",
            context={"text": "x"},
            purpose="spam",
        )
    assert caught.value.field == "purpose"


def test_notify_keeps_the_purpose_for_later_filtering():
    message = notify(
        channel="sms",
        to="+79161234567",
        template="generic",
        context={"text": "Скидка 10% на всё"},
        purpose="marketing",
    )
    assert Message.objects.filter(purpose="marketing").get() == message


def test_send_raw_queues_a_written_message():
    message = send_raw(
        channel="email", to="anna@example.ru", subject="Заказ собран", body="Ваш заказ №17 собран."
    )

    message.refresh_from_db()
    assert (message.subject, message.body, message.template) == (
        "Заказ собран",
        "Ваш заказ №17 собран.",
        "",
    )
    assert DBTaskResult.objects.get().args_kwargs["args"] == [message.pk]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channel": "sms", "body": "  "}, "body"),
        ({"channel": "email", "subject": "", "body": "Текст"}, "subject"),
        ({"channel": "email", "subject": "Тема\nBcc: x@y.ru", "body": "Текст"}, "subject"),
    ],
)
def test_send_raw_refuses_empty_text_and_bad_subjects(kwargs, field):
    to = "anna@example.ru" if kwargs["channel"] == "email" else "+79161234567"
    with pytest.raises(ValidationFailed) as caught:
        send_raw(to=to, **kwargs)
    assert caught.value.field == field
    assert Message.objects.count() == 0


def test_a_template_without_its_required_context_is_a_programming_error():
    with pytest.raises(ValueError, match="code"):
        notify(channel="sms", to="+79161234567", template="otp_code", context={})
    assert Message.objects.count() == 0
