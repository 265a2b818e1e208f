//! A TCP proxy in front of a real server (moto) that fails on demand, so the real S3
//! backend meets real network failures: connections refused while the store is
//! "down", and a write whose answer is lost after the store applied it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Switches {
    /// Connections to close at once, unanswered (the store unreachable).
    refuse: AtomicU32,
    /// The next `PUT` is forwarded, its answer swallowed and the connection closed.
    lose_put_answer: AtomicBool,
    refused: AtomicU32,
    answers_lost: AtomicU32,
}

/// A proxy on 127.0.0.1 forwarding to `upstream`, stopped when dropped.
pub struct FaultyProxy {
    endpoint: String,
    switches: Arc<Switches>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultyProxy {
    /// Starts a proxy to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let switches = Arc::new(Switches::default());
        let s = switches.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let s = s.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move { serve(client, &upstream, s).await });
            }
        });
        FaultyProxy {
            endpoint,
            switches,
            task,
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The next `n` connections are closed without an answer.
    pub fn refuse_next(&self, n: u32) {
        self.switches.refuse.store(n, Ordering::SeqCst);
    }

    /// The next PUT reaches the store; its answer never reaches the client.
    pub fn lose_next_put_answer(&self) {
        self.switches.lose_put_answer.store(true, Ordering::SeqCst);
    }

    /// Connections refused so far.
    pub fn refused(&self) -> u32 {
        self.switches.refused.load(Ordering::SeqCst)
    }

    /// Answers swallowed so far.
    pub fn answers_lost(&self) -> u32 {
        self.switches.answers_lost.load(Ordering::SeqCst)
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut client: TcpStream, upstream: &str, s: Arc<Switches>) {
    let refuse = s
        .refuse
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if refuse {
        s.refused.fetch_add(1, Ordering::SeqCst);
        return; // dropping the socket closes it unanswered
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let swallow = AtomicBool::new(false);
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            // A request starts a chunk on a fresh write: good enough to spot a PUT.
            if buf[..n].starts_with(b"PUT ")
                && s.lose_put_answer
                    .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                swallow.store(true, Ordering::SeqCst);
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
        // The connection ends when the answer side does.
        std::future::pending::<()>().await;
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if swallow.load(Ordering::SeqCst) {
                // The store answered; the client never hears it.
                s.answers_lost.fetch_add(1, Ordering::SeqCst);
                return;
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    // Either the store's side ends, or an answer was swallowed: both sockets close.
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}
