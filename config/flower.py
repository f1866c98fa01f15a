"""Flower with its login on every path: `python -m config.flower [flower options]`.

Flower's basic auth guards its pages and API but not /metrics, /healthcheck or its static files;
this starts the same Flower with those behind the login too.
"""

import sys

import tornado.web
from celery.bin.celery import main as celery_main
from flower.urls import handlers, settings
from flower.views import BaseHandler, monitor


class LoginStaticFileHandler(tornado.web.StaticFileHandler):
    def prepare(self) -> None:
        # Flower's own check: raises 401 unless the request carries the basic-auth login.
        BaseHandler.get_current_user(self)


def require_login() -> None:
    for view in (monitor.Metrics, monitor.Healthcheck):
        view.get = tornado.web.authenticated(view.get)
    # Tornado serves static_path itself, through this class.
    settings["static_handler_class"] = LoginStaticFileHandler
    for position, handler in enumerate(handlers):
        if isinstance(handler, tuple) and handler[1] is tornado.web.StaticFileHandler:
            handlers[position] = (handler[0], LoginStaticFileHandler, *handler[2:])


if __name__ == "__main__":
    require_login()
    sys.argv = ["celery", "-A", "config", "flower", *sys.argv[1:]]
    sys.exit(celery_main())
