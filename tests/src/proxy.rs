//! A TCP proxy in front of a real server (moto) that fails on demand, so the real S3
//! backend meets real network failures: connections refused while the store is
//! "down", and a write whose answer is lost after the store applied it. It can also
//! make moto behave as a store that ignores `If-None-Match` (Ceph's radosgw in
//! versioned buckets), and let another writer's PUT land just before the next one.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

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
    /// Requests reach the store without their `If-None-Match` header.
    drop_if_none_match: AtomicBool,
    if_none_match_dropped: AtomicU32,
    /// Run once, before the next PUT is forwarded.
    before_put: Mutex<Option<Hook>>,
}

type Hook = Pin<Box<dyn Future<Output = ()> + Send>>;

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

    /// From now on the store never sees `If-None-Match` (as radosgw ignores it in
    /// versioned buckets): a PUT to a key that holds an object adds a version.
    pub fn ignore_if_none_match(&self) {
        self.switches
            .drop_if_none_match
            .store(true, Ordering::SeqCst);
    }

    /// `If-None-Match` headers taken out so far.
    pub fn if_none_match_dropped(&self) -> u32 {
        self.switches.if_none_match_dropped.load(Ordering::SeqCst)
    }

    /// `hook` runs to completion just before the next PUT is forwarded: another
    /// writer's request landing between this writer's look and its write.
    pub fn before_next_put(&self, hook: impl Future<Output = ()> + Send + 'static) {
        *self.switches.before_put.lock().expect("switches") = Some(Box::pin(hook));
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
            let put = buf[..n].starts_with(b"PUT ");
            if put
                && s.lose_put_answer
                    .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                swallow.store(true, Ordering::SeqCst);
            }
            if put {
                let hook = s.before_put.lock().expect("switches").take();
                if let Some(hook) = hook {
                    hook.await;
                }
            }
            let mut chunk = buf[..n].to_vec();
            if s.drop_if_none_match.load(Ordering::SeqCst) && without_if_none_match(&mut chunk) {
                s.if_none_match_dropped.fetch_add(1, Ordering::SeqCst);
            }
            if sw.write_all(&chunk).await.is_err() {
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

/// Takes an `If-None-Match` header line out of a request's head; true if there was one.
/// The client's signature covered it; moto (auth off) does not check signatures.
fn without_if_none_match(chunk: &mut Vec<u8>) -> bool {
    let head_end = chunk
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(chunk.len());
    let mut start = 0;
    while let Some(i) = chunk[start..head_end].windows(2).position(|w| w == b"\r\n") {
        let line_start = start + i + 2;
        let line_end = chunk[line_start..head_end]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(head_end, |e| line_start + e);
        if chunk[line_start..line_end]
            .to_ascii_lowercase()
            .starts_with(b"if-none-match:")
        {
            chunk.drain(line_start - 2..line_end);
            return true;
        }
        start = line_start;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_if_none_match_line_is_taken_out_of_the_head_only() {
        let mut req =
            b"PUT /b/k HTTP/1.1\r\nhost: x\r\nIf-None-Match: *\r\ncontent-length: 2\r\n\r\n{}"
                .to_vec();
        assert!(without_if_none_match(&mut req));
        assert_eq!(
            req,
            b"PUT /b/k HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}".to_vec()
        );
        let mut body_only = b"PUT /b/k HTTP/1.1\r\nhost: x\r\n\r\nif-none-match: *".to_vec();
        assert!(!without_if_none_match(&mut body_only));
    }
}
