"""Member pages and the inbound-SMS endpoints, at the site's root (short Russian-friendly paths)."""

from django.urls import path

from kabinet.loyalty.web import cabinet_views as cab
from kabinet.loyalty.web import inbound_sms, views

app_name = "loyalty"

urlpatterns = [
    path("registration/", views.registration_start, name="registration"),
    path("registration/confirm/", views.registration_confirm, name="registration-confirm"),
    path("registration/confirm/resend/", views.registration_resend, name="registration-resend"),
    path("registration/<slug:step>/", views.registration_step, name="registration-step"),
    path("login/", views.login_view, name="login"),
    path("login/code/", views.login_code, name="login-code"),
    path("login/confirm/", views.login_confirm, name="login-confirm"),
    path("login/confirm/resend/", views.login_resend, name="login-resend"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/confirm/", views.password_reset_confirm, name="password-reset-confirm"),
    path(
        "password-reset/confirm/resend/",
        views.password_reset_resend,
        name="password-reset-resend",
    ),
    path("logout/", views.logout_view, name="logout"),
    path("logout/everywhere/", views.logout_everywhere, name="logout-everywhere"),
    path("cabinet/", cab.home, name="cabinet"),
    path("cabinet/receipts/", cab.receipts, name="cabinet-receipts"),
    path("cabinet/receipts/<int:pk>/", cab.receipt, name="cabinet-receipt"),
    path("cabinet/chart/", cab.chart, name="cabinet-chart"),
    path("cabinet/profile/", cab.profile, name="cabinet-profile"),
    path("cabinet/profile/phone/", cab.phone_start, name="cabinet-phone"),
    path("cabinet/profile/phone/confirm/", cab.phone_confirm, name="cabinet-phone-confirm"),
    path("cabinet/profile/phone/resend/", cab.phone_resend, name="cabinet-phone-resend"),
    path("cabinet/notifications/", cab.channels, name="cabinet-channels"),
    path("cabinet/offers/", cab.offers, name="cabinet-offers"),
    path("cabinet/card/", cab.card, name="cabinet-card"),
    path("cabinet/card/code.json", cab.card_code, name="cabinet-card-code"),
    path("cabinet/card/virtual/", cab.card_virtual, name="cabinet-card-virtual"),
    path("cabinet/card/<int:pk>/block/", cab.card_block, name="cabinet-card-block"),
    path("cabinet/card/<int:pk>/replace/", cab.card_replace, name="cabinet-card-replace"),
    path("cabinet/stores/", cab.stores, name="cabinet-stores"),
    path("cabinet/stores/near.json", cab.stores_near_json, name="cabinet-stores-near"),
    path("cabinet/data/", cab.data, name="cabinet-data"),
    path("cabinet/data/export.json", cab.data_export, name="cabinet-data-export"),
    path("cabinet/data/close/", cab.data_close, name="cabinet-data-close"),
    path("cabinet/login-confirmation/", views.login_confirmation, name="login-confirmation"),
    path(
        "documents/personal-data/",
        views.document,
        {"kind": "personal_data"},
        name="document-personal-data",
    ),
    path("documents/rules/", views.document, {"kind": "rules"}, name="document-rules"),
    path("api/sms/v1/inbound", inbound_sms.inbound, name="sms-inbound"),
    path("api/sms/v1/kannel", inbound_sms.kannel, name="sms-kannel"),
    path("api/sms/v1/openapi.json", inbound_sms.openapi, name="sms-openapi"),
]
