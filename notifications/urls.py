from django.urls import path

from notifications import views

urlpatterns = [
    path("", views.channel_list, name="notifications"),
    path("channels/new", views.channel_create, name="notification-channel-create"),
    path("channels/<int:channel_id>/edit", views.channel_edit, name="notification-channel-edit"),
    path("channels/<int:channel_id>/test", views.channel_test, name="notification-channel-test-page"),
    path(
        "channels/<int:channel_id>/rotate-secret",
        views.channel_rotate_secret,
        name="notification-channel-rotate-page",
    ),
    path("channels/<int:channel_id>/enable", views.channel_enable, name="notification-channel-enable"),
    path("channels/<int:channel_id>/delete", views.channel_delete, name="notification-channel-delete"),
    path("deliveries/", views.delivery_log, name="notification-deliveries-page"),
    path("deliveries/<int:delivery_id>/resend", views.delivery_resend, name="notification-delivery-resend-page"),
]
