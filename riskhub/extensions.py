"""Flask extensions, created unbound so models and views can import them without the app."""

from typing import TYPE_CHECKING

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from riskhub.models.base import Model

db = SQLAlchemy(model_class=Model)

# Tables subclass `Base`: Flask-SQLAlchemy's `db.Model` at run time, our typed declarative base
# for the type checker (which cannot see through the dynamic class).
if TYPE_CHECKING:
    Base = Model
else:
    Base = db.Model
login_manager = LoginManager()
csrf = CSRFProtect()
migrate = Migrate()
