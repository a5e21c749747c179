"""Catalog search indexes (SPEC P-CAT-2); see kabinet/pharma/catalog/search.py.

PostgreSQL: the pg_trgm extension (the migration stops with an explanation if it cannot be
created), a GIN trigram index and a GIN full-text index on pharma_product.search_text.
SQLite: an FTS5 trigram table with triggers that keep it in step with pharma_product.
Reversing drops the indexes, the table and the triggers; pg_trgm stays installed.
"""

from django.db import migrations


def install(apps, schema_editor):
    from kabinet.pharma.catalog.search import install_search_index

    install_search_index(schema_editor.connection)


def uninstall(apps, schema_editor):
    from kabinet.pharma.catalog.search import uninstall_search_index

    uninstall_search_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("pharma", "0002_catalog"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
