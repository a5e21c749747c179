"""Member pages and the inbound-SMS endpoints, at the site's root (short Russian-friendly paths)."""

from django.urls import path

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
    path("cabinet/", views.cabinet, name="cabinet"),
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
]
