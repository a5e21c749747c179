"""Demo data: each app may ship a `demo.py` with `load() -> list[str]`.

The loaders run in INSTALLED_APPS order (geography before the loyalty program that uses it)
and must be idempotent: `kabinet demo` runs them on every start. Each returns the lines to
print for a person trying the demo (credentials, tokens).
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps


def load_demo_data() -> list[str]:
    lines: list[str] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("kabinet."):
            continue
        module_name = f"{config.name}.demo"
        if find_spec(module_name) is None:
            continue
        lines.extend(import_module(module_name).load())
    return lines
