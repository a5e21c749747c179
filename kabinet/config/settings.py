"""Kabinet settings: one file, every deployment difference comes from the environment.

The defaults are production-safe (no debug, secure cookies, HSTS, CSP). The demo and the
test suite loosen them explicitly through environment variables set by `kabinet demo` and
`tests/conftest.py`, so nothing insecure can be switched on by forgetting a variable.
"""

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


# `var/` holds the embedded database and the generated secret key of a single-machine install.
VAR_DIR = Path(os.environ.get("KABINET_VAR_DIR", Path.cwd() / "var")).resolve()

DEBUG = env_bool("DEBUG", False)
# An empty key makes Django refuse to start; `kabinet serve` also refuses the demo's keys.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
# Reverse proxies (addresses or networks, e.g. "10.0.0.0/8,127.0.0.1") whose X-Forwarded-For
# is believed: the client is the rightmost address they did not add themselves
# (`kabinet.core.http.client_ip`; rate limits and the ЮKassa webhook's source check use it).
KABINET_TRUSTED_PROXIES = env_list("KABINET_TRUSTED_PROXIES", "")
for _proxy in KABINET_TRUSTED_PROXIES:
    ipaddress.ip_network(_proxy, strict=False)  # a typo fails the start, not a webhook
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "kabinet.core",
    "kabinet.accounts",
    "kabinet.geo",
    "kabinet.notifications",
    "kabinet.loyalty",
    "kabinet.pharma",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    # For its Swagger page's template and static files, served locally (no CDN).
    "ninja",
]

# The kabinet.core.middleware versions of Django's session, locale, CSRF, auth, messages, CSP
# and frame middleware step aside for the token-authenticated JSON APIs below (issue 3: they
# cost a tenth of a till purchase's CPU and do nothing for it); the HTML site is unchanged.
MIDDLEWARE = [
    "kabinet.core.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "kabinet.core.middleware.TokenApiHeadersMiddleware",
    "kabinet.core.middleware.ContentSecurityPolicyMiddleware",
    "kabinet.core.middleware.SessionMiddleware",
    "kabinet.core.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "kabinet.core.middleware.CsrfViewMiddleware",
    "kabinet.core.middleware.AuthenticationMiddleware",
    "kabinet.core.middleware.MessageMiddleware",
    "kabinet.core.middleware.XFrameOptionsMiddleware",
]
# Path regexes (matched at the start of the path) of the APIs that authenticate by a bearer
# token and answer JSON; the Swagger page is HTML and keeps the site's middleware.
KABINET_TOKEN_API_PATHS = [r"/api/pos/v\d+/(?!docs)"]

ROOT_URLCONF = "kabinet.config.urls"
WSGI_APPLICATION = "kabinet.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kabinet.core.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'kabinet.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers; IMMEDIATE takes the write lock at BEGIN so a transaction that
    # reads then writes cannot deadlock against another one (ARCHITECTURE "Transactions").
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and rate limits ------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kabinet",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Background jobs ------------------------------------------------------------------------
# The database backend writes the job row in the caller's transaction: a notification is
# enqueued atomically with the change that causes it (SPEC X-2).
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- Authentication -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["kabinet.accounts.backends.UserBackend"]
# Read with the signed-in user on every request, in its one query (accounts/backends.py).
KABINET_USER_SELECT_RELATED = ("pharma_partner__organisation",)
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

# --- Security -------------------------------------------------------------------------------
# Behind TLS (the default) cookies are secure and HSTS is sent; the local demo runs over plain
# HTTP and sets KABINET_HTTPS=false.
HTTPS = env_bool("KABINET_HTTPS", True)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
# Every cabinet request reads its session: from Redis when there is one, written through to the
# database. Never cached_db over the per-process local-memory cache: a session ended (logout,
# password change) in one worker would live on in another's cache.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if REDIS_URL
    else "django.contrib.sessions.backends.db"
)
CSRF_FAILURE_VIEW = "kabinet.core.views.csrf_failure"
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
if HTTPS:
    # The TLS terminator (nginx, a load balancer) says the original scheme in this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every script, style and font is served by the app itself; inline scripts need the nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Русский")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Moscow"
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]

# --- E-mail ---------------------------------------------------------------------------------
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": os.environ.get("EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("EMAIL_PORT", "25")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
            "timeout": int(os.environ.get("EMAIL_TIMEOUT", "10")),
        },
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Кабинет <noreply@kabinet.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Notifications (SPEC X-2) ---------------------------------------------------------------
# With the outbox on, every channel is delivered into the database and readable at
# /dev/outbox/; those routes exist only while it is on.
KABINET_OUTBOX = env_bool("KABINET_OUTBOX", False)
KABINET_NOTIFY = {
    "SMS_GATEWAY": os.environ.get("SMS_GATEWAY", "outbox" if KABINET_OUTBOX else "kannel"),
    "EMAIL_GATEWAY": os.environ.get("EMAIL_GATEWAY", "outbox" if KABINET_OUTBOX else "smtp"),
    "VOICE_GATEWAY": os.environ.get("VOICE_GATEWAY", "outbox" if KABINET_OUTBOX else "http"),
    "PUSH_GATEWAY": os.environ.get("PUSH_GATEWAY", "outbox" if KABINET_OUTBOX else "http"),
    "KANNEL_SENDSMS_URL": os.environ.get(
        "KANNEL_SENDSMS_URL", "http://127.0.0.1:13013/cgi-bin/sendsms"
    ),
    "KANNEL_USERNAME": os.environ.get("KANNEL_USERNAME", "kabinet"),
    "KANNEL_PASSWORD": os.environ.get("KANNEL_PASSWORD", ""),
    "SMS_SENDER": os.environ.get("SMS_SENDER", "9002"),
    "VOICE_API_URL": os.environ.get("VOICE_API_URL", ""),
    "VOICE_API_KEY": os.environ.get("VOICE_API_KEY", ""),
    "PUSH_API_URL": os.environ.get("PUSH_API_URL", ""),
    "PUSH_API_KEY": os.environ.get("PUSH_API_KEY", ""),
    "MAX_ATTEMPTS": int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "8")),
}
SMS_INBOUND_SECRET = os.environ.get("SMS_INBOUND_SECRET", "")

# The public address used in links sent by e-mail (password reset, invitations).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Logging --------------------------------------------------------------------------------
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "kabinet.core.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Every request is already counted in /metrics; 4xx are expected traffic for an API.
        "django.request": {"level": "ERROR"},
    },
}

# --- Pharma payments (SPEC P-PAY-1…3) -------------------------------------------------------
# The distributor's details on invoices and in their QR code. The demo account's control key
# agrees with the BIC (gost_qr.account_control_key), as a bank's payment form checks.
PHARMA_SUPPLIER = {
    "name": os.environ.get("PHARMA_SUPPLIER_NAME", "ООО «М-Фарма»"),
    "inn": os.environ.get("PHARMA_SUPPLIER_INN", "7704123450"),
    "kpp": os.environ.get("PHARMA_SUPPLIER_KPP", "770401001"),
    "address": os.environ.get("PHARMA_SUPPLIER_ADDRESS", "115093, г. Москва, ул. Павловская, д. 7"),
    "bank_name": os.environ.get("PHARMA_SUPPLIER_BANK", "ПАО Сбербанк"),
    "bic": os.environ.get("PHARMA_SUPPLIER_BIC", "044525225"),
    "corresp_acc": os.environ.get("PHARMA_SUPPLIER_CORRESP_ACC", "30101810400000000225"),
    "account": os.environ.get("PHARMA_SUPPLIER_ACCOUNT", "40702810800000054321"),
    "director": os.environ.get("PHARMA_SUPPLIER_DIRECTOR", ""),
    "accountant": os.environ.get("PHARMA_SUPPLIER_ACCOUNTANT", ""),
}
# "test" is the built-in test bank (its page plays the bank, so anyone could «pay»: only where
# deliveries go to the outbox, as in the demo and the tests); "yookassa" the real one; empty:
# no online payment, orders are paid by invoice or on deferral.
PHARMA_PAYMENT_PROVIDER = os.environ.get(
    "PHARMA_PAYMENT_PROVIDER", "test" if KABINET_OUTBOX else ""
)
YOOKASSA_SHOP_ID = os.environ.get("YOOKASSA_SHOP_ID", "")
YOOKASSA_SECRET_KEY = os.environ.get("YOOKASSA_SECRET_KEY", "")
