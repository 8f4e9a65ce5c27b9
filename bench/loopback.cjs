// Preloaded (`node --require bench/loopback.cjs`) into json-server 1.0-beta.15, whose bin.js calls
// `app.listen(port)` with no host and so ignores its own `--host`: a listen without a host is given
// 127.0.0.1, so the bench's servers all bind the loopback address only. Nothing else is changed.
'use strict';
const net = require('node:net');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
        if (typeof args[1] !== 'string') {
            args.splice(1, 0, '127.0.0.1');
        }
    }
    return listen.apply(this, args);
};
