from django.db import models


class Thing(models.Model):
    name = models.CharField(max_length=100)
    flag = models.BooleanField(default=False)
    colour = models.CharField(max_length=20, blank=True, db_default="")
    visits = models.IntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["name"], name="thing_name_idx")]

    def __str__(self) -> str:
        return self.name
