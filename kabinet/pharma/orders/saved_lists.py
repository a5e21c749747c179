"""Saved order lists (SPEC P-NEXT-3): «Еженедельный заказ», «Сезон ОРВИ» — a cart in one click.

A list belongs to the organisation: every user of it with the ORDER authority sees and changes
its lists, and another organisation's list is NotFound, as its order is (`list_of`). A list
holds products and packs, not prices: it is priced for a delivery address when it is shown
(`priced_lines`) and when it is put into a cart (`list_to_cart`).

Decisions:

* quantities follow the cart's rules (whole packs, a multiple of the product's order multiple,
  at most `rules.MAX_LINE_QUANTITY` a line); adding a product already listed adds its packs;
* a list saved from a cart or an order copies its lines as they are; the list page flags a
  line that cannot be ordered now (withdrawn, no price, no licence, a changed multiple);
* «В корзину» adds what it can on top of the address's cart and reports the rest: withdrawn,
  no price, a price over the ceiling, no licence, nothing free at the serving warehouse, or a
  cart total that breaks the quantity rules. A line with fewer packs free than listed is added
  in full and flagged, as quick order does: the cart shows the shortage;
* names are unique in the organisation whatever the letter case, «ё» or spaces.

Line writes lock the list's row, so two buyers adding to one list never collide.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kabinet.core.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from kabinet.pharma import selectors as partner_selectors
from kabinet.pharma.catalog.models import Product
from kabinet.pharma.models import Authority, PartnerUser
from kabinet.pharma.orders import selectors as order_selectors
from kabinet.pharma.orders import services
from kabinet.pharma.orders.models import CartLine, SavedList, SavedListLine
from kabinet.pharma.orders.selectors import CartLineView, CartView

MAX_NAME_LENGTH = 100
MAX_LISTS = 100
MAX_LINES = 500


class NameTaken(Conflict):
    default_code = "list_name_taken"


# --- names ----------------------------------------------------------------------------------


def name_key(name: str) -> str:
    """The name as compared: «Сезон  ОРВИ», «сезон орви» and «Сезон ОРВИ» are one name."""
    return " ".join(name.split()).casefold().replace("ё", "е")


def clean_name(name: object) -> str:
    """The name as stored (spaces collapsed), or ValidationFailed with the Russian reason."""
    cleaned = " ".join(name.split()) if isinstance(name, str) else ""
    if not cleaned:
        raise ValidationFailed(_("Укажите название списка."), field="name")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValidationFailed(
            _("Название списка — не длиннее %(n)d символов.") % {"n": MAX_NAME_LENGTH},
            field="name",
        )
    return cleaned


def _name_taken(name: str) -> NameTaken:
    return NameTaken(_("Список «%(name)s» уже есть. Выберите другое название.") % {"name": name})


# --- selectors ------------------------------------------------------------------------------


def lists_of(partner: PartnerUser) -> QuerySet[SavedList]:
    """The organisation's lists by name, each with its `line_count`; only for ORDER."""
    partner_selectors.require_authority(partner, Authority.ORDER)
    return (
        SavedList.objects.filter(organisation_id=partner.organisation_id)
        .select_related("created_by")
        .annotate(line_count=Count("lines"))
        .order_by("name_key", "id")
    )


def list_of(partner: PartnerUser, list_id: int) -> SavedList:
    """A list of the partner's organisation; NotFound for anyone else's."""
    found = lists_of(partner).filter(pk=list_id).first()
    if found is None:
        raise NotFound(_("Список не найден."))
    return found


def lines_of(saved_list: SavedList) -> list[SavedListLine]:
    return list(
        SavedListLine.objects.filter(saved_list=saved_list)
        .select_related("product", "product__manufacturer")
        .order_by("added_at", "id")
    )


def priced_lines(
    *, partner: PartnerUser, saved_list: SavedList, address_id: int, now: datetime | None = None
) -> CartView:
    """The list priced for one of the organisation's addresses, as its cart would show it."""
    address = partner_selectors.address_of(partner, address_id)
    return order_selectors.price_lines(
        organisation=partner.organisation,
        address=address,
        items=[(line.product, line.quantity) for line in lines_of(saved_list)],
        now=now or timezone.now(),
    )


def unavailable_reason(line: CartLineView) -> str | None:
    """Why a priced line cannot go into the cart now, in Russian; None if it can."""
    if not line.product.is_active:
        return _("Товар снят с продажи.")
    if line.quote is None:
        return _("Нет цены для вашей организации.")
    if line.quote.violation:
        return line.quote.violation
    if line.licence_problems:
        return " ".join(line.licence_problems)
    if line.free <= 0:
        return _("Нет в наличии на складе.")
    return None


# --- lists ----------------------------------------------------------------------------------


def _create(
    *, partner: PartnerUser, name: object, items: Sequence[tuple[Product, int]]
) -> SavedList:
    partner_selectors.require_authority(partner, Authority.ORDER)
    cleaned = clean_name(name)
    key = name_key(cleaned)
    lists = SavedList.objects.filter(organisation_id=partner.organisation_id)
    existing = lists.filter(name_key=key).first()
    if existing is not None:
        raise _name_taken(existing.name)
    if lists.count() >= MAX_LISTS:
        raise RuleViolation(
            _("У организации не может быть больше %(n)d списков. Удалите ненужные.")
            % {"n": MAX_LISTS},
            code="too_many_lists",
        )
    if len(items) > MAX_LINES:
        raise RuleViolation(
            _("В списке не может быть больше %(n)d товаров.") % {"n": MAX_LINES},
            code="too_many_lines",
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            saved = SavedList.objects.create(
                organisation_id=partner.organisation_id,
                name=cleaned,
                name_key=key,
                created_by=partner.user,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        # A colleague saved a list of that name a moment ago.
        raise _name_taken(cleaned) from None
    SavedListLine.objects.bulk_create(
        SavedListLine(saved_list=saved, product=product, quantity=quantity, added_at=now)
        for product, quantity in items
    )
    return saved


@transaction.atomic
def create_list(*, partner: PartnerUser, name: object) -> SavedList:
    """An empty list of the partner's organisation."""
    return _create(partner=partner, name=name, items=[])


@transaction.atomic
def create_list_from_cart(*, partner: PartnerUser, address_id: int, name: object) -> SavedList:
    """«Сохранить корзину как список»: the address's cart lines, the cart left as it is."""
    partner_selectors.require_authority(partner, Authority.ORDER)
    cart = order_selectors.cart_for(partner, address_id)
    lines = (
        list(
            CartLine.objects.filter(cart=cart).select_related("product").order_by("added_at", "id")
        )
        if cart
        else []
    )
    if not lines:
        raise RuleViolation(_("Корзина пуста: сохранять нечего."), code="cart_empty")
    return _create(
        partner=partner, name=name, items=[(line.product, line.quantity) for line in lines]
    )


@transaction.atomic
def create_list_from_order(*, partner: PartnerUser, order_id: int, name: object) -> SavedList:
    """«Сохранить как список»: the products and packs of one of the organisation's orders."""
    partner_selectors.require_authority(partner, Authority.ORDER)
    order = order_selectors.order_of(partner, order_id)
    lines = order.lines.select_related("product").order_by("id")
    return _create(
        partner=partner, name=name, items=[(line.product, line.quantity) for line in lines]
    )


def _locked(partner: PartnerUser, list_id: int) -> SavedList:
    """The organisation's list, locked for this transaction (NotFound for another's)."""
    saved = list_of(partner, list_id)
    return SavedList.objects.select_for_update().get(pk=saved.pk)


def _touch(saved: SavedList) -> None:
    saved.updated_at = timezone.now()
    saved.save(update_fields=["updated_at"])


@transaction.atomic
def rename_list(*, partner: PartnerUser, list_id: int, name: object) -> SavedList:
    """Give a list another name, unique in the organisation."""
    saved = _locked(partner, list_id)
    cleaned = clean_name(name)
    key = name_key(cleaned)
    other = (
        SavedList.objects.filter(organisation_id=saved.organisation_id, name_key=key)
        .exclude(pk=saved.pk)
        .first()
    )
    if other is not None:
        raise _name_taken(other.name)
    saved.name, saved.name_key, saved.updated_at = cleaned, key, timezone.now()
    try:
        with transaction.atomic():
            saved.save(update_fields=["name", "name_key", "updated_at"])
    except IntegrityError:
        raise _name_taken(cleaned) from None
    return saved


@transaction.atomic
def delete_list(*, partner: PartnerUser, list_id: int) -> str:
    """Delete a list with its lines; returns its name for the message."""
    saved = _locked(partner, list_id)
    name = saved.name
    saved.delete()
    return name


# --- lines ----------------------------------------------------------------------------------


def _put(saved: SavedList, product: Product, quantity: int) -> SavedListLine:
    line = SavedListLine.objects.filter(saved_list=saved, product=product).first()
    if line is None:
        if SavedListLine.objects.filter(saved_list=saved).count() >= MAX_LINES:
            raise RuleViolation(
                _("В списке не может быть больше %(n)d товаров.") % {"n": MAX_LINES},
                code="too_many_lines",
            )
        line = SavedListLine.objects.create(saved_list=saved, product=product, quantity=quantity)
    else:
        line.quantity = quantity
        line.save(update_fields=["quantity"])
    _touch(saved)
    return line


@transaction.atomic
def add_to_list(
    *, partner: PartnerUser, list_id: int, product_code: str, quantity: int
) -> SavedListLine:
    """Add packs of a product to a list (on top of what is listed), under the cart's rules."""
    saved = _locked(partner, list_id)
    product = services.orderable_product(product_code)
    services.check_quantity(product, quantity)
    existing = SavedListLine.objects.filter(saved_list=saved, product=product).first()
    total = quantity + (existing.quantity if existing else 0)
    services.check_quantity(product, total)
    return _put(saved, product, total)


@transaction.atomic
def set_list_quantity(
    *, partner: PartnerUser, list_id: int, product_code: str, quantity: int
) -> SavedListLine | None:
    """Set a line's packs; 0 removes the line (and returns None)."""
    saved = _locked(partner, list_id)
    if quantity == 0 and not isinstance(quantity, bool):
        SavedListLine.objects.filter(saved_list=saved, product__code=product_code).delete()
        _touch(saved)
        return None
    product = services.orderable_product(product_code)
    services.check_quantity(product, quantity)
    return _put(saved, product, quantity)


@transaction.atomic
def remove_from_list(*, partner: PartnerUser, list_id: int, product_code: str) -> None:
    """Remove a product from a list; removing an absent one is not an error."""
    saved = _locked(partner, list_id)
    SavedListLine.objects.filter(saved_list=saved, product__code=product_code).delete()
    _touch(saved)


# --- «В корзину» ----------------------------------------------------------------------------


@transaction.atomic
def list_to_cart(
    *, partner: PartnerUser, list_id: int, address_id: int, now: datetime | None = None
) -> services.CartFill:
    """Add every line that can be ordered now to the address's cart; report the others."""
    saved = list_of(partner, list_id)
    view = priced_lines(partner=partner, saved_list=saved, address_id=address_id, now=now)
    if not view.lines:
        raise RuleViolation(_("Список пуст: добавлять в корзину нечего."), code="list_empty")
    if view.serving is None:
        raise RuleViolation(
            _("Адрес доставки не обслуживается ни одним филиалом: товары не добавлены."),
            code="address_not_served",
        )
    refused = {
        line.product.pk: reason for line in view.lines if (reason := unavailable_reason(line))
    }
    fill = services.add_lines_to_cart(
        partner=partner,
        address_id=view.address.pk,
        items=[(line.product, line.quantity) for line in view.lines],
        refused=refused,
    )
    free = {line.product.code: line.free for line in view.lines}
    for code, packs in fill.in_cart.items():
        if packs > free[code]:
            fill.warnings[code] = _(
                "Добавлен, но на складе свободно только %(free)d уп.: корзина покажет нехватку."
            ) % {"free": free[code]}
    return fill
