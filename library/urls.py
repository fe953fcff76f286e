from django.urls import path

from library import views

app_name = "library"
urlpatterns = [
    path("", views.library_index, name="index"),
    path("open-source/", views.open_source, name="open-source"),
    path("feed/", views.LibraryFeed(), name="feed"),
    path("feed/atom/", views.LibraryAtomFeed(), name="feed-atom"),
    path("<int:pk>/", views.item_page, name="detail"),
    path("<int:pk>/slides/", views.item_slides, name="slides"),
    path("<int:pk>/materials/", views.item_materials, name="materials"),
]
