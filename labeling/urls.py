"""HTML routes of the annotator pages, and Django's login / logout views under /accounts/."""
from django.contrib.auth import views as auth_views
from django.urls import path

from labeling import views

app_name = "labeling"

urlpatterns = [
    path("", views.project_list_page, name="projects"),
    path("projects/<int:project_id>/", views.project_page, name="project"),
    path("annotate/<int:image_id>/", views.annotate_page, name="annotate"),
    path("review/<int:image_id>/", views.review_page, name="review"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="labeling/login.html",
                                                         redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page=views.LOGIN_URL), name="logout"),
]
