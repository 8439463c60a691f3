//! Behind an ingress every connection comes from the proxy: with `server.trusted_proxies` the
//! client's address is read from `X-Forwarded-For`, so failed-login throttling is per real client
//! (one attacker does not lock a user out for everyone) and the request log names the client;
//! without the setting the header is the caller's word and changes nothing.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN_PASSWORD: &str = "proxy-test-admin-password";

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(trusted_proxies: Option<&str>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlp"));
        cmd.args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
            .env("MLP__DATA_DIR", dir.path())
            .env("MLP__METRICS__PORT", "0")
            .env("MLP__LOG__FORMAT", "json")
            .env("MLP__AUTH__ENABLED", "true")
            .env("MLP__AUTH__ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("MLP__WORKER__EMBEDDED", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(t) = trusted_proxies {
            cmd.env("MLP__SERVER__TRUSTED_PROXIES", t);
        }
        let child = cmd.spawn().unwrap();
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// Stops the server and returns what it logged.
    fn stop(mut self) -> String {
        unsafe { kill(self.child.id() as i32, 15) };
        let _ = self.child.wait();
        let mut logs = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
        logs
    }
}

unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

async fn login(http: &reqwest::Client, base: &str, password: &str, forwarded_for: &str) -> reqwest::Response {
    http.get(format!("{base}/api/2.0/mlflow/experiments/search?max_results=1"))
        .basic_auth("admin", Some(password))
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .unwrap()
}

/// Fails logins as `admin` from `attacker` until the server throttles that pair.
async fn lock_out(http: &reqwest::Client, base: &str, attacker: &str) {
    for _ in 0..10 {
        assert_eq!(login(http, base, "wrong-password", attacker).await.status(), 401);
    }
    let throttled = login(http, base, ADMIN_PASSWORD, attacker).await;
    assert_eq!(
        throttled.status(),
        401,
        "even the right password is refused while throttled"
    );
    assert!(
        throttled.headers().contains_key("retry-after"),
        "throttling says when to retry"
    );
}

#[tokio::test]
async fn throttling_is_per_forwarded_client_behind_a_trusted_proxy() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let server = Server::start(Some("127.0.0.0/8, ::1"));
    lock_out(&http, &server.base, "198.51.100.1").await;
    // Another client behind the same ingress still logs in as that user.
    let other = login(&http, &server.base, ADMIN_PASSWORD, "198.51.100.2").await;
    assert_eq!(other.status(), 200, "one attacker locked the user out for everyone");
    // The attacker cannot dodge by forging the left part: the proxy appends what it saw last.
    let forged = login(&http, &server.base, ADMIN_PASSWORD, "198.51.100.2, 198.51.100.1").await;
    assert_eq!(forged.status(), 401);
    let logs = server.stop();
    assert!(
        logs.lines()
            .any(|l| l.contains("\"client\":\"198.51.100.2\"") && l.contains("\"request\"")),
        "the request log names the forwarded client:\n{logs}"
    );
}

#[tokio::test]
async fn the_header_is_ignored_without_trusted_proxies() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let server = Server::start(None);
    lock_out(&http, &server.base, "198.51.100.1").await;
    // Same TCP peer, so the same client, whatever the header says.
    let dodged = login(&http, &server.base, ADMIN_PASSWORD, "198.51.100.2").await;
    assert_eq!(
        dodged.status(),
        401,
        "a caller's own X-Forwarded-For escaped throttling"
    );
    server.stop();
}

#[test]
fn a_bad_setting_stops_start_up_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mlp"))
        .args(["server", "--host", "127.0.0.1", "--port", "0"])
        .env("MLP__DATA_DIR", dir.path())
        .env("MLP__METRICS__PORT", "0")
        .env("MLP__SERVER__TRUSTED_PROXIES", "10.0.0.0/8,ingress-nginx")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("MLP__SERVER__TRUSTED_PROXIES") && err.contains("ingress-nginx"),
        "{err}"
    );
}
