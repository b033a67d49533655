# sentibot: the main job (`sentibot run`) in a container.
#   docker build -t sentibot .
#   docker run --env-file .env -v sentibot-data:/app/data sentibot
# See docs/foundation.md (Docker) and docs/docker-compose.example.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TZ=Asia/Shanghai

# tzdata: market hours are Asia/Shanghai; fonts-wqy-microhei: charts render Chinese labels.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/* \
    && ln -sf /usr/share/zoneinfo/Asia/Shanghai /etc/localtime \
    && echo Asia/Shanghai > /etc/timezone

# A fixed non-root user owns only the data directory.
RUN useradd --create-home --uid 10001 --user-group sentibot

WORKDIR /app
COPY pyproject.toml README.md ./
COPY sentibot ./sentibot
RUN pip install . && rm -rf build

# Bundled, versioned inputs (demo episode, dictionaries) and the default database location.
COPY data ./data
RUN chown -R sentibot:sentibot /app/data

USER sentibot
# The SQLite history lives in the volume; a new named volume starts as a copy of the image's data/.
ENV SENTIBOT_DB=/app/data/sentibot.db
VOLUME ["/app/data"]

CMD ["sentibot", "run"]
