from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"

    def ready(self):
        from celery.schedules import crontab
        from django.conf import settings

        from . import menus, reactions  # noqa: F401  (registers the rollup reactions; menus: menu_for)

        menus.register()

        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "reporting-send-scheduled-reports",
            {"task": "reporting.tasks.send_scheduled_reports", "schedule": crontab(minute=15, hour=6)},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "reporting-rebuild-prosecution-facts",
            {"task": "reporting.tasks.rebuild_prosecution_facts", "schedule": crontab(minute=30, hour=2)},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "reporting-sweep-rollups",
            {"task": "reporting.tasks.sweep_rollups", "schedule": 60.0},
        )
