from django.db import migrations


def load(apps, schema_editor):
    from kabinet.geo.loader import sync_geography

    sync_geography(apps.get_model("geo", "Region"), apps.get_model("geo", "City"))


class Migration(migrations.Migration):
    """Regions and cities ship with the project: no download, same data everywhere."""

    dependencies = [("geo", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
