# One image for every part; docker-compose.yml picks the part with its command.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY sandbox ./sandbox
COPY services ./services
COPY examples ./examples
RUN pip install --no-cache-dir .
ENV SANDBOX_HOME=/sandbox-home
