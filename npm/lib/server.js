// The HTTP face of a Namespaces (lib/engine.js) in node:http: bytes in, the engine's answer out.
// Used by the command (`npx mock-rest-api`) and by `mock.listen()`. It keeps the native server's
// promises about connections (docs/limits.md): a request head within HEADER_TIMEOUT_SECS, a body
// within BODY_TIMEOUT_SECS (else a JSON 408), a connection that reads and writes nothing closed
// after IDLE_TIMEOUT_SECS, an oversized body cut DRAIN_BYTES past the limit (a 413, then the
// connection is closed), and at most MAX_CONNECTIONS connections.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { DRAIN_BYTES, FEED, loggedTarget } from './engine.js';

/** The host's limits on connections, by default the native server's. */
export const CONNECTION_LIMITS = Object.freeze({
    maxConnections: 1024,
    idleTimeoutSecs: 40,
    headerTimeoutSecs: 10,
    bodyTimeoutSecs: 30,
});

/** How many requests a connection has in flight (head read, answer not yet sent). */
const IN_FLIGHT = Symbol('in flight');

/**
 * An http.Server answering every request with `namespaces`. `log(line)` gets one line per failure
 * the host itself meets (never a client's error, which is answered). `answered(method, target,
 * status, ms)`, if given, is called once a request is answered, with its target as the log writes
 * it (no `access_token` value) and the milliseconds since it came (for the one log line per
 * request: cheaper than a listener on every response). `limits` overrides CONNECTION_LIMITS.
 */
export function createServer(namespaces, log = () => {}, answered = null, limits = {}) {
    const { maxConnections, idleTimeoutSecs, headerTimeoutSecs, bodyTimeoutSecs } = { ...CONNECTION_LIMITS, ...limits };
    // The request line holds the path and query, which the engine checks against MAX_URI_BYTES and
    // answers with 414; the parser's own bound must not cut in first.
    const maxUri = namespaces.maxUriBytes;
    const host = {
        namespaces,
        log,
        answered,
        streams: new Set(),
        bodyTimeoutMs: bodyTimeoutSecs * 1000,
    };
    const server = http.createServer(
        {
            maxHeaderSize: Math.max(16 * 1024, maxUri + 16 * 1024),
            requireHostHeader: false,
            // A request head must be whole within this, from its first byte; a trickle is cut.
            headersTimeout: headerTimeoutSecs * 1000,
            // The body has a timeout of its own, answered with a JSON 408 (`serve`).
            requestTimeout: 0,
            // How long a kept-alive connection waits for its next request, as on the native server
            // (node sets it in place of the idle timeout, so the shorter of the two).
            keepAliveTimeout: Math.min(headerTimeoutSecs, idleTimeoutSecs) * 1000,
            // How often node checks the head timeouts: a trickle is cut within a second of its bound.
            connectionsCheckingInterval: 1000,
        },
        (req, res) => serve(host, req, res),
    );
    // A connection that reads and writes nothing for this long is closed (no 'timeout' listener:
    // node destroys the socket).
    server.setTimeout(idleTimeoutSecs * 1000);
    // A request the parser refuses (a method it does not know, a malformed line) still gets JSON.
    server.on('clientError', (err, socket) => {
        if (!socket.writable || err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
            // A head that did not arrive in time: closed with no answer, as the native server does.
            socket.destroy();
            return;
        }
        // Built by the core, as every answer: readable from any origin, as there is no request.
        const answer = namespaces.unparsed(err.code || err.message);
        let head = `HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status]}\r\n`;
        for (let i = 0; i < answer.headers.length; i += 2) head += `${answer.headers[i]}: ${answer.headers[i + 1]}\r\n`;
        socket.end(
            Buffer.concat([
                Buffer.from(`${head}content-length: ${answer.body.length}\r\nconnection: close\r\n\r\n`),
                Buffer.from(answer.body),
            ]),
        );
    });
    // Past MAX_CONNECTIONS, the oldest connection with no request in flight (one kept alive, or one
    // whose head is still arriving) is closed to make room; when every one has a request in
    // flight, the new one is closed instead.
    const connections = new Set();
    server.on('connection', (socket) => {
        connections.add(socket);
        socket.once('close', () => connections.delete(socket));
        if (connections.size > maxConnections) {
            for (const held of connections) {
                if (held !== socket && !held[IN_FLIGHT]) {
                    held.destroy();
                    return;
                }
            }
            socket.destroy();
        }
    });
    // The open event streams, which a close ends (they never finish on their own).
    server.feedStreams = host.streams;
    return server;
}

/**
 * The request target as the engine takes it: the path and query. An absolute URI (`GET
 * http://host/path`, which HTTP/1.1 servers must accept) becomes its path and query, as hyper
 * makes it on the native server; anything else that is not a path (`*`) goes as it is, and the
 * engine answers 400.
 */
function originForm(url) {
    if (url.startsWith('/')) {
        return url;
    }
    try {
        const absolute = new URL(url);
        if (absolute.protocol === 'http:' || absolute.protocol === 'https:') {
            return absolute.pathname + absolute.search;
        }
    } catch {
        // Not a URL: the engine says so.
    }
    return url;
}

/** Reads the request's body, then answers it (after the engine's delay, if any). */
function serve(host, req, res) {
    const socket = req.socket;
    socket[IN_FLIGHT] = (socket[IN_FLIGHT] || 0) + 1;
    res.once('close', () => {
        socket[IN_FLIGHT]--;
    });
    const started = host.answered === null ? 0 : performance.now();
    const target = originForm(req.url);
    if (!hasBody(req.rawHeaders)) {
        // No Content-Length and no Transfer-Encoding: the request has no body (RFC 9112, 6.3), and
        // node:http's parser reads none. It is answered now, with no listener or turn of the loop
        // to wait for its end; node:http reads the (empty) rest once the answer is sent.
        answer(host, req, res, target, EMPTY, started);
        return;
    }
    // One byte past the limit is enough for the engine to answer 413 (the core's body rule); the
    // rest is read and dropped up to DRAIN_BYTES past the limit, so that a client that sends it
    // all can read the answer. Past that, or when Content-Length declares more, reading stops and
    // the connection is closed after the 413.
    const keep = host.namespaces.maxBodyBytes + 1;
    const drainUntil = host.namespaces.maxBodyBytes + DRAIN_BYTES;
    let first = null;
    let chunks = null;
    let size = 0;
    let done = false;
    const stop = () => {
        done = true;
        clearTimeout(timer);
        req.removeListener('data', onData);
        req.pause();
        // node then answers with `Connection: close` and closes the connection once it is sent.
        res.shouldKeepAlive = false;
    };
    const tooLarge = () => {
        stop();
        answer(host, req, res, target, size >= keep ? kept() : Buffer.alloc(keep), started);
    };
    const kept = () => (chunks !== null ? Buffer.concat(chunks) : first ?? EMPTY);
    const onData = (chunk) => {
        if (size < keep) {
            const part = chunk.length > keep - size ? chunk.subarray(0, keep - size) : chunk;
            if (first === null) {
                first = part;
            } else {
                chunks ??= [first];
                chunks.push(part);
            }
        }
        size += chunk.length;
        if (size > drainUntil) {
            tooLarge();
        }
    };
    const timer = setTimeout(() => {
        if (done) return;
        stop();
        let timedOut;
        try {
            timedOut = host.namespaces.requestTimedOut(req.method, target, req.rawHeaders);
        } catch (err) {
            fail(host, req, res, target, err, started);
            return;
        }
        later(host, req, res, target, timedOut, started);
    }, host.bodyTimeoutMs);
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > drainUntil) {
        tooLarge();
        return;
    }
    req.on('data', onData);
    req.on('end', () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        // Most bodies arrive in one chunk, which is used as it is.
        answer(host, req, res, target, kept(), started);
    });
    req.on('close', () => clearTimeout(timer));
}

/**
 * Whether a request's head (`rawHeaders`, names and values alternating) announces a body: a
 * Content-Length or a Transfer-Encoding header, whatever its value (node:http's parser reads the
 * body by them, and refuses a request whose headers do not add up).
 */
function hasBody(rawHeaders) {
    for (let i = 0; i < rawHeaders.length; i += 2) {
        const name = rawHeaders[i];
        if (
            (name.length === 14 && name.toLowerCase() === 'content-length') ||
            (name.length === 17 && name.toLowerCase() === 'transfer-encoding')
        ) {
            return true;
        }
    }
    return false;
}

/** Answers a request whose body is read (after the engine's delay, if any). */
function answer(host, req, res, target, body, started) {
    let outcome;
    try {
        outcome = host.namespaces.answer(req.method, target, req.rawHeaders, body);
    } catch (err) {
        fail(host, req, res, target, err, started);
        return;
    }
    if (outcome.forward) {
        // PROXY_TARGET: the target's answer first (lib/proxy.js), then the engine's word on it.
        host.namespaces.forwarded(outcome).then(
            (after) => later(host, req, res, target, after, started),
            (err) => fail(host, req, res, target, err, started),
        );
    } else {
        later(host, req, res, target, outcome, started);
    }
}

/** Sends an answer now, or after its delay. */
function later(host, req, res, target, answer, started) {
    if (answer.delay > 0) {
        setTimeout(reply, answer.delay, host, req, res, target, answer, started);
    } else {
        reply(host, req, res, target, answer, started);
    }
}

/** The host failed to answer (see `failed`), and `answered` is told. */
function fail(host, req, res, target, err, started) {
    if (failed(host, req, res, target, err) && host.answered !== null) {
        host.answered(req.method, loggedTarget(target), res.statusCode, performance.now() - started);
    }
}

/** Sends the engine's answer and tells `answered`. */
function reply(host, req, res, target, answer, started) {
    if (answer.fault === 'reset') {
        // A rule's fault: the connection is dropped with no answer, as the native server drops it.
        res.socket?.destroy();
        answer.subscriber?.close();
    } else if (answer.subscriber) {
        stream(answer, res, host.streams);
    } else if (!send(host, req, res, target, answer)) {
        return;
    }
    if (host.answered !== null) {
        host.answered(req.method, loggedTarget(target), answer.fault === 'reset' ? 'dropped' : res.statusCode, performance.now() - started);
    }
}

const EMPTY = new Uint8Array(0);

/** Writes the engine's answer (or a 500); false when there is no one to answer. */
function send(host, req, res, target, answer) {
    if (res.destroyed) {
        // The client went away during the delay: there is no one to answer.
        return false;
    }
    try {
        const headers = answer.headers;
        let length = false;
        for (let i = 0; i < headers.length; i += 2) {
            if (headers[i] === 'content-length') {
                length = true;
                break;
            }
        }
        // The whole answer is known: its length goes in the head, so node sends it in one write
        // instead of chunks (a HEAD answer carries the GET's length already; 204 and 304 have none).
        if (!length && answer.status !== 204 && answer.status !== 304) {
            headers.push('content-length', String(answer.body.length));
        }
        res.writeHead(answer.status, headers);
        const body = answer.body;
        res.end(body.length === 0 ? undefined : body instanceof Buffer ? body : Buffer.from(body.buffer, body.byteOffset, body.length));
        return true;
    } catch (err) {
        return failed(host, req, res, target, err);
    }
}

/** The host itself failed to answer: a 500 with JSON, and a line in the log; false when there is no one to answer. */
function failed(host, req, res, target, err) {
    if (req.destroyed || res.destroyed) {
        // The client went away mid-request: there is no one to answer.
        return false;
    }
    host.log(`${req.method} ${loggedTarget(target)}: ${err.stack || err.message}`);
    const message = 'The mock failed to answer; see its log.';
    let answer;
    try {
        // Built by the core, with the CORS headers every answer carries.
        answer = host.namespaces.hostFailed(message, req.method, target, req.rawHeaders);
    } catch {
        // The engine itself is what failed (or is closed): the same JSON, without it.
        answer = { status: 500, headers: ['content-type', 'application/json'], body: Buffer.from(JSON.stringify({ message })) };
    }
    if (!res.headersSent) {
        res.writeHead(answer.status, answer.headers);
    }
    res.end(Buffer.from(answer.body));
    return true;
}

/**
 * Keeps an event stream open: the head and the replay, then what the endpoint gives the stream as
 * the client reads it (the endpoint bounds what waits, and ends a stream that falls behind with
 * `event: overflow`), and a comment line every keep-alive period. One that goes away is dropped.
 */
function stream(answer, res, streams) {
    const subscriber = answer.subscriber;
    res.writeHead(answer.status, answer.headers);
    res.flushHeaders();
    let done = false;
    const end = (last) => {
        if (done) {
            return;
        }
        done = true;
        clearInterval(timer);
        subscriber.close();
        streams.delete(end);
        if (last) {
            res.end(Buffer.from(last));
            // A client that reads nothing would hold the socket and its buffer: cut it after 10 s
            // (the native server's WRITE_TIMEOUT_SECS), unless it has read to the end by then.
            setTimeout(() => res.writableFinished || res.destroy(), 10000).unref();
        } else {
            res.destroy();
        }
    };
    // False when the socket's buffer is full: the endpoint keeps the rest until 'drain'.
    const write = (bytes) => !done && res.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
    const timer = setInterval(() => write(FEED.keepAlive), FEED.keepAliveMs);
    timer.unref();
    res.on('close', () => end());
    res.on('drain', () => subscriber.resume());
    streams.add(end);
    if (answer.body.length > 0) {
        write(answer.body);
    }
    subscriber.attach(write, () => end(new Uint8Array(0)));
}

/** Listens on `host`:`port` and resolves to the address node reports. */
export function listen(server, port, host) {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
            server.off('error', reject);
            resolve(server.address());
        });
    });
}

/** `http://HOST:PORT` for an address (IPv6 in brackets). */
export function baseUrl(address) {
    const host = address.family === 'IPv6' || address.family === 6 ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
}

/**
 * Stops accepting and resolves once the server is closed: in-flight requests finish first (idle
 * keep-alive connections are ended at once), unless `force`, which ends every connection now.
 */
export function close(server, force = false) {
    return new Promise((resolve) => {
        server.close(() => resolve());
        for (const end of server.feedStreams || []) {
            end();
        }
        if (force) {
            server.closeAllConnections();
        } else {
            server.closeIdleConnections();
        }
    });
}
