#!/usr/bin/env bash
# Warm start of `nixpy run -- true` for a user of a nix-daemon against
# root's on the local store (issue 19.6), side by side in one hyperfine
# run, each with the same switch of user (setpriv, no PAM) and a clean
# environment, and each against that same switch exec'ing /bin/true, so
# the ratio compares nixpy's own warm path. Also checks that the user's
# warm run opens no socket (strace) and works with the daemon unreachable.
#
# Runs as root: it starts the test daemon and accounts of
# scripts/setup-multiuser (stopping the daemon afterwards if it started
# it) and acts as the trusted account. Prints ratios; never fails on a time.
#
# Usage: sudo bench/warm-start-daemon.sh   (BENCH_NIXPY=/path/to/nixpy: that build)
set -euo pipefail
. "$(dirname "$0")/common.sh"
[ "$(id -u)" = 0 ] || bench_fail "run as root (it starts a nix-daemon and acts as a test account)"
bench_need setpriv util-linux
bench_init

mu_log=$(mktemp)
"$repo/scripts/setup-multiuser" >"$mu_log" 2>&1 || { cat "$mu_log" >&2; bench_fail "scripts/setup-multiuser failed"; }
if grep -q '^setup-multiuser: started nix-daemon' "$mu_log"; then
  trap 'bench_cleanup; "$repo/scripts/setup-multiuser" --stop >&2' EXIT
fi
rm -f "$mu_log"
# shellcheck disable=SC1091
. "${NIXPY_MULTIUSER_DIR:-/run/nixpy-multiuser}/env"
user=$NIXPY_MU_TRUSTED

bench_standin "$tmp/standin"
# Programs every user may run: nixpy, and the stand-in's uv when it sits
# under /root (host.nix names it for the daemon's build users too).
install -d -m 755 "$tmp/bin"
install -m 755 "$nixpy" "$tmp/bin/nixpy"
uv=$(sed -n 's/^ *uv = "\(.*\)";/\1/p' "$tmp/standin/host.nix")
if ! setpriv --reuid "$user" --regid "$user" --init-groups test -x "$uv"; then
  install -m 755 "$uv" "$tmp/bin/uv"
  sed -i "s|^ *uv = \".*\";|  uv = \"$tmp/bin/uv\";|" "$tmp/standin/host.nix"
fi

project=$tmp/project
mkdir -p "$project"
printf 'packages = ["hello"]\n' > "$project/nixpy.toml"
install -d -m 700 -o "$user" "$tmp/user-cache"
chown -R "$user" "$project"

# Offline Nix settings for the clients, in a file (env -i drops NIX_CONFIG):
# nothing a daemon keeps to trusted users for the user; no sandbox for
# root's own builds (the stand-in wraps host programs).
printf 'experimental-features = nix-command flakes\nsubstituters =\nflake-registry = /dev/null\n' > "$tmp/user.conf"
{ cat "$tmp/user.conf"; echo 'sandbox = false'; } > "$tmp/root.conf"
chmod 644 "$tmp/user.conf" "$tmp/root.conf"

# The same clean environment for both; only the user, the store, the
# settings file and the cache differ.
env_of() { # USER NIX_REMOTE CACHE CONF
  echo "env -i PATH=$tmp/bin:/usr/bin:/bin HOME=$(getent passwd "$1" | cut -d: -f6) USER=$1 LANG=C.UTF-8" \
       "NIX_REMOTE=$2 NIX_USER_CONF_FILES=$4 NIXPY_NIXPKGS=$NIXPY_NIXPKGS NIXPY_CACHE_DIR=$3"
}
as() { echo "setpriv --reuid $1 --regid $1 --init-groups"; }
user_env=$(env_of "$user" daemon "$tmp/user-cache" "$tmp/user.conf")
root_env=$(env_of root local "$tmp/cache" "$tmp/root.conf")
user_nixpy="$(as "$user") $user_env $tmp/bin/nixpy run -- true"
root_nixpy="$(as root) $root_env $tmp/bin/nixpy run -- true"
user_true="$(as "$user") $user_env /bin/true"
root_true="$(as root) $root_env /bin/true"

bench_log "cold runs: $user through the daemon, root on the local store"
cd "$project"
for cmd in "$user_nixpy" "$root_nixpy"; do
  # shellcheck disable=SC2086
  $cmd
  # shellcheck disable=SC2086
  out=$($cmd 2>&1)
  [ -z "$out" ] || bench_fail "the second run was not warm: $out"
done

bench_log "the user's warm run and the daemon"
# shellcheck disable=SC2086
connects=$($(as "$user") $user_env strace -f -qq -e trace=connect "$tmp/bin/nixpy" run -- true 2>&1 | grep -c 'connect(' || true)
unreachable_env=$(env_of "$user" "unix://$tmp/no-daemon/socket" "$tmp/user-cache" "$tmp/user.conf")
# shellcheck disable=SC2086
if $(as "$user") $unreachable_env "$tmp/bin/nixpy" run -- true; then
  without_daemon="works"
else
  without_daemon="FAILS"
fi

bench_log "hyperfine: warm nixpy as $user (daemon) and as root (local store)"
hyperfine -N --warmup 20 --style basic --export-json "$tmp/daemon.json" \
  -n "user: nixpy run -- true" "$user_nixpy" \
  -n "root: nixpy run -- true" "$root_nixpy" \
  -n "user: /bin/true" "$user_true" \
  -n "root: /bin/true" "$root_true"

mean() { bench_json "$tmp/daemon.json" "d['results'][$1]['mean'] * 1e6"; }
python3 -I - "$(mean 0)" "$(mean 1)" "$(mean 2)" "$(mean 3)" "$connects" "$without_daemon" <<'PY'
import sys
user, root, user_true, root_true = map(float, sys.argv[1:5])
connects, without = sys.argv[5], sys.argv[6]
user_own, root_own = user - user_true, root - root_true
print()
print(f"warm run, user through the daemon: {user:8.0f} us ({user_own:6.0f} us beyond /bin/true)")
print(f"warm run, root on the local store: {root:8.0f} us ({root_own:6.0f} us beyond /bin/true)")
print(f"ratio user/root (beyond /bin/true): {user_own / root_own:.2f}  (target: about 1)")
print(f"connect() calls in the user's warm run: {connects}  (target: 0)")
print(f"the user's warm run with the daemon unreachable: {without}")
PY
