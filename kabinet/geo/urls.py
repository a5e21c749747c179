from django.urls import path

from kabinet.geo import views

urlpatterns = [path("cities.json", views.cities_json, name="geo-cities")]
