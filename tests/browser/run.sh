#!/bin/sh
# run.sh BUILD_DIR - browser test of the runner's status page: headless
# Chromium (Debian's chromium) keeps http://127.0.0.1:P/ open while a
# runner is connected to `mockgw serve`; the gateway is killed with
# `mockgw ctl kill` and the page, refreshing itself, must show the label go
# "API Connected" -> "Reconnecting" -> "API Connected". The label is read
# from the live page's title (the page's script keeps it equal to the
# label) through Chromium's DevTools HTTP endpoint (/json/list), so one
# browser watches the page the way an operator would. At the end the DOM is
# checked and a screenshot is kept: BUILD_DIR/browser/status.png (CI keeps
# it as an artifact). Exit 0 pass, 1 fail (with the reason), 77 when
# chromium or curl is not installed (ci/run-tests.sh reports a SKIP).
set -u
build=${1:-build}
chromium=${CHROMIUM:-/usr/bin/chromium}
out="$build/browser"

skip() { echo "SKIP: $1"; exit 77; }
die() { echo "FAIL: $1"; show_logs; exit 1; }

[ -x "$chromium" ] || skip "$chromium not installed (ci/deps.sh installs it)"
command -v curl >/dev/null 2>&1 || skip "curl not installed (ci/deps.sh installs it)"
if [ ! -x "$build/runner" ] || [ ! -x "$build/mockgw" ]; then
    echo "FAIL: build $build/runner and $build/mockgw first"; exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/browser.XXXXXX") || { echo "FAIL: mktemp failed"; exit 1; }
gw_pid="" rn_pid="" cr_pid=""
stop() { # pid: TERM, then KILL if it is still there after 5 s
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
    kill -TERM "$1" 2>/dev/null
    n=0
    while kill -0 "$1" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
cleanup() {
    stop "$cr_pid"; stop "$rn_pid"; stop "$gw_pid"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

show_logs() {
    for f in gw.out gw.err rn.err ctl.out dom.html; do
        [ -f "$tmp/$f" ] && { echo "--- $f"; tail -n 40 "$tmp/$f"; }
    done
}

# wait_for FILE REGEX: up to 15 s for a line matching REGEX; prints the match.
wait_for() {
    n=0
    while [ $n -lt 150 ]; do
        m=$(grep -o -m 1 -E "$2" "$1" 2>/dev/null) && { echo "$m"; return 0; }
        sleep 0.1; n=$((n + 1))
    done
    return 1
}
port_of() { sed 's/.*://'; }

"$build/mockgw" serve --host 127.0.0.1 --port 0 --ctl-port 0 >"$tmp/gw.out" 2>"$tmp/gw.err" &
gw_pid=$!
gw_port=$(wait_for "$tmp/gw.out" 'listening on 127\.0\.0\.1:[0-9]+' | port_of) ||
    die "mockgw did not listen"
ctl_port=$(wait_for "$tmp/gw.out" 'control on 127\.0\.0\.1:[0-9]+' | port_of) ||
    die "no mockgw control port"

# --always-open: the test runs at any hour; short pings notice the kill at once.
"$build/runner" --host 127.0.0.1 --port "$gw_port" --client-id 9 --always-open \
    --ping-interval 0.2 --ping-timeout 1 --http 127.0.0.1:0 >/dev/null 2>"$tmp/rn.err" &
rn_pid=$!
http_port=$(wait_for "$tmp/rn.err" 'http: listening on 127\.0\.0\.1:[0-9]+' | port_of) ||
    die "the runner serves no http"
url="http://127.0.0.1:$http_port/"

# The flags keep a headless browser from calling home or asking questions;
# a fresh profile per run (Chromium wants one for remote debugging anyway).
flags="--headless --no-sandbox --disable-gpu --disable-background-networking
       --disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage"
# shellcheck disable=SC2086
"$chromium" $flags --user-data-dir="$tmp/profile" --remote-debugging-port=0 \
    --remote-debugging-address=127.0.0.1 "$url" >"$tmp/cr.out" 2>"$tmp/cr.err" &
cr_pid=$!
dbg_port=$(wait_for "$tmp/cr.err" 'DevTools listening on ws://127\.0\.0\.1:[0-9]+' | port_of) ||
    die "chromium gave no DevTools port"

# The title of the page at $url in the running browser ("" if none yet).
title() {
    curl -s -m 2 "http://127.0.0.1:$dbg_port/json/list" |
        awk -v url="\"$url\"" '/"title":/ { t = $0 }
                               /"url":/ && index($0, url) { print t; exit }' |
        sed -e 's/^ *"title": *"//' -e 's/", *$//'
}
# wait_title LABEL SECONDS: polls the live page's label every 100 ms.
wait_title() {
    n=0
    while [ $n -lt $(($2 * 10)) ]; do
        t=$(title)
        [ "$t" = "$1" ] && { echo "seen: $t"; return 0; }
        sleep 0.1; n=$((n + 1))
    done
    die "the page never showed \"$1\" within $2 s (last: \"$t\")"
}

wait_title "API Connected" 20
# The kill, then 3 s of refused connects, as a Gateway that restarts: a bare
# kill is over in about a second, the page's own refresh period.
ctl() { "$build/mockgw" ctl --ctl-port "$ctl_port" "$@" >>"$tmp/ctl.out" 2>&1 || die "ctl $*"; }
ctl kill
ctl refuse 3s
wait_title "Reconnecting" 15
wait_title "API Connected" 30

# The page as the browser built it, and a picture of it.
# shellcheck disable=SC2086
"$chromium" $flags --user-data-dir="$tmp/profile-dom" --dump-dom "$url" \
    >"$tmp/dom.html" 2>/dev/null || die "chromium --dump-dom failed"
grep -q '<div id="label" class="c-connected">API Connected</div>' "$tmp/dom.html" ||
    die "the page's label is not API Connected"
grep -q '<td>Reconnecting</td>' "$tmp/dom.html" || die "the page's timeline has no Reconnecting"
mkdir -p "$out"
rm -f "$out/status.png"
# shellcheck disable=SC2086
"$chromium" $flags --user-data-dir="$tmp/profile-shot" --hide-scrollbars --window-size=1000,700 \
    --screenshot="$out/status.png" "$url" >/dev/null 2>&1
[ -s "$out/status.png" ] || die "no screenshot"

kill -INT "$rn_pid"
wait "$rn_pid"
rc=$?
rn_pid=""
[ $rc -eq 0 ] || die "the runner exited $rc after SIGINT"
echo "PASS: API Connected -> Reconnecting -> API Connected; screenshot $out/status.png"
