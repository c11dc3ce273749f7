"""The ceiling: a bare Flask "hello" served by the same gunicorn setup as riskhub.

    gunicorn 'bench.hello:create_app()'
"""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    """One route, no database, no session: what this machine and server allow at most."""
    app = Flask(__name__)

    @app.route("/")
    def hello() -> str:
        return "hello"

    return app
