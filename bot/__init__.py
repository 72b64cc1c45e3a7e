"""studybot: a Discord bot for study groups that teaches async concurrency."""

__version__ = "0.1.0"
