#!/bin/sh
# Builds BuildNet's SQLite binding (buildnet_sqlite.c, with SQLite's amalgamation sqlite/sqlite3.c
# compiled in) into the classes directory, so that it ships in the jar. Called by Maven on Linux
# x86-64 (buildnet-impl's native-linux-x86_64 profile).
# Usage: build.sh JAVA_HOME OUTPUT_DIRECTORY
# Needs gcc and the JDK's JNI headers. SQLite takes ~30 s to compile, so an output newer than
# every source is kept.
set -eu
java_home=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
lib=$out/libbuildnet-sqlite.so
if ! command -v gcc >/dev/null 2>&1; then
  echo "buildnet-impl: gcc is required on Linux x86-64 to build the native SQLite binding" \
    "(src/main/native/buildnet_sqlite.c); install it (Debian: apt-get install gcc)" >&2
  exit 1
fi
# (The file check's sources, beside these, are build-stat.sh's.)
if [ -f "$lib" ] && [ -z "$(find "$here" -newer "$lib" -type f ! -name buildnet_stat.c \
    ! -name build-stat.sh | head -n 1)" ]; then
  exit 0
fi
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# SQLite's options: SQLite's recommended set for an embedded library (https://sqlite.org/
# compile.html) minus what the backend would notice. THREADSAFE=2: a connection is used by one
# thread at a time (SqliteConnection's lock), so no per-call mutex; no memory statistics (a global
# mutex per allocation); no extension loading (no dlopen); -fvisibility=hidden keeps every
# sqlite3_* symbol inside this library, so it cannot clash with another SQLite in the process.
gcc -std=gnu11 -O2 -fPIC -fvisibility=hidden -w \
  -DSQLITE_THREADSAFE=2 -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_OMIT_LOAD_EXTENSION \
  -DSQLITE_DQS=0 -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_OMIT_DEPRECATED \
  -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_PROGRESS_CALLBACK -DSQLITE_USE_ALLOCA \
  -DSQLITE_MAX_EXPR_DEPTH=0 \
  -c "$here/sqlite/sqlite3.c" -o "$work/sqlite3.o"
gcc -std=c11 -O2 -fPIC -fvisibility=hidden -Wall -Wextra -Werror -D_GNU_SOURCE \
  -I"$here/sqlite" -I"$java_home/include" -I"$java_home/include/linux" \
  -c "$here/buildnet_sqlite.c" -o "$work/binding.o"
# Only the JNI functions (marked EXPORT) are exported.
gcc -shared -fvisibility=hidden -o "$work/libbuildnet-sqlite.so" "$work/binding.o" \
  "$work/sqlite3.o" -lpthread -lm
mv "$work/libbuildnet-sqlite.so" "$lib"
