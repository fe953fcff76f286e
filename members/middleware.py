from django.conf import settings
from django.utils import translation


class PreferredLanguageMiddleware:
    """A signed-in user's preferred language wins over the browser's Accept-Language."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "preferred_language", "") if user else ""
        if user is not None and user.is_authenticated and language in self.languages:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
