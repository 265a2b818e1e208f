//! The harness itself: moto comes up, serves S3, and is gone once its handle is
//! dropped, also when the test holding it panics.

use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};

use testkit::MotoServer;

fn port_answers(endpoint: &str) -> bool {
    let addr = endpoint.trim_start_matches("http://");
    TcpStream::connect(addr).is_ok()
}

#[tokio::test]
async fn serves_s3_on_a_local_port() {
    let moto = MotoServer::start();
    assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
    let client = moto.s3_client();
    client
        .create_bucket()
        .bucket("harness-check")
        .send()
        .await
        .expect("create");
    let listed = client.list_buckets().send().await.expect("list");
    assert_eq!(listed.buckets().len(), 1);
}

#[test]
fn is_killed_when_dropped() {
    let moto = MotoServer::start();
    let endpoint = moto.endpoint().to_owned();
    assert!(port_answers(&endpoint));
    drop(moto);
    assert!(!port_answers(&endpoint), "moto still answers at {endpoint}");
}

#[test]
fn is_killed_when_the_test_panics() {
    let mut endpoint = String::new();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let moto = MotoServer::start();
        endpoint = moto.endpoint().to_owned();
        panic!("a failing test");
    }));
    assert!(result.is_err());
    assert!(!endpoint.is_empty());
    assert!(!port_answers(&endpoint), "moto still answers at {endpoint}");
}

#[test]
fn two_servers_run_side_by_side() {
    let a = MotoServer::start();
    let b = MotoServer::start();
    assert_ne!(a.endpoint(), b.endpoint());
    assert_ne!(a.pid(), b.pid());
}
