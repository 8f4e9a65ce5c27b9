//! Where cases are replayed: the engine in-process, or any host over HTTP.

use crate::stream::{ChannelStream, EventStream};
use mock_rest_core::{
    Config, Effect, Endpoint, Method, Request, Seed, SeededIds, StreamId, Upstream,
    DEFAULT_NAMESPACE,
};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `APP_NAME` every host runs with under test; cases expect it.
pub const APP_NAME: &str = "conformance";
/// The `APP_VERSION` every host runs with under test; cases expect it.
pub const APP_VERSION: &str = "1.2.3";

/// The settings (by environment name) every server process or container
/// starts with under test, before a case's own.
const TEST_SETTINGS: [(&str, &str); 3] = [
    ("APP_NAME", APP_NAME),
    ("APP_VERSION", APP_VERSION),
    ("RUST_LOG", "info"),
];

/// A request as it goes on the wire.
#[derive(Debug, Clone)]
pub struct WireRequest {
    /// The method.
    pub method: String,
    /// Path and query, percent-encoded.
    pub target: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl WireRequest {
    /// A request with no headers and a text body (empty for none).
    pub fn new(method: &str, target: &str, body: &str) -> Self {
        Self {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }
}

/// A response as it came off the wire.
#[derive(Debug, Clone)]
pub struct WireResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lower-case) and values.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl WireResponse {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Something that answers requests. Each case gets a target with an empty store.
pub trait Target {
    /// Sends one request and returns the response.
    fn send(&mut self, request: &WireRequest) -> Result<WireResponse, String>;

    /// Sends a request whose answer may be an event stream, and returns its
    /// head (status and headers; the body of an answer that is not a stream)
    /// and the stream, which stays open while later requests are sent.
    fn open_stream(
        &mut self,
        request: &WireRequest,
    ) -> Result<(WireResponse, Box<dyn EventStream>), String>;
}

/// The engine itself, with the clock stopped and ids from a fixed seed: an
/// [`Endpoint`] with the case's settings and seed, driven as every host
/// drives it (effects in order; no storage, no network, so every proxy
/// target is unreachable).
pub struct CoreTarget {
    endpoint: Endpoint,
    now: Duration,
    /// The open streams, as a host keeps them: where each one's bytes go.
    streams: BTreeMap<StreamId, mpsc::Sender<Vec<u8>>>,
}

/// What a request came to on the core target.
struct Answered {
    response: mock_rest_core::Response,
    stream: Option<StreamId>,
}

impl CoreTarget {
    /// An endpoint configured as every host is under test, plus a case's
    /// settings (by environment name).
    pub fn new(env: &[(String, String)]) -> Result<Self, String> {
        let now = Duration::from_secs(1_700_000_000);
        let config = Config {
            app_name: APP_NAME.to_owned(),
            app_version: APP_VERSION.to_owned(),
            ..Config::default()
        };
        let mut seed = Seed::default();
        let mut settings = Vec::new();
        for (name, value) in env {
            if name == "DATA_FILE" {
                seed.fixtures = Some(std::fs::read(value).map_err(|e| format!("{value}: {e}"))?);
            } else if name == "RULES" {
                seed.rules = Some(std::fs::read(value).map_err(|e| format!("{value}: {e}"))?);
            } else if name == "OPENAPI" {
                seed.openapi = Some(std::fs::read(value).map_err(|e| format!("{value}: {e}"))?);
            } else {
                settings.push((name.as_str(), value.as_str()));
            }
        }
        // As every host reads them: one at a time, then together (a preset).
        let (config, _) = config.from_settings(settings)?;
        let mut endpoint = Endpoint::new(config, seed, Box::new(SeededIds::new(42)), now)
            .map_err(|err| err.to_string())?;
        // The default namespace always exists, as on the native server.
        endpoint
            .open(DEFAULT_NAMESPACE, now)
            .map_err(|err| err.message())?;
        Ok(Self {
            endpoint,
            now,
            streams: BTreeMap::new(),
        })
    }

    /// Runs a request through the endpoint and carries out its effects, as
    /// a host without storage or network does; the delay is waited.
    fn run(&mut self, wire: &WireRequest) -> Result<Answered, String> {
        let mut request = Request::new(Method::parse(&wire.method), &wire.target);
        request.headers = wire.headers.clone();
        request.body = wire.body.clone();
        let mut output = self.endpoint.handle(&request, self.now);
        loop {
            let mut forwarded = None;
            for effect in output.by_ref() {
                match effect {
                    Effect::Open { .. } | Effect::Forget { .. } | Effect::Persist { .. } => {}
                    Effect::Publish(publication) => {
                        let woken = self.endpoint.publish(publication);
                        self.deliver(woken);
                    }
                    Effect::Wake(woken) => self.deliver(woken),
                    Effect::Forward(ticket, _) => {
                        forwarded = Some(ticket);
                        break;
                    }
                    // This runner is a host too: it waits as the engine says.
                    Effect::Wait(delay) => std::thread::sleep(delay),
                    Effect::Drop(_) => return Err("the mock dropped the connection".to_owned()),
                    Effect::Respond(response) => {
                        return Ok(Answered {
                            response,
                            stream: None,
                        })
                    }
                    Effect::Stream(id, response) => {
                        return Ok(Answered {
                            response,
                            stream: Some(id),
                        })
                    }
                }
            }
            let Some(ticket) = forwarded else {
                return Err("the endpoint's output ended without an answer".to_owned());
            };
            let upstream = Upstream::Unreachable {
                reason: "the core runner has no network".to_owned(),
            };
            output = self.endpoint.handle_upstream(ticket, upstream, self.now);
        }
    }

    /// Sends what each woken stream has to its reader; a stream whose reader
    /// is gone is closed.
    fn deliver(&mut self, woken: Vec<StreamId>) {
        for id in woken {
            let read = self.endpoint.read_stream(id);
            let sent = match self.streams.get(&id) {
                Some(sender) => read
                    .chunks
                    .iter()
                    .all(|chunk| sender.send(chunk.to_vec()).is_ok()),
                None => false,
            };
            if read.end || !sent {
                self.streams.remove(&id);
                if !read.end {
                    self.endpoint.close_stream(id);
                }
            }
        }
    }
}

fn wire_response(response: mock_rest_core::Response) -> WireResponse {
    WireResponse {
        status: response.status,
        headers: response
            .headers
            .into_iter()
            .map(|(n, v)| (n.into_owned(), v))
            .collect(),
        body: response.body,
    }
}

impl Target for CoreTarget {
    fn send(&mut self, wire: &WireRequest) -> Result<WireResponse, String> {
        let answered = self.run(wire)?;
        if let Some(id) = answered.stream {
            // Nobody reads it.
            self.endpoint.close_stream(id);
        }
        Ok(wire_response(answered.response))
    }

    fn open_stream(
        &mut self,
        wire: &WireRequest,
    ) -> Result<(WireResponse, Box<dyn EventStream>), String> {
        let answered = self.run(wire)?;
        let (sender, receiver) = mpsc::channel();
        let mut head = wire_response(answered.response);
        if let Some(id) = answered.stream {
            let _ = sender.send(std::mem::take(&mut head.body));
            self.streams.insert(id, sender);
        }
        Ok((head, Box::new(ChannelStream::new(receiver))))
    }
}

/// A live host, reached over HTTP/1.1 at a base URL such as `http://127.0.0.1:5000`.
pub struct HttpTarget {
    base: String,
    agent: ureq::Agent,
    /// An agent without the global timeout, for streams that stay open.
    streaming: ureq::Agent,
    /// Whether a GET or HEAD with an empty body goes without one.
    bodiless_reads: bool,
}

impl HttpTarget {
    /// A client for a base URL (no trailing slash).
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        let streaming = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            agent,
            streaming,
            bodiless_reads: false,
        }
    }

    /// This client, but sending a GET or HEAD whose body is empty without
    /// one, as browsers and curl do, rather than with `Content-Length: 0`.
    /// `wrangler dev` needs it: when it loses a GET or HEAD on the way to the
    /// Worker it sends it again, which fails on a request that had a body,
    /// even an empty one.
    pub fn bodiless_reads(mut self) -> Self {
        self.bodiless_reads = true;
        self
    }

    /// Sends the request with `agent`, until the response's head.
    fn run(
        &self,
        agent: &ureq::Agent,
        wire: &WireRequest,
    ) -> Result<ureq::http::Response<ureq::Body>, String> {
        let mut builder = ureq::http::Request::builder()
            .method(wire.method.as_str())
            .uri(format!("{}{}", self.base, wire.target));
        for (name, value) in &wire.headers {
            builder = builder.header(name, value);
        }
        let bodiless = self.bodiless_reads
            && wire.body.is_empty()
            && (wire.method.eq_ignore_ascii_case("GET")
                || wire.method.eq_ignore_ascii_case("HEAD"));
        let answer = if bodiless {
            agent.run(builder.body(()).map_err(|e| e.to_string())?)
        } else {
            agent.run(builder.body(wire.body.clone()).map_err(|e| e.to_string())?)
        };
        answer.map_err(|e| format!("{} {}: {e}", wire.method, wire.target))
    }
}

fn response_headers(response: &ureq::http::Response<ureq::Body>) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

impl Target for HttpTarget {
    fn open_stream(
        &mut self,
        wire: &WireRequest,
    ) -> Result<(WireResponse, Box<dyn EventStream>), String> {
        let response = self.run(&self.streaming, wire)?;
        let head = WireResponse {
            status: response.status().as_u16(),
            headers: response_headers(&response),
            body: Vec::new(),
        };
        let streams = head
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/event-stream"));
        if !streams {
            let mut response = response;
            let body = response
                .body_mut()
                .read_to_vec()
                .map_err(|e| e.to_string())?;
            let (_, receiver) = mpsc::channel();
            return Ok((
                WireResponse { body, ..head },
                Box::new(ChannelStream::new(receiver)),
            ));
        }
        // A thread reads the socket until the stream ends or no one listens
        // (it notices at the next chunk: an event, or the keep-alive).
        let (sender, receiver) = mpsc::channel();
        let mut reader = response.into_body().into_reader();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            loop {
                match std::io::Read::read(&mut reader, &mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if sender.send(buffer[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Ok((head, Box::new(ChannelStream::new(receiver))))
    }

    fn send(&mut self, wire: &WireRequest) -> Result<WireResponse, String> {
        let mut response = self.run(&self.agent, wire)?;
        let headers = response_headers(&response);
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| e.to_string())?;
        Ok(WireResponse {
            status,
            headers,
            body,
        })
    }
}

/// A `mock-rest-api` process on a free port of 127.0.0.1, stopped (by its PID)
/// when dropped.
pub struct NativeServer {
    child: Child,
    base: String,
    /// A folder this server's data file was copied into, removed on drop.
    scratch: Option<std::path::PathBuf>,
    /// The lines the server has logged so far.
    log: LogLines,
}

impl NativeServer {
    /// Starts the binary with the test settings plus `args`, and waits until it listens.
    pub fn start(binary: &Path, args: &[&str]) -> Result<Self, String> {
        Self::start_with_env(binary, args, &[])
    }

    /// Starts the binary with the test settings, `args` and environment
    /// variables, and waits until it listens.
    ///
    /// A `DATA_FILE` is copied into a scratch folder first: the native server
    /// keeps its data there durably, and must not write beside the case files.
    pub fn start_with_env(
        binary: &Path,
        args: &[&str],
        env: &[(String, String)],
    ) -> Result<Self, String> {
        let mut env = env.to_vec();
        let scratch = if env.iter().any(|(name, _)| name == "DATA_FILE") {
            let dir = scratch_dir("case")?;
            if let Err(err) = copy_case_files(&mut env, &["DATA_FILE"], &dir) {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(err);
            }
            Some(dir)
        } else {
            None
        };
        let mut command = Command::new(binary);
        command
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .envs(TEST_SETTINGS)
            .envs(env.iter().map(|(k, v)| (k, v)));
        match spawn_listening(command, &binary.display().to_string()) {
            Ok((child, base, log)) => Ok(Self {
                child,
                base,
                scratch,
                log,
            }),
            Err(err) => {
                if let Some(dir) = &scratch {
                    let _ = std::fs::remove_dir_all(dir);
                }
                Err(err)
            }
        }
    }

    /// Runs the binary with `--host 127.0.0.1 --port 0`, `args` and `env`,
    /// expecting it to refuse to start: returns what it wrote to stderr once
    /// it has exited with a failure. An exit with success, or still running
    /// after 30 s (it is then killed), is an error.
    pub fn refused(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
        let mut child = Command::new(binary)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|err| format!("cannot run {}: {err}", binary.display()))?;
        // stderr is read on a thread of its own, so a chatty start cannot
        // block on a full pipe while this waits for the exit.
        let mut pipe = child.stderr.take().ok_or("no stderr pipe")?;
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut pipe, &mut text).map(|_| text)
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("it started with {args:?} {env:?}"));
                }
                Err(err) => return Err(format!("waiting for {}: {err}", binary.display())),
            }
        };
        let stderr = reader
            .join()
            .map_err(|_| "the stderr reader panicked".to_owned())?
            .map_err(|err| format!("reading stderr: {err}"))?;
        if status.success() {
            return Err(format!("it exited with success: {stderr}"));
        }
        Ok(stderr)
    }

    /// The base URL, such as `http://127.0.0.1:43123`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's peak resident memory so far, in KiB (`VmHWM` in
    /// `/proc/PID/status`).
    pub fn peak_rss_kib(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.pid());
        let status = std::fs::read_to_string(&path).map_err(|err| format!("{path}: {err}"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("{path} has no VmHWM line"))
    }

    /// The lines the server has logged (to stderr) so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Sends a signal (such as `TERM` or `INT`) to the process by its PID and
    /// waits up to `timeout` for it to exit.
    pub fn signal_and_wait(
        mut self,
        signal: &str,
        timeout: Duration,
    ) -> Result<std::process::ExitStatus, String> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([format!("-{signal}").as_str(), pid.as_str()])
            .status()
            .map_err(|e| format!("could not run kill: {e}"))?;
        if !sent.success() {
            return Err(format!("kill -{signal} {pid} failed"));
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "the server did not exit within {timeout:?} of SIG{signal}"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NativeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A fresh folder under the temporary directory, unique to this process and call.
fn scratch_dir(kind: &str) -> Result<std::path::PathBuf, String> {
    static SCRATCH: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SCRATCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("mock-rest-api-{kind}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// Copies the files a case names by the settings in `names` (`DATA_FILE`,
/// `RULES`, `OPENAPI`) into `dir`, and points those settings at the copies: a
/// server keeps its durable data in its `DATA_FILE`, and must not write beside
/// the case files. A copy keeps its file's extension (a YAML document's too).
fn copy_case_files(
    env: &mut [(String, String)],
    names: &[&str],
    dir: &Path,
) -> Result<Vec<std::path::PathBuf>, String> {
    let mut copies = Vec::new();
    for (name, value) in env.iter_mut() {
        if !names.contains(&name.as_str()) {
            continue;
        }
        let extension = Path::new(&*value)
            .extension()
            .map_or("json".into(), |e| e.to_string_lossy());
        let copy = dir.join(match name.as_str() {
            "DATA_FILE" => "data.json".to_owned(),
            other => format!("{}.{extension}", other.to_ascii_lowercase()),
        });
        std::fs::copy(&*value, &copy).map_err(|e| format!("{name}={value}: {e}"))?;
        *value = copy.to_string_lossy().into_owned();
        copies.push(copy);
    }
    Ok(copies)
}

/// The lines a server has logged so far, shared with the thread that reads them.
type LogLines = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Starts `command` with its stderr piped and waits (up to 30 s) until it logs
/// "listening on ADDR"; returns the child, `ADDR` and the log, which a thread
/// keeps draining (and keeping) so the server never blocks on a full pipe.
fn spawn_listening(mut command: Command, what: &str) -> Result<(Child, String, LogLines), String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {what}: {e}"))?;
    let Some(stderr) = child.stderr.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Err("no stderr pipe".to_owned());
    };
    let (found, listening) = mpsc::channel();
    let log: LogLines = std::sync::Arc::default();
    let lines = std::sync::Arc::clone(&log);
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                if let Some(tx) = found.take() {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
            lines
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(line);
        }
    });
    match listening.recv_timeout(Duration::from_secs(30)) {
        Ok(base) => Ok((child, base, log)),
        Err(reason) => {
            let _ = child.kill();
            let _ = child.wait();
            let why = match reason {
                mpsc::RecvTimeoutError::Timeout => "did not report listening within 30 s",
                mpsc::RecvTimeoutError::Disconnected => "ended its log before it listened",
            };
            let logged = log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .join("\n");
            Err(format!("{what} {why}; its log:\n{logged}"))
        }
    }
}

/// The user the container image runs as (`USER 65534:65534`, nobody:nogroup).
const CONTAINER_USER: u32 = 65534;

/// A container of an image of `mock-rest-api` (the `Dockerfile`), started with
/// `docker run -d` and removed with `docker rm -f` by the id that command
/// printed, when dropped.
///
/// It runs on the host's network (`--network host`) with `--host 127.0.0.1
/// --port 0`, so it listens on a free port of the host's loopback and logs the
/// address as the native server does (the image's health check, which asks
/// `$PORT`, is off); its log is read with `docker logs --follow`. The settings are the ones [`NativeServer`] gets, as `-e
/// NAME=VALUE`; a case's `DATA_FILE`, `RULES` and `OPENAPI` are copied into a folder owned
/// by the image's user (65534), mounted at the same path. `docker` is the one on
/// `PATH`, talking to the engine that `DOCKER_HOST` names.
pub struct ContainerServer {
    id: String,
    logs: Child,
    base: String,
    scratch: std::path::PathBuf,
    log: LogLines,
}

impl ContainerServer {
    /// Starts a container of `image` (never pulled: it must be in the engine)
    /// with the test settings and a case's `env`, and waits until it listens.
    pub fn start(image: &str, env: &[(String, String)]) -> Result<Self, String> {
        let scratch = scratch_dir("container")?;
        let started = Self::run(image, env, &scratch);
        if started.is_err() {
            let _ = std::fs::remove_dir_all(&scratch);
        }
        started
    }

    fn run(image: &str, env: &[(String, String)], scratch: &Path) -> Result<Self, String> {
        let mut env = env.to_vec();
        let copies = copy_case_files(&mut env, &["DATA_FILE", "RULES", "OPENAPI"], scratch)?;
        for path in std::iter::once(scratch).chain(copies.iter().map(|p| p.as_path())) {
            give_to_container_user(path)?;
        }
        let mount = format!("{0}:{0}", scratch.display());
        let mut command = Command::new("docker");
        command
            .args(["run", "--detach", "--pull", "never", "--network", "host"])
            // The image's HEALTHCHECK asks $PORT, not the free port taken here.
            .arg("--no-healthcheck")
            .args(["--volume", &mount]);
        for (name, value) in TEST_SETTINGS {
            command.args(["--env", &format!("{name}={value}")]);
        }
        for (name, value) in &env {
            command.args(["--env", &format!("{name}={value}")]);
        }
        let output = command
            .args([image, "--host", "127.0.0.1", "--port", "0"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run docker: {e}"))?;
        let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !output.status.success() || id.is_empty() {
            if !id.is_empty() {
                remove_container(&id);
            }
            return Err(format!(
                "docker run {image} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let mut logs = Command::new("docker");
        logs.args(["logs", "--follow", &id]);
        match spawn_listening(logs, &format!("container {id} of {image}")) {
            Ok((logs, base, log)) => Ok(Self {
                id,
                logs,
                base,
                scratch: scratch.to_owned(),
                log,
            }),
            Err(err) => {
                remove_container(&id);
                Err(err)
            }
        }
    }

    /// The base URL, such as `http://127.0.0.1:43123`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The container's id, as `docker run` printed it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The lines the server has logged (to stderr) so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for ContainerServer {
    fn drop(&mut self) {
        remove_container(&self.id);
        // `docker logs --follow` ends with the container; kill it in case it did not.
        let _ = self.logs.kill();
        let _ = self.logs.wait();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// `docker rm -f ID`: stops and removes one container, by its id.
fn remove_container(id: &str) {
    let _ = Command::new("docker")
        .args(["rm", "--force", id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Makes a file or folder the container's user's (when this runs as root), or
/// else open to every user, so that the server in the container may read and
/// write it.
fn give_to_container_user(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    if std::os::unix::fs::chown(path, Some(CONTAINER_USER), Some(CONTAINER_USER)).is_ok() {
        return Ok(());
    }
    let mode = if path.is_dir() { 0o777 } else { 0o666 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// `wrangler dev` serving the Worker (`edge/`) on a free port of 127.0.0.1,
/// stopped by its PID when dropped.
///
/// It binds port 0 (its inspector too) and says which port it got on its
/// `Ready on http://...` line, so no port is chosen here and bound later by
/// another process: such a race made wrangler exit with "Address already in
/// use" now and then.
///
/// Everything it writes goes into the folder it is given: the Durable Objects'
/// state (`state/`, kept across restarts that reuse the folder), wrangler's
/// config and logs, its output (`wrangler.log`) and the secrets file. It stays
/// on loopback: no metrics, no fetch of `request.cf` data.
pub struct WranglerServer {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl WranglerServer {
    /// Starts `wrangler dev` from the repository `root` (where `wrangler.toml`
    /// and `node_modules/` are) with its files in `dir`, the test settings,
    /// `vars` as `--var NAME:VALUE` and `secrets` in a `.env` file (so they
    /// reach the Worker as secrets), and waits until the Worker answers.
    pub fn start(
        root: &Path,
        dir: &Path,
        vars: &[(String, String)],
        secrets: &[(String, String)],
    ) -> Result<Self, String> {
        Self::start_answering(root, dir, vars, secrets, 200)
    }

    /// As [`WranglerServer::start`], but ready when `/health` answers
    /// `status`: a Worker whose settings are bad on purpose answers `500`.
    pub fn start_answering(
        root: &Path,
        dir: &Path,
        vars: &[(String, String)],
        secrets: &[(String, String)],
        status: u16,
    ) -> Result<Self, String> {
        std::fs::create_dir_all(dir.join("state"))
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let secrets_file = dir.join("secrets.env");
        let text: String = secrets
            .iter()
            .map(|(name, value)| format!("{name}={value}\n"))
            .collect();
        std::fs::write(&secrets_file, text)
            .map_err(|e| format!("{}: {e}", secrets_file.display()))?;
        let log = dir.join("wrangler.log");
        let output = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut command = Command::new("node");
        command
            .current_dir(root)
            .arg(root.join("node_modules/.bin/wrangler"))
            .args(["dev", "--ip", "127.0.0.1", "--port", "0"])
            .args(["--inspector-ip", "127.0.0.1", "--inspector-port", "0"])
            .arg("--persist-to")
            .arg(dir.join("state"))
            .arg("--env-file")
            .arg(&secrets_file)
            // `info`: the level of the `Ready on` line that names the port.
            .args([
                "--show-interactive-dev-session=false",
                "--log-level",
                "info",
            ])
            .args(["--var", &format!("APP_NAME:{APP_NAME}")])
            .args(["--var", &format!("APP_VERSION:{APP_VERSION}")]);
        for (name, value) in vars {
            command.args(["--var", &format!("{name}:{value}")]);
        }
        command
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("WRANGLER_LOG_PATH", dir.join("logs"))
            .stdin(Stdio::null())
            .stdout(output.try_clone().map_err(|e| e.to_string())?)
            .stderr(output);
        let child = command
            .spawn()
            .map_err(|e| format!("could not start wrangler dev: {e}"))?;
        let mut server = Self {
            child,
            base: String::new(),
            log,
        };
        server.wait_until_ready(Duration::from_secs(120), status)?;
        Ok(server)
    }

    /// Waits for the `Ready on http://...` line that names the port wrangler
    /// got, then polls `/health` there (in a namespace of its own, so the
    /// others stay untouched) until the Worker answers `status`.
    fn wait_until_ready(&mut self, timeout: Duration, status: u16) -> Result<(), String> {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .new_agent();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if self.base.is_empty() {
                let printed = std::fs::read_to_string(&self.log).unwrap_or_default();
                if let Some(base) = ready_on(&printed) {
                    self.base = base.to_owned();
                    continue;
                }
            } else {
                let answer = agent
                    .get(format!("{}/health", self.base))
                    .header("x-mock-namespace", "wrangler-server-ready")
                    .call();
                if answer.is_ok_and(|response| response.status() == status) {
                    return Ok(());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "wrangler dev exited ({status}) before it answered; its log:\n{}",
                    self.log_text()
                ));
            }
            if std::time::Instant::now() > deadline {
                let place = match self.base.as_str() {
                    "" => "said where it listens".to_owned(),
                    base => format!("answered on {base}"),
                };
                return Err(format!(
                    "wrangler dev never {place} within {timeout:?}; its log:\n{}",
                    self.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last lines wrangler has printed (a line per request, at its `info`
    /// level), then the last lines of its own debug logs (`logs/` beside it),
    /// where a runtime that failed to start says why.
    pub fn log_text(&self) -> String {
        let printed = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = printed.lines().collect();
        let tail = &lines[lines.len().saturating_sub(200)..];
        let mut text = format!(
            "--- {} (last {} lines)\n{}\n",
            self.log.display(),
            tail.len(),
            tail.join("\n")
        );
        let logs = self.log.with_file_name("logs");
        let mut files: Vec<_> = std::fs::read_dir(&logs)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        for file in files {
            let content = std::fs::read_to_string(&file).unwrap_or_default();
            let lines: Vec<&str> = content.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            text.push_str(&format!(
                "\n--- {} (last {} lines)\n{}\n",
                file.display(),
                tail.len(),
                tail.join("\n")
            ));
        }
        text
    }

    /// The base URL, such as `http://127.0.0.1:43123`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The process id of wrangler itself.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops wrangler with SIGTERM, by its PID, and waits for it (and so its
    /// workerd) to exit.
    pub fn stop(mut self) -> Result<std::process::ExitStatus, String> {
        self.terminate(Duration::from_secs(30))
    }

    fn terminate(&mut self, timeout: Duration) -> Result<std::process::ExitStatus, String> {
        if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        let pid = self.child.id();
        signal("TERM", pid);
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(status);
            }
            if std::time::Instant::now() > deadline {
                // Its own children first (found by parent PID), so that no
                // workerd outlives it.
                for child in descendants(pid) {
                    signal("KILL", child);
                }
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!(
                    "wrangler dev (pid {pid}) did not exit within {timeout:?} of SIGTERM; it and its children were killed"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Sends a signal to one process, by its PID.
fn signal(name: &str, pid: u32) {
    let _ = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status();
}

/// The PIDs of a process's children, grandchildren and so on.
fn descendants(pid: u32) -> Vec<u32> {
    let output = Command::new("ps")
        .args(["-o", "pid=", "--ppid", &pid.to_string()])
        .output();
    let children: Vec<u32> = output
        .map(|out| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    children
        .iter()
        .flat_map(|&child| descendants(child).into_iter().chain([child]))
        .collect()
}

impl Drop for WranglerServer {
    fn drop(&mut self) {
        let _ = self.terminate(Duration::from_secs(10));
    }
}

/// The base URL of wrangler's `Ready on http://127.0.0.1:PORT` line, once it
/// has printed that line whole.
fn ready_on(printed: &str) -> Option<&str> {
    printed
        .split_inclusive('\n')
        .filter_map(|line| line.strip_suffix('\n'))
        .find_map(|line| {
            let url = line.split_once("Ready on ")?.1.trim_end();
            let port = url.strip_prefix("http://127.0.0.1:")?;
            port.parse::<u16>()
                .is_ok_and(|port| port != 0)
                .then_some(url)
        })
}

#[cfg(test)]
mod tests {
    use super::ready_on;

    #[test]
    fn the_port_comes_from_wranglers_ready_line_once_it_is_whole() {
        let printed = "[wrangler:info] Ready on http://127.0.0.1:44355\n[wrangler:info] GET /health 200 OK (9ms)\n";
        assert_eq!(ready_on(printed), Some("http://127.0.0.1:44355"));
        // A line still being written could end mid-port.
        assert_eq!(
            ready_on("[wrangler:info] Ready on http://127.0.0.1:443"),
            None
        );
        assert_eq!(
            ready_on("[wrangler:info] Ready on http://127.0.0.1:0\n"),
            None
        );
        assert_eq!(ready_on("⎔ Starting local server...\n"), None);
    }
}
