// client.js - a third-party TWS API client (@stoqey/ib, used as published)
// against a standalone mockgw: connect, wait until the session is ready
// (nextValidId and managedAccounts), ask reqCurrentTime, check the answer,
// print one JSON line, disconnect. Exit 0 on success, 1 on any error or
// when the whole exchange takes longer than TIMEOUT_MS.
//
// Usage: node client.js --host H --port P [--client-id N]
"use strict";

const { IBApi, EventName } = require("@stoqey/ib");

const TIMEOUT_MS = 10000;
const DAY_S = 86400;

function parseArgs(argv) {
    const opts = { host: "127.0.0.1", port: NaN, clientId: 0 };
    for (let i = 0; i < argv.length; i++) {
        const value = argv[i + 1];
        if (argv[i] === "--host" && value !== undefined) {
            opts.host = value;
        } else if (argv[i] === "--port" && value !== undefined) {
            opts.port = Number(value);
        } else if (argv[i] === "--client-id" && value !== undefined) {
            opts.clientId = Number(value);
        } else {
            throw new Error(`unknown or incomplete argument: ${argv[i]}`);
        }
        i++;
    }
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
        throw new Error("--port must be an integer in 1..65535");
    }
    if (!Number.isInteger(opts.clientId)) {
        throw new Error("--client-id must be an integer");
    }
    return opts;
}

function fail(message) {
    console.error(`interop client: FAIL: ${message}`);
    process.exit(1);
}

function run(opts) {
    const ib = new IBApi({ host: opts.host, port: opts.port, clientId: opts.clientId });
    const result = { serverVersion: 0, accounts: null, nextOrderId: null, currentTime: null };
    let asked = false;
    let done = false;

    const timer = setTimeout(() => fail(`no complete exchange within ${TIMEOUT_MS} ms`),
        TIMEOUT_MS);

    // The session is ready only once both have arrived; they may come in either order.
    function askTimeWhenReady() {
        if (asked || result.nextOrderId === null || result.accounts === null) {
            return;
        }
        asked = true;
        ib.reqCurrentTime();
    }

    ib.on(EventName.error, (err, code, reqId) => {
        fail(`error ${code} (reqId ${reqId}): ${err && err.message}`);
    });
    ib.on(EventName.info, (message, code) => {
        console.error(`interop client: info ${code}: ${message}`);
    });
    ib.on(EventName.server, (version) => {
        result.serverVersion = version;
    });
    ib.on(EventName.nextValidId, (orderId) => {
        result.nextOrderId = orderId;
        askTimeWhenReady();
    });
    ib.on(EventName.managedAccounts, (accounts) => {
        result.accounts = String(accounts).split(",").filter((a) => a.length > 0);
        askTimeWhenReady();
    });
    ib.on(EventName.currentTime, (time) => {
        const now = Date.now() / 1000;
        if (!Number.isFinite(time) || Math.abs(time - now) > DAY_S) {
            fail(`implausible currentTime ${time} (local clock ${Math.floor(now)})`);
        }
        result.currentTime = time;
        done = true;
        console.log(JSON.stringify(result));
        ib.disconnect();
    });
    ib.on(EventName.disconnected, () => {
        if (!done) {
            fail("the gateway closed the connection before currentTime arrived");
        }
        clearTimeout(timer);
        process.exit(0);
    });

    ib.connect();
}

try {
    run(parseArgs(process.argv.slice(2)));
} catch (e) {
    fail(e.message);
}
