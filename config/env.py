"""Read configuration from the environment; a bad value fails at start-up with a clear message."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Environment variable {name} is required")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_int_list(name: str, default: str, *, minimum: int = 0) -> list[int]:
    """Comma-separated whole numbers ("10,60,300"), each at least `minimum`; an empty list is refused."""
    items = env_list(name, default)
    if not items:
        raise ImproperlyConfigured(f"{name} must list at least one whole number")
    numbers = []
    for item in items:
        try:
            number = int(item)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must list whole numbers, not {item!r}") from None
        if number < minimum:
            raise ImproperlyConfigured(f"{name} values must be at least {minimum}, not {number}")
        numbers.append(number)
    return numbers


def database_from_url(url: str, base_dir) -> dict:
    """Django DATABASES entry from sqlite:///relative/or//absolute/path or postgres://user:pw@host:port/name."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        name = path if path.startswith("/") else str(base_dir / path)
        return {
            # django-prometheus's wrapper of the same backend: queries and errors counted for /metrics.
            "ENGINE": "django_prometheus.db.backends.sqlite3",
            "NAME": name,
            # WAL and immediate transactions let the web process and the workers write concurrently.
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
            "TEST": {"NAME": name.replace(".sqlite3", "") + "-test.sqlite3"},
        }
    if scheme in {"postgres", "postgresql"}:
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        return {
            "ENGINE": "django_prometheus.db.backends.postgresql",
            "NAME": parts.path.lstrip("/"),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
        }
    raise ImproperlyConfigured(f"DATABASE_URL must start with sqlite:// or postgres://, not {url!r}")
