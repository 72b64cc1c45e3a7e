"""The quiz database: migrations, the single writer, and reads behind a narrow interface."""

from bot.store.database import Store
from bot.store.interface import QuizStore
from bot.store.migrations import DatabaseTooNewError, MigrationError, migrate
from bot.store.records import ConflictError

__all__ = [
    "ConflictError",
    "DatabaseTooNewError",
    "MigrationError",
    "QuizStore",
    "Store",
    "migrate",
]
