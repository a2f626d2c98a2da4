#!/usr/bin/env bash
# End-to-end suite: pidone as PID 1 in real containers (rootful podman + runc).
#
#   bash e2e/setup.sh && bash e2e/run.sh        # as root; about 40 s
#
# Builds pidone and the example apps (release, static), lays them out in a root filesystem that
# mirrors the final stage of Dockerfile.example (FROM scratch: /usr/local/bin/pidone, /app/*, no
# shell, no libc, user 65532), and runs each case with and without pidone as PID 1, asserting exit
# codes, stop times, what the application saw, zombies and orphans. Ends with a table of measured
# stop times; exits 1 if any assertion failed, 2 if the suite could not run.
#
# Busybox is added to the root filesystem only to run `sleep`, the contrast case of an
# application that has no SIGTERM handler. All inspection is done from the host through /proc.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Our own podman configuration: /etc/containers is left alone (see e2e/containers.conf).
export CONTAINERS_CONF="$ROOT/e2e/containers.conf"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
[[ $TARGET == /* ]] || TARGET=$ROOT/$TARGET
PIDONE=$TARGET/release/pidone
APPS=(graceful ignore_term leaky slow_stop)

WORK=$(mktemp -d /tmp/pidone-e2e.XXXXXX) || exit 2
ROOTFS=$WORK/rootfs
SHARED=$WORK/shared # bind-mounted at /shared: ready files and orphan markers
PREFIX=pidone-e2e-$$-$RANDOM # unique per run: podman state can outlive a run on a reused machine
NAMES=()
FAILS=0
ROWS=()
SUITE_T0=$(date +%s%N)

cleanup() {
    local n
    for n in "${NAMES[@]}"; do podman rm -f -t 0 "$n" >/dev/null 2>&1; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s\n' "$*" >&2; }
die() {
    log "e2e: $*"
    exit 2
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
ok() { log "  ok    $*"; }
fail() {
    log "  FAIL  $*"
    FAILS=$((FAILS + 1))
}
# check DESCRIPTION COMMAND...: records a pass or a failure, never aborts the suite.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
between() { (($1 >= $2 && $1 < $3)); } # between VALUE LOW HIGH
secs() { printf '%d.%02ds' $(($1 / 1000)) $(($1 % 1000 / 10)); }
row() { ROWS+=("| $1 | $2 | $3 | $4 | $(secs "$5") | $6 |"); }

# ---- containers -------------------------------------------------------------------------------
COMMON=(--runtime runc --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096
    --user 65532:65532 -v "$SHARED:/shared")

# start ID [podman-flags...] -- COMMAND...   (detached; ID is unique within this run)
start() {
    local name=$PREFIX-$1 flags=()
    shift
    while (($#)) && [[ $1 != -- ]]; do
        flags+=("$1")
        shift
    done
    shift
    NAMES+=("$name")
    # podman 4.3: --rootfs is a boolean flag and the first positional argument is the root
    # directory, so every option goes before it. :O = throw-away overlay, the directory stays intact.
    if ! podman run -d --name "$name" "${COMMON[@]}" "${flags[@]}" --rootfs "$ROOTFS:O" "$@" >/dev/null; then
        fail "$1: podman run failed"
        return 1
    fi
}
# start_ready ID [podman-flags...] -- APP...: start, with `--ready-file` (in /shared) appended to
# the app's arguments, then wait until the app has written it.
start_ready() {
    start "$@" --ready-file "/shared/$1.ready" || return 1
    check "$1: app ready" wait_file "$SHARED/$1.ready"
}
# use_init INIT: sets PRE, the command prefix that puts INIT (none|pidone) in front of the app.
use_init() {
    PRE=()
    if [[ $1 == pidone ]]; then PRE=(/usr/local/bin/pidone --); fi
}
wait_file() { # wait_file PATH [TIMEOUT_MS]
    local deadline=$(($(now_ms) + ${2:-10000}))
    until [[ -e $1 ]]; do
        (($(now_ms) < deadline)) || return 1
        sleep 0.02
    done
}
# stop ID TIMEOUT: `podman stop -t TIMEOUT`; sets STOP_MS, EXIT and PODMAN_ERR (podman's stderr).
stop() {
    local name=$PREFIX-$1 t0
    t0=$(now_ms)
    PODMAN_ERR=$(podman stop -t "$2" "$name" 2>&1 >/dev/null)
    STOP_MS=$(($(now_ms) - t0))
    EXIT=$(podman inspect -f '{{.State.ExitCode}}' "$name")
}
logs() { podman logs "$PREFIX-$1" 2>&1; }
host_pid() { podman inspect -f '{{.State.Pid}}' "$PREFIX-$1"; }
# procs_of PID [STATE] [COMM]: how many host processes with parent PID (in that state / with that
# command name). /proc/PID/stat is "pid (comm) state ppid ..."; a zombie's stat stays readable.
procs_of() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v pp="$1" -v st="${2:-}" -v comm="${3:+($3)}" '
        { c = $2; sub(/^.*\) /, "") }
        $2 == pp && (st == "" || $1 == st) && (comm == "" || c == comm) { n++ }
        END { print n + 0 }'
}
# wait_count EXPECTED TIMEOUT_MS COMMAND...: polls COMMAND's output until it is EXPECTED; sets GOT.
wait_count() {
    local want=$1 deadline=$(($(now_ms) + $2))
    shift 2
    while :; do
        GOT=$("$@")
        [[ $GOT == "$want" ]] && return 0
        (($(now_ms) < deadline)) || return 1
        sleep 0.05
    done
}
has_log() { grep -qE -- "$2" <<<"$(logs "$1")"; }
count_log() { grep -cE -- "$2" <<<"$(logs "$1")"; }
dump_logs() {
    local id
    for id in "$@"; do
        log "  --- podman logs $PREFIX-$id"
        logs "$id" | tail -n 25 | sed 's/^/  | /' >&2
    done
}
# run_case FN ID...: runs a case; prints the logs of its containers if one of its assertions failed.
run_case() {
    local before=$FAILS fn=$1
    shift
    log "== $fn $*"
    "$fn"
    ((FAILS == before)) || dump_logs "$@"
}
# run_per_init FN NAME: runs the case FN twice, without an init and with pidone in front of the
# app; FN sees $init (none|pidone), $id (NAME-INIT) and PRE (see use_init).
run_per_init() {
    local fn=$1 name=$2 init id
    for init in none pidone; do
        id=$name-$init
        use_init "$init"
        run_case "$fn" "$id"
    done
}

# ---- cases ------------------------------------------------------------------------------------

# A well-behaved app: it handles SIGTERM itself, so it stops at once with or without an init.
# pidone must not get in the way: same exit code, no added delay, the app sees the signal.
case_graceful() {
    start_ready "$id" -- "${PRE[@]}" /app/graceful --exit-code 3 || return
    stop "$id" 10
    check "$id: exit code is the app's (3), got $EXIT" test "$EXIT" = 3
    check "$id: stopped in $(secs $STOP_MS) (< 2s)" between "$STOP_MS" 0 2000
    check "$id: app logged 'got SIGTERM'" has_log "$id" '^graceful: got SIGTERM$'
    [[ $init == pidone ]] && check "$id: pidone report line" has_log "$id" '^pidone: exit 3 '
    row "graceful (handles SIGTERM)" "podman stop -t 10" "$init" "$EXIT" "$STOP_MS" "app drained and exited"
}

# The common case that goes wrong: an app with no SIGTERM handler (here busybox sleep; also most
# shell scripts, and Python or Node programs that install none). As PID 1 the kernel drops
# SIGTERM, so the runtime waits its whole timeout and SIGKILLs. Under pidone it is not PID 1, the
# default action applies and it dies at once (143 = 128 + SIGTERM).
case_no_handler() {
    local pid
    start "$id" -- "${PRE[@]}" /bin/sleep 300 || return
    if [[ $init == pidone ]]; then # the stop must reach sleep, not a pidone that has not forked yet
        pid=$(host_pid "$id")
        check "$id: sleep running under pidone" wait_count 1 10000 procs_of "$pid" "" sleep
    fi
    stop "$id" 3
    if [[ $init == none ]]; then
        check "$id: SIGKILLed by podman (137), got $EXIT" test "$EXIT" = 137
        check "$id: took the whole timeout: $(secs $STOP_MS) (>= 2.9s)" between "$STOP_MS" 2900 8000
        check "$id: podman says it resorted to SIGKILL" grep -q 'resorting to SIGKILL' <<<"$PODMAN_ERR"
        row "sleep (no SIGTERM handler)" "podman stop -t 3" none "$EXIT" "$STOP_MS" "SIGTERM dropped by the kernel; podman SIGKILLs"
    else
        check "$id: killed by SIGTERM (143), got $EXIT" test "$EXIT" = 143
        check "$id: stopped in $(secs $STOP_MS) (< 2s)" between "$STOP_MS" 0 2000
        check "$id: pidone report" has_log "$id" '^pidone: exit 143 \(child killed by SIGTERM\)'
        row "sleep (no SIGTERM handler)" "podman stop -t 3" pidone "$EXIT" "$STOP_MS" "default action of SIGTERM applies"
    fi
}

# An app that ignores SIGTERM. Without an init the runtime's timeout (10 s) decides; with
# PIDONE_GRACE=1s pidone kills it after 1 s, says what it killed, and reports.
case_ignore_term() {
    local flags
    flags=()
    [[ $init == pidone ]] && flags=(--env PIDONE_GRACE=1s)
    start_ready "$id" "${flags[@]}" -- "${PRE[@]}" /app/ignore_term || return
    stop "$id" 10
    check "$id: exit 137, got $EXIT" test "$EXIT" = 137
    check "$id: app saw SIGTERM and ignored it" has_log "$id" '^ignore_term: got SIGTERM \(ignored\)$'
    if [[ $init == none ]]; then
        check "$id: took the whole timeout: $(secs $STOP_MS) (>= 9.5s)" between "$STOP_MS" 9500 16000
        row "ignore_term" "podman stop -t 10" none "$EXIT" "$STOP_MS" "podman SIGKILLs at its timeout"
    else
        check "$id: killed at pidone's 1s deadline: $(secs $STOP_MS) (0.9-4s)" between "$STOP_MS" 900 4000
        check "$id: pidone warned before killing" has_log "$id" '^pidone: warning: grace period of 1s expired; sending SIGKILL'
        check "$id: pidone report line" has_log "$id" '^pidone: exit 137 .*grace expired'
        check "$id: podman did not need SIGKILL" test -z "$(grep 'resorting to SIGKILL' <<<"$PODMAN_ERR")"
        row "ignore_term" "podman stop -t 10" "pidone, PIDONE_GRACE=1s" "$EXIT" "$STOP_MS" "pidone SIGKILLs at its grace, logs what it killed"
    fi
}

# Zombies: leaky double-forks 50 children that exit at once; they are re-parented to PID 1.
# Without an init, PID 1 is leaky, which never reaps them; pidone reaps them.
case_zombies() {
    local pid
    start_ready "$id" -- "${PRE[@]}" /app/leaky --zombies 50 || return
    pid=$(host_pid "$id")
    if [[ $init == none ]]; then
        check "$id: 50 zombies pile up under PID 1" wait_count 50 5000 procs_of "$pid" Z
    else
        check "$id: no zombies under PID 1 (pidone)" wait_count 0 3000 procs_of "$pid" Z
        sleep 0.5 # and they stay gone (nothing left to accumulate)
        check "$id: still no zombies" wait_count 0 0 procs_of "$pid" Z
    fi
    local zombies=$GOT
    stop "$id" 10
    check "$id: exit 0, got $EXIT" test "$EXIT" = 0
    check "$id: stopped in $(secs $STOP_MS) (< 2s)" between "$STOP_MS" 0 2000
    [[ $init == pidone ]] && check "$id: pidone reports 50 reaped" has_log "$id" '^pidone: exit 0 .*reaped 50'
    row "leaky --zombies 50" "podman stop -t 10" "$init" "$EXIT" "$STOP_MS" "$zombies zombies while running"
}

# Orphans: leaky leaves 3 workers behind and exits after 500 ms. pidone sends them SIGTERM (they
# write a marker in the bind-mounted host directory); without an init the kernel SIGKILLs
# everything when PID 1 exits, and the workers never get to clean up.
case_orphans() {
    local t0 markers
    mkdir -m 0777 "$SHARED/$id" # 0777: the container runs as uid 65532
    t0=$(now_ms)
    start "$id" -- "${PRE[@]}" /app/leaky --orphans 3 --exit-after 500ms --marker-dir "/shared/$id" || return
    EXIT=$(timeout 30 podman wait "$PREFIX-$id")
    local ms=$(($(now_ms) - t0))
    markers=$(find "$SHARED/$id" -name 'orphan-*' | wc -l)
    check "$id: exit 0 (leaky's), got $EXIT" test "$EXIT" = 0
    check "$id: container ended $(secs $ms) after start (< 4s)" between "$ms" 0 4000
    if [[ $init == none ]]; then
        check "$id: orphans got no SIGTERM, wrote no marker ($markers)" test "$markers" = 0
        row "leaky --orphans 3 --exit-after 500ms" "(exits by itself)" none "$EXIT" "$ms" "$markers of 3 orphans cleaned up (kernel SIGKILL)"
    else
        check "$id: all 3 orphans got SIGTERM and wrote their marker ($markers)" test "$markers" = 3
        check "$id: orphans logged 'got SIGTERM'" test "$(count_log "$id" '^leaky: orphan [0-9]+: got SIGTERM$')" = 3
        check "$id: pidone report line" has_log "$id" '^pidone: exit 0 '
        row "leaky --orphans 3 --exit-after 500ms" "(exits by itself)" pidone "$EXIT" "$ms" "$markers of 3 orphans cleaned up (SIGTERM)"
    fi
}

# `podman run --init --init-path PIDONE`: podman bind-mounts pidone at /run/podman-init and runs
# it as `/run/podman-init -- COMMAND...`.
case_init_path() {
    local id=init-path pid cmdline
    start_ready "$id" --init --init-path "$PIDONE" -- /app/graceful --exit-code 3 || return
    pid=$(host_pid "$id")
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
    check "$id: PID 1 is '/run/podman-init -- /app/graceful ...' (${cmdline% })" \
        test "${cmdline% }" = "/run/podman-init -- /app/graceful --exit-code 3 --ready-file /shared/$id.ready"
    check "$id: PID 1 is the pidone binary" cmp -s "/proc/$pid/exe" "$PIDONE"
    check "$id: graceful runs as its child" wait_count 1 5000 procs_of "$pid" "" graceful
    stop "$id" 10
    check "$id: exit code is the app's (3), got $EXIT" test "$EXIT" = 3
    check "$id: stopped in $(secs $STOP_MS) (< 2s)" between "$STOP_MS" 0 2000
    check "$id: app logged 'got SIGTERM'" has_log "$id" '^graceful: got SIGTERM$'
    check "$id: pidone report line" has_log "$id" '^pidone: exit 3 '
    row "graceful" "podman stop -t 10" "pidone via --init --init-path" "$EXIT" "$STOP_MS" "same as pidone in the image"
}

# --stop-delay: pidone holds SIGTERM for 1 s (time for a load balancer to stop sending traffic),
# then delivers it; the app still drains and exits with its own code.
case_stop_delay() {
    local id=stop-delay
    start_ready "$id" --env PIDONE_STOP_DELAY=1s -- /usr/local/bin/pidone -- /app/graceful || return
    stop "$id" 10
    check "$id: exit 0, got $EXIT" test "$EXIT" = 0
    check "$id: SIGTERM held for 1s: stopped in $(secs $STOP_MS) (1-3s)" between "$STOP_MS" 1000 3000
    check "$id: app logged 'got SIGTERM'" has_log "$id" '^graceful: got SIGTERM$'
    row "graceful" "podman stop -t 10" "pidone, PIDONE_STOP_DELAY=1s" "$EXIT" "$STOP_MS" "SIGTERM delivered after 1s"
}

# ---- build ------------------------------------------------------------------------------------
command -v podman >/dev/null || die "podman not found: run 'bash e2e/setup.sh' first (as root)"
[[ -x /bin/busybox ]] || die "/bin/busybox not found: run 'bash e2e/setup.sh' first"
((EUID == 0)) || die "needs root (rootful podman)"

log "== build (release, static): pidone ${APPS[*]}"
mapfile -t example_args < <(printf -- '--example\n%s\n' "${APPS[@]}")
(cd "$ROOT" && cargo build --release --quiet --bin pidone "${example_args[@]}") ||
    die "cargo build failed"

# The root filesystem: the final stage of Dockerfile.example, plus busybox for `sleep`.
mkdir -p "$ROOTFS/usr/local/bin" "$ROOTFS/app" "$ROOTFS/bin" "$SHARED" || die "cannot create $WORK"
chmod 0755 "$WORK"
chmod 1777 "$SHARED"
install -m 0755 "$PIDONE" "$ROOTFS/usr/local/bin/pidone" || die "no $PIDONE"
for app in "${APPS[@]}"; do
    install -m 0755 "$TARGET/release/examples/$app" "$ROOTFS/app/$app" || die "no example $app"
done
{ install -m 0755 /bin/busybox "$ROOTFS/bin/busybox" && ln -s busybox "$ROOTFS/bin/sleep"; } || die "busybox"
# There is no C library in there: a dynamically linked binary would fail with a puzzling
# "no such file or directory". Say so plainly instead.
for b in "$ROOTFS/usr/local/bin/pidone" "$ROOTFS"/app/* "$ROOTFS/bin/busybox"; do
    if LC_ALL=C readelf -l "$b" 2>/dev/null | grep -q 'program interpreter'; then
        die "$b is dynamically linked; the release build must be static (.cargo/config.toml)"
    fi
done
log "   rootfs: $(du -sh "$ROOTFS" | cut -f1) ($(find "$ROOTFS" -type f | wc -l) files), podman $(podman version --format '{{.Client.Version}}')"

# ---- run --------------------------------------------------------------------------------------
run_per_init case_graceful graceful
run_per_init case_no_handler nohandler
run_per_init case_ignore_term ignoreterm
run_per_init case_zombies zombies
run_per_init case_orphans orphans
run_case case_init_path init-path
run_case case_stop_delay stop-delay

# ---- report -----------------------------------------------------------------------------------
printf '\n| app | how it was stopped | init (PID 1) | exit | stop time | what happened |\n'
printf '|---|---|---|---|---|---|\n'
printf '%s\n' "${ROWS[@]}"
echo
echo 'Stop time: from "podman stop" until the container had exited (orphan rows: from "podman run").'
total=$((($(date +%s%N) - SUITE_T0) / 1000000))
if ((FAILS)); then
    log "e2e: $FAILS assertion(s) FAILED ($(secs $total))"
    exit 1
fi
log "e2e: all assertions passed ($(secs $total))"
