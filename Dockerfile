# MAP bot: the wheel built from this repository, run as a non-root user.
#   docker build -t mapbot .
#   docker run --env-file .env -p 3000:3000 mapbot            # mapbot serve
#   docker run --env-file .env mapbot mapbot worker           # reminders only
FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_FORMAT=json \
    DATABASE_URL=sqlite:////data/mapbot.db
COPY --from=build /wheels /wheels
RUN wheel="$(ls /wheels/mapbot-*.whl)" \
    && pip install --no-cache-dir "${wheel}[postgres]" \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data --create-home mapbot
USER mapbot
WORKDIR /data
# The same smoke test as tests/test_packaging.py: the installed wheel alone
# (migrations and templates as package data) answers, migrates and plans.
RUN mapbot --version \
    && mapbot db upgrade --db /tmp/smoke.db \
    && printf '/map status\n' | mapbot shell --demo --db /tmp/shell.db > /dev/null \
    && rm -f /tmp/smoke.db* /tmp/shell.db*
VOLUME ["/data"]
EXPOSE 3000
# 200 only when the database answers (GET /healthz); `mapbot worker` serves it too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
CMD ["mapbot", "serve"]
