import pytest
from django.db import connection


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` run a real race on PostgreSQL; on SQLite they are skipped.

    CI runs the whole suite a second time with DATABASE_URL pointing at PostgreSQL, so they
    are run there.
    """
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI runs it)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache; no test may inherit another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _shipped_geography(request):
    """Give transactional tests the geography a data migration ships.

    A transactional test ends by flushing every table, which also removes the regions and
    cities that migration 0002 of `geo` loaded; the next transactional test (a browser test,
    a race) would find none. Reloading takes a fraction of a second and only happens then.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    from kabinet.geo.loader import sync_geography
    from kabinet.geo.models import City, Region

    if not Region.objects.exists():
        sync_geography(Region, City)


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in Russian: a request in English activates English for the thread,
    and without this the next test would inherit it."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
