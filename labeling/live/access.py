"""Access checks and data lookups for the live consumer (synchronous ORM; call through
`database_sync_to_async`). Who may see a project is decided by labeling.permissions (members and
active staff); unlike the REST API, the socket tells "no such image" (4404) from "not a member" (4403)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inference.adaptation.names import parse_version_name
from labeling.errors import ClickLabelError, NotFound, PermissionDenied
from labeling.models import Annotation, Image
from labeling.permissions import Action, can
from labeling.selectors.engine import project_engine_settings

WORKER_URL_EXPIRES_S = 24 * 3600   # presigned URL lifetime: a socket (and its click requests) may stay open all day


@dataclass(frozen=True)
class ImageContext:
    """What the consumer needs about the opened image (no ORM objects cross into async code)."""

    image_id: int
    project_id: int
    width: int
    height: int
    path: str
    default_model: str
    default_mode: str
    url: str = ""      # remote storage only: where a worker downloads the bytes (presigned; never sent to clients)

    def image_ref(self) -> dict:
        """The worker's image reference (`inference.worker.requests.ImageRef.from_payload`)."""
        return {"id": self.image_id, "path": self.path, "width": self.width, "height": self.height, "url": self.url}


def is_member(user: Any, project_id: int) -> bool:
    """True when the user may see the project (a member of any role, or active staff)."""
    return can(user, project_id, Action.VIEW)


def image_context(user: Any, image_id: int) -> ImageContext:
    """The image's context for a member; raises NotFound (no image) or PermissionDenied (not a member)."""
    image = Image.objects.select_related("project").filter(pk=image_id).first()
    if image is None:
        raise NotFound(f"image {image_id} does not exist")
    if not is_member(user, image.project_id):
        raise PermissionDenied("not a member of this image's project")
    path, url = image_location(image)
    engine = project_engine_settings(project=image.project)  # registered names, even if the project's are gone
    return ImageContext(image_id=image.pk, project_id=image.project_id, width=image.width, height=image.height,
                        path=path, default_model=engine.model, default_mode=engine.mode, url=url)


def image_location(image: Image) -> tuple[str, str]:
    """(local path, "") for file-system media; ("", presigned GET URL) for remote storage (S3), which the
    workers download (they share no disk with the web processes)."""
    try:
        return image.file.path, ""
    except (NotImplementedError, ValueError):  # remote storage has no local path
        pass
    storage, name = image.file.storage, image.file.name
    try:
        return "", storage.url(name, expire=WORKER_URL_EXPIRES_S)
    except TypeError:  # a remote storage whose url() takes no lifetime
        return "", storage.url(name)


def annotation_rle(image_id: int, annotation_id: int) -> dict:
    """The stored RLE of an annotation on this image (the mask a click session corrects); NotFound otherwise."""
    rle = Annotation.objects.filter(pk=annotation_id, image_id=image_id).values_list("rle", flat=True).first()
    if rle is None:
        raise NotFound(f"annotation {annotation_id} is not on this image")
    return rle


def check_model_name(name: str | None, project_id: int) -> None:
    """A client may name an adapted model only of the image's own project (`project-<id>-v<n>`; the worker
    loads the file of that name if the version was promoted). ClickLabelError "unknown_model" otherwise."""
    parsed = parse_version_name(name or "")
    if parsed is not None and parsed[0] != project_id:
        raise ClickLabelError(f"model {name!r} belongs to another project", code="unknown_model")
