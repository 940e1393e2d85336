import os

from celery import Celery
from celery.signals import beat_init, task_postrun, task_prerun, worker_init

from casework import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("casetrail")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every line a task logs carries its task id (casework/logs.py); weak=False: the functions live on.
task_prerun.connect(logs.task_started, weak=False)
task_postrun.connect(logs.task_finished, weak=False)


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
