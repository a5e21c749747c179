from django.db import transaction

from kabinet.accounts.models import User

DEMO_ADMIN = ("admin", "kabinet-demo")


@transaction.atomic
def load() -> list[str]:
    """A superuser for the back office; its password is reset to the demo one on every start."""
    username, password = DEMO_ADMIN
    user, _ = User.objects.get_or_create(
        username=username, defaults={"is_staff": True, "is_superuser": True}
    )
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    return [f"бэк-офис: логин {username}, пароль {password}"]
