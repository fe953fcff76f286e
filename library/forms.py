from django import forms
from django.utils.translation import gettext_lazy as _

from topicshare.core.uploads import validate_slides_file


class MaterialsForm(forms.Form):
    slides_file = forms.FileField(
        label=_("Slides (PDF or PPTX)"), required=False, validators=[validate_slides_file]
    )
    slides_url = forms.URLField(
        label=_("…or a link to the slides"), required=False, max_length=1000, assume_scheme="https"
    )
    recording_url = forms.URLField(
        label=_("Recording link"),
        required=False,
        max_length=1000,
        assume_scheme="https",
        help_text=_("For example a Baidu Netdisk share link."),
    )
    extraction_code = forms.RegexField(
        label=_("Extraction code (提取码)"),
        regex=r"^[0-9A-Za-z]{0,20}$",
        required=False,
        error_messages={"invalid": _("Letters and digits only, up to 20.")},
    )
