from django.apps import AppConfig


class DataSubjectsConfig(AppConfig):
    name = "data_subjects"
    verbose_name = "Data-subject requests"
