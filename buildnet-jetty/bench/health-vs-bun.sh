#!/usr/bin/env bash
# GET /health of BuildNet's HTTP front (`buildnet.jar serve --http`) against Bun.serve's static
# /health (../shared/bench/serve.ts), with the same wrk load, run alternately (A, B, A, B...) so
# that both see the same machine; prints each run's requests/s and the ratio BuildNet / Bun.
# Needs: wrk, curl, bun (BUN=path), the runnable jar (mvn -B -pl buildnet-examples -am package -DskipTests).
# Usage: buildnet-jetty/bench/health-vs-bun.sh [rounds, default 3] [seconds, default 10] [connections, default 32]
# (BUILDNET_BENCH_JAR=path measures another build of the jar, BUILDNET_BENCH_LAUNCHER=path another
# bin/buildnet; SERVE_TS=path another Bun script.) The server runs through bin/buildnet, so with the
# JVM flags `buildnet serve` gets.
set -euo pipefail
cd "$(dirname "$0")/../.."
JAR=${BUILDNET_BENCH_JAR:-buildnet-examples/target/buildnet.jar}
LAUNCHER=${BUILDNET_BENCH_LAUNCHER:-buildnet-examples/src/main/dist/bin/buildnet}
BUN=${BUN:-bun}
SERVE_TS=${SERVE_TS:-../shared/bench/serve.ts}
ROUNDS=${1:-3}
SECONDS_PER_RUN=${2:-10}
CONNECTIONS=${3:-32}
PORT=${BUILDNET_BENCH_PORT:-17893}
BUN_PORT=${BUILDNET_BENCH_BUN_PORT:-17894}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
command -v "$BUN" >/dev/null || { echo "bun is missing: npm install bun, then BUN=path/to/bun" >&2; exit 1; }
[ -f "$JAR" ] || { echo "$JAR is missing: mvn -B -pl buildnet-examples -am package -DskipTests" >&2; exit 1; }
[ -f "$SERVE_TS" ] || { echo "$SERVE_TS is missing (set SERVE_TS)" >&2; exit 1; }

WS=$(mktemp -d)
SERVER=
BUNSERVER=
cleanup() {
  for p in $SERVER $BUNSERVER; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$WS"
}
trap cleanup EXIT

cat > "$WS/buildnet.json" <<'JSON'
{ "version": 1, "targets": { "lib": { "command": ["true"] } } }
JSON
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WS/secret"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WS/token"
# Through the distribution's launcher, with the JVM flags a user of `buildnet serve` gets (it execs
# java, so $! is the JVM); its archive cache in the scratch directory, not the user's.
BUILDNET_JAR=$JAR XDG_CACHE_HOME=$WS/cache JAVA_OPTS= BUILDNET_OPTS= bash "$LAUNCHER" serve -w "$WS" \
  --listen 127.0.0.1:0 --secret-file "$WS/secret" \
  --http "127.0.0.1:$PORT" --http-token-file "$WS/token" > "$WS/server.log" 2>&1 &
SERVER=$!
PORT=$BUN_PORT "$BUN" run "$SERVE_TS" > "$WS/bun.log" 2>&1 &
BUNSERVER=$!
for url in "http://127.0.0.1:$PORT/health" "http://127.0.0.1:$BUN_PORT/health"; do
  for _ in $(seq 1 100); do curl -fs "$url" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fs "$url" >/dev/null || { echo "$url did not answer" >&2; cat "$WS"/*.log; exit 1; }
done
# Warm up both (the JIT most of all), unmeasured: BuildNet by requests served, not by seconds
# (under load from other jobs the JIT compilers get little CPU, and 5 s left the measured rounds
# inside the warm-up): 300,000 requests, at most 60 s.
WARM=0
for _ in $(seq 1 30); do
  n=$(wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$PORT/health" | awk '/requests in/ {print $1}')
  WARM=$((WARM + n))
  [ "$WARM" -lt 300000 ] || break
done
wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$BUN_PORT/health" >/dev/null

# Besides requests/s, requests per CPU-second each server used (from /proc): on a shared
# machine that does not depend on how much of the CPU the other jobs left it.
TCK=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
RATE= PER_CPU=
measure() { # url pid: sets RATE and PER_CPU
  local before after out
  before=$(ticks "$2")
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" "$1")
  after=$(ticks "$2")
  RATE=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  PER_CPU=$(echo "$out" | awk -v t=$((after - before)) -v hz="$TCK" '/requests in/ {printf "%.0f", $1 / (t / hz)}')
}
for r in $(seq 1 "$ROUNDS"); do
  measure "http://127.0.0.1:$PORT/health" "$SERVER"
  a=$RATE ac=$PER_CPU
  measure "http://127.0.0.1:$BUN_PORT/health" "$BUNSERVER"
  b=$RATE bc=$PER_CPU
  awk -v r="$r" -v a="$a" -v b="$b" -v ac="$ac" -v bc="$bc" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
    'BEGIN { printf "round %d: BuildNet %.0f req/s, Bun %.0f req/s, ratio %.2f; per server CPU-second %.0f vs %.0f, ratio %.2f (load %s)\n", r, a, b, a / b, ac, bc, ac / bc, l }'
done
