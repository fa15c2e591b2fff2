#!/bin/sh
# run.sh BUILD_DIR - interop test: a third-party TWS API client (@stoqey/ib,
# pinned in package-lock.json) talks to a standalone `mockgw serve` over
# real TCP. Exit 0 on success, 1 on failure (with the reason), 77 when node
# or the npm registry is not available (ci/run-tests.sh reports a SKIP).
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
mockgw="$build/mockgw"
client_id=17

skip() { echo "SKIP: $1"; exit 77; }
die() { echo "FAIL: $1"; exit 1; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    skip "node not installed (ci/deps.sh installs it)"
fi
[ -x "$mockgw" ] || die "$mockgw not built (make $mockgw)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/interop.XXXXXX") || die "mktemp failed"
gw_pid=""
cleanup() {
    if [ -n "$gw_pid" ] && kill -0 "$gw_pid" 2>/dev/null; then
        kill -KILL "$gw_pid" 2>/dev/null
        wait "$gw_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

show_gw_logs() {
    echo "--- mockgw stdout"; cat "$tmp/gw.out"
    echo "--- mockgw stderr"; cat "$tmp/gw.err"
}

# Installs the pinned client when node_modules is missing or older than the lockfile.
# A registry that cannot be reached is a SKIP, any other npm failure a FAIL.
install_client() {
    stamp="$here/node_modules/.package-lock.json"
    if [ -f "$stamp" ] && [ -d "$here/node_modules/@stoqey/ib" ] &&
       [ -z "$(find "$here/package-lock.json" -newer "$stamp")" ]; then
        return 0
    fi
    if (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >"$tmp/npm.log" 2>&1; then
        return 0
    fi
    cat "$tmp/npm.log"
    if grep -qE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH' \
        "$tmp/npm.log"; then
        skip "npm registry unreachable, cannot install @stoqey/ib"
    fi
    die "npm ci failed"
}

# Waits up to 5 s for mockgw's "listening on H:P" line and prints P.
wait_for_port() {
    tries=0
    while [ $tries -lt 50 ]; do
        line=$(grep -m 1 'listening on' "$tmp/gw.out")
        if [ -n "$line" ]; then
            echo "$line" | sed -n 's/.*listening on .*:\([0-9][0-9]*\).*/\1/p'
            return 0
        fi
        kill -0 "$gw_pid" 2>/dev/null || return 1
        sleep 0.1
        tries=$((tries + 1))
    done
    return 1
}

# Sends SIGINT and waits up to 5 s for mockgw to exit; its exit code must be 0.
stop_gateway() {
    kill -INT "$gw_pid" 2>/dev/null || die "mockgw had already exited"
    tries=0
    while kill -0 "$gw_pid" 2>/dev/null && [ $tries -lt 50 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
    kill -0 "$gw_pid" 2>/dev/null && { show_gw_logs; die "mockgw still running 5 s after SIGINT"; }
    wait "$gw_pid"
    rc=$?
    gw_pid=""
    [ $rc -eq 0 ] || { show_gw_logs; die "mockgw exited with $rc after SIGINT (want 0)"; }
}

install_client

# The scenario format's gateway object: the client checks it sees the position.
cat >"$tmp/gateway.json" <<'JSON'
{
  "accounts": ["DU1234567"],
  "positions": [{"account": "DU1234567", "symbol": "MSFT", "qty": 25, "avg_cost": 410.5}],
  "prices": {"AAPL": 190.25, "EURUSD": 1.0842},
  "market_seed": 7
}
JSON

"$mockgw" serve --config "$tmp/gateway.json" --port 0 --verbose >"$tmp/gw.out" 2>"$tmp/gw.err" &
gw_pid=$!
port=$(wait_for_port)
[ -n "$port" ] || { show_gw_logs; die "mockgw did not print 'listening on H:P' within 5 s"; }
echo "mockgw listening on port $port (pid $gw_pid)"

ctl_port=$(sed -n 's/.*control on .*:\([0-9][0-9]*\).*/\1/p' "$tmp/gw.out" | head -n 1)
[ -n "$ctl_port" ] || { show_gw_logs; die "mockgw did not print 'control on H:P'"; }
if ! node "$here/client.js" --host 127.0.0.1 --port "$port" --client-id "$client_id" \
    --symbol AAPL --position-symbol MSFT --mockgw "$mockgw" --ctl-port "$ctl_port" \
    >"$tmp/client.out" 2>"$tmp/client.err"; then
    cat "$tmp/client.out" "$tmp/client.err"; show_gw_logs
    die "@stoqey/ib client failed against mockgw"
fi
cat "$tmp/client.out"

stop_gateway

# The verbose log names every message in and out ("in  conn=1 reqCurrentTime
# [49,1]"): the client's request must have come in and the answer gone out.
for want in 'in +conn=[0-9]+ reqCurrentTime' 'out +conn=[0-9]+ currentTime' \
    'out +conn=[0-9]+ execDetails' 'out +conn=[0-9]+ completedOrder '; do
    grep -qE "$want" "$tmp/gw.out" "$tmp/gw.err" ||
        { show_gw_logs; die "mockgw verbose log has no line matching /$want/"; }
done
echo "PASS: @stoqey/ib ran the whole surface (time, positions, account summary, contract" \
     "details, bars, snapshot, MKT fill, LMT cancel, executions, orders, duplicate id," \
     "disconnect noticed after mockgw ctl kill)"
