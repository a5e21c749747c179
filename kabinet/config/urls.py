from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from kabinet.core import views as core_views
from kabinet.loyalty.app_api import api as app_api
from kabinet.loyalty.pos_api import api as pos_api

admin.site.site_header = "Кабинет — бэк-офис"
admin.site.site_title = "Кабинет"
admin.site.index_title = "Управление"

urlpatterns = [
    # The till API first: every purchase resolves its URL, and the patterns are tried in order.
    path("api/pos/v1/", pos_api.urls),
    path("", include("kabinet.core.urls")),
    path("", include("kabinet.loyalty.web.urls")),
    path("geo/", include("kabinet.geo.urls")),
    path("pharma/", include("kabinet.pharma.urls")),
    path("callcentre/", include("kabinet.loyalty.callcentre.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/app/v1/", app_api.urls),
]

if settings.KABINET_OUTBOX:
    # The development outbox is routed only while it is the delivery gateway (SPEC §4).
    urlpatterns.append(path("dev/", include("kabinet.notifications.outbox_urls")))

handler403 = core_views.permission_denied
handler404 = core_views.page_not_found
handler500 = core_views.server_error
