"""The sandbox's stand-in for RDS's IAM token check, run by pam_exec for members of rds_iam.

    /usr/bin/python3 -I -S iam_verifier.py CONFIG_JSON [--now UNIX_SECONDS]

pam_exec (`expose_authtok`) passes the database user in PAM_USER and the password, i.e. the
token, NUL-terminated on stdin. Exit status 0 accepts the login; anything else rejects it, and
PostgreSQL then answers `PAM authentication failed for user "..."`, as RDS does. The reason for a
rejection goes to stderr (pam_exec's log file); the token itself is never printed.

What is checked, as RDS does (reference: rds-iam-auth.md section 7): the shape
`host:port/?query`; host and port are this server's; Action=connect; DBUser is the PAM user;
the algorithm, service `rds-db`, this server's region and a known access key in the credential
scope; only `host` signed; X-Amz-Expires at most 900; X-Amz-Date not in the future beyond the
allowed skew and not past its expiry; and the SigV4 signature, recomputed from the decoded
parameters with the secret key, compared in constant time.

Written against the SigV4 specification with the standard library only, independently of
RDS Explorer's signer, so the two check each other. CONFIG_JSON is written by the sandbox:
{"host", "port", "region", "max_skew_secs", "credentials": {access key id: secret}}.
"""

import datetime
import hashlib
import hmac
import json
import os
import sys
import time
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "rds-db"
MAX_EXPIRES_SECS = 900
EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()
SIGNATURE = "X-Amz-Signature"
PARAMETERS = {
    "Action",
    "DBUser",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-Security-Token",
    "X-Amz-SignedHeaders",
    SIGNATURE,
}
REQUIRED = PARAMETERS - {"X-Amz-Security-Token"}


class Rejected(Exception):
    """The token is not accepted; the message says why (without the token)."""


def uri_encode(text):
    """SigV4 UriEncode: everything but A-Z a-z 0-9 - _ . ~, as UTF-8 bytes."""
    return quote(text, safe="-_.~", encoding="utf-8", errors="strict")


def uri_decode(text):
    """RFC 3986 percent-decoding: unlike form decoding, `+` stays `+`."""
    try:
        return unquote(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Rejected("a parameter is not UTF-8 once percent-decoded") from None


def parse(token):
    """Splits `host:port/?query` into (host:port, {name: decoded value})."""
    host_port, slash_query, query = token.partition("/?")
    if not slash_query or not host_port or "/" in host_port:
        raise Rejected("the token is not of the form host:port/?query")
    params = {}
    for pair in query.split("&"):
        raw_name, equals, raw_value = pair.partition("=")
        if not equals:
            raise Rejected(f"query part {raw_name[:40]!r} has no value")
        name = uri_decode(raw_name)
        if name not in PARAMETERS:
            raise Rejected(f"unexpected parameter {name[:40]!r}")
        if name in params:
            raise Rejected(f"parameter {name} appears twice")
        params[name] = uri_decode(raw_value)
    missing = sorted(REQUIRED - params.keys())
    if missing:
        raise Rejected(f"missing parameters: {', '.join(missing)}")
    return host_port, params


def hmac_sha256(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signature(secret, amz_date, scope, canonical_request):
    date, region, service, terminator = scope.split("/")
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, terminator):
        key = hmac_sha256(key, part)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def verify(config, user, token, now):
    """Returns normally if `token` lets `user` in at Unix time `now`, else raises Rejected."""
    host_port, params = parse(token)
    expected = f"{config['host']}:{config['port']}"
    if host_port.lower() != expected.lower():
        raise Rejected(f"signed for {host_port}, but this server is {expected}")
    if params["Action"] != "connect":
        raise Rejected(f"Action is {params['Action']!r}, not 'connect'")
    if params["DBUser"] != user:
        raise Rejected(f"signed for user {params['DBUser']!r}, login as {user!r}")
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise Rejected(f"algorithm {params['X-Amz-Algorithm']!r}")
    if params["X-Amz-SignedHeaders"] != "host":
        raise Rejected(f"signed headers {params['X-Amz-SignedHeaders']!r}, not 'host'")

    scope_parts = params["X-Amz-Credential"].split("/")
    if len(scope_parts) != 5:
        raise Rejected("X-Amz-Credential is not key/date/region/service/aws4_request")
    access_key_id, date, region, service, terminator = scope_parts
    if region != config["region"]:
        raise Rejected(f"signed for region {region!r}, this server is in {config['region']!r}")
    if service != SERVICE or terminator != "aws4_request":
        raise Rejected(f"signed for service {service!r}/{terminator!r}, not {SERVICE!r}")
    secret = config["credentials"].get(access_key_id)
    if secret is None:
        raise Rejected(f"unknown access key id {access_key_id!r}")

    amz_date = params["X-Amz-Date"]
    try:
        signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        raise Rejected(f"X-Amz-Date {amz_date!r} is not yyyymmddThhmmssZ") from None
    if amz_date[:8] != date:
        raise Rejected("X-Amz-Date and the credential scope name different days")
    signed_secs = signed_at.replace(tzinfo=datetime.timezone.utc).timestamp()
    expires = params["X-Amz-Expires"]
    if not expires.isascii() or not expires.isdigit() or not 0 < int(expires) <= MAX_EXPIRES_SECS:
        raise Rejected(f"X-Amz-Expires {expires!r} is not 1..{MAX_EXPIRES_SECS}")
    if signed_secs > now + config["max_skew_secs"]:
        raise Rejected(f"signed {signed_secs - now:.0f} s in the future")
    if now > signed_secs + int(expires):
        raise Rejected(f"expired: signed {now - signed_secs:.0f} s ago, valid for {expires} s")

    canonical_query = "&".join(
        f"{name}={value}"
        for name, value in sorted(
            (uri_encode(name), uri_encode(value))
            for name, value in params.items()
            if name != SIGNATURE
        )
    )
    canonical_request = "\n".join(
        ["GET", "/", canonical_query, f"host:{host_port}", "", "host", EMPTY_PAYLOAD_SHA256]
    )
    scope = "/".join([date, region, service, terminator])
    wanted = signature(secret, amz_date, scope, canonical_request)
    if not hmac.compare_digest(wanted.encode("ascii"), params[SIGNATURE].encode("utf-8")):
        raise Rejected("the signature does not match")


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--now"):
        print("usage: iam_verifier.py CONFIG_JSON [--now UNIX_SECONDS]", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as file:
        config = json.load(file)
    now = float(argv[3]) if len(argv) == 4 else time.time()
    user = os.environ.get("PAM_USER", "")
    pam_type = os.environ.get("PAM_TYPE", "auth")
    raw = sys.stdin.buffer.read().split(b"\0", 1)[0]
    try:
        if pam_type != "auth":
            raise Rejected(f"PAM_TYPE is {pam_type!r}; only the auth stack runs this")
        try:
            token = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejected("the password is not UTF-8") from None
        verify(config, user, token, now)
    except Rejected as rejected:
        print(f"rds-sandbox IAM: rejected {user!r}: {rejected}", file=sys.stderr)
        return 1
    print(f"rds-sandbox IAM: accepted {user!r}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
