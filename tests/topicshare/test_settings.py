import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DUMMY_SECRET = "ci-dummy-secret-7f3a9c2e1b8d4f6a0c5e7b9d1f3a5c7e9b2d4f6a8c0e1b3d5f7a9c"


def _run_production(
    args: list[str], secret: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "topicshare.settings.production",
        "DJANGO_SECRET_KEY": secret,
        "DJANGO_ALLOWED_HOSTS": "forum.example.org",
        "TOPICSHARE_SITE_URL": "https://forum.example.org",
        **(extra or {}),
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_production_without_secret_refuses_to_start():
    result = _run_production(["manage.py", "check"], secret="")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_with_secret_passes_deploy_check_without_warnings():
    result = _run_production(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], secret=DUMMY_SECRET
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_settings_defaults_are_chinese_first(settings):
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _name in settings.LANGUAGES] == ["zh-hans", "en"]
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def _installed_apps_with(env_extra: dict) -> list[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "topicshare.settings.local", **env_extra}
    for name in ("GITHUB", "WEIXIN", "FEISHU"):
        env.setdefault(f"{name}_CLIENT_ID", "")
        env.setdefault(f"{name}_CLIENT_SECRET", "")
    code = "from django.conf import settings; print('\\n'.join(settings.INSTALLED_APPS))"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [app for app in result.stdout.split() if ".providers." in app]


def test_social_login_is_off_without_credentials():
    assert _installed_apps_with({}) == []


def test_social_login_turns_on_per_provider_with_id_and_secret():
    providers = _installed_apps_with(
        {
            "GITHUB_CLIENT_ID": "gh-id",
            "GITHUB_CLIENT_SECRET": "gh-secret",
            "FEISHU_CLIENT_ID": "only-an-id",
        }
    )

    assert providers == ["allauth.socialaccount.providers.github"]
