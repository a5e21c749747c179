"""Signing in, throttling, password recovery by a single-use link, signing out (SPEC P-AUTH)."""

from kabinet.accounts.models import User
from kabinet.notifications.models import Message
from tests.pharma.conftest import PASSWORD, emails_to, link_from, path_of

LOGIN = "/pharma/login/"
FORGOT = "/pharma/password/forgot/"
WRONG = "Неверный логин или пароль. Проверьте раскладку клавиатуры и регистр букв."


def test_sign_in_and_out(client, pharmacy):
    response = client.post(LOGIN, {"username": "zdorovie-admin", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/pharma/cabinet/"
    assert client.get("/pharma/cabinet/").status_code == 200
    assert client.get("/pharma/logout/").status_code == 405
    out = client.post("/pharma/logout/")
    assert out["Location"] == "/pharma/login/"
    assert client.get("/pharma/cabinet/").status_code == 302


def test_next_goes_back_but_never_off_site(client, pharmacy):
    ok = client.post(
        LOGIN,
        {"username": "zdorovie-admin", "password": PASSWORD, "next": "/pharma/cabinet/users/"},
    )
    assert ok["Location"] == "/pharma/cabinet/users/"
    client.post("/pharma/logout/")
    evil = client.post(
        LOGIN, {"username": "zdorovie-admin", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert evil["Location"] == "/pharma/cabinet/"


def test_wrong_password_and_unknown_login_read_the_same(client, pharmacy):
    wrong = client.post(LOGIN, {"username": "zdorovie-admin", "password": "nope"})
    unknown = client.post(LOGIN, {"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.context["form"].non_field_errors() == [WRONG]
    assert unknown.context["form"].non_field_errors() == [WRONG]


def test_staff_without_organisation_cannot_use_the_partner_login(client, manager):
    response = client.post(LOGIN, {"username": "manager", "password": PASSWORD})
    assert response.context["form"].non_field_errors() == [WRONG]


def test_failed_attempts_are_limited_even_for_the_right_password(client, pharmacy):
    for _ in range(5):
        client.post(LOGIN, {"username": "zdorovie-admin", "password": "nope"})
    locked = client.post(LOGIN, {"username": "zdorovie-admin", "password": PASSWORD})
    assert locked.status_code == 429
    [error] = locked.context["form"].non_field_errors()
    assert error.startswith("Слишком много неудачных попыток входа. Повторите через")
    assert "_auth_user_id" not in client.session
    # Another account is not locked by these failures.
    other = client.post(LOGIN, {"username": "zdorovie-staff", "password": PASSWORD})
    assert other.status_code == 302


def test_reset_link_is_single_use_and_never_carries_a_password(client, pharmacy):
    email = pharmacy.admin.user.email
    response = client.post(FORGOT, {"email": email.upper()})
    assert response["Location"] == "/pharma/password/forgot/sent/"
    [mail] = emails_to(email)
    assert mail.subject == "Восстановление пароля"
    assert PASSWORD not in mail.body
    link = path_of(link_from(mail.body))
    assert link.startswith("/pharma/password/set/?token=")
    page = client.get(link)
    assert page.status_code == 200
    token = link.split("token=")[1]
    new_password = "Novyj-parol-2026!"
    done = client.post(
        "/pharma/password/set/",
        {"token": token, "password1": new_password, "password2": new_password},
    )
    assert done.status_code == 302
    assert done["Location"] == "/pharma/login/"
    again = client.post(
        "/pharma/password/set/",
        {"token": token, "password1": "Drugoj-parol-2026!", "password2": "Drugoj-parol-2026!"},
    )
    assert again.status_code == 200
    assert again.context["form"].non_field_errors() == ["Ссылка уже использована. Запросите новую"]
    user = User.objects.get(pk=pharmacy.admin.user.pk)
    assert user.check_password(new_password)
    assert (
        client.post(LOGIN, {"username": "zdorovie-admin", "password": PASSWORD}).status_code == 200
    )
    assert (
        client.post(LOGIN, {"username": "zdorovie-admin", "password": new_password}).status_code
        == 302
    )


def test_unknown_email_gets_the_same_answer_and_no_mail(client, pharmacy, manager):
    known = client.post(FORGOT, {"email": pharmacy.admin.user.email})
    unknown = client.post(FORGOT, {"email": "nobody@nowhere.ru"})
    staff = client.post(FORGOT, {"email": manager.email})
    assert known["Location"] == unknown["Location"] == staff["Location"]
    assert emails_to("nobody@nowhere.ru") == []
    assert emails_to(manager.email) == []
    assert Message.objects.filter(channel="email").count() == 1


def test_bad_token_and_weak_password_are_refused(client, pharmacy):
    bad = client.post(
        "/pharma/password/set/",
        {"token": "forged", "password1": "Novyj-parol-2026!", "password2": "Novyj-parol-2026!"},
    )
    assert bad.context["form"].non_field_errors() == ["Ссылка недействительна. Запросите новую"]
    client.post(FORGOT, {"email": pharmacy.admin.user.email})
    token = path_of(link_from(emails_to(pharmacy.admin.user.email)[0].body)).split("token=")[1]
    weak = client.post(
        "/pharma/password/set/", {"token": token, "password1": "123", "password2": "123"}
    )
    assert weak.status_code == 200
    assert "password1" in weak.context["form"].errors
    mismatch = client.post(
        "/pharma/password/set/",
        {"token": token, "password1": "Novyj-parol-2026!", "password2": "Novyj-parol-2027!"},
    )
    assert mismatch.context["form"].errors["password2"] == ["Пароли не совпадают."]
    # The link was not spent by the refused attempts.
    ok = client.post(
        "/pharma/password/set/",
        {"token": token, "password1": "Novyj-parol-2026!", "password2": "Novyj-parol-2026!"},
    )
    assert ok.status_code == 302


def test_reset_letters_to_one_address_are_capped(client, pharmacy):
    for _ in range(5):
        client.post(FORGOT, {"email": pharmacy.admin.user.email})
    assert len(emails_to(pharmacy.admin.user.email)) == 3
