#!/bin/sh
# Builds BuildNet's batched file check (buildnet_stat.c) into the classes directory, so that it
# ships in the jar. Called by Maven on Linux x86-64 (buildnet-impl's native-linux-x86_64 profile).
# Usage: build-stat.sh JAVA_HOME OUTPUT_DIRECTORY
# Its own library, not part of the SQLite binding's: loading it must never load a second SQLite
# into a process (see SqliteDriver), and it builds in a second where SQLite takes ~30 s.
set -eu
java_home=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
lib=$out/libbuildnet-stat.so
if ! command -v gcc >/dev/null 2>&1; then
  echo "buildnet-impl: gcc is required on Linux x86-64 to build the native file check" \
    "(src/main/native/buildnet_stat.c); install it (Debian: apt-get install gcc)" >&2
  exit 1
fi
if [ -f "$lib" ] && [ "$lib" -nt "$here/buildnet_stat.c" ] && [ "$lib" -nt "$0" ]; then
  exit 0
fi
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Only the JNI functions (marked EXPORT) are exported.
gcc -std=c11 -O2 -fPIC -fvisibility=hidden -shared -Wall -Wextra -Werror -D_GNU_SOURCE \
  -I"$java_home/include" -I"$java_home/include/linux" \
  -o "$work/libbuildnet-stat.so" "$here/buildnet_stat.c"
mv "$work/libbuildnet-stat.so" "$lib"
