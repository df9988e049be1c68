# One image for every part; docker-compose.yml (and deploy/k8s/sandbox.yaml) picks the part with its
# command. BASE_IMAGE: any Debian-like image with python3 (>= 3.11) and its venv module. The default
# comes from Docker Hub; where Docker Hub is not reachable, build a base with mmdebstrap and
# `docker import` it (.ci/compose does), then: docker build --build-arg BASE_IMAGE=that-image .
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# A venv, not the system site-packages: Debian's python3 refuses `pip install` outside one (PEP 668).
ENV VIRTUAL_ENV=/opt/sandbox \
    PATH=/opt/sandbox/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN python3 -m venv /opt/sandbox

WORKDIR /app
COPY pyproject.toml README.md ./
COPY sandbox ./sandbox
COPY services ./services
# The agents extra: the vendors' SDKs, so the example agents also run inside the image.
RUN pip install ".[agents]" && sandbox --help >/dev/null
COPY examples ./examples
COPY deploy/docker/entrypoint.sh /usr/local/bin/sandbox-entrypoint

# A non-root user (uid 10001). docker-compose.yml may run the parts as the host user instead
# (SANDBOX_UID/SANDBOX_GID), so that user owns the compose home on the host: HOME is writable by
# any uid, and the uid needs no passwd entry. Written by hand: minimal bases have no useradd.
RUN echo "sandbox:x:10001:10001:agent-sandbox:/home/sandbox:/usr/sbin/nologin" >> /etc/passwd \
    && echo "sandbox:x:10001:" >> /etc/group \
    && mkdir -p /home/sandbox /sandbox-home \
    && chmod 1777 /home/sandbox \
    && chown 10001:10001 /sandbox-home && chmod 700 /sandbox-home
ENV HOME=/home/sandbox SANDBOX_HOME=/sandbox-home
USER 10001:10001
ENTRYPOINT ["sandbox-entrypoint"]
CMD ["sandbox", "--help"]
