from django.urls import path

from graph import views

app_name = "graph"

urlpatterns = [
    path("researchers/<int:author_id>/graph-slice/", views.slice_fragment, name="slice"),
    path("researchers/<int:author_id>/graph-slice/retry/", views.slice_retry, name="retry"),
    path("researchers/<int:author_id>/graph/", views.explorer, name="explorer"),
    path("researchers/<int:author_id>/graph.json", views.graph_json, name="json"),
]
