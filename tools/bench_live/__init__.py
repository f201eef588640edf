"""The live benchmark behind `manage.py bench_live`: a private stack (redis, SQLite, live worker, daphne)
(`stack`), its seed data (`seed`, run inside Django), the websocket scenarios (`client`, `scenarios`) and
their statistics (`stats`)."""
