//! The test function of `local_runner::LambdaProcess`, built with lambda_runtime as
//! the workspace's functions are: each event asks for one behaviour.
//!
//! `{"fail": {"type", "message"}}` returns that error; `{"exit": n}` exits with n;
//! `{"abort": true}` aborts; `{"panic": "text"}` panics in the handler;
//! `{"sleepMs": n}` sleeps; `{"allocateMiB": n}` touches n MiB before answering.
//! Every answer carries the process id, the invocation count and the Lambda context
//! and environment the function saw.

use std::sync::atomic::{AtomicU64, Ordering};

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

static INVOCATIONS: AtomicU64 = AtomicU64::new(0);

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let n = INVOCATIONS.fetch_add(1, Ordering::Relaxed) + 1;
    let (payload, context) = (event.payload, event.context);
    if let Some(fail) = payload.get("fail") {
        return Err(Diagnostic {
            error_type: fail["type"].as_str().unwrap_or("Failed").into(),
            error_message: fail["message"].as_str().unwrap_or_default().into(),
        });
    }
    if let Some(code) = payload.get("exit").and_then(Value::as_i64) {
        std::process::exit(code as i32);
    }
    if payload.get("abort").is_some() {
        std::process::abort();
    }
    if let Some(text) = payload.get("panic") {
        panic!("asked to panic: {text}");
    }
    if let Some(ms) = payload.get("sleepMs").and_then(Value::as_u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if let Some(mib) = payload.get("allocateMiB").and_then(Value::as_u64) {
        // Written, so every page is resident and counts in the peak RSS.
        let block = vec![1u8; (mib as usize) << 20];
        std::hint::black_box(&block);
    }
    let env: serde_json::Map<String, Value> = std::env::vars()
        .filter(|(k, _)| k.starts_with("AWS_") || k.starts_with("LAMBDA_") || k == "_HANDLER")
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    Ok(json!({
        "echo": payload.get("echo"),
        "pid": std::process::id(),
        "invocation": n,
        "requestId": context.request_id,
        "deadlineMs": context.deadline,
        "functionArn": context.invoked_function_arn,
        "traceId": context.xray_trace_id,
        "functionName": context.env_config.function_name,
        "memoryMb": context.env_config.memory,
        "env": env,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
