"""The ``awsorg`` command line: run, demo, crds, validate, plan, export.

The composition root of the commands that reach AWS (run, plan, export): one
:class:`~controller.aws.factory.Factory` from the settings builds what each needs; every command exits with a
code of the one table in :mod:`controller.workflow.exits` (shown by ``awsorg --help``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from controller import __version__
from controller.api import crds as crdgen
from controller.api import limits
from controller.settings import SettingsError
from controller.workflow import exits

SANDBOX_EXTRA = "awsorg-operator[sandbox]"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="awsorg", description="awsorg-operator: Git as the source of truth for an AWS Organization.",
        epilog=exits.describe(), formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p_run = sub.add_parser("run", help="run the operator against the current kubeconfig and AWS credentials")
    p_run.add_argument("--peering", metavar="NAME", help="kopf peering name for HA (one active replica)")
    p_run.add_argument("--priority", type=int, default=None,
                       help="peering priority; the highest-priority replica works, the others stand by "
                       "(default with --peering: random, so that replicas never tie)")
    p_run.add_argument("--liveness", metavar="URL", default=None,
                       help="liveness endpoint, e.g. http://0.0.0.0:8080/healthz")
    p_run.add_argument("--verbose", action="store_true", help="log debug details")

    p_demo = sub.add_parser("demo", help="run the operator against an embedded sandbox and the examples/")
    p_demo.add_argument("--serve", action="store_true",
                        help="keep the sandbox running afterwards and print a kubeconfig path")
    p_demo.add_argument("--examples", type=Path, default=None, help="directory of YAML to apply (default: examples/)")
    p_demo.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for everything to be Ready")
    p_demo.add_argument("--no-drift", action="store_true", help="skip the drift demonstration")

    p_crds = sub.add_parser("crds", help="print the CRDs generated from the models")
    p_crds.add_argument("--out", type=Path, default=None, help="write one file per CRD into this directory")

    p_validate = sub.add_parser(
        "validate", help="check YAML offline: schemas of the CRDs and the rules that span objects"
    )
    p_validate.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                            help="YAML files, or directories searched recursively for *.yaml and *.yml")
    p_validate.add_argument("--output", "-o", choices=("text", "json", "github"), default="text",
                            help="text (default), json, or github (GitHub Actions annotations)")
    p_validate.add_argument("--base", action="append", default=[], metavar="PATH_OR_GITREV",
                            help="the files before the change: a directory or file (e.g. the target branch checked "
                            "out), or a git revision (origin/main, HEAD~1) of the repository the PATHs are in, read "
                            "at the same paths; a duplicate is then reported on the object the change introduced")

    p_plan = sub.add_parser("plan", help="what the operator would do in AWS after the merge (read-only)")
    p_plan.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="YAML files or directories")
    p_plan.add_argument("--base", action="append", default=[], metavar="PATH_OR_GITREV",
                        help="the files before the change: a directory or file, or a git revision (origin/main, "
                        "HEAD~1) of the repository the PATHs are in: renames show as renames, removed objects as "
                        "deletions per their deletionPolicy")
    p_plan.add_argument("--cluster", action="store_true",
                        help="read the objects and their status from the cluster (kubeconfig or in-cluster): "
                        "what each is bound to in AWS, and which the change removes")
    p_plan.add_argument("--output", "-o", choices=("text", "markdown", "json"), default="text")

    p_export = sub.add_parser("export", help="write an existing organization as objects (read-only)")
    p_export.add_argument("--out", type=Path, default=None,
                          help="write one file per kind into this directory (default: stdout)")
    p_export.add_argument("--access-role", metavar="NAME", default=None,
                          help="export spec.accessRole from the IAM role NAME as the member accounts hold it (the "
                          "most common form; the accounts that differ are listed); default: not exported")
    p_export.add_argument("--config-region", metavar="REGION", action="append", default=[],
                          help="also look for AWS Config's recorders in REGION (repeatable; the trail's home region "
                          "is always looked at)")

    for sub_parser in (p_validate, p_plan):
        sub_parser.add_argument(
            "--policy", metavar="FILE", type=Path, default=None,
            help="the administrator's policy (an OperatorPolicy file, as the operator's AWSORG_POLICY_FILE): what it "
            "forbids is refused here as the operator refuses it (ForbiddenByPolicy); default: AWSORG_POLICY_FILE, "
            "else the policy's defaults")

    for sub_parser in (p_run, p_validate, p_plan):
        sub_parser.add_argument(
            "--limits", metavar="NAME=N,...", default=None,
            help="AWS quotas this organization has (raised, or changed by AWS), overriding AWSORG_LIMITS and AWS's "
            f"current figures; names: {', '.join(limits.limit_names())} (defaults: {limits.Limits().describe()})")

    args = parser.parse_args(argv)
    if args.command in ("run", "validate", "plan"):
        from controller.settings import limits_from

        try:
            configured = limits_from(os.environ.get(limits.LIMITS_SETTING))
            if args.limits is not None:
                configured = limits_from(args.limits, "--limits")
        except SettingsError as exc:
            print(f"awsorg: {exc}", file=sys.stderr)
            return 2
        limits.use(configured)
    if args.command == "crds":
        return _crds(args.out)
    policy = None
    if args.command in ("validate", "plan") and (args.policy is not None or os.environ.get("AWSORG_POLICY_FILE")):
        from controller.api.guardrails import PolicyFileError, load

        source = args.policy if args.policy is not None else os.environ.get("AWSORG_POLICY_FILE", "").strip()
        try:
            policy = load(source)
        except PolicyFileError as exc:
            print(f"awsorg {args.command}: {'--policy' if args.policy is not None else 'AWSORG_POLICY_FILE'}: "
                  f"{exc}", file=sys.stderr)
            return exits.FAILED
    if args.command == "validate":
        from controller.workflow import validate
        from controller.workflow.sources import SourceError, base_paths

        try:
            with base_paths(args.base, args.paths) as base:
                report = validate.validate_paths(args.paths, base=base if args.base else None, policy=policy)
        except SourceError as exc:
            print(f"awsorg validate: {exc}", file=sys.stderr)
            return exits.FAILED
        sys.stdout.write(validate.FORMATS[args.output](report))
        return report.exit_code
    if args.command in ("run", "plan", "export"):
        from controller.aws.factory import Factory

        try:
            factory = Factory.from_env()
        except SettingsError as exc:
            print(f"awsorg{'' if args.command == 'run' else ' ' + args.command}: {exc}", file=sys.stderr)
            return exits.FAILED
    if args.command == "plan":
        from controller.workflow.plan import plan_command

        cluster = None
        if args.cluster:
            from controller.handlers.cluster import login
            from controller.kube.api import ClusterUnreachable, read_objects
            from controller.reconciler.kinds import PLURALS

            try:
                cluster = read_objects(PLURALS.values(), login)
            except ClusterUnreachable as exc:
                print(f"awsorg plan: reading the cluster failed: {exc}", file=sys.stderr)
                return exits.FAILED
        from controller.workflow.sources import SourceError, base_paths, default_base

        try:
            notes = [f"the administrator's policy: {source}"] if (source := _policy_source(args.policy)) else []
            if not args.base and not args.cluster and (found := default_base(args.paths)) is not None:
                args.base = [found[0]]  # the plain command shows a rename as a rename
                notes.append(f"--base {found[0][:12]} ({found[1]}) was taken: no --base or --cluster was given")
            with base_paths(args.base, args.paths) as base:
                return plan_command(args.paths, base if args.base else None, args.output, factory, cluster,
                                    notes=notes, policy=policy)
        except SourceError as exc:
            print(f"awsorg plan: {exc}", file=sys.stderr)
            return exits.FAILED
    if args.command == "export":
        from controller.workflow.export import export_command

        return export_command(args.out, factory, args.access_role, args.config_region)
    if args.command == "run":
        factory = Factory(dataclasses.replace(factory.settings, aws_limits=limits.active()))
        from controller.handlers.operator import run

        priority = args.priority
        if priority is None and args.peering:
            # kopf pauses every operator when two peers share a priority; a random one never ties in practice.
            priority = secrets.randbelow(2**31 - 2) + 1
        run(factory, peering_name=args.peering, priority=priority or 0, liveness_endpoint=args.liveness,
            verbose=args.verbose)
        return exits.OK
    if args.command == "demo":
        try:
            from controller.demo import demo
        except ModuleNotFoundError as exc:
            missing = (exc.name or "controller").partition(".")[0]
            if missing == "controller":
                raise
            # The sandbox (moto, kmock, ...) is an extra: the operator's own install does not carry it.
            print(f"awsorg demo: the sandbox is not installed (no module {missing!r}); "
                  f"install it with: pip install '{SANDBOX_EXTRA}'", file=sys.stderr)
            return exits.FAILED
        return demo(examples=args.examples, serve=args.serve, timeout=args.timeout, drift=not args.no_drift)
    parser.error(f"unknown command {args.command}")
    return exits.FAILED


def _policy_source(given: Path | None) -> str | None:
    """Which administrator's policy file a plan applied, for its notes (None: none, its defaults)."""
    if given is not None:
        return f"--policy {given}"
    env = os.environ.get("AWSORG_POLICY_FILE", "").strip()
    return f"AWSORG_POLICY_FILE={env}" if env else None


def _crds(out: Path | None) -> int:
    if out is None:
        sys.stdout.write(crdgen.render_all())
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name, content in crdgen.files().items():
        (out / name).write_text(content)
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
