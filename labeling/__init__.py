"""ClickLabel's Django app: projects, images, roles, annotations, reviews, admin, REST API, exports,
and the websocket consumer of the live annotator."""
