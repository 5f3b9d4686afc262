//! The three Session Manager API calls a tunnel makes, with errors turned into
//! [`AwsCallError`]s at this boundary.

use aws_sdk_ssm::Client;
use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;

use super::TunnelError;
use crate::aws::error::AwsCallError;
use crate::secret::Secret;

/// What `StartSession` / `ResumeSession` grant: where to connect and with which token.
#[derive(Debug, Clone)]
pub(crate) struct SessionGrant {
    pub(crate) session_id: String,
    pub(crate) token: Secret,
    pub(crate) stream_url: String,
}

/// What `ResumeSession` grants: a new token, and a new URL if the service gave one.
#[derive(Debug, Clone)]
pub(crate) struct Resumed {
    pub(crate) token: Secret,
    pub(crate) stream_url: Option<String>,
}

/// `StartSession` parameters.
#[derive(Debug, Clone)]
pub(crate) struct StartRequest {
    pub(crate) target: String,
    pub(crate) document_name: &'static str,
    pub(crate) parameters: Vec<(&'static str, String)>,
}

/// The SSM client of one tunnel.
#[derive(Debug, Clone)]
pub(crate) struct SessionApi {
    client: Client,
    region: String,
}

impl SessionApi {
    pub(crate) fn new(client: Client, region: String) -> Self {
        Self { client, region }
    }

    pub(crate) async fn start(&self, request: &StartRequest) -> Result<SessionGrant, TunnelError> {
        let mut call = self
            .client
            .start_session()
            .target(&request.target)
            .document_name(request.document_name)
            .reason("RDS Explorer tunnel");
        for (name, value) in &request.parameters {
            call = call.parameters(*name, vec![value.clone()]);
        }
        let output = call
            .send()
            .await
            .map_err(|error| AwsCallError::from_sdk("ssm:StartSession", &self.region, &error))?;
        grant(
            "ssm:StartSession",
            output.session_id(),
            output.token_value(),
            output.stream_url(),
        )
    }

    /// A new token and maybe a new URL; `Ok(None)` when the session is over.
    pub(crate) async fn resume(&self, session_id: &str) -> Result<Option<Resumed>, TunnelError> {
        let output = match self
            .client
            .resume_session()
            .session_id(session_id)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if error.code() == Some("DoesNotExistException") => return Ok(None),
            Err(error) => {
                return Err(
                    AwsCallError::from_sdk("ssm:ResumeSession", &self.region, &error).into(),
                );
            }
        };
        let Some(token) = output.token_value().filter(|token| !token.is_empty()) else {
            return Ok(None);
        };
        Ok(Some(Resumed {
            token: Secret::new(token.to_owned()),
            stream_url: output
                .stream_url()
                .filter(|url| !url.is_empty())
                .map(str::to_owned),
        }))
    }

    pub(crate) async fn terminate(&self, session_id: &str) -> Result<(), TunnelError> {
        self.client
            .terminate_session()
            .session_id(session_id)
            .send()
            .await
            .map_err(|error| {
                AwsCallError::from_sdk("ssm:TerminateSession", &self.region, &error)
            })?;
        Ok(())
    }
}

fn grant(
    api: &'static str,
    session_id: Option<&str>,
    token: Option<&str>,
    stream_url: Option<&str>,
) -> Result<SessionGrant, TunnelError> {
    let missing = |what| TunnelError::IncompleteAnswer { api, what };
    Ok(SessionGrant {
        session_id: session_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| missing("a session id"))?
            .to_owned(),
        token: Secret::new(
            token
                .filter(|token| !token.is_empty())
                .ok_or_else(|| missing("a token"))?
                .to_owned(),
        ),
        stream_url: stream_url
            .filter(|url| !url.is_empty())
            .ok_or_else(|| missing("a stream URL"))?
            .to_owned(),
    })
}
