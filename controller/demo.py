"""``awsorg demo``: the real operator against the embedded sandbox, applying ``examples/``.

Starts the strict AWS Organizations emulator and the local Kubernetes API, applies the landing zone,
runs the operator (``awsorg run``, as a child process, exactly as in a cluster) until every object is
Ready, then prints what a user would see: the objects as ``kubectl get`` prints them, and the
organization as AWS sees it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from controller.api import crds as crdgen
from controller.api.models import GROUP, KINDS, KINDS_BY_KIND
from controller.aws.gateway import OrganizationsGateway
from controller.sandbox.aws import AwsSandbox
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient
from controller.sandbox.kubectl import format_table

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_objects(path: Path) -> list[dict[str, Any]]:
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    objects: list[dict[str, Any]] = []
    for file in files:
        for doc in yaml.safe_load_all(file.read_text()):
            if isinstance(doc, dict) and doc.get("kind") in KINDS_BY_KIND:
                objects.append(doc)
    return objects


def is_ready(obj: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in (obj.get("status") or {}).get("conditions", [])
    )


@contextlib.contextmanager
def sandbox(create_account_delay: float = 1.0,
            propagation_delay: float = 2.0) -> Iterator[tuple[AwsSandbox, KubeSandbox, Path]]:
    """The demo's AWS plays AWS's delays: account creation, and IAM and S3 policy changes seen seconds late by STS,
    CloudTrail and Config (controller.sandbox.propagation), which the operator waits out."""
    aws = AwsSandbox(create_account_delay=create_account_delay)
    aws.propagation_delay = propagation_delay
    aws.start()
    kube = KubeSandbox(crdgen.all_crds())
    kube.start()
    workdir = Path(tempfile.mkdtemp(prefix="awsorg-demo-"))
    failed = True
    try:
        aws.bootstrap()
        kubeconfig = kube.write_kubeconfig(workdir / "kubeconfig")
        yield aws, kube, kubeconfig
        failed = False
    finally:
        kube.stop()
        aws.stop()
        if not failed and not (workdir / "keep").exists():
            shutil.rmtree(workdir, ignore_errors=True)  # kept on failure: the operator log is there


def operator_env(aws: AwsSandbox, kubeconfig: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AWSORG_", "KUBECONFIG"))}
    env.update(aws.env())
    env.update(
        KUBECONFIG=str(kubeconfig),
        AWSORG_METRICS_PORT="0",
        AWSORG_WAIT_SECONDS="1",
        AWSORG_BACKOFF_BASE_SECONDS="1",
        AWSORG_BACKOFF_MAX_SECONDS="10",
    )
    env.update(extra)
    return env


def start_operator(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "controller", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def stop_operator(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop the operator process (SIGTERM: kopf's graceful stop), killing it if it does not exit in 10 s."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def aws_tree(aws_client: Any) -> str:
    gateway = OrganizationsGateway(aws_client)
    snap = gateway.snapshot()
    if "SERVICE_CONTROL_POLICY" in snap.enabled_policy_types:
        for ou_id in snap.ous:  # the whole truth per OU, AWS-managed FullAWSAccess included
            gateway.refresh_target_policies(ou_id, "SERVICE_CONTROL_POLICY")
        snap = gateway.snapshot()
    lines = [f"Root {snap.root_id}  (organization {snap.organization_id})"]

    def walk(parent: str, indent: str) -> None:
        ous = snap.child_ous(parent)
        accounts = snap.child_accounts(parent)
        entries: list[tuple[str, str]] = [("ou", o.id) for o in ous] + [("acct", a.id) for a in accounts]
        for i, (what, ident) in enumerate(entries):
            last = i == len(entries) - 1
            branch = "└── " if last else "├── "
            if what == "ou":
                ou = snap.ous[ident]
                pols = ", ".join(p.name for p in snap.policies_on(ident, "SERVICE_CONTROL_POLICY"))
                lines.append(f"{indent}{branch}{ou.name}  {ou.id}" + (f"  [SCPs: {pols}]" if pols else ""))
                walk(ident, indent + ("    " if last else "│   "))
            else:
                acct = snap.accounts[ident]
                lines.append(f"{indent}{branch}{acct.name}  {acct.id}  {acct.email}  {acct.state}")

    walk(snap.root_id, "")
    return "\n".join(lines)


def organization_settings(aws: AwsSandbox, role_name: str | None) -> str:
    """The organization's settings and the access role in every member account, as AWS itself reports them
    (Organizations, and IAM in each member account through the role the organization has there)."""
    org = aws.client()
    described = org.describe_organization()["Organization"]
    root = org.list_roots()["Roots"][0]
    types = ", ".join(sorted(t["Type"] for t in root.get("PolicyTypes", []) if t.get("Status") == "ENABLED"))
    trusted = sorted(s["ServicePrincipal"] for s in
                     org.list_aws_service_access_for_organization()["EnabledServicePrincipals"])
    lines = [f"Feature set: {described['FeatureSet']}", f"Policy types enabled on the root: {types or 'none'}",
             f"Trusted access: {', '.join(trusted) or 'none'}"]
    for admin in org.list_delegated_administrators()["DelegatedAdministrators"]:
        services = org.list_delegated_services_for_account(AccountId=admin["Id"])["DelegatedServices"]
        lines.append(f"Delegated administrator: {admin['Name']} ({admin['Id']}) for "
                     f"{', '.join(sorted(s['ServicePrincipal'] for s in services))}")
    if role_name:
        management = described["MasterAccountId"]
        for acct in sorted(org.list_accounts()["Accounts"], key=lambda a: a["Name"]):
            if acct["Id"] == management or acct["Status"] != "ACTIVE":
                continue
            iam = aws.member_client("iam", acct["Id"])
            try:
                role = iam.get_role(RoleName=role_name)["Role"]
            except Exception as exc:
                lines.append(f"Role {role_name} in {acct['Name']} ({acct['Id']}): missing ({exc})")
                continue
            principals = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
            attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]]
            lines.append(f"Role {role_name} in {acct['Name']} ({acct['Id']}): trusts "
                         f"{', '.join(principals) if isinstance(principals, list) else principals}; "
                         f"policies {', '.join(attached) or 'none'}")
    return "\n".join(lines)


def central_logging(aws: AwsSandbox, spec: dict[str, Any] | None, archive_id: str | None) -> str:
    """The log archive as AWS reports it: the organization trail (the management account's CloudTrail), the bucket
    and the aggregator in the log archive account, and AWS Config in each member account (through its role)."""
    if not spec or not archive_id:
        return "centralLogging: not declared"
    org = aws.client()
    bucket = spec["bucketName"]
    lines: list[str] = []
    trail_name = (spec.get("cloudTrail") or {}).get("trailName", "organization-trail")
    cloudtrail = aws.service_client("cloudtrail")
    for trail in cloudtrail.describe_trails(trailNameList=[trail_name])["trailList"]:
        logging = cloudtrail.get_trail_status(Name=trail["TrailARN"])["IsLogging"]
        lines.append(f"Trail {trail['Name']}: organization trail {trail.get('IsOrganizationTrail')}, multi-region "
                     f"{trail.get('IsMultiRegionTrail')}, log file validation {trail.get('LogFileValidationEnabled')}, "
                     f"logging {logging}, into s3://{trail['S3BucketName']}")
    s3 = aws.member_client("s3", archive_id)
    if bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        admitted = sorted({str(st.get("Principal", {}).get("Service")) for st in policy["Statement"]
                           if st.get("Effect") == "Allow"})
        lines.append(f"Bucket {bucket} in {archive_id}: public access blocked {all(block.values())}, encryption "
                     f"{encryption[0]['ApplyServerSideEncryptionByDefault']['SSEAlgorithm']}, expires after "
                     f"{rules[0]['Expiration']['Days']} days, policy admits {', '.join(admitted)}")
    else:
        lines.append(f"Bucket {bucket} in {archive_id}: missing")
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    for acct in sorted(org.list_accounts()["Accounts"], key=lambda a: a["Name"]):
        if acct["Id"] == management or acct["Status"] != "ACTIVE":
            continue
        config = aws.member_client("config", acct["Id"])
        status = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
        channels = config.describe_delivery_channels()["DeliveryChannels"]
        lines.append(f"Config in {acct['Name']} ({acct['Id']}): recording {bool(status and status[0]['recording'])}, "
                     f"delivering to {channels[0]['s3BucketName'] if channels else 'nowhere'}")
    aggregators = aws.member_client("config", archive_id).describe_configuration_aggregators()
    for agg in aggregators["ConfigurationAggregators"]:
        source = agg.get("OrganizationAggregationSource") or {}
        lines.append(f"Aggregator {agg['ConfigurationAggregatorName']} in {archive_id}: organization-wide "
                     f"{bool(source.get('AllAwsRegions') or source.get('AwsRegions'))}")
    return "\n".join(lines)


def _baselined(client: KubeClient) -> bool:
    """The Organization's baseline (its access role) is in every member account, if it declares one."""
    for obj in client.list("organizations"):
        if (obj.get("spec") or {}).get("accessRole"):
            baseline = (obj.get("status") or {}).get("baseline") or {}
            accounts = sum(1 for a in client.list("awsaccounts")
                           if not (a.get("metadata", {}).get("annotations") or {}).get(f"{GROUP}/management-account"))
            if baseline.get("compliant") != accounts:
                return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _metric(port: int, name: str, **labels: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    wanted = {f'{k}="{v}"' for k, v in labels.items()}
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            inside = key[key.find("{") + 1:-1] if "{" in key else ""
            if wanted <= set(inside.split(",")):
                total += float(value)
    return total


def show_drift(aws: AwsSandbox, client: KubeClient, metrics_port: int, timeout: float = 30.0) -> None:
    """Change AWS behind the operator's back; show the drift it finds and how it puts AWS back."""
    org = aws.client()
    staging = client.get("awsaccounts", "staging") if _exists(client, "awsaccounts", "staging") else None
    target = client.get("orgunits", "production") if _exists(client, "orgunits", "production") else None
    if not staging or not target:
        return
    acct_id, home = staging["status"]["id"], staging["status"]["parentId"]
    print("\n--- Drift: someone moves the Staging account into Production in the AWS console ---")
    before = _metric(metrics_port, "awsorg_drift_detected_total", kind="AwsAccount")
    org.move_account(AccountId=acct_id, SourceParentId=home, DestinationParentId=target["status"]["id"])
    print(f"$ aws organizations move-account --account-id {acct_id} --destination-parent-id "
          f"{target['status']['id']}")
    deadline = time.monotonic() + timeout
    seen = shown = False
    while time.monotonic() < deadline:
        detected = _metric(metrics_port, "awsorg_drift_detected_total", kind="AwsAccount")
        obj = client.get("awsaccounts", "staging")
        if detected > before and not seen:
            seen = True
            print(f"awsorg_drift_detected_total{{kind=\"AwsAccount\"}} {before:.0f} -> {detected:.0f}")
        # The status is written once the correction is done (later than the metric when AWS throttles it), and
        # keeps status.drift until the next quiet pass: show it when it comes.
        drift = obj["status"].get("drift") or []
        if seen and drift and not shown:
            shown = True
            for item in drift:
                print(f"status.drift: {item['field']}: desired {item.get('desired')}, actual {item.get('actual')}")
        # AWS is asked only once the drift is shown: the console's calls share the operator's throttle.
        if shown and org.list_parents(ChildId=acct_id)["Parents"][0]["Id"] == home:
            cond: dict[str, Any] = next((c for c in obj["status"]["conditions"] if c["type"] == "Drifted"), {})
            print(f"Corrected: the account is back in {home}; Drifted={cond.get('status')} ({cond.get('reason')}: "
                  f"{cond.get('message')})")
            corrected = _metric(metrics_port, "awsorg_drift_corrected_total", kind="AwsAccount")
            print(f"awsorg_drift_corrected_total{{kind=\"AwsAccount\"}} {corrected:.0f}")
            return
        time.sleep(0.5)
    print("the drift was not corrected in time; see the operator log", file=sys.stderr)


def _exists(client: KubeClient, plural: str, name: str) -> bool:
    try:
        client.get(plural, name)
    except Exception:
        return False
    return True


def demo(examples: Path | None = None, serve: bool = False, timeout: float = 120.0, drift: bool = True) -> int:
    examples = examples or EXAMPLES
    objects = load_objects(examples)
    if not objects:
        print(f"awsorg demo: no objects found in {examples}", file=sys.stderr)
        return 1
    with sandbox() as (aws, kube, kubeconfig):
        print(f"Sandbox: AWS Organizations at {aws.url}, Kubernetes API at {kube.url}")
        client = KubeClient(kube.url)
        for obj in objects:
            client.apply(obj)
        print(f"Applied {len(objects)} objects from {examples}")
        log_path = kubeconfig.parent / "operator.log"
        metrics_port = _free_port()
        proc = start_operator(
            operator_env(aws, kubeconfig, AWSORG_RESYNC_SECONDS="3", AWSORG_METRICS_PORT=str(metrics_port)), log_path
        )
        try:
            deadline = time.monotonic() + timeout
            pending: list[str] = []
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    print(f"awsorg demo: the operator exited with {proc.returncode}; log: {log_path}",
                          file=sys.stderr)
                    print(log_path.read_text()[-4000:], file=sys.stderr)
                    (kubeconfig.parent / "keep").touch()
                    return 1
                pending = []
                for info in KINDS:
                    for obj in client.list(info.plural):
                        if not is_ready(obj):
                            pending.append(f"{info.kind}/{obj['metadata']['name']}")
                if not pending and not _baselined(client):
                    pending.append("Organization/organization (the access role in every member account)")
                if not pending:
                    break
                time.sleep(0.5)
            print()
            for info in KINDS:
                items = client.list(info.plural)
                if items:
                    print(f"$ kubectl get {info.plural}")
                    print(format_table(info, items))
                    print()
            print("$ aws organizations (the tree as AWS sees it)")
            print(aws_tree(aws.client()))
            print()
            roles = {(o.get("spec") or {}).get("accessRole", {}).get("roleName") for o in client.list("organizations")}
            print("$ aws organizations / aws iam (the organization's settings, and the access role in each member "
                  "account)")
            print(organization_settings(aws, next((r for r in roles if r), None)))
            print()
            for org_obj in client.list("organizations"):
                logging_spec = (org_obj.get("spec") or {}).get("centralLogging")
                archive = next((a for a in client.list("awsaccounts") if logging_spec and a["metadata"]["name"] ==
                                logging_spec["accountRef"]["name"]), None)
                print("$ aws cloudtrail / s3 / configservice (the organization trail, the log archive, AWS Config)")
                print(central_logging(aws, logging_spec, ((archive or {}).get("status") or {}).get("id")))
                print()
            if pending:
                print(f"awsorg demo: not Ready after {timeout:.0f}s: {', '.join(pending)}; log: {log_path}",
                      file=sys.stderr)
                (kubeconfig.parent / "keep").touch()
                return 1
            print("Everything is Ready.")
            if drift:
                show_drift(aws, client, metrics_port)
            if serve:
                print(f"\nThe sandbox keeps running. Try:\n  export KUBECONFIG={kubeconfig}\n"
                      f"  kubectl get awsorg\nThe operator's metrics: http://127.0.0.1:{metrics_port}/metrics\n"
                      f"The operator's log: {log_path}\nPress Ctrl-C to stop.")
                sys.stdout.flush()
                with contextlib.suppress(KeyboardInterrupt):
                    while proc.poll() is None:
                        time.sleep(1)
                    # The operator died under the user's feet: say so, and keep its log for them to read.
                    print(f"awsorg demo: the operator exited with {proc.returncode}; its log is kept: {log_path}",
                          file=sys.stderr)
                    print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
                    (kubeconfig.parent / "keep").touch()
                    return 1
            return 0
        finally:
            stop_operator(proc)
