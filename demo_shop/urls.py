from django.urls import path

from demo_shop import views

app_name = "demo_shop"
urlpatterns = [
    path("", views.product_list, name="list"),
    path("products/<str:sku>/", views.product_page, name="product"),
    path("cart/", views.cart, name="cart"),
    path("checkout/", views.checkout, name="checkout"),
    path("api/cart", views.cart_api, name="cart-api"),
    path("api/payment", views.payment_api, name="payment-api"),
]
