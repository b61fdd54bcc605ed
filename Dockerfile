# awsorg-operator image: `awsorg run` as a non-root user on a read-only root filesystem.
#
# Build: docker build -t awsorg-operator:0.1.0 .
# The install steps below are exercised without Docker by tests/deploy/test_image.py (wheel build,
# install into a fresh virtualenv, `awsorg --help`, `awsorg crds`); hadolint lints this file there too.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# ---------------------------------------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src

# The runtime dependencies, pinned, in their own layer (cached while only the code changes). Not the
# sandbox (moto, kmock: requirements-sandbox.txt, the [sandbox] extra): the image runs `awsorg run` only.
RUN python -m venv /opt/awsorg
COPY requirements.txt ./
RUN /opt/awsorg/bin/pip install --no-cache-dir -r requirements.txt

# The project wheel, built with a pinned build backend (the same pin as requirements-dev.txt).
COPY pyproject.toml README.md ./
COPY controller ./controller
RUN /opt/awsorg/bin/pip install --no-cache-dir setuptools==80.9.0 \
    && /opt/awsorg/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/awsorg/bin/pip install --no-cache-dir --no-deps /wheels/awsorg_operator-*.whl \
    && /opt/awsorg/bin/pip uninstall --yes setuptools \
    && /opt/awsorg/bin/python -m compileall -q /opt/awsorg/lib

# -------------------------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="awsorg-operator" \
      org.opencontainers.image.description="Git as the source of truth for an AWS Organization" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY --from=build /opt/awsorg /opt/awsorg

# Read-only root filesystem: nothing is written outside /tmp (an emptyDir in deploy/), bytecode is
# precompiled above, and HOME points at /tmp for any library that wants a home directory.
ENV PATH=/opt/awsorg/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp

# A numeric non-root user (no passwd entry needed), so runAsNonRoot can verify it.
USER 65532:65532
WORKDIR /tmp

# 8000: Prometheus metrics (AWSORG_METRICS_PORT); 8080: liveness endpoint (--liveness).
EXPOSE 8000 8080

ENTRYPOINT ["awsorg", "run"]
