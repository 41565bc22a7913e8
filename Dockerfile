# The production image. It serves the site with gunicorn; docker-compose.yml
# runs the same image as the Celery worker and beat.
FROM python:3.12-slim

# The code runs from /app (settings find templates/ and static/ beside the
# packages), so /app comes first on the import path.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GUNICORN_WORKERS=2 \
    GUNICORN_THREADS=4

# Its home is the only place it may write (beat keeps its schedule there).
RUN useradd --system --user-group --uid 10001 --create-home \
    --home-dir /var/lib/bzpeer --shell /usr/sbin/nologin bzpeer

# `pip install .` from pyproject.toml alone (no dev extras): the dependencies
# land in their own layer, rebuilt only when pyproject.toml changes.
COPY pyproject.toml /tmp/deps/
RUN pip install /tmp/deps && rm -rf /tmp/deps

WORKDIR /app
COPY . .

# Production settings refuse to load without a strong SECRET_KEY. This dummy
# exists only in this step's environment, never in the image's.
RUN DEBUG=0 \
    SECRET_KEY=build-time-dummy-key-for-collectstatic-only-never-used-to-serve \
    python manage.py collectstatic --noinput

USER bzpeer
EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn bzpeer.wsgi --bind 0.0.0.0:8000 --workers \"$GUNICORN_WORKERS\" --threads \"$GUNICORN_THREADS\" --access-logfile -"]
