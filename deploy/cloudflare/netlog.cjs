// Preloaded into wrangler by scripts/cloudflare-deploy-test.sh (NODE_OPTIONS=--require):
// appends every TCP connection the process opens, as "host port" lines, to the file named
// by CF_TEST_NETLOG, so that the test can tell whether wrangler reached anything but the
// stand-in on 127.0.0.1. Every socket connection in Node (http, https, undici's fetch, tls)
// goes through net.Socket.prototype.connect; Unix sockets (a path) are left out.
"use strict";
const fs = require("node:fs");
const net = require("node:net");

const file = process.env.CF_TEST_NETLOG;
if (file) {
    const connect = net.Socket.prototype.connect;
    net.Socket.prototype.connect = function (...args) {
        let options = args[0];
        if (Array.isArray(options)) {
            // The internal form: [options, callback].
            options = options[0];
        }
        let host;
        let port;
        if (options !== null && typeof options === "object") {
            // As Node decides: a truthy path is a Unix socket (tls passes path: null).
            if (!options.path) {
                host = options.host ?? "localhost";
                port = options.port;
            }
        } else if (typeof options === "number" || /^\d+$/.test(String(options))) {
            port = options;
            host = typeof args[1] === "string" ? args[1] : "localhost";
        }
        if (port !== undefined) {
            try {
                fs.appendFileSync(file, `${host} ${port}\n`);
            } catch {
                // A log that cannot be written must not change what wrangler does.
            }
        }
        return connect.apply(this, args);
    };
}
