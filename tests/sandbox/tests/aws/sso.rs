//! The IAM Identity Center device flow and portal, with boto3's `sso-oidc` and `sso` clients.

use rds_sandbox::DeviceApproval;

use crate::helpers::{boto3, start};

/// The device flow up to a pending `CreateToken`; leaves `client`, `device` and `poll` behind.
const DEVICE_FLOW: &str = r#"
oidc = client("sso-oidc")
sso = client("sso")
registered = oidc.register_client(clientName="rds-explorer-test", clientType="public", scopes=["sso:account:access"])
device = oidc.start_device_authorization(clientId=registered["clientId"], clientSecret=registered["clientSecret"], startUrl=os.environ["SANDBOX_ENDPOINT"] + "/start")
def poll():
    return oidc.create_token(clientId=registered["clientId"], clientSecret=registered["clientSecret"], grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=device["deviceCode"])
def role_credentials(token, role="SandboxAdmin"):
    return sso.get_role_credentials(roleName=role, accountId="123456789012", accessToken=token)["roleCredentials"]
out["registered"] = registered
out["device"] = device
"#;

#[test]
fn sso_device_flow_until_tokens_expire() {
    let sandbox = start(DeviceApproval::Manual);
    let out = boto3(
        sandbox.info(),
        &format!("{DEVICE_FLOW}\nout[\"pending\"] = error_of(poll)\n"),
    );
    assert_eq!(out["pending"][0], 400);
    assert_eq!(out["pending"][1], "AuthorizationPendingException");
    let device = &out["device"];
    assert_eq!(device["expiresIn"], 600);
    assert_eq!(device["interval"], 1);
    let user_code = device["userCode"].as_str().unwrap();
    assert_eq!(
        device["verificationUriComplete"],
        format!(
            "{}/device?user_code={user_code}",
            sandbox.info().endpoint_url
        )
    );
    assert!(out["registered"]["clientSecretExpiresAt"].as_i64().unwrap() > 0);
    sandbox.approve(user_code).unwrap();
    assert!(sandbox.approve(user_code).is_err(), "approved twice");

    // A new flow, approved through the control API this time, then the portal.
    let out = boto3(
        sandbox.info(),
        &format!(
            "{DEVICE_FLOW}
out['pending'] = error_of(poll)
out['approve'] = control('/sandbox/approve', {{'user_code': device['userCode']}})
token = poll()
out['token'] = token
out['credentials'] = role_credentials(token['accessToken'])
out['accounts'] = sso.list_accounts(accessToken=token['accessToken'])['accountList']
out['roles'] = sso.list_account_roles(accessToken=token['accessToken'], accountId='123456789012')['roleList']
out['redeemed_again'] = error_of(poll)
out['bad_token'] = error_of(lambda: role_credentials('not-a-token'))
out['no_such_role'] = error_of(lambda: role_credentials(token['accessToken'], 'Nope'))
out['expire'] = control('/sandbox/expire-tokens')
out['expired'] = error_of(lambda: role_credentials(token['accessToken']))
"
        ),
    );
    assert_eq!(out["pending"][1], "AuthorizationPendingException");
    assert_eq!(out["approve"][0], 200);
    assert_eq!(out["token"]["tokenType"], "Bearer");
    assert_eq!(out["token"]["expiresIn"], 28800);
    assert!(out["token"]["refreshToken"].is_string());
    let credentials = &out["credentials"];
    assert!(
        credentials["accessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIA")
    );
    assert!(credentials["sessionToken"].is_string());
    let expiration_millis = credentials["expiration"].as_i64().unwrap();
    assert!(expiration_millis > 1_700_000_000_000, "{expiration_millis}");
    assert_eq!(out["accounts"][0]["accountId"], "123456789012");
    assert_eq!(out["roles"].as_array().unwrap().len(), 2);
    assert_eq!(out["redeemed_again"][1], "InvalidGrantException");
    assert_eq!(out["bad_token"][0], 401);
    assert_eq!(out["bad_token"][1], "UnauthorizedException");
    assert_eq!(out["no_such_role"][1], "ForbiddenException");
    assert_eq!(out["expired"][0], 401);
    assert_eq!(out["expired"][1], "UnauthorizedException");

    // expire_tokens from Rust ends a refreshed session the same way.
    let out = boto3(
        sandbox.info(),
        &format!(
            "{DEVICE_FLOW}
control('/sandbox/approve-all')
token = poll()
out['ok'] = role_credentials(token['accessToken'])['accessKeyId']
"
        ),
    );
    assert!(out["ok"].is_string());
    sandbox.expire_tokens();
    assert_eq!(sandbox.approve_all_pending(), 0);
}

#[test]
fn automatic_approval_issues_a_token_on_the_first_poll() {
    let sandbox = start(DeviceApproval::Automatic);
    let out = boto3(
        sandbox.info(),
        &format!("{DEVICE_FLOW}\nout['token'] = poll()['tokenType']\n"),
    );
    assert_eq!(out["token"], "Bearer");
}
