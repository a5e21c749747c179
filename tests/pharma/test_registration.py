"""Registration (SPEC P-REG-1, P-REG-2) and verification by a manager (P-REG-3, P-REG-4)."""

from datetime import date

import pytest
from django.urls import reverse

from kabinet.accounts.models import User
from kabinet.core.errors import Conflict, ValidationFailed
from kabinet.core.models import AuditEntry
from kabinet.pharma import services
from kabinet.pharma.models import (
    DeliveryAddress,
    Organisation,
    OrganisationStatus,
    PartnerUser,
    Registration,
    RegistrationStatus,
)
from tests.pharma.conftest import PASSWORD, emails_to, link_from, path_of

URL = "/pharma/register/"


def reg_data(city, **overrides):
    data = {
        "username": "romashka",
        "full_name": "Ольга Петрова",
        "email": "olga@romashka-apteka.ru",
        "phone": "+7 916 123-45-67",
        "city_0": city.name_ru,
        "city_1": str(city.pk),
        "inn": "7707083893",
        "kpp": "773601001",
        "ogrn": "1027700132195",
        "organisation_name": "ООО «Ромашка»",
        "delivery_address": "ул. Ленина, д. 5",
        "authorities": ["catalog", "order", "manage"],
    }
    data.update(overrides)
    return data


def test_login_page_offers_registration(client, db):
    html = client.get("/pharma/login/").content.decode()
    assert f'href="{URL}">Зарегистрироваться</a>' in html
    assert "Забыли пароль" in html


def test_registration_creates_an_inactive_user_and_says_access_after_check(client, moscow):
    response = client.post(URL, reg_data(moscow))
    assert response.status_code == 302
    assert response["Location"] == "/pharma/register/sent/"
    page = client.get(response["Location"]).content.decode()
    assert "Доступ к личному кабинету будет предоставлен после проверки указанных данных" in page
    assert "Обычно на это требуется не более суток" in page
    registration = Registration.objects.get()
    user = registration.user
    assert (user.username, user.email, user.first_name) == (
        "romashka",
        "olga@romashka-apteka.ru",
        "Ольга Петрова",
    )
    assert user.is_active is False
    assert user.has_usable_password() is False
    assert registration.phone == "+79161234567"
    assert registration.city == moscow
    assert (registration.inn, registration.kpp, registration.ogrn) == (
        "7707083893",
        "773601001",
        "1027700132195",
    )
    assert registration.requested_authorities == ["catalog", "order", "manage"]
    assert registration.status == RegistrationStatus.PENDING


def test_sole_proprietor_registers_with_ogrnip_and_no_kpp(client, moscow):
    data = reg_data(moscow, inn="500100732259", kpp="", ogrn="304500116000157")
    assert client.post(URL, data).status_code == 302
    registration = Registration.objects.get()
    assert (registration.inn, registration.kpp, registration.ogrn) == (
        "500100732259",
        "",
        "304500116000157",
    )


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"inn": "7707083894"},
            "inn",
            "Неверное контрольное число ИНН: в номере опечатка. Сверьте его со свидетельством.",
        ),
        (
            {"inn": "770708389"},
            "inn",
            "ИНН организации состоит из 10 цифр, ИНН индивидуального "
            "предпринимателя — из 12; введено цифр: 9.",
        ),
        ({"kpp": ""}, "kpp", "Укажите КПП: он есть у каждой организации."),
        ({"kpp": "7736010"}, "kpp", "КПП состоит из 9 знаков; введено: 7."),
        ({"ogrn": "1027700132196"}, "ogrn", "Неверная контрольная цифра ОГРН: в номере опечатка."),
        ({"ogrn": "304500116000157"}, "ogrn", "У организации ОГРН из 13 цифр, а не ОГРНИП из 15."),
        (
            {"inn": "500100732259", "kpp": "773601001", "ogrn": "304500116000157"},
            "kpp",
            "У индивидуального предпринимателя нет КПП: оставьте поле пустым.",
        ),
        (
            {"inn": "500100732259", "kpp": "", "ogrn": "304500116000158"},
            "ogrn",
            "Неверная контрольная цифра ОГРНИП: в номере опечатка.",
        ),
        ({"city_0": "Атлантида", "city_1": ""}, "city", "Выберите город из списка."),
        ({"city_0": "", "city_1": ""}, "city", "Укажите город."),
        ({"authorities": []}, "authorities", "Отметьте хотя бы одно полномочие."),
        ({"username": "ro mashka"}, "username", None),
    ],
)
def test_bad_input_gets_precise_russian_messages(client, moscow, overrides, field, message):
    response = client.post(URL, reg_data(moscow, **overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    if message is None:
        assert field in errors
    else:
        assert errors[field] == [message]
    assert Registration.objects.count() == 0
    assert User.objects.filter(username="romashka").count() == 0


def test_duplicate_login_and_email_are_refused(client, moscow):
    User.objects.create_user(username="Romashka", email="OLGA@romashka-apteka.ru")
    response = client.post(URL, reg_data(moscow))
    errors = response.context["form"].errors
    assert errors["username"] == ["Логин «romashka» уже занят. Выберите другой."]
    assert errors["email"] == [
        "Пользователь с таким e-mail уже зарегистрирован. Если это вы, войдите или "
        "воспользуйтесь ссылкой «Забыли пароль»."
    ]
    assert Registration.objects.count() == 0


def test_inn_of_an_organisation_already_in_the_cabinet_is_refused(client, moscow, pharmacy):
    response = client.post(URL, reg_data(moscow, inn=pharmacy.organisation.inn))
    assert response.context["form"].errors["inn"] == [
        "ИНН 7707083893 уже зарегистрирован за организацией «ООО «Здоровье»». Сотрудников в "
        "кабинет добавляет администратор организации: попросите его прислать вам приглашение."
    ]
    assert Registration.objects.count() == 0


def test_inn_with_a_pending_registration_is_refused(client, moscow):
    assert client.post(URL, reg_data(moscow)).status_code == 302
    second = client.post(
        URL, reg_data(moscow, username="romashka2", email="two@romashka-apteka.ru")
    )
    assert second.context["form"].errors["inn"] == [
        "Регистрация организации с ИНН 7707083893 уже подана и ожидает проверки менеджером."
    ]
    assert Registration.objects.count() == 1


def _register(moscow) -> Registration:
    return services.register_partner(
        username="romashka",
        email="olga@romashka-apteka.ru",
        phone="+79161234567",
        city=moscow,
        inn="7707083893",
        kpp="773601001",
        ogrn="1027700132195",
        organisation_name="ООО «Ромашка»",
        delivery_address="ул. Ленина, д. 5",
        authorities=["catalog", "order", "manage"],
        full_name="Ольга",
    )


def test_verification_creates_the_organisation_grants_and_emails_a_link(client, moscow, manager):
    registration = _register(moscow)
    services.verify_registration(
        registration_id=registration.pk,
        actor=manager,
        approve=True,
        granted=["catalog", "manage"],
        contract_number="ФД-77/2026",
        contract_date=date(2026, 3, 1),
        ip="10.2.2.2",
    )
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.APPROVED
    assert registration.granted_authorities == ["catalog", "manage"]
    org = Organisation.objects.get(inn="7707083893")
    assert (org.name, org.kpp, org.ogrn, org.status) == (
        "ООО «Ромашка»",
        "773601001",
        "1027700132195",
        OrganisationStatus.ACTIVE,
    )
    assert (org.contract_number, org.contract_date) == ("ФД-77/2026", date(2026, 3, 1))
    partner = PartnerUser.objects.get(user=registration.user)
    assert partner.organisation == org
    assert partner.authorities == ["catalog", "manage"]
    assert partner.phone == "+79161234567"
    assert list(
        DeliveryAddress.objects.filter(organisation=org).values_list("city", "address")
    ) == [(moscow.pk, "ул. Ленина, д. 5")]
    registration.user.refresh_from_db()
    assert registration.user.is_active is True

    [mail] = emails_to("olga@romashka-apteka.ru")
    assert mail.subject == "Доступ к личному кабинету партнёра открыт"
    assert "Ваш логин: romashka." in mail.body
    assert "— Просмотр каталога и цен\n— Управление пользователями и адресами" in mail.body
    assert "Не предоставлены:\n— Оформление заказов" in mail.body
    assert PASSWORD not in mail.body

    entry = AuditEntry.objects.get(action="pharma.registration.approve")
    assert entry.actor == manager
    assert entry.object_id == str(registration.pk)
    assert entry.data["granted"] == ["catalog", "manage"]
    assert entry.data["requested"] == ["catalog", "order", "manage"]
    assert entry.ip == "10.2.2.2"

    # The link sets the first password, then the partner signs in.
    link = path_of(link_from(mail.body))
    token = link.split("token=")[1]
    response = client.post(
        "/pharma/password/set/", {"token": token, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    signed = client.post("/pharma/login/", {"username": "romashka", "password": PASSWORD})
    assert signed.status_code == 302
    assert signed["Location"] == "/pharma/cabinet/"


def test_verification_links_to_an_organisation_found_by_inn(moscow, manager):
    existing = Organisation.objects.create(
        name="ПАО «Ромашка»",
        inn="7707083893",
        kpp="773601001",
        contract_number="Д-5",
        contract_date=date(2025, 12, 1),
    )
    registration = _register(moscow)
    services.verify_registration(
        registration_id=registration.pk, actor=manager, approve=True, granted=["catalog"]
    )
    partner = PartnerUser.objects.get(user=registration.user)
    assert partner.organisation_id == existing.pk
    existing.refresh_from_db()
    assert existing.name == "ПАО «Ромашка»"
    assert (existing.contract_number, existing.status) == ("Д-5", OrganisationStatus.ACTIVE)
    assert Organisation.objects.count() == 1


def test_refusal_emails_the_reason_and_grants_nothing(moscow, manager):
    registration = _register(moscow)
    with pytest.raises(ValidationFailed):
        services.verify_registration(registration_id=registration.pk, actor=manager, approve=False)
    services.verify_registration(
        registration_id=registration.pk,
        actor=manager,
        approve=False,
        reason="Договор с организацией не заключён.",
    )
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.REFUSED
    assert registration.refusal_reason == "Договор с организацией не заключён."
    assert PartnerUser.objects.count() == 0
    assert Organisation.objects.count() == 0
    registration.user.refresh_from_db()
    assert registration.user.is_active is False
    [mail] = emails_to("olga@romashka-apteka.ru")
    assert mail.subject == "В доступе к личному кабинету партнёра отказано"
    assert "Причина: Договор с организацией не заключён." in mail.body
    assert AuditEntry.objects.get(action="pharma.registration.refuse").reason == (
        "Договор с организацией не заключён."
    )


def test_approval_needs_a_contract_and_only_requested_authorities(moscow, manager):
    registration = _register(moscow)
    with pytest.raises(ValidationFailed) as exc:
        services.verify_registration(
            registration_id=registration.pk, actor=manager, approve=True, granted=["catalog"]
        )
    assert exc.value.message == (
        "Укажите номер и дату договора: доступ получают только организации с договором."
    )
    with pytest.raises(ValidationFailed) as exc:
        services.verify_registration(
            registration_id=registration.pk,
            actor=manager,
            approve=True,
            granted=["pay"],
            contract_number="1",
            contract_date=date(2026, 1, 1),
        )
    assert exc.value.message == "Можно предоставить только запрошенные полномочия."
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.PENDING
    assert Organisation.objects.count() == 0
    assert emails_to("olga@romashka-apteka.ru") == []
    assert AuditEntry.objects.count() == 0


def test_a_decided_registration_cannot_be_decided_again(moscow, manager):
    registration = _register(moscow)
    services.verify_registration(
        registration_id=registration.pk, actor=manager, approve=False, reason="Нет договора."
    )
    with pytest.raises(Conflict):
        services.verify_registration(
            registration_id=registration.pk,
            actor=manager,
            approve=True,
            granted=["catalog"],
            contract_number="1",
            contract_date=date(2026, 1, 1),
        )
    assert PartnerUser.objects.count() == 0


def test_admin_verify_page(client, moscow, manager):
    registration = _register(moscow)
    client.force_login(manager)
    url = reverse("admin:pharma_registration_verify", args=[registration.pk])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "не найдена — будет создана при предоставлении доступа" in html
    response = client.post(
        url,
        {
            "decision": "approve",
            "contract_number": "ФД-9",
            "contract_date": "2026-03-01",
            "granted": ["catalog", "order"],
        },
    )
    assert response.status_code == 302
    partner = PartnerUser.objects.get(user=registration.user)
    assert partner.authorities == ["catalog", "order"]


def test_verify_page_is_for_staff_only(client, moscow, other_pharmacy):
    registration = _register(moscow)
    client.force_login(other_pharmacy.admin.user)
    url = reverse("admin:pharma_registration_verify", args=[registration.pk])
    response = client.post(url, {"decision": "approve", "granted": ["catalog"]})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.PENDING


def test_eleventh_registration_from_one_address_within_an_hour_is_refused(client, moscow):
    from kabinet.pharma.identifiers import inn_check_digits

    for n in range(10):
        body = f"77010000{n}"
        data = reg_data(
            moscow,
            username=f"user{n}",
            email=f"u{n}@romashka-apteka.ru",
            inn=body + inn_check_digits(body),
        )
        assert client.post(URL, data, REMOTE_ADDR="10.3.3.3").status_code == 302
    body = "770100010"
    refused = client.post(
        URL,
        reg_data(
            moscow,
            username="user10",
            email="u10@romashka-apteka.ru",
            inn=body + inn_check_digits(body),
        ),
        REMOTE_ADDR="10.3.3.3",
    )
    assert refused.status_code == 429
    assert (
        refused.context["form"]
        .non_field_errors()[0]
        .startswith("Слишком много регистраций с вашего адреса. Попробуйте через")
    )
    assert Registration.objects.count() == 10
    assert not User.objects.filter(username="user10").exists()
