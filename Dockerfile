# Production image: uvicorn workers in front of PostgreSQL (DATABASE_URL).
#   docker build -t sscmatch .
#   docker run --rm -e DATABASE_URL=postgresql://user:pass@db:5432/sscmatch sscmatch sscmatch migrate
#   docker run -p 8000:8000 --stop-timeout 30 -e DATABASE_URL=... sscmatch
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
# The dependencies first, read from pyproject.toml alone: a change of the code or the README
# reuses this layer instead of downloading and installing them all again.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && /opt/venv/bin/pip install -r requirements.txt
COPY README.md ./
COPY service/ service/
COPY models/ models/
COPY migrations/ migrations/
RUN /opt/venv/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    WORKERS=4 PORT=8000
RUN useradd --system --create-home --uid 10001 app
COPY --from=build /opt/venv /opt/venv
USER app
WORKDIR /home/app
EXPOSE 8000
# The check asks the server directly: no proxy from the environment (HTTP_PROXY), which
# Docker sets in containers from the client's proxy settings.
# Start-up (migrations, then the workers loading the text model) takes 13-23 s on 2 cores.
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --retries=3 \
  CMD python -c "import os,sys,urllib.request as u; url='http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'); sys.exit(0 if u.build_opener(u.ProxyHandler({})).open(url, timeout=2).status == 200 else 1)"
# Run `sscmatch migrate` as its own step before a release; `serve` also applies any pending
# migration before it starts the workers (never on import), then runs uvicorn with TCP_NODELAY.
# Every command needs DATABASE_URL: without it sscmatch would use a SQLite file inside the
# container, lost with it. SQLite on a mounted volume stays possible, named explicitly.
ENTRYPOINT ["sh", "-c", "if [ -z \"${DATABASE_URL:-}\" ]; then echo 'error: set DATABASE_URL, e.g. postgresql://user:pass@db:5432/sscmatch (or sqlite:////data/sscmatch.db on a mounted volume): a database inside the container is lost with it' >&2; exit 2; fi; exec \"$@\"", "sh"]
CMD ["sh", "-c", "exec sscmatch serve --host 0.0.0.0 --port ${PORT} --workers ${WORKERS}"]
