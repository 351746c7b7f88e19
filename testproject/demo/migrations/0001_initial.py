from django.db import migrations, models


def seed(apps, schema_editor):
    Item = apps.get_model("demo", "Item")
    Item.objects.bulk_create([Item(name=f"Item {number}", price=number) for number in range(1, 21)])


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations = [
        migrations.CreateModel(
            name="Item",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("price", models.DecimalField(decimal_places=2, default=0, max_digits=8)),
            ],
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
