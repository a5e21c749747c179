"""The authentication backend: Django's, with the signed-in user read in one query.

Every signed-in page loads its user from the session (`get_user`), and every partner cabinet
page then asks for the user's `PartnerUser` and organisation (`pharma.selectors.partner_of`).
Joining those one-to-one rows into the user's query saves a round trip and an ORM compile on
each request — about a fifth of what a search-as-you-type answer costs the server. Which
relations to join is a setting, `KABINET_USER_SELECT_RELATED`, so that this app does not
import the apps that hang their profiles on the user.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UserBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        related = getattr(settings, "KABINET_USER_SELECT_RELATED", ())
        try:
            user = model._default_manager.select_related(*related).get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
