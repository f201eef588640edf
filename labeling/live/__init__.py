"""Web side of live annotation: message validation, rate limiting (per connection, and per user across web
processes: `limits`), the newest outstanding request and its watchdog steps (`outstanding`), placement of
annotation sessions on click workers (Redis map + heartbeats), access checks and task dispatch.
The consumer (labeling/consumers.py) composes these; the protocol is in docs/live_protocol.md."""
