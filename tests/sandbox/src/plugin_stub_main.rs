//! `session-manager-plugin`: the sandbox's stand-in for the installed Session Manager plugin, for
//! plugin-mode tests; see [`rds_sandbox::plugin_stub_main`].

fn main() -> std::process::ExitCode {
    rds_sandbox::plugin_stub_main()
}
