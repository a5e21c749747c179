from django.conf import settings


def site(request):
    return {"outbox_enabled": settings.KABINET_OUTBOX}
