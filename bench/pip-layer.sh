#!/usr/bin/env bash
# The pip layer (issues 3.9, 12.4, 16.6), measured side by side in one run
# against uv, from the same wheels and a warm uv cache:
#
#   1. The old whole-layer numbers (kept while they exist): 30 generated
#      wheels, nixpy rebuilding the whole layer (every distribution
#      dropped) against `uv pip install --target`.
#   2. Real size: numpy, pandas, pydantic, rich, requests (and tqdm, click)
#      from a wheelhouse downloaded once (BENCH_WHEELHOUSE, default
#      ~/.cache/nixpy-bench/wheelhouse; the tests stay hermetic):
#      - first layer: nixpy (resolution + install + store) against
#        `uv venv` + `uv pip install --compile-bytecode`;
#      - adding tqdm against uv's incremental install, removing it (no
#        install at all), the store growth of the edit;
#      - `nixpy add --python attrs` that leaves the pins alone: no layer work;
#      - a second project with an overlapping pin set installs only the
#        difference;
#      - each part of nixpy's layer build (`-vv` timings), to explain the gap;
#      - importing 20 layer packages through the project interpreter against
#        the same imports from the plain uv venv.
#
# Prints ratios and whether each target is met; never fails on a time.
#
# Usage: bench/pip-layer.sh      (BENCH_NIXPY=/path/to/nixpy: measure that build;
#                                 BENCH_RUNS / BENCH_BIG_RUNS: hyperfine runs)
set -euo pipefail
. "$(dirname "$0")/common.sh"
bench_init

RUNS=${BENCH_RUNS:-5}
BIG_RUNS=${BENCH_BIG_RUNS:-3}
q() { printf '%q' "$1"; }
in_project() { (cd "$1" && shift && "$@"); }

bench_standin "$tmp/standin"

# A helper every prepare step uses: drop layers and distributions (their
# roots, their index entries and their store paths) matching a rule, so
# the next nixpy run has to install them again.
cat > "$tmp/drop.py" <<'PY'
"""drop.py CACHE all|dist NAME|layers-without NAME|layers-with NAME"""
import json, os, subprocess, sys
cache, what = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else None
layers, dists = os.path.join(cache, "v1/layers"), os.path.join(cache, "v1/dists")
def links(folder):
    return [os.path.join(folder, n) for n in os.listdir(folder)] if os.path.isdir(folder) else []
def manifest(comp):
    try:
        return json.load(open(os.path.join(comp, "nixpy-layer.json")))["dists"]
    except OSError:
        return []
def is_dist(path, name):
    return f"-nixpy-dist-{name}-" in path
doomed, keys = set(), set()
for link in links(layers):
    name = os.path.basename(link)
    if "-" in name or not os.path.islink(link):
        continue
    comp = os.readlink(link)
    members = manifest(comp)
    has = arg is not None and any(is_dist(d, arg) for d in members)
    if what == "all" or (what == "layers-with" and has) or (what == "dist" and has) or (what == "layers-without" and not has):
        keys.add(name)
        doomed.add(comp)
        if what == "all":
            doomed.update(members)
        elif what == "dist":
            doomed.update(d for d in members if is_dist(d, arg))
for link in links(layers):
    name = os.path.basename(link)
    if name.split("-")[0] in keys:
        os.unlink(link)
for link in links(dists):
    if os.path.islink(link) and (what == "all" or (what == "dist" and is_dist(os.readlink(link), arg))):
        os.unlink(link)
doomed = [p for p in doomed if os.path.exists(p)]
if doomed:
    subprocess.run(["nix-store", "--delete", *doomed], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
left = [p for p in doomed if os.path.exists(p)]
if left:
    sys.exit(f"drop.py: still in the store, rooted elsewhere (another nixpy cache? see `nix-store --query --roots`): {left}")
PY
drop() { python3 -I "$tmp/drop.py" "$NIXPY_CACHE_DIR" "$@"; }

###########################################################################
# 1. The old whole-layer numbers: 30 generated wheels.
###########################################################################

WHEELS=30
MODULES=4
bench_log "1. whole layer, $WHEELS generated wheels"
bench_wheels "$tmp/wheels" layerpkg "$WHEELS" "$MODULES"
small=$tmp/small
mkdir -p "$small"
printf 'packages = ["hello"]\n' > "$small/nixpy.toml"
{
  printf -- '--no-index\n--find-links %s\n' "$tmp/wheels"
  for i in $(seq -f '%03g' 1 "$WHEELS"); do echo "layerpkg$i"; done
} > "$small/requirements.txt"
in_project "$small" "$nixpy" run -- true || bench_fail "the first nixpy run failed"
python=$(in_project "$small" "$nixpy" run -- sh -c 'readlink -f "$(command -v python)"')
uv=$(command -v uv)
[ -x "$python" ] || bench_fail "no Python in the environment"
cat > "$tmp/drop-small" <<EOF
#!/usr/bin/env bash
python3 -I $(q "$tmp/drop.py") $(q "$NIXPY_CACHE_DIR") all
EOF
chmod +x "$tmp/drop-small"
"$tmp/drop-small"
in_project "$small" "$nixpy" run -- true 2> "$tmp/small.err" || { cat "$tmp/small.err" >&2; bench_fail "nixpy failed to rebuild the layer"; }
grep -q "installing $WHEELS of $WHEELS" "$tmp/small.err" || { cat "$tmp/small.err" >&2; bench_fail "nixpy did not reinstall every distribution"; }
if grep -Eq 'building the Nix shell|resolving' "$tmp/small.err"; then bench_fail "nixpy rebuilt more than the layer"; fi
uv_target="$(q "$uv") pip install --quiet --python $(q "$python") --target $(q "$tmp/uv-target") -r $(q "$small/requirements.txt")"
(cd "$small" && hyperfine -N --runs 10 --warmup 1 --style basic --export-json "$tmp/whole.json" \
  --prepare "$tmp/drop-small" -n "nixpy whole layer (30 wheels)" "$(q "$nixpy") run -- true" \
  --prepare "rm -rf $(q "$tmp/uv-target")" -n "uv pip install --target (30 wheels)" "$uv_target" \
  --prepare "rm -rf $(q "$tmp/uv-target")" -n "uv --target --compile-bytecode (30 wheels)" "$uv_target --compile-bytecode")

###########################################################################
# 2. Real size.
###########################################################################

wheelhouse=${BENCH_WHEELHOUSE:-$HOME/.cache/nixpy-bench/wheelhouse}
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ ! -f "$wheelhouse/.complete-$version" ]; then
  bench_log "downloading numpy pandas pydantic rich requests tqdm click for Python $version into $wheelhouse (once)"
  mkdir -p "$wheelhouse"
  python3 -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --python-version "$version" --dest "$wheelhouse" numpy pandas pydantic rich requests tqdm click
  touch "$wheelhouse/.complete-$version"
fi
index=$(printf -- '--no-index\n--find-links %s\n' "$wheelhouse")
req5=$tmp/req5.txt; req6=$tmp/req6.txt; req7=$tmp/req7.txt
printf '%s\nnumpy\npandas\npydantic\nrich\nrequests\n' "$index" > "$req5"
cat "$req5" > "$req6"; echo tqdm >> "$req6"
cat "$req6" > "$req7"; echo click >> "$req7"
real=$tmp/real
mkdir -p "$real"
printf 'packages = ["hello"]\n' > "$real/nixpy.toml"
cp "$req5" "$real/requirements.txt"

bench_log "2. real size: first build (shell, resolution, layer; fills the uv cache)"
in_project "$real" "$nixpy" run -- python -c 'import numpy, pandas, pydantic, rich, requests' ||
  bench_fail "the real-size project does not import"
uvenv=$tmp/uvenv
uv_venv() { rm -rf "$uvenv"; "$uv" venv --quiet --python "$python" "$uvenv" && "$uv" pip install --quiet --python "$uvenv/bin/python" --compile-bytecode -r "$1"; }
uv_venv "$req7"

# First layer: nixpy resolves (the lock's pip part dropped) and installs
# every distribution; uv makes a venv, resolves and installs, compiled.
cat > "$tmp/drop-real" <<EOF
#!/usr/bin/env bash
set -e
cp $(q "$req5") $(q "$real/requirements.txt")
python3 -I $(q "$tmp/drop.py") $(q "$NIXPY_CACHE_DIR") all
python3 -I - $(q "$real/nixpy.lock") <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[1], "w").write(re.sub(r"\n\[pip\].*?(?=\n\[(?!\[pip)|\Z)", "\n", text, flags=re.S))
PYEOF
EOF
chmod +x "$tmp/drop-real"
uv_first="sh -c $(q "rm -rf $uvenv && $(q "$uv") venv --quiet --python $(q "$python") $(q "$uvenv") && $(q "$uv") pip install --quiet --python $(q "$uvenv/bin/python") --compile-bytecode -r $(q "$req5")")"
uv_first_plain="sh -c $(q "rm -rf $uvenv && $(q "$uv") venv --quiet --python $(q "$python") $(q "$uvenv") && $(q "$uv") pip install --quiet --python $(q "$uvenv/bin/python") -r $(q "$req5")")"
bench_log "hyperfine: first layer ($BIG_RUNS runs each)"
(cd "$real" && hyperfine -N --runs "$BIG_RUNS" --style basic --export-json "$tmp/first.json" \
  --prepare "$tmp/drop-real" -n "nixpy first layer" "$(q "$nixpy") run -- true" \
  --prepare true -n "uv venv + pip install --compile-bytecode" "$uv_first" \
  --prepare true -n "uv venv + pip install (no bytecode)" "$uv_first_plain")
# The parts, from one more build with -vv.
"$tmp/drop-real"
in_project "$real" "$nixpy" -vv run -- true 2> "$tmp/first-parts.err" || { cat "$tmp/first-parts.err" >&2; bench_fail "nixpy -vv failed"; }
first_parts=$(grep -E 'resolving .*: done|pip layer: ' "$tmp/first-parts.err" | sed 's/^nixpy: //' || true)

# Adding tqdm: the five installed, tqdm absent from the store; nixpy
# resolves and installs tqdm only. uv's incremental install, resolving.
cat > "$tmp/before-add" <<EOF
#!/usr/bin/env bash
set -e
cp $(q "$req5") $(q "$real/requirements.txt")
cd $(q "$real") && $(q "$nixpy") -q run -- true
python3 -I $(q "$tmp/drop.py") $(q "$NIXPY_CACHE_DIR") dist tqdm
cp $(q "$req6") $(q "$real/requirements.txt")
EOF
cat > "$tmp/before-uv-add" <<EOF
#!/usr/bin/env bash
set -e
rm -rf $(q "$uvenv")
$(q "$uv") venv --quiet --python $(q "$python") $(q "$uvenv")
$(q "$uv") pip install --quiet --python $(q "$uvenv/bin/python") --compile-bytecode -r $(q "$req5")
EOF
# Removing tqdm: the six installed; the five's composition no longer
# rooted, so nixpy composes (and installs nothing).
cat > "$tmp/before-remove" <<EOF
#!/usr/bin/env bash
set -e
cp $(q "$req6") $(q "$real/requirements.txt")
cd $(q "$real") && $(q "$nixpy") -q run -- true
python3 -I $(q "$tmp/drop.py") $(q "$NIXPY_CACHE_DIR") layers-without tqdm
cp $(q "$req5") $(q "$real/requirements.txt")
EOF
chmod +x "$tmp/before-add" "$tmp/before-uv-add" "$tmp/before-remove"
bench_log "hyperfine: adding and removing one package ($RUNS runs each)"
(cd "$real" && hyperfine -N --runs "$RUNS" --style basic --export-json "$tmp/edit.json" \
  --prepare "$tmp/before-add" -n "nixpy add tqdm" "$(q "$nixpy") run -- true" \
  --prepare "$tmp/before-uv-add" -n "uv pip install --compile-bytecode (+ tqdm)" \
    "$(q "$uv") pip install --quiet --python $(q "$uvenv/bin/python") --compile-bytecode -r $(q "$req6")" \
  --prepare "$tmp/before-remove" -n "nixpy remove tqdm" "$(q "$nixpy") run -- true")
"$tmp/before-remove"
in_project "$real" "$nixpy" -vv run -- true 2> "$tmp/remove.err"
removed_installs=no
grep -q 'installing' "$tmp/remove.err" && removed_installs=yes
"$tmp/before-add"
before_paths=$(ls /nix/store | sort)
in_project "$real" "$nixpy" -vv run -- true 2> "$tmp/add-parts.err" || { cat "$tmp/add-parts.err" >&2; bench_fail "nixpy -vv failed"; }
add_parts=$(grep -E 'resolving .*: done|pip layer: ' "$tmp/add-parts.err" | sed 's/^nixpy: //' || true)
growth=$(comm -13 <(printf '%s\n' "$before_paths") <(ls /nix/store | sort) | grep -E 'nixpy-dist-|nixpy-layer$' | sed 's|^|/nix/store/|' | xargs -r nix-store -q --size | python3 -c 'import sys; print(sum(int(l) for l in sys.stdin))')
growth_names=$(comm -13 <(printf '%s\n' "$before_paths") <(ls /nix/store | sort) | grep -E 'nixpy-dist-|nixpy-layer$' | sed 's/^[^-]*-//' | paste -sd' ' || true)
tqdm_size=$(du -sb "$(readlink -f "$(ls -d "$NIXPY_CACHE_DIR"/v1/dists/* | while read -r l; do readlink "$l"; done | grep -- '-nixpy-dist-tqdm-' | head -1)")" | cut -f1)

# `nixpy add --python attrs`: a new shell, the same pins, no layer work.
bench_log "nixpy add --python attrs (pins unchanged)"
start=$(date +%s.%N)
in_project "$real" "$nixpy" add --python attrs 2> "$tmp/add-python.err" || { cat "$tmp/add-python.err" >&2; bench_fail "nixpy add --python failed"; }
end=$(date +%s.%N)
add_python_s=$(echo "$end - $start" | bc)
add_python_layer=no
grep -Eq 'installing|composing' "$tmp/add-python.err" && add_python_layer=yes

# A second project overlapping the first: rich, requests, tqdm, click.
bench_log "a second project: rich requests tqdm click"
second=$tmp/second
mkdir -p "$second"
printf 'packages = ["jq"]\n' > "$second/nixpy.toml"
printf '%s\nrich\nrequests\ntqdm\nclick\n' "$index" > "$second/requirements.txt"
in_project "$second" "$nixpy" run -- python -c 'import rich, requests, tqdm, click' 2> "$tmp/second.err" ||
  { cat "$tmp/second.err" >&2; bench_fail "the second project failed"; }
second_installed=$(grep -o 'installing [0-9]* of [0-9]*' "$tmp/second.err" | head -1 || true)

# Importing 20 packages: the project interpreter (layer composition in the
# store, found through _nixpy.pth) against the plain uv venv.
cp "$req7" "$real/requirements.txt"
in_project "$real" "$nixpy" run -- true
uv_venv "$req7"
modules="numpy, pandas, pydantic, pydantic_core, rich, rich.console, requests, urllib3, idna, certifi, charset_normalizer, tqdm, dateutil, tzdata, typing_extensions, annotated_types, typing_inspection, markdown_it, mdurl, pygments, click"
bench_log "hyperfine: import of 20 packages ($RUNS runs)"
hyperfine -N --runs $((RUNS * 4)) --warmup 3 --style basic --export-json "$tmp/import.json" \
  -n "project interpreter: import 20" "$(q "$real/.venv/bin/python") -c $(q "import $modules")" \
  -n "uv venv: import 20" "$(q "$uvenv/bin/python") -c $(q "import $modules")"

python3 -I - "$tmp" <<PY
import json, sys
tmp = sys.argv[1]
def results(name):
    return {r["command"]: r for r in json.load(open(f"{tmp}/{name}.json"))["results"]}
def median(r):
    return r["median"]
def cpu(r):
    return r["user"] + r["system"]
whole, first, edit, imp = results("whole"), results("first"), results("edit"), results("import")
w_nixpy, w_uv = median(whole["nixpy whole layer (30 wheels)"]), median(whole["uv pip install --target (30 wheels)"])
f_nixpy, f_uv = median(first["nixpy first layer"]), median(first["uv venv + pip install --compile-bytecode"])
f_uv_plain = median(first["uv venv + pip install (no bytecode)"])
a_nixpy, a_uv = median(edit["nixpy add tqdm"]), median(edit["uv pip install --compile-bytecode (+ tqdm)"])
r_nixpy = median(edit["nixpy remove tqdm"])
i_nixpy, i_uv = median(imp["project interpreter: import 20"]), median(imp["uv venv: import 20"])
print("\nmedians (hyperfine, side by side):")
for group in (whole, first, edit, imp):
    for name, r in group.items():
        print(f"  {name:<46} {r['median'] * 1000:9.1f} ms  (mean {r['mean'] * 1000:.1f} ± {r['stddev'] * 1000:.1f})")
print("\nnixpy's first layer, part by part (-vv):")
print("""$first_parts""")
print("nixpy's add of tqdm, part by part (-vv):")
print("""$add_parts""")
growth = int("${growth:-0}" or 0)
print(f"store growth of adding tqdm: {growth / 1024:.1f} KiB NAR ($growth_names); tqdm alone on disk: {int('${tqdm_size:-0}') / 1024:.1f} KiB")
rows = [
    ("old: whole layer (30 wheels) / uv --target", f"{w_nixpy / w_uv:.2f}x", "<= 1.25x", w_nixpy / w_uv <= 1.25),
    ("first layer / uv venv + install --compile-bytecode", f"{f_nixpy / f_uv:.2f}x", "<= 1.3x", f_nixpy / f_uv <= 1.3),
    ("  (first layer / uv without bytecode)", f"{f_nixpy / f_uv_plain:.2f}x", "", None),
    ("add one package / uv incremental", f"{a_nixpy / a_uv:.2f}x", "<= 2x", a_nixpy / a_uv <= 2),
    ("remove one package: installs", "$removed_installs", "no", "$removed_installs" == "no"),
    ("remove one package, time", f"{r_nixpy * 1000:.0f} ms", "", None),
    ("store growth of the add", f"{growth / 1024:.0f} KiB", "~tqdm", None),
    ("add --python, pins unchanged: layer work", "$add_python_layer", "no", "$add_python_layer" == "no"),
    ("  (its time, a new Nix shell included)", f"{float('$add_python_s'):.2f} s", "", None),
    ("second project (overlapping pins)", "$second_installed", "the new one", "$second_installed".startswith("installing 1 of")),
    ("import 20 packages: project interpreter / uv venv", f"{i_nixpy / i_uv:.3f}x", "~1x", None),
    ("  (the same, CPU time user+sys)", f"{cpu(imp['project interpreter: import 20']) / cpu(imp['uv venv: import 20']):.3f}x", "~1x", None),
    ("  (add one package, CPU time user+sys)", f"{cpu(edit['nixpy add tqdm']) / cpu(edit['uv pip install --compile-bytecode (+ tqdm)']):.2f}x", "", None),
    ("  (first layer, CPU time user+sys)", f"{cpu(first['nixpy first layer']) / cpu(first['uv venv + pip install --compile-bytecode']):.2f}x", "", None),
]
print(f"\n{'measurement':<52} {'value':>14}  {'target':<11} result")
for name, value, target, ok in rows:
    result = "" if ok is None else ("met" if ok else "NOT met")
    print(f"{name:<52} {value:>14}  {target:<11} {result}")
PY
