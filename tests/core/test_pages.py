"""The layout, the language switch, the error pages and the security headers (X-1, X-4)."""

import pytest
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db


def test_home_is_russian_by_default_with_the_cabinet_link(client):
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ru">' in body
    assert "Личный кабинет" in body


def test_english_is_switchable_and_remembered(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    body = client.get("/").content.decode()
    assert '<html lang="en">' in body
    assert "Personal account" in body


def test_pages_carry_a_content_security_policy_and_frame_protection(client):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    # A nonce appears only on pages that use one; inline code without it never runs.
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_404_page_is_in_the_site_style_and_russian(client):
    response = client.get("/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Страница не найдена" in body
    assert "site.css" in body


def test_csrf_failure_page_explains_in_russian():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/i18n/setlang/", {"language": "en"})
    assert response.status_code == 403
    assert "Форма устарела" in response.content.decode()


@override_settings(DEBUG=False)
def test_500_page_is_in_the_site_style(client):
    from django.test import RequestFactory

    from kabinet.core.views import server_error

    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Ошибка на сервере" in response.content.decode()


def test_back_office_is_russian_and_branded(admin_client):
    body = admin_client.get("/admin/").content.decode()
    assert "Кабинет — бэк-офис" in body
    assert "admin.css" in body
    assert "Журнал аудита" in body or "журнал аудита" in body.lower()
