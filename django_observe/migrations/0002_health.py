# The health history's models (runs, results, rollups, incidents).
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("django_observe", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name='HealthCheckRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField(db_index=True)),
                ('trigger', models.CharField(default='command', max_length=20)),
                ('host', models.CharField(blank=True, default='', max_length=255)),
                ('status', models.CharField(choices=[('healthy', 'healthy'), ('degraded', 'degraded'), ('unhealthy', 'unhealthy')], max_length=10)),
                ('duration_ms', models.FloatField(default=0.0)),
            ],
            options={
                'verbose_name': 'health check run',
                'verbose_name_plural': 'health check runs',
                'ordering': ['-started_at'],
            },
        ),
        migrations.CreateModel(
            name='Health',
            fields=[
            ],
            options={
                'verbose_name': 'health',
                'verbose_name_plural': 'health',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('django_observe.healthcheckrun',),
        ),
        migrations.CreateModel(
            name='HealthIncident',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('check_name', models.CharField(max_length=100)),
                ('started_at', models.DateTimeField()),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('first_error_class', models.CharField(blank=True, default='', max_length=200)),
                ('first_message', models.CharField(blank=True, default='', max_length=500)),
                ('failure_count', models.PositiveIntegerField(default=0)),
                ('flapping', models.BooleanField(default=False)),
                ('reopen_count', models.PositiveIntegerField(default=0)),
            ],
            options={
                'verbose_name': 'health incident',
                'verbose_name_plural': 'health incidents',
                'ordering': ['-started_at'],
                'indexes': [models.Index(fields=['check_name', 'resolved_at'], name='observe_hincident_open')],
            },
        ),
        migrations.CreateModel(
            name='HealthRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('check_name', models.CharField(max_length=100)),
                ('period', models.CharField(choices=[('minute', 'minute'), ('hour', 'hour'), ('day', 'day')], max_length=6)),
                ('bucket_start', models.DateTimeField()),
                ('count', models.PositiveIntegerField(default=0)),
                ('failures', models.PositiveIntegerField(default=0)),
                ('warnings', models.PositiveIntegerField(default=0)),
                ('total_ms', models.FloatField(default=0.0)),
                ('max_ms', models.FloatField(default=0.0)),
                ('p95_ms', models.FloatField(default=0.0)),
                ('updated_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'verbose_name': 'health rollup',
                'verbose_name_plural': 'health rollups',
                'ordering': ['check_name', 'period', 'bucket_start'],
                'indexes': [models.Index(fields=['period', 'bucket_start'], name='observe_hrollup_time')],
                'constraints': [models.UniqueConstraint(fields=('check_name', 'period', 'bucket_start'), name='observe_hrollup_unique')],
            },
        ),
        migrations.CreateModel(
            name='HealthCheckResult',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('check_name', models.CharField(max_length=100)),
                ('checked_at', models.DateTimeField()),
                ('status', models.CharField(choices=[('pass', 'pass'), ('warn', 'warn'), ('fail', 'fail'), ('timeout', 'timeout')], max_length=10)),
                ('critical', models.BooleanField(default=True)),
                ('duration_ms', models.FloatField(default=0.0)),
                ('message', models.CharField(blank=True, default='', max_length=500)),
                ('error_class', models.CharField(blank=True, default='', max_length=200)),
                ('observed_value', models.JSONField(blank=True, null=True)),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='results', to='django_observe.healthcheckrun')),
            ],
            options={
                'verbose_name': 'health check result',
                'verbose_name_plural': 'health check results',
                'ordering': ['-checked_at'],
                'indexes': [models.Index(fields=['check_name', 'checked_at'], name='observe_hresult_check_time')],
            },
        ),
    ]
