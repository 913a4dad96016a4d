#!/usr/bin/env bash
# `nixpy search` (issue 18): a search answered from the index of the
# pinned revision, against `nix search` of the same nixpkgs (the stand-in),
# in one hyperfine run; and the first search of a revision, which builds
# the index, timed once.
#
# The stand-in is tiny: with real nixpkgs `nix search` takes tens of
# seconds cold and the index's one evaluation about as long, while a search
# from the index stays a file read (real nixpkgs' index is ~120,000 lines).
#
# Prints ratios and whether each target is met; never fails on a time.
#
# Usage: bench/search.sh       (BENCH_NIXPY=/path/to/nixpy: measure that build instead)
set -euo pipefail
. "$(dirname "$0")/common.sh"
bench_init

RUNS=20

bench_standin "$tmp/standin"
project=$tmp/project
mkdir -p "$project"
printf 'packages = ["hello"]\n' > "$project/nixpy.toml"
in_project() { (cd "$project" && "$@"); }
in_project "$nixpy" lock > /dev/null 2>&1 || bench_fail "nixpy lock failed"

bench_log "first search: indexes the pinned revision"
start=$(date +%s.%N)
in_project "$nixpy" search audio > /dev/null 2> "$tmp/first.err" || bench_fail "the first search failed"
end=$(date +%s.%N)
grep -q 'indexing nixpkgs' "$tmp/first.err" || bench_fail "the first search did not index"
# The next search must not run Nix at all (-v prints every Nix command).
in_project "$nixpy" -v search audio > /dev/null 2> "$tmp/second.err"
if grep -q 'nixpy: \$ ' "$tmp/second.err"; then bench_fail "a search from the index ran Nix"; fi

bench_log "hyperfine: from the index vs nix search"
(cd "$project" && hyperfine --warmup 3 --runs "$RUNS" --export-json "$tmp/search.json" \
  -n "nixpy search (from the index)" "$nixpy search audio" \
  -n "nix search (the same nixpkgs)" "nix search $NIXPY_NIXPKGS audio" \
  > /dev/null)

bench_log "an index the size of real nixpkgs' (120,000 packages)"
index=$(ls "$NIXPY_CACHE_DIR"/v1/search/*.tsv)
python3 -I - "$index" <<'PY'
import random, sys
random.seed(18)
words = "audio video image text json python library tool converter parser server client network graphics font editor compiler".split()
with open(sys.argv[1], "a") as f:
    for i in range(120_000):
        name = f"pkg{i:06d}-{random.choice(words)}"
        description = " ".join(random.choice(words) for _ in range(8)).capitalize()
        f.write(f"{name}\t{random.randint(0, 9)}.{random.randint(0, 30)}\t{description}\n")
PY
(cd "$project" && hyperfine --warmup 3 --runs "$RUNS" --export-json "$tmp/big.json" \
  -n "nixpy search (120,000 packages)" "$nixpy search audio" > /dev/null)

python3 -I - "$tmp/search.json" "$start" "$end" "$tmp/big.json" <<'PY'
import json, sys

results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
results.update({r["command"]: r for r in json.load(open(sys.argv[4]))["results"]})
first = float(sys.argv[3]) - float(sys.argv[2])
mean = lambda name: results[name]["mean"]
nixpy, nix = mean("nixpy search (from the index)"), mean("nix search (the same nixpkgs)")
print("\nmeans (hyperfine, same run):")
for name, r in results.items():
    print(f"  {name:<34} {r['mean'] * 1000:8.1f} ms ± {r['stddev'] * 1000:.1f}")
print(f"first search (indexing the revision), once: {first * 1000:.0f} ms")
big = mean("nixpy search (120,000 packages)")
rows = [
    ("nixpy search from the index", f"{nixpy * 1000:.1f} ms", "< 100 ms", nixpy < 0.1),
    ("  from a 120,000-package index", f"{big * 1000:.1f} ms", "< 100 ms", big < 0.1),
    ("nix search / nixpy search", f"{nix / nixpy:.1f}x", "> 1x", nix > nixpy),
]
print(f"\n{'measurement':<34} {'value':>9}  {'target':<9} result")
for name, value, target, ok in rows:
    print(f"{name:<34} {value:>9}  {target:<9} {'met' if ok else 'NOT met'}")
PY
