from django.urls import path

from browser_agent.views import AgentConfigView, BeaconView

app_name = "browser_agent"
urlpatterns = [
    path("<str:key>/config/", AgentConfigView.as_view(), name="config"),
    path("<str:key>/beacons/", BeaconView.as_view(), name="beacons"),
]
