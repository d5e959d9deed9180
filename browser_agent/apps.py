from django.apps import AppConfig


class BrowserAgentConfig(AppConfig):
    name = "browser_agent"
    verbose_name = "Browser agent"
