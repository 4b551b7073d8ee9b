#!/bin/bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) and runs each for
# SECONDS (default 20) from the seed corpus in tests/fuzz/corpus, in a
# scratch copy so the checkout stays as it is. Prints one line per harness:
#   PASS: fuzz-NAME: N executions in S s, no crash, leak or sanitizer report
# or a FAIL line with the crashing input kept under build-fuzz/.
#
#   tests/fuzz/run.sh [SECONDS] [HARNESS...]
# A long run: tests/fuzz/run.sh 600
set -u
cd "$(dirname "$0")/../.."
top=$(pwd)
secs=${1:-20}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(frame name limits request)
if [ ! -f build-fuzz/build.ninja ]; then
        CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false >/dev/null || { echo "FAIL: fuzz: meson setup"; exit 1; }
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("tests/fuzz/fuzz-$h"); done
if ! ninja -C build-fuzz "${targets[@]}" > build-fuzz/fuzz-build.log 2>&1; then
        echo "FAIL: fuzz: the harnesses do not build"; tail -n 20 build-fuzz/fuzz-build.log; exit 1
fi
for h in "${harnesses[@]}"; do
        work=$top/build-fuzz/run-$h
        rm -rf "$work"
        mkdir -p "$work/corpus" "$work/artifacts"
        cp tests/fuzz/corpus/$h/* "$work/corpus/" 2>/dev/null
        log=$work/log.txt
        (cd "$work" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
                "$top/build-fuzz/tests/fuzz/fuzz-$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
                -artifact_prefix="$work/artifacts/" -print_final_stats=1 corpus) > "$log" 2>&1
        rc=$?
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        if [ "$rc" = 0 ] && ! grep -qE "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error|deadly signal" "$log"; then
                echo "PASS: fuzz-$h: ${runs:-?} executions in ${secs} s, no crash, leak or sanitizer report"
        else
                echo "FAIL: fuzz-$h: exit $rc after ${runs:-?} executions; input kept in $work/artifacts"
                grep -E "ERROR|runtime error|SUMMARY|#[0-9] " "$log" | head -n 20
        fi
done
exit 0
