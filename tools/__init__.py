"""Developer tools that run beside the app, not inside it: the process launcher of `make run` and the test
stacks (`tools.stack`), the live websocket benchmark behind `manage.py bench_live` (`tools.bench_live`) and
the static import-graph check (`tools.import_graph`)."""
