//! The listener every HTTP port of `mlp` shares (API, metrics, the UI frontend): a bounded number
//! of connections, a deadline for a request's headers (which is also how long an idle keep-alive
//! connection stays open), and graceful shutdown. `axum::serve` has none of these knobs, and
//! without them a client that trickles a byte every few seconds holds a connection (and a file
//! descriptor) forever.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// Connection limits of one listener.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Connections served at once; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, counted from the connection's start or the
    /// end of the previous response: it bounds slow clients and idle keep-alive alike.
    pub header_read_timeout: Duration,
    /// Largest request head (request line and headers).
    pub max_header_bytes: usize,
    /// Peers whose `X-Forwarded-For` is believed (see [`client_addr`]): the ingress controller
    /// or load balancer in front. Empty: the header is ignored.
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 64 * 1024,
            trusted_proxies: Arc::from([]),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and waits (up to
/// 30 s) for the requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    let builder = Arc::new(builder);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let stop = stop_rx.clone();
        let trusted = limits.trusted_proxies.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                let client = client_addr(peer.ip(), req.headers(), &trusted);
                req.extensions_mut().insert(ClientAddr(client));
                let app = app.clone();
                async move {
                    Ok::<_, Infallible>(
                        app.oneshot(req.map(axum::body::Body::new))
                            .await
                            .into_response_infallible(),
                    )
                }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let stopping = async move {
                let mut stop = stop;
                let _ = stop.wait_for(|s| *s).await.is_ok();
            };
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopping => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
                }
            }
        });
    }
    let _ = stop_tx.send(true);
    // Wait for the connections to drain: every permit back, or the grace period over.
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(30), slots.acquire_many(all)).await;
    Ok(())
}

trait IntoResponseInfallible {
    fn into_response_infallible(self) -> axum::response::Response;
}

impl IntoResponseInfallible for Result<axum::response::Response, Infallible> {
    fn into_response_infallible(self) -> axum::response::Response {
        match self {
            Ok(r) => r,
            Err(e) => match e {},
        }
    }
}

/// Raises the soft limit of open files to the hard limit, so that `max_connections` (and the
/// store's files) fit in it; the default soft limit of 1,024 is lower than most hard limits.
pub fn raise_fd_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The address a listener is bound to, for the start-up log line.
pub fn bound(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map(|a: SocketAddr| a.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// The address a request comes from, as login throttling and the request log see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// The request's client address as text, for throttling keys and logs; empty when the
    /// request did not come through [`serve`] (as in tests that call the router directly).
    pub fn of<B>(req: &axum::http::Request<B>) -> String {
        req.extensions()
            .get::<ClientAddr>()
            .map(|c| c.0.to_string())
            .unwrap_or_default()
    }
}

/// Entries of `X-Forwarded-For` looked at, from the right: a bound on what a caller can make
/// every request cost; a real chain of proxies is a handful long.
const MAX_FORWARDED_HOPS: usize = 16;

/// The client's address: the TCP peer, unless the peer is a trusted proxy. Then each proxy has
/// appended the address it saw to `X-Forwarded-For`, so the list is read from the right, past
/// the trusted proxies, and the first address that is not one is the client. Entries further
/// left were written by the client itself and are never believed, nor is the header of an
/// untrusted peer. An entry that is not an address ends the walk at the last trusted hop.
pub fn client_addr(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(&ip));
    let peer = peer.to_canonical();
    if trusted.is_empty() || !is_trusted(peer) {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("").split(','))
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev().take(MAX_FORWARDED_HOPS) {
        let entry = entry.trim();
        let Some(ip) = entry
            .parse::<IpAddr>()
            .ok()
            .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        else {
            return client;
        };
        client = ip.to_canonical();
        if !is_trusted(client) {
            return client;
        }
    }
    client
}

/// `server.trusted_proxies`: addresses or CIDR blocks; a bare address is a block of one.
pub fn parse_trusted_proxies(items: &[String]) -> Result<Arc<[ipnet::IpNet]>, String> {
    items
        .iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{s:?} is not an IP address or a CIDR block (like 10.0.0.0/8)"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        let trusted = parse_trusted_proxies(&["10.0.0.0/8".into(), "192.0.2.7".into()]).unwrap();
        let h = xff(&["198.51.100.9"]);
        // No trusted proxies configured, or a peer outside them: the header is the client's word.
        assert_eq!(client_addr(ip("10.1.2.3"), &h, &[]), ip("10.1.2.3"));
        assert_eq!(client_addr(ip("203.0.113.1"), &h, &trusted), ip("203.0.113.1"));
        // The ingress (trusted) saw 198.51.100.9.
        assert_eq!(client_addr(ip("10.1.2.3"), &h, &trusted), ip("198.51.100.9"));
        assert_eq!(client_addr(ip("192.0.2.7"), &h, &trusted), ip("198.51.100.9"));
        // A trusted peer without the header is itself the client.
        assert_eq!(client_addr(ip("10.1.2.3"), &HeaderMap::new(), &trusted), ip("10.1.2.3"));
    }

    #[test]
    fn a_forged_left_part_is_never_believed() {
        let trusted = parse_trusted_proxies(&["10.0.0.0/8".into()]).unwrap();
        // The client sent "1.1.1.1" itself; the load balancer (10.0.0.2) and the ingress
        // (10.0.0.3) appended what they saw.
        let h = xff(&["1.1.1.1, 198.51.100.9, 10.0.0.2"]);
        assert_eq!(client_addr(ip("10.0.0.3"), &h, &trusted), ip("198.51.100.9"));
        // The same across several header lines, with a port on one entry.
        let h = xff(&["1.1.1.1", "198.51.100.9:4431", "10.0.0.2"]);
        assert_eq!(client_addr(ip("10.0.0.3"), &h, &trusted), ip("198.51.100.9"));
        // Garbage stops the walk at the last trusted hop, not at a forged value left of it.
        let h = xff(&["1.1.1.1, not-an-ip, 10.0.0.2"]);
        assert_eq!(client_addr(ip("10.0.0.3"), &h, &trusted), ip("10.0.0.2"));
        // Every entry trusted: the leftmost proxy.
        let h = xff(&["10.0.0.1, 10.0.0.2"]);
        assert_eq!(client_addr(ip("10.0.0.3"), &h, &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn ipv6_and_mapped_addresses() {
        let trusted = parse_trusted_proxies(&["fd00::/8".into(), "10.0.0.0/8".into()]).unwrap();
        let h = xff(&["2001:db8::5, [2001:db8::9]:443"]);
        assert_eq!(client_addr(ip("fd00::1"), &h, &trusted), ip("2001:db8::9"));
        // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d.
        let h = xff(&["198.51.100.9"]);
        assert_eq!(client_addr(ip("::ffff:10.0.0.3"), &h, &trusted), ip("198.51.100.9"));
    }

    #[test]
    fn the_walk_is_bounded() {
        let trusted = parse_trusted_proxies(&["10.0.0.0/8".into()]).unwrap();
        let long = vec!["10.0.0.9"; 10_000].join(",");
        let h = xff(&[&format!("198.51.100.9,{long}")]);
        // Past the bound the client is not looked for: the last trusted hop seen stands.
        assert_eq!(client_addr(ip("10.0.0.3"), &h, &trusted), ip("10.0.0.9"));
    }

    #[test]
    fn bad_settings_are_named() {
        let e = parse_trusted_proxies(&["10.0.0.0/8".into(), "ingress".into()]).unwrap_err();
        assert!(e.contains("\"ingress\""), "{e}");
        assert!(parse_trusted_proxies(&["10.0.0.0/33".into()]).is_err());
        assert_eq!(parse_trusted_proxies(&[" 192.0.2.1 ".into()]).unwrap().len(), 1);
    }
}
