"""Unbound Flask extensions, initialised by the app factory."""
from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from crm.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# When the shared store (Redis) cannot be reached, limits are counted in this process's memory (with a
# logged warning) and errors never fail the request: nobody is locked out of signing in because Redis
# is down. The store is tried again after 1, 2, 4... 32 seconds and used again as soon as it answers.
limiter = Limiter(key_func=get_remote_address, default_limits=[], in_memory_fallback_enabled=True,
                  swallow_errors=True)
