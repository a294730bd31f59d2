from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cameras", "0003_probe_failures"),
    ]

    operations = [
        migrations.AddField(
            model_name="viewgrant",
            name="issued_ip",
            field=models.GenericIPAddressField(blank=True, null=True),
        ),
    ]
