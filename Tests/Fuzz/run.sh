#!/usr/bin/env bash
# Builds the libFuzzer targets over Sources/MicoHTTP and runs each for its share of SECONDS (default 60 in total).
# Exits non-zero if a target crashes, trips a sanitizer or violates an invariant; the input that did it is kept in
# $FUZZ_BUILD_DIR/artifacts/<target>/. Linux only: libFuzzer ships with Swift's Linux toolchain. See README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

total_seconds="${1:-60}"
targets=(request chunked)
build_dir="${FUZZ_BUILD_DIR:-.build-fuzz}"
per_target=$((total_seconds / ${#targets[@]}))
if ((per_target < 1)); then per_target=1; fi

mkdir -p "$build_dir"
work="$(mktemp -d "${TMPDIR:-/tmp}/mico-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

status=0
for target in "${targets[@]}"; do
    source="Tests/Fuzz/Fuzz$(tr '[:lower:]' '[:upper:]' <<<"${target:0:1}")${target:1}.swift"
    binary="$build_dir/fuzz-$target"
    echo "== building $target ($source)"
    swiftc -sanitize=fuzzer,address -parse-as-library -swift-version 6 -O -g \
        -module-name MicoHTTPFuzz -o "$binary" \
        Sources/MicoHTTP/*.swift Tests/Fuzz/FuzzSupport.swift "$source"

    # libFuzzer adds what it finds to its first corpus folder, so it gets a copy, never the committed seeds.
    corpus="$work/$target"
    mkdir -p "$corpus"
    cp Tests/Fuzz/corpus/"$target"/* "$corpus"/
    artifacts="$build_dir/artifacts/$target"
    rm -rf "$artifacts"
    mkdir -p "$artifacts"

    echo "== fuzzing $target for ${per_target}s"
    if ! "$binary" -max_total_time="$per_target" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
        -dict=Tests/Fuzz/http.dict -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus"; then
        status=1
    fi
    # A target that died without libFuzzer's exit code still leaves its input behind.
    if compgen -G "$artifacts/*" >/dev/null; then
        echo "!! $target: failing inputs in $artifacts:" >&2
        ls -l "$artifacts" >&2
        status=1
    fi
done

if ((status != 0)); then
    echo "fuzzing FAILED; replay an input with: $build_dir/fuzz-<target> <file>" >&2
fi
exit "$status"
