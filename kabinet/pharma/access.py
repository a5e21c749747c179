"""The gates of the pharma pages: the partner cabinet's and the back office's.

Every cabinet view is wrapped in `partner_required`; it puts the user's `PartnerUser` on
`request.partner`, and the view passes it to selectors and services, which filter by its
organisation. Domain errors become 404/403 here, in one place.

Every back-office page is wrapped in `staff_required(permission)`: the distributor's staff
(a partner user is never staff), holding the page's Django permission.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from kabinet.core.errors import NotFound, PermissionDenied
from kabinet.pharma import selectors
from kabinet.pharma.models import PartnerUser


class PartnerRequest(HttpRequest):
    """A request that passed `partner_required`: the signed-in user's place in an organisation."""

    partner: PartnerUser


def partner_required(*authorities: str) -> Callable:
    """Sign-in and membership; with authorities, at least one of them (any of, not all)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                login = reverse("pharma:login")
                return HttpResponseRedirect(f"{login}?{urlencode({'next': request.path})}")
            # A view behind two gates looks its partner up once.
            partner = getattr(request, "partner", None) or selectors.partner_of(request.user)
            if partner is None:
                raise DjangoPermissionDenied
            if authorities and not any(partner.has_authority(a) for a in authorities):
                raise DjangoPermissionDenied
            request.partner = partner  # type: ignore[attr-defined]
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None
            except PermissionDenied:
                raise DjangoPermissionDenied from None

        return wrapper

    return decorator


def staff_required(*permissions: str) -> Callable:
    """Staff only (others go to the back office's login page), with every permission (else
    403); a domain NotFound is a 404."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_perms(permissions):
                raise DjangoPermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                raise Http404 from None

        return staff_member_required(checked)

    return decorator
