"""Flask extensions, created unbound so models and views can import them without the app."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from riskhub.models.base import Model

db = SQLAlchemy(model_class=Model)
login_manager = LoginManager()
csrf = CSRFProtect()
migrate = Migrate()
