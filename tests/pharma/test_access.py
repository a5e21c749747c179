"""Authorization with personas: two users of «Здоровье», one of «Вита» (SPEC X-4, P-REG-4)."""

import pytest

from kabinet.accounts.models import User
from kabinet.core.models import AuditEntry
from kabinet.pharma.models import DeliveryAddress, OrganisationStatus, PartnerUser
from tests.pharma.conftest import PASSWORD, client_for, emails_to, link_from, path_of

SECTIONS = {
    "catalog": "/pharma/cabinet/catalog/",
    "order": "/pharma/cabinet/orders/",
    "pay": "/pharma/cabinet/payments/",
    "manage": "/pharma/cabinet/users/",
}


def test_anonymous_is_sent_to_the_login_page(client, db):
    response = client.get("/pharma/cabinet/users/")
    assert response.status_code == 302
    assert response["Location"] == "/pharma/login/?next=%2Fpharma%2Fcabinet%2Fusers%2F"


def test_a_user_without_an_organisation_is_refused(client, manager):
    client.force_login(manager)
    assert client.get("/pharma/cabinet/").status_code == 403


def test_cabinet_shows_only_what_the_authorities_allow(pharmacy):
    admin_html = client_for(pharmacy.admin).get("/pharma/cabinet/").content.decode()
    staff_html = client_for(pharmacy.colleague).get("/pharma/cabinet/").content.decode()
    for section in ("catalog", "order", "pay", "manage", "addresses"):
        assert f'data-section="{section}"' in admin_html
    assert 'data-section="catalog"' in staff_html
    for section in ("order", "pay", "manage", "addresses"):
        assert f'data-section="{section}"' not in staff_html
    assert "ООО «Здоровье»" in staff_html


@pytest.mark.parametrize("section", ["order", "pay", "manage"])
def test_a_section_without_its_authority_is_forbidden_by_url(pharmacy, section):
    client = client_for(pharmacy.colleague)
    assert client.get(SECTIONS[section]).status_code == 403
    assert client.get(SECTIONS["catalog"]).status_code == 200


def test_without_manage_no_page_or_post_changes_users_or_addresses(pharmacy):
    client = client_for(pharmacy.colleague)
    admin = pharmacy.admin
    urls_get = [
        "/pharma/cabinet/users/invite/",
        f"/pharma/cabinet/users/{admin.pk}/",
        "/pharma/cabinet/addresses/",
        "/pharma/cabinet/addresses/new/",
        f"/pharma/cabinet/addresses/{pharmacy.address.pk}/",
    ]
    for url in urls_get:
        assert client.get(url).status_code == 403, url
    assert (
        client.post(
            "/pharma/cabinet/users/invite/",
            {"full_name": "X", "username": "sneaky", "email": "s@x.ru", "authorities": ["manage"]},
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/pharma/cabinet/users/{pharmacy.colleague.pk}/",
            {"authorities": ["catalog", "order", "pay", "manage"], "active": "on"},
        ).status_code
        == 403
    )
    assert (
        client.post(f"/pharma/cabinet/addresses/{pharmacy.address.pk}/delete/").status_code == 403
    )
    pharmacy.colleague.refresh_from_db()
    assert pharmacy.colleague.authorities == ["catalog"]
    assert not User.objects.filter(username="sneaky").exists()
    assert DeliveryAddress.objects.filter(pk=pharmacy.address.pk).exists()


def test_users_list_shows_only_own_organisation(pharmacy, other_pharmacy):
    html = client_for(pharmacy.admin).get("/pharma/cabinet/users/").content.decode()
    assert "<h1>ООО «Здоровье»</h1>" in html
    assert "zdorovie-admin" in html
    assert "zdorovie-staff" in html
    assert "vita-admin" not in html


def test_another_organisations_user_cannot_be_seen_or_changed(pharmacy, other_pharmacy):
    client = client_for(pharmacy.admin)
    stranger = other_pharmacy.admin
    url = f"/pharma/cabinet/users/{stranger.pk}/"
    assert client.get(url).status_code == 404
    response = client.post(url, {"authorities": [], "active": ""})
    assert response.status_code == 404
    stranger.refresh_from_db()
    stranger.user.refresh_from_db()
    assert stranger.authorities == ["catalog", "order", "pay", "manage"]
    assert stranger.user.is_active is True
    assert AuditEntry.objects.count() == 0


def test_another_organisations_address_cannot_be_seen_changed_or_deleted(
    pharmacy, other_pharmacy, moscow
):
    client = client_for(pharmacy.admin)
    theirs = other_pharmacy.address
    assert client.get(f"/pharma/cabinet/addresses/{theirs.pk}/").status_code == 404
    response = client.post(
        f"/pharma/cabinet/addresses/{theirs.pk}/",
        {"name": "Захвачено", "city_0": "Москва", "city_1": str(moscow.pk), "address": "x"},
    )
    assert response.status_code == 404
    assert client.post(f"/pharma/cabinet/addresses/{theirs.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.address, theirs.organisation_id) == (
        "Вита на Баумана",
        "ул. Баумана, д. 2",
        other_pharmacy.organisation.pk,
    )
    html = client.get("/pharma/cabinet/addresses/").content.decode()
    assert "Аптека №1" in html
    assert "Вита на Баумана" not in html


def test_administrator_adds_edits_and_deletes_own_addresses(pharmacy, kazan):
    client = client_for(pharmacy.admin)
    response = client.post(
        "/pharma/cabinet/addresses/new/",
        {
            "name": "Аптека №2",
            "city_0": "Казань",
            "city_1": str(kazan.pk),
            "address": "ул. Кремлёвская, 1",
        },
    )
    assert response.status_code == 302
    new = DeliveryAddress.objects.get(name="Аптека №2")
    assert (new.organisation_id, new.city_id) == (pharmacy.organisation.pk, kazan.pk)
    client.post(
        f"/pharma/cabinet/addresses/{new.pk}/",
        {
            "name": "Аптека №2",
            "city_0": "Казань",
            "city_1": str(kazan.pk),
            "address": "ул. Баумана, 9",
        },
    )
    new.refresh_from_db()
    assert new.address == "ул. Баумана, 9"
    client.post(f"/pharma/cabinet/addresses/{new.pk}/delete/")
    assert not DeliveryAddress.objects.filter(pk=new.pk).exists()


def test_administrator_invites_a_colleague_who_sets_a_password_by_link(client, pharmacy):
    admin_client = client_for(pharmacy.admin)
    response = admin_client.post(
        "/pharma/cabinet/users/invite/",
        {
            "full_name": "Пётр Иванов",
            "username": "petr",
            "email": "petr@zdorovie.ru",
            "authorities": ["catalog", "order"],
        },
    )
    assert response.status_code == 302
    invited = PartnerUser.objects.get(user__username="petr")
    assert invited.organisation == pharmacy.organisation
    assert invited.authorities == ["catalog", "order"]
    assert invited.user.has_usable_password() is False
    [mail] = emails_to("petr@zdorovie.ru")
    assert mail.subject == "Приглашение в личный кабинет партнёра"
    assert (
        "Zdorovie-Admin приглашает вас в личный кабинет партнёра организации «ООО «Здоровье»»."
        in mail.body
    )
    token = path_of(link_from(mail.body)).split("token=")[1]
    set_page = client.post(
        "/pharma/password/set/", {"token": token, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert set_page.status_code == 302
    assert (
        client.post("/pharma/login/", {"username": "petr", "password": PASSWORD}).status_code == 302
    )
    html = client.get("/pharma/cabinet/").content.decode()
    assert 'data-section="order"' in html
    assert 'data-section="manage"' not in html
    entry = AuditEntry.objects.get(action="pharma.partner.invite")
    assert entry.actor == pharmacy.admin.user
    assert entry.data == {
        "organisation_id": pharmacy.organisation.pk,
        "authorities": ["catalog", "order"],
    }


def test_invite_with_a_taken_login_is_refused(pharmacy, other_pharmacy):
    response = client_for(pharmacy.admin).post(
        "/pharma/cabinet/users/invite/",
        {"full_name": "X", "username": "vita-admin", "email": "new@zdorovie.ru", "authorities": []},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["username"] == [
        "Логин «vita-admin» уже занят. Выберите другой."
    ]
    assert other_pharmacy.admin.organisation == other_pharmacy.organisation
    assert PartnerUser.objects.filter(organisation=pharmacy.organisation).count() == 2


def test_administrator_changes_a_colleagues_authorities_and_access(client, pharmacy):
    admin_client = client_for(pharmacy.admin)
    colleague = pharmacy.colleague
    admin_client.post(
        f"/pharma/cabinet/users/{colleague.pk}/",
        {"authorities": ["catalog", "pay"], "active": "on"},
    )
    colleague.refresh_from_db()
    assert colleague.authorities == ["catalog", "pay"]
    admin_client.post(f"/pharma/cabinet/users/{colleague.pk}/", {"authorities": ["catalog"]})
    colleague.user.refresh_from_db()
    assert colleague.user.is_active is False
    refused = client.post("/pharma/login/", {"username": "zdorovie-staff", "password": PASSWORD})
    assert refused.status_code == 200
    assert AuditEntry.objects.filter(action="pharma.partner.access").count() == 2


def test_administrator_cannot_remove_own_management(pharmacy):
    admin = pharmacy.admin
    response = client_for(admin).post(
        f"/pharma/cabinet/users/{admin.pk}/", {"authorities": ["catalog"], "active": "on"}
    )
    assert response.status_code == 403
    admin.refresh_from_db()
    assert admin.authorities == ["catalog", "order", "pay", "manage"]


def test_blocked_organisation_can_browse_but_not_order_or_pay(pharmacy):
    pharmacy.organisation.status = OrganisationStatus.BLOCKED
    pharmacy.organisation.save()
    client = client_for(pharmacy.admin)
    assert client.get(SECTIONS["catalog"]).status_code == 200
    assert client.get(SECTIONS["order"]).status_code == 403
    assert client.get(SECTIONS["pay"]).status_code == 403
    html = client.get("/pharma/cabinet/").content.decode()
    assert "Организация заблокирована" in html
    assert 'data-section="order"' not in html


def test_switching_a_colleague_off_ends_their_session(pharmacy):
    colleague_client = client_for(pharmacy.colleague)
    assert colleague_client.get("/pharma/cabinet/").status_code == 200
    client_for(pharmacy.admin).post(
        f"/pharma/cabinet/users/{pharmacy.colleague.pk}/", {"authorities": ["catalog"]}
    )
    response = colleague_client.get("/pharma/cabinet/")
    assert response.status_code == 302
    assert response["Location"].startswith("/pharma/login/")
