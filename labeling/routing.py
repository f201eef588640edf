"""Websocket routes."""
from django.urls import path

from labeling.consumers import AnnotateConsumer

websocket_urlpatterns: list = [
    path("ws/annotate/<int:image_id>/", AnnotateConsumer.as_asgi()),
]
