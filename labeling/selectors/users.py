"""Reads about users."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from labeling.errors import ClickLabelError


def user_get_active(*, user_id: Any) -> Any:
    """The active user with that id (an int or a string of digits), or ClickLabelError 400 ("invalid_user")."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first() if str(user_id).isdigit() else None
    if user is None:
        raise ClickLabelError(f"No active user with id {user_id!r}.", code="invalid_user")
    return user


def user_get_active_by_ref(*, ref: Any) -> Any:
    """The active user named by `ref`: an id (int or digits) or else a username; ClickLabelError 400
    ("invalid_user") when there is none."""
    users = get_user_model().objects.filter(is_active=True)
    user = (users.filter(pk=int(ref)).first() if isinstance(ref, int) or str(ref).isdigit()
            else users.filter(username=str(ref)).first())
    if user is None:
        raise ClickLabelError(f"No active user {ref!r}.", code="invalid_user")
    return user
