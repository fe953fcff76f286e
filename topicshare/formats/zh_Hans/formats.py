from django.conf.locale.zh_Hans import formats

from topicshare.formats import iso_first_input_formats

DATE_INPUT_FORMATS, TIME_INPUT_FORMATS, DATETIME_INPUT_FORMATS = iso_first_input_formats(formats)
