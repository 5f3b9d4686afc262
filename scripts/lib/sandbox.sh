# Sourced by the scripts that run the app against the sandbox (bench, screenshot, demo).
#   sandbox_build  builds `rds-sandbox` (call it before changing HOME: cargo needs the real one).
#   sandbox_up DIR [rds-sandbox up options…]  starts `rds-sandbox up` in the background, waits for
#       its JSON line and exports AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE / AWS_PROFILE for
#       the sandbox's static-key profile. SANDBOX_JSON holds the line.
#   sandbox_down  stops it (SIGTERM: it removes its files and processes).
# Needs CARGO_TARGET_DIR (scripts/lib/env.sh).

sandbox_build() {
  # A debug build: a test fixture, built by the test suite already (deps are at opt-level 1).
  cargo build --locked -p rds-explorer-sandbox --bin rds-sandbox >&2
}

sandbox_up() {
  local dir=$1
  shift
  # A file left by an earlier sandbox would pass the wait below before the new one truncates it.
  rm -f "$dir/sandbox.json"
  "$CARGO_TARGET_DIR/debug/rds-sandbox" up "$@" >"$dir/sandbox.json" 2>"$dir/sandbox.log" &
  SANDBOX_PID=$!
  local waited=0
  until [ -s "$dir/sandbox.json" ]; do
    if ! kill -0 "$SANDBOX_PID" 2>/dev/null || [ "$waited" -ge 600 ]; then
      echo "sandbox did not start; its log:" >&2
      cat "$dir/sandbox.log" >&2
      return 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  SANDBOX_JSON=$(head -1 "$dir/sandbox.json")
  local field
  field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["aws"][sys.argv[2]])' "$SANDBOX_JSON" "$1"; }
  AWS_CONFIG_FILE=$(field config_file)
  AWS_SHARED_CREDENTIALS_FILE=$(field credentials_file)
  AWS_PROFILE=$(field profile)
  export AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_PROFILE SANDBOX_JSON
}

sandbox_down() {
  if [ -n "${SANDBOX_PID:-}" ]; then
    kill -TERM "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=
  fi
}
