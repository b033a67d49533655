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

# tzdata: market hours are Asia/Shanghai. No system CJK font: the chart's comes with the pylopdf-fonts-zh-cn dependency.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && ln -sf /usr/share/zoneinfo/Asia/Shanghai /etc/localtime \
    && echo Asia/Shanghai > /etc/timezone

# A fixed non-root user owns only the data directory.
RUN useradd --create-home --uid 10001 --user-group sentibot

# The package carries its bundled, versioned inputs (dictionaries, demo episode) inside it, so a normal
# (non-editable) install is complete and an upgraded image never runs with a previous image's dictionaries.
WORKDIR /opt/sentibot
COPY pyproject.toml README.md ./
COPY sentibot ./sentibot
RUN pip install . && rm -rf build /opt/sentibot

# The working directory holds only the history: data/ is the volume.
WORKDIR /app
RUN mkdir -p /app/data && chown -R sentibot:sentibot /app

# Build the tokenizer cache (sentibot.text.tokenizer) into the image, in the sentibot user's ~/.cache/sentibot: every
# container, including a one-off `docker run --rm ... sentibot analyze`, then starts from it instead of building
# the tokenizer again (docs/text.md has the figures).
# It also fails the build if a bundled dictionary does not load. jieba's own cache (/tmp) is not needed after it.
RUN XDG_CACHE_HOME=/home/sentibot/.cache python -c "from sentibot.text.tokenizer import tokenize; tokenize('BSE 50')" \
    && chown -R sentibot:sentibot /home/sentibot/.cache \
    && rm -f /tmp/jieba.cache

USER sentibot
# The SQLite history (and `sentibot demo` output under data/out) lives in the volume.
ENV SENTIBOT_DB=/app/data/sentibot.db
VOLUME ["/app/data"]

CMD ["sentibot", "run"]
