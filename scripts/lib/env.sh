# Sourced by the scripts: the persistent cache outside the clone (cargo target dir, moto venv), so
# fresh clones and CI runs build incrementally. Override with RDSX_CACHE / CARGO_TARGET_DIR.
export RDSX_CACHE=${RDSX_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/rds-explorer}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$RDSX_CACHE/target}
export RDS_SANDBOX_VENV=${RDS_SANDBOX_VENV:-$RDSX_CACHE/venv}
# Never let anything probe the instance metadata address (not loopback).
export AWS_EC2_METADATA_DISABLED=true
