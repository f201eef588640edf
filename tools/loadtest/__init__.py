"""Load and fault rehearsal of a running ClickLabel stack: seeded annotator accounts (`seed`), the Locust
load test (`locustfile`, `run`: `python -m tools.loadtest`) and the figures it writes."""
