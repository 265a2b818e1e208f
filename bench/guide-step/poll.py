"""The Poll step as the how-to guide writes it: Python with requests.

`poll_gdpr_request` is the guide's function unchanged (its path is the real one); the
guide passes a token in and leaves out where it comes from, so `get_token` does the
client-credentials grant of the real contract (POST <login>/oauth/token, Basic auth,
form body). The handler does what the Rust sample does: one token, one GET.

Configuration (function environment): GENESYS_BASE_URL (API base; the emulator also
serves the token endpoint there), GENESYS_LOGIN_URL (optional, token base),
GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET. Input: {"requestId": ...}. Output:
{"requestId", "status"}. Nothing personal is logged.
"""

import os

import requests


def get_token(login_url: str, client_id: str, client_secret: str) -> str:
    resp = requests.post(
        f"{login_url}/oauth/token",
        auth=(client_id, client_secret),
        data={"grant_type": "client_credentials"},
    )
    resp.raise_for_status()
    return resp.json()["access_token"]


def poll_gdpr_request(request_id: str, access_token: str, base_url: str) -> dict:
    headers = {"Authorization": f"Bearer {access_token}"}
    resp = requests.get(f"{base_url}/api/v2/gdpr/requests/{request_id}", headers=headers)
    resp.raise_for_status()
    return resp.json()


def handler(event, context):
    base_url = os.environ["GENESYS_BASE_URL"]
    login_url = os.environ.get("GENESYS_LOGIN_URL", base_url)
    token = get_token(login_url, os.environ["GENESYS_CLIENT_ID"], os.environ["GENESYS_CLIENT_SECRET"])
    request = poll_gdpr_request(event["requestId"], token, base_url)
    return {"requestId": request["id"], "status": request["status"]}
