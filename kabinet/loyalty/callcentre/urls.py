from django.urls import path

from kabinet.loyalty.callcentre import views

app_name = "callcentre"

urlpatterns = [
    path("", views.search, name="search"),
    path("members/<int:pk>/", views.member, name="member"),
    path("members/<int:pk>/adjust/", views.adjust, name="adjust"),
    path("cards/<int:pk>/block/", views.block, name="block"),
    path("cards/<int:pk>/replace/", views.replace, name="replace"),
    path("activate/", views.activate, name="activate"),
    path("activate/code/", views.activate_code, name="activate-code"),
    path("activate/resend/", views.activate_resend, name="activate-resend"),
    path("adjustments/", views.adjustments, name="adjustments"),
    path("adjustments/<int:pk>/approve/", views.adjustment_approve, name="adjustment-approve"),
    path("adjustments/<int:pk>/reject/", views.adjustment_reject, name="adjustment-reject"),
    path("reports/", views.report, name="reports"),
    path("reports/points.csv", views.report_points_csv, name="reports-points-csv"),
    path("reports/active.csv", views.report_active_csv, name="reports-active-csv"),
]
