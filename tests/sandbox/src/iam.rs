//! IAM database authentication the way RDS does it: members of the role `rds_iam` are sent to PAM
//! by `pg_hba.conf`, and PAM runs a verifier that checks the token's SigV4 signature.
//!
//! Per cluster: a PAM service file `/etc/pam.d/rds-sandbox-iam-<pid>-<n>` (unique, so clusters
//! in parallel tests never share one) running `pam_exec.so expose_authtok` with the system
//! Python on `iam_verifier.py` (embedded, copied into the cluster directory where `postgres` can
//! read it), and a JSON config naming the endpoint, region and the sandbox credentials. The
//! service file goes with the cluster; one left behind by a killed process names a cluster
//! directory that no longer exists and is swept by the next cluster that starts.
//!
//! Writing `/etc/pam.d` needs root; without root the cluster starts without IAM auth and
//! [`crate::PgCluster::iam`] says why.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context as _, bail};

use crate::user::ServerUser;
use crate::{DEFAULT_REGION, SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY};

/// The group role whose members log in with IAM tokens, as on RDS.
pub const RDS_IAM_ROLE: &str = "rds_iam";
/// The IAM-enabled login role every cluster has (a member of [`RDS_IAM_ROLE`], no password).
pub const IAM_USER: &str = "iam_user";
/// How far in the future a token's `X-Amz-Date` may be before it is refused.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// Where Linux-PAM looks for service files; fixed, since the server's libpam reads it.
const PAM_DIR: &str = "/etc/pam.d";
/// Prefix of our service files there.
const PAM_PREFIX: &str = "rds-sandbox-iam-";
/// The line of a service file that names the cluster directory it belongs to.
const CLUSTER_MARKER: &str = "# rds-sandbox cluster directory: ";
/// The interpreter for the verifier: the system one, which `postgres` can run (a venv's Python
/// may link into root's home, which it cannot enter).
const PYTHON: &str = "/usr/bin/python3";
/// The verifier, independent of RDS Explorer's signer (standard library only).
const VERIFIER: &str = include_str!("iam_verifier.py");
/// Numbers the service files of this process.
static NEXT_SERVICE_NUMBER: AtomicU32 = AtomicU32::new(0);

/// How tests log in with IAM to a [`crate::PgCluster`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct PgIamInfo {
    /// The IAM-enabled database user ([`IAM_USER`]).
    pub user: String,
    /// The group role that sends its members to PAM ([`RDS_IAM_ROLE`]).
    pub group_role: String,
    /// The region tokens must be signed for: the one in the cluster's host name.
    pub region: String,
    /// The PAM service named in `pg_hba.conf` (a file in `/etc/pam.d`).
    pub pam_service: String,
    /// Access key id the verifier knows (the sandbox profile's).
    pub access_key_id: String,
    /// Its secret access key (a fixed throwaway value).
    pub secret_access_key: String,
    /// Where `pam_exec` writes the verifier's verdicts (one line per login, never the token).
    pub verifier_log: PathBuf,
}

/// The PAM side of one cluster: the service file (removed on drop) and the verifier's files.
pub(crate) struct IamSetup {
    service: PamServiceFile,
    iam_dir: PathBuf,
}

impl IamSetup {
    /// Writes the verifier into `<cluster_root>/iam` and the PAM service file; the config
    /// follows once the port is known ([`IamSetup::write_config`]). Sweeps service files of
    /// clusters that are gone.
    pub(crate) fn prepare(cluster_root: &Path, user: &ServerUser) -> anyhow::Result<Self> {
        if !Path::new(PYTHON).is_file() {
            bail!(
                "{PYTHON} is missing; the sandbox's IAM verifier needs it (run \
                 scripts/install-test-deps)"
            );
        }
        let iam_dir = cluster_root.join("iam");
        std::fs::create_dir(&iam_dir).with_context(|| format!("creating {}", iam_dir.display()))?;
        // pam_exec runs as the server user and writes its log here.
        user.chown(&iam_dir)?;
        let verifier = iam_dir.join("iam_verifier.py");
        write_new(&verifier, VERIFIER, 0o644)?;
        user.chown(&verifier)?;

        sweep_stale_services(Path::new(PAM_DIR));
        let service = PamServiceFile::create(Path::new(PAM_DIR), cluster_root, &iam_dir)?;
        Ok(Self { service, iam_dir })
    }

    /// The service name for `pg_hba.conf`.
    pub(crate) fn service_name(&self) -> &str {
        &self.service.name
    }

    /// Tells the verifier which endpoint it guards; returns what tests need to log in.
    pub(crate) fn write_config(
        &self,
        host_name: &str,
        port: u16,
        user: &ServerUser,
    ) -> anyhow::Result<PgIamInfo> {
        let region = region_of(host_name);
        let config = serde_json::json!({
            "host": host_name,
            "port": port,
            "region": region,
            "max_skew_secs": MAX_CLOCK_SKEW_SECS,
            "credentials": { SANDBOX_ACCESS_KEY_ID: SANDBOX_SECRET_ACCESS_KEY },
        });
        let path = self.iam_dir.join("config.json");
        write_new(&path, &config.to_string(), 0o600)?;
        user.chown(&path)?;
        Ok(PgIamInfo {
            user: IAM_USER.to_owned(),
            group_role: RDS_IAM_ROLE.to_owned(),
            region,
            pam_service: self.service.name.clone(),
            access_key_id: SANDBOX_ACCESS_KEY_ID.to_owned(),
            secret_access_key: SANDBOX_SECRET_ACCESS_KEY.to_owned(),
            verifier_log: self.iam_dir.join("pam.log"),
        })
    }
}

/// The `pg_hba.conf` lines sending `rds_iam` members to PAM; they go before the password lines,
/// since the first matching line wins.
pub(crate) fn hba_lines(service: &str) -> String {
    format!(
        "hostssl all  +{RDS_IAM_ROLE}  0.0.0.0/0  pam pamservice={service}\n\
         hostssl all  +{RDS_IAM_ROLE}  ::/0       pam pamservice={service}\n"
    )
}

/// SQL creating the group role and the IAM user (`LOGIN`, no password: only a token lets it in).
pub(crate) fn roles_sql() -> String {
    format!(
        "CREATE ROLE {RDS_IAM_ROLE};\n\
         CREATE ROLE {IAM_USER} LOGIN;\n\
         GRANT {RDS_IAM_ROLE} TO {IAM_USER};\n"
    )
}

/// The region in an RDS-like host name (`<name>.<id>.<region>.rds.amazonaws.com[.cn]`), else
/// the sandbox's default region.
fn region_of(host_name: &str) -> String {
    host_name
        .strip_suffix(".rds.amazonaws.com")
        .or_else(|| host_name.strip_suffix(".rds.amazonaws.com.cn"))
        .and_then(|rest| rest.rsplit_once('.'))
        .map_or_else(
            || DEFAULT_REGION.to_owned(),
            |(_, region)| region.to_owned(),
        )
}

/// Creates `path` (it must not exist) with `mode` and `text`.
fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
}

/// One file in `/etc/pam.d`, deleted on drop.
struct PamServiceFile {
    name: String,
    path: PathBuf,
}

impl PamServiceFile {
    fn create(pam_dir: &Path, cluster_root: &Path, iam_dir: &Path) -> anyhow::Result<Self> {
        // PAM splits module arguments at white space (brackets would be needed); our temp paths
        // have none, but a TMPDIR might.
        for path in [cluster_root, iam_dir] {
            let text = path.display().to_string();
            if text.contains(|c: char| c.is_whitespace() || c == '[' || c == ']') {
                bail!(
                    "the cluster directory {text} has white space or brackets, which a PAM \
                     service file cannot quote; set TMPDIR to a plain path"
                );
            }
        }
        let iam = iam_dir.display();
        let contents = format!(
            "{CLUSTER_MARKER}{}\n\
             # IAM auth for the sandbox PostgreSQL in that directory; deleted with it.\n\
             auth    required pam_exec.so expose_authtok quiet log={iam}/pam.log \
             {PYTHON} -I -S {iam}/iam_verifier.py {iam}/config.json\n\
             account required pam_permit.so\n",
            cluster_root.display()
        );
        // Unique among live processes: our pid and a counter. A file with that name can only
        // be a leftover of a dead process with the same pid; then take the next number.
        let pid = std::process::id();
        let context = || {
            format!(
                "installing the sandbox's PAM service in {} (needs root)",
                pam_dir.display()
            )
        };
        loop {
            let n = NEXT_SERVICE_NUMBER.fetch_add(1, Ordering::Relaxed);
            let name = format!("{PAM_PREFIX}{pid}-{n}");
            let path = pam_dir.join(&name);
            // Written aside, then linked into place: a sweep in another process never reads a
            // half-written file (and would not look at the dot file), and the link fails
            // rather than replacing a file that exists.
            let draft = pam_dir.join(format!(".{name}.draft"));
            write_new(&draft, &contents, 0o644).with_context(context)?;
            let linked = std::fs::hard_link(&draft, &path);
            _ = std::fs::remove_file(&draft);
            match linked {
                Ok(()) => return Ok(Self { name, path }),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => {}
                Err(err) => {
                    return Err(anyhow::Error::new(err)
                        .context(format!("linking {}", path.display()))
                        .context(context()));
                }
            }
        }
    }
}

impl Drop for PamServiceFile {
    fn drop(&mut self) {
        // Nothing to report to: a leftover is swept by the next cluster.
        _ = std::fs::remove_file(&self.path);
    }
}

/// Deletes our service files whose cluster directory is gone (their process was killed).
/// Best effort: another process may sweep the same file at the same time.
fn sweep_stale_services(pam_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(pam_dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(PAM_PREFIX) {
            continue;
        }
        let path = entry.path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let cluster = text
            .lines()
            .find_map(|line| line.strip_prefix(CLUSTER_MARKER));
        if cluster.is_some_and(|dir| !Path::new(dir).exists()) {
            _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    const HOST: &str = "prod-instance.us-east-1.rds.amazonaws.com";
    /// 2024-08-26T22:00:00Z, the signing time of the reference vectors.
    const T: u64 = 1_724_709_600;
    const SCOPE: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=akid%2F20240826%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20240826T220000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host";
    const SIG_A: &str = "dd0cba843009474347af724090233265628ace491ea17ce3eb3da098b983ad89";
    const SIG_B: &str = "be71ae1e79f871fd845621e1ab85dbfbc31496792e25b4bed6d288ea98da1da2";
    const SESSION_B: &str = "X-Amz-Security-Token=FQoGZXIvYXdzE%2Babc%2Fdef%3D%3D";

    /// The verifier and a config for `HOST:port` in us-east-1 trusting `akid`/`secret`.
    struct Verifier {
        dir: tempfile::TempDir,
    }

    impl Verifier {
        fn new(port: u16, region: &str) -> Self {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("v.py"), VERIFIER).unwrap();
            let config = serde_json::json!({
                "host": HOST, "port": port, "region": region,
                "max_skew_secs": MAX_CLOCK_SKEW_SECS, "credentials": { "akid": "secret" },
            });
            std::fs::write(dir.path().join("c.json"), config.to_string()).unwrap();
            Self { dir }
        }

        /// Runs it as `pam_exec` would; `Ok` = accepted, `Err(reason)` = rejected.
        fn check(&self, user: &str, token: &str, now: u64) -> Result<(), String> {
            self.check_as("auth", user, token, now)
        }

        fn check_as(
            &self,
            pam_type: &str,
            user: &str,
            token: &str,
            now: u64,
        ) -> Result<(), String> {
            let mut child = Command::new(PYTHON)
                .args(["-I", "-S"])
                .arg(self.dir.path().join("v.py"))
                .arg(self.dir.path().join("c.json"))
                .args(["--now", &now.to_string()])
                .env_clear()
                .env("PAM_USER", user)
                .env("PAM_TYPE", pam_type)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(token.as_bytes()).unwrap();
            stdin.write_all(b"\0").unwrap();
            drop(stdin);
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8(output.stderr).unwrap();
            assert!(
                !stderr.contains("X-Amz-Signature="),
                "the token leaked: {stderr}"
            );
            if output.status.success() {
                Ok(())
            } else {
                Err(stderr)
            }
        }
    }

    fn vector_a() -> String {
        format!("{HOST}:3306/?Action=connect&DBUser=peccy&{SCOPE}&X-Amz-Signature={SIG_A}")
    }

    #[test]
    fn accepts_the_reference_vectors_in_their_lifetime_only() {
        let verifier = Verifier::new(3306, "us-east-1");
        let token = vector_a();
        verifier.check("peccy", &token, T + 1).unwrap();
        verifier.check("peccy", &token, T + 900).unwrap();
        let expired = verifier.check("peccy", &token, T + 901).unwrap_err();
        assert!(expired.contains("expired"), "{expired}");
        verifier
            .check("peccy", &token, T - MAX_CLOCK_SKEW_SECS)
            .unwrap();
        let future = verifier
            .check("peccy", &token, T - MAX_CLOCK_SKEW_SECS - 1)
            .unwrap_err();
        assert!(future.contains("future"), "{future}");
    }

    #[test]
    fn session_token_vector_in_either_parameter_order() {
        let verifier = Verifier::new(5432, "us-east-1");
        let head = format!("{HOST}:5432/?Action=connect&DBUser=peccy&{SCOPE}");
        // botocore's order, then aws-sigv4's (token after the signature).
        verifier
            .check(
                "peccy",
                &format!("{head}&{SESSION_B}&X-Amz-Signature={SIG_B}"),
                T,
            )
            .unwrap();
        verifier
            .check(
                "peccy",
                &format!("{head}&X-Amz-Signature={SIG_B}&{SESSION_B}"),
                T,
            )
            .unwrap();
        // Dropping the session token breaks the signature.
        let error = verifier
            .check("peccy", &format!("{head}&X-Amz-Signature={SIG_B}"), T)
            .unwrap_err();
        assert!(error.contains("signature"), "{error}");
    }

    #[test]
    fn user_names_are_decoded_without_form_rules() {
        let verifier = Verifier::new(5432, "us-east-1");
        let token = |encoded: &str, signature: &str| {
            format!(
                "{HOST}:5432/?Action=connect&DBUser={encoded}&{SCOPE}&X-Amz-Signature={signature}"
            )
        };
        let plus = token(
            "a%2Bb",
            "47614683540e393ba14d541348d65e9e28fc656ab0aae3e6c4cc7443304ef13b",
        );
        let space = token(
            "a%20b",
            "4df8ae239ade47ee65e372201a25ef54128c9544a0fef6e68d81e97340db9f85",
        );
        verifier.check("a+b", &plus, T).unwrap();
        verifier.check("a b", &space, T).unwrap();
        // The Rust SDK's bug: a token for "a b" does not let "a+b" in.
        let error = verifier.check("a+b", &space, T).unwrap_err();
        assert!(error.contains("signed for user 'a b'"), "{error}");
        verifier
            .check(
                "a@b.com",
                &token(
                    "a%40b.com",
                    "e5fd967e59d622a20869e5f6a246337bad10f31e6cac476d447805d869547b82",
                ),
                T,
            )
            .unwrap();
    }

    #[test]
    fn refuses_other_endpoints_regions_keys_and_tampering() {
        let verifier = Verifier::new(3306, "us-east-1");
        let a = vector_a();
        let reason = |user: &str, token: &str| verifier.check(user, token, T).unwrap_err();

        let tunnel = format!(
            "127.0.0.1:15432/?Action=connect&DBUser=peccy&{SCOPE}&X-Amz-Signature=550d780a1e3e534021848ec4227e7d444ad3219b8bd1b0b1afb51945e2c3556a"
        );
        assert!(reason("peccy", &tunnel).contains("signed for 127.0.0.1:15432"));
        assert!(reason("other", &a).contains("signed for user 'peccy'"));
        assert!(
            Verifier::new(5432, "us-east-1")
                .check("peccy", &a, T)
                .is_err()
        );
        let eu = Verifier::new(3306, "eu-west-1")
            .check("peccy", &a, T)
            .unwrap_err();
        assert!(eu.contains("region"), "{eu}");
        assert!(reason("peccy", &a.replace("akid%2F", "other%2F")).contains("unknown access key"));
        assert!(reason("peccy", &a.replace("=dd0c", "=dd0d")).contains("signature does not match"));
        assert!(
            reason("peccy", &a.replace("Expires=900", "Expires=3600")).contains("X-Amz-Expires")
        );
        assert!(
            reason(
                "peccy",
                &a.replace("SignedHeaders=host", "SignedHeaders=host%3Bx")
            )
            .contains("signed headers")
        );
        assert!(reason("peccy", &a.replace("Action=connect", "Action=login")).contains("Action"));
        assert!(reason("peccy", &format!("{a}&DBUser=peccy")).contains("twice"));
        assert!(reason("peccy", &format!("{a}&X-Foo=1")).contains("unexpected"));
        assert!(reason("peccy", &format!("https://{a}")).contains("host:port/?query"));
        assert!(reason("peccy", "hunter2").contains("host:port/?query"));
        assert!(reason("peccy", "").contains("host:port/?query"));
        let account = verifier.check_as("account", "peccy", &a, T).unwrap_err();
        assert!(account.contains("PAM_TYPE"), "{account}");
    }

    #[test]
    fn region_from_the_host_name() {
        assert_eq!(region_of("db.abc.eu-west-1.rds.amazonaws.com"), "eu-west-1");
        assert_eq!(
            region_of("db.abc.cn-north-1.rds.amazonaws.com.cn"),
            "cn-north-1"
        );
        assert_eq!(region_of("localhost"), DEFAULT_REGION);
    }

    #[test]
    fn stale_service_files_are_swept_and_live_ones_kept() {
        let pam_dir = tempfile::tempdir().unwrap();
        let live_cluster = tempfile::tempdir().unwrap();
        let iam_dir = live_cluster.path().join("iam");
        let gone = live_cluster.path().join("gone");
        let live = PamServiceFile::create(pam_dir.path(), live_cluster.path(), &iam_dir).unwrap();
        let dead = PamServiceFile::create(pam_dir.path(), &gone, &iam_dir).unwrap();
        assert_ne!(live.name, dead.name);
        let text = std::fs::read_to_string(&live.path).unwrap();
        assert!(text.contains("pam_exec.so expose_authtok"), "{text}");
        std::fs::write(pam_dir.path().join("login"), "auth required pam_unix.so\n").unwrap();

        sweep_stale_services(pam_dir.path());
        assert!(live.path.exists());
        assert!(!dead.path.exists());
        assert!(pam_dir.path().join("login").exists());
        let live_path = live.path.clone();
        drop(live);
        assert!(!live_path.exists());
    }
}
