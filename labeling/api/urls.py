"""REST API routes under /api/ (see docs/contracts.md), one API module per resource."""
from django.urls import path

from labeling.api import annotations, auth, exports, images, imports, projects, root

urlpatterns = [
    path("", root.ApiRootApi.as_view(), name="api-root"),
    path("engine/", root.EngineApi.as_view(), name="api-engine"),
    path("auth/token/", auth.TokenObtainApi.as_view(), name="api-token"),
    path("projects/", projects.ProjectListCreateApi.as_view(), name="api-projects"),
    path("projects/<int:project_id>/", projects.ProjectDetailApi.as_view(), name="api-project"),
    path("projects/<int:project_id>/progress/", projects.ProjectProgressApi.as_view(), name="api-project-progress"),
    path("projects/<int:project_id>/next-image/", projects.ProjectNextImageApi.as_view(), name="api-project-next-image"),
    path("projects/<int:project_id>/labels/", projects.ProjectLabelsApi.as_view(), name="api-project-labels"),
    path("projects/<int:project_id>/members/", projects.ProjectMembersApi.as_view(), name="api-project-members"),
    path("projects/<int:project_id>/members/<int:user_id>/", projects.ProjectMemberDetailApi.as_view(),
         name="api-project-member"),
    path("images/", images.ImageListApi.as_view(), name="api-images"),
    path("images/<int:image_id>/", images.ImageDetailApi.as_view(), name="api-image"),
    path("images/<int:image_id>/file/", images.ImageFileApi.as_view(), name="api-image-file"),
    path("images/<int:image_id>/thumb/", images.ImageThumbApi.as_view(), name="api-image-thumb"),
    path("images/<int:image_id>/submit/", images.ImageSubmitApi.as_view(), name="api-image-submit"),
    path("images/<int:image_id>/review/", images.ImageReviewApi.as_view(), name="api-image-review"),
    path("images/<int:image_id>/assign/", images.ImageAssignApi.as_view(), name="api-image-assign"),
    path("images/<int:image_id>/draft/", images.ImageDraftApi.as_view(), name="api-image-draft"),
    path("annotations/", annotations.AnnotationListCreateApi.as_view(), name="api-annotations"),
    path("annotations/<int:annotation_id>/", annotations.AnnotationDetailApi.as_view(), name="api-annotation"),
    path("projects/<int:project_id>/images/", images.ProjectImagesApi.as_view(), name="api-project-images"),
    path("projects/<int:project_id>/exports/", exports.ProjectExportsApi.as_view(), name="api-project-exports"),
    path("projects/<int:project_id>/export/", exports.ProjectDirectExportApi.as_view(), name="api-project-export"),
    path("projects/<int:project_id>/import/coco/", imports.ProjectCocoImportApi.as_view(),
         name="api-project-import-coco"),
    path("imports/<int:job_id>/", imports.ImportDetailApi.as_view(), name="api-import"),
    path("exports/<int:job_id>/", exports.ExportDetailApi.as_view(), name="api-export"),
    path("exports/<int:job_id>/download/", exports.ExportDownloadApi.as_view(), name="api-export-download"),
]
