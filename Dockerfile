# studybot container: slim Python, non-root, only runtime dependencies.
# Build:  docker build -t studybot .
# Run:    docker compose up -d   (reads DISCORD_TOKEN from .env)

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
# The SQL migrations ship inside the package (bot/store/sql/).
COPY bot ./bot
RUN python -m venv /opt/studybot \
 && /opt/studybot/bin/pip install --upgrade pip \
 && /opt/studybot/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/studybot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    STUDYBOT_DATABASE=/data/studybot.db \
    STUDYBOT_CONTENT_DIR=/app/content/lessons
RUN useradd --create-home --uid 10001 studybot \
 && mkdir -p /data /app \
 && chown studybot:studybot /data
COPY --from=build /opt/studybot /opt/studybot
# The lessons are baked in; mount a folder over /app/content/lessons to override them.
COPY --chown=studybot:studybot content /app/content
USER studybot
WORKDIR /app
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["studybot", "health"]
STOPSIGNAL SIGTERM
CMD ["studybot", "run"]
