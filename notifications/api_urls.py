from django.urls import path

from notifications import apis

urlpatterns = [
    path("channels", apis.ChannelListApi.as_view(), name="notification-channels"),
    path("channels/<int:channel_id>", apis.ChannelDetailApi.as_view(), name="notification-channel"),
    path("channels/<int:channel_id>/test", apis.ChannelTestApi.as_view(), name="notification-channel-test"),
    path(
        "channels/<int:channel_id>/rotate-secret",
        apis.ChannelRotateSecretApi.as_view(),
        name="notification-channel-rotate-secret",
    ),
    path("deliveries", apis.DeliveryListApi.as_view(), name="notification-deliveries"),
    path("deliveries/<int:delivery_id>", apis.DeliveryDetailApi.as_view(), name="notification-delivery"),
    path("deliveries/<int:delivery_id>/resend", apis.DeliveryResendApi.as_view(), name="notification-delivery-resend"),
]
