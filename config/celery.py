import os

from celery import Celery
from celery.signals import beat_init, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("casetrail")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def _refuse_to_start_without_own_keys(**kwargs):
    from django.core.exceptions import ImproperlyConfigured

    from config.startup import refuse_to_start_without_own_keys

    try:
        refuse_to_start_without_own_keys()
    except ImproperlyConfigured as e:
        # Celery logs and ignores what a signal handler raises; only an exit stops the start.
        raise SystemExit(str(e)) from e
