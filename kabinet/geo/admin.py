from django.contrib import admin

from kabinet.geo.models import City, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name_ru", "federal_district", "timezone", "loyalty_active")
    list_editable = ("loyalty_active",)
    list_filter = ("loyalty_active", "federal_district", "timezone")
    search_fields = ("code", "name_ru", "name_en", "capital_ru")
    readonly_fields = ("code", "iso", "timezone")


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ("name_ru", "region", "population", "timezone")
    list_filter = ("region__federal_district", "timezone")
    search_fields = ("name_ru", "name_en")
    list_select_related = ("region",)
    readonly_fields = ("geonameid", "search_name")
