import pytest

from tests.loyalty.app_api.helpers import build_world


@pytest.fixture
def world(db):
    return build_world()
