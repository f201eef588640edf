"""HTML routes of the annotator pages."""
urlpatterns: list = []
