from django.http import HttpResponse
from django.urls import path


def index(request):
    return HttpResponse("mysite is running\n", content_type="text/plain")


urlpatterns = [path("", index)]
