# awsorg-operator image: `awsorg run` as a non-root user on a read-only root filesystem.
#
# Build: buildah build -t awsorg-operator:$(version) .  (or docker build; the release workflow,
# docs/examples/release-workflow.yaml, builds, scans and pushes it). The version is pyproject.toml's.
# The install steps below are exercised without an image by tests/deploy/test_image.py (the lock's pins against
# the tested virtualenv, the wheel build, install into a fresh virtualenv, `awsorg --version`, `awsorg crds`);
# hadolint lints this file there too. AWSORG_TEST_NETWORK=1 checks the lock's hashes against PyPI and
# AWSORG_TEST_IMAGE_BUILD=1 builds and runs the image with buildah (both need the network).

# The base image by digest (the python:3.11.13-slim-bookworm index, all platforms): a re-pushed tag cannot
# change what is built. To move it: resolve the new tag's digest (`crane digest python:<tag>`, `skopeo
# inspect`) and change both, tag and digest, here.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

# ---------------------------------------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src

# The runtime dependencies from the lock file, every distribution pinned with its wheels' sha256 (pip
# refuses anything unhashed or different: --require-hashes), wheels only, in their own layer (cached while
# only the code changes). requirements.txt is the human list the lock is generated from. Not the sandbox
# (moto, kmock: requirements-sandbox.txt, the [sandbox] extra): the image runs `awsorg run` only.
RUN python -m venv /opt/awsorg
COPY requirements.lock requirements-build.lock ./
RUN /opt/awsorg/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements.lock

# The project wheel, built with the pinned, hashed build backend (requirements-build.lock: the same pin as
# requirements-dev.txt).
COPY pyproject.toml README.md ./
COPY controller ./controller
RUN /opt/awsorg/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements-build.lock \
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
