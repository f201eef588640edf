"""Page-number pagination; `?page_size=` up to 1000 (an image's annotations fit in one page)."""
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000
