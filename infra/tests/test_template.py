"""Checks of infra/template.yaml that cfn-lint does not make.

Least privilege above all: every IAM statement that allows something names what it allows,
except for the few actions AWS gives no resource-level permissions (listed below with the
reason each is allowed). Then the wiring the Rust side and auditors rely on: the state
machine's substitutions, the functions and their configuration contract, the WORM archive,
the state machine's logging and encryption, the alarms.

Each check is a function returning findings (strings); the real template must have none,
and `MutationsAreCaught` proves each check fails when the property it guards is broken.

Run: .venv/bin/python -m unittest discover -s infra/tests -t . (make infra-test, make lint).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import tomllib
import unittest
from pathlib import Path
from typing import Any, Iterator

from cfnlint.api import lint as cfn_lint
from cfnlint.data import AdditionalSpecs
from cfnlint.decode import decode
from cfnlint.helpers import load_resource
from cfnlint.template.transforms._sam_globals import merge_globals

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
DEFINITION = ROOT / "statemachine" / "erasure.asl.json"
ARCHIVE_S3 = ROOT / "crates" / "archive" / "src" / "s3.rs"

# --------------------------------------------------------------------------------------
# What write-record's role must allow: the S3 calls of the archive's S3 backend
# (crates/archive/src/s3.rs), each mapped to the IAM actions S3 authorises it by, on the
# bucket or on the records under the prefix. An operation missing here fails the check,
# so a new call cannot reach production without its permission being decided.
# --------------------------------------------------------------------------------------
S3_OPERATION_ACTIONS: dict[str, tuple[str, set[str]]] = {
    "get_object_lock_configuration": ("bucket", {"s3:GetBucketObjectLockConfiguration"}),
    # A PUT carrying a retain-until date also needs PutObjectRetention.
    "put_object": ("objects", {"s3:PutObject", "s3:PutObjectRetention"}),
    # ListBucket too: without it a missing key is answered 403, not 404, and the
    # archive tells "not found" from "access denied" by that.
    "list_object_versions": ("bucket", {"s3:ListBucketVersions", "s3:ListBucket"}),
    # Always with a versionId (the first version at a key, as ListObjectVersions lists
    # it: the bucket is versioned), which S3 authorises as GetObjectVersion alone
    # (tests/iam shows s3:GetObject is never asked for). HeadObject returns the lock
    # mode and retain-until date only to a principal with GetObjectRetention.
    "head_object": ("objects", {"s3:GetObjectVersion", "s3:GetObjectRetention"}),
    "get_object": ("objects", {"s3:GetObjectVersion"}),
}

# --------------------------------------------------------------------------------------
# The contract with the Rust side: every function (by binary name), the substitution that
# puts it into the definition (None: not a step), and the environment variables it gets.
# docs/deploy.md describes the same names.
# --------------------------------------------------------------------------------------
GENESYS = {"GENESYS_REGION", "GENESYS_SECRET_ARN"}
HOLD_REGISTER = {"HOLD_REGISTER_BUCKET", "HOLD_REGISTER_KEY"}
# Intake's optional deadline and ticket settings (erasure_steps::env::Env::intake_config).
INTAKE_SETTINGS = {
    "CONTROLLER_TIME_ZONE",
    "CLOCK_BASIS",
    "DEFAULT_PHONE_REGION",
    "PUBLIC_HOLIDAYS",
    "SIGN_OFF_ROLES",
    "SERVICE_LEVEL_BUSINESS_DAYS",
    "ROLL_FORWARD_TO_WORKING_DAY",
}
FUNCTIONS: dict[str, tuple[str | None, set[str]]] = {
    "intake": (
        "IntakeFunctionArn",
        {"PSEUDONYM_KEY_SECRET_ARN", "DOWNSTREAM_SYSTEMS", "ARCHIVE_BUCKET", "ARCHIVE_PREFIX"} | INTAKE_SETTINGS,
    ),
    "locate": ("LocateFunctionArn", GENESYS),
    "poll": ("PollFunctionArn", GENESYS),
    "review": (
        "ReviewFunctionArn",
        GENESYS | HOLD_REGISTER | {"ANALYTICS_LOOKBACK_DAYS"},
    ),
    "notify-review": (
        "NotifyReviewFunctionArn",
        {"REVIEW_ENDPOINT_URL", "REVIEW_SECRET_ARN", "APPROVAL_URL"},
    ),
    # Erase and PurgeRecordings read the holds again right before they erase.
    "erase": ("EraseFunctionArn", GENESYS | HOLD_REGISTER | {"LEDGER_BUCKET"}),
    "purge-recordings": ("PurgeRecordingsFunctionArn", GENESYS | HOLD_REGISTER),
    "offboard-agent": ("OffboardAgentFunctionArn", GENESYS),
    "notify-downstream": (
        "NotifyDownstreamFunctionArn",
        {"DOWNSTREAM_SYSTEMS", "DOWNSTREAM_SECRET_ARN"},
    ),
    "verify-erasure": ("VerifyErasureFunctionArn", GENESYS | {"PSEUDONYM_KEY_SECRET_ARN", "VERIFY_AFTER"}),
    "write-record": (
        "WriteRecordFunctionArn",
        {"ARCHIVE_BUCKET", "ARCHIVE_PREFIX", "RETENTION_YEARS", "LETTER_SETTINGS", "PSEUDONYM_KEY_SECRET_ARN"},
    ),
    "report-ticket": ("ReportTicketFunctionArn", {"TICKET_CALLBACK_URL", "TICKET_SECRET_ARN"}),
    "ticket-webhook": (None, {"WEBHOOK_SECRET_ARN", "STATE_MACHINE_ARN", "ARCHIVE_BUCKET", "ARCHIVE_PREFIX"}),
    "approval": (
        None,
        {
            "APPROVAL_SECRET_ARN",
            "PSEUDONYM_KEY_SECRET_ARN",
            "APPROVAL_ROLES",
            "APPROVAL_FOUR_EYES",
            "STATE_MACHINE_ARN",
            "ARCHIVE_BUCKET",
            "ARCHIVE_PREFIX",
        },
    ),
    "console": (
        None,
        {
            "OIDC_ISSUER",
            "OIDC_CLIENT_ID",
            "PUBLIC_URL",
            "GROUPS_CLAIM",
            "DECIDER_GROUPS",
            "READER_GROUPS",
            "IDENTIFIER_GROUPS",
            "PSEUDONYM_KEY_SECRET_ARN",
            "STATE_MACHINE_ARN",
            "ARCHIVE_BUCKET",
            "ARCHIVE_PREFIX",
            "FOUR_EYES",
            "FIRST_APPROVALS_BUCKET",
            "LETTER_SETTINGS",
        },
    ),
    "watchdog": (
        None,
        {
            "STATE_MACHINE_ARN",
            "ARCHIVE_BUCKET",
            "ARCHIVE_PREFIX",
            "METRICS_NAMESPACE",
            "APPROVAL_OVERDUE_HOURS",
            "DEADLINE_WARNING_DAYS",
            "TICKET_CALLBACK_URL",
            "TICKET_SECRET_ARN",
        },
    ),
}
# Secrets whose value comes from outside (the operator fills them); every other secret
# holds a random key that Secrets Manager generates.
PLACEHOLDER_SECRET_ENV = {"GENESYS_SECRET_ARN", "DOWNSTREAM_SECRET_ARN"}

# --------------------------------------------------------------------------------------
# The legitimate wildcards.
# --------------------------------------------------------------------------------------
# Actions that may have Resource "*": AWS offers no resource-level permissions for them
# (test_allowlisted_actions_have_no_resource_level_permissions checks that against
# cfn-lint's copy of the IAM service reference, so this list cannot grow by mistake).
_XRAY = "X-Ray has no resource-level permissions; active tracing of the functions and the state machine writes segments"
_SAMPLING = "the state machine's X-Ray tracing reads sampling rules; X-Ray has no resource-level permissions"
_LOG_DELIVERY = (
    "Step Functions logs through CloudWatch Logs log delivery, whose actions have no "
    "resource-level permissions"
)
STAR_RESOURCE_ACTIONS: dict[str, str] = {
    "xray:PutTraceSegments": _XRAY,
    "xray:PutTelemetryRecords": _XRAY,
    "xray:GetSamplingRules": _SAMPLING,
    "xray:GetSamplingTargets": _SAMPLING,
    "logs:CreateLogDelivery": _LOG_DELIVERY,
    "logs:GetLogDelivery": _LOG_DELIVERY,
    "logs:UpdateLogDelivery": _LOG_DELIVERY,
    "logs:DeleteLogDelivery": _LOG_DELIVERY,
    "logs:ListLogDeliveries": _LOG_DELIVERY,
    "logs:PutResourcePolicy": _LOG_DELIVERY,
    "logs:DescribeResourcePolicies": _LOG_DELIVERY,
    "logs:DescribeLogGroups": _LOG_DELIVERY,
}
# Resources that end in a wildcard after a named parent: the last part cannot be named in
# advance. (pattern over the rendered resource, resource type the <token> must be, reason)
SUFFIX_WILDCARDS: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(r"^<(?P<res>\w+)\.Arn>/(?:<\w+>|[\w./-])*\*$"),
        "AWS::S3::Bucket",
        "objects under a named bucket (and prefix): their keys are ticket ids, unknown in advance",
    ),
    (
        re.compile(
            r"^arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<(?P<res>\w+)\.Name>:\*$"
        ),
        "AWS::StepFunctions::StateMachine",
        "the executions of one named state machine: their names are ticket ids",
    ),
]
# The executions of this template's state machine named by its StateMachineName, where a
# reference to the machine would close a dependency cycle (the approval role: state machine
# -> notify-review -> approval URL -> approval -> its role).
EXECUTIONS_BY_MACHINE_NAME = re.compile(
    r"^arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:(?P<name>[^*?]+):\*$"
)
# In a key policy, Resource "*" means the key itself. The one wildcard action allowed is the
# account's own administration of its key, which also lets IAM policies grant use of it;
# without it the key could not be managed (CloudFormation refuses such a key policy).
KEY_ADMIN_REASON = "key policy: the account administers its key and delegates use to IAM"


# --------------------------------------------------------------------------------------
# Loading and reading the template
# --------------------------------------------------------------------------------------
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain dicts/lists (cfn-lint's loader knows the !Tags)."""
    template, matches = decode(str(path))
    if matches or template is None:
        raise AssertionError(f"{path} does not parse: {matches}")
    return json.loads(json.dumps(template))


def load_definition(path: Path = DEFINITION) -> str:
    return path.read_text(encoding="utf-8")


def with_globals(template: dict[str, Any]) -> dict[str, Any]:
    """A copy with SAM Globals merged into the resources, as SAM (and cfn-lint) do."""
    return merge_globals(copy.deepcopy(template))


def resources(template: dict[str, Any], type_: str | None = None) -> Iterator[tuple[str, dict]]:
    for name, res in template.get("Resources", {}).items():
        if type_ is None or res.get("Type") == type_:
            yield name, res


def type_of(template: dict[str, Any], name: str) -> str | None:
    res = template.get("Resources", {}).get(name)
    return res.get("Type") if res else None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render(value: Any) -> list[str]:
    """Every string a value can take, references written as <Name> / <Name.Attr> tokens.

    Fn::If yields both branches; AWS::NoValue yields nothing."""
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, (str, int, float)):
        return [str(value)]
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return [] if arg == "AWS::NoValue" else [f"<{arg}>"]
        if fn == "Fn::GetAtt":
            return [f"<{arg if isinstance(arg, str) else '.'.join(arg)}>"]
        if fn == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            return [re.sub(r"\$\{(?!!)([^}]+)\}", r"<\1>", text)]
        if fn == "Fn::Join":
            sep, parts = arg
            return [sep.join(c) for c in itertools.product(*(render(p) for p in parts))]
        if fn == "Fn::If":
            return render(arg[1]) + render(arg[2])
        return [f"<{fn}>"]
    raise ValueError(f"cannot render {value!r}")


def ref_target(value: Any) -> str | None:
    """The resource or parameter a Ref / GetAtt points at."""
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref" and isinstance(arg, str):
            return arg
        if fn == "Fn::GetAtt":
            return arg.split(".")[0] if isinstance(arg, str) else arg[0]
    return None


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(document.get("Statement", []))


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, kind, document) for every permission policy; kind: identity, resource, key."""
    for name, res in resources(template):
        props = res.get("Properties", {})
        kind = res.get("Type")
        if kind == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield f"{name}/{policy.get('PolicyName')}", "identity", policy["PolicyDocument"]
        elif kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            yield name, "identity", props["PolicyDocument"]
        elif kind in (
            "AWS::S3::BucketPolicy",
            "AWS::SNS::TopicPolicy",
            "AWS::SQS::QueuePolicy",
        ):
            yield name, "resource", props["PolicyDocument"]
        elif kind == "AWS::SecretsManager::ResourcePolicy":
            yield name, "resource", props["ResourcePolicy"]
        elif kind == "AWS::KMS::Key":
            yield name, "key", props["KeyPolicy"]


def is_account_root(principal: Any) -> bool:
    if not isinstance(principal, dict) or set(principal) != {"AWS"}:
        return False
    return all(
        r in ("<AWS::AccountId>", "arn:<AWS::Partition>:iam::<AWS::AccountId>:root")
        for p in as_list(principal["AWS"])
        for r in render(p)
    )


def is_public(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in as_list(principal.get("AWS", []))


# --------------------------------------------------------------------------------------
# Checks: each returns findings; the real template must have none.
# --------------------------------------------------------------------------------------
def wildcard_findings(template: dict[str, Any]) -> list[str]:
    """Allow statements with a wildcard action or resource where a name could replace it."""
    findings: list[str] = []
    for where, kind, document in policy_documents(template):
        for i, stmt in enumerate(statements(document)):
            at = f"{where} statement {stmt.get('Sid', i)}"
            if stmt.get("Effect") != "Allow":
                continue  # a Deny only narrows
            for key in ("NotAction", "NotResource", "NotPrincipal"):
                if key in stmt:
                    findings.append(f"{at}: Allow with {key} grants everything it does not name")
            if kind in ("resource", "key") and is_public(stmt.get("Principal")):
                findings.append(f"{at}: Allow to every principal ('*')")
            actions = [a for v in as_list(stmt.get("Action", [])) for a in render(v)]
            wild_actions = [a for a in actions if "*" in a or "?" in a]
            if kind == "key" and wild_actions == ["kms:*"] and actions == ["kms:*"]:
                if not is_account_root(stmt.get("Principal")):
                    findings.append(f"{at}: kms:* to a principal other than the account")
                continue  # KEY_ADMIN_REASON
            for action in wild_actions:
                findings.append(f"{at}: wildcard action {action}")
            if kind == "key":
                continue  # Resource "*" in a key policy is the key itself
            for resource in [r for v in as_list(stmt.get("Resource", [])) for r in render(v)]:
                if resource == "*":
                    unlisted = sorted(a for a in actions if a not in STAR_RESOURCE_ACTIONS)
                    if unlisted:
                        findings.append(
                            f"{at}: Resource '*' for {', '.join(unlisted)}, which can name a resource"
                        )
                elif "*" in resource or "?" in resource:
                    if not _allowed_suffix_wildcard(template, resource):
                        findings.append(f"{at}: wildcard resource {resource}")
    return findings


def _allowed_suffix_wildcard(template: dict[str, Any], resource: str) -> bool:
    for pattern, resource_type, _reason in SUFFIX_WILDCARDS:
        m = pattern.match(resource)
        if m and type_of(template, m.group("res")) == resource_type:
            return True
    m = EXECUTIONS_BY_MACHINE_NAME.match(resource)
    return bool(m) and m.group("name") in _state_machine_names(template)


def _state_machine_names(template: dict[str, Any]) -> set[str]:
    """Every name a state machine of this template can have, rendered like resources."""
    names: set[str] = set()
    for _, res in resources(template, "AWS::StepFunctions::StateMachine"):
        name = res.get("Properties", {}).get("StateMachineName")
        if name is not None:
            names.update(render(name))
    return names


def role_findings(template: dict[str, Any]) -> list[str]:
    """Each function has its own role, defined here, trusted by Lambda only, with no policy
    the template does not spell out (no SAM policy templates, no AWS managed policies)."""
    findings: list[str] = []
    merged = with_globals(template)
    owners: dict[str, list[str]] = {}
    for name, res in resources(merged, "AWS::Serverless::Function"):
        props = res.get("Properties", {})
        if "Policies" in props:
            findings.append(f"{name}: SAM Policies (give the function a role written out here)")
        role = ref_target(props.get("Role"))
        if role is None or type_of(template, role) != "AWS::IAM::Role":
            findings.append(f"{name}: Role is not a role defined in this template")
            continue
        owners.setdefault(role, []).append(name)
        trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]
        principals = [s.get("Principal") for s in statements(trust)]
        if principals != [{"Service": "lambda.amazonaws.com"}]:
            findings.append(f"{role}: trusted by {principals}, not by Lambda alone")
    for name, res in resources(merged, "AWS::Serverless::StateMachine"):
        if "Policies" in res.get("Properties", {}):
            findings.append(f"{name}: SAM Policies (give the state machine a role written out here)")
    for role, functions in owners.items():
        if len(functions) > 1:
            findings.append(f"{role}: shared by {', '.join(sorted(functions))}")
    for name, res in resources(template, "AWS::IAM::Role"):
        for arn in res.get("Properties", {}).get("ManagedPolicyArns", []):
            target = ref_target(arn)
            if target is None or type_of(template, target) != "AWS::IAM::ManagedPolicy":
                findings.append(f"{name}: managed policy {arn} is not spelled out in this template")
    return findings


def function_binaries(template: dict[str, Any]) -> dict[str, str]:
    """binary name -> logical id of its function."""
    out: dict[str, str] = {}
    for name, res in resources(template, "AWS::Serverless::Function"):
        binary = res.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        if binary:
            out[binary] = name
    return out


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    props = template["Resources"][role]["Properties"]
    return [s for p in props.get("Policies", []) for s in statements(p["PolicyDocument"])]


def task_timeouts(definition: str) -> dict[str, int]:
    """Substitution name -> the smallest TimeoutSeconds of the Tasks that call it."""
    out: dict[str, int] = {}

    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            for branch in state.get("Branches", []):
                walk(branch["States"])
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                walk(processor["States"])
            if state.get("Type") != "Task":
                continue
            target = state.get("Parameters", {}).get("FunctionName") or state.get("Resource")
            m = re.fullmatch(r"\$\{(\w+)\}", str(target))
            if m and "TimeoutSeconds" in state:
                out[m.group(1)] = min(out.get(m.group(1), 1 << 31), state["TimeoutSeconds"])

    walk(json.loads(definition)["States"])
    return out


def function_findings(template: dict[str, Any], definition: str) -> list[str]:
    """Every function of the contract, and only those, built and configured as agreed."""
    findings: list[str] = []
    merged = with_globals(template)
    binaries = function_binaries(merged)
    for missing in sorted(set(FUNCTIONS) - set(binaries)):
        findings.append(f"function {missing}: missing")
    for extra in sorted(set(binaries) - set(FUNCTIONS)):
        findings.append(f"function {extra}: not in the contract (FUNCTIONS in this test)")
    arch = template.get("Parameters", {}).get("Architecture", {})
    if arch.get("Default") != "arm64" or set(arch.get("AllowedValues", [])) != {"arm64", "x86_64"}:
        findings.append("parameter Architecture: must default to arm64 and allow arm64, x86_64")
    timeouts = task_timeouts(definition)
    secrets = {n for n, _ in resources(template, "AWS::SecretsManager::Secret")}
    no_echo = {n for n, p in template.get("Parameters", {}).items() if p.get("NoEcho")}

    for binary, name in sorted(binaries.items()):
        res = merged["Resources"][name]
        props = res.get("Properties", {})
        at = f"function {binary} ({name})"
        if res.get("Metadata", {}).get("BuildMethod") != "rust-cargolambda":
            findings.append(f"{at}: Metadata.BuildMethod is not rust-cargolambda")
        if props.get("Runtime") != "provided.al2023":
            findings.append(f"{at}: Runtime is {props.get('Runtime')}, not provided.al2023")
        if props.get("Handler") != "bootstrap":
            findings.append(f"{at}: Handler is not bootstrap")
        if props.get("Architectures") != [{"Ref": "Architecture"}]:
            findings.append(f"{at}: Architectures is not [!Ref Architecture]")
        code = props.get("CodeUri")
        if not isinstance(code, str) or (TEMPLATE.parent / code).resolve() != ROOT:
            findings.append(f"{at}: CodeUri is not the cargo workspace root")
        if props.get("Tracing") != "Active":
            findings.append(f"{at}: X-Ray tracing is not Active")
        logging = props.get("LoggingConfig", {})
        if logging.get("LogFormat") != "JSON":
            findings.append(f"{at}: LoggingConfig.LogFormat is not JSON")
        group = ref_target(logging.get("LogGroup"))
        if group is None or type_of(template, group) != "AWS::Logs::LogGroup":
            findings.append(f"{at}: no log group of its own (LoggingConfig.LogGroup)")
        memory = props.get("MemorySize")
        if not isinstance(memory, int) or not 128 <= memory <= 256:
            findings.append(f"{at}: MemorySize {memory} outside 128-256 MB")
        timeout = props.get("Timeout")
        substitution, env_names = FUNCTIONS.get(binary, (None, set()))
        if not isinstance(timeout, int):
            findings.append(f"{at}: no Timeout")
        elif substitution and substitution in timeouts and timeout >= timeouts[substitution]:
            findings.append(
                f"{at}: Timeout {timeout}s is not below its Task's TimeoutSeconds "
                f"{timeouts[substitution]}s (a timed-out Task would retry while it still runs)"
            )
        env = props.get("Environment", {}).get("Variables", {})
        if set(env) != env_names and binary in FUNCTIONS:
            findings.append(
                f"{at}: environment {sorted(env)} differs from the contract {sorted(env_names)}"
            )
        for var, value in env.items():
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*", var):
                findings.append(f"{at}: environment variable {var} is not SCREAMING_SNAKE")
            if ref_target(value) in no_echo:
                findings.append(f"{at}: {var} carries a NoEcho (secret) parameter")
            if var.endswith("_SECRET_ARN") and ref_target(value) not in secrets:
                findings.append(f"{at}: {var} is not a secret of this template")
        # The function may read exactly the secrets it is configured with.
        role = ref_target(props.get("Role"))
        if role in template.get("Resources", {}):
            wanted = {ref_target(v) for k, v in env.items() if k.endswith("_SECRET_ARN")}
            granted = {
                ref_target(r)
                for s in role_statements(template, role)
                if s.get("Effect") == "Allow"
                and "secretsmanager:GetSecretValue" in as_list(s.get("Action"))
                for r in as_list(s.get("Resource"))
            }
            if granted != wanted:
                findings.append(f"{at}: reads secrets {sorted(map(str, granted))}, configured with {sorted(map(str, wanted))}")
    return findings


def substitution_findings(template: dict[str, Any], definition: str) -> list[str]:
    """Every ${...} of the definition is provided, every provided one is used, and each is
    the function the contract says."""
    findings: list[str] = []
    machines = [
        (n, r)
        for n, r in resources(template)
        if r["Type"] in ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine")
    ]
    if len(machines) != 1:
        return [f"expected one state machine, found {len(machines)}"]
    name, res = machines[0]
    props = res["Properties"]
    location = props.get("DefinitionS3Location") or props.get("DefinitionUri")
    if not isinstance(location, str) or (TEMPLATE.parent / location).resolve() != DEFINITION:
        findings.append(f"{name}: the definition is not {DEFINITION.relative_to(ROOT)}")
    used = set(re.findall(r"\$\{([^}]+)\}", definition))
    provided = props.get("DefinitionSubstitutions", {})
    for missing in sorted(used - set(provided)):
        findings.append(f"{name}: ${{{missing}}} is used by the definition but not provided")
    for unused in sorted(set(provided) - used):
        findings.append(f"{name}: substitution {unused} is provided but the definition does not use it")
    binaries = {n: b for b, n in function_binaries(template).items()}
    expected = {sub: binary for binary, (sub, _) in FUNCTIONS.items() if sub}
    for key, value in provided.items():
        target = ref_target(value)
        is_arn = isinstance(value, dict) and render(value) == [f"<{target}.Arn>"]
        if not is_arn or binaries.get(target) != expected.get(key, binaries.get(target)):
            findings.append(f"{name}: {key} is not the Arn of function {expected.get(key)}")
    return findings


def state_machine_findings(template: dict[str, Any]) -> list[str]:
    """STANDARD, logs errors without execution data, traced, encrypted with our own key, and
    its role invokes exactly the step functions."""
    findings: list[str] = []
    machines = list(resources(template, "AWS::StepFunctions::StateMachine"))
    if len(machines) != 1:
        return [f"expected one AWS::StepFunctions::StateMachine, found {len(machines)}"]
    name, res = machines[0]
    props = res["Properties"]
    if props.get("StateMachineType") != "STANDARD":
        findings.append(f"{name}: not a STANDARD state machine")
    logging = props.get("LoggingConfiguration", {})
    if logging.get("Level") != "ERROR":
        findings.append(f"{name}: log level {logging.get('Level')}, not ERROR")
    if logging.get("IncludeExecutionData") is not False:
        findings.append(f"{name}: logs may include execution data (identifiers)")
    destinations = [
        ref_target(d.get("CloudWatchLogsLogGroup", {}).get("LogGroupArn"))
        for d in logging.get("Destinations", [])
    ]
    if not destinations or any(type_of(template, d) != "AWS::Logs::LogGroup" for d in destinations):
        findings.append(f"{name}: does not log to a log group of this template")
    if props.get("TracingConfiguration", {}).get("Enabled") is not True:
        findings.append(f"{name}: X-Ray tracing is off")
    encryption = props.get("EncryptionConfiguration", {})
    key = ref_target(encryption.get("KmsKeyId"))
    if encryption.get("Type") != "CUSTOMER_MANAGED_KMS_KEY" or type_of(template, key) != "AWS::KMS::Key":
        findings.append(f"{name}: execution data not encrypted with a customer-managed key of this template")
    elif template["Resources"][key]["Properties"].get("EnableKeyRotation") is not True:
        findings.append(f"{key}: key rotation is off")

    role = ref_target(props.get("RoleArn"))
    if type_of(template, role) != "AWS::IAM::Role":
        return findings + [f"{name}: RoleArn is not a role of this template"]
    steps = {
        ref_target(v) for v in props.get("DefinitionSubstitutions", {}).values()
    }
    invoked: set[str | None] = set()
    for stmt in role_statements(template, role):
        actions = as_list(stmt.get("Action"))
        if any(a.startswith("lambda:") for a in actions):
            if actions != ["lambda:InvokeFunction"]:
                findings.append(f"{role}: Lambda actions beyond InvokeFunction: {actions}")
            invoked |= {ref_target(r) for r in as_list(stmt.get("Resource"))}
    if invoked != steps:
        findings.append(
            f"{role}: invokes {sorted(map(str, invoked))}, the steps are {sorted(map(str, steps))}"
        )
    return findings


def archive_findings(template: dict[str, Any]) -> list[str]:
    """The compliance archive is WORM: Object Lock COMPLIANCE, versioned, SSE-S3 (no key
    whose deletion, disabling or policy change could make a locked record unreadable, and
    the policy refuses records under a KMS or customer key), private, TLS only, and its
    policy refuses deletion and any retention change or write by anyone but the record
    writer. The hold register is versioned, private, TLS only."""
    findings: list[str] = []
    merged = with_globals(template)
    binaries = function_binaries(merged)
    writer = merged["Resources"].get(binaries.get("write-record", ""), {})
    writer_props = writer.get("Properties", {})
    bucket = ref_target(writer_props.get("Environment", {}).get("Variables", {}).get("ARCHIVE_BUCKET"))
    writer_role = ref_target(writer_props.get("Role"))
    if type_of(template, bucket) != "AWS::S3::Bucket":
        return ["write-record's ARCHIVE_BUCKET is not a bucket of this template"]
    res = template["Resources"][bucket]
    props = res["Properties"]
    if res.get("DeletionPolicy") != "Retain":
        findings.append(f"{bucket}: not retained when the stack goes")
    if props.get("ObjectLockEnabled") is not True:
        findings.append(f"{bucket}: Object Lock is not enabled")
    lock = props.get("ObjectLockConfiguration", {})
    retention = lock.get("Rule", {}).get("DefaultRetention", {})
    if lock.get("ObjectLockEnabled") != "Enabled" or retention.get("Mode") != "COMPLIANCE":
        findings.append(f"{bucket}: default retention is not COMPLIANCE")
    if retention.get("Years") != {"Ref": "RetentionYears"} or "Days" in retention:
        findings.append(f"{bucket}: default retention is not RetentionYears years")
    if str(template.get("Parameters", {}).get("RetentionYears", {}).get("Default")) != "7":
        findings.append("parameter RetentionYears: default is not 7")
    findings += _private_bucket_findings(template, bucket)
    sse = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [{}])[0]
    default = sse.get("ServerSideEncryptionByDefault", {})
    if default.get("SSEAlgorithm") != "AES256" or "KMSMasterKeyID" in default:
        findings.append(f"{bucket}: not SSE-S3 (AES256): a KMS key can be deleted or locked away")

    denies = _bucket_denies(template, bucket)
    objects = f"<{bucket}.Arn>/*"
    kms_puts = [
        s
        for s in denies
        if "s3:PutObject" in s["actions"]
        and objects in s["resources"]
        and "aws:kms" in as_list(
            (s["condition"] or {}).get("StringEquals", {}).get("s3:x-amz-server-side-encryption", [])
        )
    ]
    if not kms_puts:
        findings.append(f"{bucket}: the bucket policy does not refuse records encrypted under a KMS key")
    customer_key_puts = [
        s
        for s in denies
        if "s3:PutObject" in s["actions"]
        and objects in s["resources"]
        and s["condition"]
        == {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}}
    ]
    if not customer_key_puts:
        findings.append(f"{bucket}: the bucket policy does not refuse records under a customer key")
    deletes = [
        s
        for s in denies
        if {"s3:DeleteObject", "s3:DeleteObjectVersion"} <= s["actions"]
        and objects in s["resources"]
        and not s["condition"]
    ]
    if not deletes:
        findings.append(f"{bucket}: the bucket policy does not refuse every object deletion")
    bypass = [
        s for s in denies if "s3:BypassGovernanceRetention" in s["actions"] and not s["condition"]
    ]
    if not bypass:
        findings.append(f"{bucket}: the bucket policy does not refuse BypassGovernanceRetention")
    findings += _writer_findings(template, bucket, denies)
    return findings


# Each folder of the archive and the functions that alone write it.
ARCHIVE_WRITERS = {
    "records": ("write-record",),
    "verifications": ("write-record",),
    "fallback": ("write-record",),
    "manifests": ("watchdog",),
    "annotations": ("approval", "console"),
}
WRITE_ACTIONS = {"s3:PutObject", "s3:PutObjectRetention"}


def _writer_findings(template: dict[str, Any], bucket: str, denies: list[dict[str, Any]]) -> list[str]:
    """The bucket policy refuses each folder's writes to all but its writer and every
    write outside the folders; and every role whose own policy lets it write in the
    archive is the writer of that folder (else its writes are refused in production,
    which moto, ignoring bucket policies, would never show)."""
    findings: list[str] = []
    merged = with_globals(template)
    binaries = function_binaries(merged)
    role_of = {
        b: ref_target(merged["Resources"][f].get("Properties", {}).get("Role")) for b, f in binaries.items()
    }
    folder_arn = {folder: f"<{bucket}.Arn>/<ArchivePrefix>{folder}/*" for folder in ARCHIVE_WRITERS}
    for folder, writers in ARCHIVE_WRITERS.items():
        arns = [{"Fn::GetAtt": [role_of.get(b), "Arn"]} for b in writers]
        guard = {"ArnNotEquals": {"aws:PrincipalArn": arns[0] if len(arns) == 1 else arns}}
        if not any(
            WRITE_ACTIONS <= s["actions"] and folder_arn[folder] in s["resources"] and s["condition"] == guard
            for s in denies
        ):
            names = " and ".join(f"{b}'s" for b in writers)
            findings.append(f"{bucket}: the bucket policy does not refuse writes to {folder}/ to all but {names} role")
    if not any(
        WRITE_ACTIONS <= s["actions"]
        and not s["resources"]
        and s["not_resources"] == set(folder_arn.values())
        and not s["condition"]
        for s in denies
    ):
        findings.append(f"{bucket}: the bucket policy does not refuse writes outside {', '.join(ARCHIVE_WRITERS)}")
    writers = {role: b for b, role in role_of.items()}
    for _, role in ((n, n) for n, _ in resources(template, "AWS::IAM::Role")):
        for stmt in role_statements(template, role):
            if stmt.get("Effect") != "Allow" or not WRITE_ACTIONS & set(as_list(stmt.get("Action", []))):
                continue
            for resource in (r for v in as_list(stmt.get("Resource", [])) for r in render(v)):
                if not resource.startswith(f"<{bucket}.Arn>/"):
                    continue
                folder = next((f for f, arn in folder_arn.items() if resource == arn), None)
                if folder is None or writers.get(role) not in ARCHIVE_WRITERS[folder]:
                    findings.append(
                        f"{role} may write {resource} by its own policy, but the bucket policy refuses it"
                        " (or lets it write what another function writes)"
                    )
    return findings


def hold_register_findings(template: dict[str, Any]) -> list[str]:
    merged = with_globals(template)
    review = merged["Resources"].get(function_binaries(merged).get("review", ""), {})
    env = review.get("Properties", {}).get("Environment", {}).get("Variables", {})
    bucket = ref_target(env.get("HOLD_REGISTER_BUCKET"))
    if type_of(template, bucket) != "AWS::S3::Bucket":
        return ["review's HOLD_REGISTER_BUCKET is not a bucket of this template"]
    return _private_bucket_findings(template, bucket)


def _private_bucket_findings(template: dict[str, Any], bucket: str) -> list[str]:
    findings: list[str] = []
    props = template["Resources"][bucket]["Properties"]
    if props.get("VersioningConfiguration", {}).get("Status") != "Enabled":
        findings.append(f"{bucket}: versioning is not enabled")
    block = props.get("PublicAccessBlockConfiguration", {})
    for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
        if block.get(flag) is not True:
            findings.append(f"{bucket}: public access block {flag} is not on")
    rules = props.get("OwnershipControls", {}).get("Rules", [])
    if [r.get("ObjectOwnership") for r in rules] != ["BucketOwnerEnforced"]:
        findings.append(f"{bucket}: object ownership is not enforced (ACLs possible)")
    tls = [
        s
        for s in _bucket_denies(template, bucket)
        if "s3:*" in s["actions"]
        and {f"<{bucket}.Arn>", f"<{bucket}.Arn>/*"} <= s["resources"]
        and s["condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    if not tls:
        findings.append(f"{bucket}: the bucket policy does not refuse plain HTTP")
    return findings


def _bucket_denies(template: dict[str, Any], bucket: str) -> list[dict[str, Any]]:
    out = []
    for _, res in resources(template, "AWS::S3::BucketPolicy"):
        props = res["Properties"]
        if ref_target(props.get("Bucket")) != bucket:
            continue
        for stmt in statements(props["PolicyDocument"]):
            if stmt.get("Effect") != "Deny" or stmt.get("Principal") not in ("*", {"AWS": "*"}):
                continue
            out.append(
                {
                    "actions": set(as_list(stmt.get("Action", []))),
                    "resources": {r for v in as_list(stmt.get("Resource", [])) for r in render(v)},
                    "not_resources": {r for v in as_list(stmt.get("NotResource", [])) for r in render(v)},
                    "condition": stmt.get("Condition"),
                }
            )
    return out


def secret_findings(template: dict[str, Any]) -> list[str]:
    """Secrets are encrypted with our key; random keys are generated by Secrets Manager,
    values from elsewhere are empty placeholders; no value anywhere in the template."""
    findings: list[str] = []
    merged = with_globals(template)
    placeholders = set()
    for _, res in resources(merged, "AWS::Serverless::Function"):
        for var, value in res.get("Properties", {}).get("Environment", {}).get("Variables", {}).items():
            if var in PLACEHOLDER_SECRET_ENV:
                placeholders.add(ref_target(value))
    for name, res in resources(template, "AWS::SecretsManager::Secret"):
        props = res.get("Properties", {})
        if type_of(template, ref_target(props.get("KmsKeyId"))) != "AWS::KMS::Key":
            findings.append(f"{name}: not encrypted with a customer-managed key of this template")
        if "SecretString" in props:
            findings.append(f"{name}: has a value in the template")
        if name in placeholders and "GenerateSecretString" in props:
            findings.append(f"{name}: its value comes from outside, yet one is generated")
        if name not in placeholders and "GenerateSecretString" not in props:
            findings.append(f"{name}: a random key, yet not generated by Secrets Manager")
    # Nobody but the named admin role changes a secret in place.
    guarded = set()
    for _, res in resources(template, "AWS::SecretsManager::ResourcePolicy"):
        props = res.get("Properties", {})
        for stmt in statements(props.get("ResourcePolicy", {})):
            if (
                stmt.get("Effect") == "Deny"
                and stmt.get("Principal") in ("*", {"AWS": "*"})
                and {"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"}
                <= set(as_list(stmt.get("Action", [])))
                and stmt.get("Condition")
                == {"ArnNotEquals": {"aws:PrincipalArn": {"Ref": "SecretsAdminRoleArn"}}}
            ):
                guarded.add(ref_target(props.get("SecretId")))
    for name, _ in resources(template, "AWS::SecretsManager::Secret"):
        if name not in guarded:
            findings.append(
                f"{name}: no resource policy refuses PutSecretValue/UpdateSecret to all but SecretsAdminRoleArn"
            )
    for name, param in template.get("Parameters", {}).items():
        if param.get("NoEcho") or re.search(r"secret|password|token|key$", name, re.I):
            if name not in ("HoldRegisterKey", "SecretsAdminRoleArn"):
                findings.append(f"parameter {name}: secrets never go through parameters")
    return findings


def alarm_findings(template: dict[str, Any]) -> list[str]:
    findings: list[str] = []
    machine = next((n for n, _ in resources(template, "AWS::StepFunctions::StateMachine")), None)
    alarms = [r["Properties"] for _, r in resources(template, "AWS::CloudWatch::Alarm")]

    def find(namespace: str, metric: str) -> list[dict[str, Any]]:
        return [
            a
            for a in alarms
            if a.get("Namespace") == namespace
            and a.get("MetricName") == metric
            and {"Name": "StateMachineArn", "Value": {"Ref": machine}} in a.get("Dimensions", [])
        ]

    for namespace, metric in [
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/States", "ExecutionsTimedOut"),
        ("AWS/States", "ExecutionsAborted"),
        ("GdprErasure", "ApprovalsOverdue"),
        ("GdprErasure", "DeadlinesNear"),
        ("GdprErasure", "ResumptionsDue"),
        ("GdprErasure", "TicketsNotUpdated"),
        # The entry points' 5xx answers (crates/endpoints/src/answer.rs): no Lambda error.
        ("GdprErasure", "TicketWebhookServerErrors"),
        ("GdprErasure", "ApprovalServerErrors"),
    ]:
        if not find(namespace, metric):
            findings.append(f"no alarm on {namespace} {metric} of the state machine")
    for alarm in find("AWS/States", "ExecutionsFailed"):
        text = alarm.get("AlarmDescription", "")
        if "RecordNotWritten" not in text or "URGENT" not in text:
            findings.append("the failed-executions alarm does not say RecordNotWritten is URGENT")
    for alarm in alarms:
        if not alarm.get("AlarmActions"):
            findings.append(f"alarm on {alarm.get('MetricName')} notifies nobody")
    return findings


def cycle_findings(template: dict[str, Any]) -> list[str]:
    """CloudFormation refuses a template whose resources depend on each other in a circle;
    cfn-lint cannot see through SAM's generated resources (<Function>Url), so check here."""
    names = set(template.get("Resources", {}))
    sam_functions = {n for n, _ in resources(template, "AWS::Serverless::Function")}

    def resolve(name: str) -> str | None:
        name = name.split(".")[0]
        if name in names:
            return name
        for suffix in ("Url", "Role", "UrlPublicPermissions"):
            if name.endswith(suffix) and name[: -len(suffix)] in sam_functions:
                return name[: -len(suffix)]
        return None

    def refs(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for fn, arg in value.items():
                if fn == "Ref" and isinstance(arg, str):
                    yield arg
                elif fn == "Fn::GetAtt":
                    yield arg.split(".")[0] if isinstance(arg, str) else arg[0]
                elif fn == "Fn::Sub":
                    text = arg if isinstance(arg, str) else arg[0]
                    yield from re.findall(r"\$\{(?!!)([^}.]+)", text)
                    if not isinstance(arg, str):
                        yield from refs(arg[1])
                else:
                    yield from refs(arg)
        elif isinstance(value, list):
            for v in value:
                yield from refs(v)

    graph: dict[str, set[str]] = {}
    for name, res in resources(template):
        deps = {resolve(r) for r in refs(res.get("Properties", {}))}
        deps |= {resolve(d) for d in as_list(res.get("DependsOn", []))}
        graph[name] = {d for d in deps if d and d != name}

    findings: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                findings.append("dependency cycle: " + " -> ".join(cycle))
            elif dep not in state:
                visit(dep, path + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return findings


def archive_s3_operations(source: str) -> set[str]:
    """The S3 client operations the archive's S3 backend calls (`.client.<op>()`)."""
    return set(re.findall(r"\.client\s*\.\s*([a-z_]+)\(\)", source))


def record_writer_findings(template: dict[str, Any], source: str) -> list[str]:
    """write-record's role allows exactly the S3 actions the archive's calls need: each on
    the archive bucket or on the records under its prefix, and nothing else of S3."""
    findings: list[str] = []
    merged = with_globals(template)
    writer = merged["Resources"].get(function_binaries(merged).get("write-record", ""), {})
    props = writer.get("Properties", {})
    role = ref_target(props.get("Role"))
    bucket = ref_target(props.get("Environment", {}).get("Variables", {}).get("ARCHIVE_BUCKET"))
    if type_of(template, role) != "AWS::IAM::Role" or type_of(template, bucket) != "AWS::S3::Bucket":
        return ["write-record has no role or ARCHIVE_BUCKET of this template"]
    where = {
        "bucket": f"<{bucket}.Arn>",
        "objects": f"<{bucket}.Arn>/<ArchivePrefix>records/*",
        # The checks after a record, written and read as the records are.
        "verifications": f"<{bucket}.Arn>/<ArchivePrefix>verifications/*",
        # A record the archive refused is kept there (crates/archive/src/fallback.rs):
        # put only, WriteRecord never reads it back.
        "fallback": f"<{bucket}.Arn>/<ArchivePrefix>fallback/*",
    }
    needed: dict[str, set[str]] = {w: set() for w in where}
    needed["fallback"] = {"s3:PutObject"}
    for operation in sorted(archive_s3_operations(source)):
        if operation not in S3_OPERATION_ACTIONS:
            findings.append(
                f"the archive calls S3 {operation}, which S3_OPERATION_ACTIONS does not map to IAM actions"
            )
            continue
        scope, actions = S3_OPERATION_ACTIONS[operation]
        needed[scope] |= actions
    needed["verifications"] = set(needed["objects"])
    granted: dict[str, set[str]] = {w: set() for w in where}
    for stmt in role_statements(template, role):
        if stmt.get("Effect") != "Allow":
            continue
        actions = {a for v in as_list(stmt.get("Action", [])) for a in render(v) if a.startswith("s3:")}
        for resource in [r for v in as_list(stmt.get("Resource", [])) for r in render(v)]:
            scope = next((w for w, r in where.items() if r == resource), None)
            if scope is None:
                if actions:
                    findings.append(
                        f"{role}: S3 actions on {resource}, neither the archive, its records, verifications nor fallback"
                    )
                continue
            granted[scope] |= actions
    for scope in where:
        for action in sorted(needed[scope] - granted[scope]):
            findings.append(f"{role}: {action} on {where[scope]} is missing (the archive needs it)")
        for action in sorted(granted[scope] - needed[scope]):
            findings.append(f"{role}: {action} on {where[scope]} is more than the archive uses")
    return findings


def crate_findings(template: dict[str, Any], functions_dir: Path = ROOT / "functions") -> list[str]:
    """Every Lambda binary under functions/ is deployed by the template (the crates land
    one by one; a crate whose binary the template does not know would never be deployed)."""
    binaries = set(function_binaries(template))
    findings: list[str] = []
    for manifest in sorted(functions_dir.glob("*/Cargo.toml")):
        cargo = tomllib.loads(manifest.read_text(encoding="utf-8"))
        names = [b["name"] for b in cargo.get("bin", [])] or [cargo.get("package", {}).get("name")]
        for name in names:
            if name not in binaries:
                findings.append(f"{manifest.relative_to(functions_dir.parent)}: binary {name} is not in the template")
    return findings


def sam_transform(template: dict[str, Any]) -> dict[str, Any]:
    """The template as CloudFormation receives it: after `sam package` (local paths become S3
    locations) and the SAM transform, run offline with the transform's own library."""
    import boto3
    from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    t = copy.deepcopy(template)
    if "CodeUri" in t.get("Globals", {}).get("Function", {}):
        t["Globals"]["Function"]["CodeUri"] = "s3://artifacts/code.zip"
    for _, res in resources(t):
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Serverless::Function" and "CodeUri" in props:
            props["CodeUri"] = "s3://artifacts/code.zip"
        if res.get("Type") == "AWS::StepFunctions::StateMachine":
            if isinstance(props.get("DefinitionS3Location"), str):
                props["DefinitionS3Location"] = {"Bucket": "artifacts", "Key": "erasure.asl.json"}
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    translator = Translator(
        None,
        Parser(),
        boto_session=boto3.session.Session(region_name="eu-west-1"),
        metrics=metrics,
    )
    try:
        return translator.translate(t, parameter_values={}, get_managed_policy_map=lambda: {})
    finally:
        metrics.publish()  # to nowhere; keeps the library from warning about it


def transform_findings(template: dict[str, Any]) -> list[str]:
    """The SAM transform accepts the template, and cfn-lint finds no error or warning in what
    it produces: that is where SAM's generated resources (function URLs and their
    permissions, the schedule) and dependency cycles through them become visible."""
    from samtranslator.model.exceptions import InvalidDocumentException

    try:
        transformed = sam_transform(template)
    except InvalidDocumentException as e:
        return [f"SAM transform: {cause}" for cause in e.causes]
    return [
        f"after the SAM transform: {m.rule.id} {m.message}"
        for m in cfn_lint(json.dumps(transformed))
        if m.rule.id[:1] in ("E", "W")
    ]


# --------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------
class TemplateTest(unittest.TestCase):
    template: dict[str, Any]
    definition: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.template = load_template()
        cls.definition = load_definition()

    def mutated(self) -> dict[str, Any]:
        return copy.deepcopy(self.template)

    def assertNoFindings(self, findings: list[str]) -> None:
        self.assertEqual(findings, [], "\n" + "\n".join(findings))


class LeastPrivilege(TemplateTest):
    def test_no_wildcard_where_a_name_could_stand(self) -> None:
        self.assertNoFindings(wildcard_findings(self.template))

    def test_every_function_has_its_own_role_spelled_out_here(self) -> None:
        self.assertNoFindings(role_findings(self.template))

    def test_allowlisted_actions_have_no_resource_level_permissions(self) -> None:
        service_map = load_resource(AdditionalSpecs, "Policies.json")
        for action, reason in STAR_RESOURCE_ACTIONS.items():
            service, name = action.split(":")
            with self.subTest(action=action):
                self.assertTrue(reason)
                spec = service_map[service]["Actions"][name.lower()]
                self.assertFalse(
                    spec.get("Resources"),
                    f"{action} supports resource-level permissions: name the resource instead",
                )

    def test_the_wildcards_in_use_are_the_listed_ones(self) -> None:
        # Guards the allowlist from rot: every listed action is still needed somewhere.
        used = {
            a
            for _, kind, doc in policy_documents(self.template)
            if kind == "identity"
            for s in statements(doc)
            if s.get("Resource") == "*"
            for a in as_list(s.get("Action"))
        }
        self.assertEqual(used, set(STAR_RESOURCE_ACTIONS))


SCHEMA = ROOT / "schemas" / "compliance-record.v1.schema.json"


def role_parameter_findings(t: dict[str, Any]) -> list[str]:
    """The role parameters accept exactly comma-separated roles the record schema's
    `$defs.role` accepts (spaces around commas allowed: the steps trim them)."""
    role = json.loads(SCHEMA.read_text())["$defs"]["role"]["pattern"]
    one = role.removeprefix("^").removesuffix("$")
    expected = f"^ *{one}( *, *{one})*$"
    out = []
    for name in ("ApprovalRoles", "SignOffRoles"):
        p = t["Parameters"][name]
        got = p.get("AllowedPattern")
        if got != expected:
            out.append(f"{name}: AllowedPattern {got!r}, the schema's roles need {expected!r}")
        elif not re.fullmatch(got, str(p.get("Default", ""))):
            out.append(f"{name}: the default {p.get('Default')!r} is not allowed")
    return out


class Roles(TemplateTest):
    def test_role_parameters_accept_exactly_the_schemas_roles(self) -> None:
        self.assertNoFindings(role_parameter_findings(self.template))
        pattern = self.template["Parameters"]["SignOffRoles"]["AllowedPattern"]
        self.assertTrue(re.fullmatch(pattern, "DPO, Privacy Officer"))
        for bad in ("DPO,Ops/Privacy", "DPO!", "1st line", "DPO,,Privacy Officer"):
            self.assertIsNone(re.fullmatch(pattern, bad), bad)

    def test_a_looser_pattern_is_caught(self) -> None:
        t = self.mutated()
        t["Parameters"]["ApprovalRoles"]["AllowedPattern"] = "^[^,]+(,[^,]+)*$"
        self.assertTrue(role_parameter_findings(t))


class Wiring(TemplateTest):
    def test_every_substitution_is_provided_and_used(self) -> None:
        self.assertNoFindings(substitution_findings(self.template, self.definition))

    def test_every_function_is_built_and_configured_as_agreed(self) -> None:
        self.assertNoFindings(function_findings(self.template, self.definition))

    def test_no_dependency_cycle(self) -> None:
        self.assertNoFindings(cycle_findings(self.template))

    def test_sam_transform_output_lints_clean(self) -> None:
        self.assertNoFindings(transform_findings(self.template))

    def test_every_function_crate_is_deployed(self) -> None:
        self.assertNoFindings(crate_findings(self.template))


class Archive(TemplateTest):
    def test_record_writer_may_do_what_the_archive_calls_and_no_more(self) -> None:
        source = ARCHIVE_S3.read_text(encoding="utf-8")
        # The scan sees the calls (guards the regular expression itself).
        self.assertIn("list_object_versions", archive_s3_operations(source))
        self.assertNoFindings(record_writer_findings(self.template, source))

    def test_archive_is_worm_private_and_tls_only(self) -> None:
        self.assertNoFindings(archive_findings(self.template))

    def test_hold_register_is_versioned_private_and_tls_only(self) -> None:
        self.assertNoFindings(hold_register_findings(self.template))


class StateMachine(TemplateTest):
    def test_logs_errors_without_data_traced_and_encrypted(self) -> None:
        self.assertNoFindings(state_machine_findings(self.template))


class SecretsAndAlarms(TemplateTest):
    def test_secrets_are_generated_or_placeholders_and_encrypted(self) -> None:
        self.assertNoFindings(secret_findings(self.template))

    def test_alarms_cover_failed_timed_out_aborted_overdue_and_near_deadline(self) -> None:
        self.assertNoFindings(alarm_findings(self.template))


def _role_policy(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def _function(template: dict[str, Any], binary: str) -> dict[str, Any]:
    return template["Resources"][function_binaries(template)[binary]]


class MutationsAreCaught(TemplateTest):
    """Each check fails when the property it guards is removed from a copy of the template."""

    def assertCaught(self, findings: list[str], fragment: str) -> None:
        self.assertTrue(
            any(fragment in f for f in findings),
            f"expected a finding containing {fragment!r}, got {findings}",
        )

    # -- least privilege --
    def test_star_action_is_caught(self) -> None:
        t = self.mutated()
        _role_policy(t, "IntakeRole").append({"Effect": "Allow", "Action": "*", "Resource": "*"})
        self.assertCaught(wildcard_findings(t), "wildcard action *")

    def test_service_wide_action_is_caught(self) -> None:
        t = self.mutated()
        _role_policy(t, "WriteRecordRole")[2]["Action"] = "s3:*"
        self.assertCaught(wildcard_findings(t), "wildcard action s3:*")

    def test_action_prefix_wildcard_is_caught(self) -> None:
        t = self.mutated()
        _role_policy(t, "WatchdogRole").append(
            {"Effect": "Allow", "Action": "states:Describe*", "Resource": {"Ref": "ErasureStateMachine"}}
        )
        self.assertCaught(wildcard_findings(t), "wildcard action states:Describe*")

    def test_star_resource_for_a_nameable_action_is_caught(self) -> None:
        t = self.mutated()
        _role_policy(t, "LocateRole").append(
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
        )
        self.assertCaught(wildcard_findings(t), "Resource '*' for secretsmanager:GetSecretValue")

    def test_star_resource_mixed_into_an_allowlisted_statement_is_caught(self) -> None:
        t = self.mutated()
        xray = next(s for s in _role_policy(t, "PollRole") if s.get("Sid") == "XRay")
        xray["Action"].append("s3:GetObject")
        self.assertCaught(wildcard_findings(t), "Resource '*' for s3:GetObject")

    def test_wildcard_in_a_resource_name_is_caught(self) -> None:
        t = self.mutated()
        _role_policy(t, "TicketWebhookRole").append(
            {
                "Effect": "Allow",
                "Action": "states:StartExecution",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:*"},
            }
        )
        self.assertCaught(wildcard_findings(t), "wildcard resource arn:<AWS::Partition>:states")

    def test_executions_of_another_state_machine_name_are_caught(self) -> None:
        t = self.mutated()
        check = next(s for s in _role_policy(t, "ApprovalRole") if s.get("Sid") == "CheckTheWaitingExecution")
        check["Resource"] = {
            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${AWS::StackName}-other:*"
        }
        self.assertCaught(wildcard_findings(t), "CheckTheWaitingExecution: wildcard resource")
        check["Resource"] = {
            "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:*"
        }
        self.assertCaught(wildcard_findings(t), "CheckTheWaitingExecution: wildcard resource")

    def test_every_bucket_is_caught(self) -> None:
        t = self.mutated()
        _role_policy(t, "ReviewRole").append(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*"}
        )
        self.assertCaught(wildcard_findings(t), "wildcard resource arn:aws:s3:::*/*")

    def test_object_wildcard_under_something_not_a_bucket_is_caught(self) -> None:
        t = self.mutated()
        _role_policy(t, "ReviewRole").append(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "${DataKey.Arn}/*"}}
        )
        self.assertCaught(wildcard_findings(t), "wildcard resource <DataKey.Arn>/*")

    def test_managed_policy_wildcard_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["ArchiveReadOnlyPolicy"]["Properties"]["PolicyDocument"]["Statement"][1]["Resource"] = "*"
        self.assertCaught(wildcard_findings(t), "ArchiveReadOnlyPolicy statement ReadRecordsAndTheirLocks")

    def test_state_machine_role_wildcard_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["StateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0][
            "Resource"
        ] = {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*"}
        findings = wildcard_findings(t)
        self.assertCaught(findings, "StateMachineRole/invoke-steps")
        self.assertCaught(state_machine_findings(t), "StateMachineRole: invokes")

    def test_bucket_policy_allow_is_checked(self) -> None:
        t = self.mutated()
        t["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
        )
        findings = wildcard_findings(t)
        self.assertCaught(findings, "Allow to every principal")
        self.assertCaught(findings, "Resource '*' for s3:GetObject")

    def test_key_policy_wildcard_beyond_the_account_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"].append(
            {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "kms:*", "Resource": "*"}
        )
        self.assertCaught(wildcard_findings(t), "kms:* to a principal other than the account")

    def test_not_action_is_caught(self) -> None:
        t = self.mutated()
        _role_policy(t, "EraseRole").append({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
        self.assertCaught(wildcard_findings(t), "Allow with NotAction")

    def test_shared_role_is_caught(self) -> None:
        t = self.mutated()
        _function(t, "poll")["Properties"]["Role"] = {"Fn::GetAtt": ["LocateRole", "Arn"]}
        self.assertCaught(role_findings(t), "LocateRole: shared by")

    def test_sam_policy_templates_are_caught(self) -> None:
        t = self.mutated()
        _function(t, "erase")["Properties"]["Policies"] = ["AWSLambdaBasicExecutionRole"]
        self.assertCaught(role_findings(t), "SAM Policies")

    def test_aws_managed_policy_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["EraseRole"]["Properties"]["ManagedPolicyArns"] = [
            "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
        ]
        self.assertCaught(role_findings(t), "is not spelled out in this template")

    def test_reading_a_secret_the_function_is_not_configured_with_is_caught(self) -> None:
        t = self.mutated()
        grant = next(s for s in _role_policy(t, "LocateRole") if s.get("Sid") == "GenesysClient")
        grant["Resource"] = [{"Ref": "GenesysClientSecret"}, {"Ref": "PseudonymKeySecret"}]
        self.assertCaught(function_findings(t, self.definition), "reads secrets")

    # -- substitutions --
    def test_missing_substitution_is_caught(self) -> None:
        t = self.mutated()
        del t["Resources"]["ErasureStateMachine"]["Properties"]["DefinitionSubstitutions"]["PollFunctionArn"]
        self.assertCaught(substitution_findings(t, self.definition), "${PollFunctionArn} is used")

    def test_unused_substitution_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["ErasureStateMachine"]["Properties"]["DefinitionSubstitutions"]["WatchdogFunctionArn"] = {
            "Fn::GetAtt": ["WatchdogFunction", "Arn"]
        }
        self.assertCaught(substitution_findings(t, self.definition), "WatchdogFunctionArn is provided")

    def test_substitution_with_the_wrong_function_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["ErasureStateMachine"]["Properties"]["DefinitionSubstitutions"]["EraseFunctionArn"] = {
            "Fn::GetAtt": ["LocateFunction", "Arn"]
        }
        self.assertCaught(substitution_findings(t, self.definition), "EraseFunctionArn is not the Arn of function erase")

    # -- functions --
    def test_missing_function_is_caught(self) -> None:
        t = self.mutated()
        del t["Resources"]["WatchdogFunction"]
        self.assertCaught(function_findings(t, self.definition), "function watchdog: missing")

    def test_wrong_runtime_is_caught(self) -> None:
        t = self.mutated()
        _function(t, "review")["Properties"]["Runtime"] = "provided.al2"
        self.assertCaught(function_findings(t, self.definition), "not provided.al2023")

    def test_runtime_removed_from_globals_is_caught(self) -> None:
        t = self.mutated()
        del t["Globals"]["Function"]["Runtime"]
        self.assertCaught(function_findings(t, self.definition), "Runtime is None")

    def test_fixed_architecture_is_caught(self) -> None:
        t = self.mutated()
        _function(t, "intake")["Properties"]["Architectures"] = ["x86_64"]
        self.assertCaught(function_findings(t, self.definition), "Architectures is not [!Ref Architecture]")

    def test_other_build_method_is_caught(self) -> None:
        t = self.mutated()
        _function(t, "approval")["Metadata"]["BuildMethod"] = "makefile"
        self.assertCaught(function_findings(t, self.definition), "BuildMethod is not rust-cargolambda")

    def test_timeout_above_the_task_timeout_is_caught(self) -> None:
        t = self.mutated()
        _function(t, "intake")["Properties"]["Timeout"] = 60
        self.assertCaught(function_findings(t, self.definition), "is not below its Task's TimeoutSeconds 60s")

    def test_memory_outside_range_is_caught(self) -> None:
        t = self.mutated()
        _function(t, "poll")["Properties"]["MemorySize"] = 1024
        self.assertCaught(function_findings(t, self.definition), "MemorySize 1024")

    def test_environment_drift_is_caught(self) -> None:
        t = self.mutated()
        env = _function(t, "write-record")["Properties"]["Environment"]["Variables"]
        env["archiveBucket"] = env.pop("ARCHIVE_BUCKET")
        findings = function_findings(t, self.definition)
        self.assertCaught(findings, "differs from the contract")
        self.assertCaught(findings, "archiveBucket is not SCREAMING_SNAKE")

    def test_text_log_format_is_caught(self) -> None:
        t = self.mutated()
        _function(t, "erase")["Properties"]["LoggingConfig"]["LogFormat"] = "Text"
        self.assertCaught(function_findings(t, self.definition), "LogFormat is not JSON")

    def test_unknown_function_crate_is_caught(self) -> None:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            crate = Path(tmp) / "functions" / "mystery"
            crate.mkdir(parents=True)
            (crate / "Cargo.toml").write_text('[package]\nname = "mystery"\nversion = "0.1.0"\n')
            known = Path(tmp) / "functions" / "intake"
            known.mkdir()
            (known / "Cargo.toml").write_text('[package]\nname = "intake"\nversion = "0.1.0"\n')
            findings = crate_findings(self.template, Path(tmp) / "functions")
        self.assertEqual(findings, ["functions/mystery/Cargo.toml: binary mystery is not in the template"])

    # -- archive --
    def test_governance_mode_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["ArchiveBucket"]["Properties"]["ObjectLockConfiguration"]["Rule"]["DefaultRetention"][
            "Mode"
        ] = "GOVERNANCE"
        self.assertCaught(archive_findings(t), "default retention is not COMPLIANCE")

    def test_no_object_lock_is_caught(self) -> None:
        t = self.mutated()
        del t["Resources"]["ArchiveBucket"]["Properties"]["ObjectLockEnabled"]
        self.assertCaught(archive_findings(t), "Object Lock is not enabled")

    def test_unversioned_archive_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["ArchiveBucket"]["Properties"]["VersioningConfiguration"]["Status"] = "Suspended"
        self.assertCaught(archive_findings(t), "versioning is not enabled")

    def test_kms_encrypted_archive_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["ArchiveBucket"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ] = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["DataKey", "Arn"]}}
        self.assertCaught(archive_findings(t), "not SSE-S3")

    def test_records_under_a_kms_or_customer_key_allowed_is_caught(self) -> None:
        t = self.mutated()
        policy = t["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]
        policy["Statement"] = [
            s
            for s in policy["Statement"]
            if s.get("Sid") not in ("DenyRecordsUnderADeletableKey", "DenyRecordsUnderACustomerKey")
        ]
        findings = archive_findings(t)
        self.assertCaught(findings, "encrypted under a KMS key")
        self.assertCaught(findings, "under a customer key")

    def test_a_secret_others_may_overwrite_is_caught(self) -> None:
        t = self.mutated()
        del t["Resources"]["PseudonymKeySecretPolicy"]
        self.assertCaught(secret_findings(t), "PseudonymKeySecret: no resource policy")
        t = self.mutated()
        statement = t["Resources"]["WebhookSecretPolicy"]["Properties"]["ResourcePolicy"]["Statement"][0]
        statement["Action"] = ["secretsmanager:UpdateSecret"]
        self.assertCaught(secret_findings(t), "WebhookSecret: no resource policy")

    def test_public_access_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["ArchiveBucket"]["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] = False
        self.assertCaught(archive_findings(t), "BlockPublicPolicy is not on")

    def test_missing_deny_delete_is_caught(self) -> None:
        t = self.mutated()
        policy = t["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "DenyAnyDeletion"]
        self.assertCaught(archive_findings(t), "does not refuse every object deletion")

    def test_deny_delete_with_an_escape_is_caught(self) -> None:
        t = self.mutated()
        policy = t["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]
        deny = next(s for s in policy["Statement"] if s.get("Sid") == "DenyAnyDeletion")
        deny["Condition"] = {"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}}
        self.assertCaught(archive_findings(t), "does not refuse every object deletion")

    def test_missing_tls_deny_is_caught(self) -> None:
        t = self.mutated()
        policy = t["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "DenyInsecureTransport"]
        self.assertCaught(archive_findings(t), "does not refuse plain HTTP")

    def test_retention_changes_by_others_are_caught(self) -> None:
        t = self.mutated()
        policy = t["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]
        guard = next(s for s in policy["Statement"] if s.get("Sid") == "OnlyWriteRecordWritesRecords")
        guard["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] = {"Fn::GetAtt": ["WatchdogRole", "Arn"]}
        self.assertCaught(archive_findings(t), "does not refuse writes to records/ to all but write-record's role")

    def test_writes_outside_the_folders_allowed_is_caught(self) -> None:
        t = self.mutated()
        policy = t["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "NothingWrittenElsewhere"]
        self.assertCaught(archive_findings(t), "does not refuse writes outside")

    def test_a_writer_the_bucket_policy_refuses_is_caught(self) -> None:
        # The watchdog's checkpoint, granted by its role but refused by a bucket policy
        # that let only write-record write: moto ignores bucket policies, AWS does not.
        t = self.mutated()
        policy = t["Resources"]["ArchiveBucketPolicy"]["Properties"]["PolicyDocument"]
        guard = next(s for s in policy["Statement"] if s.get("Sid") == "OnlyTheWatchdogWritesManifests")
        guard["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] = {"Fn::GetAtt": ["WriteRecordRole", "Arn"]}
        findings = archive_findings(t)
        self.assertCaught(findings, "does not refuse writes to manifests/ to all but watchdog's role")
        t = self.mutated()
        stmt = next(s for s in _role_policy(t, "WatchdogRole") if s.get("Sid") == "WriteTheDaysCheckpoint")
        stmt["Resource"] = {"Fn::Sub": "${ArchiveBucket.Arn}/${ArchivePrefix}records/*"}
        self.assertCaught(archive_findings(t), "WatchdogRole may write <ArchiveBucket.Arn>/<ArchivePrefix>records/*")

    def test_record_writer_missing_a_permission_the_archive_needs_is_caught(self) -> None:
        t = self.mutated()
        stmt = next(s for s in _role_policy(t, "WriteRecordRole") if s.get("Sid") == "ListRecords")
        stmt["Action"] = ["s3:ListBucket"]
        source = ARCHIVE_S3.read_text(encoding="utf-8")
        self.assertCaught(record_writer_findings(t, source), "s3:ListBucketVersions on <ArchiveBucket.Arn> is missing")

    def test_record_writer_with_more_than_the_archive_uses_is_caught(self) -> None:
        t = self.mutated()
        stmt = next(s for s in _role_policy(t, "WriteRecordRole") if s.get("Sid") == "WriteAndReadRecords")
        stmt["Action"].append("s3:PutObjectLegalHold")
        source = ARCHIVE_S3.read_text(encoding="utf-8")
        self.assertCaught(record_writer_findings(t, source), "s3:PutObjectLegalHold on")

    def test_a_new_archive_call_needs_its_permission_decided(self) -> None:
        source = ARCHIVE_S3.read_text(encoding="utf-8") + "\nself.client.copy_object()\n"
        self.assertCaught(record_writer_findings(self.template, source), "calls S3 copy_object")

    def test_unprotected_hold_register_is_caught(self) -> None:
        t = self.mutated()
        del t["Resources"]["HoldRegisterBucketPolicy"]
        self.assertCaught(hold_register_findings(t), "does not refuse plain HTTP")

    # -- state machine --
    def test_execution_data_in_logs_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["ErasureStateMachine"]["Properties"]["LoggingConfiguration"]["IncludeExecutionData"] = True
        self.assertCaught(state_machine_findings(t), "may include execution data")

    def test_verbose_log_level_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["ErasureStateMachine"]["Properties"]["LoggingConfiguration"]["Level"] = "ALL"
        self.assertCaught(state_machine_findings(t), "log level ALL")

    def test_aws_owned_key_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["ErasureStateMachine"]["Properties"]["EncryptionConfiguration"] = {"Type": "AWS_OWNED_KEY"}
        self.assertCaught(state_machine_findings(t), "not encrypted with a customer-managed key")

    def test_untraced_state_machine_is_caught(self) -> None:
        t = self.mutated()
        del t["Resources"]["ErasureStateMachine"]["Properties"]["TracingConfiguration"]
        self.assertCaught(state_machine_findings(t), "tracing is off")

    def test_state_machine_invoking_a_non_step_is_caught(self) -> None:
        t = self.mutated()
        _role_policy(t, "StateMachineRole")[0]["Resource"].append({"Fn::GetAtt": ["ApprovalFunction", "Arn"]})
        self.assertCaught(state_machine_findings(t), "StateMachineRole: invokes")

    # -- secrets, alarms, cycles --
    def test_secret_value_in_template_is_caught(self) -> None:
        t = self.mutated()
        props = t["Resources"]["WebhookSecret"]["Properties"]
        del props["GenerateSecretString"]
        props["SecretString"] = '{"key": "not-random"}'
        findings = secret_findings(t)
        self.assertCaught(findings, "WebhookSecret: has a value in the template")
        self.assertCaught(findings, "WebhookSecret: a random key, yet not generated")

    def test_secret_parameter_is_caught(self) -> None:
        t = self.mutated()
        t["Parameters"]["GenesysClientSecret"] = {"Type": "String", "NoEcho": True}
        self.assertCaught(secret_findings(t), "secrets never go through parameters")

    def test_unencrypted_secret_is_caught(self) -> None:
        t = self.mutated()
        del t["Resources"]["GenesysClientSecret"]["Properties"]["KmsKeyId"]
        self.assertCaught(secret_findings(t), "GenesysClientSecret: not encrypted")

    def test_missing_alarm_is_caught(self) -> None:
        t = self.mutated()
        del t["Resources"]["ExecutionsAbortedAlarm"]
        self.assertCaught(alarm_findings(t), "AWS/States ExecutionsAborted")

    def test_quiet_failure_alarm_is_caught(self) -> None:
        t = self.mutated()
        t["Resources"]["ExecutionsFailedAlarm"]["Properties"]["AlarmDescription"] = "An execution failed."
        self.assertCaught(alarm_findings(t), "RecordNotWritten is URGENT")

    def test_dependency_cycle_is_caught(self) -> None:
        t = self.mutated()
        stmt = next(s for s in _role_policy(t, "ApprovalRole") if s.get("Sid") == "AnswerTheReview")
        stmt["Resource"] = {"Ref": "ErasureStateMachine"}
        self.assertCaught(cycle_findings(t), "dependency cycle")
        # cfn-lint alone does not see it in the SAM template; after the transform it does.
        self.assertCaught(transform_findings(t), "E3004 Circular Dependencies")

    def test_invalid_sam_property_is_caught_by_the_transform(self) -> None:
        t = self.mutated()
        _function(t, "approval")["Properties"]["FunctionUrlConfig"]["AuthType"] = "PUBLIC"
        self.assertCaught(transform_findings(t), "SAM transform")


if __name__ == "__main__":
    unittest.main()
