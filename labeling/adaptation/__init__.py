"""Adapting a project's model: the Django side of `inference.adaptation` (settings, the job runner, the data
export of accepted annotations, model files in media storage)."""
