"""Our middleware, and the HTML site's middleware made to step aside for the JSON APIs.

The till API (`settings.KABINET_TOKEN_API_PATHS`) authenticates every request by a bearer
token and answers JSON: sessions, CSRF, the locale, messages and the HTML pages' CSP and
frame headers do nothing for it, yet cost ~0.3 ms of CPU per request — a tenth of a
purchase's (issue 3). Each of those middleware is wrapped here (a subclass, so Django's
checks still find it) to pass such requests straight on; `TokenApiHeadersMiddleware` gives
them the fixed headers a JSON answer needs, and `SecurityMiddleware` (nosniff, HSTS,
referrer policy) and the metrics run for every request.
"""

import re
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.middleware import clickjacking, csp, csrf, locale

from kabinet.core import metrics

_TOKEN_API = re.compile("|".join(getattr(settings, "KABINET_TOKEN_API_PATHS", [])) or r"(?!)")
#: A JSON answer runs no script and is never framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def is_token_api(request: Any) -> bool:
    """Whether the request is to a token-authenticated JSON API (no session, no CSRF)."""
    return _TOKEN_API.match(request.path_info) is not None


class RequestMetricsMiddleware:
    """Counts every request by its URL pattern (not its path, which would explode labels)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name) if match else "unmatched"
        metrics.REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        metrics.LATENCY.labels(route).observe(time.perf_counter() - started)
        return response


class TokenApiHeadersMiddleware:
    """The fixed security headers of a JSON API answer (the HTML pages get theirs from the
    CSP and X-Frame-Options middleware, which step aside for the APIs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_token_api(request):
            response.headers.setdefault("Content-Security-Policy", API_CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response


def _except_token_apis(base: type) -> type:
    """`base`, passing requests to the token APIs straight on (sync and async alike)."""

    def __call__(self, request):
        if is_token_api(request):
            return self.get_response(request)
        return base.__call__(self, request)

    namespace: dict[str, Any] = {
        "__call__": __call__,
        "__doc__": f"{base.__module__}.{base.__name__}, except for the token APIs.",
        "__module__": __name__,
    }
    if hasattr(base, "process_view"):

        def process_view(self, request, view, args, kwargs):
            if is_token_api(request):
                return None
            return base.process_view(self, request, view, args, kwargs)

        namespace["process_view"] = process_view
    return type(base.__name__, (base,), namespace)


SessionMiddleware = _except_token_apis(sessions.SessionMiddleware)
LocaleMiddleware = _except_token_apis(locale.LocaleMiddleware)
CsrfViewMiddleware = _except_token_apis(csrf.CsrfViewMiddleware)
AuthenticationMiddleware = _except_token_apis(auth.AuthenticationMiddleware)
MessageMiddleware = _except_token_apis(messages.MessageMiddleware)
ContentSecurityPolicyMiddleware = _except_token_apis(csp.ContentSecurityPolicyMiddleware)
XFrameOptionsMiddleware = _except_token_apis(clickjacking.XFrameOptionsMiddleware)
