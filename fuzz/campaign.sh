#!/usr/bin/env bash
# A fuzzing campaign over every target, at the lowest CPU priority.
#
#   fuzz/campaign.sh [SECONDS_PER_TARGET] [LANES] [TARGET...]
#
# Seeds each target from the bundled samples, the repository's test
# fixtures and, when FWCERT_CORPUS is set, the corpus's small format files
# (the xz-compressed ext images decompressed, so the ext target starts past
# the superblock). Seeds are copied into fuzz/corpus/<target>/ (ignored by
# git: corpus files are never committed). LANES targets run side by side.
# One line per target goes to fuzz/campaign.log: time, executions, coverage,
# and whether libFuzzer found a crash (its input is left in artifacts/).
set -u
# A relative FWCERT_CORPUS names a folder from where the script was called.
if [ -n "${FWCERT_CORPUS:-}" ]; then FWCERT_CORPUS=$(cd "$FWCERT_CORPUS" && pwd) || exit 1; fi
cd "$(dirname "$0")"
secs=${1:-300}
lanes=${2:-1}
shift $(( $# > 2 ? 2 : $# ))
export RUSTC_BOOTSTRAP=1
log=campaign.log

nice -n 19 cargo fuzz build -O >build.log 2>&1 || { echo "fuzz build failed: see fuzz/build.log" >&2; exit 1; }

seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
cp ../samples/*.bin "$seeds"/
find ../tests/data -type f -size -1M -not -name '*.sh' -not -name '*.md' -exec cp {} "$seeds"/ \;
# Formats no fixture holds (Hikvision digicap, 7z, LZMA/xz streams of a
# filesystem), made by fwcert's own builders.
(cd .. && nice -n 19 cargo run -q --example fuzz-seeds "$seeds") >/dev/null
if [ -n "${FWCERT_CORPUS:-}" ]; then
  for f in "$FWCERT_CORPUS"/formats/*; do
    name=$(basename "$f")
    # An xz file is a seed for the xz target as it is, and its contents
    # (the ext images) for the others.
    case "$f" in *.xz) xz -dc "$f" >"$seeds/${name%.xz}" ;; esac
    # Larger files (UBI, UBIFS, FIT images) give their first MiB: the
    # headers a parser must accept before anything else is reached.
    if [ "$(stat -c %s "$f")" -le 1048576 ]; then cp "$f" "$seeds"/; else head -c 1048576 "$f" >"$seeds/$name.head"; fi
  done
  # The firmware's first 256 KiB: vendor header and the start of the kernel.
  for f in "$FWCERT_CORPUS"/firmware/*; do head -c 262144 "$f" >"$seeds/$(basename "$f").head"; done
  cp "$FWCERT_CORPUS"/credentials/* "$FWCERT_CORPUS"/keys/* "$seeds"/ 2>/dev/null
fi

if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi

run_target() {
  local t=$1
  mkdir -p "corpus/$t"
  cp -n "$seeds"/* "corpus/$t"/ 2>/dev/null
  local start end out
  start=$(date +%s)
  out=$(mktemp)
  nice -n 19 cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" \
    -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 >"$out" 2>&1
  local rc=$?
  end=$(date +%s)
  local execs cov
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out" | tail -1 | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$out" | tail -1 | grep -o '[0-9]*$')
  local result="no crash"
  [ $rc -ne 0 ] && result="FAILED (exit $rc): $(grep -m1 -E 'ERROR|panicked|deadly signal|timeout|out-of-memory' "$out")"
  printf '%s %s %ss execs=%s cov=%s %s\n' "$(date -u +%F)" "$t" $((end - start)) "${execs:-?}" "${cov:-?}" "$result" >>"$log"
  [ $rc -ne 0 ] && cp "$out" "$t.failure.log"
  rm -f "$out"
}

i=0
for t in "${targets[@]}"; do
  run_target "$t" &
  i=$((i + 1))
  if [ $((i % lanes)) -eq 0 ]; then wait; fi
done
wait
