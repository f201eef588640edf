"""Routes of upload, export and import (included by labeling.api.urls under /api/)."""
from django.urls import path

from labeling.api import transfer_views as views

urlpatterns = [
    path("projects/<int:project_id>/images/", views.ProjectImagesUploadApi.as_view(), name="api-project-images"),
    path("projects/<int:project_id>/exports/", views.ProjectExportsApi.as_view(), name="api-project-exports"),
    path("projects/<int:project_id>/export/", views.ProjectDirectExportApi.as_view(), name="api-project-export"),
    path("projects/<int:project_id>/import/coco/", views.ProjectCocoImportApi.as_view(), name="api-project-import-coco"),
    path("exports/<int:job_id>/", views.ExportDetailApi.as_view(), name="api-export"),
    path("exports/<int:job_id>/download/", views.ExportDownloadApi.as_view(), name="api-export-download"),
]
