from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def search_key(text: str) -> str:
    """Lower case with ё folded to е: people type «Орел» for «Орёл» and expect to find it."""
    return " ".join(text.lower().replace("ё", "е").split())


class Region(models.Model):
    """A federal subject of Russia. `code` is the two-digit code of the tax service (the first
    two digits of an INN), which is also how people and documents name regions."""

    code = models.CharField(_("код"), max_length=2, unique=True)
    iso = models.CharField(_("код ISO 3166-2"), max_length=6, blank=True)
    name_ru = models.CharField(_("название"), max_length=120)
    name_en = models.CharField(_("название (англ.)"), max_length=120)
    federal_district = models.CharField(_("федеральный округ"), max_length=40)
    capital_ru = models.CharField(_("административный центр"), max_length=80)
    timezone = models.CharField(_("часовой пояс"), max_length=40)
    loyalty_active = models.BooleanField(
        _("программа лояльности действует"),
        default=True,
        help_text=_("Магазины региона начисляют и списывают баллы (SPEC L-EARN-7)."),
    )

    class Meta:
        verbose_name = _("регион")
        verbose_name_plural = _("регионы")
        ordering = ["name_ru"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if get_language() == "en" else self.name_ru


class City(models.Model):
    geonameid = models.PositiveIntegerField(unique=True)
    region = models.ForeignKey(
        Region, verbose_name=_("регион"), on_delete=models.PROTECT, related_name="cities"
    )
    name_ru = models.CharField(_("название"), max_length=120)
    name_en = models.CharField(_("название (англ.)"), max_length=120)
    search_name = models.CharField(max_length=120, db_index=True, editable=False)
    # Coordinates as exact decimals: they are compared and sorted, never used in arithmetic
    # that needs floats except the distance estimate, which converts explicitly.
    lat = models.DecimalField(_("широта"), max_digits=8, decimal_places=4)
    lon = models.DecimalField(_("долгота"), max_digits=8, decimal_places=4)
    population = models.PositiveIntegerField(_("население"), default=0)
    timezone = models.CharField(_("часовой пояс"), max_length=40)

    class Meta:
        verbose_name = _("город")
        verbose_name_plural = _("города")
        ordering = ["-population", "name_ru"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if get_language() == "en" else self.name_ru
