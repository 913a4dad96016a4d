#!/usr/bin/env bash
# Copies the offline nixpkgs stand-in to DEST and writes its host.nix with
# this machine's programs. Prints the flake reference to use (path:DEST).
set -euo pipefail
dest=${1:?usage: install.sh DEST}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dest"
cp "$here"/*.nix "$dest"/
rm -f "$dest"/host.nix

python=$(command -v python3.11 || true)
[ -x /usr/bin/python3 ] && python=$(readlink -f /usr/bin/python3)
[ -n "$python" ] || python=$(readlink -f "$(python3 -c 'import sys; print(sys.executable)')")
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# pip is only linked into the store, so any interpreter's copy will do.
pip=$("$python" -c 'import os, pip; print(os.path.dirname(pip.__file__))' 2>/dev/null ||
      python3 -c 'import os, pip; print(os.path.dirname(pip.__file__))')
uv=$(python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null || readlink -f "$(command -v uv)")
lib() { ldconfig -p | awk -v n="$1" '$1 == n && /x86-64|aarch64|64bit/ { print $NF; exit }'; }
case "$(uname -m)" in
  x86_64) system=x86_64-linux ;;
  aarch64) system=aarch64-linux ;;
  *) echo "install.sh: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
cat > "$dest/host.nix" <<NIX
{
  system = "$system";
  bash = "$(readlink -f /bin/bash)";
  coreutils = "/usr/bin:/bin";
  python = "$python";
  pythonVersion = "$version";
  uv = "$uv";
  pip = "$pip";
  libstdcxx = "$(lib libstdc++.so.6)";
  libz = "$(lib libz.so.1)";
}
NIX
chmod -R a+rX "$dest"
echo "path:$dest"
