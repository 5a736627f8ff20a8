#!/usr/bin/env python3
"""A Keycard API client in another language, with Python's standard library
only: it logs in, asks who it is, refreshes, lists its devices, logs out,
and checks that the old token is refused afterwards.

    python3 client.py BASE_URL USERNAME   (the password on stdin)

Exit status 0 when every step behaved as docs/api.md says; otherwise it
prints what went wrong and exits 1.
"""

import http.cookiejar
import json
import sys
import urllib.error
import urllib.request


class Client:
    def __init__(self, base):
        self.base = base.rstrip("/")
        # An API client keeps no cookies, but a jar shows whether the API
        # tried to set one (it must not: API sessions travel as Bearer).
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, method, path, body=None, token=None):
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=10) as res:
                raw = res.read()
                return res.status, json.loads(raw) if raw else None, res.headers
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw else None, e.headers


def expect(what, status, body, want_status, want_code=None):
    if status != want_status:
        sys.exit(f"{what}: got {status} {body}, want {want_status}")
    if want_code is not None and (body or {}).get("error", {}).get("code") != want_code:
        sys.exit(f"{what}: got {body}, want error code {want_code}")
    print(f"ok  {what}: {status}")


def main():
    base, username = sys.argv[1], sys.argv[2]
    password = sys.stdin.readline().rstrip("\n")
    c = Client(base)

    status, body, _ = c.call("POST", "/v1/login", {"username": username, "password": "not the password"})
    expect("login with a wrong password", status, body, 401, "invalid_credentials")

    status, creds, _ = c.call("POST", "/v1/login", {"username": username, "password": password})
    expect("login", status, creds, 201)
    token, refresh = creds["token"], creds["refresh_token"]
    if creds["session"]["subject"] != username or creds["session"]["kind"] != "api":
        sys.exit(f"login: unexpected session {creds['session']}")

    status, me, headers = c.call("GET", "/v1/session", token=token)
    expect("whoami", status, me, 200)
    if me["id"] != creds["session"]["id"] or "no-store" not in headers.get("Cache-Control", ""):
        sys.exit(f"whoami: {me} {dict(headers)}")

    status, fresh, _ = c.call("POST", "/v1/session/refresh", {"refresh_token": refresh})
    expect("refresh", status, fresh, 200)
    if fresh["token"] == token or fresh["refresh_token"] == refresh or fresh["session"]["id"] != me["id"]:
        sys.exit(f"refresh did not rotate the tokens: {fresh['session']}")
    token = fresh["token"]

    status, devices, _ = c.call("GET", "/v1/session/devices", token=token)
    expect("devices", status, devices, 200)
    current = [d for d in devices["devices"] if d["current"]]
    if len(current) != 1 or current[0]["id"] != me["id"]:
        sys.exit(f"devices: the current session is not marked once: {devices}")

    status, body, _ = c.call("DELETE", "/v1/session", token=token)
    expect("logout", status, body, 204)

    status, body, _ = c.call("GET", "/v1/session", token=token)
    expect("whoami after logout", status, body, 401, "invalid_token")
    status, body, _ = c.call("POST", "/v1/session/refresh", {"refresh_token": fresh["refresh_token"]})
    expect("refresh after logout", status, body, 401, "invalid_token")

    if len(c.jar) != 0:
        sys.exit(f"the API set cookies on an API client: {[k.name for k in c.jar]}")
    print("all steps passed")


if __name__ == "__main__":
    main()
