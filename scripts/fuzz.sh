#!/usr/bin/env bash
# Fuzzing driver for every IFuzzTarget in tests/Membrane.Fuzz (parsers of the proxy; the Kafka codec adds its own).
#   scripts/fuzz.sh list
#   scripts/fuzz.sh smoke [TARGET...]            bounded, seeded mutation run without AFL (also run by the test suite)
#   scripts/fuzz.sh replay [TARGET...]           replay the saved corpus (tests/Membrane.Fuzz/corpus/TARGET)
#   scripts/fuzz.sh afl TARGET [SECONDS]         AFL++ (Debian afl++) over a SharpFuzz-instrumented build, bounded in time
#                                                (default 60 s); findings in artifacts/fuzz/TARGET, replayed at the end
#   scripts/fuzz.sh afl-all SECONDS [TARGET...]  the same for every target (./test runs this with a few seconds each)
# Env: SMOKE_ITERATIONS (default 20000), SMOKE_SEED (default 1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORPUS="$ROOT/tests/Membrane.Fuzz/corpus"
OUT="$ROOT/artifacts/fuzz"
PLAIN="$ROOT/artifacts/bin/Membrane.Fuzz/release/Membrane.Fuzz.dll"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

build_plain() {
    dotnet build "$ROOT/tests/Membrane.Fuzz/Membrane.Fuzz.csproj" -c Release -nologo -v:q -clp:ErrorsOnly >&2
}

targets() { if [ $# -gt 0 ]; then printf '%s\n' "$@"; else dotnet "$PLAIN" list; fi; }

cmd=${1:-list}; shift || true
case "$cmd" in
    list)
        build_plain; dotnet "$PLAIN" list ;;
    smoke)
        build_plain
        for t in $(targets "$@"); do
            dotnet "$PLAIN" smoke "$t" "${SMOKE_ITERATIONS:-20000}" "${SMOKE_SEED:-1}" "$CORPUS/$t"
        done ;;
    replay)
        build_plain
        for t in $(targets "$@"); do dotnet "$PLAIN" replay "$t" "$CORPUS/$t"; done ;;
    afl|afl-all)
        # afl TARGET [SECONDS]: one target; afl-all SECONDS [TARGET...]: every target (or those named), SECONDS each,
        # over one instrumented build (what ./test runs: a short coverage-guided run of every parser).
        build_plain
        if [ "$cmd" = afl ]; then list=${1:?target}; secs=${2:-60}; else secs=${1:?seconds}; shift; list=$(targets "$@"); fi
        [ "$secs" -le 3600 ] || { echo "bounded runs only (SECONDS <= 3600)" >&2; exit 2; }
        command -v afl-fuzz >/dev/null || { echo "afl-fuzz missing: apt-get install afl++" >&2; exit 2; }
        bin="$OUT/bin"; tools="$OUT/tools"
        mkdir -p "$OUT"
        # A separate output folder: instrumentation rewrites the assemblies in place.
        dotnet build "$ROOT/tests/Membrane.Fuzz/Membrane.Fuzz.csproj" -c Release -nologo -v:q -clp:ErrorsOnly -o "$bin" >&2
        [ -x "$tools/sharpfuzz" ] || dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0 >&2
        for dll in "$bin"/Membrane.*.dll; do
            case "$(basename "$dll")" in Membrane.Fuzz.dll) continue ;; esac
            "$tools/sharpfuzz" "$dll" >&2 || true   # already-instrumented assemblies are refused; that is fine
        done
        failed=0
        for t in $list; do
            findings="$OUT/$t"; rm -rf "$findings"
            if ! AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 \
                timeout $((secs + 60)) afl-fuzz -V "$secs" -t 5000 -m none -i "$CORPUS/$t" -o "$findings" -- dotnet "$bin/Membrane.Fuzz.dll" run "$t" \
                > "$OUT/$t.log" 2>&1; then
                tail -20 "$OUT/$t.log" >&2; failed=1; continue
            fi
            stats="$findings/default/fuzzer_stats"
            echo "$t: $(grep -E '^(execs_done|corpus_count|saved_crashes|saved_hangs) ' "$stats" | awk '{printf "%s=%s ", $1, $3}')"
            crashes=$(find "$findings/default/crashes" -type f -name 'id:*' | wc -l)
            if [ "$crashes" -ne 0 ]; then
                dotnet "$PLAIN" replay "$t" "$findings/default/crashes" || true
                echo "$crashes crashing inputs in $findings/default/crashes" >&2; failed=1; continue
            fi
            dotnet "$PLAIN" replay "$t" "$CORPUS/$t"
        done
        exit $failed ;;
    *)
        sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
