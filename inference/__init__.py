"""ClickLabel's segmentation engine: networks, clicks, transforms, BRS / f-BRS sessions, evaluation,
training and the Celery worker side. Plain Python + PyTorch; never imports Django.

Coordinates in the public API are (x, y) in original-image pixels; the engine converts to the
reference implementations' (y, x) order exactly once, when it builds the points tensor.
"""
