# The error tracker's models (ErrorGroup, ErrorEvent, ...).
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations: list = []
