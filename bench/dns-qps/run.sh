#!/usr/bin/env bash
# bench/dns-qps/run.sh — UDP query throughput of ntss vs NSD vs Knot DNS.
#
# Plain A queries (dnsperf defaults: no EDNS, RD=1) for names that exist in the
# zone of examples/server.yaml, against all three servers in ONE run. Each
# server is pinned to one core (taskset -c SERVER_CPU, all threads); dnsperf is
# pinned to the other (taskset -c CLIENT_CPU). Rounds are interleaved (order
# rotates every round) and the median qps per server is reported.
# See bench/dns-qps/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

# ---------------------------------------------------------------- options ----
SECS=10            # dnsperf -l per measurement
ROUNDS=3           # measurements per server (interleaved)
WARMUP=2           # seconds of unmeasured load per server before round 1
RETRIES=3          # total repeats allowed for runs disturbed by other load
CLIENTS=4          # dnsperf -c
OUTSTANDING=100    # dnsperf -q
THREADS=1          # dnsperf -T
SERVER_CPU=1
CLIENT_CPU=0
PORT_BASE=25350
SERVERS="ours nsd knot"
WRITE_DOC=0
PROFILE=0
CONFIG_SRC="$ROOT/examples/server.yaml"
OURS_MAIN="$ROOT/dist/src/cli/main.js"
DOC="$ROOT/docs/benchmarks.md"

usage() {
  cat <<EOF
usage: bench/dns-qps/run.sh [options]
  --seconds N       duration of each measurement (dnsperf -l)         [$SECS]
  --rounds N        measurements per server, interleaved             [$ROUNDS]
  --warmup N        unmeasured seconds per server before round 1     [$WARMUP]
  --retries N       repeats (whole run) of measurements disturbed by
                    other load (>10% of a core not ours)             [$RETRIES]
  --clients N       dnsperf -c                                       [$CLIENTS]
  --outstanding N   dnsperf -q (max outstanding queries)             [$OUTSTANDING]
  --threads N       dnsperf -T                                       [$THREADS]
  --servers LIST    comma/space separated subset of: ours nsd knot   [$SERVERS]
                    optional extras: node-min node-min-naive (minimal node:dgram
                    responders, the ceiling for a Node.js server; see node-min.mjs)
  --server-cpu N    core for the servers (taskset -c)                [$SERVER_CPU]
  --client-cpu N    core for dnsperf (taskset -c)                    [$CLIENT_CPU]
  --port-base N     first UDP/TCP port to try on 127.0.0.1           [$PORT_BASE]
  --config FILE     ntss YAML whose zone is served by all three      [examples/server.yaml]
  --ours-main FILE  built ntss CLI                                   [dist/src/cli/main.js]
  --write-doc       replace the dns-qps section of docs/benchmarks.md with the results
  --profile         run ours under node --cpu-prof and print the top self-time functions
                    (profile kept in a /tmp dir; ours' qps is then not representative)
  -h, --help
EOF
}

ORIG_ARGS=("$@")
while (($#)); do
  case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --retries) RETRIES=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --outstanding) OUTSTANDING=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --servers) SERVERS=${2//,/ }; shift 2 ;;
    --server-cpu) SERVER_CPU=$2; shift 2 ;;
    --client-cpu) CLIENT_CPU=$2; shift 2 ;;
    --port-base) PORT_BASE=$2; shift 2 ;;
    --config) CONFIG_SRC=$(realpath "$2"); shift 2 ;;
    --ours-main) OURS_MAIN=$(realpath -m "$2"); shift 2 ;;
    --write-doc) WRITE_DOC=1; shift ;;
    --profile) PROFILE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for v in SECS ROUNDS WARMUP RETRIES CLIENTS OUTSTANDING THREADS SERVER_CPU CLIENT_CPU PORT_BASE; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "--${v,,}: not a number: ${!v}" >&2; exit 2; }
done
((SECS >= 1 && ROUNDS >= 1)) || { echo "--seconds and --rounds must be >= 1" >&2; exit 2; }
for s in $SERVERS; do
  case $s in ours | nsd | knot | node-min | node-min-naive) ;; *) echo "--servers: unknown server '$s'" >&2; exit 2 ;; esac
done
[[ $SERVER_CPU != "$CLIENT_CPU" ]] || echo "warning: server and client share core $SERVER_CPU" >&2

for bin in dnsperf nsd nsd-checkconf knotd knotc dig taskset setsid node timeout ss getconf; do
  command -v "$bin" >/dev/null || { echo "missing required tool: $bin" >&2; exit 1; }
done

# ------------------------------------------------------- process cleanup ----
WORK=$(mktemp -d /tmp/ntss-dnsqps.XXXXXX)
PGIDS=()          # one process group (setsid) per started server
DNSPERF_PID=""
PROF_DIR=""

group_alive() {   # any non-zombie process left in process group $1?
  ps -o stat= -g "$1" 2>/dev/null | grep -qv '^Z'
}
kill_group() {    # kill_group PGID: TERM, wait up to 3 s, then KILL
  local g=$1 i
  kill -TERM -- "-$g" 2>/dev/null || return 0
  for ((i = 0; i < 30; i++)); do
    group_alive "$g" || return 0
    sleep 0.1
  done
  kill -KILL -- "-$g" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  set +e
  # `timeout` makes itself a process-group leader: kill its group, i.e. dnsperf too
  if [[ -n $DNSPERF_PID ]]; then
    kill -KILL -- "-$DNSPERF_PID" 2>/dev/null
    kill -KILL "$DNSPERF_PID" 2>/dev/null
  fi
  local g
  for g in "${PGIDS[@]}"; do kill_group "$g"; done
  wait 2>/dev/null
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

log() { printf '%s\n' "$*" >&2; }

# ------------------------------------------------------------- helpers ----
port_free() {     # UDP and TCP on 127.0.0.1
  local p=$1
  [[ -z $(ss -Hln "( sport = :$p )" 2>/dev/null) ]]
}
NEXT_PORT=$PORT_BASE
alloc_port() {
  while ! port_free "$NEXT_PORT"; do NEXT_PORT=$((NEXT_PORT + 1)); done
  PORT=$NEXT_PORT
  NEXT_PORT=$((NEXT_PORT + 1))
}

# probe PORT: 0 when the server answers PROBE_NAME A with PROBE_ADDR, authoritatively
probe() {
  local out
  out=$(dig @127.0.0.1 -p "$1" "$PROBE_NAME" A +norec +time=1 +tries=1 2>/dev/null) || return 1
  grep -q 'status: NOERROR' <<<"$out" || return 1
  grep -Eq ';; flags:[^;]* aa' <<<"$out" || return 1
  grep -Eq "^${PROBE_NAME//./\\.}[[:space:]].*IN[[:space:]]+A[[:space:]]+${PROBE_ADDR//./\\.}\$" <<<"$out"
}

wait_ready() {    # wait_ready NAME PORT PID TIMEOUT_S
  local name=$1 port=$2 pid=$3 t=$4 i
  for ((i = 0; i < t * 5; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name: process exited during startup"
      return 1
    fi
    probe "$port" && return 0
    sleep 0.2
  done
  log "$name: no correct answer for $PROBE_NAME A on port $port within ${t}s"
  return 1
}

# Pin every thread of every process of the group to SERVER_CPU. Needed for
# Knot, whose UDP worker sets its own affinity (worker i -> CPU i), which
# would otherwise put it on dnsperf's core.
pin_group() {     # pin_group PGID -> prints "ok" or a description of the problem
  local g=$1 p t bad=""
  for p in $(ps -o pid= -g "$g"); do
    taskset -a -p -c "$SERVER_CPU" "$p" >/dev/null 2>&1 || true
  done
  for p in $(ps -o pid= -g "$g"); do
    for t in /proc/"$p"/task/*; do
      local a
      a=$(awk '/^Cpus_allowed_list/{print $2}' "$t/status" 2>/dev/null) || continue
      [[ -z $a || $a == "$SERVER_CPU" ]] || bad+=" $p/${t##*/}:$a"
    done
  done
  echo "${bad:-ok}"
}

# CPU counters: "busy total" for one core from /proc/stat
cpu_sample() {
  awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat
}
busy_pct() {      # busy_pct "b0 t0" "b1 t1"
  local b0 t0 b1 t1
  read -r b0 t0 <<<"$1"
  read -r b1 t1 <<<"$2"
  awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.0f", (t > 0 ? 100 * b / t : 0) }'
}

# ------------------------------------------------------ generate inputs ----
log "work dir: $WORK"
declare -A PORTS
for s in ours nsd knot node-min node-min-naive; do alloc_port; PORTS[$s]=$PORT; done
node "$HERE/gen-config.mjs" "$CONFIG_SRC" "$WORK" "${PORTS[ours]}"
# shellcheck disable=SC1091
source "$WORK/zone.env"
QUERIES=$WORK/queries.txt

# -------------------------------------------------------------- versions ----
NSD_VER=$(nsd -v 2>&1 | awk 'NR == 1 { print $3 }')
KNOT_VER=$(knotd -V 2>&1 | awk '{ print $NF }')
DNSPERF_VER=$(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }')
NODE_VER=$(node -v)
OURS_VER=$(node -p "require('$ROOT/package.json').version" 2>/dev/null || echo '?')
OURS_GIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
if [[ -n $(git -C "$ROOT" status --porcelain -- src 2>/dev/null) ]]; then OURS_GIT+="+dirty"; fi

# --------------------------------------------------------- start servers ----
declare -A STATUS PID LABEL
LABEL[ours]="ntss $OURS_VER (node $NODE_VER)"
LABEL[nsd]="NSD $NSD_VER"
LABEL[knot]="Knot DNS $KNOT_VER"
LABEL[node-min]="node-min (node $NODE_VER, sync lookup, no send callback)"
LABEL[node-min-naive]="node-min-naive (node $NODE_VER, send(buf, port, addr, cb))"

start_nsd() {
  local port=${PORTS[nsd]}
  cat >"$WORK/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$port
  server-count: 1
  reuseport: no
  username: ""
  chroot: ""
  zonesdir: "$WORK"
  database: ""
  zonelistfile: "$WORK/nsd-zone.list"
  xfrdfile: "$WORK/nsd-xfrd.state"
  xfrdir: "$WORK"
  pidfile: "$WORK/nsd.pid"
  logfile: "$WORK/nsd.log"
  verbosity: 1
  # Debian's NSD enables response rate limiting by default; disable it.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: $ZONE
  zonefile: "$WORK/zone.db"
EOF
  nsd-checkconf "$WORK/nsd.conf" >&2
  setsid taskset -c "$SERVER_CPU" nsd -d -c "$WORK/nsd.conf" >"$WORK/nsd.out" 2>&1 </dev/null &
  PID[nsd]=$!
  PGIDS+=("${PID[nsd]}")
}

start_knot() {
  local port=${PORTS[knot]}
  mkdir -p "$WORK/knot-run" "$WORK/knot-db"
  cat >"$WORK/knot.conf" <<EOF
server:
  rundir: "$WORK/knot-run"
  listen: 127.0.0.1@$port
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: info
database:
  storage: "$WORK/knot-db"
template:
  - id: default
    storage: "$WORK"
zone:
  - domain: $ZONE
    file: "$WORK/zone.db"
    zonefile-sync: -1
    journal-content: none
EOF
  knotc -c "$WORK/knot.conf" conf-check >&2
  setsid taskset -c "$SERVER_CPU" knotd -c "$WORK/knot.conf" >"$WORK/knot.out" 2>&1 </dev/null &
  PID[knot]=$!
  PGIDS+=("${PID[knot]}")
}

start_ours() {
  if [[ ! -f $OURS_MAIN ]]; then
    STATUS[ours]="not available ($OURS_MAIN does not exist; build with npx tsc -p tsconfig.json)"
    return 1
  fi
  local flags=()
  if ((PROFILE)); then
    PROF_DIR=$(mktemp -d /tmp/ntss-dnsqps-prof.XXXXXX)
    flags=(--cpu-prof --cpu-prof-dir "$PROF_DIR" --import "$HERE/prof-exit.mjs")
  fi
  (cd "$WORK" && exec setsid taskset -c "$SERVER_CPU" node "${flags[@]}" "$OURS_MAIN" server --config "$WORK/ours.yaml") \
    >"$WORK/ours.out" 2>&1 </dev/null &
  PID[ours]=$!
  PGIDS+=("${PID[ours]}")
}

start_node_min() {
  setsid taskset -c "$SERVER_CPU" node "$HERE/node-min.mjs" "$WORK/zone.db" "${PORTS[node-min]}" fast \
    >"$WORK/node-min.out" 2>&1 </dev/null &
  PID[node-min]=$!
  PGIDS+=("${PID[node-min]}")
}
start_node_min_naive() {
  setsid taskset -c "$SERVER_CPU" node "$HERE/node-min.mjs" "$WORK/zone.db" "${PORTS[node-min-naive]}" naive \
    >"$WORK/node-min-naive.out" 2>&1 </dev/null &
  PID[node-min-naive]=$!
  PGIDS+=("${PID[node-min-naive]}")
}

ACTIVE=()
for s in $SERVERS; do
  STATUS[$s]=""
  if ! "start_${s//-/_}"; then log "$s: ${STATUS[$s]}"; continue; fi
  tmo=10
  [[ $s == ours ]] && tmo=20
  if wait_ready "$s" "${PORTS[$s]}" "${PID[$s]}" "$tmo"; then
    pin=$(pin_group "${PID[$s]}")
    if [[ $pin != ok ]]; then
      log "$s: could not pin all threads to cpu $SERVER_CPU:$pin"
      STATUS[$s]="not measured (affinity:$pin)"
      continue
    fi
    ACTIVE+=("$s")
    log "$s: ready on 127.0.0.1:${PORTS[$s]} (pid ${PID[$s]}, pinned to cpu $SERVER_CPU)"
  else
    STATUS[$s]="not available (did not answer $PROBE_NAME A correctly)"
    log "--- last lines of $s output:"
    tail -n 20 "$WORK/$s.out" >&2 2>/dev/null || true
    kill_group "${PID[$s]}"
  fi
done
((${#ACTIVE[@]})) || { log "no server answered; nothing to measure"; exit 1; }

# Response sizes as dig sees them without EDNS, i.e. as dnsperf's queries get them.
declare -A RESP
for s in "${ACTIVE[@]}"; do
  RESP[$s]=$(dig @127.0.0.1 -p "${PORTS[$s]}" "$PROBE_NAME" A +noedns +norec +time=1 +tries=1 2>/dev/null |
    awk '/MSG SIZE/ { print $NF }')
done

# --------------------------------------------------------------- measure ----
DNSPERF_ARGS=(-d "$QUERIES" -l "$SECS" -c "$CLIENTS" -q "$OUTSTANDING" -T "$THREADS")
DNSPERF_CMD="taskset -c $CLIENT_CPU dnsperf -s 127.0.0.1 -p PORT ${DNSPERF_ARGS[*]}"
DNSPERF_CMD=${DNSPERF_CMD//$WORK\//}

# CPU ticks (USER_HZ) used so far by all processes of process group $1: "total system"
group_ticks() {
  local p sum=0 sys=0 t u
  for p in $(ps -o pid= -g "$1" 2>/dev/null); do
    # fields after the ")" that closes comm: 12 = utime, 13 = stime
    read -r u t <<<"$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12, $13 }')" || continue
    sum=$((sum + ${u:-0} + ${t:-0})); sys=$((sys + ${t:-0}))
  done
  echo "$sum $sys"
}
# CPU used by reaped children of this shell (bash `times`, 2nd line), in ticks.
# `times` must run in this shell (a $(...) subshell has its own, empty, counters),
# hence the file; call as: child_ticks; k=$CHILD_TICKS
child_ticks() {
  times >"$WORK/times.txt"
  CHILD_TICKS=$(awk -v hz="$CLK_TCK" 'NR == 2 {
    s = 0
    for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] }
    printf "%.0f", s * hz }' "$WORK/times.txt")
}
CLK_TCK=$(getconf CLK_TCK)

# Wait (bounded by a total budget for the whole run) until both cores are
# nearly idle, so that other work on the machine does not land in a round.
QUIET_BUDGET=${QUIET_BUDGET:-60}   # seconds, whole run
QUIET_MAX=${QUIET_MAX:-15}         # max busy % per core to count as quiet
QUIET_WAITED=0
wait_quiet() {
  local a0 a1 b0 b1 ba bb
  while :; do
    a0=$(cpu_sample "$SERVER_CPU"); b0=$(cpu_sample "$CLIENT_CPU")
    sleep 0.5
    a1=$(cpu_sample "$SERVER_CPU"); b1=$(cpu_sample "$CLIENT_CPU")
    ba=$(busy_pct "$a0" "$a1"); bb=$(busy_pct "$b0" "$b1")
    ((ba <= QUIET_MAX && bb <= QUIET_MAX)) && return 0
    if ((QUIET_WAITED >= QUIET_BUDGET)); then
      ((QUIET_WAITED == QUIET_BUDGET)) && log "(quiet-wait budget of ${QUIET_BUDGET}s used up; measuring under load)"
      QUIET_WAITED=$((QUIET_BUDGET + 1))
      return 0
    fi
    sleep 0.5
    QUIET_WAITED=$((QUIET_WAITED + 1))
  done
}

# run_dnsperf NAME SECONDS OUTFILE -> sets QPS LOST CODES and CPU shares (%):
#   SRV_OWN  server's own CPU on its core     SRV_FOREIGN  other work on that core
#   CLI_OWN  dnsperf's CPU on its core        CLI_FOREIGN  other work on that core
run_dnsperf() {
  local s=$1 secs=$2 out=$3 c0 s0 c1 s1 g0 g1 k0 k1 gs0 gs1
  wait_quiet
  c0=$(cpu_sample "$CLIENT_CPU"); s0=$(cpu_sample "$SERVER_CPU")
  read -r g0 gs0 <<<"$(group_ticks "${PID[$s]}")"; child_ticks; k0=$CHILD_TICKS
  timeout -k 2 $((secs + 20)) taskset -c "$CLIENT_CPU" \
    dnsperf -s 127.0.0.1 -p "${PORTS[$s]}" -d "$QUERIES" -l "$secs" \
    -c "$CLIENTS" -q "$OUTSTANDING" -T "$THREADS" >"$out" 2>&1 &
  DNSPERF_PID=$!
  local rc=0
  wait "$DNSPERF_PID" || rc=$?
  DNSPERF_PID=""
  c1=$(cpu_sample "$CLIENT_CPU"); s1=$(cpu_sample "$SERVER_CPU")
  read -r g1 gs1 <<<"$(group_ticks "${PID[$s]}")"; child_ticks; k1=$CHILD_TICKS
  local sb st cb ct
  read -r sb st <<<"$(awk -v a="$s0" -v b="$s1" 'BEGIN { split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2] }')"
  read -r cb ct <<<"$(awk -v a="$c0" -v b="$c1" 'BEGIN { split(a, x, " "); split(b, y, " "); print y[1] - x[1], y[2] - x[2] }')"
  pct() { awk -v a="$1" -v t="$2" 'BEGIN { v = (t > 0 ? 100 * a / t : 0); if (v < 0) v = 0; printf "%.0f", v }'; }
  SRV_OWN=$(pct $((g1 - g0)) "$st"); SRV_SYS=$(pct $((gs1 - gs0)) "$st"); SRV_FOREIGN=$(pct $((sb - (g1 - g0))) "$st")
  CLI_OWN=$(pct $((k1 - k0)) "$ct"); CLI_FOREIGN=$(pct $((cb - (k1 - k0))) "$ct")
  QPS=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$out")
  LOST=$(awk '/Queries lost:/ { print $3 $4 }' "$out")
  CODES=$(awk -F': *' '/Response codes:/ { print $2 }' "$out")
  if ((rc != 0)) || [[ -z $QPS ]]; then
    log "$s: dnsperf failed (rc=$rc):"; tail -n 5 "$out" >&2
    QPS=0
  fi
}

if ((WARMUP > 0)); then
  for s in "${ACTIVE[@]}"; do
    log "warmup $s ${WARMUP}s"
    run_dnsperf "$s" "$WARMUP" "$WORK/warmup-$s.txt"
  done
fi

RETRIES_LEFT=$RETRIES
declare -A RESULTS NOTES CPUINFO EFF
n=${#ACTIVE[@]}
total=$((ROUNDS * n * SECS + WARMUP * n))
log "measuring: ${ACTIVE[*]}; $ROUNDS round(s) x ${SECS}s each (~${total}s, + up to ${QUIET_BUDGET}s waiting for idle cores and $((RETRIES * SECS))s of repeats)"
for ((r = 0; r < ROUNDS; r++)); do
  for ((k = 0; k < n; k++)); do
    s=${ACTIVE[$(((k + r) % n))]}   # rotate the order every round
    while :; do
      run_dnsperf "$s" "$SECS" "$WORK/dnsperf-$s-$r.txt"
      ((SRV_FOREIGN > 10 || CLI_FOREIGN > 10)) && ((RETRIES_LEFT > 0)) || break
      RETRIES_LEFT=$((RETRIES_LEFT - 1))
      log "round $((r + 1))/$ROUNDS  $s: $QPS qps with other load on the cores (server core ${SRV_FOREIGN}%, dnsperf core ${CLI_FOREIGN}%): discarded, repeating ($RETRIES_LEFT repeats left)"
    done
    RESULTS[$s]+="$QPS "
    EFF[$s]+="$(awk -v q="$QPS" -v o="$SRV_OWN" 'BEGIN { printf "%.0f", (o > 0 ? q * 100 / o : 0) }') "
    log "round $((r + 1))/$ROUNDS  $(printf '%-5s' "$s") $(printf '%8s' "$QPS") qps  lost $LOST  server core: own ${SRV_OWN}% (kernel ${SRV_SYS}%) other ${SRV_FOREIGN}%  dnsperf core: own ${CLI_OWN}% other ${CLI_FOREIGN}%  [$CODES]"
    [[ $CODES =~ ^NOERROR\ [0-9]+\ \(100\.00%\)$ ]] || NOTES[$s]+=" round $((r + 1)): responses $CODES;"
    [[ $LOST == 0* ]] || NOTES[$s]+=" round $((r + 1)): lost $LOST;"
    ((SRV_FOREIGN <= 10 && CLI_FOREIGN <= 10)) ||
      NOTES[$s]+=" round $((r + 1)): other load on the cores (server core ${SRV_FOREIGN}%, dnsperf core ${CLI_FOREIGN}%);"
    if ((CLI_OWN >= 90 && SRV_OWN < 90)); then
      NOTES[$s]+=" round $((r + 1)): client-bound (dnsperf ${CLI_OWN}% of its core, server ${SRV_OWN}%): qps is a lower bound;"
    fi
    CPUINFO[$s]+="${SRV_OWN}(${SRV_SYS})/${CLI_OWN} "
  done
done

# Stop ours gracefully first when profiling, so that --cpu-prof writes its file.
if ((PROFILE)) && [[ -n ${PID[ours]:-} ]] && kill -0 "${PID[ours]}" 2>/dev/null; then
  kill -USR2 "${PID[ours]}" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "${PID[ours]}" 2>/dev/null || break; sleep 0.1; done
fi

median() {
  tr ' ' '\n' <<<"$1" | awk 'NF' | sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print 0; exit }
    if (NR % 2) printf "%.0f", v[(NR + 1) / 2]; else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }'; }

declare -A MED MEDEFF
for s in $SERVERS; do
  MED[$s]=0; MEDEFF[$s]=0
  [[ -n ${RESULTS[$s]:-} ]] || continue
  MED[$s]=$(median "${RESULTS[$s]}"); MEDEFF[$s]=$(median "${EFF[$s]}")
done

# ---------------------------------------------------------------- report ----
TABLE=$(
  echo "| server | median qps | rounds (qps) | ratio vs NSD | qps per server CPU-s (median) | ratio vs NSD | response bytes | CPU % server(kernel)/dnsperf per round |"
  echo "|---|---:|---|---:|---:|---:|---:|---|"
  for s in $SERVERS; do
    if [[ -n ${RESULTS[$s]:-} ]]; then
      echo "| ${LABEL[$s]} | ${MED[$s]} | ${RESULTS[$s]% } | $(ratio "${MED[$s]}" "${MED[nsd]:-0}") | ${MEDEFF[$s]} | $(ratio "${MEDEFF[$s]}" "${MEDEFF[nsd]:-0}") | ${RESP[$s]:-?} | ${CPUINFO[$s]% } |"
    else
      echo "| ${LABEL[$s]} | ${STATUS[$s]:-not measured} | – | – | – | – | – | – |"
    fi
  done
)
RATIO_LINE="ratio (median qps): ours/NSD = $(ratio "${MED[ours]:-0}" "${MED[nsd]:-0}"), ours/Knot = $(ratio "${MED[ours]:-0}" "${MED[knot]:-0}"), Knot/NSD = $(ratio "${MED[knot]:-0}" "${MED[nsd]:-0}")"
RATIO_LINE+="; per server CPU-second: ours/NSD = $(ratio "${MEDEFF[ours]:-0}" "${MEDEFF[nsd]:-0}"), ours/Knot = $(ratio "${MEDEFF[ours]:-0}" "${MEDEFF[knot]:-0}")"
[[ -n ${RESULTS[ours]:-} ]] || RATIO_LINE+="  (ours: ${STATUS[ours]:-not measured})"

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
CMD_LINE="bench/dns-qps/run.sh"
for a in "${ORIG_ARGS[@]}"; do CMD_LINE+=" $a"; done

echo
echo "$TABLE"
echo
for s in $SERVERS; do if [[ -n ${NOTES[$s]:-} ]]; then echo "note: $s:${NOTES[$s]}"; fi; done
echo "$RATIO_LINE"

if ((PROFILE)); then
  prof=$(ls -t "$PROF_DIR"/*.cpuprofile 2>/dev/null | head -n 1 || true)
  if [[ -n $prof ]]; then
    echo
    node "$HERE/cpuprofile-top.mjs" "$prof" 25
    echo "(profile kept: $prof — open in Chrome DevTools > Performance, or speedscope)"
  else
    echo "profile: no .cpuprofile written in $PROF_DIR"
  fi
fi

if ((WRITE_DOC)); then
  SECTION=$(
    echo "<!-- dns-qps:begin (generated by bench/dns-qps/run.sh --write-doc; edits inside are overwritten) -->"
    echo "## DNS query throughput: ntss vs NSD vs Knot (bench/dns-qps)"
    echo
    echo "Plain A queries over UDP on 127.0.0.1 (dnsperf defaults: no EDNS, RD set), names: \`$QUERY_NAMES\`,"
    echo "zone \`$ZONE\` from \`examples/server.yaml\` served identically by all three."
    echo "Each server pinned to core $SERVER_CPU (\`taskset -c $SERVER_CPU\`, all threads), dnsperf to core $CLIENT_CPU."
    echo "$ROUNDS interleaved rounds of ${SECS}s per server after a ${WARMUP}s warm-up; median reported."
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) cores, $CPU_MODEL, Linux $(uname -r)"
    echo "- versions: ntss $OURS_VER (git $OURS_GIT) on node $NODE_VER; NSD $NSD_VER; Knot DNS $KNOT_VER; dnsperf $DNSPERF_VER"
    echo "- server settings: NSD server-count 1, rrl-ratelimit 0; Knot udp-workers 1, tcp-workers 1, background-workers 1; ntss single process"
    echo "- command: \`$CMD_LINE\`"
    echo "- each measurement: \`$DNSPERF_CMD\`"
    echo
    echo "$TABLE"
    echo
    echo "$RATIO_LINE"
    echo
    for s in $SERVERS; do if [[ -n ${NOTES[$s]:-} ]]; then echo "- note: $s:${NOTES[$s]}"; fi; done
    if [[ -n ${NOTES[*]:-} ]]; then echo; fi
    echo "Response sizes differ (NSD adds the NS RRset in AUTHORITY and glue in ADDITIONAL by default; Knot and ntss answer minimally). \"qps per server CPU-s\" = qps / share of its core the server used: the estimate of a full core's worth when the run was client-bound or disturbed by other load. \"CPU % server(kernel)/dnsperf\" is the CPU time of the server's processes (of which in the kernel) / of dnsperf, as a share of its core's time in each round: the server should be near 100% (it is the bottleneck) and dnsperf below it."
    echo "<!-- dns-qps:end -->"
  )
  mkdir -p "$(dirname "$DOC")"
  [[ -f $DOC ]] || printf '# Benchmarks\n\n' >"$DOC"
  SECTION_FILE=$WORK/section.md
  printf '%s\n' "$SECTION" >"$SECTION_FILE"
  awk -v sf="$SECTION_FILE" '
    function emit() { while ((getline l < sf) > 0) print l; close(sf); done = 1 }
    /^<!-- dns-qps:begin/ { emit(); skip = 1; next }
    skip && /^<!-- dns-qps:end -->/ { skip = 0; next }
    !skip { print; last = $0 }
    END { if (!done) { if (last != "") print ""; emit() } }' "$DOC" >"$WORK/doc.new"
  cat "$WORK/doc.new" >"$DOC"
  log "wrote section to $DOC"
fi
