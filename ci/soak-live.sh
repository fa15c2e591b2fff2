#!/bin/sh
# soak-live.sh [MINUTES] [BUILD] - the live runner against `mockgw serve`
# over loopback for MINUTES (default 5), with a `mockgw ctl` fault every few
# seconds (kill, stale, down, connectivity_lost, latency, slice, garbage, ...).
# Samples both processes' open descriptors (/proc/PID/fd) and RSS after a
# warm-up and at the end, prints first/last, and fails if either grew past
# a small bound (SOAK_FD_SLACK descriptors, default 2; SOAK_RSS_SLACK_KB,
# default 2048), if the runner is not back to "API Connected" after the
# faults, or if either process does not exit 0 on SIGINT.
set -eu
minutes=${1:-5}
build=${2:-build}
fd_slack=${SOAK_FD_SLACK:-2}
rss_slack=${SOAK_RSS_SLACK_KB:-2048}
gap=${SOAK_FAULT_GAP:-4}
tmp=$(mktemp -d)
gw=""; rn=""
cleanup() {
    for p in $rn $gw; do kill -INT "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

"$build/mockgw" serve --port 0 --ctl-port 0 --seed 1 >"$tmp/gw.log" 2>&1 &
gw=$!
for _ in $(seq 50); do grep -q 'control on' "$tmp/gw.log" && break; sleep 0.1; done
port=$(sed -n 's/^mockgw: listening on .*:\([0-9]*\)$/\1/p' "$tmp/gw.log")
ctl_port=$(sed -n 's/^mockgw: control on .*:\([0-9]*\)$/\1/p' "$tmp/gw.log")
[ -n "$port" ] && [ -n "$ctl_port" ] || { echo "soak-live: mockgw did not start"; cat "$tmp/gw.log"; exit 1; }

"$build/runner" --port "$port" --client-id 9 --symbols AAPL,MSFT --interval 20s --always-open \
    --trade --ping-interval 1 --ping-timeout 1 --connect-timeout 2 --seed 1 \
    --status-file "$tmp/status.json" >"$tmp/runner.log" 2>&1 &
rn=$!

ctl() { "$build/mockgw" ctl --ctl-port "$ctl_port" "$@" >/dev/null 2>&1 || true; }
fds() { ls "/proc/$1/fd" | wc -l; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
connected() { grep -q '"API Connected' "$tmp/status.json" 2>/dev/null; }
wait_connected() {
    for _ in $(seq 300); do connected && return 0; sleep 0.1; done
    echo "soak-live: the runner is not connected"; tail -n 20 "$tmp/runner.log"; exit 1
}

wait_connected
sleep 5 # one cycle and a few health checks before the first sample
gw_fd0=$(fds $gw); gw_rss0=$(rss $gw); rn_fd0=$(fds $rn); rn_rss0=$(rss $rn)

faults="kill|stale 5s|down 10s|connectivity_lost 5s|latency 500ms 5s|slice 3 5s|garbage 16|kill rst|handshake_stall 5s|farm_outage 5s|client_id_in_use 1|stale 3s --only historical"
end=$(( $(date +%s) + minutes * 60 ))
n=0
while [ "$(date +%s)" -lt "$end" ]; do
    i=$(( n % 12 + 1 ))
    fault=$(echo "$faults" | cut -d'|' -f$i)
    # shellcheck disable=SC2086
    ctl $fault
    n=$((n + 1))
    sleep "$gap"
    kill -0 $rn 2>/dev/null || { echo "soak-live: the runner died"; tail -n 30 "$tmp/runner.log"; exit 1; }
    kill -0 $gw 2>/dev/null || { echo "soak-live: mockgw died"; tail -n 30 "$tmp/gw.log"; exit 1; }
done
ctl clear
sleep 12 # past the longest fault (down 10s) and a reconnect
wait_connected
sleep 3
gw_fd1=$(fds $gw); gw_rss1=$(rss $gw); rn_fd1=$(fds $rn); rn_rss1=$(rss $rn)
reconnects=$(grep -c 'connecting to' "$tmp/runner.log" || true)

echo "soak-live: $minutes min, $n faults, $reconnects connects"
echo "soak-live: runner fds first $rn_fd0 last $rn_fd1, RSS first ${rn_rss0} kB last ${rn_rss1} kB"
echo "soak-live: mockgw fds first $gw_fd0 last $gw_fd1, RSS first ${gw_rss0} kB last ${gw_rss1} kB"

kill -INT $rn; rc_rn=0; wait $rn || rc_rn=$?
kill -INT $gw; rc_gw=0; wait $gw || rc_gw=$?
rn=""; gw=""
fail=0
[ "$rc_rn" -eq 0 ] || { echo "soak-live: runner exit $rc_rn"; fail=1; }
[ "$rc_gw" -eq 0 ] || { echo "soak-live: mockgw exit $rc_gw"; fail=1; }
[ "$rn_fd1" -le $((rn_fd0 + fd_slack)) ] || { echo "soak-live: runner descriptors grew"; fail=1; }
[ "$gw_fd1" -le $((gw_fd0 + fd_slack)) ] || { echo "soak-live: mockgw descriptors grew"; fail=1; }
[ "$rn_rss1" -le $((rn_rss0 + rss_slack)) ] || { echo "soak-live: runner RSS grew"; fail=1; }
[ "$gw_rss1" -le $((gw_rss0 + rss_slack)) ] || { echo "soak-live: mockgw RSS grew"; fail=1; }
[ "$fail" -eq 0 ] && echo "soak-live: PASS"
exit "$fail"
