"""«Стать клиентом» (SPEC P-LEAD-1) and the managers' queue (P-LEAD-2)."""

import pytest
from django.urls import reverse

from kabinet.core.errors import Conflict
from kabinet.core.models import AuditEntry
from kabinet.pharma import services
from kabinet.pharma.models import Lead, LeadStatus
from tests.pharma.conftest import emails_to

URL = "/pharma/become-client/"


def lead_data(city, **overrides):
    data = {
        "representative_name": "  Ольга   Петрова ",
        "organisation_name": "ООО «Ромашка»",
        "email": "zakupki@romashka-apteka.ru",
        "phone": "8 (495) 123-45-67",
        "city_0": city.name_ru,
        "city_1": str(city.pk),
        "activity_type": "pharmacy",
        "consent": "on",
        "website": "",
    }
    data.update(overrides)
    return data


def test_the_home_page_leads_to_the_form(client, db):
    response = client.get("/pharma/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Аптекам" in html
    assert f'href="{URL}">Стать клиентом</a>' in html


def test_a_valid_lead_is_stored_and_confirmed(client, moscow):
    response = client.post(URL, lead_data(moscow), REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 302
    assert response["Location"] == reverse("pharma:lead-sent")
    lead = Lead.objects.get()
    assert lead.representative_name == "Ольга Петрова"
    assert lead.organisation_name == "ООО «Ромашка»"
    assert lead.email == "zakupki@romashka-apteka.ru"
    assert lead.phone == "+74951234567"
    assert lead.city == moscow
    assert lead.activity_type == "pharmacy"
    assert lead.status == LeadStatus.NEW
    assert lead.free_email is False
    assert lead.client_ip == "10.0.0.7"
    [mail] = emails_to("zakupki@romashka-apteka.ru")
    assert mail.subject == "Заявка «Стать клиентом» получена"
    assert "ООО «Ромашка»" in mail.body
    page = client.get(response["Location"])
    assert "Заявка отправлена" in page.content.decode()


def test_invalid_lead_gets_messages_and_nothing_is_stored(client, moscow):
    response = client.post(
        URL,
        lead_data(
            moscow,
            email="не почта",
            phone="12",
            city_0="Нетакогограда",
            city_1="",
            activity_type="",
            consent="",
        ),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["email"] == ["Введите адрес электронной почты, например info@apteka.ru."]
    assert errors["phone"] == [
        "Введите номер телефона с кодом города или оператора, например +7 495 967-69-40."
    ]
    assert errors["city"] == ["Выберите город из списка."]
    assert errors["activity_type"] == ["Обязательное поле."]
    assert errors["consent"] == ["Без согласия на обработку данных заявку не отправить."]
    assert Lead.objects.count() == 0


def test_free_mail_is_a_warning_not_a_refusal(client, moscow):
    data = lead_data(moscow, email="romashka@mail.ru")
    first = client.post(URL, data)
    assert first.status_code == 200
    assert "Адрес на бесплатном почтовом сервисе" in first.content.decode()
    assert Lead.objects.count() == 0
    # The re-rendered form carries the acknowledgement; pressing again sends the lead.
    assert first.context["form"]["free_email_ack"].value() in (True, "True")
    second = client.post(URL, {**data, "free_email_ack": "True"})
    assert second.status_code == 302
    lead = Lead.objects.get()
    assert lead.email == "romashka@mail.ru"
    assert lead.free_email is True


def test_honeypot_pretends_success_and_stores_nothing(client, moscow):
    response = client.post(URL, lead_data(moscow, website="http://spam.example"))
    assert response.status_code == 302
    assert response["Location"] == reverse("pharma:lead-sent")
    assert Lead.objects.count() == 0
    assert emails_to("zakupki@romashka-apteka.ru") == []


def test_sixth_lead_from_one_address_within_an_hour_is_refused(client, moscow):
    for n in range(5):
        response = client.post(
            URL, lead_data(moscow, email=f"z{n}@romashka-apteka.ru"), REMOTE_ADDR="10.0.0.9"
        )
        assert response.status_code == 302
    refused = client.post(
        URL, lead_data(moscow, email="z5@romashka-apteka.ru"), REMOTE_ADDR="10.0.0.9"
    )
    assert refused.status_code == 429
    assert "Слишком много заявок с вашего адреса. Попробуйте через" in refused.content.decode()
    assert Lead.objects.count() == 5
    other = client.post(
        URL, lead_data(moscow, email="z6@romashka-apteka.ru"), REMOTE_ADDR="10.0.0.10"
    )
    assert other.status_code == 302
    assert Lead.objects.count() == 6


def _lead(moscow) -> Lead:
    return services.submit_lead(
        representative_name="Ольга Петрова",
        organisation_name="ООО «Ромашка»",
        email="zakupki@romashka-apteka.ru",
        phone="+74951234567",
        city=moscow,
        activity_type="pharmacy",
        client_ip="10.0.0.1",
    )


def test_take_then_approve_emails_the_applicant_and_audits(moscow, manager):
    lead = _lead(moscow)
    services.take_lead(lead_id=lead.pk, actor=manager, ip="10.1.1.1")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.IN_PROGRESS
    assert lead.assigned_to == manager
    services.decide_lead(lead_id=lead.pk, approve=True, actor=manager, note="Договор готовим")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.APPROVED
    assert lead.notes == "Договор готовим"
    assert lead.decided_at is not None
    mails = emails_to("zakupki@romashka-apteka.ru")
    assert [m.subject for m in mails] == [
        "Заявка «Стать клиентом» получена",
        "Заявка одобрена: зарегистрируйтесь в личном кабинете",
    ]
    assert "http://127.0.0.1:8000/pharma/register/" in mails[1].body
    actions = list(
        AuditEntry.objects.filter(object_id=str(lead.pk))
        .order_by("id")
        .values_list("action", "actor_label", "reason")
    )
    assert actions == [
        ("pharma.lead.take", "manager", ""),
        ("pharma.lead.approve", "manager", "Договор готовим"),
    ]


def test_reject_emails_the_applicant_and_a_second_decision_is_refused(moscow, manager):
    lead = _lead(moscow)
    services.decide_lead(lead_id=lead.pk, approve=False, actor=manager)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.REJECTED
    assert lead.assigned_to == manager
    assert emails_to(lead.email)[-1].subject == "Решение по заявке «Стать клиентом»"
    with pytest.raises(Conflict):
        services.decide_lead(lead_id=lead.pk, approve=True, actor=manager)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.REJECTED
    assert len(emails_to(lead.email)) == 2
    assert AuditEntry.objects.filter(action__startswith="pharma.lead").count() == 1


def test_admin_change_form_buttons_decide(client, moscow, manager):
    lead = _lead(moscow)
    client.force_login(manager)
    url = reverse("admin:pharma_lead_change", args=[lead.pk])
    page = client.get(url)
    assert "Одобрить и сообщить заявителю" in page.content.decode()
    response = client.post(
        url, {"assigned_to": str(manager.pk), "notes": "Позвонила, ждут договор", "_approve": "1"}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.APPROVED
    assert lead.notes == "Позвонила, ждут договор"
    assert (
        AuditEntry.objects.filter(action="pharma.lead.approve", object_id=str(lead.pk)).count() == 1
    )


def test_admin_action_takes_leads(client, moscow, manager):
    lead = _lead(moscow)
    client.force_login(manager)
    response = client.post(
        reverse("admin:pharma_lead_changelist"),
        {"action": "take", "_selected_action": [str(lead.pk)]},
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.IN_PROGRESS
    assert lead.assigned_to == manager
