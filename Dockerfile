FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY api ./api
COPY schema ./schema
COPY db ./db
RUN pip install --no-cache-dir . && useradd --create-home herald && mkdir /data && chown herald /data
USER herald
ENV HERALD_DATA_DIR=/data
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["herald", "serve", "--host", "0.0.0.0", "--port", "8000"]
