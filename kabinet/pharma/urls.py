from django.urls import path

from kabinet.pharma import views
from kabinet.pharma.catalog import api as catalog_api
from kabinet.pharma.catalog import backoffice as catalog_backoffice
from kabinet.pharma.catalog import backoffice as imports
from kabinet.pharma.catalog import views as catalog_views
from kabinet.pharma.orders import list_views, quick_views
from kabinet.pharma.orders import views as order_views
from kabinet.pharma.payments import backoffice as payment_backoffice
from kabinet.pharma.payments import views as payment_views

app_name = "pharma"

urlpatterns = [
    path("", views.home, name="home"),
    path("contacts/", views.contacts, name="contacts"),
    path("branches/", views.branches, name="branches"),
    path("become-client/", views.become_client, name="become-client"),
    path("become-client/sent/", views.lead_sent, name="lead-sent"),
    path("register/", views.register, name="register"),
    path("register/sent/", views.register_sent, name="register-sent"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password/forgot/", views.forgot_password, name="password-forgot"),
    path("password/forgot/sent/", views.password_sent, name="password-sent"),
    path("password/set/", views.set_password, name="password-set"),
    path("cabinet/", views.cabinet, name="cabinet"),
    path("cabinet/catalog/", catalog_views.catalog, name="catalog"),
    path("cabinet/catalog/search.json", catalog_api.search_json, name="catalog-search-json"),
    path("cabinet/catalog/<str:code>/", catalog_views.product_card, name="product"),
    path("cabinet/cart/", order_views.cart, name="cart"),
    path("cabinet/cart/add/", order_views.cart_add, name="cart-add"),
    path("cabinet/cart/update/", order_views.cart_update, name="cart-update"),
    path("cabinet/cart/place/", order_views.cart_place, name="cart-place"),
    path("cabinet/cart/quick/", quick_views.quick_order, name="cart-quick"),
    path("cabinet/orders/", order_views.orders, name="orders"),
    path("cabinet/orders/<int:pk>/", order_views.order_detail, name="order"),
    path("cabinet/orders/<int:pk>/cancel/", order_views.order_cancel, name="order-cancel"),
    path("cabinet/orders/<int:pk>/approve/", order_views.order_approve, name="order-approve"),
    path("cabinet/orders/<int:pk>/reorder/", order_views.order_reorder, name="order-reorder"),
    path("cabinet/orders/<int:pk>/save-list/", list_views.order_save_list, name="order-save-list"),
    path("cabinet/lists/", list_views.lists, name="saved-lists"),
    path("cabinet/lists/new/", list_views.list_new, name="saved-list-new"),
    path("cabinet/lists/from-cart/", list_views.list_from_cart, name="saved-list-from-cart"),
    path("cabinet/lists/add/", list_views.product_to_list, name="saved-list-add-product"),
    path("cabinet/lists/<int:pk>/", list_views.list_detail, name="saved-list"),
    path("cabinet/lists/<int:pk>/rename/", list_views.list_rename, name="saved-list-rename"),
    path("cabinet/lists/<int:pk>/delete/", list_views.list_delete, name="saved-list-delete"),
    path("cabinet/lists/<int:pk>/lines/", list_views.list_add, name="saved-list-line-add"),
    path(
        "cabinet/lists/<int:pk>/lines/update/",
        list_views.list_update,
        name="saved-list-line-update",
    ),
    path("cabinet/lists/<int:pk>/to-cart/", list_views.list_to_cart, name="saved-list-to-cart"),
    path(
        "cabinet/orders/<int:pk>/invoice.pdf",
        payment_views.order_invoice,
        name="order-invoice",
    ),
    path("cabinet/orders/<int:pk>/pay/", payment_views.order_pay, name="order-pay"),
    path(
        "test-bank/<str:provider_payment_id>/",
        payment_views.test_bank_pay,
        name="test-bank-pay",
    ),
    path(
        "payments/webhook/<str:provider>/",
        payment_views.payment_webhook,
        name="payment-webhook",
    ),
    path("cabinet/payments/", payment_views.account, name="payments"),
    path("cabinet/users/", views.users, name="users"),
    path("cabinet/users/invite/", views.invite, name="invite"),
    path("cabinet/users/<int:pk>/", views.user_access, name="user-access"),
    path("cabinet/addresses/", views.addresses, name="addresses"),
    path("cabinet/addresses/new/", views.address_edit, name="address-new"),
    path("cabinet/addresses/<int:pk>/", views.address_edit, name="address-edit"),
    path("cabinet/addresses/<int:pk>/delete/", views.address_delete, name="address-delete"),
    path("backoffice/", views.backoffice_queues, name="backoffice"),
    path("backoffice/imports/", imports.import_list, name="import-list"),
    path("backoffice/imports/new/", imports.import_new, name="import-new"),
    path("backoffice/imports/<int:pk>/", imports.import_detail, name="import-detail"),
    path("backoffice/imports/<int:pk>/progress/", imports.import_progress, name="import-progress"),
    path("backoffice/imports/<int:pk>/report/", imports.import_report, name="import-report"),
    path("backoffice/stock/", catalog_backoffice.stock, name="stock"),
    path("backoffice/statements/", payment_backoffice.statement_list, name="statement-list"),
    path(
        "backoffice/statements/<int:pk>/",
        payment_backoffice.statement_detail,
        name="statement-detail",
    ),
    path(
        "backoffice/statements/<int:pk>/documents/<int:document_id>/assign/",
        payment_backoffice.statement_assign,
        name="statement-assign",
    ),
    path("backoffice/payments/", payment_backoffice.payment_list, name="payment-list"),
    path(
        "backoffice/payments/<int:pk>/refund/",
        payment_backoffice.payment_refund,
        name="payment-refund",
    ),
    path("backoffice/receivables/", payment_backoffice.receivables, name="receivables"),
]
