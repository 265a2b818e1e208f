"""moto's server with its IAM enforcement made to check what AWS checks for the calls the
functions make, and every decision written down.

    python launch.py --audit-log calls.jsonl -- -H 127.0.0.1 -p 5000

Everything after `--` goes to moto's own `moto_server` entry point unchanged.

moto checks IAM once `INITIAL_NO_AUTH_ACTION_COUNT` calls have been served (its
`/moto-api/reset-auth` endpoint sets that count and restarts it; the IAM test sets it to 0
once users and resources exist): the caller's access key must belong to an IAM user, the
request's SigV4 signature must verify, and the user's policies must allow the action. What
moto does not do, and what changes here (nothing else does):

1. Resources. moto matches a statement's `Resource` only for S3 (bucket and object ARNs);
   every other service asks for resource `*`, which a statement naming a secret or a state
   machine never matches, so only `Resource: '*'` could pass. Here Secrets Manager calls
   ask for the secret's full ARN (looked up from its name or partial ARN) and Step
   Functions calls for the state machine or execution ARN in the request, and for a task
   token the ARN of the state machine whose execution holds it (Step Functions authorizes
   SendTaskSuccess/Failure against that state machine).
2. S3 action names. moto names a few S3 requests differently from IAM: a bucket's
   `?object-lock` GET is asked as ListBucket (IAM: GetBucketObjectLockConfiguration), a HEAD
   with a versionId as GetObject (IAM: GetObjectVersion), an object's `?retention` GET as
   GetObject (IAM: GetObjectRetention). They are asked under their IAM names here. A PUT
   carrying a retain-until date is also checked for s3:PutObjectRetention, as S3 does.
3. The Step Functions interpreter's own calls (access key `ak`, written into moto's
   `boto_client_for`) act for the state machine's role, which is not under test: they are
   not checked.
4. Every decision is appended to `--audit-log` as one JSON line `{accessKey, action,
   resource, allowed}`, so the test can compare what each function exercised with what its
   role grants.

Still not enforced by moto, even here: `Condition` blocks (only `StringEquals` on keys the
request supplies is evaluated; the keys used in the template, kms:ViaService,
kms:EncryptionContext:*, s3:prefix, aws:PrincipalArn, are never supplied, so those
conditions are ignored), resource-based policies (bucket policies, key policies, secret
resource policies), and calls AWS makes on the caller's behalf (S3 and Secrets Manager
calling KMS, Lambda writing logs and traces). docs/iam.md lists what each grant is tested
by.
"""

import argparse
import json
import sys
import threading

from moto import server
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam import access_control
from moto.s3 import responses as s3_responses
from moto.secretsmanager.models import secretsmanager_backends
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.stepfunctions.responses import StepFunctionResponse
from moto.stepfunctions.responses import get_backend as stepfunctions_backend

INTERPRETER_ACCESS_KEY = "ak"


def credential(headers):
    auth = headers.get("Authorization", "") if headers else ""
    start = auth.find("Credential=")
    if start < 0:
        return ""
    return auth[start + len("Credential=") :].split("/", 1)[0]


def secret_resource(self):
    try:
        secret_id = json.loads(self.body or "{}").get("SecretId", "")
    except ValueError:
        return "*"
    if not secret_id:
        return "*"
    for region_backend in secretsmanager_backends[self.current_account].values():
        secret = region_backend.secrets.get(secret_id)
        if secret is not None:
            return secret.arn
    if secret_id.startswith("arn:"):
        return secret_id
    return f"arn:aws:secretsmanager:{self.region}:{self.current_account}:secret:{secret_id}"


def state_machine_of_token(backend, token):
    for machine in backend.state_machines:
        for execution in machine.executions:
            worker = getattr(execution, "exec_worker", None)
            env = getattr(worker, "env", None)
            pool = getattr(env, "callback_pool_manager", None)
            if pool is not None and pool.get(token) is not None:
                return machine.arn
    return None


def states_resource(self):
    try:
        body = json.loads(self.body or "{}")
    except ValueError:
        return "*"
    for field in ("executionArn", "stateMachineArn"):
        if body.get(field):
            return body[field]
    if body.get("taskToken"):
        backend = stepfunctions_backend(self.current_account, self.region)
        return state_machine_of_token(backend, body["taskToken"]) or "*"
    return "*"


def install(audit_log):
    lock = threading.Lock()

    def record(entry):
        with lock, open(audit_log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    original_check = access_control.IAMRequestBase.check_action_permitted

    def check_action_permitted(self, resource):
        entry = {
            "accessKey": credential(self._headers),
            "action": self._action,
            "resource": resource,
        }
        try:
            original_check(self, resource)
        except Exception:
            record({**entry, "allowed": False})
            raise
        record({**entry, "allowed": True})
        # S3 authorizes a PUT that sets a retain-until date for PutObjectRetention too.
        if self._action == "s3:PutObject" and any(
            str(k).lower() == "x-amz-object-lock-retain-until-date"
            for k in dict(self._headers).keys()
        ):
            self._action = "s3:PutObjectRetention"
            check_action_permitted(self, resource)
            self._action = "s3:PutObject"

    access_control.IAMRequestBase.check_action_permitted = check_action_permitted

    original_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authorize(self, iam_request_cls, resource="*"):
        if credential(self.headers) == INTERPRETER_ACCESS_KEY:
            return None
        return original_authorize(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize

    SecretsManagerResponse._determine_resource = secret_resource
    StepFunctionResponse._determine_resource = states_resource

    actions = s3_responses.ACTION_MAP
    actions["BUCKET"]["GET"]["object-lock"] = "GetBucketObjectLockConfiguration"
    actions["KEY"]["HEAD"]["versionId"] = "GetObjectVersion"
    actions["KEY"]["GET"]["retention"] = "GetObjectRetention"
    actions["KEY"]["GET"]["legal-hold"] = "GetObjectLegalHold"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--audit-log", required=True)
    args, rest = parser.parse_known_args()
    if rest and rest[0] == "--":
        rest = rest[1:]
    install(args.audit_log)
    sys.argv = [sys.argv[0], *rest]
    server.main()


if __name__ == "__main__":
    main()
