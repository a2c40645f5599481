#!/bin/sh
# Compares two benchmarks.jar builds (base first) in one JVM, alternating CPU slices:
#   buildnet-impl/bench/state-cpu-ab/run.sh /tmp/base/benchmarks.jar buildnet-impl/target/benchmarks.jar \
#     lock,setAll1000,set,get
# SLICE (CPU seconds per slice, default 0.2) and SLICES (pairs per operation, default 40).
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
javac -cp "$1" -d "$out/ops" "$here/Ops.java"
javac -d "$out" "$here/StateCpuAb.java"
# The backends' databases go under $out too, removed below.
java -Djava.io.tmpdir="$out" -Dops="$out/ops/" -Dslice="${SLICE:-0.2}" -Dslices="${SLICES:-40}" -cp "$out" StateCpuAb "$1" "$2" "$3" 2>/dev/null
rm -rf "$out"
