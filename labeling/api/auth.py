"""`POST /api/auth/token/`: trade username + password for an API token (Authorization: Token <key>)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.response import Response
from rest_framework.views import APIView


class TokenObtainApi(APIView):
    """Password guessing is slowed per client IP (scope "auth", rate in REST_FRAMEWORK settings) and locked out
    per username and address by django-axes, like every login path (a locked-out attempt answers 429)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=AuthTokenSerializer,
                   responses=inline_serializer("TokenOutput", {"token": serializers.CharField()}))
    def post(self, request: Request) -> Response:
        # The Django request, not DRF's wrapper: django-axes marks a locked-out attempt on it, and its
        # middleware turns that mark into the 429 response.
        serializer = AuthTokenSerializer(data=request.data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})
