//! `/sandbox/…`: the control API for tests and scripts written in anything but Rust (Rust tests
//! call the same operations as [`crate::AwsSandbox`] methods). All `POST` with a JSON body:
//!
//! | path | body | effect |
//! | --- | --- | --- |
//! | `/sandbox/deny` | `{"action": "DescribeDBProxies"}` | that action answers `AccessDenied` |
//! | `/sandbox/allow` | `{"action": …}` | undoes `deny` |
//! | `/sandbox/approve` | `{"user_code": "ABCD-EFGH"}` | approves it (404: none pending) |
//! | `/sandbox/approve-all` | | approves every pending one; answers `{"approved": n}` |
//! | `/sandbox/expire-tokens` | | every SSO access and refresh token stops working |
//! | `/sandbox/ssm-faults` | `SsmFaults` JSON (missing fields: off) | fault knobs of new SSM sessions |
//! | `/sandbox/ssm-sessions` | | answers the records of every SSM session |

use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::lock;
use super::{Ctx, FrontRequest, FrontResponse, response};

#[derive(Deserialize)]
struct ActionBody {
    action: String,
}

#[derive(Deserialize)]
struct ApproveBody {
    user_code: String,
}

fn answer(status: StatusCode, body: &Value) -> FrontResponse {
    response(status, "application/json", body.to_string())
}

fn bad_request(message: &str) -> FrontResponse {
    answer(StatusCode::BAD_REQUEST, &json!({ "error": message }))
}

/// Runs the control command `command` (the path after `/sandbox/`).
pub(crate) fn handle(ctx: &Ctx, request: &FrontRequest, command: &str) -> FrontResponse {
    if request.method != Method::POST {
        return answer(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({ "error": "control calls are POST" }),
        );
    }
    match command {
        "deny" | "allow" => {
            let Ok(body) = serde_json::from_slice::<ActionBody>(&request.body) else {
                return bad_request("expected {\"action\": \"<Action>\"}");
            };
            let mut state = lock(&ctx.state);
            if command == "deny" {
                state.deny(&body.action);
            } else {
                state.allow(&body.action);
            }
            answer(StatusCode::OK, &json!({}))
        }
        "approve" => {
            let Ok(body) = serde_json::from_slice::<ApproveBody>(&request.body) else {
                return bad_request("expected {\"user_code\": \"ABCD-EFGH\"}");
            };
            if lock(&ctx.state).identity_center.approve(&body.user_code) {
                answer(StatusCode::OK, &json!({}))
            } else {
                let message = format!(
                    "no pending device authorization with user code {}",
                    body.user_code
                );
                answer(StatusCode::NOT_FOUND, &json!({ "error": message }))
            }
        }
        "approve-all" => {
            let approved = lock(&ctx.state).identity_center.approve_all_pending();
            answer(StatusCode::OK, &json!({ "approved": approved }))
        }
        "ssm-faults" => {
            let Ok(faults) = serde_json::from_slice::<crate::SsmFaults>(&request.body) else {
                return bad_request("expected SsmFaults JSON, e.g. {\"loss_percent\": 5}");
            };
            lock(&ctx.state).ssm.faults = faults;
            answer(StatusCode::OK, &json!({}))
        }
        "ssm-sessions" => {
            let records = lock(&ctx.state).ssm.records();
            answer(StatusCode::OK, &json!({ "sessions": records }))
        }
        "expire-tokens" => {
            lock(&ctx.state).identity_center.expire_tokens();
            answer(StatusCode::OK, &json!({}))
        }
        _ => answer(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("unknown control command {command:?}") }),
        ),
    }
}
