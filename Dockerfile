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
RUN useradd --system --home /srv/assetmap assetmap && chown -R assetmap /srv/assetmap
USER assetmap
EXPOSE 8000
CMD ["sh", "-c", "assetmap db upgrade && assetmap load-sample && assetmap analyse --city Berlin --service childcare --top 3 && assetmap serve --host 0.0.0.0 --port 8000"]
