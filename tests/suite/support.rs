//! End-to-end harness for promsetup: it owns everything the e2e tests need outside the
//! crate itself. It finds the real programs (nginx, prometheus, curl) and decides whether a
//! missing one skips or fails, hands out loopback ports, runs the promsetup binary into a
//! temporary bundle, starts nginx and Prometheus from that bundle as child processes (and
//! always stops them on Drop, also when a test panics), runs curl the way a user would, and
//! starts a second Prometheus that scrapes through the proxy, because Go's TLS client is
//! stricter than curl's. Every wait is bounded, and a failed wait panics with the log that
//! explains it.
//!
//! Three shapes of bundle are served (`Shape`): nginx checking `.htpasswd`; nginx in front of a
//! Prometheus that checks `web.yml` itself; and Prometheus alone, serving TLS and basic auth.
//! When Prometheus checks passwords, the harness starts it with the bundle's own scrape job
//! (`prometheus-scrape.yml`) and polls its readiness with the bundle's credentials (and over
//! the bundle's TLS when it serves TLS itself).

// clippy.toml routes the crate's file writes through src/write.rs; the harness only writes
// scratch files (configs, logs, port claims) in temporary folders of its own.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long nginx or Prometheus may take to start listening or become ready.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the scraping Prometheus may take to report its target up: a few scrape intervals
/// of 1 s, plus slack for a loaded 2-core CI machine running tests in parallel.
const TARGET_UP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a stopped process may take to exit before it is killed outright.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound for a single curl call, so a hung proxy fails the test instead of hanging it.
const CURL_MAX_TIME_SECS: &str = "10";
/// Upper bound for one promsetup run (bcrypt hashing and key generation included).
const PROMSETUP_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_INTERVAL: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------------------------------------
// Programs and ports

/// Finds `program` on PATH (and in the sbin folders, where Debian puts nginx, which a non-root
/// PATH may lack). A missing program is a failure under CI, where a silent skip would turn
/// the whole e2e suite green without running it; elsewhere the test is skipped with a note.
pub fn require(program: &str) -> Option<PathBuf> {
    if let Some(path) = find_program(program) {
        return Some(path);
    }
    if running_in_ci() {
        panic!(
            "{program} is not installed, and CI must run the end-to-end tests: \
             install it (Debian: nginx-light, prometheus, curl, apache2-utils)"
        );
    }
    eprintln!("skipping: {program} not installed");
    None
}

fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn find_program(program: &str) -> Option<PathBuf> {
    let is_executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = PathBuf::from(program);
        return is_executable(&path).then_some(path);
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn program(name: &str) -> PathBuf {
    require(name).unwrap_or_else(|| panic!("{name} is not installed; call require() first"))
}

/// Ports are handed out from blocks below the kernel's ephemeral range (32768 and up on
/// Linux), so a port we hand out is not also picked as the source port of some outgoing
/// connection (curl's, nginx's, Prometheus's) between our check and the server binding it.
const PORT_RANGE: std::ops::Range<u16> = 20000..32000;
/// Each test process claims whole blocks, so that two test runs at once (two developers on
/// one machine, or `cargo test` next to a manual run) never hand out the same port: a port
/// checked free is not yet bound while promsetup runs, and would look free to the other run.
const PORT_BLOCK_SIZE: u16 = 200;

/// The block this process hands ports from, and the next port in it. Tests run in parallel
/// threads; the lock makes every port go to exactly one of them.
static PORT_POOL: Mutex<Option<(u16, u16)>> = Mutex::new(None);
/// Blocks this process has claimed, so it never claims one twice.
static CLAIMED_BLOCKS: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A loopback TCP port that is free now and handed to no other caller, in this process or
/// in another test process.
pub fn free_port() -> u16 {
    let mut pool = PORT_POOL.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..PORT_RANGE.len() {
        let (block, next) = match *pool {
            Some((block, next)) if next < block + PORT_BLOCK_SIZE => (block, next),
            _ => {
                let block = claim_port_block();
                (block, block)
            }
        };
        *pool = Some((block, next + 1));
        // Binding is the only reliable "is it free" check; the listener is dropped at once.
        if TcpListener::bind(("127.0.0.1", next)).is_ok() {
            return next;
        }
    }
    panic!("no free loopback port in {PORT_RANGE:?}");
}

/// Claims a block of ports for this process with a file named after the block and holding
/// our pid, created exclusively. Files of processes that no longer run are taken over, so
/// claims need no cleanup.
fn claim_port_block() -> u16 {
    let dir = std::env::temp_dir().join("promsetup-e2e-ports");
    fs::create_dir_all(&dir).expect("create the port claims folder");
    // Shared like /tmp itself, so runs as another user can claim blocks too.
    let _ = fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777));
    let blocks = PORT_RANGE.len() as u32 / u32::from(PORT_BLOCK_SIZE);
    let first = std::process::id() % blocks; // spreads concurrent runs over the range
    let claimed_by_us = CLAIMED_BLOCKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    for i in 0..blocks {
        let block = PORT_RANGE.start + ((first + i) % blocks) as u16 * PORT_BLOCK_SIZE;
        if claimed_by_us.contains(&block) {
            continue;
        }
        let claim = dir.join(block.to_string());
        let owner_is_gone = || {
            fs::read_to_string(&claim)
                .ok()
                .and_then(|pid| pid.trim().parse::<u32>().ok())
                .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        };
        let mut created = create_claim(&claim);
        if created.is_none() && owner_is_gone() {
            let _ = fs::remove_file(&claim);
            created = create_claim(&claim);
        }
        if created.is_some() {
            CLAIMED_BLOCKS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(block);
            return block;
        }
    }
    panic!(
        "every block of ports in {PORT_RANGE:?} is claimed by a running test process \
         (claims in {})",
        dir.display()
    );
}

fn create_claim(path: &Path) -> Option<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .ok()?;
    write!(file, "{}", std::process::id()).ok()
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/// A temporary folder that nginx's worker (www-data) can traverse: TempDir makes it 0700.
pub fn traversable_tempdir() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("promsetup-e2e-")
        .tempdir()
        .expect("create tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod tempdir");
    dir
}

/// The uid of the process running the tests (std has no getuid; /proc/self belongs to us).
pub fn current_uid() -> u32 {
    fs::metadata("/proc/self").expect("stat /proc/self").uid()
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL_INTERVAL);
    }
}

fn read_lossy(path: &Path) -> String {
    fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| format!("<cannot read {}: {e}>", path.display()))
}

/// The last `max` bytes of a log, which is where the reason for a failure is.
fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

fn send_signal(pid: u32, signal: &str) {
    // std can only SIGKILL a child; nginx's master must get TERM so it stops its workers too.
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn child_pids(parent: u32) -> Vec<u32> {
    let output = Command::new("ps")
        .args(["-o", "pid=", "--ppid", &parent.to_string()])
        .output();
    output
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Asks `child` to stop with `signal`, waits a bounded time, then kills it.
fn stop_child(child: &mut Child, signal: &str) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    send_signal(child.id(), signal);
    let exited = wait_until(STOP_TIMEOUT, || matches!(child.try_wait(), Ok(Some(_))));
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Sends a minimal HTTP/1.0 GET (with an `Authorization` header when given) and returns the
/// status code; used for readiness polling, where spawning curl every 50 ms would be wasteful.
fn http_status(addr: SocketAddr, path: &str, authorization: Option<&str>) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let authorization = authorization
        .map(|value| format!("Authorization: {value}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{authorization}\r\n"
    )
    .ok()?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).ok()?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The value of an `Authorization` header for HTTP basic auth (RFC 7617): "Basic " and the
/// standard base64 (RFC 4648, padded) of "user:password".
pub fn basic_authorization(username: &str, password: &str) -> String {
    use base64::Engine;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

/// Resolves "host:port" as written in a config (e.g. "127.0.0.1:9090", "[::1]:9090",
/// ":9090", "0.0.0.0:9090") to the address a local client should connect to.
fn connectable_addr(host_port: &str) -> SocketAddr {
    let (host, port) = host_port
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("no port in address {host_port:?}"));
    let port: u16 = port
        .parse()
        .unwrap_or_else(|_| panic!("bad port in address {host_port:?}"));
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = match host {
        "" | "0.0.0.0" | "*" => IpAddr::from([127, 0, 0, 1]),
        "::" => "::1".parse().unwrap(),
        "localhost" => IpAddr::from([127, 0, 0, 1]),
        other => match other.parse() {
            Ok(ip) => ip,
            Err(_) => (other, port)
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.next())
                .map(|a| a.ip())
                .unwrap_or_else(|| panic!("cannot resolve {other:?}")),
        },
    };
    SocketAddr::new(ip, port)
}

// ---------------------------------------------------------------------------------------------
// curl

/// What one curl run saw. `status` is 0 when no HTTP response arrived (curl prints "000");
/// `exit_code` and `stderr` then say why (e.g. 35 for a failed TLS handshake).
#[derive(Debug)]
pub struct CurlResult {
    pub status: u16,
    /// Raw response headers; with `-L`, the headers of every response in order.
    pub headers: String,
    pub body: String,
    pub exit_code: Option<i32>,
    #[allow(dead_code)] // Read through Debug: failure messages print the whole result.
    pub stderr: String,
}

impl CurlResult {
    /// The value of header `name` in the last response, case-insensitively.
    pub fn header(&self, name: &str) -> Option<String> {
        let last_response = self
            .headers
            .split("\r\n\r\n")
            .filter(|block| !block.trim().is_empty())
            .last()?;
        last_response.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }

    /// Every value of header `name` in the last response, in order, case-insensitively: a
    /// header that must appear once can be counted.
    pub fn header_values(&self, name: &str) -> Vec<String> {
        let Some(last_response) = self
            .headers
            .split("\r\n\r\n")
            .filter(|block| !block.trim().is_empty())
            .last()
        else {
            return Vec::new();
        };
        last_response
            .lines()
            .skip(1)
            .filter_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_string())
            })
            .collect()
    }

    /// Whether curl got an HTTP response at all.
    pub fn connected(&self) -> bool {
        self.status != 0
    }
}

/// Runs curl as a user would, but silently, bounded in time, ignoring ~/.curlrc and any
/// proxy settings of the environment (every target is on this machine).
pub fn curl<I, S>(args: I) -> CurlResult
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let curl = program("curl");
    let headers_file = tempfile::NamedTempFile::new().expect("temp file for headers");
    let body_file = tempfile::NamedTempFile::new().expect("temp file for body");
    let output = Command::new(curl)
        .arg("-q") // must come first: ignore ~/.curlrc
        .args(["-sS", "--max-time", CURL_MAX_TIME_SECS, "--noproxy", "*"])
        .arg("-D")
        .arg(headers_file.path())
        .arg("-o")
        .arg(body_file.path())
        .args(["-w", "%{http_code}"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    CurlResult {
        status: String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap_or(0),
        headers: read_lossy(headers_file.path()),
        body: read_lossy(body_file.path()),
        exit_code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// promsetup

/// Runs the crate's binary with `args`, feeding `stdin` if given. PROMSETUP_PASSWORD is
/// removed from its environment so only what a test passes can supply a password.
pub fn run_promsetup<I, S>(args: I, stdin: Option<&str>) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = promsetup_command();
    cmd.args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_string());
    }
    cmd.output().expect("run promsetup")
}

/// The crate's binary, bounded in time, with no password in its environment.
pub fn promsetup_command() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("promsetup").expect("promsetup binary is built");
    cmd.env_remove("PROMSETUP_PASSWORD")
        .timeout(PROMSETUP_TIMEOUT);
    cmd
}

/// A bundle of the `site` layout (no nginx.conf: the default on a host whose nginx includes
/// sites-enabled/) for example.com in `out`, its password generated into password.txt.
pub fn make_site_bundle(out: &Path) {
    let made = promsetup_command()
        .args(["--non-interactive", "--domain", "example.com"])
        .args(["--nginx-layout", "site", "--out"])
        .arg(out)
        .output()
        .expect("run promsetup");
    assert!(made.status.success(), "{}", describe_output(&made));
}

fn describe_output(output: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

// ---------------------------------------------------------------------------------------------
// nginx

/// Runs `nginx -t` on `conf` exactly as written (errors to stderr, which is in the Output).
pub fn nginx_test(conf: &Path) -> Output {
    Command::new(program("nginx"))
        .arg("-t")
        .arg("-c")
        .arg(conf)
        .args(["-e", "stderr"])
        .stdin(Stdio::null())
        .output()
        .expect("run nginx -t")
}

/// An nginx master running in the foreground as our child; stopped on Drop.
pub struct Nginx {
    child: Child,
    pub error_log: PathBuf,
    pub listen: Vec<SocketAddr>,
}

impl Nginx {
    /// Checks `conf` with `nginx -t`, starts nginx on it and waits until every address it
    /// listens on accepts connections. The config sets neither `pid` nor `error_log`, so
    /// both are pointed into `workdir` (the Debian defaults need a system nginx's files).
    pub fn start(conf: &Path, workdir: &Path) -> Nginx {
        let check = nginx_test(conf);
        assert!(
            check.status.success(),
            "nginx -t rejected {}:\n{}\n--- config\n{}",
            conf.display(),
            describe_output(&check),
            read_lossy(conf)
        );
        let listen = listen_addresses(&read_lossy(conf));
        assert!(
            !listen.is_empty(),
            "{} has no listen directive",
            conf.display()
        );

        let run_dir = workdir.join(format!("nginx-{}", listen[0].port()));
        fs::create_dir_all(&run_dir).expect("create nginx run dir");
        let error_log = run_dir.join("error.log");
        let pid_file = run_dir.join("nginx.pid");
        let child = Command::new(program("nginx"))
            .arg("-c")
            .arg(conf)
            .arg("-e")
            .arg(&error_log)
            .arg("-g")
            .arg(format!("daemon off; pid {};", pid_file.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(run_dir.join("stderr.log")).expect("nginx stderr log"))
            .spawn()
            .expect("start nginx");
        let mut nginx = Nginx {
            child,
            error_log,
            listen,
        };
        nginx.wait_until_listening();
        nginx
    }

    fn wait_until_listening(&mut self) {
        let listen = self.listen.clone();
        let mut exited = None;
        let ready = wait_until(START_TIMEOUT, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                exited = Some(status);
                return true;
            }
            listen
                .iter()
                .all(|addr| TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok())
        });
        if let Some(status) = exited {
            panic!(
                "nginx exited during startup ({status}):\n{}",
                self.diagnostics()
            );
        }
        if !ready {
            panic!(
                "nginx did not listen on {:?} within {START_TIMEOUT:?}:\n{}",
                self.listen,
                self.diagnostics()
            );
        }
    }

    /// The master's pid (we run it in the foreground, so it is our child).
    pub fn master_pid(&self) -> u32 {
        self.child.id()
    }

    /// The users nginx's worker processes run as (waits, bounded, for the workers to exist:
    /// nginx listens before it forks them).
    pub fn worker_users(&self) -> Vec<String> {
        let mut users = Vec::new();
        wait_until(START_TIMEOUT, || {
            let output = Command::new("ps")
                .args(["-o", "user=", "--ppid", &self.master_pid().to_string()])
                .output()
                .expect("run ps");
            users = String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect();
            !users.is_empty()
        });
        users
    }

    pub fn diagnostics(&self) -> String {
        let stderr_log = self.error_log.with_file_name("stderr.log");
        format!(
            "--- nginx error log ({})\n{}\n--- nginx stderr\n{}",
            self.error_log.display(),
            tail(&read_lossy(&self.error_log), 4000),
            tail(&read_lossy(&stderr_log), 2000)
        )
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.diagnostics());
        }
        // TERM makes the master stop its workers; if we must SIGKILL the master instead, its
        // workers would be orphaned still holding the port, so kill them by pid as well.
        let workers = child_pids(self.master_pid());
        stop_child(&mut self.child, "TERM");
        for pid in workers {
            if Path::new(&format!("/proc/{pid}")).exists() {
                send_signal(pid, "KILL");
            }
        }
    }
}

/// The addresses of every `listen` directive in an nginx config, as a client connects to
/// them ("listen 8443 ssl;" means all addresses, so loopback works).
pub fn listen_addresses(conf: &str) -> Vec<SocketAddr> {
    conf.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter_map(|line| line.strip_prefix("listen"))
        .filter(|rest| rest.starts_with(char::is_whitespace))
        .filter_map(|rest| rest.trim().trim_end_matches(';').split_whitespace().next())
        .filter(|addr| !addr.starts_with("unix:"))
        .map(|addr| {
            if addr.chars().all(|c| c.is_ascii_digit()) {
                connectable_addr(&format!(":{addr}"))
            } else {
                connectable_addr(addr)
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Prometheus

/// A Prometheus server running as our child with a scratch config and TSDB; killed on Drop.
pub struct Prometheus {
    child: Child,
    /// Where to connect to it, from `--web.listen-address`.
    pub listen: SocketAddr,
    /// The path its routes live under (`--web.route-prefix`), always ending in '/'.
    pub route_prefix: String,
    /// The job whose target health `wait_target_up` reports.
    pub job: String,
    /// How a client gets past its web.yml, if it has one (credentials, TLS).
    pub access: WebAccess,
    run_dir: PathBuf,
}

/// How a client reaches a Prometheus that has a `web.yml`: the basic-auth user and password
/// it must send, and, when Prometheus serves TLS itself, the certificate to trust and the name
/// it is for. The default (no credentials, plain HTTP) is a Prometheus without `web.yml`.
#[derive(Clone, Debug, Default)]
pub struct WebAccess {
    pub basic_auth: Option<(String, String)>,
    pub tls: Option<WebTls>,
}

#[derive(Clone, Debug)]
pub struct WebTls {
    /// The certificate that signs the server's (a self-signed one: the certificate itself).
    pub ca_file: PathBuf,
    /// The name the certificate is for; curl reaches it through `--resolve`.
    pub server_name: String,
}

/// A bundle's `prometheus-scrape.yml` (a `scrape_configs:` document) as the scrape part of a
/// prometheus.yml whose `global:` section the harness writes: it must not set `global:` itself,
/// and must have a top-level `scrape_configs:`.
fn scrape_configs_document(snippet: &str) -> String {
    let top_level_keys: Vec<&str> = snippet
        .lines()
        .filter(|line| !line.starts_with([' ', '\t', '#', '-']) && !line.trim().is_empty())
        .filter_map(|line| line.split_once(':').map(|(key, _)| key.trim()))
        .collect();
    assert_eq!(
        top_level_keys,
        ["scrape_configs"],
        "a scrape config for prometheus.yml must hold scrape_configs only:\n{snippet}"
    );
    snippet.to_string()
}

/// What the scraping Prometheus scrapes: `metrics_path` on `target` (host:port of the proxy),
/// authenticating like a user and verifying TLS against `ca_file` for `server_name`.
pub struct ScrapeThroughProxy<'a> {
    pub target: &'a str,
    pub scheme: &'a str,
    pub metrics_path: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub ca_file: Option<&'a Path>,
    pub server_name: Option<&'a str>,
}

impl Prometheus {
    /// Starts Prometheus with `flags` (e.g. the bundle's prometheus.flags) plus a scratch
    /// config that scrapes itself every second, and waits until it reports ready.
    pub fn start(flags: &[String], workdir: &Path) -> Prometheus {
        let listen_flag = flag_value(flags, "--web.listen-address").unwrap_or("0.0.0.0:9090");
        let listen = connectable_addr(listen_flag);
        let route_prefix = route_prefix(flags);
        let self_scrape = format!(
            "  - job_name: prometheus\n    metrics_path: {route_prefix}metrics\n    \
             static_configs:\n      - targets: ['{listen}']\n"
        );
        Self::start_with_jobs(
            flags,
            workdir,
            listen,
            route_prefix,
            "prometheus",
            &self_scrape,
        )
    }

    /// Starts a second Prometheus, on a port of its own, whose only job scrapes through the
    /// proxy. Prometheus's Go TLS client rejects certificates that curl accepts (no SAN, a CA
    /// certificate used as a server's), so "target up" is a check curl cannot make.
    pub fn start_scraper(scrape: &ScrapeThroughProxy, workdir: &Path) -> Prometheus {
        let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let run_dir = workdir.join(format!("prometheus-{}", listen.port()));
        fs::create_dir_all(&run_dir).expect("create scraper run dir");
        let password_file = run_dir.join("scrape-password");
        fs::write(&password_file, scrape.password).expect("write scrape password");
        fs::set_permissions(&password_file, fs::Permissions::from_mode(0o600))
            .expect("chmod scrape password");

        let mut job = format!(
            "  - job_name: through-proxy\n    scheme: {}\n    metrics_path: {}\n    \
             basic_auth:\n      username: {}\n      password_file: {}\n",
            scrape.scheme,
            scrape.metrics_path,
            yaml_string(scrape.username),
            yaml_string(&password_file.to_string_lossy()),
        );
        if scrape.ca_file.is_some() || scrape.server_name.is_some() {
            job.push_str("    tls_config:\n");
            if let Some(ca) = scrape.ca_file {
                let _ = writeln!(job, "      ca_file: {}", yaml_string(&ca.to_string_lossy()));
            }
            if let Some(name) = scrape.server_name {
                let _ = writeln!(job, "      server_name: {}", yaml_string(name));
            }
        }
        let _ = writeln!(
            job,
            "    static_configs:\n      - targets: [{}]",
            yaml_string(scrape.target)
        );
        let flags = [format!("--web.listen-address={listen}")];
        Self::start_with_jobs(&flags, workdir, listen, "/".into(), "through-proxy", &job)
    }

    /// Starts Prometheus with `flags` and, instead of the harness's own self-scrape, the
    /// `scrape_configs:` document `scrape_config` (e.g. a bundle's prometheus-scrape.yml) in
    /// its prometheus.yml; `wait_target_up` then watches `job`. Readiness is polled the way
    /// `access` says: with its credentials, over its TLS.
    pub fn start_with_scrape_config(
        flags: &[String],
        workdir: &Path,
        scrape_config: &str,
        job: &str,
        access: WebAccess,
    ) -> Prometheus {
        let listen_flag = flag_value(flags, "--web.listen-address").unwrap_or("0.0.0.0:9090");
        let listen = connectable_addr(listen_flag);
        Self::launch(
            flags,
            workdir,
            listen,
            route_prefix(flags),
            job,
            &scrape_configs_document(scrape_config),
            access,
        )
    }

    /// Starts Prometheus the way `bundle` says it must run: its flags, and, when it checks
    /// passwords (web.yml), the bundle's own self-scrape job, reached with the bundle's
    /// credentials (over the bundle's TLS without nginx).
    pub fn start_for_bundle(bundle: &Bundle) -> Prometheus {
        let flags = bundle.flags();
        if !bundle.prometheus_checks_passwords() {
            return Self::start(&flags, bundle.workdir());
        }
        let snippet = fs::read_to_string(bundle.scrape_snippet()).unwrap_or_else(|e| {
            panic!("read {}: {e}", bundle.scrape_snippet().display());
        });
        Self::start_with_scrape_config(
            &flags,
            bundle.workdir(),
            &snippet,
            "prometheus",
            bundle.web_access(),
        )
    }

    fn start_with_jobs(
        flags: &[String],
        workdir: &Path,
        listen: SocketAddr,
        route_prefix: String,
        job: &str,
        scrape_configs: &str,
    ) -> Prometheus {
        Self::launch(
            flags,
            workdir,
            listen,
            route_prefix,
            job,
            &format!("scrape_configs:\n{scrape_configs}"),
            WebAccess::default(),
        )
    }

    fn launch(
        flags: &[String],
        workdir: &Path,
        listen: SocketAddr,
        route_prefix: String,
        job: &str,
        scrape_configs_document: &str,
        access: WebAccess,
    ) -> Prometheus {
        let run_dir = workdir.join(format!("prometheus-{}", listen.port()));
        fs::create_dir_all(&run_dir).expect("create prometheus run dir");
        let config = run_dir.join("prometheus.yml");
        // scrape_timeout must not exceed the interval; 1 s keeps "target up" quick to see.
        let yaml = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n{scrape_configs_document}"
        );
        fs::write(&config, yaml).expect("write prometheus.yml");
        let log = run_dir.join("prometheus.log");
        let log_file = fs::File::create(&log).expect("create prometheus log");
        let child = Command::new(program("prometheus"))
            .args(flags)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                run_dir.join("data").display()
            ))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone log handle"))
            .stderr(log_file)
            .spawn()
            .expect("start prometheus");
        let mut prometheus = Prometheus {
            child,
            listen,
            route_prefix,
            job: job.to_string(),
            access,
            run_dir,
        };
        prometheus.wait_until_ready();
        prometheus
    }

    /// Waits until `-/ready` answers 200 to a client with `access` (with web.yml, it answers
    /// 401 to any other).
    fn wait_until_ready(&mut self) {
        let ready_url = format!("{}-/ready", self.url());
        let ready_path = format!("{}-/ready", self.route_prefix);
        let listen = self.listen;
        let authorization = self
            .access
            .basic_auth
            .as_ref()
            .map(|(user, password)| basic_authorization(user, password));
        let curl_args = self.curl_args();
        let tls = self.access.tls.is_some();
        let mut exited = None;
        let mut last_status = None;
        let ready = wait_until(START_TIMEOUT, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                exited = Some(status);
                return true;
            }
            last_status = if tls {
                // TLS needs curl; spawning it is slow enough to poll less often.
                thread::sleep(Duration::from_millis(150));
                let mut args = curl_args.clone();
                args.push(ready_url.clone());
                Some(curl(&args).status).filter(|status| *status != 0)
            } else {
                http_status(listen, &ready_path, authorization.as_deref())
            };
            last_status == Some(200)
        });
        if let Some(status) = exited {
            panic!(
                "prometheus exited during startup ({status}):\n{}",
                self.diagnostics()
            );
        }
        if !ready {
            panic!(
                "prometheus was not ready at {ready_url} within {START_TIMEOUT:?} \
                 (last status: {last_status:?}; {}):\n{}",
                if self.access.basic_auth.is_some() {
                    "polled with the bundle's credentials"
                } else {
                    "polled without credentials"
                },
                self.diagnostics()
            );
        }
    }

    /// Base URL of the server itself (not through the proxy), ending in '/'. With TLS, the
    /// host is the certificate's name, which `curl_args` resolves to the listen address.
    pub fn url(&self) -> String {
        match &self.access.tls {
            None => format!("http://{}{}", self.listen, self.route_prefix),
            Some(tls) => format!(
                "https://{}:{}{}",
                host_in_url(&tls.server_name),
                self.listen.port(),
                self.route_prefix
            ),
        }
    }

    /// curl arguments that get a request to `url()` past its web.yml: the credentials, and
    /// with TLS the certificate to verify against and the name resolved to the listen address.
    pub fn curl_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(tls) = &self.access.tls {
            args.extend(["--cacert".to_string(), tls.ca_file.display().to_string()]);
            if tls.server_name.parse::<IpAddr>().is_err() {
                let ip = match self.listen.ip() {
                    IpAddr::V6(ip) => format!("[{ip}]"),
                    IpAddr::V4(ip) => ip.to_string(),
                };
                args.extend([
                    "--resolve".to_string(),
                    format!("{}:{}:{ip}", tls.server_name, self.listen.port()),
                ]);
            }
        }
        if let Some((user, password)) = &self.access.basic_auth {
            args.extend(["-u".to_string(), format!("{user}:{password}")]);
        }
        args
    }

    /// A GET of `path` (relative to the route prefix, e.g. "api/v1/targets") on the server
    /// itself, with `access`.
    pub fn get(&self, path: &str) -> CurlResult {
        let mut args = self.curl_args();
        args.push(format!("{}{path}", self.url()));
        curl(&args)
    }

    /// Polls the targets API until this server's job reports health "up". On timeout
    /// returns the target's last health and lastError, which say why the scrape fails.
    pub fn wait_target_up(&self) -> Result<(), String> {
        let mut last_seen = String::from("the target never appeared in /api/v1/targets");
        let up = wait_until(TARGET_UP_TIMEOUT, || {
            thread::sleep(Duration::from_millis(200));
            let response = self.get("api/v1/targets?state=active");
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&response.body) else {
                last_seen = format!(
                    "targets API answered {}: {}",
                    response.status, response.body
                );
                return false;
            };
            let targets = json["data"]["activeTargets"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let Some(target) = targets
                .iter()
                .find(|t| t["labels"]["job"] == self.job.as_str())
            else {
                return false;
            };
            last_seen = format!(
                "target {} health {}, lastError {}",
                target["scrapeUrl"], target["health"], target["lastError"]
            );
            target["health"] == "up"
        });
        if up { Ok(()) } else { Err(last_seen) }
    }

    pub fn diagnostics(&self) -> String {
        format!(
            "--- prometheus log ({})\n{}",
            self.run_dir.display(),
            tail(&read_lossy(&self.run_dir.join("prometheus.log")), 2000)
        )
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.diagnostics());
        }
        // Its TSDB is scratch, so there is nothing to shut down cleanly for.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `--name=value` among `flags`.
pub fn flag_value<'a>(flags: &'a [String], name: &str) -> Option<&'a str> {
    flags
        .iter()
        .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
}

/// Where Prometheus serves its routes: `--web.route-prefix`, which defaults to the path of
/// `--web.external-url`; normalised to end in '/'.
pub fn route_prefix(flags: &[String]) -> String {
    let prefix = flag_value(flags, "--web.route-prefix")
        .map(str::to_string)
        .or_else(|| {
            let url = flag_value(flags, "--web.external-url")?;
            let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
            Some(
                after_scheme
                    .find('/')
                    .map_or("/", |i| &after_scheme[i..])
                    .to_string(),
            )
        })
        .unwrap_or_else(|| "/".to_string());
    let prefix = format!("/{}", prefix.trim_matches('/'));
    if prefix == "/" {
        prefix
    } else {
        format!("{prefix}/")
    }
}

/// A YAML double-quoted scalar (paths and passwords may hold ':' or '#').
fn yaml_string(value: &str) -> String {
    serde_json::to_string(value).expect("JSON strings are YAML strings")
}

// ---------------------------------------------------------------------------------------------
// A stand-in upstream that records what nginx forwards

/// A TCP server on a given port that answers every request "200 ok" and keeps each request's
/// head (request line and headers), so a test can see exactly what nginx sends upstream.
pub struct RecordingUpstream {
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl RecordingUpstream {
    pub fn start(port: u16) -> RecordingUpstream {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind recording upstream");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, stop) = (requests.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut stream) = stream else { continue };
                    if let Some(head) = read_request_head(&mut stream) {
                        requests
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(head);
                        let _ = stream.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
                              Content-Length: 3\r\nConnection: close\r\n\r\nok\n",
                        );
                    }
                    let _ = stream.shutdown(Shutdown::Both);
                }
            })
        };
        RecordingUpstream {
            requests,
            stop,
            addr,
            thread: Some(thread),
        }
    }

    /// The heads of all requests received so far, oldest first.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn read_request_head(stream: &mut TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

impl Drop for RecordingUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the stop flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bundles and stacks

/// The domain the TLS tests use; curl reaches it through `--resolve`, never DNS.
pub const DOMAIN: &str = "example.com";
pub const USERNAME: &str = "admin";
/// Has characters that need care in YAML, shell and htpasswd handling.
pub const PASSWORD: &str = "s3cret: pass#word with spaces";

/// Who serves clients and who checks the password.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Shape {
    /// nginx in front, checking `.htpasswd` (`--auth nginx`, the default).
    #[default]
    NginxChecks,
    /// nginx in front for TLS and the prefix; Prometheus checks `web.yml` (`--auth prometheus`).
    PrometheusChecks,
    /// No nginx: Prometheus serves TLS and basic auth itself (`--no-nginx`).
    PrometheusAlone,
}

/// What to ask promsetup for; everything else (ports, folders, bind address) the harness
/// picks so tests never collide.
#[derive(Clone, Debug)]
pub struct Setup {
    pub domain: String,
    /// `None` leaves promsetup's default (/prometheus).
    pub prefix: Option<String>,
    pub tls: bool,
    /// Ask for the plain-HTTP port that redirects to HTTPS.
    pub http_redirect: bool,
    pub shape: Shape,
    /// Listen on every IPv4 and IPv6 address (promsetup's default) instead of `--bind 127.0.0.1`.
    pub every_address: bool,
    pub extra_args: Vec<String>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            domain: DOMAIN.to_string(),
            prefix: None,
            tls: true,
            http_redirect: false,
            shape: Shape::default(),
            every_address: false,
            extra_args: Vec::new(),
        }
    }
}

impl Setup {
    pub fn with_prefix(prefix: &str) -> Setup {
        Setup {
            prefix: Some(prefix.to_string()),
            ..Setup::default()
        }
    }
    pub fn with_domain(domain: &str) -> Setup {
        Setup {
            domain: domain.to_string(),
            ..Setup::default()
        }
    }
    pub fn without_tls() -> Setup {
        Setup {
            tls: false,
            ..Setup::default()
        }
    }
    /// nginx in front, Prometheus checking the password (`--auth prometheus`).
    pub fn prometheus_checks() -> Setup {
        Setup {
            shape: Shape::PrometheusChecks,
            ..Setup::default()
        }
    }
    /// Prometheus alone, with TLS and basic auth of its own (`--no-nginx`).
    pub fn prometheus_alone() -> Setup {
        Setup {
            shape: Shape::PrometheusAlone,
            ..Setup::default()
        }
    }
}

/// The files promsetup wrote for one Setup, in a temporary folder of their own.
pub struct Bundle {
    pub setup: Setup,
    /// Where promsetup wrote the files (also the --conf-dir and the --prometheus-dir, so nginx
    /// and Prometheus read them there).
    pub dir: PathBuf,
    /// Where clients connect: nginx's port, or Prometheus's without nginx.
    pub port: u16,
    pub http_port: Option<u16>,
    /// Where Prometheus listens: behind nginx its loopback upstream; without nginx, `port`.
    pub upstream_port: u16,
    pub username: String,
    pub password: String,
    /// The folder for processes' logs and data; removed last, when the Bundle drops.
    root: TempDir,
}

impl Bundle {
    /// Runs promsetup for `setup` (password on stdin) and panics with its output unless it
    /// succeeds.
    pub fn create(setup: Setup) -> Bundle {
        let root = traversable_tempdir();
        // Not created here: promsetup must create it usable by nginx's worker.
        let dir = root.path().join("bundle");
        let alone = setup.shape == Shape::PrometheusAlone;
        let port = free_port();
        let http_port = setup.http_redirect.then(free_port);
        let upstream_port = if alone { port } else { free_port() };
        let mut args: Vec<String> = [
            "--non-interactive",
            "--password-stdin",
            "--domain",
            &setup.domain,
            "--username",
            USERNAME,
        ]
        .map(str::to_string)
        .to_vec();
        if !setup.every_address {
            args.extend(["--bind".into(), "127.0.0.1".into()]);
        }
        args.extend([
            "--port".into(),
            port.to_string(),
            "--out".into(),
            dir.display().to_string(),
        ]);
        // Without nginx, promsetup refuses nginx's flags; a redirect asked for is passed on, so
        // promsetup says what it thinks of it.
        if !alone || http_port.is_some() {
            args.extend(["--http-port".into(), http_port.unwrap_or(0).to_string()]);
        }
        if !alone {
            args.extend([
                "--upstream".into(),
                format!("127.0.0.1:{upstream_port}"),
                "--conf-dir".into(),
                dir.display().to_string(),
                // The site's logs stay with the test, out of /var/log/nginx.
                "--log-dir".into(),
                root.path().display().to_string(),
            ]);
        }
        match setup.shape {
            Shape::NginxChecks => {}
            Shape::PrometheusChecks => args.extend(["--auth".into(), "prometheus".into()]),
            Shape::PrometheusAlone => args.push("--no-nginx".into()),
        }
        if setup.shape != Shape::NginxChecks {
            args.extend(["--prometheus-dir".into(), dir.display().to_string()]);
        }
        if let Some(prefix) = &setup.prefix {
            args.extend(["--prefix".into(), prefix.clone()]);
        }
        if !setup.tls {
            args.push("--no-tls".into());
        }
        args.extend(setup.extra_args.iter().cloned());

        let output = run_promsetup(&args, Some(&format!("{PASSWORD}\n")));
        assert!(
            output.status.success(),
            "promsetup {args:?} failed:\n{}",
            describe_output(&output)
        );
        Bundle {
            setup,
            dir,
            port,
            http_port,
            upstream_port,
            username: USERNAME.to_string(),
            password: PASSWORD.to_string(),
            root,
        }
    }

    pub fn workdir(&self) -> &Path {
        self.root.path()
    }
    pub fn nginx_conf(&self) -> PathBuf {
        self.dir.join("nginx.conf")
    }
    pub fn nginx_conf_text(&self) -> String {
        fs::read_to_string(self.nginx_conf()).expect("read nginx.conf")
    }
    pub fn htpasswd(&self) -> PathBuf {
        self.dir.join(".htpasswd")
    }
    /// An IPv6 address's files are named with '-' for ':' (promsetup's file stem).
    /// The certificate's file: named after the domain, an IPv6 address's colons as hyphens
    /// and a leading zero when it would start with one (`::1` -> `0--1.crt`).
    pub fn cert(&self) -> PathBuf {
        self.dir.join(format!("{}.crt", self.file_stem()))
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join(format!("{}.key", self.file_stem()))
    }
    fn file_stem(&self) -> String {
        let stem = self.setup.domain.replace(':', "-");
        if stem.starts_with('-') {
            format!("0{stem}")
        } else {
            stem
        }
    }
    pub fn web_config(&self) -> PathBuf {
        self.dir.join("web.yml")
    }
    pub fn web_config_text(&self) -> String {
        fs::read_to_string(self.web_config()).expect("read web.yml")
    }
    pub fn self_scrape_password(&self) -> PathBuf {
        self.dir.join("self-scrape.password")
    }
    pub fn scrape_snippet(&self) -> PathBuf {
        self.dir.join("prometheus-scrape.yml")
    }

    pub fn has_nginx(&self) -> bool {
        self.setup.shape != Shape::PrometheusAlone
    }
    /// Whether Prometheus checks passwords from a web.yml.
    pub fn prometheus_checks_passwords(&self) -> bool {
        self.setup.shape != Shape::NginxChecks
    }

    /// How a client reaches Prometheus itself (not through nginx) as the bundle's user: with
    /// its credentials when Prometheus checks them, over TLS when it serves TLS itself.
    pub fn web_access(&self) -> WebAccess {
        WebAccess {
            basic_auth: self
                .prometheus_checks_passwords()
                .then(|| (self.username.clone(), self.password.clone())),
            tls: (!self.has_nginx() && self.setup.tls).then(|| WebTls {
                ca_file: self.cert(),
                server_name: self.setup.domain.clone(),
            }),
        }
    }

    /// prometheus.flags, one flag per line (blank lines and # comments ignored).
    pub fn flags(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join("prometheus.flags"))
            .expect("read prometheus.flags")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }

    /// The URL prefix without a trailing slash: "/prometheus", "/monitoring/prom", or "" for
    /// the whole host.
    pub fn prefix(&self) -> String {
        let prefix = self.setup.prefix.as_deref().unwrap_or("/prometheus");
        prefix.trim_end_matches('/').to_string()
    }

    /// `rest` (starting with '/') under the prefix: path("/metrics") = "/prometheus/metrics".
    pub fn path(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix())
    }

    pub fn scheme(&self) -> &'static str {
        if self.setup.tls { "https" } else { "http" }
    }

    /// "https://example.com:PORT": what a user types, before the path.
    pub fn origin(&self) -> String {
        format!(
            "{}://{}:{}",
            self.scheme(),
            host_in_url(&self.setup.domain),
            self.port
        )
    }

    /// curl arguments that reach the bundle's server as a user would, verifying TLS against
    /// the bundle's own certificate, with the domain resolved to loopback.
    pub fn curl_reach_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.setup.tls {
            args.extend(["--cacert".to_string(), self.cert().display().to_string()]);
        }
        if self.setup.domain.parse::<IpAddr>().is_err() {
            args.extend([
                "--resolve".to_string(),
                format!("{}:{}:127.0.0.1", self.setup.domain, self.port),
            ]);
        }
        args
    }
}

fn host_in_url(domain: &str) -> String {
    match domain.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => format!("[{domain}]"),
        _ => domain.to_string(),
    }
}

/// Whose credentials a request carries.
pub enum Credentials<'a> {
    None,
    /// The bundle's own username and password.
    Valid,
    Password(&'a str),
}

/// A bundle served for real: Prometheus started with the bundle's flags and nginx with its
/// config. Fields drop in order: nginx, Prometheus, then the bundle and its folder.
pub struct Stack {
    pub nginx: Nginx,
    #[allow(dead_code)] // Held so Prometheus runs, and stops, with the stack.
    pub prometheus: Prometheus,
    pub bundle: Bundle,
}

impl Stack {
    /// Starts the stack, or returns None (the test is skipped) when nginx, Prometheus or curl
    /// is not installed outside CI. When Prometheus checks passwords, it runs with the
    /// bundle's own self-scrape job (see `Prometheus::start_for_bundle`).
    pub fn start(bundle: Bundle) -> Option<Stack> {
        assert!(
            bundle.has_nginx(),
            "a bundle without nginx is served by PrometheusAlone::start"
        );
        require("nginx")?;
        require("prometheus")?;
        require("curl")?;
        let prometheus = Prometheus::start_for_bundle(&bundle);
        let nginx = Nginx::start(&bundle.nginx_conf(), bundle.workdir());
        Some(Stack {
            nginx,
            prometheus,
            bundle,
        })
    }

    /// Requests `path` (a full path, e.g. bundle.path("/metrics")) as a user would, with
    /// extra curl arguments such as "-L" or a TLS version.
    pub fn request(&self, credentials: Credentials, path: &str, extra: &[&str]) -> CurlResult {
        request(&self.bundle, credentials, path, extra)
    }

    /// An authenticated GET of `path`.
    pub fn get(&self, path: &str) -> CurlResult {
        self.request(Credentials::Valid, path, &[])
    }

    /// Starts a Prometheus that scrapes PREFIX/metrics through the proxy with the bundle's
    /// credentials, trusting only the bundle's certificate.
    pub fn start_scraper(&self) -> Prometheus {
        start_scraper_of(&self.bundle)
    }
}

/// A bundle without nginx, served for real: Prometheus alone, with the bundle's flags (its own
/// TLS and basic auth from web.yml) and the bundle's self-scrape job.
pub struct PrometheusAlone {
    pub prometheus: Prometheus,
    pub bundle: Bundle,
}

impl PrometheusAlone {
    /// Starts Prometheus, or returns None (the test is skipped) when Prometheus or curl is not
    /// installed outside CI.
    pub fn start(bundle: Bundle) -> Option<PrometheusAlone> {
        assert!(
            !bundle.has_nginx(),
            "a bundle with nginx is served by Stack::start"
        );
        require("prometheus")?;
        require("curl")?;
        let prometheus = Prometheus::start_for_bundle(&bundle);
        Some(PrometheusAlone { prometheus, bundle })
    }

    /// Requests `path` (a full path, e.g. bundle.path("/metrics")) as a user would.
    pub fn request(&self, credentials: Credentials, path: &str, extra: &[&str]) -> CurlResult {
        request(&self.bundle, credentials, path, extra)
    }

    /// An authenticated GET of `path`.
    pub fn get(&self, path: &str) -> CurlResult {
        self.request(Credentials::Valid, path, &[])
    }

    /// Starts a second Prometheus that scrapes PREFIX/metrics from this one over its own TLS
    /// with the bundle's credentials, trusting only the bundle's certificate.
    pub fn start_scraper(&self) -> Prometheus {
        start_scraper_of(&self.bundle)
    }
}

/// Starts a Prometheus that scrapes PREFIX/metrics where clients reach `bundle` (nginx, or
/// Prometheus itself without nginx) with the bundle's credentials, trusting only the bundle's
/// certificate.
pub fn start_scraper_of(bundle: &Bundle) -> Prometheus {
    let target = format!("127.0.0.1:{}", bundle.port);
    let metrics_path = bundle.path("/metrics");
    let cert = bundle.cert();
    let scrape = ScrapeThroughProxy {
        target: &target,
        scheme: bundle.scheme(),
        metrics_path: &metrics_path,
        username: &bundle.username,
        password: &bundle.password,
        ca_file: bundle.setup.tls.then_some(cert.as_path()),
        server_name: bundle.setup.tls.then_some(bundle.setup.domain.as_str()),
    };
    Prometheus::start_scraper(&scrape, bundle.workdir())
}

/// Requests `path` from the bundle's server (which the caller has started).
pub fn request(
    bundle: &Bundle,
    credentials: Credentials,
    path: &str,
    extra: &[&str],
) -> CurlResult {
    let mut args = bundle.curl_reach_args();
    match credentials {
        Credentials::None => {}
        Credentials::Valid => args.extend([
            "-u".into(),
            format!("{}:{}", bundle.username, bundle.password),
        ]),
        Credentials::Password(password) => {
            args.extend(["-u".into(), format!("{}:{password}", bundle.username)])
        }
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(format!("{}{path}", bundle.origin()));
    curl(&args)
}

// ---------------------------------------------------------------------------------------------
// A private mount namespace

/// A private mount namespace held by a shell (`unshare -m`): its script mounts over the
/// machine's folders and starts services, prints `ready`, waits for its standard input to end,
/// then stops them. Commands run inside it with `nsenter`; its files are read from outside
/// through /proc/PID/root. The machine's own files are never touched.
pub struct Namespace {
    shell: Child,
    stdin: Option<std::process::ChildStdin>,
    /// Pid files (inside) of the services to kill if the shell does not stop them in time.
    pid_files: &'static [&'static str],
}

impl Namespace {
    /// Runs `script` (`sh -c`, with `$1` = `arg`) in a new namespace; returns once it has
    /// printed `ready`.
    pub fn start(script: &str, arg: &Path, pid_files: &'static [&'static str]) -> Namespace {
        use std::io::BufRead;
        let mut shell = Command::new(require("unshare").expect("unshare"))
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
            ])
            .arg(arg)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("unshare");
        let stdin = shell.stdin.take();
        let mut line = String::new();
        std::io::BufReader::new(shell.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let namespace = Namespace {
            shell,
            stdin,
            pid_files,
        };
        assert_eq!(
            line.trim(),
            "ready",
            "the namespace's script did not finish"
        );
        namespace
    }

    /// A path inside the namespace, as this process can read it.
    pub fn inside(&self, path: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root{path}", self.shell.id()))
    }

    /// `promsetup args` inside the namespace, with `stdin`.
    pub fn promsetup(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.run(env!("CARGO_BIN_EXE_promsetup"), args, stdin)
    }

    /// `program args` inside the namespace, with `stdin`.
    pub fn run(&self, program: &str, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(require("nsenter").expect("nsenter"))
            .arg(format!("--mount=/proc/{}/ns/mnt", self.shell.id()))
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // The services it started, known now: once the shell is gone its /proc root is too.
        let namespace = fs::read_link(format!("/proc/{}/ns/mnt", self.shell.id())).ok();
        let pids: Vec<String> = self
            .pid_files
            .iter()
            .filter_map(|file| fs::read_to_string(self.inside(file)).ok())
            .map(|pid| pid.trim().to_string())
            .collect();
        // The script stops its services when its standard input ends.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !matches!(self.shell.try_wait(), Ok(Some(_))) {
            thread::sleep(POLL_INTERVAL);
        }
        let _ = self.shell.kill();
        let _ = self.shell.wait();
        // A service the script could not stop (nginx -s quit refuses a broken configuration)
        // is killed: only a process still in this namespace, never a reused pid.
        let in_namespace = |pid: &str| {
            let same = fs::read_link(format!("/proc/{pid}/ns/mnt")).ok();
            same.is_some() && same == namespace
        };
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline && pids.iter().any(|pid| in_namespace(pid)) {
            thread::sleep(POLL_INTERVAL);
        }
        for pid in pids.iter().filter(|pid| in_namespace(pid)) {
            // Its process group too: a daemon's workers share its group.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}"), pid])
                .status();
        }
    }
}
