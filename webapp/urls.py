"""Top-level URL map. Each app contributes its own urls module.

Stored files (MEDIA_ROOT) have no URL of their own, in any mode: images are served by
/api/images/<id>/file/, export files by /api/exports/<id>/download/ and admin thumbnails by the admin's
thumbnail view, each after its permission check.
"""
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("labeling.api.urls")),
    path("", include("labeling.urls")),
]

handler404 = "labeling.api.exception_handler.not_found"

if settings.DEBUG:  # development only: production serves static files from a proxy (collectstatic)
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
