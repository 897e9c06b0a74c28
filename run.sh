#!/usr/bin/env bash
# Tandem launcher: finds a JDK 25, builds the jar when it is missing or stale, and runs a subcommand.
#   ./run.sh                 quick start (see README)
#   ./run.sh test            the whole test suite (mvn -B verify under JDK 25)
#   ./run.sh setup-ucx       installs UCX (libucx0) for the nixl transfer backend, or says how
#   ./run.sh <subcommand> …  worker | gateway | quickstart | generate | bench-* | make-tiny-model | help
#   ./run.sh bench-jlama …   batch-1 decode beside Jlama on the same weights (from the test class path)
set -euo pipefail
cd "$(dirname "$0")"

find_jdk25() {
  local candidate
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && java_is_25 "$JAVA_HOME/bin/java"; then
    echo "$JAVA_HOME"; return 0
  fi
  for candidate in /usr/lib/jvm/*25*; do
    if [[ -x "$candidate/bin/java" ]] && java_is_25 "$candidate/bin/java"; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

java_is_25() {
  "$1" -XshowSettings:properties -version 2>&1 | grep -Eq 'java\.specification\.version = 25$'
}

if ! JDK=$(find_jdk25); then
  cat >&2 <<'MSG'
Tandem needs a JDK 25 and none was found (checked $JAVA_HOME and /usr/lib/jvm/*25*).
Install one, for example on Debian/Ubuntu with the Adoptium repository configured:
    apt-get install temurin-25-jdk
or download Temurin 25 and point JAVA_HOME at it:  export JAVA_HOME=/path/to/jdk-25
MSG
  exit 1
fi
export JAVA_HOME="$JDK"
export PATH="$JAVA_HOME/bin:$PATH"

# Flags the code needs: the Vector API (incubator), FFM native access (DJL tokenizers), and quiet Unsafe users.
JVM_FLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
  --sun-misc-unsafe-memory-access=allow
  --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED
  -XX:+UseParallelGC)
JAR=target/tandem.jar

# Serving settings for the subcommands that run the model (see README, "JVM settings for serving"): a fixed heap
# (-Xms = -Xmx, TANDEM_HEAP, default 2g), so the collector never grows the young generation onto fresh pages mid-run
# (that first touch stalled decode for 1-3 s); ParallelGC (set above) because the engine's hot path allocates nothing
# and what little the rest allocates dies young. The benchmarks also touch the whole heap once at start-up
# (-XX:+AlwaysPreTouch) so no first touch lands inside a timed run; workers skip it (it cost 15-19 s of start-up for
# 2 GB on a slow-faulting VM) unless TANDEM_JAVA_OPTS adds it.
SERVING_FLAGS=(-Xms"${TANDEM_HEAP:-2g}" -Xmx"${TANDEM_HEAP:-2g}")
serving_flags() {
  case "$1" in
    ""|worker|quickstart|generate) echo "${SERVING_FLAGS[@]}" ;;
    bench-engine|bench-compare|bench-kernel) echo "${SERVING_FLAGS[@]}" -XX:+AlwaysPreTouch ;;
    # bench-pd's own JVM only sends requests; it starts each worker with a fixed, pre-touched heap of its own
    # (--worker-heap, default 2g) and the gateway with 512m: at most driver + 2 workers + gateway, about 5 GB of heap.
    bench-pd) echo -Xms512m -Xmx512m ;;
  esac
}

needs_build() {
  [[ ! -f "$JAR" ]] && return 0
  [[ -n "$(find pom.xml src/main -newer "$JAR" -print -quit)" ]]
}

build() {
  echo "[run.sh] building $JAR (JDK: $JAVA_HOME)" >&2
  mvn -B -q -DskipTests package >&2
}

# UCX (Debian's libucx0) is what the nixl transfer backend runs on; mooncake and fake need nothing native.
# The cache is read into a variable first: under pipefail, `ldconfig -p | grep -q` fails whenever grep exits at its
# first match before ldconfig has written everything (SIGPIPE), which once sent CI to apt-get with UCX installed.
have_ucx() {
  local libs
  libs=$(ldconfig -p 2>/dev/null) || return 1
  grep -q 'libucp\.so\.0 ' <<<"$libs" && grep -q 'libuct\.so\.0 ' <<<"$libs"
}

# Installs libucx0 when it is missing and we may (root with apt-get); otherwise says how. Returns 1 if still missing.
ensure_ucx() {
  have_ucx && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "[run.sh] installing UCX (libucx0) for the nixl transfer backend" >&2
    if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libucx0) >&2; then
      have_ucx && return 0
    fi
  fi
  cat >&2 <<'MSG'
[run.sh] UCX is not installed (libucp.so.0 / libuct.so.0 not found by ldconfig): the nixl transfer backend
cannot load (mooncake and fake still work). Install it as root, e.g. on Debian/Ubuntu:
    apt-get install libucx0          (or: sudo ./run.sh setup-ucx)
MSG
  return 1
}

cmd="${1:-}"
case "$cmd" in
  setup-ucx)
    ensure_ucx
    exit $?
    ;;
  test)
    shift
    ensure_ucx || true # the nixl tests say why they are skipped (CI sets TANDEM_REQUIRE_UCX=1: they fail instead)
    exec mvn -B verify "$@"
    ;;
  build)
    build
    ;;
  bench-jlama)
    # Tandem beside Jlama (a test-scope dependency, so this runs from the test class path, not the jar).
    shift
    echo "[run.sh] compiling the test classes and resolving the test class path" >&2
    mvn -B -q test-compile dependency:build-classpath -Dmdep.includeScope=test \
      -Dmdep.outputFile=target/test-classpath.txt >&2
    exec java "${JVM_FLAGS[@]}" -Xms"${TANDEM_HEAP:-2g}" -Xmx"${TANDEM_HEAP:-2g}" -XX:+AlwaysPreTouch \
      -Djlama.force_panama_tensor_operations=true ${TANDEM_JAVA_OPTS:-} \
      -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" dev.tandem.cli.JlamaComparison "$@"
    ;;
  "")
    # Quick start: the tiny model, then a gateway + prefill + decode worker (clustered on loopback) and a curl line.
    needs_build && build
    MODEL=models/tiny
    if [[ ! -f "$MODEL/config.json" ]]; then
      java "${JVM_FLAGS[@]}" -jar "$JAR" make-tiny-model --out "$MODEL" --preset tiny
    fi
    exec java "${JVM_FLAGS[@]}" $(serving_flags quickstart) ${TANDEM_JAVA_OPTS:-} -jar "$JAR" quickstart --model "$MODEL"
    ;;
  *)
    needs_build && build
    if [[ " $* " == *" nixl "* || " $* " == *"--transfer-backend=nixl"* ]]; then
      ensure_ucx || exit 1
    fi
    exec java "${JVM_FLAGS[@]}" $(serving_flags "$cmd") ${TANDEM_JAVA_OPTS:-} -jar "$JAR" "$@"
    ;;
esac
