"""/api/v1/: the forum's API for bots, mini-programs and other systems (django-ninja). It sits
at the top with the site pages: it reads through the apps' selectors and writes through their
services, with the same permissions and messages as the pages."""
