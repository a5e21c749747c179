"""Public distributor pages (P-NET-1), demo data, and the back-office queues (P-BO-1)."""

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kabinet.accounts.models import User
from kabinet.pharma import demo
from kabinet.pharma.identifiers import clean_inn, clean_kpp, clean_ogrn
from kabinet.pharma.models import Branch, Lead, Organisation, PartnerUser, Registration
from kabinet.pharma.selectors import format_waiting


def test_demo_is_idempotent_and_builds_34_branches(db):
    lines = demo.load()
    again = demo.load()
    assert (
        lines
        == again
        == [
            "фарма, кабинет партнёра /pharma/login/: администратор аптеки apteka-admin, "
            "сотрудник apteka-staff; пароль pharma-demo-2026",
            "фарма, менеджер (бэк-офис /admin/, очереди /pharma/backoffice/): pharma-manager, "
            "пароль pharma-demo-2026",
            "фарма, каталог: 300 товаров на 34 складах, 7 акций",
            "фарма, выписки банка /pharma/backoffice/statements/: пример "
            "kabinet/pharma/payments/samples/statement_demo_cp1251.txt или "
            "`kabinet pharma statement-sample` для открытых счетов этой базы",
        ]
    )
    assert Branch.objects.count() == 34
    assert Branch.objects.values("region").distinct().count() == 34
    assert Branch.objects.filter(is_head_office=True).get().city.name_ru == "Москва"
    org = Organisation.objects.get()
    assert clean_inn(org.inn) == org.inn
    assert clean_kpp(org.kpp) == org.kpp
    assert clean_ogrn(org.ogrn, sole_proprietor=False) == org.ogrn
    pending = Registration.objects.get()
    assert clean_inn(pending.inn) == pending.inn
    assert clean_ogrn(pending.ogrn, sole_proprietor=False) == pending.ogrn
    assert PartnerUser.objects.count() == 2
    assert Lead.objects.count() == 1
    assert User.objects.get(username="pharma-manager").is_staff is True


def test_demo_users_sign_in(client, db):
    demo.load()
    assert (
        client.post(
            "/pharma/login/", {"username": "apteka-admin", "password": "pharma-demo-2026"}
        ).status_code
        == 302
    )
    client.post("/pharma/logout/")
    client.post("/admin/login/", {"username": "pharma-manager", "password": "pharma-demo-2026"})
    assert client.get("/admin/pharma/lead/").status_code == 200
    assert client.get("/admin/pharma/registration/").status_code == 200
    assert client.get("/pharma/backoffice/").status_code == 200


def test_contacts_page(client, db):
    html = client.get("/pharma/contacts/").content.decode()
    assert "125362, г. Москва, ул. Свободы, д. 35, стр. 12Б" in html
    assert "8-495-967-69-40" in html
    assert "tovar@mpharma.ru" in html


def test_branches_page_lists_regions_addresses_and_phones(client, db):
    demo.load()
    response = client.get("/pharma/branches/")
    html = response.content.decode()
    assert len(response.context["branches"]) == 34
    assert "Краснодарский край" in html
    assert "г. Краснодар, ул. Уральская, д. 75" in html
    assert "+7 861 210-45-20" in html
    assert "34 региональных филиала." in html  # 1 филиал, 2–4 филиала, 5 филиалов


def test_queues_page_counts_and_highlights_waiting_over_a_day(client, manager, moscow):
    old = Lead.objects.create(
        representative_name="А",
        organisation_name="Старая",
        email="a@a.ru",
        phone="+74950000000",
        city=moscow,
        activity_type="pharmacy",
        created_at=timezone.now() - timedelta(days=2),
    )
    Lead.objects.create(
        representative_name="Б",
        organisation_name="Свежая",
        email="b@b.ru",
        phone="+74950000001",
        city=moscow,
        activity_type="other",
        created_at=timezone.now() - timedelta(hours=3),
    )
    client.force_login(manager)
    response = client.get("/pharma/backoffice/")
    leads = response.context["leads"]
    assert [item.obj.organisation_name for item in leads["items"]] == ["Старая", "Свежая"]
    assert [item.overdue for item in leads["items"]] == [True, False]
    assert leads["overdue"] == 1
    assert dict((str(label), n) for label, n in leads["counts"]) == {
        "новая": 2,
        "в работе": 0,
        "одобрена": 0,
        "отклонена": 0,
    }
    html = response.content.decode()
    assert html.count('class="overdue"') == 1
    assert "1 ждёт дольше суток" in html
    assert f"/admin/pharma/lead/{old.pk}/change/" in html


def test_queues_page_is_staff_only(client, pharmacy):
    from tests.pharma.conftest import client_for

    response = client_for(pharmacy.admin).get("/pharma/backoffice/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_waiting_is_told_in_days_hours_minutes():
    assert format_waiting(timedelta(days=2, hours=3, minutes=5)) == "2 д 3 ч"
    assert format_waiting(timedelta(hours=5, minutes=10)) == "5 ч 10 мин"
    assert format_waiting(timedelta(minutes=12, seconds=30)) == "12 мин"


def test_pages_are_available_in_english(client, db):
    client.cookies["django_language"] = "en"
    html = client.get("/pharma/become-client/").content.decode()
    assert '<html lang="en">' in html
    assert "Become a client" in html
    assert "Leave an application" in html
    assert "Representative&#x27;s name" in html or "Representative's name" in html
    login = client.get("/pharma/login/").content.decode()
    assert "Forgot password" in login
    assert "Register" in login


def test_demo_manager_may_import_the_catalog(db):
    demo.load()
    client = Client()
    client.force_login(User.objects.get(username=demo.MANAGER_LOGIN))
    assert client.get(reverse("pharma:import-list")).status_code == 200
    assert client.get(reverse("pharma:import-new")).status_code == 200
