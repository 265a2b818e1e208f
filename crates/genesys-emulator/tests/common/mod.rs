//! Helpers shared by the HTTP tests: an emulator on a virtual clock and a client.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use clock::VirtualClock;
use genesys_emulator::{
    Dataset, DeleteEffect, DeletionProtection, Emulator, EmulatorBuilder, ExportFormat,
    RunningEmulator,
};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub struct Harness {
    pub emu: RunningEmulator,
    pub clock: Arc<VirtualClock>,
    pub http: reqwest::Client,
    pub ds: Dataset,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

pub async fn start() -> Harness {
    start_with(|b| b).await
}

pub async fn start_with(f: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder) -> Harness {
    let ds = Dataset::bundled();
    let clock = Arc::new(VirtualClock::starting_at(ds.as_of));
    // The first guesses, explicitly: a `GENESYS_EMULATOR_*` variable set for a suite
    // run must not change what these tests check; tests of the live behaviour say so.
    let builder = Emulator::builder()
        .dataset(ds.clone())
        .clock(clock.clone())
        .seed(7)
        .export_format(ExportFormat::LegacyJson)
        .delete_effect(DeleteEffect::Remove)
        .deletion_protection(DeletionProtection::Honoured);
    let emu = f(builder).start().await.expect("emulator starts");
    Harness {
        emu,
        clock,
        http: http(),
        ds,
    }
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emu.base_url())
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub async fn token(&self) -> String {
        let c = self.emu.oauth_client();
        let r = self
            .http
            .post(self.url("/oauth/token"))
            .basic_auth(&c.client_id, Some(&c.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token request");
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.expect("token json");
        v["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let r = req.send().await.expect("request is answered");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, token: &str, path: &str) -> Reply {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    pub async fn put(&self, token: &str, path: &str, body: Value) -> Reply {
        self.send(self.http.put(self.url(path)).bearer_auth(token).json(&body))
            .await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Reply {
        self.send(
            self.http
                .patch(self.url(path))
                .bearer_auth(token)
                .json(&body),
        )
        .await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Reply {
        self.send(self.http.delete(self.url(path)).bearer_auth(token))
            .await
    }

    /// Submits a GDPR request (deleteConfirmed=true for deletes).
    pub async fn submit(&self, token: &str, request_type: &str, subject: Value) -> Reply {
        let path = if request_type == "GDPR_DELETE" {
            "/api/v2/gdpr/requests?deleteConfirmed=true"
        } else {
            "/api/v2/gdpr/requests"
        };
        self.post(
            token,
            path,
            json!({"requestType": request_type, "subject": subject}),
        )
        .await
    }

    /// Polls a GDPR request every `step` seconds of virtual time until it ends;
    /// returns the statuses seen (each once, in order) and the seconds it took.
    pub async fn run_to_end(&self, token: &str, id: &str, step: u64) -> (Vec<String>, u64) {
        let mut seen: Vec<String> = Vec::new();
        let mut waited = 0;
        for _ in 0..100_000 {
            let r = self
                .get(token, &format!("/api/v2/gdpr/requests/{id}"))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            let s = r.body["status"].as_str().expect("status").to_string();
            if seen.last() != Some(&s) {
                seen.push(s.clone());
            }
            if s == "COMPLETED" || s == "ERROR" {
                return (seen, waited);
            }
            self.advance(step);
            waited += step;
        }
        panic!("GDPR request {id} never ended");
    }

    pub fn persona(&self, key: &str) -> genesys_emulator::Persona {
        self.ds.persona(key).cloned().expect("persona exists")
    }
}
