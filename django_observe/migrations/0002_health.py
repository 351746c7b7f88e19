# The health history's models (runs, results, rollups, incidents).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("django_observe", "0001_initial")]
    operations: list = []
