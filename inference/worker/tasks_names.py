"""Task names of the live workers, importable by the web side without importing Celery tasks."""
CLICK_TASK = "clicklabel.live.click"
WARMUP_TASK = "clicklabel.live.warmup"
CANCEL_TASK = "clicklabel.live.cancel"
