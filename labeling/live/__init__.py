"""Web side of live annotation: message validation, rate limiting, the latest-wins slot, placement of
annotation sessions on click workers (Redis map + heartbeats), access checks and task dispatch.
The consumer (labeling/consumers.py) composes these; the protocol is in docs/live_protocol.md."""
