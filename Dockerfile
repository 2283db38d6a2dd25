# Relais: the app and its command line, on Debian slim, as an unprivileged user.
# Build: docker build -t relais .   Run: see compose.yaml (two replicas behind nginx, on PostgreSQL).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The app runs from /app: `python -m dashboard` finds dashboard/, queries/, auth/ and pages/ there.
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

COPY pyproject.toml README.md ./
COPY .streamlit/config.toml .streamlit/config.toml
COPY dashboard dashboard
COPY queries queries
COPY auth auth
COPY pages pages

# No secret is in the image: the [auth] section comes from a mounted file (STREAMLIT_SECRETS_FILES), the rest
# (DATABASE_URL, RELAIS_PSEUDONYM_KEYS, ...) from the environment.
# The drop folder's mount point, the user's own, so that a named volume mounted there starts out writable by it.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin relais \
    && install -d -o relais -g relais -m 0750 /srv/relais/drop
USER 10001

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]

ENTRYPOINT ["python", "-m", "dashboard"]
# Every interface of the container: its port is not published (compose.yaml publishes nginx's alone). No schema
# upgrade here: the app's database role may not, and compose's migrate service has done it first.
CMD ["serve", "--address", "0.0.0.0", "--port", "8501", "--no-upgrade"]
