# syntax=docker/dockerfile:1
# check=skip=SecretsUsedInArgOrEnv
# (The only secret-looking build arg is a throwaway key for collectstatic; see below.)

# trixie: its postgresql-client (17) matches compose's postgres:17 for `manage.py backup`.
FROM python:3.11-slim-trixie

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=topicshare.settings.production \
    GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000 --workers 3 --access-logfile -"

# A writable home: gunicorn (25.1+) puts its control socket in ~/.gunicorn/.
RUN groupadd --system app \
    && useradd --system --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app

WORKDIR /app

# The session posters set Chinese in Debian's Noto CJK (topicshare/forum/promotion.py);
# `manage.py backup` and `restore` run pg_dump and pg_restore.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so that a code change does not reinstall them: exactly the runtime lock
# (the versions the suite ran with, hash-checked; `make lock` writes it).
COPY requirements-prod.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements-prod.lock \
    && pip check

COPY . .

# Production settings use whitenoise's manifest storage: the static files and their manifest
# are built into the image. The key only satisfies the production settings during this step;
# the running containers get the real one (and the real site address) from the environment.
ARG DJANGO_SECRET_KEY=collectstatic-only-not-a-secret-0000000000000000000000000000000000
RUN DJANGO_SECRET_KEY="$DJANGO_SECRET_KEY" TOPICSHARE_SITE_URL=http://localhost \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media /app/var/backups \
    && chown -R app:app /app/var

USER app

EXPOSE 8000

CMD ["gunicorn", "topicshare.wsgi"]
