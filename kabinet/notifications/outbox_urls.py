from django.urls import path

from kabinet.core.views import home

urlpatterns = [path("outbox/", home, name="outbox")]  # replaced by the notifications app
