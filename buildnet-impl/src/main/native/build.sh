#!/bin/sh
# Builds BuildNet's SQLite binding (buildnet_sqlite.c) into the classes directory, so that it ships
# in the jar. Called by Maven on Linux x86-64 (buildnet-impl's native-linux-x86_64 profile).
# Usage: build.sh JAVA_HOME OUTPUT_DIRECTORY
# Needs only gcc and the JDK's JNI headers: SQLite is opened at run time with dlopen, so neither
# libsqlite3-dev nor a link against libsqlite3 is needed here.
set -eu
java_home=$1
out=$2
here=$(dirname "$0")
if ! command -v gcc >/dev/null 2>&1; then
  echo "buildnet-impl: gcc is required on Linux x86-64 to build the native SQLite binding" \
    "(src/main/native/buildnet_sqlite.c); install it (Debian: apt-get install gcc)" >&2
  exit 1
fi
mkdir -p "$out"
# -fvisibility=hidden: only the JNI functions (marked EXPORT) are exported.
exec gcc -std=c11 -O2 -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror \
  -D_GNU_SOURCE -I"$java_home/include" -I"$java_home/include/linux" \
  -o "$out/libbuildnet-sqlite.so" "$here/buildnet_sqlite.c" -ldl
