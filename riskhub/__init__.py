"""riskhub: case tracker for joint risk management meetings."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask


class ConfigurationError(RuntimeError):
    """riskhub refuses to start; the message is one line per reason."""


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, keys, extensions, blueprints, CLI, error pages.

    Outside testing it refuses to start on a weak setup (see `riskhub.config`).
    """
    from riskhub import cli, crypto, errors, lifecycle, passwords
    from riskhub.config import check_configuration, load_configuration
    from riskhub.extensions import csrf, db, login_manager, migrate
    from riskhub.models import register_models
    from riskhub.views import register_blueprints

    instance_path = os.environ.get("RISKHUB_INSTANCE_PATH") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "instance"
    )
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_mapping(load_configuration(app.instance_path, test_config))

    if not app.config["TESTING"]:
        problems = check_configuration(app.config)
        if problems:
            raise ConfigurationError("riskhub will not start: " + "; ".join(problems))

    source = None if app.config.get("KEYRING") else app.config["KEYRING_FILE"]
    app.extensions["riskhub.cipher"] = crypto.FieldCipher(_load_keyring(app), source)
    crypto.configure_index_length(app.config["BLIND_INDEX_EXPECTED_ROWS"])
    passwords.configure(app.config["ARGON2_TIME_COST"] or None, app.config["ARGON2_MEMORY_KIB"] or None,
                        app.config.get("ARGON2_PARALLELISM") or None)

    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    register_models()
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to continue."
    login_manager.session_protection = None  # the server-side session row is the protection

    lifecycle.install(app)
    register_blueprints(app)
    errors.register(app)
    cli.register(app)
    return app


def _load_keyring(app: Flask) -> Any:
    from riskhub.crypto import Keyring

    if app.config.get("KEYRING"):
        return Keyring.from_json(app.config["KEYRING"])
    return Keyring.load(app.config["KEYRING_FILE"])
