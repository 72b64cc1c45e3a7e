"""The quiz database: migrations, the single writer, and reads behind a narrow interface.

Import from the modules (``bot.store.database.Store``, ...): this package stays
empty so that the writer process, ``python -m bot.store.write_worker``, starts
without importing the event-loop side of the store.
"""
