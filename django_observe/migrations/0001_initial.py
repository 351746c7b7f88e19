# The error tracker's models (ErrorGroup, ErrorEvent, ErrorGroupHourly, ErrorGroupChange).
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []
    operations = [
        migrations.CreateModel(
            name='ErrorGroup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('fingerprint', models.CharField(max_length=64, unique=True, verbose_name='fingerprint')),
                ('grouping_version', models.PositiveSmallIntegerField(default=1, verbose_name='grouping version')),
                ('title', models.CharField(max_length=255, verbose_name='title')),
                ('culprit', models.CharField(blank=True, max_length=255, verbose_name='culprit')),
                ('level', models.CharField(default='error', max_length=16, verbose_name='level')),
                ('exc_type', models.CharField(blank=True, max_length=255, verbose_name='exception type')),
                ('logger', models.CharField(blank=True, max_length=255, verbose_name='logger')),
                ('first_seen', models.DateTimeField(verbose_name='first seen')),
                ('last_seen', models.DateTimeField(verbose_name='last seen')),
                ('count', models.BigIntegerField(default=0, verbose_name='events')),
                ('status', models.CharField(choices=[('unresolved', 'Unresolved'), ('resolved', 'Resolved'), ('muted', 'Muted')], default='unresolved', max_length=16, verbose_name='status')),
                ('resolved_at', models.DateTimeField(blank=True, null=True, verbose_name='resolved at')),
                ('resolved_in_release', models.CharField(blank=True, max_length=200, verbose_name='resolved in release')),
                ('muted_until', models.DateTimeField(blank=True, null=True, verbose_name='muted until')),
                ('muted_until_count', models.BigIntegerField(blank=True, null=True, verbose_name='muted until count')),
                ('regressed_at', models.DateTimeField(blank=True, null=True, verbose_name='regressed at')),
                ('last_release', models.CharField(blank=True, max_length=200, verbose_name='last release')),
                ('last_environment', models.CharField(blank=True, max_length=64, verbose_name='last environment')),
            ],
            options={
                'verbose_name': 'error',
                'verbose_name_plural': 'errors',
                'ordering': ['-last_seen'],
                'indexes': [models.Index(fields=['status', '-last_seen'], name='observe_group_status_seen'), models.Index(fields=['-last_seen'], name='observe_group_last_seen')],
            },
        ),
        migrations.CreateModel(
            name='ErrorEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event_id', models.UUIDField(unique=True, verbose_name='event id')),
                ('timestamp', models.DateTimeField(verbose_name='timestamp')),
                ('level', models.CharField(default='error', max_length=16, verbose_name='level')),
                ('request_id', models.CharField(blank=True, db_index=True, max_length=128, verbose_name='request id')),
                ('transaction', models.CharField(blank=True, max_length=255, verbose_name='transaction')),
                ('release', models.CharField(blank=True, max_length=200, verbose_name='release')),
                ('environment', models.CharField(blank=True, max_length=64, verbose_name='environment')),
                ('user_id', models.CharField(blank=True, max_length=64, verbose_name='user id')),
                ('server_name', models.CharField(blank=True, max_length=255, verbose_name='server')),
                ('data', models.JSONField(default=dict, verbose_name='event data')),
                ('group', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='django_observe.errorgroup', verbose_name='error')),
            ],
            options={
                'verbose_name': 'error event',
                'verbose_name_plural': 'error events',
                'ordering': ['-timestamp'],
                'indexes': [models.Index(fields=['group', '-timestamp'], name='observe_event_group_time'), models.Index(fields=['timestamp'], name='observe_event_time')],
            },
        ),
        migrations.CreateModel(
            name='ErrorGroupChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('created', 'First seen'), ('resolved', 'Resolved'), ('muted', 'Muted'), ('unmuted', 'Unmuted'), ('reopened', 'Reopened'), ('regressed', 'Regressed')], max_length=16, verbose_name='change')),
                ('actor', models.CharField(blank=True, max_length=150, verbose_name='by')),
                ('at', models.DateTimeField(verbose_name='at')),
                ('note', models.TextField(blank=True, verbose_name='note')),
                ('group', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='django_observe.errorgroup')),
            ],
            options={
                'verbose_name': 'error change',
                'verbose_name_plural': 'error changes',
                'ordering': ['-at', '-pk'],
                'indexes': [models.Index(fields=['group', '-at'], name='observe_change_group_at')],
            },
        ),
        migrations.CreateModel(
            name='ErrorGroupHourly',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('hour', models.DateTimeField(verbose_name='hour')),
                ('count', models.BigIntegerField(default=0, verbose_name='events')),
                ('stored', models.IntegerField(default=0, verbose_name='stored events')),
                ('group', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='hourly', to='django_observe.errorgroup')),
            ],
            options={
                'verbose_name': 'hourly error count',
                'verbose_name_plural': 'hourly error counts',
                'indexes': [models.Index(fields=['hour'], name='observe_hourly_hour')],
                'constraints': [models.UniqueConstraint(fields=('group', 'hour'), name='observe_hourly_group_hour')],
            },
        ),
    ]
