"""awsorg-operator: Git as the source of truth for an AWS Organization."""

from importlib.metadata import PackageNotFoundError, version

# The version lives in one place, pyproject.toml; the installed distribution's metadata carries it (the image
# installs the wheel, development the editable install). tests/deploy/test_release.py keeps deploy/ and the
# CHANGELOG on the same version.
try:
    __version__ = version("awsorg-operator")
except PackageNotFoundError:  # a bare checkout on sys.path without `pip install -e .`
    __version__ = "0+unknown"
