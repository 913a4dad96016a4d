# Shared set-up for the benchmarks in this folder; sourced, not run.
#
# After `bench_init`:
#   $repo      the nixpy checkout
#   $nixpy     the release binary, built here (or $BENCH_NIXPY, not built)
#   $tmp       a scratch folder under /tmp, removed on exit (kept with BENCH_KEEP=1)
#   $system    Nix's system string (x86_64-linux, ...)
# and the environment is offline Nix with a clean NIXPY_*/CI state.

bench_log() { printf '\n== %s\n' "$*" >&2; }
bench_fail() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# apt-get install for a missing tool (as root), else a clear failure.
bench_need() {
  local cmd=$1 pkg=${2:-$1}
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    bench_log "installing $pkg"
    apt-get install -y -q "$pkg" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q "$pkg" >/dev/null; }
  fi
  command -v "$cmd" >/dev/null 2>&1 || bench_fail "$cmd is needed (apt-get install $pkg)"
}

bench_cleanup() {
  if [ -n "${BENCH_KEEP:-}" ] && [ -n "${tmp:-}" ]; then
    echo "bench: kept $tmp (BENCH_KEEP is set)" >&2
    return
  fi
  if [ -n "${tmp:-}" ] && [ -d "$tmp" ]; then
    # The pip layers this run put in the Nix store (rooted only from $tmp)
    # and what it added under the bench's own names: deleted once $tmp, and
    # so their GC roots, are gone. Shells and tools stay (shared, cheap).
    local layers=() f
    for f in "$tmp"/cache/v1/layers/*; do
      [ -L "$f" ] && layers+=("$(readlink "$f")")
    done
    chmod -R u+w "$tmp" 2>/dev/null || true
    rm -rf "$tmp"
    for f in /nix/store/*-"$(bench_store_name)"; do
      [ -e "$f" ] && layers+=("$f")
    done
    if [ "${#layers[@]}" -gt 0 ]; then
      nix-store --delete "${layers[@]}" > /dev/null 2>&1 || true
    fi
  fi
}

# The name of store paths the benchmark adds itself (unique to this run).
bench_store_name() { echo "nixpy-bench-${tmp##*/}"; }

bench_init() {
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  bench_need hyperfine
  bench_need python3
  bench_need nix
  bench_need uv
  if [ -n "${BENCH_NIXPY:-}" ]; then
    nixpy=$BENCH_NIXPY
  else
    bench_log "scripts/build-release"
    nixpy=$("$repo/scripts/build-release")
  fi
  [ -x "$nixpy" ] || bench_fail "no nixpy binary at $nixpy"

  # Nix builders run as nixbld users: everything they read lives under
  # /tmp, world-traversable (never under /root).
  tmp=$(mktemp -d /tmp/nixpy-bench-XXXXXX)
  trap bench_cleanup EXIT
  chmod 755 "$tmp"

  # What nixpy reads from the caller's environment must not leak in.
  local name
  for name in $(env | sed -n 's/^\(NIXPY_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$name"; done
  unset CI
  export NIX_CONFIG=$'experimental-features = nix-command flakes\nsubstituters =\nflake-registry = /dev/null'
  export NIXPY_CACHE_DIR=$tmp/cache
  export UV_CACHE_DIR=$tmp/uv-cache
  system=$(nix eval --impure --raw --expr builtins.currentSystem)
}

# bench_standin DEST: the offline nixpkgs stand-in, copied; exports NIXPY_NIXPKGS.
bench_standin() {
  NIXPY_NIXPKGS=$("$repo/integration-tests/nixpkgs-standin/install.sh" "$1")
  export NIXPY_NIXPKGS
}

# bench_wheels DIR PREFIX COUNT MODULES: COUNT pure-Python wheels
# PREFIX001-1.0 ... each with MODULES small modules (METADATA, WHEEL, RECORD).
bench_wheels() {
  python3 -I - "$@" <<'PY'
import base64, hashlib, os, sys, zipfile

out, prefix, count, modules = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(out, exist_ok=True)

def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"

for i in range(1, count + 1):
    name, version = f"{prefix}{i:03d}", "1.0"
    info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": f'"""Benchmark package {i}."""\nVALUE = {i}\n'.encode()}
    for m in range(1, modules):
        body = "".join(
            f"def f{k}(x, y={k}):\n    \"\"\"Function {k}.\"\"\"\n    return [x * y + j for j in range({k})]\n\n"
            for k in range(40)
        )
        files[f"{name}/mod{m}.py"] = body.encode()
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: nixpy benchmark wheel\n"
    ).encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: nixpy-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = "".join(record_line(n, d) + "\n" for n, d in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    with zipfile.ZipFile(os.path.join(out, f"{name}-{version}-py3-none-any.whl"), "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            z.writestr(zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0)), d)
PY
}

# bench_entry PROJECT_DIR: the project's cache entry (entry.json) path.
bench_entry() {
  local root found=""
  root=$(cd "$1" && pwd -P)
  for f in "$NIXPY_CACHE_DIR"/v1/projects/*/entry.json; do
    [ -f "$f" ] || continue
    if [ "$(python3 -I -c 'import json,sys; print(json.load(open(sys.argv[1]))["project_root"])' "$f")" = "$root" ]; then
      found=$f
    fi
  done
  [ -n "$found" ] || bench_fail "no cache entry for $1"
  printf '%s\n' "$found"
}

# bench_json FILE EXPR: a value from a JSON file (EXPR in Python, `d` is the document).
bench_json() {
  python3 -I -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
