"""Writes of the labelling domain: typed, keyword-only `<entity>_<action>` functions, each atomic.

Services authorize through `labeling.permissions` and raise `labeling.errors.ClickLabelError`
subclasses; they never build HTTP responses. Import the module you need, e.g.
`from labeling.services.annotations import annotation_create`.
"""
