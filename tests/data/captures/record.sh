#!/bin/sh
# record.sh MOCKGW RUNNER - re-records the real loopback captures in this
# folder: tcpdump on the loopback interface while a client talks to
# `mockgw serve`. Needs root (tcpdump), node (tests/interop), editcap
# (wireshark-common, for the pcapng copy). Run from the repository root:
#   tests/data/captures/record.sh build/mockgw build/runner
set -eu
mockgw=$1
runner=$2
here=$(cd "$(dirname "$0")" && pwd)
interop=$(cd "$here/../../interop" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# record OUT IFACE HOST PORT CLIENT: one capture of one client session.
record() {
    out=$1 iface=$2 host=$3 port=$4 client=$5
    tcpdump -i "$iface" -U -s 0 -w "$out" "tcp port $port" 2>"$tmp/tcpdump.err" &
    dump=$!
    sleep 1
    "$mockgw" serve --host "$host" --port "$port" --seed 7 >"$tmp/gw.out" 2>&1 &
    gw=$!
    sleep 0.5
    case $client in
    stoqey) node "$interop/client.js" --host "$host" --port "$port" --client-id 17 >/dev/null ;;
    runner) "$runner" --host "$host" --port "$port" --client-id 3 --ping-interval 1 --seed 7 \
                >/dev/null 2>&1 &
            rn=$!; sleep 2.5; kill -INT $rn; wait $rn ;;
    esac
    sleep 0.5
    kill -INT $gw; wait $gw || true
    sleep 0.5
    kill -INT $dump; wait $dump || true
}

# record_proxy OUT: the runner through `mockgw proxy --record` (no tcpdump).
record_proxy() {
    "$mockgw" serve --port 4002 --seed 7 >"$tmp/gw.out" 2>&1 &
    gw=$!
    sleep 0.5
    "$mockgw" proxy --listen 127.0.0.1:4003 --upstream 127.0.0.1:4002 --record "$1" \
        --seed 7 --scrub-accounts >"$tmp/proxy.out" 2>&1 &
    px=$!
    sleep 0.5
    "$runner" --port 4003 --client-id 3 --ping-interval 1 --always-open --symbols AAPL,MSFT \
        --seed 7 >/dev/null 2>&1 &
    rn=$!; sleep 2.5; kill -INT $rn; wait $rn
    sleep 0.3
    kill -INT $px; wait $px || true
    kill -INT $gw; wait $gw || true
}

record "$here/stoqey-4002.pcap" lo 127.0.0.1 4002 stoqey
record "$here/runner-4001.pcap" lo 127.0.0.1 4001 runner
editcap -F pcapng "$here/runner-4001.pcap" "$here/runner-4001.pcapng"
rm "$here/runner-4001.pcap"
record "$here/stoqey-any-sll2-45123.pcap" any 127.0.0.1 45123 stoqey
record "$here/stoqey-ipv6-4002.pcap" lo ::1 4002 stoqey
record_proxy "$here/runner-proxy-4002.pcap"
