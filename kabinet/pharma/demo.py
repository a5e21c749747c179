"""Pharma demo data: 34 branches, a pharmacy with an administrator, a colleague and a saved
order list, a manager.

Idempotent: run on every `kabinet demo` start; passwords are reset to the demo ones. The
branch addresses and phones are made up for the demo (the cities are real regional centres);
the head office is the distributor's address from the seed.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kabinet.accounts.models import User
from kabinet.core.errors import DomainError
from kabinet.geo.models import City, Region
from kabinet.pharma.catalog.demo import load_catalog
from kabinet.pharma.catalog.models import ControlClass, Offer, Product
from kabinet.pharma.models import (
    ActivityType,
    Authority,
    Branch,
    DeliveryAddress,
    Lead,
    Licence,
    LicenceKind,
    Organisation,
    OrganisationStatus,
    PartnerUser,
    Registration,
)
from kabinet.pharma.orders import saved_lists
from kabinet.pharma.orders import services as order_services
from kabinet.pharma.orders.models import Order, PaymentMethod, SavedList

# (code, region code, city, address, phone)
BRANCHES = [
    ("moscow", "77", "Москва", "125362, г. Москва, ул. Свободы, д. 35, стр. 12Б", "+74959676940"),
    ("spb", "78", "Санкт-Петербург", "г. Санкт-Петербург, Софийская ул., д. 14", "+78123097140"),
    ("krasnodar", "23", "Краснодар", "г. Краснодар, ул. Уральская, д. 75", "+78612104520"),
    ("rostov", "61", "Ростов-на-Дону", "г. Ростов-на-Дону, ул. Доватора, д. 148", "+78633034180"),
    ("volgograd", "34", "Волгоград", "г. Волгоград, ул. Шопена, д. 13", "+78442503610"),
    ("voronezh", "36", "Воронеж", "г. Воронеж, ул. Изыскателей, д. 41", "+74732026370"),
    ("samara", "63", "Самара", "г. Самара, Заводское ш., д. 11", "+78462019450"),
    ("kazan", "16", "Казань", "г. Казань, ул. Тихорецкая, д. 9", "+78432073590"),
    ("nnovgorod", "52", "Нижний Новгород", "г. Н. Новгород, Московское ш., 52", "+78312170840"),
    ("ufa", "02", "Уфа", "г. Уфа, ул. Индустриальное ш., д. 44", "+73472164020"),
    ("perm", "59", "Пермь", "г. Пермь, ул. Героев Хасана, д. 105", "+73422068730"),
    ("ekaterinburg", "66", "Екатеринбург", "г. Екатеринбург, ул. Монтёрская, д. 3", "+73432263950"),
    ("chelyabinsk", "74", "Челябинск", "г. Челябинск, Копейское ш., д. 38", "+73512114870"),
    ("tyumen", "72", "Тюмень", "г. Тюмень, ул. Ямская, д. 118", "+73452563120"),
    ("omsk", "55", "Омск", "г. Омск, ул. 2-я Солнечная, д. 43", "+73812904360"),
    ("novosibirsk", "54", "Новосибирск", "г. Новосибирск, ул. Петухова, д. 69", "+73832849270"),
    ("krasnoyarsk", "24", "Красноярск", "г. Красноярск, ул. Северное ш., д. 7", "+73912054810"),
    ("irkutsk", "38", "Иркутск", "г. Иркутск, ул. Трактовая, д. 18", "+73952485630"),
    ("khabarovsk", "27", "Хабаровск", "г. Хабаровск, ул. Промышленная, д. 20", "+74212474590"),
    ("vladivostok", "25", "Владивосток", "г. Владивосток, ул. Снеговая, д. 119", "+74232659210"),
    ("saratov", "64", "Саратов", "г. Саратов, ул. Орджоникидзе, д. 156", "+78452398140"),
    ("yaroslavl", "76", "Ярославль", "г. Ярославль, Пятовская ул., д. 4", "+74852681370"),
    ("tula", "71", "Тула", "г. Тула, ул. Марата, д. 100", "+74872705260"),
    ("ryazan", "62", "Рязань", "г. Рязань, Ряжское ш., д. 20", "+74912958430"),
    ("belgorod", "31", "Белгород", "г. Белгород, ул. Рабочая, д. 14", "+74722583190"),
    ("kursk", "46", "Курск", "г. Курск, ул. 50 лет Октября, д. 179", "+74712390650"),
    ("lipetsk", "48", "Липецк", "г. Липецк, ул. Юношеская, д. 50", "+74742517820"),
    ("stavropol", "26", "Ставрополь", "г. Ставрополь, ул. Коломийцева, д. 46", "+78652741390"),
    ("penza", "58", "Пенза", "г. Пенза, ул. Аустрина, д. 168", "+78412457610"),
    ("kirov", "43", "Киров", "г. Киров, ул. Щорса, д. 95", "+78332711480"),
    ("izhevsk", "18", "Ижевск", "г. Ижевск, ул. Салютовская, д. 31", "+73412656930"),
    ("orenburg", "56", "Оренбург", "г. Оренбург, ул. Беляевская, д. 52", "+73532907340"),
    ("tver", "69", "Тверь", "г. Тверь, ул. Коминтерна, д. 95", "+74822787510"),
    (
        "kaliningrad",
        "39",
        "Калининград",
        "г. Калининград, ул. Дзержинского, 132",
        "+74012997620",
    ),
]

ORG = {"name": "ООО «Аптека Здоровье»", "inn": "7701123451", "kpp": "770101001"}
ORG_OGRN = "1027700123450"
PASSWORD = "pharma-demo-2026"  # noqa: S105 — printed for the demo, reset on every start
ADMIN_LOGIN = "apteka-admin"
COLLEAGUE_LOGIN = "apteka-staff"
MANAGER_LOGIN = "pharma-manager"


def _city(region_code: str, name: str) -> City:
    return City.objects.get(region__code=region_code, name_ru=name)


def _branches() -> None:
    for code, region_code, city_name, address, phone in BRANCHES:
        Branch.objects.update_or_create(
            code=code,
            defaults={
                "name": f"Филиал в г. {city_name}" if code != "moscow" else "Головной офис",
                "region": Region.objects.get(code=region_code),
                "city": _city(region_code, city_name),
                "address": address,
                "phone": phone,
                "email": "tovar@mpharma.ru" if code == "moscow" else f"{code}@mpharma.ru",
                "is_head_office": code == "moscow",
            },
        )


def _user(username: str, email: str, first_name: str, **flags) -> User:
    user, _created = User.objects.get_or_create(
        username=username, defaults={"email": email, "first_name": first_name}
    )
    user.email = email
    user.first_name = first_name
    user.is_active = True
    for name, value in flags.items():
        setattr(user, name, value)
    user.set_password(PASSWORD)
    user.save()
    return user


def _organisation() -> None:
    org, _created = Organisation.objects.update_or_create(
        inn=ORG["inn"],
        defaults={
            "name": ORG["name"],
            "kpp": ORG["kpp"],
            "ogrn": ORG_OGRN,
            "status": OrganisationStatus.ACTIVE,
            "contract_number": "ФД-2026/014",
            "contract_date": date(2026, 2, 2),
            "discount_percent": Decimal("2.00"),
        },
    )
    moscow = _city("77", "Москва")
    for name, address in [
        ("Аптека на Тверской", "ул. Тверская, д. 18, пом. 1"),
        ("Аптека у метро Сокол", "Ленинградский пр-т, д. 75, корп. 1"),
    ]:
        DeliveryAddress.objects.get_or_create(
            organisation=org, name=name, defaults={"city": moscow, "address": address}
        )
    Licence.objects.get_or_create(
        organisation=org,
        number="Л042-00110-77/00351042",
        defaults={"kinds": [LicenceKind.PHARMACEUTICAL], "issued_on": date(2019, 5, 14)},
    )
    people = [
        (ADMIN_LOGIN, "admin@apteka-zdorovie.ru", "Ирина Соколова", list(Authority.values)),
        (
            COLLEAGUE_LOGIN,
            "zakaz@apteka-zdorovie.ru",
            "Павел Орлов",
            [Authority.CATALOG, Authority.ORDER],
        ),
    ]
    for login, email, name, authorities in people:
        user = _user(login, email, name)
        PartnerUser.objects.update_or_create(
            user=user,
            defaults={"organisation": org, "full_name": name, "authorities": authorities},
        )


def _manager() -> None:
    manager = _user(
        MANAGER_LOGIN, "manager@mpharma.ru", "Анна Менеджер", is_staff=True, is_superuser=False
    )
    codenames = [
        f"{action}_{model}"
        for model in ("lead", "registration", "organisation", "partneruser", "branch")
        for action in ("view", "change")
    ] + ["add_organisation", "view_city", "view_region"]
    # The catalog back office (P-BO-2): imports, prices, promotions, stock.
    codenames += [
        f"{action}_{model}"
        for model in (
            "product",
            "category",
            "manufacturer",
            "barcode",
            "offer",
            "warehouse",
            "pricelist",
            "price",
            "pricegroup",
            "wholesalemarkup",
            "promotion",
            "importjob",
        )
        for action in ("view", "change")
    ] + ["add_importjob", "add_price", "add_promotion"]
    # Orders, payments, bank statements and «Дебиторка» (P-BO-2, P-NEXT-4, P-PAY-2).
    codenames += [
        "view_order",
        "change_order",
        "view_reservation",
        "view_payment",
        "change_payment",  # refunds through the provider
        "view_bankstatement",
        "upload_bankstatement",
    ]
    manager.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["pharma", "geo"], codename__in=codenames
        )
    )


def _queue_examples() -> None:
    """One lead and one registration waiting, so the queues are not empty in the demo."""
    if not Lead.objects.filter(email="zav@apteka-vita-kazan.ru").exists():
        Lead.objects.create(
            representative_name="Марат Галиев",
            organisation_name="ООО «Вита»",
            email="zav@apteka-vita-kazan.ru",
            phone="+78432000000",
            city=_city("16", "Казань"),
            activity_type=ActivityType.PHARMACY,
            created_at=timezone.now() - timedelta(days=2),
        )
    if not User.objects.filter(username="vita-samara").exists():
        user = User(username="vita-samara", email="info@vita-samara.ru", is_active=False)
        user.set_unusable_password()
        user.save()
        Registration.objects.create(
            user=user,
            phone="+78462000000",
            city=_city("63", "Самара"),
            inn="6312345675",
            kpp="631201001",
            ogrn="1026300000000",
            organisation_name="ООО «Вита Самара»",
            delivery_address="ул. Ленинградская, д. 3",
            requested_authorities=[Authority.CATALOG, Authority.ORDER, Authority.PAY],
        )


# What a Moscow pharmacy reorders every week, when the demo catalog has it.
WEEKLY_LIST = ("Нурофен", "АЦЦ", "Називин", "Мирамистин", "Арбидол", "Парацетамол")


def _saved_list() -> None:
    """«Еженедельный заказ»: four over-the-counter medicines in stock at the Moscow warehouse."""
    partner = PartnerUser.objects.select_related("organisation", "user").get(
        user__username=ADMIN_LOGIN
    )
    if SavedList.objects.filter(organisation=partner.organisation).exists():
        return
    in_stock = (
        Offer.objects.filter(
            warehouse__code="wh-moscow",
            expires_on__gte=timezone.localdate(),
            quantity__gte=F("reserved") + 100,
        )
        .values("product_id")
        .distinct()
    )
    candidates = Product.objects.filter(
        is_active=True,
        prescription_only=False,
        control_class="",
        pk__in=in_stock,
        prices__price_list__is_base=True,
    )
    # One pack size of each name: the preferred names first, then any (a small test catalog).
    chosen: dict[str, Product] = {}
    for product in candidates.filter(trade_name__in=WEEKLY_LIST).order_by("code"):
        chosen.setdefault(product.trade_name, product)
    picked = [chosen[name] for name in WEEKLY_LIST if name in chosen][:4]
    for product in candidates.exclude(trade_name__in=WEEKLY_LIST).order_by("code")[:200]:
        if len(picked) == 4:
            break
        if all(p.trade_name != product.trade_name for p in picked):
            picked.append(product)
    saved = saved_lists.create_list(partner=partner, name="Еженедельный заказ")
    for packs, product in zip((5, 3, 2, 4), picked, strict=False):
        saved_lists.add_to_list(
            partner=partner,
            list_id=saved.pk,
            product_code=product.code,
            quantity=packs * product.order_multiple,
        )


def _demo_orders() -> int:
    """Three orders of the demo pharmacy — two by invoice, one on deferral — placed through the
    order service once, so the back office has invoices to match a bank statement against
    (`kabinet pharma statement-sample`) and a deferral debt for «Дебиторка»."""
    org = Organisation.objects.get(inn=ORG["inn"])
    if Order.objects.filter(organisation=org).exists():
        return 0
    if not org.credit_limit_kopecks:
        # A deferral limit for «Дебиторка»; the back office may change it afterwards.
        org.credit_limit_kopecks = 500_000_00
        org.save(update_fields=["credit_limit_kopecks"])
    partner = PartnerUser.objects.select_related("organisation", "user").get(
        user__username=ADMIN_LOGIN
    )
    address = DeliveryAddress.objects.filter(organisation=org).order_by("id").first()
    assert address is not None
    products = list(
        Offer.objects.filter(
            warehouse__branch__code="moscow",
            product__is_active=True,
            product__prescription_only=False,
            product__control_class=ControlClass.NONE,
            product__jnvlp=False,
            quantity__gte=F("reserved") + 200,
        )
        .values_list("product__code", "product__order_multiple")
        .order_by("product__code")
        .distinct()[:12]
    )
    placed = 0
    for method, chosen in [
        (PaymentMethod.INVOICE, products[0:4]),
        (PaymentMethod.INVOICE, products[4:8]),
        (PaymentMethod.DEFERRED, products[8:12]),
    ]:
        for code, multiple in chosen:
            packs = -(-40 // multiple) * multiple  # about 40 packs, in whole cartons
            order_services.add_to_cart(
                partner=partner, address_id=address.pk, product_code=code, quantity=packs
            )
        try:
            order_services.place_order(
                partner=partner, address_id=address.pk, payment_method=method
            )
        except DomainError:
            # A smaller catalog (the tests') may not reach the branch's minimum: no order then.
            for code, _multiple in chosen:
                order_services.remove_from_cart(
                    partner=partner, address_id=address.pk, product_code=code
                )
        else:
            placed += 1
    return placed


@transaction.atomic
def _load() -> dict[str, int]:
    _branches()
    _organisation()
    _manager()
    _queue_examples()
    catalog = load_catalog(price_groups={ORG["inn"]: "standard"})
    _saved_list()
    return catalog


def load() -> list[str]:
    catalog = _load()
    # Placing an order is a transaction of its own (durable), after the catalog is committed.
    _demo_orders()
    return [
        f"фарма, кабинет партнёра /pharma/login/: администратор аптеки {ADMIN_LOGIN}, "
        f"сотрудник {COLLEAGUE_LOGIN}; пароль {PASSWORD}",
        f"фарма, менеджер (бэк-офис /admin/, очереди /pharma/backoffice/): {MANAGER_LOGIN}, "
        f"пароль {PASSWORD}",
        f"фарма, каталог: {catalog['products']} товаров на {catalog['warehouses']} складах, "
        f"{catalog['promotions']} акций",
        "фарма, выписки банка /pharma/backoffice/statements/: пример "
        "kabinet/pharma/payments/samples/statement_demo_cp1251.txt или "
        "`kabinet pharma statement-sample` для открытых счетов этой базы",
    ]
