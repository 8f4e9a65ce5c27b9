//! Replays every conformance case against the Worker (`edge/`) in
//! `wrangler dev`, and tests what is the edge's own: state that outlives
//! `wrangler dev`, namespaces, and parallel writers.
//!
//! Each case runs in a namespace of its own (`X-Mock-Namespace`), so it starts
//! from an empty store. Cases with settings (`env`) run against a `wrangler
//! dev` started with those settings as vars (`API_TOKEN` as a secret), one
//! per distinct set, started when the first case needs it. A case's files
//! (`DATA_FILE`, the fixtures, and `RULES`) go in as the text of the Worker's
//! vars `FIXTURES` and `RULES`, so a case with a seed has a `wrangler dev` of
//! that seed (shared only by cases with the same settings, each still in a
//! namespace of its own). Cases that need what the edge does not have
//! (`MAX_NAMESPACES`, or `"needs": ["namespaces-together"]`: one namespace
//! per Durable Object knows no other) are listed as ignored, saying why.
//!
//! The Worker is built first with `bash scripts/edge.sh build` (a no-op when
//! it is up to date); `wrangler dev` comes from `node_modules/` (`npm ci`).
//! Everything wrangler writes goes to a temporary folder, removed at the end.

use conformance::{
    case::cases_dir, load_all, run_case, HttpTarget, Target, WireRequest, WireResponse,
    WranglerServer,
};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

/// Settings the edge cannot take, and why.
const UNSUPPORTED: [(&str, &str); 1] = [(
    "MAX_NAMESPACES",
    "the edge makes a Durable Object per namespace and sets no such bound",
)];

/// What cases may need (`"needs"`) that the edge does not have, and why.
const LACKS: [(&str, &str); 1] = [(
    "namespaces-together",
    "each namespace is a Durable Object of its own, which knows only itself",
)];

/// A case's settings as the Worker's vars: the files of `DATA_FILE` (read as
/// fixtures, as natively), `RULES` and `OPENAPI`, relative to `tests/cases`,
/// go in as the text of the vars `FIXTURES`, `RULES` and `OPENAPI`; the
/// others as they are.
fn as_vars(env: &Settings) -> Result<Settings, String> {
    env.iter()
        .map(|(name, value)| {
            let var = match name.as_str() {
                "DATA_FILE" => "FIXTURES",
                "RULES" => "RULES",
                "OPENAPI" => "OPENAPI",
                _ => return Ok((name.clone(), value.clone())),
            };
            let path = cases_dir().join(value);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{name}: {}: {e}", path.display()))?;
            Ok((var.to_owned(), text))
        })
        .collect()
}

/// A target that sends every request in one namespace. A request that names
/// a namespace of its own (a case about namespaces) goes to
/// `NAMESPACE.ITS-NAME` instead, so the case's namespaces stay apart from
/// other cases' and a bad name stays bad; a blank one is the case's own. A
/// header given more than once keeps each value, each so renamed.
struct Namespaced {
    inner: ThroughWrangler,
    namespace: String,
}

impl Namespaced {
    /// The request with the namespace header this target sends.
    fn in_namespace(&self, request: &WireRequest) -> WireRequest {
        let mut request = request.clone();
        let is_namespace = |name: &str| name.eq_ignore_ascii_case("x-mock-namespace");
        let own: Vec<String> = request
            .headers
            .iter()
            .filter(|(name, _)| is_namespace(name))
            .map(|(_, value)| value.trim().to_owned())
            .collect();
        request.headers.retain(|(name, _)| !is_namespace(name));
        let names = match own.as_slice() {
            [] => vec![self.namespace.clone()],
            [name] if name.is_empty() => vec![self.namespace.clone()],
            names => names
                .iter()
                .map(|name| format!("{}.{name}", self.namespace))
                .collect(),
        };
        for name in names {
            request.headers.push(("X-Mock-Namespace".to_owned(), name));
        }
        request
    }
}

impl Target for Namespaced {
    fn send(&mut self, request: &WireRequest) -> Result<WireResponse, String> {
        let request = self.in_namespace(request);
        self.inner.send(&request)
    }

    fn open_stream(
        &mut self,
        request: &WireRequest,
    ) -> Result<(WireResponse, Box<dyn conformance::EventStream>), String> {
        let request = self.in_namespace(request);
        self.inner.open_stream(&request)
    }
}

fn namespaced(base: &str, namespace: &str) -> Namespaced {
    Namespaced {
        inner: ThroughWrangler::new(base),
        namespace: namespace.to_owned(),
    }
}

/// The start of the answer wrangler dev's ProxyWorker gives itself, a `503`,
/// when a request other than a GET or HEAD did not reach the Worker. The
/// mock never answers this.
const LOST_BY_WRANGLER: &[u8] = b"Your worker restarted mid-request.";

/// How many times a request that wrangler lost is sent again.
const RESENDS: usize = 3;

/// How long a GET or HEAD may go unanswered before wrangler gets a request
/// of its own, which makes it send the requests it queued.
const NUDGE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// A live `wrangler dev`, reached over HTTP, with a workaround for the
/// requests it loses without the Worker ever seeing them.
///
/// wrangler's ProxyWorker sends each request on to the Worker's own workerd
/// over a keep-alive connection from a pool. Both ends close a connection
/// that has been idle for 5 s (kj's `HttpClientSettings::idleTimeout` and
/// `HttpServerSettings::pipelineTimeout`). A request sent on a pooled
/// connection at that moment is lost before the Worker reads it
/// (cloudflare/workers-sdk#14641). wrangler 4.86 compares the Worker's address
/// with the request's whole URL, path included, so it takes any such loss for
/// a reload of the Worker. It answers a POST, PUT, PATCH or DELETE itself
/// with a `503` "Your worker restarted mid-request", although nothing
/// restarted. It keeps a GET or HEAD to send again when its next request
/// comes, and until then the GET hangs; a GET that came with a body, even
/// `Content-Length: 0`, cannot be sent again: that next request gets a `500`
/// and the GET is never answered. (wrangler 4.114 compares origins,
/// workers-sdk#14593, and so reports the loss as an error instead.)
///
/// This target sends a lost request again, up to [`RESENDS`] times, and
/// says so on stderr. The Worker never saw the lost request, so nothing is
/// done twice. It sends a GET or HEAD without a body
/// ([`HttpTarget::bodiless_reads`]), and while one goes unanswered it asks
/// wrangler for `/health`, in a namespace of its own, every [`NUDGE_AFTER`];
/// that request makes wrangler send the GET again. A slow answer only gets
/// extra `/health` requests.
struct ThroughWrangler {
    inner: HttpTarget,
    base: String,
}

impl ThroughWrangler {
    fn new(base: &str) -> Self {
        Self {
            inner: HttpTarget::new(base).bodiless_reads(),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// Sends `request` with `send` until wrangler has not lost it, or
    /// [`RESENDS`] times over; `head` gives the answer's status and body.
    fn through<R>(
        &mut self,
        request: &WireRequest,
        mut send: impl FnMut(&mut HttpTarget, &WireRequest) -> Result<R, String>,
        head: impl Fn(&R) -> &WireResponse,
    ) -> Result<R, String> {
        let queued = request.method.eq_ignore_ascii_case("GET")
            || request.method.eq_ignore_ascii_case("HEAD");
        let mut resent = 0;
        loop {
            let answer = {
                let _nudger = queued.then(|| Nudger::start(&self.base));
                send(&mut self.inner, request)?
            };
            let response = head(&answer);
            if response.status != 503 || !response.body.starts_with(LOST_BY_WRANGLER) {
                return Ok(answer);
            }
            if resent == RESENDS {
                return Err(format!(
                    "{} {}: wrangler dev lost it {} times (its 503 \"{}\")",
                    request.method,
                    request.target,
                    resent + 1,
                    String::from_utf8_lossy(&response.body)
                ));
            }
            resent += 1;
            eprintln!(
                "wrangler dev at {} lost {} {} before the Worker saw it (its 503 \"Your worker \
                 restarted mid-request\"; nothing restarted: the keep-alive race of \
                 workers-sdk#14641); sending it again ({resent} of {RESENDS})",
                self.base, request.method, request.target
            );
        }
    }
}

impl Target for ThroughWrangler {
    fn send(&mut self, request: &WireRequest) -> Result<WireResponse, String> {
        self.through(
            request,
            |inner, request| inner.send(request),
            |answer| answer,
        )
    }

    fn open_stream(
        &mut self,
        request: &WireRequest,
    ) -> Result<(WireResponse, Box<dyn conformance::EventStream>), String> {
        self.through(
            request,
            |inner, request| inner.open_stream(request),
            |(head, _)| head,
        )
    }
}

/// While it lives, a thread that asks wrangler for `/health` every
/// [`NUDGE_AFTER`], so that a GET or HEAD that wrangler queued is sent on.
struct Nudger {
    _alive: std::sync::mpsc::Sender<()>,
}

impl Nudger {
    fn start(base: &str) -> Self {
        let (alive, stopped) = std::sync::mpsc::channel::<()>();
        let url = format!("{base}/health");
        std::thread::spawn(move || {
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(std::time::Duration::from_secs(2)))
                .build()
                .new_agent();
            // The sender is dropped when the request is answered.
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(NUDGE_AFTER)
            {
                let _ = agent
                    .get(&url)
                    .header("x-mock-namespace", "wrangler-nudge")
                    .call();
            }
        });
        Self { _alive: alive }
    }
}

type Settings = Vec<(String, String)>;

/// One of the edge's own tests.
type EdgeTest = fn(&Servers) -> Result<(), String>;

/// The `wrangler dev` servers of this run, one per distinct set of settings,
/// each started by the first test that needs it and stopped at the end.
struct Servers {
    root: PathBuf,
    dir: PathBuf,
    started: Mutex<HashMap<Settings, (usize, Arc<Slot>)>>,
}

type Slot = OnceLock<Result<WranglerServer, String>>;

impl Servers {
    /// The base URL of the server with these settings, started if need be.
    fn base(&self, settings: &Settings) -> Result<String, String> {
        let (n, slot) = {
            let mut started = self.started.lock().map_err(|e| e.to_string())?;
            let next = started.len();
            let (n, slot) = started
                .entry(settings.clone())
                .or_insert_with(|| (next, Arc::default()));
            (*n, Arc::clone(slot))
        };
        slot.get_or_init(|| {
            let (secrets, vars): (Settings, Settings) = settings
                .iter()
                .cloned()
                .partition(|(name, _)| name == "API_TOKEN");
            let dir = self.dir.join(format!("server-{n}"));
            WranglerServer::start(&self.root, &dir, &vars, &secrets)
        })
        .as_ref()
        .map(|server| server.base().to_owned())
        .map_err(Clone::clone)
    }

    /// What the server with these settings has logged so far (empty if it
    /// is not running).
    fn log(&self, settings: &Settings) -> String {
        let Ok(started) = self.started.lock() else {
            return String::new();
        };
        match started.get(settings).and_then(|(_, slot)| slot.get()) {
            Some(Ok(server)) => server.log_text(),
            _ => String::new(),
        }
    }

    /// Stops every server, each by its PID.
    fn stop(&self) {
        let Ok(mut started) = self.started.lock() else {
            return;
        };
        for (_, (_, slot)) in started.drain() {
            if let Some(Ok(server)) = Arc::into_inner(slot).and_then(OnceLock::into_inner) {
                if let Err(err) = server.stop() {
                    eprintln!("{err}");
                }
            }
        }
    }
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Builds the Worker (a no-op when `edge/build/` is up to date).
fn build(root: &Path) -> Result<(), String> {
    let status = Command::new("bash")
        .arg(root.join("scripts/edge.sh"))
        .arg("build")
        .current_dir(root)
        .status()
        .map_err(|e| format!("could not run scripts/edge.sh: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`bash scripts/edge.sh build` failed ({status})"))
    }
}

fn temporary_dir() -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!(
        "mock-rest-edge-test.{}.{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let root = repository_root();
    let setup = build(&root)
        .and_then(|()| temporary_dir())
        .and_then(|dir| load_all(&cases_dir()).map(|cases| (dir, cases)));
    let (dir, cases) = match setup {
        Ok(setup) => setup,
        Err(err) => {
            eprintln!("{err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let servers = Arc::new(Servers {
        root: root.clone(),
        dir: dir.clone(),
        started: Mutex::new(HashMap::new()),
    });
    let mut trials: Vec<Trial> = cases
        .into_iter()
        .enumerate()
        .map(|(n, case)| {
            let lacking = case.needs.iter().find_map(|need| {
                LACKS
                    .iter()
                    .find(|(lack, _)| lack == need)
                    .map(|(lack, why)| format!("{lack}: {why}"))
            });
            let unsupported = lacking.or_else(|| {
                case.env.iter().find_map(|(name, _)| {
                    UNSUPPORTED
                        .iter()
                        .find(|(setting, _)| setting == name)
                        .map(|(setting, why)| format!("{setting}: {why}"))
                })
            });
            if let Some(why) = unsupported {
                return Trial::test(format!("{} [not on the edge: {why}]", case.name), || Ok(()))
                    .with_ignored_flag(true);
            }
            let servers = Arc::clone(&servers);
            Trial::test(case.name.clone(), move || {
                let vars = as_vars(&case.env)?;
                let base = servers.base(&vars)?;
                let mut target = namespaced(&base, &format!("case-{n}"));
                // A failure shows what wrangler dev said, as a runtime reload mid-request (its 503
                // "Your worker restarted mid-request") is told only there.
                run_case(&case, &mut target).map_err(|err| {
                    Failed::from(format!(
                        "{err}\nwrangler dev's log:\n{}",
                        servers.log(&vars)
                    ))
                })
            })
        })
        .collect();
    let own: [(&str, EdgeTest); 9] = [
        (
            "edge: a rule's reset fault sends a 502 whose body is cut short",
            reset_fault_breaks_the_answer,
        ),
        (
            "edge: PROXY_TARGET and RECORD against a target on 127.0.0.1, replayed offline",
            proxy_records_and_replays,
        ),
        (
            "edge: state survives a restart of wrangler dev",
            survives_restart,
        ),
        (
            "edge: the seed (FIXTURES, RULES) is a new namespace's; a written one keeps its rows",
            seed_is_for_new_namespaces,
        ),
        (
            "edge: an invalid FIXTURES answers 500 naming it",
            invalid_fixtures_is_500,
        ),
        (
            "edge: an invalid RULES answers 500 naming it",
            invalid_rules_is_500,
        ),
        ("edge: namespaces are isolated", namespaces_are_isolated),
        ("edge: parallel writers lose nothing", parallel_writers),
        (
            "edge: a change the storage refuses is 503 and not kept",
            refused_change_is_not_kept,
        ),
    ];
    trials.extend(own.into_iter().map(|(name, test)| {
        let servers = Arc::clone(&servers);
        Trial::test(name, move || test(&servers).map_err(Failed::from))
    }));
    let conclusion = libtest_mimic::run(&args, trials);
    servers.stop();
    if let Err(err) = std::fs::remove_dir_all(&dir) {
        eprintln!("could not remove {}: {err}", dir.display());
    }
    conclusion.exit_code()
}

/// Sends one request, failing on a transport error or an unexpected status.
fn call(
    target: &mut dyn Target,
    method: &str,
    path: &str,
    body: &str,
    status: u16,
) -> Result<WireResponse, String> {
    let response = target.send(&WireRequest {
        method: method.to_owned(),
        target: path.to_owned(),
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
    })?;
    if response.status != status {
        return Err(format!(
            "{method} {path}: expected {status}, got {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        ));
    }
    Ok(response)
}

fn json(response: &WireResponse) -> Result<Value, String> {
    serde_json::from_slice(&response.body).map_err(|e| format!("not JSON: {e}"))
}

fn id_of(response: &WireResponse) -> Result<String, String> {
    json(response)?["_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| "no _id in the answer".to_owned())
}

/// What a namespace holds: its snapshot and its `/health` resources, as text.
fn contents(target: &mut dyn Target) -> Result<(String, String, String), String> {
    let snapshot = call(target, "GET", "/__admin/snapshot", "", 200)?;
    let health = json(&call(target, "GET", "/health", "", 200)?)?;
    let rules = call(target, "GET", "/__admin/rules", "", 200)?;
    Ok((
        String::from_utf8_lossy(&snapshot.body).into_owned(),
        health["database"].to_string(),
        String::from_utf8_lossy(&rules.body).into_owned(),
    ))
}

/// Writes in two namespaces (a snapshot with integer ids and singular
/// resources, one patched, creates, a replace, deletes, a cleared type
/// created again, rules added, used and deleted), stops `wrangler dev` by its
/// PID, starts it again on the same state, and finds every item and rule, in
/// the same order, types included.
fn survives_restart(servers: &Servers) -> Result<(), String> {
    let dir = servers.dir.join("restart");
    let server = WranglerServer::start(&servers.root, &dir, &[], &[])?;
    let mut before = Vec::new();
    for namespace in ["restart-a", "restart-b"] {
        let target = &mut namespaced(server.base(), namespace);
        // Integer ids and singular resources, from a snapshot, then changed.
        let seed = r#"{"delta":[{"_id":7,"n":0}],"me":{"a":1},"you":{"b":1}}"#;
        call(target, "PUT", "/__admin/snapshot", seed, 200)?;
        call(target, "PATCH", "/api/me", r#"{"a":null,"c":1.10}"#, 200)?;
        call(target, "POST", "/api/delta", "{}", 200)?;
        let first = id_of(&call(target, "POST", "/api/alpha", r#"{"n":1.10}"#, 200)?)?;
        call(target, "POST", "/api/beta", r#"[{"n":2},{"n":3}]"#, 200)?;
        call(target, "POST", "/api/alpha", r#"{"n":4}"#, 200)?;
        call(target, "POST", "/api/gamma", r#"{"n":5}"#, 200)?;
        // The first item is replaced in its place, then a later one goes.
        call(
            target,
            "PUT",
            &format!("/api/alpha/{first}"),
            r#"{"n":"one"}"#,
            200,
        )?;
        let gone = id_of(&call(target, "POST", "/api/beta", r#"{"n":6}"#, 200)?)?;
        call(target, "DELETE", &format!("/api/beta/{gone}"), "", 200)?;
        // A cleared type is forgotten; written again, it comes last.
        call(target, "DELETE", "/api/gamma", "", 200)?;
        call(target, "POST", "/api/gamma", r#"{"n":7}"#, 200)?;
        // Rules: one used once (its times go down), one deleted, one after it.
        let rule = r#"{"id":"a","match":{"path":"/x/a"},"respond":{"status":503},"times":3}"#;
        call(target, "POST", "/__admin/rules", rule, 201)?;
        let rule = r#"{"id":"b","match":{"path":"/x/b"},"respond":{"status":504}}"#;
        call(target, "POST", "/__admin/rules", rule, 201)?;
        call(target, "GET", "/x/a", "", 503)?;
        call(target, "DELETE", "/__admin/rules/b", "", 200)?;
        let rule = r#"{"id":"c","respond":{"delay_ms":1,"headers":{"X-C":"{{path.0}}"}}}"#;
        call(target, "POST", "/__admin/rules", rule, 201)?;
        let state = contents(target)?;
        if !state
            .0
            .starts_with(r#"{"delta":[{"n":0,"_id":7},{"_id":8}],"alpha":"#)
            || !state.0.ends_with(r#""me":{"c":1.10},"you":{"b":1}}"#)
        {
            return Err(format!("the store before the restart: {}", state.0));
        }
        if !state
            .2
            .contains(r#""id":"a","match":{"path":"/x/a"},"respond":{"status":503},"times":2"#)
        {
            return Err(format!("the rules before the restart: {}", state.2));
        }
        before.push(state);
    }
    let pid = server.pid();
    let status = server.stop()?;
    let server = WranglerServer::start(&servers.root, &dir, &[], &[])
        .map_err(|e| format!("after stopping pid {pid} ({status}): {e}"))?;
    for (namespace, before) in ["restart-a", "restart-b"].into_iter().zip(before) {
        let after = contents(&mut namespaced(server.base(), namespace))?;
        if after != before {
            return Err(format!(
                "{namespace} changed across the restart:\n  before: {before:?}\n  after:  {after:?}"
            ));
        }
    }
    server.stop().map(|_| ())
}

fn vars(pairs: &[(&str, &str)]) -> Settings {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

fn expect_body(response: &WireResponse, expected: &str, what: &str) -> Result<(), String> {
    if response.body == expected.as_bytes() {
        return Ok(());
    }
    Err(format!(
        "{what}: expected {expected}, got {}",
        String::from_utf8_lossy(&response.body)
    ))
}

/// A `wrangler dev` with a seed, then restarted on the same state with
/// another: a new namespace starts from the seed of its time (items and
/// rules) and reset returns to the current seed; a namespace written before
/// keeps its rows, even when it was emptied, whatever the seed has become.
fn seed_is_for_new_namespaces(servers: &Servers) -> Result<(), String> {
    const FIRST: &str = r#"{"notes":[{"text":"first","_id":"n1"}],"me":{"v":1}}"#;
    const SECOND: &str = r#"{"notes":[{"text":"second","_id":"n2"}]}"#;
    let dir = servers.dir.join("seed");
    let first = vars(&[
        ("FIXTURES", FIRST),
        (
            "RULES",
            r#"[{"id":"tea","match":{"path":"/tea"},"respond":{"status":418}}]"#,
        ),
    ]);
    let server = WranglerServer::start(&servers.root, &dir, &first, &[])?;
    let kept = &mut namespaced(server.base(), "seed-kept");
    expect_body(
        &call(kept, "GET", "/__admin/snapshot", "", 200)?,
        FIRST,
        "a new namespace",
    )?;
    call(kept, "GET", "/tea", "", 418)?;
    call(kept, "POST", "/api/notes", r#"{"text":"mine"}"#, 200)?;
    call(kept, "DELETE", "/__admin/rules/tea", "", 200)?;
    let kept_before = contents(kept)?;
    let emptied = &mut namespaced(server.base(), "seed-emptied");
    call(emptied, "PUT", "/__admin/snapshot", "{}", 200)?;
    call(emptied, "DELETE", "/__admin/rules", "", 200)?;
    let emptied_before = contents(emptied)?;
    if !emptied_before.0.starts_with("{}") || emptied_before.2 != "[]" {
        return Err(format!("not emptied: {emptied_before:?}"));
    }
    server.stop()?;

    let second = vars(&[
        ("FIXTURES", SECOND),
        (
            "RULES",
            r#"[{"id":"coffee","match":{"path":"/coffee"},"respond":{"status":402}}]"#,
        ),
    ]);
    let server = WranglerServer::start(&servers.root, &dir, &second, &[])?;
    let kept = &mut namespaced(server.base(), "seed-kept");
    let emptied = &mut namespaced(server.base(), "seed-emptied");
    for (target, before, name) in [
        (&mut *kept, kept_before, "seed-kept"),
        (&mut *emptied, emptied_before, "seed-emptied"),
    ] {
        let after = contents(target)?;
        if after != before {
            return Err(format!(
                "{name} did not keep its rows under another seed:\n  before: {before:?}\n  after:  {after:?}"
            ));
        }
    }
    let fresh = &mut namespaced(server.base(), "seed-new");
    expect_body(
        &call(fresh, "GET", "/__admin/snapshot", "", 200)?,
        SECOND,
        "a namespace new after the restart",
    )?;
    call(fresh, "GET", "/coffee", "", 402)?;
    // Reset returns to the seed the Worker has now.
    call(kept, "POST", "/__admin/reset", "", 200)?;
    expect_body(
        &call(kept, "GET", "/__admin/snapshot", "", 200)?,
        SECOND,
        "after reset",
    )?;
    call(kept, "GET", "/coffee", "", 402)?;
    call(kept, "GET", "/tea", "", 404)?;
    server.stop().map(drop)
}

/// A `wrangler dev` whose var `name` holds `value`, which the engine
/// refuses: every request, in any namespace, is `500` naming the var.
fn invalid_seed_is_500(servers: &Servers, name: &str, value: &str) -> Result<(), String> {
    let dir = servers.dir.join(format!("invalid-{name}"));
    let settings = vars(&[(name, value)]);
    let server = WranglerServer::start_answering(&servers.root, &dir, &settings, &[], 500)?;
    for (namespace, method, path) in [
        ("invalid-a", "GET", "/health"),
        ("invalid-a", "GET", "/api/notes"),
        ("invalid-b", "POST", "/__admin/reset"),
        ("invalid-b", "PUT", "/__admin/snapshot"),
    ] {
        let answer = call(
            &mut namespaced(server.base(), namespace),
            method,
            path,
            "{}",
            500,
        )?;
        let message = json(&answer)?["message"].as_str().unwrap_or("").to_owned();
        if !message.contains(&format!("{name}: ")) {
            return Err(format!(
                "{method} {path}: the 500 does not name {name}: {message}"
            ));
        }
    }
    server.stop().map(drop)
}

fn invalid_fixtures_is_500(servers: &Servers) -> Result<(), String> {
    invalid_seed_is_500(servers, "FIXTURES", r#"{"notes": [}"#)
}

fn invalid_rules_is_500(servers: &Servers) -> Result<(), String> {
    invalid_seed_is_500(
        servers,
        "RULES",
        r#"[{"match": {"method": 7}, "respond": {"status": 200}}]"#,
    )
}

/// A Worker cannot close a connection without answering: for a `reset`
/// fault it answers the engine's `502` with half of its body, ended there, so
/// the client's JSON does not parse. The Worker answers the next request at
/// once, fault after fault.
fn reset_fault_breaks_the_answer(servers: &Servers) -> Result<(), String> {
    // A wrangler dev of its own, so that a fault's answer never shares a runtime with
    // other tests' requests.
    let own = vec![("APP_NAME".to_owned(), "conformance-faults".to_owned())];
    let base = servers.base(&own)?;
    reset_fault_in(&base)
        .map_err(|err| format!("{err}\nwrangler dev's log:\n{}", servers.log(&own)))
}

/// How long the Worker may take to answer after a reset fault.
const ANSWERS_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

fn reset_fault_in(base: &str) -> Result<(), String> {
    let target = &mut namespaced(base, "faults");
    let rule = call(
        target,
        "POST",
        "/__admin/rules",
        r#"{"match":{"path":"/api/down"},"respond":{"fault":"reset"}}"#,
        201,
    )?;
    let id = json(&rule)?["id"].as_str().unwrap_or("").to_owned();
    // The engine's whole answer, as every other host would send it before dropping the connection.
    let whole = serde_json::json!({
        "message": format!("Rule {id} drops the connection (fault `reset`).")
    })
    .to_string();
    let half = &whole.as_bytes()[..whole.len() / 2];
    for round in 1..=3 {
        let cut = call(target, "GET", "/api/down", "", 502)
            .map_err(|err| format!("fault {round}: {err}"))?;
        if cut.body != half || cut.header("content-type") != Some("application/json") {
            return Err(format!(
                "fault {round}: expected the first half of {whole} as application/json, got {:?} {}",
                cut.headers,
                String::from_utf8_lossy(&cut.body)
            ));
        }
        // Asked on a connection of its own, as a client whose answer broke would.
        let asked = std::time::Instant::now();
        call(&mut namespaced(base, "faults"), "GET", "/api/up", "", 200)
            .map_err(|err| format!("after fault {round}: {err}"))?;
        let took = asked.elapsed();
        if took > ANSWERS_WITHIN {
            return Err(format!(
                "after fault {round}, GET /api/up took {took:?}, over {ANSWERS_WITHIN:?}"
            ));
        }
    }
    Ok(())
}

/// Writes in one namespace are not seen in another; no header is `default`.
fn namespaces_are_isolated(servers: &Servers) -> Result<(), String> {
    let base = servers.base(&Vec::new())?;
    let (a, b) = (
        &mut namespaced(&base, "isolated-a"),
        &mut namespaced(&base, "isolated-b"),
    );
    let id = id_of(&call(a, "POST", "/api/things", r#"{"in":"a"}"#, 200)?)?;
    call(b, "GET", &format!("/api/things/{id}"), "", 404)?;
    let listed = call(b, "GET", "/api/things", "", 200)?;
    if listed.body != b"[]" {
        return Err(format!(
            "isolated-b sees {}",
            String::from_utf8_lossy(&listed.body)
        ));
    }
    call(b, "POST", "/api/things", r#"{"in":"b"}"#, 200)?;
    call(b, "DELETE", "/api/things", "", 200)?;
    call(a, "GET", &format!("/api/things/{id}"), "", 200)?;

    let plain = &mut ThroughWrangler::new(&base);
    let id = id_of(&call(
        plain,
        "POST",
        "/api/defaults",
        r#"{"ns":null}"#,
        200,
    )?)?;
    call(
        &mut namespaced(&base, "default"),
        "GET",
        &format!("/api/defaults/{id}"),
        "",
        200,
    )?;
    call(a, "GET", &format!("/api/defaults/{id}"), "", 404)?;
    Ok(())
}

/// 8 threads each POST 25 items to one namespace at once: 200 distinct ids,
/// every one of them listed afterwards.
fn parallel_writers(servers: &Servers) -> Result<(), String> {
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let base = servers.base(&Vec::new())?;
    let writers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let base = base.clone();
            std::thread::spawn(move || -> Result<Vec<String>, String> {
                let target = &mut namespaced(&base, "parallel");
                (0..EACH)
                    .map(|n| {
                        let body = format!(r#"{{"thread":{thread},"n":{n}}}"#);
                        id_of(&call(target, "POST", "/api/writes", &body, 200)?)
                    })
                    .collect()
            })
        })
        .collect();
    let mut ids = BTreeSet::new();
    for writer in writers {
        let written = writer
            .join()
            .map_err(|_| "a writer panicked".to_owned())??;
        ids.extend(written);
    }
    if ids.len() != THREADS * EACH {
        return Err(format!(
            "{} distinct ids from {} POSTs",
            ids.len(),
            THREADS * EACH
        ));
    }
    let listed = call(
        &mut namespaced(&base, "parallel"),
        "GET",
        "/api/writes",
        "",
        200,
    )?;
    let listed: BTreeSet<String> = json(&listed)?
        .as_array()
        .ok_or("the list is not an array")?
        .iter()
        .filter_map(|item| item["_id"].as_str().map(str::to_owned))
        .collect();
    if listed != ids {
        return Err(format!(
            "listed {} items, {} of the written ids missing",
            listed.len(),
            ids.difference(&listed).count()
        ));
    }
    Ok(())
}

/// An item over the Durable Object's row limit (2 MB), in a body the settings
/// allow: SQLite refuses it, so the answer is `503` and the object, which
/// reloads from storage, has nothing of the request, not even the new type.
fn refused_change_is_not_kept(servers: &Servers) -> Result<(), String> {
    let settings = vec![("MAX_BODY_BYTES".to_owned(), "3000000".to_owned())];
    let base = servers.base(&settings)?;
    let target = &mut namespaced(&base, "refused");
    call(target, "POST", "/api/kept", r#"{"n":1}"#, 200)?;
    let huge = format!(r#"[{{"n":2}},{{"text":"{}"}}]"#, "x".repeat(2_500_000));
    call(target, "POST", "/api/huge", &huge, 503)?;
    let (snapshot, _, _) = contents(target)?;
    let snapshot: Value = serde_json::from_str(&snapshot).map_err(|e| e.to_string())?;
    let types: Vec<&String> = snapshot
        .as_object()
        .ok_or("the snapshot is not an object")?
        .keys()
        .collect();
    if types != ["kept"] {
        return Err(format!("after the refused write the store has {types:?}"));
    }
    call(target, "POST", "/api/kept", r#"{"n":3}"#, 200)?;
    Ok(())
}

/// A target on 127.0.0.1 for the proxy test, answering by path: `/api/orders`
/// a JSON list, `/slow` never, `/big` 100 MiB without a length, `/redirect`
/// a `302`, anything else `503`. Each connection has a thread; the listener
/// lives as long as the test process.
fn fake_target() -> Result<String, String> {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let Ok(clone) = stream.try_clone() else {
                    return;
                };
                let mut reader = BufReader::new(clone);
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let path = line.split(' ').nth(1).unwrap_or("").to_owned();
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header) {
                        Ok(0) | Err(_) => return,
                        Ok(_) if header == "\r\n" => break,
                        Ok(_) => {
                            let lower = header.to_ascii_lowercase();
                            if let Some(value) = lower.strip_prefix("content-length:") {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                }
                let mut body = vec![0; length];
                if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                    return;
                }
                let answer = |status: &str, extra: &str, body: &str| {
                    format!(
                        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                let _ = match path.as_str() {
                    "/api/orders" => stream.write_all(
                        answer(
                            "200 OK",
                            "Content-Type: application/json\r\n",
                            r#"[{"item":"pen","_id":"o1"},{"item":"ink","qty":1.50,"_id":"o2"}]"#,
                        )
                        .as_bytes(),
                    ),
                    "/slow" => {
                        std::thread::sleep(std::time::Duration::from_secs(30));
                        Ok(())
                    }
                    "/big" => {
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n";
                        let _ = stream.write_all(head.as_bytes());
                        let chunk = vec![b'x'; 64 * 1024];
                        (0..1600).try_for_each(|_| stream.write_all(&chunk))
                    }
                    "/redirect" => stream
                        .write_all(answer("302 Found", "Location: /elsewhere\r\n", "").as_bytes()),
                    _ => stream.write_all(
                        answer(
                            "503 Service Unavailable",
                            "Retry-After: 7\r\n",
                            r#"{"down":true}"#,
                        )
                        .as_bytes(),
                    ),
                };
            });
        }
    });
    Ok(base)
}

/// The Worker proxies to a target on 127.0.0.1 and records: the answers
/// come back as they are (a redirect passed back, a 5xx as it is), silence is
/// `504`, 100 MiB is `502`; the recording's exports (`/__admin/rules`,
/// `/__admin/snapshot`) then replay in another namespace of a Worker with no
/// target (with `POST /__admin/rules` and `PUT /__admin/snapshot`, as a
/// recording larger than the vars `RULES` and `FIXTURES` may hold goes in).
fn proxy_records_and_replays(servers: &Servers) -> Result<(), String> {
    let target = fake_target()?;
    let settings = vec![
        ("PROXY_TARGET".to_owned(), target.clone()),
        ("RECORD".to_owned(), "1".to_owned()),
        ("PROXY_TIMEOUT_MS".to_owned(), "1000".to_owned()),
    ];
    let recorder = &mut namespaced(&servers.base(&settings)?, "proxy-record");
    let orders = call(recorder, "GET", "/api/orders", "", 200)?;
    if orders.header("x-mock-recorded").is_none() {
        return Err(format!(
            "not recorded: {:?}",
            orders.header("x-mock-not-recorded")
        ));
    }
    let down = call(recorder, "POST", "/api/down", r#"{"a":1}"#, 503)?;
    if down.body != br#"{"down":true}"# || down.header("retry-after") != Some("7") {
        return Err(format!("the 503 changed on its way: {down:?}"));
    }
    let redirect = call(recorder, "GET", "/redirect", "", 302)?;
    if redirect.header("location") != Some("/elsewhere") {
        return Err(format!("the redirect was not passed back: {redirect:?}"));
    }
    let slow = call(recorder, "GET", "/slow", "", 504)?;
    let big = call(recorder, "GET", "/big", "", 502)?;
    for (answer, words) in [
        (&slow, "did not answer within 1000 ms"),
        (&big, "over 1048576 bytes (MAX_BODY_BYTES)"),
    ] {
        let message = json(answer)?["message"].as_str().unwrap_or("").to_owned();
        if !message.contains(&target) || !message.contains(words) {
            return Err(format!("expected `{words}` naming {target}: {message}"));
        }
    }
    let journal =
        String::from_utf8_lossy(&call(recorder, "GET", "/__admin/requests", "", 200)?.body)
            .into_owned();
    if !journal.contains(&format!(r#""proxied":"{target}""#)) {
        return Err(format!("the journal does not name the target: {journal}"));
    }
    let rules = json(&call(recorder, "GET", "/__admin/rules", "", 200)?)?;
    let snapshot = call(recorder, "GET", "/__admin/snapshot", "", 200)?;

    let offline = &mut namespaced(&servers.base(&Vec::new())?, "proxy-replay");
    call(
        offline,
        "PUT",
        "/__admin/snapshot",
        &String::from_utf8_lossy(&snapshot.body),
        200,
    )?;
    for rule in rules.as_array().into_iter().flatten() {
        call(offline, "POST", "/__admin/rules", &rule.to_string(), 201)?;
    }
    let replayed = call(offline, "GET", "/api/orders", "", 200)?;
    let again = call(offline, "POST", "/api/down", r#"{"a":1}"#, 503)?;
    if replayed.body != orders.body || again.body != down.body {
        return Err(format!(
            "the replay differs: {} / {}",
            String::from_utf8_lossy(&replayed.body),
            String::from_utf8_lossy(&again.body)
        ));
    }
    let item = call(offline, "GET", "/api/orders/o2", "", 200)?;
    if item.body != br#"{"item":"ink","qty":1.50,"_id":"o2"}"# {
        return Err(format!(
            "the list's item was not stored as it was: {}",
            String::from_utf8_lossy(&item.body)
        ));
    }
    Ok(())
}
