# One image for every role: API, worker, migrations and the simulators (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY adapters ./adapters
COPY mappings ./mappings
COPY examples ./examples
# Installed as the README's run command installs it (without -e: the image has no checkout to edit).
# Every dependency, zeep's async extra among them, comes from pyproject.toml; the build reads
# README.md (the package's readme) and the gateway and adapters packages with their data files.
RUN pip install --no-cache-dir .
ENV GATEWAY_MAPPINGS_DIR=/app/mappings/default \
    GATEWAY_DATA_DIR=/data
RUN useradd --system --home /data gateway && mkdir -p /data && chown gateway /data
USER gateway
EXPOSE 8000
CMD ["gateway", "api", "--host", "0.0.0.0", "--port", "8000"]
