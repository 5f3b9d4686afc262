//! User settings: theme, production tag rules, extra CA file, result memory cap. Stored as TOML in
//! the config dir; unknown keys are ignored and missing ones take defaults, so files from older
//! and newer versions both load.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::aside::{StartupProblem, keep_aside};
use super::atomic::write_atomic;

/// Light, dark, or follow the operating system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeChoice {
    /// Follow the operating system.
    #[default]
    System,
    /// Dark text on light background.
    Light,
    /// Light text on dark background.
    Dark,
}

/// Which resources count as production, by tag: any tag whose key is one of `tag_keys` and whose
/// value matches one of `value_patterns` (case-insensitive, `*` matches any run of characters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProductionRules {
    /// Tag keys to look at, e.g. `env`, `environment`, `stage`.
    pub tag_keys: Vec<String>,
    /// Value patterns, e.g. `prod*`.
    pub value_patterns: Vec<String>,
}

impl Default for ProductionRules {
    fn default() -> Self {
        Self {
            tag_keys: vec!["env".into(), "environment".into(), "stage".into()],
            value_patterns: vec!["prod*".into()],
        }
    }
}

impl ProductionRules {
    /// Whether a resource with these tags (key, value) is production.
    pub fn matches<'a>(&self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        tags.into_iter().any(|(key, value)| {
            self.tag_keys.iter().any(|k| k.eq_ignore_ascii_case(key))
                && self
                    .value_patterns
                    .iter()
                    .any(|pattern| glob_matches(pattern, value))
        })
    }
}

/// Case-insensitive match where `*` stands for any run of characters.
fn glob_matches(pattern: &str, value: &str) -> bool {
    let pattern = pattern.to_lowercase();
    let value = value.to_lowercase();
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// All user settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Colour theme.
    pub theme: ThemeChoice,
    /// Which resources open read-only with a coloured bar.
    pub production: ProductionRules,
    /// `statement_timeout` for sessions on production resources, in seconds.
    pub production_statement_timeout_secs: u32,
    /// A PEM file of extra CA certificates trusted for database TLS (private CAs, odd proxies).
    pub extra_ca_file: Option<PathBuf>,
    /// Memory for query results before they spill to a temp file, in MiB.
    pub result_memory_cap_mib: u32,
    /// Which client carries SSM tunnels unless a connection says otherwise.
    pub tunnel_client: crate::tunnel::supervisor::Via,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: ThemeChoice::System,
            production: ProductionRules::default(),
            production_statement_timeout_secs: 30,
            extra_ca_file: None,
            result_memory_cap_mib: 1024,
            tunnel_client: crate::tunnel::supervisor::Via::Native,
        }
    }
}

/// Settings could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Serialising failed (a bug: every field is plain data).
    #[error("could not encode the settings")]
    Encode(#[source] toml::ser::Error),
    /// The file could not be written.
    #[error("could not write the settings file {path}")]
    Write {
        /// The settings file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Loads settings from `path`. A missing file gives defaults; a corrupt or unreadable one gives
/// defaults plus a problem report, and the bad file is kept aside.
pub fn load_settings(path: &Path) -> (Settings, Option<StartupProblem>) {
    let reason = match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str::<Settings>(&text) {
            Ok(settings) => return (settings, None),
            Err(error) => error.to_string().trim().replace('\n', " "),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return (Settings::default(), None);
        }
        Err(error) => error.to_string(),
    };
    let kept_at = match keep_aside(path) {
        Ok(kept) => Some(kept),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "could not move the bad settings file aside");
            None
        }
    };
    let problem = StartupProblem {
        what: "Settings file".into(),
        path: path.to_path_buf(),
        reason,
        kept_at,
        fallback: "RDS Explorer started with default settings".into(),
    };
    (Settings::default(), Some(problem))
}

/// Writes settings to `path` atomically.
pub fn save_settings(path: &Path, settings: &Settings) -> Result<(), SettingsError> {
    let text = toml::to_string_pretty(settings).map_err(SettingsError::Encode)?;
    let text =
        format!("# RDS Explorer settings. Edited by the app; unknown keys are ignored.\n{text}");
    write_atomic(path, text.as_bytes()).map_err(|source| SettingsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_partial_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        let settings = Settings {
            theme: ThemeChoice::Dark,
            result_memory_cap_mib: 64,
            ..Settings::default()
        };
        save_settings(&path, &settings).unwrap();
        assert_eq!(load_settings(&path), (settings, None));

        std::fs::write(&path, "theme = \"light\"\nfuture_key = 1\n").unwrap();
        let (loaded, problem) = load_settings(&path);
        assert_eq!(problem, None);
        assert_eq!(
            loaded,
            Settings {
                theme: ThemeChoice::Light,
                ..Settings::default()
            }
        );
    }

    #[test]
    fn missing_file_gives_defaults_silently() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            load_settings(&dir.path().join("none.toml")),
            (Settings::default(), None)
        );
    }

    #[test]
    fn corrupt_file_is_kept_aside_with_the_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        std::fs::write(&path, "theme = \"dark\"\nresult_memory_cap_mib = [oops\n").unwrap();
        let (loaded, problem) = load_settings(&path);
        assert_eq!(loaded, Settings::default());
        let problem = problem.unwrap();
        assert!(problem.reason.contains("line 2"), "{problem}");
        let kept = problem.kept_at.clone().unwrap();
        assert!(!path.exists());
        assert!(std::fs::read_to_string(kept).unwrap().contains("[oops"));
        assert!(
            problem.to_string().contains("default settings"),
            "{problem}"
        );
    }

    #[test]
    fn production_rules_match_tags() {
        let rules = ProductionRules::default();
        assert!(rules.matches([("Environment", "Production")]));
        assert!(rules.matches([("team", "x"), ("stage", "prod-eu")]));
        assert!(!rules.matches([("env", "staging")]));
        assert!(!rules.matches([("owner", "prod")]));
        assert!(glob_matches("*prod*", "preprod-1"));
        assert!(glob_matches("p*d", "prod"));
        assert!(!glob_matches("p*d", "prodx"));
        assert!(glob_matches("prod", "PROD"));
        assert!(!glob_matches("a*aa", "aa"));
    }
}
