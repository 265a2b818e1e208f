"""The DPO's console in the template (docs/console.md): the JWT authorizer in front of
its API, the issuer (the stack's user pool or a given one) wired to the authorizer and
the function alike, access logs without identifiers, a user pool nobody signs up to;
and the function's build without the local sign-in."""

from __future__ import annotations

import subprocess
import unittest
from typing import Any

from test_template import ROOT, load_template, ref_target


class ConsoleTemplateTest(unittest.TestCase):
    template: dict[str, Any]

    @classmethod
    def setUpClass(cls) -> None:
        cls.template = load_template()

    def res(self, name: str) -> dict[str, Any]:
        return self.template["Resources"][name]

    def test_the_api_routes_pass_the_jwt_authorizer_of_the_console_issuer(self) -> None:
        routes = {
            r["Properties"]["RouteKey"]: r["Properties"]
            for r in self.template["Resources"].values()
            if r["Type"] == "AWS::ApiGatewayV2::Route"
        }
        self.assertEqual(set(routes), {"ANY /api/{proxy+}", "$default"})
        api = routes["ANY /api/{proxy+}"]
        self.assertEqual(api["AuthorizationType"], "JWT")
        self.assertEqual(ref_target(api["AuthorizerId"]), "ConsoleJwtAuthorizer")
        # The pages carry the token in a cookie: the function checks it on every call.
        self.assertEqual(routes["$default"]["AuthorizationType"], "NONE")
        authorizer = self.res("ConsoleJwtAuthorizer")["Properties"]
        self.assertEqual(authorizer["AuthorizerType"], "JWT")
        env = self.res("ConsoleFunction")["Properties"]["Environment"]["Variables"]
        # One issuer and one audience for the authorizer and the function.
        self.assertEqual(authorizer["JwtConfiguration"]["Issuer"], env["OIDC_ISSUER"])
        self.assertEqual(authorizer["JwtConfiguration"]["Audience"], [env["OIDC_CLIENT_ID"]])
        self.assertIn("ConsoleIssuer", str(env["OIDC_ISSUER"]))
        self.assertIn("ConsoleUserPool", str(env["OIDC_ISSUER"]))

    def test_the_stack_creates_a_user_pool_only_without_an_issuer(self) -> None:
        self.assertEqual(
            self.template["Conditions"]["ConsoleUserPoolWanted"],
            {"Fn::Equals": [{"Ref": "ConsoleIssuer"}, ""]},
        )
        for name, r in self.template["Resources"].items():
            if r["Type"].startswith("AWS::Cognito::"):
                self.assertEqual(r.get("Condition"), "ConsoleUserPoolWanted", name)
        pool = self.res("ConsoleUserPool")["Properties"]
        self.assertTrue(pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"])
        self.assertEqual(pool["MfaConfiguration"], "ON")
        client = self.res("ConsoleUserPoolClient")["Properties"]
        self.assertEqual(client["AllowedOAuthFlows"], ["code"])
        self.assertFalse(client["GenerateSecret"])

    def test_access_logs_hold_no_path_address_or_agent(self) -> None:
        fmt = self.res("ConsoleStage")["Properties"]["AccessLogSettings"]["Format"]
        for leak in ("path", "sourceIp", "userAgent", "identity", "claims"):
            self.assertNotIn(leak, fmt)

    def test_the_function_may_answer_only_this_state_machines_reviews(self) -> None:
        role = self.res("ConsoleRole")["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        actions = {a for s in role for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
        self.assertNotIn("states:StartExecution", actions)
        self.assertFalse(any(a.startswith("s3:Delete") for a in actions))
        # Its only writes: annotations (a decider closing an escalation) and four-eyes
        # first approvals in the ledger bucket, beside (never over) its ledger.
        writes = {
            str(s["Resource"])
            for s in role
            if any(a.startswith("s3:Put") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
        }
        self.assertEqual(
            writes,
            {
                str({"Fn::Sub": "${ArchiveBucket.Arn}/${ArchivePrefix}annotations/*"}),
                str({"Fn::Sub": "${LedgerBucket.Arn}/console/first-approvals/*"}),
            },
        )
        answer = next(s for s in role if s["Sid"] == "AnswerTheReview")
        self.assertIn("-erasure", str(answer["Resource"]))


class ConsoleBuildTest(unittest.TestCase):
    def features(self, package: str) -> str:
        return subprocess.run(
            ["cargo", "tree", "--offline", "-p", package, "-e", "features", "-i", "console"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def test_the_aws_function_is_built_without_the_local_sign_in(self) -> None:
        self.assertNotIn("local-sign-in", self.features("console-api"))
        # The check can fail: the local binary has it.
        self.assertIn('"local-sign-in"', self.features("gdpr-erasure"))


if __name__ == "__main__":
    unittest.main()
