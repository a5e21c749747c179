"""Loyalty data: program configuration, stores and tills, cards, members, the points ledger.

Units: money in integer kopecks, points in integer hundredths of a point (1 point = 1 RUB),
rates in integer basis points. Times are UTC; a store's local date comes from its time zone.

Scale-out (ARCHITECTURE): the member's `Account` id is the distribution key of every table
written per purchase (`Account`, `LedgerEntry`, `Purchase`, `PurchaseReturn`, `PersonalOffer`):
each carries `account_id` and no write touches two members. Cards, stores, terminals and the
program configuration are small reference tables.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kabinet.loyalty import rules

_SETTINGS_CACHE_KEY = "loyalty:program-settings:v1"
# Every till reads the settings on every purchase; a stale copy for this long after a
# back-office change is acceptable (each process keeps its own copy with the local cache).
_SETTINGS_CACHE_SECONDS = 60


class ProgramSettings(models.Model):
    """The program's one row of settings (L-BO-1); defaults are the seed's numbers."""

    base_rate_bp = models.PositiveIntegerField(
        _("базовая ставка, б.п."), default=50, help_text=_("50 б.п. = 0,5 %")
    )
    first_month_multiplier = models.PositiveSmallIntegerField(
        _("множитель первого месяца"), default=2
    )
    first_month_days = models.PositiveSmallIntegerField(_("дней первого месяца"), default=30)
    birthday_bonus_bp = models.PositiveIntegerField(_("бонус ко дню рождения, б.п."), default=200)
    birthday_window_days = models.PositiveSmallIntegerField(
        _("окно дня рождения, дней в каждую сторону"), default=3
    )
    premium_bonus_bp = models.PositiveIntegerField(
        _("бонус за премиальные товары, б.п."), default=200
    )
    max_redeem_share_bp = models.PositiveIntegerField(
        _("доля чека, оплачиваемая баллами, б.п."), default=rules.BP_WHOLE
    )
    card_price_kopecks = models.PositiveIntegerField(_("цена карты, коп."), default=2500)
    card_free_threshold_kopecks = models.PositiveIntegerField(
        _("карта бесплатно при покупке от, коп."), default=50000
    )
    hold_expiry_minutes = models.PositiveIntegerField(_("срок резерва баллов, мин."), default=30)

    class Meta:
        verbose_name = _("настройки программы")
        verbose_name_plural = _("настройки программы")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="loyalty_settings_single_row"),
            models.CheckConstraint(
                condition=Q(max_redeem_share_bp__lte=rules.BP_WHOLE),
                name="loyalty_settings_share_le_whole",
            ),
            models.CheckConstraint(
                condition=Q(first_month_multiplier__gte=1),
                name="loyalty_settings_multiplier_ge_1",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Настройки программы"))

    @classmethod
    def current(cls) -> ProgramSettings:
        """The settings row (created with the defaults on first use), cached briefly."""
        found = cache.get(_SETTINGS_CACHE_KEY)
        if found is None:
            found, _created = cls.objects.get_or_create(pk=1)
            cache.set(_SETTINGS_CACHE_KEY, found, _SETTINGS_CACHE_SECONDS)
        return found

    @classmethod
    def forget_cached(cls) -> None:
        cache.delete(_SETTINGS_CACHE_KEY)

    def to_rules(self) -> rules.ProgramSettings:
        return rules.ProgramSettings(
            base_rate_bp=self.base_rate_bp,
            first_month_multiplier=self.first_month_multiplier,
            first_month_days=self.first_month_days,
            birthday_bonus_bp=self.birthday_bonus_bp,
            birthday_window_days=self.birthday_window_days,
            premium_bonus_bp=self.premium_bonus_bp,
            max_redeem_share_bp=self.max_redeem_share_bp,
        )


class Level(models.Model):
    """A privilege level (L-EARN-8): reached by spending over the previous calendar month."""

    name = models.CharField(_("название"), max_length=100)
    threshold_kopecks = models.PositiveBigIntegerField(
        _("порог трат за прошлый месяц, коп."), unique=True
    )
    rate_bp = models.PositiveIntegerField(_("ставка, б.п."))

    class Meta:
        verbose_name = _("уровень привилегий")
        verbose_name_plural = _("уровни привилегий")
        ordering = ["threshold_kopecks"]

    def __str__(self) -> str:
        return self.name


class PremiumGood(models.Model):
    """L-EARN-3: a product that earns the premium bonus, within dates, optionally per region."""

    sku = models.CharField(_("артикул"), max_length=64, db_index=True)
    name = models.CharField(_("название"), max_length=200)
    valid_from = models.DateField(_("действует с"), null=True, blank=True)
    valid_to = models.DateField(_("действует по"), null=True, blank=True)
    region = models.ForeignKey(
        "geo.Region",
        verbose_name=_("регион"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("Пусто — во всех регионах."),
    )

    class Meta:
        verbose_name = _("премиальный товар")
        verbose_name_plural = _("премиальные товары")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class PromoGood(models.Model):
    """A promo good (акционный товар) shown to members of a region (L-CAB-7)."""

    sku = models.CharField(_("артикул"), max_length=64)
    name = models.CharField(_("название"), max_length=200)
    description = models.TextField(_("описание"), blank=True)
    region = models.ForeignKey(
        "geo.Region",
        verbose_name=_("регион"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text=_("Пусто — во всех регионах."),
    )
    valid_from = models.DateField(_("действует с"), null=True, blank=True)
    valid_to = models.DateField(_("действует по"), null=True, blank=True)

    class Meta:
        verbose_name = _("акционный товар")
        verbose_name_plural = _("акционные товары")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Store(models.Model):
    """A store. It earns and redeems only if it takes part and its region does (L-EARN-7)."""

    code = models.CharField(_("код"), max_length=32, unique=True)
    name = models.CharField(_("название"), max_length=200)
    address = models.CharField(_("адрес"), max_length=300, blank=True)
    city = models.ForeignKey(
        "geo.City", verbose_name=_("город"), null=True, blank=True, on_delete=models.PROTECT
    )
    region = models.ForeignKey("geo.Region", verbose_name=_("регион"), on_delete=models.PROTECT)
    lat = models.DecimalField(_("широта"), max_digits=9, decimal_places=6, null=True, blank=True)
    lon = models.DecimalField(_("долгота"), max_digits=9, decimal_places=6, null=True, blank=True)
    timezone = models.CharField(_("часовой пояс"), max_length=40)
    participates = models.BooleanField(_("участвует в программе"), default=True)

    class Meta:
        verbose_name = _("магазин")
        verbose_name_plural = _("магазины")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def takes_part(self) -> bool:
        """Effective participation: the store's flag and its region's."""
        return self.participates and self.region.loyalty_active


class Terminal(models.Model):
    """A till's credential, bound to one store (L-POS-3). Only the token's SHA-256 is kept."""

    store = models.ForeignKey(
        Store, verbose_name=_("магазин"), on_delete=models.PROTECT, related_name="terminals"
    )
    name = models.CharField(_("название"), max_length=100)
    token_hash = models.CharField(_("хеш токена"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("создан"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("отозван"), null=True, blank=True)

    class Meta:
        verbose_name = _("кассовый терминал")
        verbose_name_plural = _("кассовые терминалы")
        ordering = ["store__code", "name"]

    def __str__(self) -> str:
        return f"{self.store.code} / {self.name}"


class CardBatch(models.Model):
    """A print run of plastic cards (L-CARD-3)."""

    name = models.CharField(_("название"), max_length=100, unique=True)
    created_at = models.DateTimeField(_("создана"), auto_now_add=True)
    size = models.PositiveIntegerField(_("количество карт"), default=0)

    class Meta:
        verbose_name = _("партия карт")
        verbose_name_plural = _("партии карт")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class CardState(models.TextChoices):
    ISSUED = "issued", _("выпущена")
    ACTIVE = "active", _("активна")
    BLOCKED = "blocked", _("заблокирована")


class Card(models.Model):
    """A plastic or virtual card (L-CARD). At most one active card per member (L-ACT-5)."""

    number = models.CharField(_("номер"), max_length=16, unique=True)
    state = models.CharField(
        _("состояние"), max_length=16, choices=CardState.choices, default=CardState.ISSUED
    )
    virtual = models.BooleanField(_("виртуальная"), default=False)
    batch = models.ForeignKey(
        CardBatch,
        verbose_name=_("партия"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cards",
    )
    account = models.ForeignKey(
        "Account",
        verbose_name=_("участник"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cards",
    )
    # Behind the rotating QR code of a virtual card (L-CARD-4); every card gets one so that a
    # plastic card can later be shown on screen too.
    totp_secret = models.BinaryField(_("секрет QR-кода"), max_length=32, editable=False)
    # The TOTP step of the last accepted QR code and who accepted it: a code is refused once a
    # later one was used, and an equal one unless the same till scans it again.
    last_qr_step = models.BigIntegerField(null=True, blank=True, editable=False)
    last_qr_terminal_id = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("создана"), auto_now_add=True)
    sold_at = models.DateTimeField(_("продана"), null=True, blank=True)
    activated_at = models.DateTimeField(_("активирована"), null=True, blank=True)
    blocked_at = models.DateTimeField(_("заблокирована"), null=True, blank=True)
    block_reason = models.CharField(_("причина блокировки"), max_length=200, blank=True)
    replaced_by = models.OneToOneField(
        "self",
        verbose_name=_("заменена картой"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaces",
    )

    class Meta:
        verbose_name = _("карта")
        verbose_name_plural = _("карты")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(state="active"),
                name="loyalty_card_one_active_per_account",
            ),
            models.CheckConstraint(
                condition=~Q(state="active") | Q(account__isnull=False),
                name="loyalty_card_active_is_bound",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Account(models.Model):
    """A member's loyalty account: the points belong to it, not to a card (L-CARD-2).

    `balance` is a cache of the sum of the ledger, updated in the transaction that appends
    to it (`kabinet loyalty reconcile` proves they agree). `held` is what open two-phase
    purchases reserve (L-POS-4). A return may take the balance below zero (L-SPEND-3); a
    redemption never does, which the conditional UPDATE in the services enforces.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("пользователь"),
        on_delete=models.PROTECT,
        related_name="loyalty_account",
    )
    first_name = models.CharField(_("имя"), max_length=100)
    birth_date = models.DateField(_("дата рождения"), null=True, blank=True)
    city = models.ForeignKey(
        "geo.City", verbose_name=_("город"), null=True, blank=True, on_delete=models.PROTECT
    )
    activated_at = models.DateTimeField(_("активирован"))
    level = models.ForeignKey(
        Level, verbose_name=_("уровень"), null=True, blank=True, on_delete=models.PROTECT
    )
    balance = models.BigIntegerField(_("баланс, сотые балла"), default=0)
    held = models.BigIntegerField(_("в резерве, сотые балла"), default=0)

    class Meta:
        verbose_name = _("счёт участника")
        verbose_name_plural = _("счета участников")
        constraints = [
            models.CheckConstraint(condition=Q(held__gte=0), name="loyalty_account_held_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} #{self.pk}"

    @property
    def available(self) -> int:
        """Points that may pay now, in hundredths (never below zero)."""
        return max(0, self.balance - self.held)


class LedgerKind(models.TextChoices):
    EARN = "earn", _("начисление")
    REDEEM = "redeem", _("списание")
    RETURN_EARN = "return_earn", _("возврат: отмена начисления")
    RETURN_REDEEM = "return_redeem", _("возврат: возврат списанного")
    ADJUST = "adjust", _("корректировка")
    # Moving points between two members' accounts (merging duplicates); a card
    # replacement moves nothing, since the points belong to the account.
    TRANSFER_IN = "transfer_in", _("перевод: зачисление")
    TRANSFER_OUT = "transfer_out", _("перевод: списание")
    EXPIRE = "expire", _("сгорание")


class LedgerEntry(models.Model):
    """One movement of a member's points; append-only, corrections are new entries.

    Reserving points for a held purchase (L-POS-4) is not a movement: it lives in
    `Account.held` and the purchase's status, and becomes `redeem` on confirmation.
    """

    account = models.ForeignKey(
        Account, verbose_name=_("счёт"), on_delete=models.PROTECT, related_name="ledger"
    )
    kind = models.CharField(_("вид"), max_length=16, choices=LedgerKind.choices)
    amount = models.BigIntegerField(_("сумма, сотые балла"))
    reason = models.CharField(_("основание"), max_length=300, blank=True)
    purchase = models.ForeignKey(
        "Purchase",
        verbose_name=_("покупка"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger",
    )
    created_at = models.DateTimeField(_("время"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("сотрудник"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("проводка")
        verbose_name_plural = _("журнал баллов")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {rules.kopecks_to_rub_str(self.amount)}"


class PurchaseStatus(models.TextChoices):
    HELD = "held", _("резерв")
    COMMITTED = "committed", _("проведена")
    CANCELLED = "cancelled", _("отменена")
    EXPIRED = "expired", _("резерв истёк")


class Purchase(models.Model):
    """A receipt recorded against a member's account (L-POS, L-CAB-3).

    `lines` holds per line: sku, name, quantity (decimal string), price, amount (kopecks),
    earned and redeemed (its shares, hundredths) and returned (kopecks returned so far).
    """

    account = models.ForeignKey(
        Account, verbose_name=_("счёт"), on_delete=models.PROTECT, related_name="purchases"
    )
    card = models.ForeignKey(
        Card, verbose_name=_("карта"), on_delete=models.PROTECT, related_name="purchases"
    )
    store = models.ForeignKey(Store, verbose_name=_("магазин"), on_delete=models.PROTECT)
    terminal = models.ForeignKey(Terminal, verbose_name=_("терминал"), on_delete=models.PROTECT)
    receipt_number = models.CharField(_("номер чека"), max_length=64)
    purchased_at = models.DateTimeField(_("время покупки"))
    local_date = models.DateField(_("дата в магазине"))
    total_kopecks = models.BigIntegerField(_("сумма чека, коп."))
    lines = models.JSONField(_("строки"), default=list)
    earned = models.BigIntegerField(_("начислено, сотые балла"), default=0)
    redeemed = models.BigIntegerField(_("списано, сотые балла"), default=0)
    breakdown = models.JSONField(_("расшифровка"), default=list)
    messages = models.JSONField(_("сообщения"), default=list)
    status = models.CharField(_("статус"), max_length=16, choices=PurchaseStatus.choices)
    hold_expires_at = models.DateTimeField(_("резерв до"), null=True, blank=True)
    created_at = models.DateTimeField(_("записана"))

    class Meta:
        verbose_name = _("покупка")
        verbose_name_plural = _("покупки")
        ordering = ["-purchased_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["terminal", "receipt_number"], name="loyalty_purchase_receipt_per_terminal"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-purchased_at"]),
            models.Index(
                fields=["hold_expires_at"],
                condition=Q(status="held"),
                name="loyalty_purchase_open_holds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_number} ({self.store_id})"


class PurchaseReturn(models.Model):
    """A full or partial return of a purchase (L-SPEND-3)."""

    purchase = models.ForeignKey(
        Purchase, verbose_name=_("покупка"), on_delete=models.PROTECT, related_name="returns"
    )
    account = models.ForeignKey(
        Account, verbose_name=_("счёт"), on_delete=models.PROTECT, related_name="+"
    )
    lines = models.JSONField(_("строки"), default=list)
    amount_kopecks = models.BigIntegerField(_("сумма возврата, коп."))
    taken_back = models.BigIntegerField(_("отменено начисленных, сотые балла"))
    given_back = models.BigIntegerField(_("возвращено списанных, сотые балла"))
    created_at = models.DateTimeField(_("время"))

    class Meta:
        verbose_name = _("возврат")
        verbose_name_plural = _("возвраты")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.purchase_id} −{rules.kopecks_to_rub_str(self.amount_kopecks)}"


class OfferKind(models.TextChoices):
    PERCENT = "percent", _("процент")
    FIXED = "fixed", _("фиксированные баллы")


class PersonalOffer(models.Model):
    """L-EARN-5: extra points for one member on goods or categories, within dates."""

    account = models.ForeignKey(
        Account, verbose_name=_("участник"), on_delete=models.CASCADE, related_name="offers"
    )
    title = models.CharField(_("заголовок"), max_length=200)
    kind = models.CharField(_("вид"), max_length=16, choices=OfferKind.choices)
    skus = models.JSONField(_("артикулы"), default=list, blank=True)
    categories = models.JSONField(_("категории"), default=list, blank=True)
    bonus_bp = models.PositiveIntegerField(_("доп. ставка, б.п."), default=0)
    fixed_points = models.PositiveBigIntegerField(_("фиксированные баллы, сотые"), default=0)
    valid_from = models.DateField(_("действует с"))
    valid_to = models.DateField(_("действует по"))

    class Meta:
        verbose_name = _("персональное предложение")
        verbose_name_plural = _("персональные предложения")
        ordering = ["-valid_from"]
        indexes = [models.Index(fields=["account", "valid_to"])]

    def __str__(self) -> str:
        return self.title

    def to_rules(self) -> rules.PersonalOffer:
        return rules.PersonalOffer(
            offer_id=str(self.pk),
            kind=rules.OfferKind(self.kind),
            skus=frozenset(self.skus),
            categories=frozenset(self.categories),
            bonus_bp=self.bonus_bp,
            fixed_points_hundredths=self.fixed_points,
            valid_from=self.valid_from,
            valid_to=self.valid_to,
            title=self.title,
        )


# --- members: registration, consents, preferences, devices (L-ACT, L-AUTH, L-CAB-6) ----------


class ActivationChannel(models.TextChoices):
    """How a member came to the program: the four activation channels (L-ACT)."""

    WEB = "web", _("сайт")
    APP = "app", _("приложение")
    CALL_CENTRE = "call_centre", _("колл-центр")
    SMS = "sms", _("SMS на 9002")


class MemberProfile(models.Model):
    """A member's settings beside the account: marketing channels and sign-in security.

    Marketing goes only where the member allowed it (L-CAB-6); security messages (codes,
    password changes) always go, whatever is set here.
    """

    account = models.OneToOneField(
        Account, verbose_name=_("счёт"), on_delete=models.CASCADE, related_name="profile"
    )
    channel = models.CharField(
        _("канал регистрации"),
        max_length=16,
        choices=ActivationChannel.choices,
        default=ActivationChannel.WEB,
    )
    marketing_email = models.BooleanField(_("реклама по e-mail"), default=False)
    marketing_sms = models.BooleanField(_("реклама по SMS"), default=False)
    marketing_voice = models.BooleanField(_("реклама автоматическим звонком"), default=False)
    marketing_push = models.BooleanField(_("реклама push-уведомлениями"), default=False)
    # L-AUTH-2: "the member can also turn that on permanently".
    always_confirm_login = models.BooleanField(_("всегда подтверждать вход по SMS"), default=False)

    class Meta:
        verbose_name = _("настройки участника")
        verbose_name_plural = _("настройки участников")

    def __str__(self) -> str:
        return str(self.account)


class ConsentKind(models.TextChoices):
    PERSONAL_DATA = "personal_data", _("обработка персональных данных")
    RULES = "rules", _("правила программы")


class Consent(models.Model):
    """A consent the member gave, with the version of the text and when (L-ACT-1).

    Append-only: a new version of a text is accepted as a new row.
    """

    account = models.ForeignKey(
        Account, verbose_name=_("участник"), on_delete=models.CASCADE, related_name="consents"
    )
    kind = models.CharField(_("согласие"), max_length=32, choices=ConsentKind.choices)
    version = models.CharField(_("версия текста"), max_length=32)
    accepted_at = models.DateTimeField(_("принято"))
    channel = models.CharField(_("канал"), max_length=16, choices=ActivationChannel.choices)
    ip = models.GenericIPAddressField(_("адрес"), null=True, blank=True)

    class Meta:
        verbose_name = _("согласие")
        verbose_name_plural = _("согласия")
        ordering = ["-accepted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "version"], name="loyalty_consent_once_per_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class KnownDevice(models.Model):
    """A browser or phone that confirmed a sign-in by SMS (L-AUTH-2).

    The device keeps a random token in a long-lived signed cookie; only its SHA-256 is stored.
    A sign-in from a browser without a known token for that user asks for an SMS code.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("пользователь"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    token_hash = models.CharField(_("хеш метки"), max_length=64, unique=True, editable=False)
    user_agent = models.CharField(_("браузер"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("добавлено"))
    last_seen_at = models.DateTimeField(_("последний вход"))

    class Meta:
        verbose_name = _("известное устройство")
        verbose_name_plural = _("известные устройства")
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.user_agent[:40]}"


class InboundSmsOutcome(models.TextChoices):
    ACTIVATED = "activated", _("карта активирована")
    REJECTED = "rejected", _("отклонено")


class InboundSms(models.Model):
    """An SMS to 9002 and what came of it (L-ACT-4); one row per gateway message id.

    The unique (source, message_id) makes the endpoints idempotent: a gateway retrying a
    delivery gets the first result back and nothing is activated twice.
    """

    source = models.CharField(_("шлюз"), max_length=16)
    message_id = models.CharField(_("идентификатор сообщения"), max_length=128)
    sender = models.CharField(_("отправитель"), max_length=32)
    recipient = models.CharField(_("получатель"), max_length=32, blank=True)
    text = models.CharField(_("текст"), max_length=1000)
    received_at = models.DateTimeField(_("получено"))
    outcome = models.CharField(
        _("результат"), max_length=16, choices=InboundSmsOutcome.choices, blank=True
    )
    code = models.CharField(_("код результата"), max_length=64, blank=True)
    reply = models.TextField(_("ответ"), blank=True)
    account = models.ForeignKey(
        Account,
        verbose_name=_("участник"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("входящее SMS")
        verbose_name_plural = _("входящие SMS")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "message_id"], name="loyalty_inbound_sms_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.text[:40]}"


# --- back-office support: adjustments with a second pair of eyes (L-BO-3) ----------------------


class AdjustmentStatus(models.TextChoices):
    PENDING = "pending", _("ждёт подтверждения")
    POSTED = "posted", _("проведена")
    REJECTED = "rejected", _("отклонена")


class AdjustmentRequest(models.Model):
    """A manual correction of a member's points asked for by support (L-BO-3).

    Small ones are posted at once; above the threshold another staff member approves it
    (`kabinet.loyalty.services.support`), and only then is the ledger entry written.
    """

    account = models.ForeignKey(
        Account, verbose_name=_("счёт"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.BigIntegerField(_("сумма, сотые балла"))
    reason = models.CharField(_("основание"), max_length=300)
    status = models.CharField(
        _("статус"),
        max_length=16,
        choices=AdjustmentStatus.choices,
        default=AdjustmentStatus.PENDING,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("запросил"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("запрошена"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("решил"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("решение"), null=True, blank=True)
    decision_reason = models.CharField(_("причина решения"), max_length=300, blank=True)
    entry = models.OneToOneField(
        LedgerEntry,
        verbose_name=_("проводка"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("заявка на корректировку")
        verbose_name_plural = _("заявки на корректировку")
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(
                fields=["requested_at"],
                condition=Q(status="pending"),
                name="loyalty_adjustment_pending",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount=0), name="loyalty_adjustment_amount_not_zero"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {rules.kopecks_to_rub_str(self.amount)}"


# --- mobile app: member bearer tokens and push tokens (SPEC §4 "Mobile app API") -------------


class AppToken(models.Model):
    """A member's bearer token for the mobile app. Only the SHA-256 of the token is kept.

    Sliding expiry: every use moves `expires_at` forward (`kabinet.loyalty.services.app_tokens`).
    `auth_hash` is the user's session hash when the token was issued: a password change, a
    password reset or "sign out everywhere" changes it, and the token stops working with the
    web sessions.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("пользователь"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    token_hash = models.CharField(_("хеш токена"), max_length=64, unique=True, editable=False)
    auth_hash = models.CharField(max_length=128, editable=False)
    device_name = models.CharField(_("устройство"), max_length=100, blank=True)
    platform = models.CharField(_("платформа"), max_length=16, blank=True)
    created_at = models.DateTimeField(_("выдан"))
    last_used_at = models.DateTimeField(_("последнее использование"))
    expires_at = models.DateTimeField(_("действует до"))
    revoked_at = models.DateTimeField(_("отозван"), null=True, blank=True)

    class Meta:
        verbose_name = _("токен приложения")
        verbose_name_plural = _("токены приложения")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.device_name or self.platform}"


class PushPlatform(models.TextChoices):
    IOS = "ios", "iOS"
    ANDROID = "android", "Android"


class PushToken(models.Model):
    """Where push notifications for a member go (L-CAB-6); a device's token is unique."""

    account = models.ForeignKey(
        Account, verbose_name=_("участник"), on_delete=models.CASCADE, related_name="push_tokens"
    )
    platform = models.CharField(_("платформа"), max_length=16, choices=PushPlatform.choices)
    token = models.CharField(_("токен"), max_length=512, unique=True)
    created_at = models.DateTimeField(_("добавлен"))
    updated_at = models.DateTimeField(_("обновлён"))

    class Meta:
        verbose_name = _("push-токен")
        verbose_name_plural = _("push-токены")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.account_id} {self.platform}"
