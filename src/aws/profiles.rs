//! AWS profiles from the shared config and credentials files, the same files the AWS CLI reads
//! (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and
//! `~/.aws/credentials`), with each profile's kind, region and `endpoint_url`.
//!
//! Hand-written because the SDK's parser rejects a whole file on one bad line; here a bad line is
//! reported with its file and line number and every other profile still loads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a profile gets its credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileKind {
    /// `aws_access_key_id` / `aws_secret_access_key` in a file.
    StaticKeys,
    /// IAM Identity Center (`sso_session` or legacy `sso_start_url`).
    Sso,
    /// `role_arn` with `source_profile` or `credential_source`.
    AssumeRole,
    /// `credential_process`.
    CredentialProcess,
    /// `role_arn` with `web_identity_token_file`.
    WebIdentity,
    /// Nothing that yields credentials (region-only profile, or a typo).
    NoCredentials,
}

impl ProfileKind {
    /// A short label for lists.
    pub fn label(self) -> &'static str {
        match self {
            Self::StaticKeys => "static keys",
            Self::Sso => "SSO",
            Self::AssumeRole => "assume role",
            Self::CredentialProcess => "credential process",
            Self::WebIdentity => "web identity",
            Self::NoCredentials => "no credentials",
        }
    }
}

/// One profile, merged from both files.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Profile {
    /// The profile name (`default` for `[default]`).
    pub name: String,
    /// How it gets credentials.
    pub kind: ProfileKind,
    /// Its `region`, if set.
    pub region: Option<String>,
    /// Its `endpoint_url`, if set (LocalStack, moto, VPC endpoints).
    pub endpoint_url: Option<String>,
    /// Where to sign in, for SSO profiles.
    pub sso: Option<SsoLogin>,
}

/// Where and how an SSO profile signs in: from its `[sso-session …]` section, or the legacy
/// `sso_start_url` / `sso_region` keys of the profile itself.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SsoLogin {
    /// The `sso-session` name (`None` for a legacy profile). Names the token cache file.
    pub session: Option<String>,
    /// The AWS access portal URL.
    pub start_url: String,
    /// The Identity Center region.
    pub region: String,
    /// `sso_registration_scopes` (the default is `sso:account:access`).
    pub scopes: Vec<String>,
}

impl SsoLogin {
    /// The name of the token cache file the AWS CLI and SDKs share:
    /// `sha1(session name)` or, for legacy profiles, `sha1(start URL)`, as hex, `.json`.
    pub fn cache_file_name(&self) -> String {
        use sha1::Digest as _;
        use std::fmt::Write as _;
        let key = self.session.as_deref().unwrap_or(&self.start_url);
        let digest = sha1::Sha1::digest(key.as_bytes());
        let hex = digest
            .iter()
            .fold(String::with_capacity(40), |mut hex, byte| {
                let _ = write!(hex, "{byte:02x}");
                hex
            });
        format!("{hex}.json")
    }
}

/// A line of a profile file that could not be used.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FileProblem {
    /// The file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, and what was done (`ignored`).
    pub message: String,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// The two files profiles come from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AwsFiles {
    /// The shared config file.
    pub config: PathBuf,
    /// The shared credentials file.
    pub credentials: PathBuf,
}

impl AwsFiles {
    /// The files the AWS CLI would read in this environment.
    pub fn from_env() -> Self {
        let home = directories::BaseDirs::new()
            .map_or_else(|| PathBuf::from("."), |dirs| dirs.home_dir().to_path_buf());
        let from = |var: &str, default: &str| {
            std::env::var_os(var)
                .filter(|value| !value.is_empty())
                .map_or_else(|| home.join(".aws").join(default), PathBuf::from)
        };
        Self {
            config: from("AWS_CONFIG_FILE", "config"),
            credentials: from("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        }
    }
}

/// All profiles found, the problems met, and the profile `AWS_PROFILE` asks for.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ProfileList {
    /// Profiles sorted by name, `default` first.
    pub profiles: Vec<Profile>,
    /// Lines that could not be used (and unreadable files, as line 0).
    pub problems: Vec<FileProblem>,
    /// `AWS_PROFILE`, when set.
    pub env_profile: Option<String>,
    /// The files that were read.
    pub files: AwsFiles,
}

/// Reads both files. Missing files are fine (no profiles from them); anything else is a problem
/// entry, never a failure.
pub fn load_profiles(files: &AwsFiles) -> ProfileList {
    let mut problems = Vec::new();
    let mut merged: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut sessions: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (path, kind) in [
        (&files.config, FileKind::Config),
        (&files.credentials, FileKind::Credentials),
    ] {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => {
                problems.push(FileProblem {
                    file: path.clone(),
                    line: 0,
                    message: format!("cannot read the file: {error}"),
                });
                continue;
            }
        };
        // The credentials file is read second, so its keys win, as in the AWS SDKs.
        for (section, properties) in parse(&text, kind, path, &mut problems) {
            let target = match section {
                SectionKey::Profile(name) => merged.entry(name),
                SectionKey::SsoSession(name) => sessions.entry(name),
            };
            target.or_default().extend(properties);
        }
    }
    let mut profiles: Vec<Profile> = merged
        .into_iter()
        .map(|(name, properties)| Profile {
            kind: kind_of(&properties),
            region: properties.get("region").cloned(),
            endpoint_url: properties.get("endpoint_url").cloned(),
            sso: sso_login(&properties, &sessions),
            name,
        })
        .collect();
    profiles.sort_by(|a, b| (a.name != "default", &a.name).cmp(&(b.name != "default", &b.name)));
    let env_profile = std::env::var("AWS_PROFILE")
        .ok()
        .filter(|value| !value.is_empty());
    ProfileList {
        profiles,
        problems,
        env_profile,
        files: files.clone(),
    }
}

fn sso_login(
    properties: &BTreeMap<String, String>,
    sessions: &BTreeMap<String, BTreeMap<String, String>>,
) -> Option<SsoLogin> {
    let (session, source) = match properties.get("sso_session") {
        Some(name) => (Some(name.clone()), sessions.get(name)?),
        None => (None, properties),
    };
    let scopes = source.get("sso_registration_scopes").map_or_else(
        || vec!["sso:account:access".to_owned()],
        |scopes| {
            scopes
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        },
    );
    Some(SsoLogin {
        session,
        start_url: source.get("sso_start_url")?.clone(),
        region: source.get("sso_region")?.clone(),
        scopes,
    })
}

fn kind_of(properties: &BTreeMap<String, String>) -> ProfileKind {
    let has = |key: &str| properties.get(key).is_some_and(|value| !value.is_empty());
    if has("web_identity_token_file") {
        ProfileKind::WebIdentity
    } else if has("role_arn") {
        ProfileKind::AssumeRole
    } else if has("sso_session") || has("sso_start_url") {
        ProfileKind::Sso
    } else if has("credential_process") {
        ProfileKind::CredentialProcess
    } else if has("aws_access_key_id") {
        ProfileKind::StaticKeys
    } else {
        ProfileKind::NoCredentials
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Config,
    Credentials,
}

/// Where properties of the current section go.
enum Section {
    /// A profile or sso-session section, whose properties we keep.
    Kept,
    /// `[services …]` and sections we report and skip.
    Other,
}

/// A section whose properties we keep.
enum SectionKey {
    Profile(String),
    SsoSession(String),
}

/// Parses one file into (profile name, properties) pairs, in file order.
fn parse(
    text: &str,
    kind: FileKind,
    path: &Path,
    problems: &mut Vec<FileProblem>,
) -> Vec<(SectionKey, BTreeMap<String, String>)> {
    let mut out: Vec<(SectionKey, BTreeMap<String, String>)> = Vec::new();
    let mut section: Option<Section> = None;
    let mut in_property = false;
    let mut problem = |line: usize, message: String| {
        problems.push(FileProblem {
            file: path.to_path_buf(),
            line,
            message,
        });
    };
    for (index, raw) in text.lines().enumerate() {
        let line_number = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            // Continuation: a sub-property (`s3 =` then indented keys). We need none of them.
            if !in_property {
                problem(
                    line_number,
                    "indented line outside a property; ignored".into(),
                );
            }
            continue;
        }
        if let Some(header) = trimmed.strip_prefix('[') {
            in_property = false;
            section = Some(match parse_header(header, kind) {
                Ok(Some(name)) => {
                    out.push((name, BTreeMap::new()));
                    Section::Kept
                }
                Ok(None) => Section::Other,
                Err(message) => {
                    problem(line_number, message);
                    Section::Other
                }
            });
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            problem(
                line_number,
                format!(
                    "expected `key = value`, found `{}`; ignored",
                    redact(trimmed)
                ),
            );
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() {
            problem(line_number, "property without a name; ignored".into());
            continue;
        }
        in_property = true;
        match &section {
            Some(Section::Kept) => {
                if let Some((_, properties)) = out.last_mut() {
                    properties.insert(key, strip_inline_comment(value).to_owned());
                }
            }
            Some(Section::Other) => {}
            None => problem(
                line_number,
                format!("`{key}` is outside any [section]; ignored"),
            ),
        }
    }
    out
}

/// Parses the text after `[`. `Ok(None)` is a valid section that holds no profile.
fn parse_header(header: &str, kind: FileKind) -> Result<Option<SectionKey>, String> {
    let Some((inside, after)) = header.split_once(']') else {
        return Err("section header has no closing `]`; its properties are ignored".into());
    };
    let after = after.trim();
    if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
        return Err(format!(
            "unexpected text `{after}` after the section header; section ignored"
        ));
    }
    let inside = inside.trim();
    if kind == FileKind::Credentials {
        return if inside.is_empty() {
            Err("empty profile name; section ignored".into())
        } else {
            Ok(Some(SectionKey::Profile(inside.to_owned())))
        };
    }
    let mut words = inside.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("default"), None, _) => Ok(Some(SectionKey::Profile("default".into()))),
        (Some("profile"), Some(name), None) => Ok(Some(SectionKey::Profile(name.to_owned()))),
        (Some("sso-session"), Some(name), None) => {
            Ok(Some(SectionKey::SsoSession(name.to_owned())))
        }
        (Some("services"), Some(_), None) => Ok(None),
        (Some(name), None, _) => Err(format!(
            "section [{name}] is ignored: in the config file a profile is written [profile {name}]"
        )),
        _ => Err(format!(
            "section [{inside}] is not a profile, sso-session or services section; ignored"
        )),
    }
}

/// Drops a trailing ` # comment` or ` ; comment` (a `#` needs white space before it, so values
/// such as URLs with fragments keep theirs).
fn strip_inline_comment(value: &str) -> &str {
    let value = value.trim();
    let mut previous_is_space = false;
    for (at, ch) in value.char_indices() {
        if (ch == '#' || ch == ';') && previous_is_space {
            return value[..at].trim_end();
        }
        previous_is_space = ch.is_whitespace();
    }
    value
}

/// Shows the start of a bad line without what could be a secret key pasted on it.
fn redact(line: &str) -> String {
    let shown: String = line.chars().take(12).collect();
    if line.chars().count() > 12 {
        format!("{shown}…")
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# comment
[default]
region = eu-west-1 ; inline comment

[profile dev]
sso_session = corp
sso_account_id = 111122223333
region = us-east-1
s3 =
  max_concurrent_requests = 20

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start#/
sso_region = eu-west-1

[profile admin]
role_arn = arn:aws:iam::111122223333:role/Admin
source_profile = dev

this line is broken
[profile ci]
role_arn = arn:aws:iam::111122223333:role/CI
web_identity_token_file = /tmp/token

[profile local]
endpoint_url = http://127.0.0.1:5055
credential_process = /usr/bin/get-creds --url http://x/#frag
[orphan]
region = us-west-2
[profile tools
region = x
";

    const CREDENTIALS: &str = "\
[local]
aws_access_key_id = AKIAEXAMPLE
[keys-only]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = secret
";

    fn load(config: &str, credentials: &str) -> ProfileList {
        let dir = tempfile::tempdir().unwrap();
        let files = AwsFiles {
            config: dir.path().join("config"),
            credentials: dir.path().join("credentials"),
        };
        std::fs::write(&files.config, config).unwrap();
        std::fs::write(&files.credentials, credentials).unwrap();
        load_profiles(&files)
    }

    #[test]
    fn kinds_regions_and_endpoints() {
        let list = load(CONFIG, CREDENTIALS);
        let summary: Vec<_> = list
            .profiles
            .iter()
            .map(|p| (p.name.as_str(), p.kind, p.region.as_deref()))
            .collect();
        assert_eq!(
            summary,
            [
                ("default", ProfileKind::NoCredentials, Some("eu-west-1")),
                ("admin", ProfileKind::AssumeRole, None),
                ("ci", ProfileKind::WebIdentity, None),
                ("dev", ProfileKind::Sso, Some("us-east-1")),
                ("keys-only", ProfileKind::StaticKeys, None),
                ("local", ProfileKind::CredentialProcess, None),
            ]
        );
        let local = list.profiles.iter().find(|p| p.name == "local").unwrap();
        assert_eq!(local.endpoint_url.as_deref(), Some("http://127.0.0.1:5055"));
    }

    #[test]
    fn bad_lines_are_reported_with_file_and_line_and_the_rest_loads() {
        let list = load(CONFIG, CREDENTIALS);
        let problems: Vec<_> = list
            .problems
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(problems[0].0, 20);
        assert!(
            problems[0].1.contains("expected `key = value`"),
            "{problems:?}"
        );
        assert!(
            !problems[0].1.contains("is broken"),
            "long lines are cut: {problems:?}"
        );
        assert_eq!(problems[1].0, 28);
        assert!(problems[1].1.contains("[profile orphan]"), "{problems:?}");
        assert_eq!(problems[2].0, 30);
        assert!(problems[2].1.contains("closing `]`"), "{problems:?}");
        assert!(
            list.problems[0]
                .to_string()
                .ends_with(&format!("config:20: {}", problems[0].1))
        );
        assert!(
            list.profiles
                .iter()
                .all(|p| p.name != "tools" && p.name != "orphan")
        );
    }

    #[test]
    fn sso_logins_come_from_their_session_or_the_legacy_keys() {
        let list = load(
            CONFIG,
            "[legacy]\nsso_start_url = https://legacy.awsapps.com/start\nsso_region = us-east-2\nsso_account_id = 1\n",
        );
        let dev = list.profiles.iter().find(|p| p.name == "dev").unwrap();
        let sso = dev.sso.as_ref().unwrap();
        assert_eq!(sso.session.as_deref(), Some("corp"));
        assert_eq!(
            (sso.start_url.as_str(), sso.region.as_str()),
            ("https://corp.awsapps.com/start#/", "eu-west-1")
        );
        assert_eq!(sso.scopes, ["sso:account:access"]);
        assert_eq!(
            sso.cache_file_name(),
            "ee0bfd2552fbd840c02cc48b6e823320543c450f.json"
        );
        let legacy = list.profiles.iter().find(|p| p.name == "legacy").unwrap();
        assert_eq!(legacy.kind, ProfileKind::Sso);
        assert_eq!(
            legacy.sso.as_ref().unwrap().cache_file_name(),
            "79e435d7a515078e81c9dffc35f38d5687ebd3a7.json"
        );
        assert!(
            list.profiles
                .iter()
                .find(|p| p.name == "admin")
                .unwrap()
                .sso
                .is_none()
        );
    }

    #[test]
    fn missing_files_give_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        let files = AwsFiles {
            config: dir.path().join("nope"),
            credentials: dir.path().join("nope2"),
        };
        let list = load_profiles(&files);
        assert!(list.profiles.is_empty());
        assert!(list.problems.is_empty());
    }

    #[test]
    fn inline_comments_need_white_space() {
        assert_eq!(strip_inline_comment(" a#b "), "a#b");
        assert_eq!(strip_inline_comment("a #b"), "a");
        assert_eq!(strip_inline_comment("a\t;b"), "a");
    }
}
