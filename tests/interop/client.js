// client.js - a third-party TWS API client (@stoqey/ib, used as published)
// against a standalone mockgw. It runs, one step after another: connect and
// wait until ready (nextValidId and managedAccounts), current time,
// positions, account summary, contract details of a stock and a forex pair,
// historical bars (a stock's 5-minute regular-hours bars and the ib_insync
// Watchdog's EURUSD 30 S MIDPOINT probe), a market-data snapshot, a market
// order until filled (execDetails and commissionReport with the same
// execId), a limit order that rests and is cancelled, executions, all open
// orders, completed orders, a second connection with the same client id
// (refused with 326 and closed), and, when --mockgw and --ctl-port are given,
// `mockgw ctl kill` (the library must report the disconnect); otherwise it
// disconnects itself.
//
// Any error event fails the run (the library reports its decode errors,
// "unprocessed data left on queue" and underruns, as error events), except
// the one error a step expects: 202 for the order it cancels. Prints one
// JSON line with what it saw. Exit 0 on success, 1 on any failure or when a
// step takes longer than STEP_TIMEOUT_MS.
//
// Usage: node client.js --host H --port P [--client-id N] [--symbol S]
//        [--position-symbol S]    (a position the gateway was configured with)
//        [--mockgw PATH --ctl-port P]  (kill the session through mockgw ctl)
"use strict";

const { execFileSync } = require("child_process");
const { IBApi, EventName, SecType } = require("@stoqey/ib");

const STEP_TIMEOUT_MS = 10000;
const DAY_S = 86400;

function parseArgs(argv) {
    const opts = { host: "127.0.0.1", port: NaN, clientId: 0, symbol: "AAPL", positionSymbol: "",
        mockgw: "", ctlPort: "" };
    const names = { "--host": "host", "--port": "port", "--client-id": "clientId",
        "--symbol": "symbol", "--position-symbol": "positionSymbol", "--mockgw": "mockgw",
        "--ctl-port": "ctlPort" };
    for (let i = 0; i < argv.length; i += 2) {
        const key = names[argv[i]];
        if (key === undefined || argv[i + 1] === undefined) {
            throw new Error(`unknown or incomplete argument: ${argv[i]}`);
        }
        opts[key] = argv[i + 1];
    }
    opts.port = Number(opts.port);
    opts.clientId = Number(opts.clientId);
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

function check(ok, message) {
    if (!ok) {
        fail(message);
    }
}

const stock = (symbol) => ({ symbol, secType: SecType.STK, exchange: "SMART", currency: "USD" });
const EURUSD = { symbol: "EUR", secType: SecType.CASH, exchange: "IDEALPRO", currency: "USD" };

class Session {
    constructor(opts) {
        this.opts = opts;
        this.ib = new IBApi({ host: opts.host, port: opts.port, clientId: opts.clientId });
        this.expectedErrors = []; // [{code, reqId}] a step allows, each once
        this.waiter = null;
        this.ib.on(EventName.error, (err, code, reqId) => this.onError(err, code, reqId));
        this.ib.on(EventName.info, (message, code) => {
            console.error(`interop client: info ${code}: ${message}`);
        });
    }

    onError(err, code, reqId) {
        const i = this.expectedErrors.findIndex((e) => e.code === code && e.reqId === reqId);
        if (i >= 0) {
            this.expectedErrors.splice(i, 1);
            this.emitStep("expectedError", code, reqId);
            return;
        }
        fail(`error ${code} (reqId ${reqId}): ${err && err.message}`);
    }

    emitStep(name, ...args) {
        if (this.waiter && this.waiter.name === name) {
            this.waiter.handler(...args);
        }
    }

    // Runs start(), then collects events until done(state) says so.
    step(label, events, start, done) {
        return new Promise((resolve) => {
            const state = {};
            const timer = setTimeout(() => fail(`${label}: no answer within ${STEP_TIMEOUT_MS} ms`),
                STEP_TIMEOUT_MS);
            const listeners = [];
            const finish = () => {
                clearTimeout(timer);
                listeners.forEach(([name, fn]) => this.ib.off(name, fn));
                this.waiter = null;
                resolve(state);
            };
            for (const [name, fn] of Object.entries(events)) {
                const wrapped = (...args) => {
                    if (fn(state, ...args)) {
                        finish();
                    }
                };
                if (name === "expectedError") {
                    this.waiter = { name, handler: wrapped };
                } else {
                    this.ib.on(name, wrapped);
                    listeners.push([name, wrapped]);
                }
            }
            start();
        });
    }
}

async function run(opts) {
    const s = new Session(opts);
    const ib = s.ib;
    const result = {};

    const ready = await s.step("connect", {
        [EventName.server]: (st, version) => { st.serverVersion = version; return false; },
        [EventName.nextValidId]: (st, id) => { st.nextId = id; return st.accounts !== undefined; },
        [EventName.managedAccounts]: (st, accounts) => {
            st.accounts = String(accounts).split(",").filter((a) => a.length > 0);
            return st.nextId !== undefined;
        },
    }, () => ib.connect());
    result.serverVersion = ready.serverVersion;
    result.accounts = ready.accounts;
    check(ready.accounts.length > 0, "no managed account");
    let nextId = ready.nextId;

    const time = await s.step("currentTime", {
        [EventName.currentTime]: (st, t) => { st.time = t; return true; },
    }, () => ib.reqCurrentTime());
    check(Number.isFinite(time.time) && Math.abs(time.time - Date.now() / 1000) < DAY_S,
        `implausible currentTime ${time.time}`);
    result.currentTime = time.time;

    const positions = await s.step("positions", {
        [EventName.position]: (st, account, contract, pos) => {
            (st.list = st.list || []).push(`${account}:${contract.symbol}:${pos}`);
            return false;
        },
        [EventName.positionEnd]: () => true,
    }, () => ib.reqPositions());
    result.positions = positions.list || [];
    if (opts.positionSymbol) {
        check(result.positions.some((p) => p.includes(`:${opts.positionSymbol}:`)),
            `no ${opts.positionSymbol} position in ${JSON.stringify(result.positions)}`);
    }

    const summary = await s.step("accountSummary", {
        [EventName.accountSummary]: (st, reqId, account, tag, value) => {
            st[tag] = value;
            return false;
        },
        [EventName.accountSummaryEnd]: () => true,
    }, () => ib.reqAccountSummary(1, "All", "NetLiquidation,TotalCashValue,BuyingPower"));
    check(Number(summary.NetLiquidation) > 0, "no NetLiquidation in the account summary");
    result.netLiquidation = Number(summary.NetLiquidation);

    for (const [reqId, contract] of [[2, stock(opts.symbol)], [3, EURUSD]]) {
        const details = await s.step(`contractDetails ${contract.symbol}`, {
            [EventName.contractDetails]: (st, id, d) => { st.conId = d.contract.conId; return false; },
            [EventName.contractDetailsEnd]: () => true,
        }, () => ib.reqContractDetails(reqId, contract));
        check(details.conId > 0, `no conId for ${contract.symbol}`);
    }

    const barsOf = (label, reqId, contract, duration, size, what, rth) => s.step(label, {
        [EventName.historicalData]: (st, id, date, open, high, low, close) => {
            if (String(date).startsWith("finished")) {
                return true;
            }
            check(high >= low && open > 0, `${label}: bad bar ${date} ${open} ${high} ${low}`);
            st.bars = (st.bars || 0) + 1;
            return false;
        },
    }, () => ib.reqHistoricalData(reqId, contract, "", duration, size, what, rth, 1, false));
    const bars = await barsOf("bars", 4, stock(opts.symbol), "1 D", "5 mins", "TRADES", 1);
    check(bars.bars > 0, "no stock bars");
    const probe = await barsOf("probe", 5, EURUSD, "30 S", "5 secs", "MIDPOINT", 0);
    check(probe.bars > 0, "the Watchdog's EURUSD probe got no bars");
    result.bars = [bars.bars, probe.bars];

    const snap = await s.step("mktData snapshot", {
        [EventName.tickPrice]: (st, id, type, price) => { st.last = price; return false; },
        [EventName.tickSnapshotEnd]: () => true,
    }, () => ib.reqMktData(6, stock(opts.symbol), "", true, false));
    check(snap.last > 0, "no price in the snapshot");

    const mktId = nextId++;
    const fill = await s.step("market order", {
        [EventName.execDetails]: (st, reqId, contract, exec) => {
            st.execId = exec.execId;
            return st.filled && st.commission === st.execId;
        },
        [EventName.commissionReport]: (st, report) => {
            st.commission = report.execId;
            return st.filled && st.commission === st.execId;
        },
        [EventName.orderStatus]: (st, id, status) => {
            st.filled = id === mktId && status === "Filled";
            return st.filled && st.execId !== undefined && st.commission === st.execId;
        },
    }, () => ib.placeOrder(mktId, stock(opts.symbol),
        { action: "BUY", orderType: "MKT", totalQuantity: 10, transmit: true }));
    result.execId = fill.execId;

    const lmtId = nextId++;
    await s.step("limit order rests", {
        [EventName.orderStatus]: (st, id, status) => id === lmtId && status === "Submitted",
    }, () => ib.placeOrder(lmtId, stock(opts.symbol),
        { action: "BUY", orderType: "LMT", lmtPrice: 1, totalQuantity: 1, transmit: true }));
    s.expectedErrors.push({ code: 202, reqId: lmtId });
    await s.step("limit order cancelled", {
        [EventName.orderStatus]: (st, id, status) => {
            st.cancelled = st.cancelled || (id === lmtId && status === "Cancelled");
            return st.cancelled && st.acknowledged;
        },
        expectedError: (st) => { st.acknowledged = true; return st.cancelled; },
    }, () => ib.cancelOrder(lmtId));

    const execs = await s.step("executions", {
        [EventName.execDetails]: (st, reqId, contract, exec) => {
            (st.ids = st.ids || []).push(exec.execId);
            return false;
        },
        [EventName.execDetailsEnd]: () => true,
    }, () => ib.reqExecutions(7, {}));
    check((execs.ids || []).includes(fill.execId), `reqExecutions lacks ${fill.execId}`);

    await s.step("all open orders", { [EventName.openOrderEnd]: () => true },
        () => ib.reqAllOpenOrders());
    const completed = await s.step("completed orders", {
        [EventName.completedOrder]: (st) => { st.n = (st.n || 0) + 1; return false; },
        [EventName.completedOrdersEnd]: () => true,
    }, () => ib.reqCompletedOrders(false));
    check(completed.n === 2, `expected 2 completed orders, got ${completed.n}`);

    result.duplicateRefused = await duplicateClientId(opts);

    if (opts.mockgw && opts.ctlPort) {
        // The gateway drops the session: the library must notice on its own.
        await s.step("mockgw ctl kill", { [EventName.disconnected]: () => true }, () => {
            execFileSync(opts.mockgw, ["ctl", "--ctl-port", opts.ctlPort, "kill"],
                { stdio: ["ignore", "ignore", "inherit"] });
        });
        result.killNoticed = true;
    } else {
        await s.step("disconnect", { [EventName.disconnected]: () => true }, () => ib.disconnect());
    }
    console.log(JSON.stringify(result));
    process.exit(0);
}

// A second connection with the same client id gets 326 (an "info" in this
// library, as its id is -1) and is closed by the gateway.
function duplicateClientId(opts) {
    return new Promise((resolve) => {
        const dup = new IBApi({ host: opts.host, port: opts.port, clientId: opts.clientId });
        let refused = false;
        const timer = setTimeout(() => fail("duplicate client id: not refused"), STEP_TIMEOUT_MS);
        dup.on(EventName.info, (message, code) => { refused = refused || code === 326; });
        dup.on(EventName.error, (err, code) => {
            refused = refused || code === 326;
            if (code !== 326) {
                fail(`duplicate client id: error ${code}: ${err && err.message}`);
            }
        });
        dup.on(EventName.nextValidId, () => fail("duplicate client id: the session became ready"));
        dup.on(EventName.disconnected, () => {
            clearTimeout(timer);
            check(refused, "duplicate client id: closed without error 326");
            resolve(true);
        });
        dup.connect();
    });
}

try {
    run(parseArgs(process.argv.slice(2))).catch((e) => fail(e.stack || e.message));
} catch (e) {
    fail(e.message);
}
