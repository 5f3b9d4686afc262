//! Keeping a bad file aside (`settings.toml.broken-20261123T101500Z`) so the app can start with
//! defaults without destroying what the user had, and the problem report shown in a banner.

use std::path::{Path, PathBuf};

/// A file that could not be used at start-up, and what was done about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartupProblem {
    /// What the file is for, e.g. "Settings file".
    pub what: String,
    /// The file that could not be used.
    pub path: PathBuf,
    /// Why it could not be used (parser message with line and column where known).
    pub reason: String,
    /// Where the bad file was kept, if it could be moved aside.
    pub kept_at: Option<PathBuf>,
    /// What the app did instead, e.g. "started with default settings".
    pub fallback: String,
}

impl std::fmt::Display for StartupProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} could not be used ({}); {}",
            self.what,
            self.path.display(),
            self.reason,
            self.fallback
        )?;
        match &self.kept_at {
            Some(kept) => write!(f, ". The bad file was kept as {}", kept.display()),
            None => write!(
                f,
                ". The bad file could not be moved aside and will be overwritten on save"
            ),
        }
    }
}

/// Renames `path` to `<path>.broken-<UTC timestamp>` and returns the new path.
pub(crate) fn keep_aside(path: &Path) -> std::io::Result<PathBuf> {
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_else(|_| "unknown-time".to_owned());
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".broken-{stamp}"));
    let mut target = path.with_file_name(&name);
    // Two failures in the same second must not overwrite the first kept copy.
    let mut n = 1;
    while target.exists() {
        n += 1;
        let mut numbered = name.clone();
        numbered.push(format!("-{n}"));
        target = path.with_file_name(numbered);
    }
    std::fs::rename(path, &target)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::keep_aside;

    #[test]
    fn moves_the_file_and_never_overwrites_an_earlier_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        std::fs::write(&path, "first").unwrap();
        let first = keep_aside(&path).unwrap();
        std::fs::write(&path, "second").unwrap();
        let second = keep_aside(&path).unwrap();
        assert!(!path.exists());
        assert_ne!(first, second);
        assert!(
            first
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("settings.toml.broken-2")
        );
        assert_eq!(std::fs::read_to_string(first).unwrap(), "first");
        assert_eq!(std::fs::read_to_string(second).unwrap(), "second");
    }
}
