"""Message templates in Russian and English; SMS texts fit one segment."""

from __future__ import annotations

import pytest

from kabinet.notifications.rendering import Rendered, render_message, sms_segments, split_subject

OTP_PURPOSES = [
    "registration",
    "login",
    "password_reset",
    "phone_change",
    "operator_activation",
    "unknown",
    None,
]


def otp(channel: str, language: str, purpose: str | None = None) -> Rendered:
    context = {"code": "1234"} if purpose is None else {"code": "1234", "purpose": purpose}
    return render_message(template="otp_code", channel=channel, context=context, language=language)


def test_otp_sms_in_russian_and_english():
    assert otp("sms", "ru") == Rendered(
        subject="", body="Код подтверждения: 1234. Никому не сообщайте его."
    )
    assert otp("sms", "en") == Rendered(
        subject="", body="Confirmation code: 1234. Do not share it with anyone."
    )


@pytest.mark.parametrize(
    ("purpose", "body"),
    [
        ("registration", "Код для регистрации: 1234. Никому не сообщайте его."),
        ("login", "Код для входа: 1234. Никому не сообщайте его."),
        ("password_reset", "Код для смены пароля: 1234. Никому не сообщайте его."),
        ("phone_change", "Код для смены телефона: 1234. Никому не сообщайте его."),
        # L-ACT-3: this code is read out to the call-centre operator, so no "tell nobody".
        ("operator_activation", "Код для активации карты: 1234. Назовите его оператору."),
        ("something_else", "Код подтверждения: 1234. Никому не сообщайте его."),
    ],
)
def test_otp_sms_wording_follows_the_codes_purpose(purpose, body):
    assert otp("sms", "ru", purpose).body == body


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("purpose", OTP_PURPOSES)
def test_every_otp_sms_fits_one_segment(language, purpose):
    assert sms_segments(otp("sms", language, purpose).body) == 1


def test_otp_email_has_a_subject_in_the_recipients_language():
    russian = otp("email", "ru", "login")
    english = otp("email", "en", "login")

    assert russian.subject == "Код подтверждения"
    assert russian.body.startswith("Здравствуйте!\n\nКод для входа: 1234\n\nНикому не сообщайте")
    assert english.subject == "Confirmation code"
    assert english.body.startswith("Hello!\n\nYour sign-in code: 1234\n\nDo not share")


def test_otp_voice_spells_the_digits_twice():
    assert otp("voice", "ru").body == (
        "Ваш код подтверждения: 1, 2, 3, 4. Повторяю: 1, 2, 3, 4. Никому не сообщайте его."
    )
    assert otp("voice", "en").body == (
        "Your confirmation code is: 1, 2, 3, 4. Once again: 1, 2, 3, 4. "
        "Do not share it with anyone."
    )
    assert otp("voice", "ru", "operator_activation").body == (
        "Ваш код подтверждения: 1, 2, 3, 4. Повторяю: 1, 2, 3, 4."
    )


def test_password_reset_link_email_in_both_languages():
    context = {"url": "https://kabinet.example/reset/abc/", "name": "Анна"}
    russian = render_message(
        template="password_reset_link", channel="email", context=context, language="ru"
    )
    english = render_message(
        template="password_reset_link", channel="email", context=context, language="en"
    )

    assert russian.subject == "Восстановление пароля"
    assert russian.body.splitlines()[:4] == [
        "Здравствуйте, Анна!",
        "",
        "Чтобы задать новый пароль, откройте ссылку:",
        "https://kabinet.example/reset/abc/",
    ]
    assert english.subject == "Password reset"
    assert english.body.splitlines()[0] == "Hello, Анна!"


def test_unknown_language_falls_back_to_russian_and_regional_variants_are_understood():
    assert otp("sms", "de").body.startswith("Код подтверждения")
    assert otp("sms", "en-us").body.startswith("Confirmation code")


def test_text_templates_are_not_html_escaped():
    rendered = render_message(
        template="generic",
        channel="email",
        context={"text": 'Скидки & подарки <для "вас">', "subject": "Акции & скидки"},
        language="ru",
    )
    assert rendered == Rendered(subject="Акции & скидки", body='Скидки & подарки <для "вас">')


def test_generic_email_has_a_default_subject():
    rendered = render_message(
        template="generic", channel="email", context={"text": "Привет"}, language="ru"
    )
    assert rendered.subject == "Сообщение от «Кабинета»"


def test_template_names_cannot_walk_the_file_system():
    with pytest.raises(ValueError, match="template name"):
        render_message(template="../base", channel="sms", context={}, language="ru")


def test_split_subject():
    assert split_subject("Subject: Тема\nТекст\nещё") == Rendered(subject="Тема", body="Текст\nещё")
    assert split_subject("\n  Текст без темы ") == Rendered(subject="", body="Текст без темы")


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("{" * 80, 1),  # escape-table characters take two septets
        ("{" * 81, 2),
        ("я" * 70, 1),
        ("я" * 71, 2),
        ("я" * 134, 2),
        ("я" * 135, 3),
    ],
)
def test_sms_segments(text, segments):
    assert sms_segments(text) == segments
