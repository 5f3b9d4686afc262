//! Opening the data-channel websocket (reference §1.2–§1.3): TLS with our rustls configuration
//! (`wss://`, public certificates) or plain `ws://` for loopback URLs only (the sandbox's fake
//! service), the upgrade request SigV4-signed for `ssmmessages` as plugin 1.2.764.0 does, then
//! the `OpenDataChannelInput` text frame carrying the token.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials as _, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use futures_util::SinkExt as _;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, Uri};
use uuid::Uuid;

use super::TunnelError;
use crate::secret::Secret;
use crate::tunnel::ssm::payload::OpenDataChannelInput;
use crate::tunnel::ssm::version::CLIENT_VERSION;

/// How long the TCP connect, TLS and websocket handshakes may take together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A byte stream the websocket runs on: TLS or, for loopback, plain TCP.
pub(super) trait Io: AsyncRead + AsyncWrite + Send + Sync + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin> Io for T {}

/// The data-channel websocket.
pub(super) type Ws = WebSocketStream<Box<dyn Io>>;

/// How the upgrade request is signed: the session's region and the profile's credentials.
#[derive(Clone, Debug)]
pub(super) struct Signer {
    pub(super) region: String,
    pub(super) credentials: Option<SharedCredentialsProvider>,
}

/// Everything a (re)connect needs besides the URL and token.
#[derive(Clone, Debug)]
pub(super) struct Connector {
    pub(super) client_id: Uuid,
    pub(super) signer: Signer,
    pub(super) tls: Arc<rustls::ClientConfig>,
}

struct Target {
    host: String,
    port: u16,
    tls: bool,
}

fn parse(url: &str) -> Result<(Uri, Target), TunnelError> {
    let bad = |reason: &str| TunnelError::BadStreamUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let host = uri
        .host()
        .ok_or_else(|| bad("no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let tls = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") => {
            let loopback = host == "localhost"
                || host
                    .parse::<IpAddr>()
                    .is_ok_and(|address| address.is_loopback());
            if !loopback {
                return Err(bad(
                    "plain ws:// is accepted for loopback addresses only; the service uses wss://",
                ));
            }
            false
        }
        _ => return Err(bad("the scheme must be wss://")),
    };
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    Ok((uri, Target { host, port, tls }))
}

impl Connector {
    /// Opens the websocket at `url` and authenticates with `token`.
    pub(super) async fn connect(&self, url: &str, token: &Secret) -> Result<Ws, TunnelError> {
        let (uri, target) = parse(url)?;
        let failed = |reason: String| TunnelError::Websocket {
            host: target.host.clone(),
            reason,
        };
        let mut request = url
            .into_client_request()
            .map_err(|error| failed(error.to_string()))?;
        for (name, value) in self.signed_headers(&uri).await {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                request.headers_mut().insert(name, value);
            }
        }
        let connect = async {
            let tcp = TcpStream::connect((target.host.as_str(), target.port))
                .await
                .map_err(|error| failed(format!("TCP connect to port {}: {error}", target.port)))?;
            // Small messages both ways; batching happens in the data channel, not in TCP.
            tcp.set_nodelay(true)
                .map_err(|error| failed(error.to_string()))?;
            let stream: Box<dyn Io> = if target.tls {
                let name = ServerName::try_from(target.host.clone())
                    .map_err(|error| failed(format!("bad TLS server name: {error}")))?;
                let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
                    .connect(name, tcp)
                    .await
                    .map_err(|error| failed(format!("TLS: {error}")))?;
                Box::new(tls)
            } else {
                Box::new(tcp)
            };
            let (mut ws, _response) = tokio_tungstenite::client_async(request, stream)
                .await
                .map_err(|error| failed(format!("websocket upgrade: {error}")))?;
            let open = OpenDataChannelInput {
                request_id: Uuid::new_v4(),
                token_value: token.clone(),
                client_id: self.client_id,
                client_version: CLIENT_VERSION.to_owned(),
            };
            let json = open.to_json().map_err(|error| failed(error.to_string()))?;
            ws.send(Message::text(json))
                .await
                .map_err(|error| failed(format!("sending the token frame: {error}")))?;
            Ok(ws)
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| failed(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
    }

    /// SigV4 headers for the upgrade (`GET` of the URL, empty body, service `ssmmessages`).
    /// Without credentials the upgrade goes unsigned, as the plugin does.
    async fn signed_headers(&self, uri: &Uri) -> Vec<(String, String)> {
        let Some(provider) = &self.signer.credentials else {
            return Vec::new();
        };
        let credentials = match provider.provide_credentials().await {
            Ok(credentials) => credentials,
            Err(error) => {
                tracing::warn!("opening the data channel unsigned: no credentials: {error}");
                return Vec::new();
            }
        };
        let identity = Identity::from(credentials);
        let Some(authority) = uri.authority() else {
            return Vec::new();
        };
        // The canonical request ignores the scheme; the https form parses everywhere.
        let https = format!(
            "https://{authority}{}",
            uri.path_and_query().map_or("/", |path| path.as_str())
        );
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.signer.region)
            .name("ssmmessages")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build();
        let params = match params {
            Ok(params) => params.into(),
            Err(error) => {
                tracing::warn!("opening the data channel unsigned: {error}");
                return Vec::new();
            }
        };
        let headers = [("host", authority.as_str())];
        let signed =
            SignableRequest::new("GET", &https, headers.into_iter(), SignableBody::Bytes(&[]))
                .and_then(|signable| sign(signable, &params));
        match signed {
            Ok(output) => output
                .output()
                .headers()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
            Err(error) => {
                tracing::warn!("opening the data channel unsigned: {error}");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_websockets_are_for_loopback_only() {
        let (_, target) =
            parse("wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/s-1?role=x").unwrap();
        assert!(target.tls);
        assert_eq!(target.port, 443);
        let (_, target) = parse("ws://127.0.0.1:8080/v1/data-channel/s").unwrap();
        assert!(!target.tls);
        assert_eq!((target.host.as_str(), target.port), ("127.0.0.1", 8080));
        assert!(parse("ws://[::1]:1/x").is_ok());
        for refused in [
            "ws://example.com/x",
            "ws://10.0.0.1/x",
            "http://127.0.0.1/x",
        ] {
            let error = parse(refused).err().unwrap();
            assert!(
                matches!(error, TunnelError::BadStreamUrl { .. }),
                "{refused}"
            );
        }
    }
}
