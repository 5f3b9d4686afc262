//! Database credentials from AWS Secrets Manager: the RDS-managed master user secret of an
//! instance or cluster (its ARN is in the inventory), or any secret holding the JSON RDS uses,
//! `{"username": …, "password": …, "host"?, "port"?, "dbname"?, "engine"?}`.
//!
//! The password goes straight into a [`Secret`]; no error message, log line or `Debug` output
//! ever holds the secret's text (a JSON error says where, never what).

use aws_config::SdkConfig;

use super::error::AwsCallError;
use crate::jobs::UserError;
use crate::secret::Secret;

/// The IAM action the fetch needs, named in errors so it can be granted.
const GET_SECRET_VALUE: &str = "secretsmanager:GetSecretValue";

/// Credentials read from a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbCredentials {
    /// `username`.
    pub user: String,
    /// `password`.
    pub password: Secret,
    /// `host`, when the secret has it.
    pub host: Option<String>,
    /// `port`, when the secret has it (a number or a numeric string).
    pub port: Option<u16>,
    /// `dbname`, when the secret has it.
    pub database: Option<String>,
    /// `engine`, when the secret has it.
    pub engine: Option<String>,
}

/// Why no credentials came out of a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// `GetSecretValue` failed (access denied, not found, KMS decryption…).
    #[error("cannot read the secret {secret_id}")]
    Fetch {
        /// The secret's ARN or name.
        secret_id: String,
        /// The AWS error.
        #[source]
        source: AwsCallError,
    },
    /// The secret holds binary data, not text.
    #[error("the secret {secret_id} holds binary data, not username/password JSON")]
    NotText {
        /// The secret's ARN or name.
        secret_id: String,
    },
    /// The text is not a JSON object.
    #[error("the secret {secret_id} is not a JSON object (error at line {line}, column {column})")]
    NotJson {
        /// The secret's ARN or name.
        secret_id: String,
        /// Where parsing failed.
        line: usize,
        /// Where parsing failed.
        column: usize,
    },
    /// A required field is missing or not a string.
    #[error("the secret {secret_id} has no text field \"{field}\"")]
    MissingField {
        /// The secret's ARN or name.
        secret_id: String,
        /// `username` or `password`.
        field: &'static str,
    },
}

impl SecretError {
    /// What the user can do about it.
    pub fn next_step(&self) -> String {
        match self {
            Self::Fetch { secret_id, source } => match source.kind {
                super::error::AwsErrorKind::AccessDenied => format!(
                    "Your role needs {GET_SECRET_VALUE} on {secret_id} (and kms:Decrypt on its \
                     KMS key); ask an admin, or use IAM or password authentication"
                ),
                _ => format!(
                    "{} (check that {secret_id} exists in the database's region)",
                    source.next_step()
                ),
            },
            Self::NotText { .. } | Self::NotJson { .. } | Self::MissingField { .. } => {
                "Choose a secret in the RDS format: a JSON object with \"username\" and \
                 \"password\" (the RDS-managed master user secret has it)"
                    .to_owned()
            }
        }
    }

    /// As shown in the jobs panel.
    pub fn to_user_error(&self) -> UserError {
        UserError::from_error(self, self.next_step())
    }
}

/// The region in a secret ARN (`arn:aws:secretsmanager:<region>:…`): the client must use it.
pub fn region_of_secret_arn(secret_arn: &str) -> Option<&str> {
    let mut parts = secret_arn.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some("secretsmanager"), Some(region)) if !region.is_empty() => {
            Some(region)
        }
        _ => None,
    }
}

/// Reads the secret `secret_id` (ARN or name) with `config`, which must be for the secret's
/// region, and parses its credentials.
pub async fn fetch_db_credentials(
    config: &SdkConfig,
    secret_id: &str,
) -> Result<DbCredentials, SecretError> {
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let output = aws_sdk_secretsmanager::Client::new(config)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|error| SecretError::Fetch {
            secret_id: secret_id.to_owned(),
            source: AwsCallError::from_sdk(GET_SECRET_VALUE, &region, &error),
        })?;
    // The SDK's output prints its secret as `*** Sensitive Data Redacted ***`; still, move the
    // text into a Secret at once.
    let text = output
        .secret_string()
        .map(|text| Secret::new(text.to_owned()))
        .ok_or_else(|| SecretError::NotText {
            secret_id: secret_id.to_owned(),
        })?;
    parse_db_credentials(secret_id, &text)
}

/// Parses RDS-format secret JSON.
pub fn parse_db_credentials(secret_id: &str, text: &Secret) -> Result<DbCredentials, SecretError> {
    let value: serde_json::Value =
        serde_json::from_str(text.expose()).map_err(|error| SecretError::NotJson {
            secret_id: secret_id.to_owned(),
            line: error.line(),
            column: error.column(),
        })?;
    let Some(object) = value.as_object() else {
        return Err(SecretError::NotJson {
            secret_id: secret_id.to_owned(),
            line: 1,
            column: 1,
        });
    };
    let text_field = |name: &str| {
        object
            .get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let required = |field: &'static str| {
        text_field(field).ok_or_else(|| SecretError::MissingField {
            secret_id: secret_id.to_owned(),
            field,
        })
    };
    let port = object.get("port").and_then(|port| match port {
        serde_json::Value::Number(number) => number.as_u64().and_then(|n| u16::try_from(n).ok()),
        serde_json::Value::String(text) => text.parse().ok(),
        _ => None,
    });
    Ok(DbCredentials {
        user: required("username")?,
        password: Secret::new(required("password")?),
        host: text_field("host"),
        port,
        database: text_field("dbname"),
        engine: text_field("engine"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-abc-AbCdEf";

    #[test]
    fn rds_format_secrets_parse_and_hide_the_password() {
        let text = Secret::from(
            r#"{"engine":"postgres","host":"db.abc.eu-west-1.rds.amazonaws.com","port":5432,
               "username":"app","password":"s3cr3t\"pw","dbname":"shop"}"#,
        );
        let credentials = parse_db_credentials(ARN, &text).unwrap();
        assert_eq!(credentials.user, "app");
        assert_eq!(credentials.password.expose(), "s3cr3t\"pw");
        assert_eq!(credentials.port, Some(5432));
        assert_eq!(credentials.database.as_deref(), Some("shop"));
        assert!(!format!("{credentials:?}").contains("s3cr3t"));

        // The RDS-managed master user secret has only these two.
        let managed = Secret::from(r#"{"username":"admin","password":"x","port":"3306"}"#);
        let credentials = parse_db_credentials(ARN, &managed).unwrap();
        assert_eq!((credentials.host, credentials.port), (None, Some(3306)));
    }

    #[test]
    fn bad_secrets_say_what_is_wrong_without_the_content() {
        let cases = [
            ("not json hunter2", "not a JSON object"),
            ("[\"hunter2\"]", "not a JSON object"),
            (r#"{"password":"hunter2"}"#, "\"username\""),
            (r#"{"username":"app","password":42}"#, "\"password\""),
        ];
        for (text, expected) in cases {
            let error = parse_db_credentials(ARN, &Secret::from(text)).unwrap_err();
            let shown = error.to_user_error().to_string();
            assert!(shown.contains(expected), "{shown}");
            assert!(shown.contains("\"username\" and"), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }

    #[test]
    fn the_region_comes_from_the_arn() {
        assert_eq!(region_of_secret_arn(ARN), Some("eu-west-1"));
        assert_eq!(region_of_secret_arn("my-secret"), None);
        assert_eq!(region_of_secret_arn("arn:aws:s3:::bucket"), None);
    }
}
