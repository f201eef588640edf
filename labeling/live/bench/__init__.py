"""`manage.py bench_live`: a private stack (redis, SQLite, live worker, daphne) and websocket scenarios."""
