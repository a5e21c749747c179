import pytest


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """The tills' process-local caches (terminals, premium goods) start empty in every test:
    ids and rows of a rolled-back test may come back with other contents."""
    from kabinet.loyalty import caches

    caches.clear_all()
    yield
    caches.clear_all()
