# assetmap app image (for docker-compose.yml). Browser libraries come from the npm registry at build time.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/assetmap
COPY pyproject.toml README.md alembic.ini package.json package-lock.json ./
COPY app app
COPY geo geo
COPY migrations migrations
COPY scripts scripts
COPY data data
RUN pip install -e . && bash scripts/vendor_assets.sh
# Compile the E2SFCA loops (numba) once, into geo/__pycache__, so that no run or request waits for the compiler
# (seconds of CPU; loading the cached code takes a fraction of that). The cache is keyed by the CPU: a host with
# another CPU compiles again on its first run and writes its own entry, which the chown below keeps possible.
RUN python -c "import geo.access; geo.access.warm_up()" && ls geo/__pycache__/*.nbi > /dev/null
RUN useradd --system --home /srv/assetmap assetmap && chown -R assetmap /srv/assetmap
USER assetmap
EXPOSE 8000
CMD ["sh", "-c", "assetmap db upgrade && assetmap load-sample && assetmap analyse --city Berlin --service childcare --top 3 && assetmap serve --host 0.0.0.0 --port 8000"]
