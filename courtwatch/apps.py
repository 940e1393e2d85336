from django.apps import AppConfig


class CourtwatchConfig(AppConfig):
    name = "courtwatch"
