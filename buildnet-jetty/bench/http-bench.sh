#!/usr/bin/env bash
# Requests per second of BuildNet's HTTP front on loopback, measured with wrk:
#   1. GET /health            (fixed response, no token)
#   2. GET /api/builds        (the JSON build list, 20 builds kept, with the bearer token)
# Needs: wrk, curl, and the runnable jar (mvn -B -pl buildnet-examples -am package -DskipTests).
# Usage: buildnet-jetty/bench/http-bench.sh [seconds per run, default 5] [connections, default 64] [wrk threads, default 1]
set -euo pipefail
cd "$(dirname "$0")/../.."
JAR=buildnet-examples/target/buildnet.jar
SECONDS_PER_RUN=${1:-5}
CONNECTIONS=${2:-64}
# One wrk thread by default: on a 2-core machine a second one takes CPU from the server it measures.
THREADS=${3:-1}
PORT=${BUILDNET_BENCH_PORT:-17891}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
[ -f "$JAR" ] || { echo "$JAR is missing: mvn -B -pl buildnet-examples -am package -DskipTests" >&2; exit 1; }

WS=$(mktemp -d)
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WS"
}
trap cleanup EXIT

cat > "$WS/buildnet.json" <<'JSON'
{
  "version": 1,
  "targets": {
    "lib": { "command": ["sh", "-c", "echo lib > lib.txt"], "outputs": ["lib.txt"] },
    "app": { "command": ["sh", "-c", "cat lib.txt > app.txt"], "inputs": ["lib.txt"],
             "outputs": ["app.txt"], "deps": ["lib"] }
  }
}
JSON
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WS/secret"
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TOKEN" > "$WS/token"

java -Xmx256m -jar "$JAR" serve -w "$WS" --listen 127.0.0.1:0 --secret-file "$WS/secret" \
  --http "127.0.0.1:$PORT" --http-token-file "$WS/token" > "$WS/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WS/server.log"; exit 1; }
  sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null || { echo "server did not become ready" >&2; cat "$WS/server.log"; exit 1; }

for _ in $(seq 1 20); do
  curl -fs -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"targets":["app"]}' "http://127.0.0.1:$PORT/api/builds" >/dev/null
done

# The machine may be shared: besides wrk's figure, report requests per CPU-second the server
# itself used (from /proc), which does not depend on what else runs.
TCK=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
run() { # label, wrk args...
  local label=$1; shift
  local before after out reqs
  before=$(ticks)
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@")
  after=$(ticks)
  echo "$out"
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  awk -v r="$reqs" -v t=$((after - before)) -v hz="$TCK" -v l="$label" \
    'BEGIN { printf "%s: server CPU %.2f s for %d requests = %.0f requests per server CPU-second\n", l, t / hz, r, r / (t / hz) }'
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

echo "== warm-up"
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://127.0.0.1:$PORT/health" >/dev/null
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/builds" >/dev/null

echo "== GET /health (wrk -t"$THREADS" -c$CONNECTIONS -d${SECONDS_PER_RUN}s)"
run /health "http://127.0.0.1:$PORT/health"
echo
echo "== GET /api/builds, $(curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/builds" | wc -c) bytes (wrk -t"$THREADS" -c$CONNECTIONS -d${SECONDS_PER_RUN}s)"
run /api/builds -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/builds"
