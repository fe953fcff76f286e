from django.apps import AppConfig


class DeployCheckAppConfig(AppConfig):
    """A throwaway app whose migrations the deploy check must refuse (installed by its test
    only)."""

    name = "tests.deploy_check_app"
    label = "deploy_check_app"
    default_auto_field = "django.db.models.BigAutoField"
