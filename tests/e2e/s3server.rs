//! A real S3-protocol server for the tests: s3s with its filesystem
//! backend, on 127.0.0.1, in a thread of the test process. It counts
//! requests, can fail some of them (503 SlowDown, as a throttled S3 does),
//! and makes conditional writes atomic (S3's own guarantee) by serializing
//! writes. Reads are held out while a write runs: s3s-fs replaces an
//! object's file and then its stored ETag, so a GET that opened the old file
//! could otherwise answer the new ETag with the old bytes, and a conditional
//! write based on them would succeed over the update it never saw (real S3
//! answers an object's bytes and ETag together).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

pub const ACCESS_KEY: &str = "rewind-test-key";
pub const SECRET_KEY: &str = "rewind-test-secret";

pub struct S3Server {
    pub addr: SocketAddr,
    pub root: PathBuf,
    /// Requests received.
    pub requests: Arc<AtomicU64>,
    /// Parts of multipart uploads received (`PUT ...?partNumber=`).
    pub parts: Arc<AtomicU64>,
    /// Fail every Nth request with 503 (0: never).
    pub fail_every: Arc<AtomicU64>,
}

impl S3Server {
    /// Starts a server whose root holds the given buckets.
    pub fn start(name: &str, buckets: &[&str]) -> S3Server {
        let root = std::env::temp_dir().join(format!("rewind-s3-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for b in buckets {
            std::fs::create_dir_all(root.join(b)).unwrap();
        }
        let requests = Arc::new(AtomicU64::new(0));
        let parts = Arc::new(AtomicU64::new(0));
        let fail_every = Arc::new(AtomicU64::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let (r2, p2, f2, root2) = (
            requests.clone(),
            parts.clone(),
            fail_every.clone(),
            root.clone(),
        );
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let fs = s3s_fs::FileSystem::new(&root2).unwrap();
                let mut b = S3ServiceBuilder::new(fs);
                b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
                let service = b.build();
                let writes = Arc::new(tokio::sync::RwLock::new(()));
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let Ok((socket, _)) = listener.accept().await else { continue };
                    let (service, requests, parts, fail_every, writes) = (service.clone(), r2.clone(), p2.clone(), f2.clone(), writes.clone());
                    tokio::spawn(async move {
                        let handler = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                            let (service, requests, parts, fail_every, writes) = (service.clone(), requests.clone(), parts.clone(), fail_every.clone(), writes.clone());
                            async move {
                                let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
                                if req.method() == http::Method::PUT
                                    && req.uri().query().is_some_and(|q| q.contains("partNumber="))
                                {
                                    parts.fetch_add(1, Ordering::SeqCst);
                                }
                                let every = fail_every.load(Ordering::SeqCst);
                                if every > 0 && n % every == 0 {
                                    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                                    let resp = http::Response::builder()
                                        .status(503)
                                        .header("content-type", "application/xml")
                                        .body(s3s::Body::from(body.to_string()))
                                        .unwrap();
                                    return Ok::<_, s3s::HttpError>(resp);
                                }
                                let req = req.map(s3s::Body::from);
                                // the file is opened and its ETag read inside the
                                // call; the body streams later from the opened file
                                if req.method() == http::Method::GET || req.method() == http::Method::HEAD {
                                    let _guard = writes.read().await;
                                    service.call(req).await
                                } else {
                                    let _guard = writes.write().await;
                                    service.call(req).await
                                }
                            }
                        });
                        let _ = ConnBuilder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(socket), handler)
                            .await;
                    });
                }
            });
        });
        let addr = rx.recv().unwrap();
        S3Server {
            addr,
            root,
            requests,
            parts,
            fail_every,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The environment a CI job would set.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
        ]
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
