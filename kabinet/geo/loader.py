"""The shipped geography (`data/regions.json`, `data/cities.json`) into the database.

Runs from a data migration, so every database — the demo's, a test run's, production's —
has the regions and cities without any download. Idempotent: an upsert by code / geonameid.
A region's `loyalty_active` is set only when the region is created: after that it belongs to
the back office, and a later data refresh must not undo a manager's decision.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"


def read_json(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def sync_geography(region_model: Any, city_model: Any) -> tuple[int, int]:
    """Upsert regions and cities; the models are passed in so a migration can use its own."""
    from kabinet.geo.models import search_key

    regions = {}
    for row in read_json("regions.json"):
        region, _ = region_model.objects.update_or_create(
            code=row["code"],
            defaults={
                "iso": row.get("iso") or "",
                "name_ru": row["name_ru"],
                "name_en": row["name_en"],
                "federal_district": row["federal_district"],
                "capital_ru": row["capital_ru"],
                "timezone": row["timezone"],
            },
            create_defaults={
                "iso": row.get("iso") or "",
                "name_ru": row["name_ru"],
                "name_en": row["name_en"],
                "federal_district": row["federal_district"],
                "capital_ru": row["capital_ru"],
                "timezone": row["timezone"],
                "loyalty_active": row.get("loyalty_active", True),
            },
        )
        regions[region.code] = region

    existing = {c.geonameid: c for c in city_model.objects.all()}
    to_create, to_update = [], []
    fields = ["region", "name_ru", "name_en", "search_name", "lat", "lon", "population", "timezone"]
    for row in read_json("cities.json"):
        values = {
            "region": regions[row["region_code"]],
            "name_ru": row["name_ru"],
            "name_en": row["name_en"],
            "search_name": search_key(row["name_ru"]),
            "lat": Decimal(row["lat"]),
            "lon": Decimal(row["lon"]),
            "population": row.get("population") or 0,
            "timezone": row["timezone"],
        }
        city = existing.get(row["geonameid"])
        if city is None:
            to_create.append(city_model(geonameid=row["geonameid"], **values))
        else:
            for key, value in values.items():
                setattr(city, key, value)
            to_update.append(city)
    city_model.objects.bulk_create(to_create, batch_size=500)
    city_model.objects.bulk_update(to_update, fields, batch_size=500)
    return len(regions), len(to_create) + len(to_update)
