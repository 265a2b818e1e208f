"""The IAM policies infra/template.yaml gives each role, as concrete documents: every
intrinsic (Ref, Fn::GetAtt, Fn::Sub, pseudo parameters) resolved for one account, region
and stack, with the physical names of the resources a test created in their place.

Two uses, both by the IAM test (tests/iam, docs/iam.md):

    iam_policies.py setup  < spec.json     # IAM users in moto with the derived policies
    iam_policies.py report < report.json   # granted vs exercised, per function

`setup` reads {"endpoint", "template", "account", "region", "stack", "resources":
{"<Logical>" | "<Logical>.<Attr>": value}, "parameters": {...}, "users": [{"name",
"role", "without": ["<action>", ...]}], "admin": "<name>"} and creates in moto, per user,
an IAM user whose one inline policy is the role's policies merged (optionally without some
actions: how the test shows a grant is needed), and an admin user allowed everything (the
test's own setup and inspection). It prints {"users": {name: {"accessKeyId",
"secretAccessKey", "policy"}}}.

`report` reads {"granted": {function: policy}, "calls": [{function, action, allowed}]}
and prints, per function, the actions granted, the actions exercised, and the granted
actions the test never exercised, as JSON.

Resources the test did not create (log groups, KMS keys) get the ARN CloudFormation would
give them, so the statements that name them still resolve.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
PARTITION = "aws"


class Resolver:
    def __init__(self, template: dict[str, Any], spec: dict[str, Any]) -> None:
        self.template = template
        self.account = spec["account"]
        self.region = spec["region"]
        self.stack = spec.get("stack", "gdpr-erasure")
        self.resources: dict[str, str] = spec.get("resources", {})
        params = {
            name: str(p.get("Default", ""))
            for name, p in template.get("Parameters", {}).items()
        }
        params.update(spec.get("parameters", {}))
        self.params = params

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.params:
            return self.params[name]
        if name in self.resources:
            return self.resources[name]
        return self.synthesised(name, None)

    def get_att(self, name: str, attr: str) -> str:
        key = f"{name}.{attr}"
        if key in self.resources:
            return self.resources[key]
        kind = self.template["Resources"][name]["Type"]
        if kind == "AWS::S3::Bucket" and attr == "Arn":
            return f"arn:{PARTITION}:s3:::{self.ref(name)}"
        if kind == "AWS::StepFunctions::StateMachine" and attr == "Name":
            return self.ref(name).rsplit(":", 1)[-1]
        return self.synthesised(name, attr)

    def synthesised(self, name: str, attr: str | None) -> str:
        """What CloudFormation would call a resource the test has no copy of."""
        resource = self.template["Resources"].get(name)
        if resource is None:
            raise KeyError(f"unknown reference {name}")
        kind = resource["Type"]
        if kind == "AWS::Logs::LogGroup":
            group = self.resolve(resource["Properties"]["LogGroupName"])
            return f"arn:{PARTITION}:logs:{self.region}:{self.account}:log-group:{group}:*"
        if kind == "AWS::KMS::Key":
            return f"arn:{PARTITION}:kms:{self.region}:{self.account}:key/{name.lower()}"
        if kind == "AWS::IAM::Role":
            return f"arn:{PARTITION}:iam::{self.account}:role/{self.stack}-{name}"
        raise KeyError(
            f"{name}{'.' + attr if attr else ''} ({kind}) must be given in resources"
        )

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(name, attr)
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else arg
                extra = {k: self.resolve(v) for k, v in extra.items()}

                def sub(m: re.Match[str]) -> str:
                    var = m.group(1)
                    if var in extra:
                        return extra[var]
                    if "." in var:
                        return self.get_att(*var.split(".", 1))
                    return self.ref(var)

                return re.sub(r"\$\{([^}!]+)\}", sub, text)
        return {k: self.resolve(v) for k, v in value.items()}


def load_template(path: Path) -> dict[str, Any]:
    template, matches = decode(str(path))
    if template is None:
        raise SystemExit(f"cannot read {path}: {matches}")
    return template


def role_policy(template: dict[str, Any], resolver: Resolver, role: str) -> dict[str, Any]:
    """The role's inline policies as one document (statements in template order)."""
    properties = template["Resources"][role]["Properties"]
    if properties.get("ManagedPolicyArns"):
        raise SystemExit(f"{role} has managed policies: they cannot be derived here")
    statements = []
    for policy in properties.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            statements.append(resolver.resolve(statement))
    return {"Version": "2012-10-17", "Statement": statements}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def without(policy: dict[str, Any], actions: list[str]) -> dict[str, Any]:
    """The policy with `actions` taken out of every statement (emptied ones dropped)."""
    kept = []
    for statement in policy["Statement"]:
        remaining = [a for a in as_list(statement["Action"]) if a not in actions]
        if remaining:
            kept.append({**statement, "Action": remaining})
    return {**policy, "Statement": kept}


def granted_actions(policy: dict[str, Any]) -> list[str]:
    return sorted(
        {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    )


def setup(spec: dict[str, Any]) -> dict[str, Any]:
    import boto3

    template = load_template(Path(spec.get("template", ROOT / "infra" / "template.yaml")))
    resolver = Resolver(template, spec)
    iam = boto3.client(
        "iam",
        endpoint_url=spec["endpoint"],
        region_name=spec["region"],
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    out: dict[str, Any] = {"users": {}}

    def user(name: str, policy: dict[str, Any]) -> None:
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name, PolicyName="from-template", PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        out["users"][name] = {
            "accessKeyId": key["AccessKeyId"],
            "secretAccessKey": key["SecretAccessKey"],
            "policy": policy,
        }

    for wanted in spec.get("users", []):
        policy = role_policy(template, resolver, wanted["role"])
        user(wanted["name"], without(policy, wanted.get("without", [])))
    if spec.get("admin"):
        user(
            spec["admin"],
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        )
    return out


def report(spec: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for function, policy in sorted(spec["granted"].items()):
        granted = granted_actions(policy)
        exercised = sorted(
            {c["action"] for c in spec["calls"] if c["function"] == function and c["allowed"]}
        )
        denied = sorted(
            {c["action"] for c in spec["calls"] if c["function"] == function and not c["allowed"]}
        )
        out[function] = {
            "granted": granted,
            "exercised": exercised,
            "deniedInTest": denied,
            "grantedNotExercised": [a for a in granted if a not in exercised],
        }
    return out


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in ("setup", "report"):
        raise SystemExit("usage: iam_policies.py setup|report < spec.json")
    spec = json.load(sys.stdin)
    result = setup(spec) if sys.argv[1] == "setup" else report(spec)
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
