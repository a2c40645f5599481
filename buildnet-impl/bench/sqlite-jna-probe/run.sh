#!/bin/sh
# Issue 13 §5 option (b), measured: get / set / setAll1000 through JNA on a system libsqlite3.
#   buildnet-impl/bench/sqlite-jna-probe/run.sh   (-Dlib=/path/to/libsqlite3.so.0 to pick a library)
# Compare with: java -Dcpu=threads -Donly=get,set,setAll1000 -cp buildnet-impl/target/benchmarks.jar \
#   dev.buildnet.bench.StateCpuHarness   (both count the calling thread's CPU).
set -e
here=$(cd "$(dirname "$0")" && pwd)
jna=$(ls ~/.m2/repository/net/java/dev/jna/jna/5.19.1/jna-5.19.1.jar)
out=$(mktemp -d)
javac -cp "$jna" -d "$out" "$here/JnaProbe.java"
java "$@" -cp "$out:$jna" JnaProbe
rm -rf "$out"
