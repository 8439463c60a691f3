//! An in-process S3 server for the tests: `s3s` + `s3s-fs` on 127.0.0.1 with SigV4
//! authentication.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use mlp_artifacts::S3Options;

pub const ACCESS_KEY: &str = "mlp-test-access-key";
pub const SECRET_KEY: &str = "mlp-test-secret-key-0123456789";

/// An S3 server on an ephemeral port; stops when dropped.
pub struct S3Server {
    pub addr: SocketAddr,
    /// `METHOD path?query` of every request received.
    pub requests: Arc<Mutex<Vec<String>>>,
    pub root: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl S3Server {
    pub async fn start() -> S3Server {
        use hyper_util::rt::TokioIo;
        use s3s::auth::SimpleAuth;
        use s3s::service::S3ServiceBuilder;

        let root = tempfile::tempdir().unwrap();
        let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = b.build();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            log.lock().unwrap().push(format!("{} {}", req.method(), req.uri()));
            let service = service.clone();
            async move { hyper::service::Service::call(&service, req).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            // Connections live in the set, so aborting the server closes them too.
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let service = service.clone();
                connections.spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        S3Server {
            addr,
            requests,
            root,
            task,
        }
    }

    /// Creates a bucket (s3s-fs keeps a bucket as a directory under its root).
    pub fn create_bucket(&self, name: &str) {
        std::fs::create_dir(self.root.path().join(name)).unwrap();
    }

    pub fn options(&self) -> S3Options {
        S3Options {
            endpoint: Some(format!("http://{}", self.addr)),
            region: Some("us-east-1".into()),
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.into()),
            ..Default::default()
        }
    }
}
