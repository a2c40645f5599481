#!/usr/bin/env bash
# Requests per second of BuildNet's HTTP front on loopback, measured with wrk:
#   1. GET /health            (fixed response, no token)
#   2. GET /api/builds        (the JSON build list, 20 builds kept, with the bearer token)
#   3. PUT /cache/{key}       (1 KiB, a distinct body and key each time: cache-put.lua)
#   4. GET /cache/{key}       (1 KiB hits over 1,000 keys, each verified: cache-get.lua)
#   5. GET /health p99 while 500 authenticated uploads trickle a byte a second (slow-uploads.py)
# and, if nginx is installed (Debian's, with its WebDAV module), 3 and 4 against nginx serving
# the same paths from a directory (dav_methods PUT), each right after BuildNet's run of the same
# test (so both meet the same load from other jobs), with the ratio BuildNet / nginx.
# Needs: wrk, curl, python3, and the runnable jar (mvn -B -pl buildnet-examples -am package -DskipTests).
# Usage: buildnet-jetty/bench/http-bench.sh [seconds per run, default 5] [connections, default 64] [wrk threads, default 1]
# (BUILDNET_BENCH_JAR=path measures another build of the jar, e.g. an older commit's, against the same nginx run;
#  BUILDNET_BENCH_ONLY=get or =put runs only the GET /cache or the PUT /cache comparison, for
#  interleaving many rounds.)
# (BUILDNET_BENCH_JAVA_OPTS adds JVM options to BuildNet's server, e.g. a flight recording.)
# Both servers run in a session of their own: nginx puts itself in one when it daemonizes, and
# Linux's scheduler (with autogroup, the default) shares the CPU between sessions first, so
# BuildNet is started with setsid to be placed alike rather than beside wrk in this script's.
set -euo pipefail
cd "$(dirname "$0")/../.."
JAR=${BUILDNET_BENCH_JAR:-buildnet-examples/target/buildnet.jar}
SECONDS_PER_RUN=${1:-5}
CONNECTIONS=${2:-64}
# One wrk thread by default: on a 2-core machine a second one takes CPU from the server it measures.
THREADS=${3:-1}
PORT=${BUILDNET_BENCH_PORT:-17891}
NGINX_PORT=${BUILDNET_BENCH_NGINX_PORT:-17892}
BENCH=buildnet-jetty/bench
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
[ -f "$JAR" ] || { echo "$JAR is missing: mvn -B -pl buildnet-examples -am package -DskipTests" >&2; exit 1; }

# BUILDNET_BENCH_SHARED_SESSION=1 leaves BuildNet in this script's session (how it ran before).
SETSID=setsid
[ "${BUILDNET_BENCH_SHARED_SESSION:-}" != 1 ] || SETSID=
WS=$(mktemp -d)
SERVER=
NGINX=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  if [ -n "$NGINX" ] && [ -f "$WS/nginx/nginx.pid" ]; then kill "$(cat "$WS/nginx/nginx.pid")" 2>/dev/null || true; fi
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

$SETSID java -Xmx256m ${BUILDNET_BENCH_JAVA_OPTS:-} -jar "$JAR" serve -w "$WS" --listen 127.0.0.1:0 --secret-file "$WS/secret" \
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
# nginx's CPU: its workers' (the master only accepts signals).
nginx_ticks() {
  local t=0 p
  for p in $(pgrep -P "$(cat "$WS/nginx/nginx.pid")"); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}
LAST_RATE=0
run() { # label, wrk args...
  local label=$1; shift
  local before after out reqs
  before=$(ticks)
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency "$@")
  after=$(ticks)
  echo "$out"
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  LAST_RATE=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  awk -v r="$reqs" -v t=$((after - before)) -v hz="$TCK" -v l="$label" \
    'BEGIN { printf "%s: server CPU %.2f s for %d requests = %.0f requests per server CPU-second\n", l, t / hz, r, r / (t / hz) }'
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}

ONLY=${BUILDNET_BENCH_ONLY:-}
if [ -z "$ONLY" ]; then
echo "== warm-up"
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "http://127.0.0.1:$PORT/health" >/dev/null
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/builds" >/dev/null

echo "== GET /health (wrk -t"$THREADS" -c$CONNECTIONS -d${SECONDS_PER_RUN}s)"
run /health "http://127.0.0.1:$PORT/health"
echo
echo "== GET /api/builds, $(curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/builds" | wc -c) bytes (wrk -t"$THREADS" -c$CONNECTIONS -d${SECONDS_PER_RUN}s)"
run /api/builds -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/builds"
fi

# Stores 1,000 keys g0..g999 of 1 KiB each under $1 (a base URL), over one keep-alive connection.
populate() {
  local base=$1 cfg=$WS/populate.curl
  : > "$cfg"
  mkdir -p "$WS/bodies"
  for n in $(seq 0 999); do
    printf '%01024d' "$n" > "$WS/bodies/g$n"
    printf 'url = "%s/cache/g%d"\nupload-file = "%s"\noutput = /dev/null\n' "$base" "$n" "$WS/bodies/g$n" >> "$cfg"
  done
  curl -fsS -H "Authorization: Bearer $TOKEN" -K "$cfg"
}

export BENCH_TOKEN=$TOKEN BENCH_KEYS=1000
if command -v nginx >/dev/null; then
  mkdir -p "$WS/nginx/root/cache" "$WS/nginx/tmp"
  cat > "$WS/nginx/nginx.conf" <<NGINX
worker_processes auto;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
pid $WS/nginx/nginx.pid;
error_log $WS/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WS/nginx/tmp;
  proxy_temp_path $WS/nginx/tmp;
  fastcgi_temp_path $WS/nginx/tmp;
  uwsgi_temp_path $WS/nginx/tmp;
  scgi_temp_path $WS/nginx/tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /cache/ {
      root $WS/nginx/root;
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 256m;
    }
  }
}
NGINX
  nginx -c "$WS/nginx/nginx.conf" -e "$WS/nginx/error.log"
  NGINX=1
  for _ in $(seq 1 50); do [ -f "$WS/nginx/nginx.pid" ] && break; sleep 0.1; done
fi

# Each BuildNet run is followed at once by the same wrk test against nginx, so that both meet the
# same load from whatever else the machine runs.
nginx_run() { # label, lua script; sets LAST_NGINX
  LAST_NGINX=
  [ -n "$NGINX" ] || return 0
  echo
  echo "== nginx $(nginx -v 2>&1 | sed 's/.*\///'), $1 (same wrk test)"
  local out before after reqs
  before=$(nginx_ticks)
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s "$2" "http://127.0.0.1:$NGINX_PORT"); echo "$out"
  after=$(nginx_ticks)
  LAST_NGINX=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  awk -v r="$reqs" -v t=$((after - before)) -v hz="$TCK" \
    'BEGIN { printf "nginx: workers CPU %.2f s for %d requests = %.0f requests per server CPU-second\n", t / hz, r, r / (t / hz) }'
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}
# warm_up SCRIPT REQUESTS ROUNDS: BuildNet serves REQUESTS with SCRIPT, in 2 s rounds, at most ROUNDS.
warm_up() {
  local served=0 n
  for _ in $(seq 1 "$3"); do
    n=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s "$1" "http://127.0.0.1:$PORT" | awk '/requests in/ {print $1}')
    served=$((served + ${n:-0}))
    [ "$served" -lt "$2" ] || break
  done
}
PUT_RATE=0 NGINX_PUT=0
if [ -z "$ONLY" ] || [ "$ONLY" = put ]; then
# Warmed up by requests served, as the GET test below is (see there): 50,000 PUTs, at most 60 s.
warm_up "$BENCH/cache-put.lua" 50000 30
echo
echo "== PUT /cache/{key}, 1 KiB, distinct (wrk -t"$THREADS" -c$CONNECTIONS -d${SECONDS_PER_RUN}s)"
run "PUT /cache" -s "$BENCH/cache-put.lua" "http://127.0.0.1:$PORT"
PUT_RATE=$LAST_RATE
nginx_run "WebDAV PUT /cache/{key}" "$BENCH/cache-put.lua"
NGINX_PUT=$LAST_NGINX
fi
if [ "$ONLY" = put ]; then
  [ -z "$NGINX" ] || awk -v p="$PUT_RATE" -v np="$NGINX_PUT" \
    'BEGIN { if (np > 0) printf "PUT /cache: BuildNet %.0f/s, nginx %.0f/s, ratio %.2f\n", p, np, p / np }'
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi
populate "http://127.0.0.1:$PORT"
[ -z "$NGINX" ] || populate "http://127.0.0.1:$NGINX_PORT"
echo
# Warmed up by requests served, not by seconds: under load from other jobs the JIT compilers
# get little CPU, and a fixed 2 s left the measured run inside the warm-up (requests per server
# CPU-second then rose 6-fold over the next 30 s at load ~20), which nginx, compiled ahead of
# time, does not have. 200,000 GETs (at most 90 s).
warm_up "$BENCH/cache-get.lua" 200000 45
echo "== GET /cache/{key}, 1 KiB hits over 1,000 keys (wrk -t"$THREADS" -c$CONNECTIONS -d${SECONDS_PER_RUN}s)"
run "GET /cache" -s "$BENCH/cache-get.lua" "http://127.0.0.1:$PORT"
GET_RATE=$LAST_RATE
nginx_run "GET /cache/{key}" "$BENCH/cache-get.lua"
NGINX_GET=$LAST_NGINX
echo
if [ -n "$NGINX" ]; then
  awk -v p="$PUT_RATE" -v np="$NGINX_PUT" -v g="$GET_RATE" -v ng="$NGINX_GET" 'BEGIN {
    if (np > 0) printf "PUT /cache: BuildNet %.0f/s, nginx %.0f/s, ratio %.2f\n", p, np, p / np
    printf "GET /cache: BuildNet %.0f/s, nginx %.0f/s, ratio %.2f\n", g, ng, g / ng }'
else
  echo "nginx is not installed (apt-get install -y nginx): no comparison"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -z "$ONLY" ] || exit 0

echo
echo "== GET /health p99 while 500 authenticated uploads trickle a byte a second (wrk -t1 -c4 -d${SECONDS_PER_RUN}s)"
python3 "$BENCH/slow-uploads.py" "$PORT" "$TOKEN" 500 $((SECONDS_PER_RUN + 30)) > "$WS/slow.out" &
SLOW=$!
for _ in $(seq 1 300); do grep -q open "$WS/slow.out" 2>/dev/null && break; sleep 0.1; done
wrk -t1 -c4 -d"${SECONDS_PER_RUN}s" --latency "http://127.0.0.1:$PORT/health" | tee "$WS/slow-health.txt"
curl -fsS -o /dev/null -w 'GET /api/cache during the slow uploads: %{http_code} in %{time_total} s\n' \
  -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/cache"
kill "$SLOW" 2>/dev/null || true; wait "$SLOW" 2>/dev/null || true
echo "/health p99 with 500 slow uploads open: $(awk '$1 == "99%" {print $2}' "$WS/slow-health.txt")"

echo
echo "server log: $(grep -c -E ' (WARN|ERROR) ' "$WS/server.log" || true) WARN/ERROR lines, $(grep -c -E '^\s+at ' "$WS/server.log" || true) stack-trace lines"
