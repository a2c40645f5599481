#!/usr/bin/env bash
# A real-project benchmark: OpenJDK JMH 1.37, laid out from its sources jars on Maven Central as a
# BuildNet workspace of 24 javac/jar targets, built with the distribution's launcher. Prints:
# the cold build; null builds through the daemon and in a fresh JVM (--no-daemon); a
# whitespace-only edit of one jmh-core source (early cutoff: only the two targets that read it,
# jmh-core:compile and jmh-core:sources, may re-run; javac's classes come out byte-identical, so
# nothing downstream does); a real edit (a string literal in jmh-core: its dependents re-run);
# and a fully cached build of one target whose input glob covers BIG_FILES (100,000) small files,
# next to `find | wc -l`.
# It checks what it built and fails loudly otherwise: jmh-core's jar has the same entries and
# class bytes as a plain javac + jar of the same sources with the same flags, and the samples'
# benchmark jar lists (`org.openjdk.jmh.Main -l`) exactly the benchmarks named in the
# META-INF/BenchmarkList of jmh-samples-1.37.jar from Maven Central.
#
#   mvn -B -ntp -o -pl buildnet-examples -am package -DskipTests
#   bash buildnet-examples/bench/real-jmh.sh
#
# Needs, in ~/.m2 (fetch once with `mvn -B -ntp -q dependency:get -Dtransitive=false
# -Dartifact=G:A:V[:jar:sources]`; the script prints the missing ones): the sources jars of
# org.openjdk.jmh:{jmh-core,jmh-generator-reflection,jmh-generator-asm,jmh-generator-bytecode,
# jmh-generator-annprocess,jmh-samples,jmh-core-benchmarks}:1.37, jmh-samples-1.37.jar, and the
# third-party jars of JMH's poms: jopt-simple 5.0.4, commons-math3 3.6.1, asm 9.0, jna and
# jna-platform 5.8.0. Tools: javac and jar (JDK 17+: `jar --date`), python3, unzip, find.
#
# Everything goes to a new temporary directory (printed; deleted at the end unless KEEP=1), with
# a private XDG_CACHE_HOME, so the launcher's AppCDS archive and daemon are this run's own; the
# daemons are stopped at the end. Each step runs under `timeout STEP_TIMEOUT` (default 900 s).
# Env: BUILDNET (default: the launcher in buildnet-examples/target/dist/bin), M2_REPO (default
# ~/.m2/repository), BIG_FILES (default 100000), NULL_RUNS (default 3), STEP_TIMEOUT, KEEP.
# Wall times are from /usr/bin/time (%e); "cpu" is the client's user+sys, and for builds through
# the daemon also the daemon JVM's (with the commands it waited for) from /proc/PID/stat.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
buildnet=${BUILDNET:-$repo/buildnet-examples/target/dist/bin/buildnet}
m2=${M2_REPO:-$HOME/.m2/repository}
big_files=${BIG_FILES:-100000}
null_runs=${NULL_RUNS:-3}
step_timeout=${STEP_TIMEOUT:-900}
jmh=1.37
date_stamp=2023-08-01T00:00:00Z # jar --date: reproducible jars, so early cutoff reaches them

die() { echo "real-jmh: FAIL: $*" >&2; exit 1; }
for tool in javac jar java python3 unzip find timeout /usr/bin/time; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -x "$buildnet" ] || die "no launcher at $buildnet; build it: mvn -B -ntp -o -pl buildnet-examples -am package -DskipTests"

modules=(jmh-core jmh-generator-reflection jmh-generator-asm jmh-generator-bytecode
  jmh-generator-annprocess jmh-samples jmh-core-benchmarks)
declare -A third=(
  [jopt]=net/sf/jopt-simple/jopt-simple/5.0.4/jopt-simple-5.0.4.jar
  [math3]=org/apache/commons/commons-math3/3.6.1/commons-math3-3.6.1.jar
  [asm]=org/ow2/asm/asm/9.0/asm-9.0.jar
  [jna]=net/java/dev/jna/jna/5.8.0/jna-5.8.0.jar
  [jnaplatform]=net/java/dev/jna/jna-platform/5.8.0/jna-platform-5.8.0.jar
)
missing=()
for m in "${modules[@]}"; do
  f=$m2/org/openjdk/jmh/$m/$jmh/$m-$jmh-sources.jar
  [ -f "$f" ] || missing+=("org.openjdk.jmh:$m:$jmh:jar:sources")
done
reference_samples=$m2/org/openjdk/jmh/jmh-samples/$jmh/jmh-samples-$jmh.jar
[ -f "$reference_samples" ] || missing+=("org.openjdk.jmh:jmh-samples:$jmh")
for k in "${!third[@]}"; do
  [ -f "$m2/${third[$k]}" ] || missing+=("$(echo "${third[$k]%/*}" | awk -F/ '{v=$NF; a=$(NF-1); g=$1; for(i=2;i<NF-1;i++) g=g"."$i; print g":"a":"v}')")
done
if [ ${#missing[@]} -gt 0 ]; then
  for a in "${missing[@]}"; do
    echo "missing: mvn -B -ntp -q dependency:get -Dtransitive=false -Dartifact=$a" >&2
  done
  die "fetch the artifacts above into $m2 first"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/real-jmh.XXXXXX")
ws=$work/ws
big=$work/big
export XDG_CACHE_HOME=$work/xdg
mkdir -p "$ws/lib" "$big" "$XDG_CACHE_HOME"
cleanup() {
  "$buildnet" daemon stop -w "$ws" >/dev/null 2>&1 || true
  "$buildnet" daemon stop -w "$big" >/dev/null 2>&1 || true
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
echo "workspace $ws"
for k in "${!third[@]}"; do cp "$m2/${third[$k]}" "$ws/lib/"; done

# The workspace: one directory per JMH module (sources without the sources jars' jmh_generated
# copies, which the annotation processor writes again), and buildnet.json.
python3 - "$ws" "$m2" "$jmh" "$date_stamp" "${modules[@]}" <<'PY'
import json, os, sys, zipfile
ws, m2, ver, date, mods = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
for m in mods:
    src = f"{m2}/org/openjdk/jmh/{m}/{ver}/{m}-{ver}-sources.jar"
    with zipfile.ZipFile(src) as z:
        for e in z.infolist():
            n = e.filename
            if n.endswith("/") or n == "META-INF/MANIFEST.MF" or n.startswith("META-INF/maven/"):
                continue
            if "/jmh_generated/" in n:
                continue
            sub = "java" if n.endswith(".java") else "resources"
            dst = os.path.join(ws, m, "src/main", sub, n)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "wb") as f:
                f.write(z.read(e))
lib = {k: "lib/" + os.path.basename(v) for k, v in {
    "jopt": "jopt-simple-5.0.4.jar", "math3": "commons-math3-3.6.1.jar", "asm": "asm-9.0.jar",
    "jna": "jna-5.8.0.jar", "jnaplatform": "jna-platform-5.8.0.jar"}.items()}
classes = lambda m: f"out/{m}/classes"
jarof = lambda m: f"out/jars/{m}.jar"
# module -> (module deps on the classpath, third-party jars, annotation processing)
spec = {
    "jmh-core": ([], ["jopt", "math3"], False),
    "jmh-generator-reflection": (["jmh-core"], [], False),
    "jmh-generator-asm": (["jmh-core", "jmh-generator-reflection"], ["asm"], False),
    "jmh-generator-bytecode": (["jmh-core", "jmh-generator-reflection", "jmh-generator-asm"], ["asm"], False),
    "jmh-generator-annprocess": (["jmh-core"], [], False),
    "jmh-samples": (["jmh-core"], [], True),
    "jmh-core-benchmarks": (["jmh-core"], ["jna", "jnaplatform"], True),
}
env = {"LANG": "C.UTF-8"}
common = {"env": env, "envPassthrough": ["JAVA_HOME"], "envPassthroughUnhashed": ["PATH"]}
targets = {}
jar = ["jar", "--create", "--date", date]
for m, (deps, libs, ap) in spec.items():
    if deps:  # jmh-core's own dependencies are on its users' classpath, as Maven puts them
        libs = libs + ["jopt", "math3"]
    cp = [classes(d) for d in deps] + [lib[l] for l in libs]
    src = f"{m}/src/main/java"
    cmd = ["javac", "-encoding", "UTF-8", "-nowarn", "-XDsuppressNotes", "-d", classes(m)]
    if cp:
        cmd += ["-cp", ":".join(cp)]
    outs = [classes(m)]
    tdeps = [f"{d}:compile" for d in deps]
    inputs = [f"{src}/**/*.java"] + cp
    if ap:
        # jmh-generator-annprocess drives the compile, as in JMH's own Maven build
        pp = [jarof("jmh-generator-annprocess"), classes("jmh-core")]
        cmd += ["-processorpath", ":".join(pp), "-s", f"out/{m}/generated"]
        outs.append(f"out/{m}/generated")
        inputs.append(jarof("jmh-generator-annprocess"))
        tdeps.append("jmh-generator-annprocess:jar")
    else:
        cmd += ["-proc:none"]
    cmd.append("{inputs:" + src + "/**/*.java}")
    targets[f"{m}:compile"] = dict(common, command=cmd, inputs=inputs, outputs=outs, deps=tdeps)
    res = f"{m}/src/main/resources"
    has_res = os.path.isdir(os.path.join(ws, res))  # jmh-core-benchmarks has none
    targets[f"{m}:jar"] = dict(common,
        command=jar + ["--file", jarof(m), "-C", classes(m), "."] + (["-C", res, "."] if has_res else []),
        inputs=[classes(m)] + ([res + "/**"] if has_res else []), outputs=[jarof(m)],
        deps=[f"{m}:compile"])
    targets[f"{m}:sources"] = dict(common,
        command=jar + ["--file", f"out/jars/{m}-sources.jar", "-C", src, "."],
        inputs=[src + "/**"], outputs=[f"out/jars/{m}-sources.jar"])
# the samples' self-contained benchmarks.jar, as JMH's archetype shades it
for k in ("jopt", "math3"):
    targets[f"thirdparty:{k}"] = dict(common,
        command=["unzip", "-q", "-o", lib[k], "-x", "META-INF/*", "-d", f"out/thirdparty/{k}"],
        inputs=[lib[k]], outputs=[f"out/thirdparty/{k}"])
targets["jmh-samples:benchmarks"] = dict(common,
    command=jar + ["--file", "out/jars/benchmarks.jar", "--main-class", "org.openjdk.jmh.Main",
        "-C", classes("jmh-core"), ".", "-C", "jmh-core/src/main/resources", "jmh.properties",
        "-C", classes("jmh-samples"), ".",
        "-C", "out/thirdparty/jopt", ".", "-C", "out/thirdparty/math3", "."],
    inputs=[classes("jmh-core"), "jmh-core/src/main/resources/jmh.properties",
        classes("jmh-samples"), "out/thirdparty/jopt", "out/thirdparty/math3"],
    outputs=["out/jars/benchmarks.jar"],
    deps=["jmh-core:compile", "jmh-samples:compile", "thirdparty:jopt", "thirdparty:math3"])
with open(os.path.join(ws, "buildnet.json"), "w") as f:
    json.dump({"version": 1, "targets": targets}, f, indent=1)
print(f"{len(targets)} targets, "
      f"{sum(1 for _ in os.popen(f'find {ws} -name *.java'))} java sources")
PY
ntargets=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["targets"]))' "$ws/buildnet.json")

daemon_pid() { # the daemon's pid for workspace $1, from its state file (PORT TOKEN PID JAR-ID)
  local name f
  name=$(cd "$1" && pwd -P | sed -e 's/%/%25/g' -e 's|/|%2F|g')
  f=$XDG_CACHE_HOME/buildnet/daemon/$name.daemon
  [ -f "$f" ] && awk '{print $3}' "$f" || true
}
proc_cpu() { # user+sys+children's of pid $1 in seconds (0 if gone)
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
  awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); print ($12+$13+$14+$15)/hz}' "/proc/$1/stat"
}
# run LABEL WORKSPACE ARGS...: one `buildnet build --json` under a timeout; prints a row
# and sets BUILT (targets that ran) and RAN (their names) from the tool's JSON.
run() {
  local label=$1 dir=$2 pid cpu0 cpu1 rc
  shift 2
  pid=$(daemon_pid "$dir")
  cpu0=$(proc_cpu "$pid")
  rc=0
  /usr/bin/time -f '%e %U %S' -o "$work/time" \
    timeout "$step_timeout" "$buildnet" build --json -w "$dir" "$@" >"$work/out.json" 2>"$work/err" || rc=$?
  if [ $rc -ne 0 ]; then
    cat "$work/err" >&2
    die "$label: build exited with $rc"
  fi
  grep -E 'Exception|^\s+at ' "$work/err" >&2 && die "$label: a stack trace on standard error"
  pid=${pid:-$(daemon_pid "$dir")}
  cpu1=$(proc_cpu "$pid")
  read -r wall usr sys <"$work/time"
  read -r BUILT CACHED RAN < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["success"], d["errors"]
ran = [t["name"] for t in d["targets"] if t["source"] == "executed"]
print(d["counts"]["built"], d["counts"]["cached"], ",".join(ran) or "-")' "$work/out.json")
  printf '%-44s wall %7.2f s  cpu %7.2f s  built %2d  cached %2d\n' "$label" "$wall" \
    "$(echo "$usr $sys $cpu0 $cpu1" | awk '{print $1+$2+$4-$3}')" "$BUILT" "$CACHED"
}
timed() { # timed LABEL CMD...: wall time of a command
  local label=$1
  shift
  /usr/bin/time -f '%e %U %S' -o "$work/time" timeout "$step_timeout" "$@" >"$work/cmd.out"
  read -r wall usr sys <"$work/time"
  printf '%-44s wall %7.2f s  cpu %7.2f s  (%s)\n' "$label" "$wall" "$(echo "$usr $sys" | awk '{print $1+$2}')" "$(head -c 60 "$work/cmd.out")"
}
classes_digest() { (cd "$ws/out/jmh-core/classes" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16); }

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; $(java -version 2>&1 | head -1)"
echo "== JMH $jmh, $ntargets targets"
run "cold build (--no-daemon)" "$ws" --no-daemon
[ "$BUILT" = "$ntargets" ] || die "cold build ran $BUILT targets, expected $ntargets"

# Correctness 1: jmh-core's jar against a plain javac + jar of the same sources and flags.
ref=$work/ref
mkdir -p "$ref/classes" "$ref/a" "$ref/b"
(cd "$ws" && find jmh-core/src/main/java -name '*.java' | LC_ALL=C sort >"$ref/sources" &&
  timeout "$step_timeout" javac -encoding UTF-8 -nowarn -XDsuppressNotes -d "$ref/classes" \
    -cp lib/jopt-simple-5.0.4.jar:lib/commons-math3-3.6.1.jar -proc:none @"$ref/sources" 2>"$ref/javac.err" &&
  jar --create --date "$date_stamp" --file "$ref/jmh-core.jar" -C "$ref/classes" . \
    -C jmh-core/src/main/resources .)
unzip -q "$ref/jmh-core.jar" -d "$ref/a"
unzip -q "$ws/out/jars/jmh-core.jar" -d "$ref/b"
diff -r "$ref/a" "$ref/b" >/dev/null || die "jmh-core.jar differs from a plain javac + jar"
n=$(find "$ref/a" -name '*.class' | wc -l)
[ "$n" -gt 300 ] || die "jmh-core.jar has only $n classes"
echo "check: jmh-core.jar = plain javac + jar ($n classes, every entry byte-identical)"
# Correctness 2: the benchmarks jar lists exactly the benchmarks of Maven Central's samples jar.
check_list() {
  timeout "$step_timeout" java -jar "$ws/out/jars/benchmarks.jar" -l >"$ref/list" 2>&1 ||
    { cat "$ref/list" >&2; die "java -jar benchmarks.jar -l failed"; }
  grep -v '^Benchmarks:' "$ref/list" | LC_ALL=C sort -u >"$ref/ours"
  unzip -p "$reference_samples" META-INF/BenchmarkList |
    awk '$1 == "JMH" { print $4 "." $10 }' | LC_ALL=C sort -u >"$ref/central"
  [ -s "$ref/central" ] || die "could not read the benchmarks of $reference_samples"
  diff "$ref/central" "$ref/ours" >&2 ||
    die "benchmarks.jar -l differs from jmh-samples-$jmh.jar's BenchmarkList (< central, > ours)"
  echo "check: benchmarks.jar -l lists the $(wc -l <"$ref/ours") benchmarks of Maven Central's jmh-samples-$jmh.jar"
}
check_list

for i in $(seq "$null_runs"); do run "null build (--no-daemon) #$i" "$ws" --no-daemon; done
for t in 1 $(seq "$null_runs" | sed 's/^/#/'); do
  label="null build (daemon) $t"
  [ "$t" = 1 ] && label="null build (daemon, first: starts it)"
  run "$label" "$ws"
  [ "$BUILT" = 0 ] || die "$label ran $BUILT targets: $RAN"
done

# A whitespace-only edit that keeps line numbers: trailing spaces on one line of a core class.
edited=jmh-core/src/main/java/org/openjdk/jmh/runner/Runner.java
before=$(classes_digest)
for via in daemon --no-daemon; do
  sed -i '100s/$/   /' "$ws/$edited"
  if [ "$via" = daemon ]; then run "whitespace edit (daemon)" "$ws"; else run "whitespace edit (--no-daemon)" "$ws" --no-daemon; fi
  echo "  re-ran: $RAN"
  [ "$(classes_digest)" = "$before" ] || die "javac's classes changed after a whitespace-only edit"
  # the two targets that read the file re-run; nothing downstream does (early cutoff)
  [ "$RAN" = "jmh-core:compile,jmh-core:sources" ] ||
    die "a whitespace-only edit re-ran $BUILT targets ($RAN), expected jmh-core:compile,jmh-core:sources"
done
echo "check: jmh-core's class files are byte-identical after the edit"
timeout "$step_timeout" "$buildnet" explain jmh-samples:compile -w "$ws" | sed 's/^/  explain: /'
timeout "$step_timeout" "$buildnet" explain jmh-samples:compile -w "$ws" | grep -q 'dependency jmh-core:compile re-ran but its outputs are unchanged' ||
  die "explain does not say that jmh-core:compile re-ran with unchanged outputs"

# A real edit: a string literal in a jmh-core class; every dependent of jmh-core:compile re-runs.
grep -q '"Benchmarks: "' "$ws/jmh-core/src/main/java/org/openjdk/jmh/runner/Runner.java" ||
  die "the string to edit is not in Runner.java"
sed -i 's/"Benchmarks: "/"Benchmarks (edited): "/' "$ws/$edited"
run "real edit (daemon)" "$ws"
echo "  re-ran: $RAN"
for t in jmh-core:compile jmh-core:jar jmh-samples:benchmarks $(printf '%s:compile ' "${modules[@]:1}"); do
  case ",$RAN," in *",$t,"*) ;; *) die "after a real edit $t did not re-run" ;; esac
done
grep -q 'Benchmarks (edited):' <(timeout 120 java -jar "$ws/out/jars/benchmarks.jar" -l) ||
  die "the rebuilt benchmarks.jar does not carry the edit"
echo "check: the rebuilt benchmarks.jar prints the edited string"
"$buildnet" daemon stop -w "$ws" >/dev/null

# A target whose input glob covers $big_files small files, fully cached.
echo "== $big_files files under one glob"
python3 - "$big" "$big_files" <<'PY'
import json, os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "files", "d%03d" % (i // 1000), "e%02d" % (i // 100 % 10))
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "w") as f:
        f.write("file %d\n" % i)
json.dump({"version": 1, "targets": {"all": {
    "command": ["wc", "-c", "--", "files/d000/e00/f00000.txt"],
    "inputs": ["files/**/*.txt"], "outputs": [], "envPassthroughUnhashed": ["PATH"]}}},
    open(os.path.join(root, "buildnet.json"), "w"))
PY
for i in 1 2; do timed "find files -type f | wc -l #$i" bash -c "cd '$big' && find files -type f | wc -l"; done
run "cold (--no-daemon)" "$big" --no-daemon
for i in $(seq "$null_runs"); do run "cached (--no-daemon) #$i" "$big" --no-daemon; [ "$BUILT" = 0 ] || die "ran $RAN"; done
run "cached (daemon, first: starts it)" "$big"
for i in $(seq "$null_runs"); do run "cached (daemon) #$i" "$big"; [ "$BUILT" = 0 ] || die "ran $RAN"; done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "real-jmh: OK"
