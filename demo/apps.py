from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo users and synthetic data (``manage.py seed_demo``). May import every app; nothing imports it."""

    name = "demo"
    verbose_name = "Demo data"
