"""The member pages over HTTP: the registration wizard, sign-in, code pages, access."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from kabinet.loyalty.models import CardState, KnownDevice
from kabinet.loyalty.web.views import DEVICE_COOKIE, WIZARD
from tests.accounts.helpers import last_code, other_code, sms_to
from tests.loyalty.factories import StaffFactory
from tests.loyalty.members.conftest import PASSWORD, PHONE, issued_card, register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]
User = get_user_model()


def step(client: Client, name: str, data: dict) -> object:
    return client.post(f"/registration/{name}/", data)


def walk_wizard(client: Client, card_number: str | None, *, phone: str = "9161234567"):
    card_data = {"virtual": "1"} if card_number is None else {"card_number": card_number}
    assert step(client, "card", card_data)["Location"] == "/registration/about/"
    about = {"first_name": "анна", "birth_date": "1990-06-15", "city_0": "Москва", "city_1": ""}
    assert step(client, "about", about)["Location"] == "/registration/password/"
    credentials = {"email": "anna@example.ru", "password": PASSWORD, "password2": PASSWORD}
    assert step(client, "password", credentials)["Location"] == "/registration/phone/"
    assert step(client, "phone", {"phone": phone})["Location"] == "/registration/notifications/"
    assert (
        step(client, "notifications", {"email": "on", "push": "on"})["Location"]
        == "/registration/consents/"
    )
    return step(client, "consents", {"personal_data": "on", "rules": "on"})


def test_the_wizard_registers_a_plastic_card_and_signs_in(client):
    card = issued_card()

    response = walk_wizard(client, f" {card.number[:4]} {card.number[4:]} ")

    assert response.status_code == 302 and response["Location"] == "/registration/confirm/"
    page = client.get("/registration/confirm/")
    assert "+7 916 ***-**-67" in page.content.decode()
    # The wizard kept only the password's hash in the session.
    assert PASSWORD not in str(client.session[WIZARD])

    confirmed = client.post("/registration/confirm/", {"code": last_code(PHONE)})

    assert confirmed["Location"] == "/cabinet/"
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE
    user = User.objects.get(phone=PHONE)
    assert card.account.user == user and card.account.city.name_ru == "Москва"
    assert (
        user.loyalty_account.profile.marketing_email,
        user.loyalty_account.profile.marketing_sms,
    ) == (True, False)
    cabinet = client.get("/cabinet/").content.decode()
    assert "Здравствуйте, Анна!" in cabinet
    assert cardnumber_grouped(card.number) in cabinet
    # The device that confirmed the code is known: no SMS at the next sign-in from it.
    assert KnownDevice.objects.filter(user=user).count() == 1
    assert DEVICE_COOKIE in client.cookies
    assert WIZARD not in client.session


def cardnumber_grouped(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


def test_the_wizard_can_issue_a_virtual_card(client):
    walk_wizard(client, None)

    client.post("/registration/confirm/", {"code": last_code(PHONE)})

    account = User.objects.get(phone=PHONE).loyalty_account
    card = account.cards.get()
    assert card.virtual and card.state == CardState.ACTIVE


def test_each_step_shows_its_errors_in_russian(client):
    page = step(client, "card", {"card_number": "1234 5678 9012 3456"})
    assert page.status_code == 200
    assert "В номере карты ошибка: проверьте цифры" in page.content.decode()

    step(client, "card", {"card_number": issued_card().number})
    about = step(client, "about", {"first_name": "Anna", "birth_date": ""}).content.decode()
    assert "Имя пишется русскими буквами" in about and "Укажите дату рождения" in about

    step(client, "about", {"first_name": "Анна", "birth_date": "1990-06-15"})
    credentials = step(
        client, "password", {"email": "anna@", "password": PASSWORD, "password2": "Other2026x"}
    ).content.decode()
    assert "Введите правильный адрес электронной почты" in credentials
    assert "Пароли не совпадают" in credentials

    step(client, "password", {"email": "a@b.ru", "password": PASSWORD, "password2": PASSWORD})
    register("+79161112233")
    taken = step(client, "phone", {"phone": "89161112233"}).content.decode()
    assert "Этот номер телефона уже привязан к другой карте" in taken

    step(client, "phone", {"phone": PHONE})
    step(client, "notifications", {})
    consents = step(client, "consents", {"rules": "on"}).content.decode()
    assert "Без согласия на обработку персональных данных зарегистрироваться нельзя" in consents


def test_a_later_step_cannot_be_reached_first(client):
    response = client.get("/registration/phone/")
    assert response["Location"] == "/registration/card/"
    assert client.get("/registration/")["Location"] == "/registration/card/"
    assert client.get("/registration/unknown/")["Location"] == "/registration/card/"
    assert client.get("/registration/confirm/")["Location"] == "/registration/card/"


def test_a_wrong_code_is_shown_and_resend_waits_for_the_cool_down(client, clock):
    walk_wizard(client, issued_card().number)
    code = last_code(PHONE)

    wrong = client.post("/registration/confirm/", {"code": other_code(code)})
    assert "Неверный код. Осталось попыток: 4" in wrong.content.decode()

    too_soon = client.post("/registration/confirm/resend/", follow=True)
    assert "Повторно отправить код можно через" in too_soon.content.decode()
    clock.advance(seconds=61)
    resent = client.post("/registration/confirm/resend/", follow=True)
    assert "Мы отправили новый код" in resent.content.decode()
    assert len(sms_to(PHONE)) == 2
    # The first code no longer works; the new one does.
    if last_code(PHONE) != code:
        stale = client.post("/registration/confirm/", {"code": code})
        assert "Неверный код" in stale.content.decode()
    confirmed = client.post("/registration/confirm/", {"code": last_code(PHONE)})
    assert confirmed["Location"] == "/cabinet/"


def test_sign_in_on_a_new_device_asks_for_the_sms_code_then_remembers_it(member):
    browser = Client()
    response = browser.post("/login/", {"phone": "89161234567", "password": PASSWORD})
    assert response["Location"] == "/login/confirm/"
    assert browser.get("/cabinet/").status_code == 302  # not signed in yet

    done = browser.post("/login/confirm/", {"code": last_code(PHONE)})

    assert done["Location"] == "/cabinet/"
    assert browser.get("/cabinet/").status_code == 200
    browser.post("/logout/")
    again = browser.post("/login/", {"phone": "9161234567", "password": PASSWORD})
    assert again["Location"] == "/cabinet/"


def test_sign_in_errors_do_not_reveal_the_phone(member):
    browser = Client()
    wrong = browser.post("/login/", {"phone": PHONE, "password": "Wrong2026x"}).content.decode()
    unknown = browser.post(
        "/login/", {"phone": "+79169998877", "password": PASSWORD}
    ).content.decode()
    assert "Неверный номер телефона или пароль" in wrong
    assert "Неверный номер телефона или пароль" in unknown


def test_the_lock_out_page_is_429(member):
    browser = Client()
    for _ in range(5):
        browser.post("/login/", {"phone": PHONE, "password": "Wrong2026x"})
    locked = browser.post("/login/", {"phone": PHONE, "password": PASSWORD})
    assert locked.status_code == 429
    assert "Слишком много неудачных попыток входа" in locked.content.decode()


def test_next_is_followed_only_on_this_site(member):
    browser = Client()
    assert browser.get("/cabinet/")["Location"] == "/login/?next=/cabinet/"
    browser.post("/login/", {"phone": PHONE, "password": PASSWORD, "next": "https://evil.example/"})
    done = browser.post("/login/confirm/", {"code": last_code(PHONE)})
    assert done["Location"] == "/cabinet/"


def test_code_sign_in_page(member):
    browser = Client()
    assert browser.post("/login/code/", {"phone": "9161234567"})["Location"] == "/login/confirm/"
    assert browser.post("/login/confirm/", {"code": last_code(PHONE)})["Location"] == "/cabinet/"


def test_password_reset_pages(member):
    browser = Client()
    sent = browser.post("/password-reset/", {"phone": PHONE, "birth_date": "1990-06-15"})
    assert sent["Location"] == "/password-reset/confirm/"
    page = browser.get("/password-reset/confirm/").content.decode()
    assert "Если номер и дата рождения совпадают с данными участника" in page

    done = browser.post(
        "/password-reset/confirm/",
        {"code": last_code(PHONE), "new_password": "NewMagnit77", "new_password2": "NewMagnit77"},
        follow=True,
    )
    assert "Пароль изменён. Войдите с новым паролем" in done.content.decode()
    member.user.refresh_from_db()
    assert member.user.check_password("NewMagnit77")


def test_password_reset_for_an_unknown_phone_reads_the_same(member):
    browser = Client()
    sent = browser.post("/password-reset/", {"phone": "+79169998877", "birth_date": "1990-06-15"})
    assert sent["Location"] == "/password-reset/confirm/"
    page = browser.get("/password-reset/confirm/").content.decode()
    assert "Если номер и дата рождения совпадают с данными участника" in page


def test_staff_are_not_members():
    staff = StaffFactory()
    browser = Client()
    browser.force_login(staff)
    assert browser.get("/cabinet/")["Location"] == "/login/?next=/cabinet/"


def test_pages_render(client):
    for url in [
        "/login/",
        "/login/code/",
        "/password-reset/",
        "/registration/card/",
        "/documents/personal-data/",
        "/documents/rules/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert "Редакция 2026-01" in client.get("/documents/rules/").content.decode()


def test_logout_is_post_only(member):
    browser = Client()
    browser.force_login(member.user)
    assert browser.get("/logout/").status_code == 405
    assert browser.get("/logout/everywhere/").status_code == 405


def test_the_member_can_ask_to_confirm_every_sign_in(member, clock):
    browser = Client()
    browser.post("/login/", {"phone": PHONE, "password": PASSWORD})
    browser.post("/login/confirm/", {"code": last_code(PHONE)})  # this device is now known

    page = browser.post("/cabinet/login-confirmation/", {"always": "1"}, follow=True)
    assert "Теперь каждый вход подтверждается кодом из SMS" in page.content.decode()
    browser.post("/logout/")
    clock.advance(seconds=61)  # past the code's cool-down

    again = browser.post("/login/", {"phone": PHONE, "password": PASSWORD})
    assert again["Location"] == "/login/confirm/"  # known device, and still a code


def test_support_sees_members_consents_and_inbound_sms_in_the_back_office(admin_client, member):
    from kabinet.loyalty.services.registration import activate_by_sms

    activate_by_sms(sender_phone="+79160000009", text="привет", message_id="adm", source="http")
    for model in ["consent", "memberprofile", "inboundsms"]:
        page = admin_client.get(f"/admin/loyalty/{model}/")
        assert page.status_code == 200, model
    assert "привет" in admin_client.get("/admin/loyalty/inboundsms/").content.decode()
    assert admin_client.get("/admin/loyalty/consent/add/").status_code == 403


def test_the_pages_speak_english_too(client):
    client.cookies["django_language"] = "en"
    page = client.get("/registration/card/").content.decode()
    assert "Join us" in page and "Issue a virtual card" in page and "Step 1 of 6" in page
    assert "Card number" in page
    assert "Sign in to your account" in client.get("/login/").content.decode()
