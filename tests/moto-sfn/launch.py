"""moto's server, with its Step Functions interpreter invoking Lambda functions at
`cargo lambda watch` instead of moto's own Lambda.

    python launch.py --lambda-endpoint http://127.0.0.1:9000 -- -H 127.0.0.1 -p 5000

Everything after `--` goes to moto's own `moto_server` entry point unchanged.

Why a launcher: moto runs a state machine's Lambda Tasks through
`moto.stepfunctions.parser.asl.utils.boto_client.boto_client_for`, which builds its boto3
client with `endpoint_url=http://localhost:<moto port>` written in, so no
`AWS_ENDPOINT_URL_LAMBDA` reroutes it; and moto's Lambda without Docker only echoes the
payload back. What changes here, and nothing else:

1. `boto_client_for(region, "lambda", ...)` returns a boto3 Lambda client for the
   `--lambda-endpoint` (cargo lambda watch's Invoke API). Every other service gets moto's
   own client, untouched. The replacement is bound in every module that imported the
   function by name (`lambda_eval_utils` does), and checked.
2. Two differences between cargo lambda watch and the Lambda Invoke API are bridged on that
   client, each the way Lambda itself behaves:
   - `FunctionName`: Step Functions passes the Task's `Resource` (an ARN); cargo lambda
     watch routes by binary name only, so `arn:...:function:<name>` becomes `<name>`.
   - A function error: cargo lambda watch answers HTTP 500 with the runtime's error
     document; Lambda answers 200 with `X-Amz-Function-Error: Unhandled` and the document
     as the payload, which is what Step Functions turns into the error name (`errorType`)
     and cause that `Retry` and `Catch` match. The client turns the first into the second.
     Any other failure stays a client error.

moto's interpreter itself (states, paths, Retry, Catch, Map, Parallel, Wait, callbacks,
execution history) is not touched.
"""

import argparse
import io
import json
import sys

import boto3
from botocore.config import Config
from botocore.response import StreamingBody

from moto import server
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_module

# Imported now so the sweep below finds (and replaces) their `boto_client_for` binding;
# modules imported later read the replaced attribute of `boto_client_module`.
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: F401
    state_task_service_lambda,
)

MOTO_BOTO_CLIENT_FOR = boto_client_module.boto_client_for
# The header botocore reads `FunctionError` from (its service model for Invoke).
FUNCTION_ERROR_HEADER = "x-amz-function-error"


def binary_name(function_name):
    """`arn:aws:lambda:<region>:<account>:function:<name>` (or `<name>`) -> `<name>`."""
    if ":function:" not in function_name:
        return function_name
    rest = function_name.split(":function:", 1)[1]
    if ":" in rest:
        # A qualifier (version or alias) cannot be honoured by cargo lambda watch:
        # refuse rather than invoke something else than asked.
        raise ValueError(f"qualified function names are not served: {function_name}")
    return rest


def reduce_function_name(params, **_):
    if isinstance(params.get("FunctionName"), str):
        params["FunctionName"] = binary_name(params["FunctionName"])


def function_error_document(response_dict):
    """The runtime's error document, when this is cargo lambda watch reporting a
    function error (HTTP 500, `{"errorType": ..., "errorMessage": ...}`)."""
    if response_dict["status_code"] != 500:
        return None
    try:
        document = json.loads(response_dict["body"])
    except (TypeError, ValueError):
        return None
    return document if isinstance(document, dict) and "errorType" in document else None


def function_error_as_lambda_reports_it(response_dict, **_):
    # Before botocore parses: the answer becomes Lambda's (200, the header, the document
    # as the streamed payload the interpreter reads with json.load).
    if function_error_document(response_dict) is None:
        return
    body = response_dict["body"]
    response_dict["status_code"] = 200
    response_dict["headers"][FUNCTION_ERROR_HEADER] = "Unhandled"
    response_dict["body"] = StreamingBody(io.BytesIO(body), len(body))


def no_client_error_for_a_function_error(http_response, parsed, **_):
    # botocore raises a ClientError when the HTTP status (read again after parsing) is
    # not a success; Lambda's was 200.
    if http_response.status_code == 500 and parsed.get("FunctionError") == "Unhandled":
        http_response.status_code = 200


def lambda_client(endpoint, region):
    # moto's client settings (no retries: retrying is the state machine's job); only the
    # endpoint differs.
    client = boto3.client(
        service_name="lambda",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="ak",
        aws_secret_access_key="sk",
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
        ),
    )
    events = client.meta.events
    events.register("before-parameter-build.lambda.Invoke", reduce_function_name)
    events.register("before-parse.lambda.Invoke", function_error_as_lambda_reports_it)
    events.register("after-call.lambda.Invoke", no_client_error_for_a_function_error)
    return client


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lambda-endpoint", required=True)
    parser.add_argument("moto_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    moto_args = args.moto_args[1:] if args.moto_args[:1] == ["--"] else args.moto_args

    def boto_client_for(region, service, state_credentials=None):
        if service != "lambda":
            return MOTO_BOTO_CLIENT_FOR(region, service, state_credentials)
        return lambda_client(args.lambda_endpoint, region)

    boto_client_module.boto_client_for = boto_client_for
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.") and getattr(module, "boto_client_for", None) is MOTO_BOTO_CLIENT_FOR:
            module.boto_client_for = boto_client_for
    assert lambda_eval_utils.boto_client_for is boto_client_for, "moto's Lambda Tasks not rerouted"

    # moto's main falls back to sys.argv when given no arguments: it sees only its own.
    sys.argv = [sys.argv[0], *moto_args]
    server.main(moto_args)


if __name__ == "__main__":
    main()
