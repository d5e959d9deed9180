from django.apps import AppConfig


class FieldsetsConfig(AppConfig):
    name = "fieldsets"
    verbose_name = "Fieldsets"
