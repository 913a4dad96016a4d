#!/usr/bin/env bash
# Cold pip-layer build (issue 3.9): nixpy rebuilding only the layer of a
# project whose Nix shell is built and whose nixpy.lock is current, against
# plain `uv pip install --target DIR --python <the same Nix python>` of the
# same requirements, in one hyperfine run. Both install the same generated
# local wheels (--no-index --find-links) from the same warm uv cache.
#
# Then checks that a second project with identical requirements reuses the
# layer: no new folder in layers/, no "installing" on stderr.
#
# Prints ratios and whether each target is met; never fails on a time.
#
# Usage: bench/pip-layer.sh       (BENCH_NIXPY=/path/to/nixpy: measure that build instead)
set -euo pipefail
. "$(dirname "$0")/common.sh"
bench_init

WHEELS=30
MODULES=4   # modules per wheel: an __init__ and three of ~40 small functions
RUNS=10

bench_standin "$tmp/standin"
bench_log "$WHEELS generated wheels"
bench_wheels "$tmp/wheels" layerpkg "$WHEELS" "$MODULES"

project=$tmp/project
mkdir -p "$project"
printf 'packages = ["hello"]\n' > "$project/nixpy.toml"
{
  printf -- '--no-index\n--find-links %s\n' "$tmp/wheels"
  for i in $(seq -f '%03g' 1 "$WHEELS"); do echo "layerpkg$i"; done
} > "$project/requirements.txt"

bench_log "first run: Nix shell, resolution, layer (fills the uv cache)"
# nixpy runs from the project folder, as users run it.
in_project() { (cd "$1" && shift && "$@"); }
in_project "$project" "$nixpy" run -- python3 -c "import layerpkg$(printf '%03d' "$WHEELS").mod1" ||
  bench_fail "the first nixpy run failed"
entry=$(bench_entry "$project")
# The interpreter and uv of the project's environment, as nixpy sees them.
python=$(in_project "$project" "$nixpy" run -- printenv NIXPY_PYTHON)
uv=$(in_project "$project" "$nixpy" run -- sh -c 'command -v uv')
[ -x "$python" ] && [ -x "$uv" ] || bench_fail "no Nix python/uv in $entry"

# Before each nixpy run: drop the layer (its GC root and its store path), so
# the warm path finds it missing and the cold path rebuilds only the layer:
# the shell is reused (same shell_key) and resolution is skipped (nixpy.lock
# is current).
cat > "$tmp/drop-layer" <<EOF
#!/usr/bin/env bash
set -euo pipefail
layer=\$(python3 -I -c 'import json,sys; print(json.load(open(sys.argv[1]))["layer"]["dir"])' $(printf '%q' "$entry"))
rm -rf $(printf '%q' "$NIXPY_CACHE_DIR/v1/layers")
if [ -e "\$layer" ]; then nix-store --delete "\$layer" > /dev/null 2>&1 || true; fi
if [ -e "\$layer" ]; then echo "drop-layer: cannot delete \$layer" >&2; exit 1; fi
EOF
chmod +x "$tmp/drop-layer"

# The nixpy side must rebuild the layer, and only the layer.
"$tmp/drop-layer"
in_project "$project" "$nixpy" run -- true 2> "$tmp/rebuild.err" || { cat "$tmp/rebuild.err" >&2; bench_fail "nixpy failed to rebuild the layer"; }
cat "$tmp/rebuild.err" >&2
grep -q 'installing' "$tmp/rebuild.err" || bench_fail "nixpy did not reinstall the layer after drop-layer"
if grep -Eq 'building the Nix shell|resolving' "$tmp/rebuild.err"; then
  bench_fail "nixpy rebuilt more than the layer (see above)"
fi
first_layer=$(bench_json "$entry" 'd["layer"]["dir"]')

# Before each compileall run: a copy of uv's output without bytecode.
cat > "$tmp/fresh-copy" <<EOF
#!/usr/bin/env bash
set -euo pipefail
rm -rf $(printf '%q' "$tmp/compiled")
cp -a $(printf '%q' "$tmp/uv-target") $(printf '%q' "$tmp/compiled")
find $(printf '%q' "$tmp/compiled") -name __pycache__ -prune -exec rm -rf {} +
EOF
chmod +x "$tmp/fresh-copy"

# Before each `nix store add-path` run: a copy of the compiled folder with
# a fresh nonce, so every run adds a new store path as nixpy's does. (They
# are deleted on exit, with the layers.)
cat > "$tmp/fresh-store-copy" <<EOF
#!/usr/bin/env bash
set -euo pipefail
rm -rf $(printf '%q' "$tmp/to-add")
cp -a $(printf '%q' "$tmp/compiled") $(printf '%q' "$tmp/to-add")
date +%s%N > $(printf '%q' "$tmp/to-add/.nonce")
EOF
chmod +x "$tmp/fresh-store-copy"

q() { printf '%q' "$1"; }
uv_install="$(q "$uv") pip install --quiet --python $(q "$python") --target $(q "$tmp/uv-target") -r $(q "$project/requirements.txt")"
bench_log "hyperfine: cold layer, nixpy vs uv pip install --target ($RUNS runs each)"
cd "$project"
hyperfine -N --runs "$RUNS" --warmup 1 --style basic --export-json "$tmp/layer.json" \
  --prepare "$tmp/drop-layer" \
  -n "nixpy run (layer rebuild)" "$(q "$nixpy") run -- true" \
  --prepare "rm -rf $(q "$tmp/uv-target")" \
  -n "uv pip install --target" "$uv_install" \
  --prepare "rm -rf $(q "$tmp/uv-target")" \
  -n "uv pip install --target --compile-bytecode" "$uv_install --compile-bytecode" \
  --prepare "$tmp/fresh-copy" \
  -n "compileall (as nixpy runs it)" "$(q "$python") -I -m compileall -q -j 0 --invalidation-mode unchecked-hash -d /nixpy-layer $(q "$tmp/compiled")" \
  --prepare "$tmp/fresh-store-copy" \
  -n "nix store add-path (as nixpy runs it)" "nix --extra-experimental-features nix-command store add-path --name $(bench_store_name) $(q "$tmp/to-add")"

# Every measured run rebuilt the layer from the same inputs: the same bytes
# give the same store path (what sharing layers through a binary cache needs).
reproducible=no
[ "$(bench_json "$entry" 'd["layer"]["dir"]')" = "$first_layer" ] && reproducible=yes

bench_log "a second project with identical requirements"
second=$tmp/second
mkdir -p "$second"
cp "$project/nixpy.toml" "$project/requirements.txt" "$second/"
before=$(ls -A "$NIXPY_CACHE_DIR/v1/layers" | sort)
start=$(date +%s.%N)
in_project "$second" "$nixpy" run -- python3 -c "import layerpkg001" 2> "$tmp/second.err" ||
  { cat "$tmp/second.err" >&2; bench_fail "nixpy failed in the second project"; }
end=$(date +%s.%N)
cat "$tmp/second.err" >&2
after=$(ls -A "$NIXPY_CACHE_DIR/v1/layers" | sort)
new_layers=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep -c . || true)
installed=no
grep -q 'installing' "$tmp/second.err" && installed=yes
same_layer=no
[ "$(bench_json "$(bench_entry "$second")" 'd["layer"]["dir"]')" = "$(bench_json "$entry" 'd["layer"]["dir"]')" ] && same_layer=yes

python3 -I - "$tmp/layer.json" "$new_layers" "$installed" "$same_layer" "$start" "$end" "$WHEELS" "$reproducible" <<'PY'
import json, sys

results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
new_layers, installed, same_layer = int(sys.argv[2]), sys.argv[3], sys.argv[4]
reproducible = sys.argv[8]
second_run = float(sys.argv[6]) - float(sys.argv[5])
wheels = sys.argv[7]
mean = lambda name: results[name]["mean"]
nixpy, uv = mean("nixpy run (layer rebuild)"), mean("uv pip install --target")

print(f"\nmeans (hyperfine, same run, {wheels} wheels):")
for name, r in results.items():
    print(f"  {name:<44} {r['mean'] * 1000:8.1f} ms ± {r['stddev'] * 1000:.1f}")
steps = uv + mean("compileall (as nixpy runs it)") + mean("nix store add-path (as nixpy runs it)")
print(f"uv + compileall + add-path, each measured on its own: {steps * 1000:.1f} ms (nixpy's whole rebuild: {nixpy * 1000:.1f} ms)")
print(f"second project, cold run reusing the layer (shell + resolution, no install): {second_run * 1000:.0f} ms")

rows = [
    ("cold layer: nixpy / uv --target", f"{nixpy / uv:.2f}x", "<= 1.25x", nixpy / uv <= 1.25),
    ("  (nixpy / uv --target --compile-bytecode)", f"{nixpy / mean('uv pip install --target --compile-bytecode'):.2f}x", "none", None),
    ("second project: new layer folders", str(new_layers), "0", new_layers == 0),
    ("second project: 'installing' on stderr", installed, "no", installed == "no"),
    ("second project: same layer path", same_layer, "yes", same_layer == "yes"),
    ("rebuilt layer: same store path each time", reproducible, "yes", reproducible == "yes"),
]
print(f"\n{'measurement':<44} {'value':>7}  {'target':<9} result")
for name, value, target, ok in rows:
    result = "" if ok is None else ("met" if ok else "NOT met")
    print(f"{name:<44} {value:>7}  {target:<9} {result}")
PY
