"""COCO import as pre-labels: `coco.py` checks a file and creates its annotations in chunks of short
transactions; `jobs.py` runs an `ImportJob` (created by `labeling.services.imports.import_job_create`,
run by the Celery task `labeling.tasks.run_import_job`)."""
