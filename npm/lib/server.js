// The HTTP face of a Namespaces (lib/engine.js) in node:http: bytes in, the engine's answer out.
// Used by the command (`npx mock-rest-api`) and by `mock.listen()`.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { FEED } from './engine.js';

/** The status line reason for the few errors node:http's parser finds before a request exists. */
const PARSE_ERRORS = {
    HPE_HEADER_OVERFLOW: [431, 'The request headers are too large.'],
    HPE_URI_TOO_LONG: [414, 'The request target is too long.'],
};

/**
 * An http.Server answering every request with `namespaces`. `log(line)` gets one line per failure
 * the host itself meets (never a client's error, which is answered). `answered(req, status, ms)`,
 * if given, is called once a request is answered, with the milliseconds since it came (for the
 * one log line per request: cheaper than a listener on every response).
 */
export function createServer(namespaces, log = () => {}, answered = null) {
    // The request line holds the path and query, which the engine checks against MAX_URI_BYTES and
    // answers with 414; the parser's own bound must not cut in first.
    const maxUri = namespaces.maxUriBytes;
    const server = http.createServer(
        { maxHeaderSize: Math.max(16 * 1024, maxUri + 16 * 1024), requireHostHeader: false },
        (req, res) => serve(namespaces, req, res, log, answered, server.feedStreams),
    );
    // A request the parser refuses (a method it does not know, a malformed line) still gets JSON.
    server.on('clientError', (err, socket) => {
        if (!socket.writable) {
            socket.destroy();
            return;
        }
        const [status, message] = PARSE_ERRORS[err.code] || [400, `The request could not be parsed (${err.code || err.message}).`];
        const body = JSON.stringify({ message });
        socket.end(
            `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
                `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
    });
    // The open event streams, which a close ends (they never finish on their own).
    server.feedStreams = new Set();
    return server;
}

/** Reads the request's body, then answers it (after the engine's delay, if any). */
function serve(namespaces, req, res, log, answered, streams) {
    const started = answered === null ? 0 : performance.now();
    if (!hasBody(req.rawHeaders)) {
        // No Content-Length and no Transfer-Encoding: the request has no body (RFC 9112, 6.3), and
        // node:http's parser reads none. It is answered now, with no listener or turn of the loop
        // to wait for its end; node:http reads the (empty) rest once the answer is sent.
        answer(namespaces, req, res, EMPTY, log, answered, started, streams);
        return;
    }
    // One byte past the limit is enough for the engine to answer 413 (the core's body rule); the
    // rest is read and dropped, so that a client that sends it all can read the answer.
    const keep = namespaces.maxBodyBytes + 1;
    let first = null;
    let chunks = null;
    let size = 0;
    req.on('data', (chunk) => {
        if (size < keep) {
            const kept = chunk.length > keep - size ? chunk.subarray(0, keep - size) : chunk;
            if (first === null) {
                first = kept;
            } else {
                chunks ??= [first];
                chunks.push(kept);
            }
        }
        size += chunk.length;
    });
    req.on('end', () => {
        // Most bodies arrive in one chunk, which is used as it is.
        const body = chunks !== null ? Buffer.concat(chunks) : first ?? EMPTY;
        answer(namespaces, req, res, body, log, answered, started, streams);
    });
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
function answer(namespaces, req, res, body, log, answered, started, streams) {
    let outcome;
    try {
        outcome = namespaces.answer(req.method, req.url, req.rawHeaders, body);
    } catch (err) {
        fail(req, res, err, log, answered, started);
        return;
    }
    if (outcome.forward) {
        // PROXY_TARGET: the target's answer first (lib/proxy.js), then the engine's word on it.
        namespaces.forwarded(outcome).then(
            (after) => later(req, res, after, log, answered, started, streams),
            (err) => fail(req, res, err, log, answered, started),
        );
    } else {
        later(req, res, outcome, log, answered, started, streams);
    }
}

/** Sends an answer now, or after its delay. */
function later(req, res, answer, log, answered, started, streams) {
    if (answer.delay > 0) {
        setTimeout(reply, answer.delay, req, res, answer, log, answered, started, streams);
    } else {
        reply(req, res, answer, log, answered, started, streams);
    }
}

/** The host failed to answer (see `failed`), and `answered` is told. */
function fail(req, res, err, log, answered, started) {
    if (failed(req, res, err, log) && answered !== null) {
        answered(req, res.statusCode, performance.now() - started);
    }
}

/** Sends the engine's answer and tells `answered`. */
function reply(req, res, answer, log, answered, started, streams) {
    let told = req;
    if (answer.fault === 'reset') {
        // A rule's fault: the connection is dropped with no answer, as the native server drops it.
        res.socket?.destroy();
        answer.subscriber?.close();
    } else if (answer.subscriber) {
        stream(answer, res, streams);
        // The feed's query may hold the token (`?access_token=`): it is not logged.
        told = { method: req.method, url: req.url.split('?')[0] };
    } else if (!send(req, res, answer, log)) {
        return;
    }
    if (answered !== null) {
        answered(told, answer.fault === 'reset' ? 'dropped' : res.statusCode, performance.now() - started);
    }
}

const EMPTY = new Uint8Array(0);

/** Writes the engine's answer (or a 500); false when there is no one to answer. */
function send(req, res, answer, log) {
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
        return failed(req, res, err, log);
    }
}

/** The host itself failed to answer: a 500 with JSON, and a line in the log; false when there is no one to answer. */
function failed(req, res, err, log) {
    if (req.destroyed || res.destroyed) {
        // The client went away mid-request: there is no one to answer.
        return false;
    }
    log(`${req.method} ${req.url}: ${err.stack || err.message}`);
    if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
    }
    res.end(JSON.stringify({ message: 'The mock failed to answer; see its log.' }));
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
