"""The browser's own date and time pickers.

<input type="date"> and "datetime-local" take a value in one format only, fixed by
the HTML standard whatever the page's language (2027-01-04, 2027-01-04T20:30); a value
in any other format shows as an empty field, and saving the form then erases it. So these
widgets fix their format instead of taking the language's (settings.FORMAT_MODULE_PATH puts
ISO first for text inputs too, the admin's among them)."""

from django import forms


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")
