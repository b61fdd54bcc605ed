"""`awsorg demo`, run as a user runs it: exits 0, shows every landing-zone object Ready, with the ids AWS has."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_demo_applies_the_landing_zone_and_everything_is_ready() -> None:
    proc = subprocess.run([sys.executable, "-m", "controller", "demo", "--timeout", "90"], cwd=ROOT,
                          capture_output=True, text=True, timeout=150)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "Everything is Ready." in out
    tables, tree = out.split("$ aws organizations", 1)
    for ou in ("Production", "Non-Production", "Infrastructure"):
        row = re.search(rf"^\S+\s+(ou-\S+)\s+Root/{ou}\s+True\s+True\s+False", tables, re.M)
        assert row, f"OU {ou} not Ready in:\n{tables}"
        assert re.search(rf"{re.escape(ou)}\s+{re.escape(row.group(1))}", tree), f"{ou} id not in the AWS tree"
    for email in ("aws-production@", "aws-staging@", "aws-development@", "aws-shared-services@"):
        row = re.search(rf"^\S+\s+(\d{{12}})\s+{email}\S+\s+Root/\S+\s+ACTIVE\s+True", tables, re.M)
        assert row, f"account {email} not Ready in:\n{tables}"
        assert row.group(1) in tree
    # Both landing-zone SCPs Ready, and attached to every OU as AWS itself says.
    for policy in ("deny-root-user", "deny-unapproved-regions"):
        assert re.search(rf"^{policy}\s+p-\S+\s+\S+\s+True\s+True\s+False", tables, re.M), tables
    for ou in ("Production", "Non-Production", "Infrastructure"):
        line = next(line for line in tree.splitlines() if re.search(rf"─ {re.escape(ou)}\s+ou-", line))
        assert "deny-root-user" in line and "deny-unapproved-regions" in line, line
    # The Organization Ready with its baseline, and from AWS's side: all features, trusted access for CloudTrail and
    # Config, Shared Services as Config's delegated administrator, the access role in each of the four accounts.
    assert re.search(r"^organization\s+o-\S+\s+ALL\s+True\s+True\s+False\s+True", tables, re.M), tables
    settings = tree.split("(the organization's settings", 1)[1]
    assert "Feature set: ALL" in settings
    assert "Trusted access: cloudtrail.amazonaws.com, config.amazonaws.com" in settings
    assert re.search(r"Delegated administrator: Shared Services \(\d{12}\) for config.amazonaws.com", settings)
    for name in ("Development", "Production", "Shared Services", "Staging"):
        assert re.search(rf"Role PlatformEngineer in {name} \(\d{{12}}\): trusts arn:aws:iam::123456789012:root; "
                         r"policies arn:aws:iam::aws:policy/ReadOnlyAccess", settings), settings
    # Steps 6 and 7 from AWS's side: the organization trail logging into the Shared Services bucket, the bucket as
    # the issue asks, a recorder in every member account, the organization aggregator in Shared Services.
    logs = out.split("(the organization trail, the log archive, AWS Config)", 1)[1]
    assert ("Trail organization-trail: organization trail True, multi-region True, log file validation True, "
            "logging True, into s3://example-org-log-archive") in logs, logs
    shared = re.search(r"Role PlatformEngineer in Shared Services \((\d{12})\)", settings).group(1)  # type: ignore[union-attr]
    assert (f"Bucket example-org-log-archive in {shared}: public access blocked True, encryption AES256, expires "
            "after 365 days, policy admits cloudtrail.amazonaws.com, config.amazonaws.com") in logs, logs
    for name in ("Development", "Production", "Shared Services", "Staging"):
        assert re.search(rf"Config in {name} \(\d{{12}}\): recording True, delivering to example-org-log-archive",
                         logs), logs
    assert f"Aggregator organization-aggregator in {shared}: organization-wide True" in logs, logs
    # The drift part: an account moved in the console is found (status and metric) and moved back.
    assert re.search(r'awsorg_drift_detected_total\{kind="AwsAccount"\} 0 -> [1-9]', out), out
    assert "status.drift: parentId" in out
    assert "Corrected: the account is back in" in out


# A Python that lacks one of the sandbox's packages, as after `pip install awsorg-operator` without the extra.
_WITHOUT = """
import importlib.abc, sys

class Without(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == {missing!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Without())
from controller.cli import main
sys.exit(main(["demo"]))
"""


@pytest.mark.parametrize("missing", ["moto", "kmock", "jsonpath_ng"])
def test_demo_without_the_sandbox_extra_says_how_to_install_it(missing: str) -> None:
    proc = subprocess.run([sys.executable, "-c", _WITHOUT.format(missing=missing)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr  # one line, no traceback
    assert "pip install 'awsorg-operator[sandbox]'" in lines[0]
    assert repr(missing) in lines[0]
