"""A member registers a plastic card on the web (L-ACT-1) and signs in from a new device
(L-AUTH-2) in Chromium, reading the SMS codes from the outbox as a person would."""

from __future__ import annotations

import re
import time

import pytest
from django.db import OperationalError

from kabinet.loyalty.models import CardState
from kabinet.loyalty.services import cards as card_services
from kabinet.notifications.models import Message
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+79161234567"
PASSWORD = "Magnit2026ok"


def newest_code(phone: str, *, after: int = 0, timeout: float = 10.0) -> str:
    """The code in the newest SMS to `phone` whose id is above `after`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            body = (
                Message.objects.filter(channel="sms", to=phone, pk__gt=after)
                .order_by("-id")
                .values_list("body", flat=True)
                .first()
            )
        except OperationalError:  # the live server is writing the shared SQLite database
            body = None
        if body:
            return re.search(r"\b(\d{4})\b", body).group(1)
        time.sleep(0.1)
    raise AssertionError(f"no SMS to {phone}")


def last_message_id() -> int:
    return Message.objects.order_by("-id").values_list("id", flat=True).first() or 0


def next_step(page) -> None:
    page.get_by_role("button", name="Далее").click()
    page.wait_for_load_state()


def test_register_a_card_then_sign_in_from_a_new_device(page):
    (card,) = card_services.issue_cards(count=1, batch_name="browser")

    # Шаг 1: номер карты
    page.goto(page.base_url + "/registration/")
    assert page.get_by_role("heading", name="Присоединяйся к нам").is_visible()
    page.get_by_label("Номер карты").fill("1234 5678 9012 3456")
    next_step(page)
    assert page.get_by_text("В номере карты ошибка: проверьте цифры").is_visible()
    page.get_by_label("Номер карты").fill(card.number)
    screenshot(page, "member-registration-1-card")
    next_step(page)

    # Шаг 2: имя и дата рождения (календарь), город из списка
    page.get_by_label("Имя", exact=True).fill("Анна Петрова")
    page.get_by_label("Дата рождения").fill("1990-06-15")
    next_step(page)
    assert page.get_by_text("Укажите только имя, без фамилии").is_visible()
    page.get_by_label("Имя", exact=True).fill("Анна")
    page.get_by_label("Город").fill("Моск")
    page.get_by_role("option", name=re.compile("^Москва")).click()
    screenshot(page, "member-registration-2-about")
    next_step(page)

    # Шаг 3: e-mail и пароль дважды
    page.get_by_label("Электронная почта").fill("anna@example.ru")
    page.get_by_label("Пароль", exact=True).fill("magnit2026")
    page.get_by_label("Пароль ещё раз").fill("magnit2026")
    next_step(page)
    assert page.get_by_text("Добавьте в пароль заглавную латинскую букву").is_visible()
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_label("Пароль ещё раз").fill(PASSWORD)
    screenshot(page, "member-registration-3-password")
    next_step(page)

    # Шаг 4: телефон, как советует сайт: без 8 и без +7
    page.get_by_label("Номер телефона").fill("9161234567")
    next_step(page)

    # Шаг 5: рекламная информация
    page.get_by_label("SMS-сообщения").check()
    screenshot(page, "member-registration-4-notifications")
    next_step(page)

    # Шаг 6: согласия и «Зарегистрироваться»
    page.get_by_label("Я согласен(на) на обработку персональных данных").check()
    page.get_by_label("Я согласен(на) с правилами бонусной программы").check()
    screenshot(page, "member-registration-5-consents")
    page.get_by_role("button", name="Зарегистрироваться").click()
    page.wait_for_load_state()

    # Код из SMS на следующей странице; повторная отправка — после паузы
    assert page.get_by_role("heading", name="Подтверждение регистрации").is_visible()
    assert page.get_by_text("+7 916 ***-**-67").is_visible()
    assert page.get_by_role("button", name="Отправить код ещё раз").is_disabled()
    code = newest_code(PHONE)
    page.get_by_label("Код из SMS").fill(code)
    screenshot(page, "member-registration-6-code")
    page.get_by_role("button", name="Подтвердить").click()
    page.wait_for_load_state()

    assert page.get_by_text("Регистрация пройдена, карта активирована").is_visible()
    assert page.get_by_role("heading", name="Здравствуйте, Анна!").is_visible()
    assert page.get_by_text(" ".join(card.number[i : i + 4] for i in range(0, 16, 4))).is_visible()
    screenshot(page, "member-registration-7-cabinet")
    card.refresh_from_db()
    assert card.state == CardState.ACTIVE
    assert page.console_errors == []

    # Вход с другого устройства: пароль, затем код из SMS
    other = page.context.browser.new_context(
        locale="ru-RU", viewport={"width": 1280, "height": 860}
    )
    try:
        laptop = other.new_page()
        laptop.set_default_timeout(10_000)
        before = last_message_id()
        laptop.goto(page.base_url + "/login/")
        laptop.get_by_label("Номер телефона").fill("8 (916) 123-45-67")
        laptop.get_by_label("Пароль").fill(PASSWORD)
        screenshot(laptop, "member-registration-8-login")
        laptop.get_by_role("button", name="Войти").click()
        laptop.wait_for_load_state()
        assert laptop.get_by_role("heading", name="Подтверждение входа").is_visible()
        laptop.get_by_label("Код из SMS").fill(newest_code(PHONE, after=before))
        screenshot(laptop, "member-registration-9-login-code")
        laptop.get_by_role("button", name="Войти").click()
        laptop.wait_for_load_state()
        assert laptop.get_by_role("heading", name="Здравствуйте, Анна!").is_visible()

        # Выйти на всех устройствах: первый браузер тоже выходит
        laptop.get_by_role("button", name="Выйти на всех устройствах").click()
        laptop.wait_for_load_state()
        assert laptop.get_by_text("Вы вышли на всех устройствах").is_visible()
        page.goto(page.base_url + "/cabinet/")
        assert page.get_by_role("heading", name="Вход в личный кабинет").is_visible()
    finally:
        other.close()
