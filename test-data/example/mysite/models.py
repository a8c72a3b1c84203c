from django.db import models


class Photo(models.Model):
    image = models.ImageField(upload_to="photos/")
    uploaded = models.DateTimeField(auto_now_add=True)
