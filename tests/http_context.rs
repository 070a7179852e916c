//! The audit context of HTTP requests, end to end: the example service
//! (`examples/contracts_service.rs`) runs in-process on 127.0.0.1, real HTTP requests go to
//! it over TCP, and the entries its handlers write are read back through its history routes.
//! Every test runs on SQLite (a file, since the service uses a pool) and on PostgreSQL (a
//! schema of its own, with the usual skip and CI rules of `tests/common`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/contracts_service.rs"]
mod service;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use auditlog_diesel::axum::{is_acceptable_correlation_id, session_fingerprint};
use auditlog_diesel::{Action, LogEntry};
use axum::body::Bytes;
use axum::http::{HeaderMap, Request, StatusCode};
use diesel::prelude::*;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The most one test body may take; a hung request fails the test instead of the run.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Where one test's service keeps its data; removed when dropped.
enum Store {
    Sqlite(PathBuf),
    Postgres {
        // Drops the test's schema when the store is dropped.
        _schema: common::PgTestDb,
        url: String,
        schema: String,
    },
}

impl Store {
    fn sqlite() -> Store {
        let name = format!(
            "auditlog-http-{}-{}.db",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        Store::Sqlite(std::env::temp_dir().join(name))
    }

    fn postgres() -> Option<Store> {
        let mut db = common::postgres()?;
        let schema: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "current_schema()",
        ))
        .get_result(&mut *db)
        .unwrap();
        // The schema comes with the other tests' contracts table; the service brings its own.
        diesel::sql_query("DROP TABLE contracts CASCADE")
            .execute(&mut *db)
            .unwrap();
        let url = std::env::var("AUDITLOG_TEST_PG_URL").unwrap();
        Some(Store::Postgres {
            _schema: db,
            url,
            schema,
        })
    }

    fn open(&self) -> service::Db {
        match self {
            Store::Sqlite(path) => service::open_sqlite(path.to_str().unwrap()).unwrap(),
            Store::Postgres { url, schema, .. } => service::open_postgres(url, schema).unwrap(),
        }
    }

    /// Starts the example service over this store, trusting `trusted` proxies, runs `body`
    /// against it, then shuts the service down gracefully.
    fn run<F, Fut>(self, trusted: &[&str], body: F)
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = ()>,
    {
        let db = self.open();
        let config = service::context_config(trusted.iter().map(|net| net.parse().unwrap()));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let shutdown = async {
                let _ = stopped.await;
            };
            let server = tokio::spawn(service::serve(listener, service::app(db, config), shutdown));

            tokio::time::timeout(TEST_TIMEOUT, body(Client { addr }))
                .await
                .expect("test body timed out");

            let _ = stop.send(());
            tokio::time::timeout(TEST_TIMEOUT, server)
                .await
                .expect("service did not shut down")
                .unwrap()
                .unwrap();
        });
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Store::Sqlite(path) = self {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
        }
    }
}

/// Runs a test body against the service on SQLite and on PostgreSQL (when configured). The
/// body sees `$client`, a [`Client`] of a service trusting the listed proxy networks.
macro_rules! on_each_backend_http {
    ($(#[$meta:meta])* fn $name:ident($client:ident, trusting [$($net:expr),*]) $body:block) => {
        $(#[$meta])*
        mod $name {
            use super::*;

            #[test]
            fn sqlite() {
                Store::sqlite().run(&[$($net),*], |$client| async move $body);
            }

            #[test]
            fn postgres() {
                let Some(store) = Store::postgres() else { return };
                store.run(&[$($net),*], |$client| async move $body);
            }
        }
    };
}

/// An HTTP/1.1 client of the service: one TCP connection per request, so each request has a
/// peer port of its own.
#[derive(Debug, Clone, Copy)]
struct Client {
    addr: SocketAddr,
}

/// An open connection to the service, ready to send one request.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    local: SocketAddr,
}

/// A response, with the local address the request was sent from.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    local: SocketAddr,
}

impl Reply {
    fn request_id(&self) -> &str {
        self.headers
            .get("x-request-id")
            .expect("x-request-id response header")
            .to_str()
            .unwrap()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn contract_id(&self) -> i32 {
        assert_eq!(self.status, StatusCode::CREATED, "{:?}", self.body);
        self.json()["id"].as_i64().unwrap().try_into().unwrap()
    }
}

impl Client {
    async fn connect(&self) -> Connection {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let local = stream.local_addr().unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        Connection { sender, local }
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> Reply {
        self.connect().await.send(request).await
    }

    /// `POST /contracts` as `user` with extra `headers`.
    async fn create(&self, user: &str, title: &str, headers: &[(&str, &[u8])]) -> Reply {
        self.send(create_request(user, title, "draft", headers))
            .await
    }

    async fn get_entries(&self, path: &str) -> Vec<LogEntry> {
        let reply = self
            .send(request("GET", path).body(Full::default()).unwrap())
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        serde_json::from_slice(&reply.body).unwrap()
    }

    async fn history(&self, contract: i32) -> Vec<LogEntry> {
        self.get_entries(&format!("/contracts/{contract}/history"))
            .await
    }

    async fn entries_of_request(&self, correlation_id: &str) -> Vec<LogEntry> {
        self.get_entries(&format!("/requests/{correlation_id}/entries"))
            .await
    }

    /// The create entry of a contract.
    async fn creation(&self, contract: i32) -> LogEntry {
        let history = self.history(contract).await;
        let created: Vec<_> = history
            .into_iter()
            .filter(|e| e.action == Action::Create)
            .collect();
        assert_eq!(created.len(), 1);
        created.into_iter().next().unwrap()
    }

    /// Sends `raw` bytes as they are and returns the response's status line and headers.
    async fn send_raw(&self, raw: &[u8]) -> String {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(raw).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        String::from_utf8_lossy(&response).into_owned()
    }
}

impl Connection {
    async fn send(mut self, request: Request<Full<Bytes>>) -> Reply {
        let response = self.sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
            local: self.local,
        }
    }
}

fn request(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
}

fn create_request(
    user: &str,
    title: &str,
    status: &str,
    headers: &[(&str, &[u8])],
) -> Request<Full<Bytes>> {
    let mut builder = request("POST", "/contracts")
        .header("authorization", format!("Bearer {user}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let body = serde_json::json!({ "title": title, "price_cents": 10_000, "status": status });
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn localhost() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}

on_each_backend_http! {
    fn request_details_are_recorded_with_the_write(client, trusting []) {
        let reply = client
            .create(
                "alice",
                "Managed hosting",
                &[
                    ("user-agent", b"contracts-cli/2.1 (linux)"),
                    ("cookie", b"theme=dark; sid=tok-8c1f2e; lang=en"),
                    ("x-request-id", b"req-onboard-5521"),
                ],
            )
            .await;

        assert_eq!(reply.request_id(), "req-onboard-5521");
        let context = client.creation(reply.contract_id()).await.context;
        assert_eq!(context.actor_id.as_deref(), Some("u-1001"));
        assert_eq!(
            context.actor_display.as_deref(),
            Some("alice.martin@acme-contracts.example")
        );
        assert_eq!(context.remote_addr, Some(localhost()));
        assert_eq!(context.remote_port, Some(reply.local.port()));
        assert_eq!(context.user_agent.as_deref(), Some("contracts-cli/2.1 (linux)"));
        assert_eq!(context.session_id, Some(session_fingerprint("tok-8c1f2e")));
        assert_eq!(context.correlation_id.as_deref(), Some("req-onboard-5521"));
    }
}

on_each_backend_http! {
    fn correlation_header_is_the_fallback_and_absent_details_stay_empty(client, trusting []) {
        let reply = client
            .create("bob", "Support", &[("x-correlation-id", b"corr-77")])
            .await;

        assert_eq!(reply.request_id(), "corr-77");
        let context = client.creation(reply.contract_id()).await.context;
        assert_eq!(context.actor_id.as_deref(), Some("u-1002"));
        assert_eq!(context.correlation_id.as_deref(), Some("corr-77"));
        assert_eq!(context.session_id, None);
        assert_eq!(context.user_agent, None);
    }
}

on_each_backend_http! {
    fn forwarded_for_from_an_untrusted_peer_is_ignored(client, trusting []) {
        let reply = client
            .create("alice", "Hosting", &[("x-forwarded-for", b"203.0.113.9")])
            .await;

        let context = client.creation(reply.contract_id()).await.context;
        assert_eq!(context.remote_addr, Some(localhost()));
        assert_eq!(context.remote_port, Some(reply.local.port()));
    }
}

on_each_backend_http! {
    fn forwarded_for_from_a_trusted_proxy_names_the_client_without_a_port(
        client,
        trusting ["127.0.0.1/32", "10.0.0.0/8"]
    ) {
        // The client claimed 198.51.100.66; the proxies appended 203.0.113.9 and 10.4.0.7.
        let chain = client
            .create(
                "alice",
                "Hosting",
                &[("x-forwarded-for", b"198.51.100.66, 203.0.113.9, 10.4.0.7")],
            )
            .await;
        let context = client.creation(chain.contract_id()).await.context;
        assert_eq!(context.remote_addr, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(context.remote_port, None);

        // Without the header the trusted peer is itself the client, with its port.
        let direct = client.create("alice", "Hosting", &[]).await;
        let context = client.creation(direct.contract_id()).await.context;
        assert_eq!(context.remote_addr, Some(localhost()));
        assert_eq!(context.remote_port, Some(direct.local.port()));

        // A malformed entry stops the walk at the last trusted hop.
        let garbled = client
            .create("alice", "Hosting", &[("x-forwarded-for", b"203.0.113.9, bogus, 10.4.0.7")])
            .await;
        let context = client.creation(garbled.contract_id()).await.context;
        assert_eq!(context.remote_addr, Some("10.4.0.7".parse().unwrap()));
        assert_eq!(context.remote_port, None);
    }
}

on_each_backend_http! {
    fn request_id_is_generated_and_echoed_when_absent(client, trusting []) {
        let first = client.create("alice", "Hosting", &[]).await;
        let second = client.create("alice", "Hosting", &[]).await;

        let generated = first.request_id();
        assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");
        assert_ne!(generated, second.request_id());
        let context = client.creation(first.contract_id()).await.context;
        assert_eq!(context.correlation_id.as_deref(), Some(generated));
    }
}

on_each_backend_http! {
    fn hostile_request_ids_are_replaced_by_generated_ones(client, trusting []) {
        let too_long = "a".repeat(129);
        let hostile: [&[u8]; 4] = [
            // A C1 control (the one-character CSI) as UTF-8, followed by an SGR code.
            b"req-\xc2\x9b31mred",
            b"req-1 \"quoted\" <b>",
            b"\\x1b[31m-looks-like-an-escape",
            too_long.as_bytes(),
        ];
        for id in hostile {
            let reply = client.create("alice", "Hosting", &[("x-request-id", id)]).await;
            let echoed = reply.request_id().to_owned();
            assert!(uuid::Uuid::parse_str(&echoed).is_ok(), "{echoed}");
            let context = client.creation(reply.contract_id()).await.context;
            assert_eq!(context.correlation_id, Some(echoed));
        }

        // Raw control characters never get as far as the layer: HTTP parsing refuses an
        // escape character in a header, and a line feed ends the header value.
        let body = r#"{"title": "Raw", "price_cents": 1}"#;
        let escape = format!(
            "POST /contracts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice\r\n\
             X-Request-Id: \x1b[31mred\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let response = client.send_raw(escape.as_bytes()).await;
        assert!(response.starts_with("HTTP/1.1 400"), "{response}");

        let split = format!(
            "POST /contracts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer alice\r\n\
             X-Request-Id: req-split\nX-Injected: yes\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let response = client.send_raw(split.as_bytes()).await;
        if response.starts_with("HTTP/1.1 201") {
            assert!(response.to_ascii_lowercase().contains("x-request-id: req-split\r\n"));
            let entries = client.entries_of_request("req-split").await;
            assert_eq!(entries.len(), 1);
        } else {
            assert!(response.starts_with("HTTP/1.1 400"), "{response}");
        }

        // Whatever got in, every recorded id is one the layer accepts.
        for id in 1..=6 {
            for entry in client.history(id).await {
                let recorded = entry.context.correlation_id.unwrap();
                assert!(is_acceptable_correlation_id(&recorded), "{recorded:?}");
            }
        }
    }
}

on_each_backend_http! {
    fn entries_of_one_request_share_its_correlation_id(client, trusting []) {
        let mut active = Vec::new();
        for title in ["Hosting", "Support", "Backups"] {
            let reply = client
                .send(create_request("alice", title, "active", &[]))
                .await;
            active.push(reply.contract_id());
        }
        let draft = client.create("alice", "Draft", &[]).await.contract_id();

        let reprice = |id: Option<&'static [u8]>| {
            let mut builder = request("POST", "/contracts/reprice")
                .header("authorization", "Bearer bob")
                .header("content-type", "application/json");
            if let Some(id) = id {
                builder = builder.header("x-request-id", id);
            }
            let body = r#"{"status": "active", "percent": 4}"#;
            builder.body(Full::new(Bytes::from(body))).unwrap()
        };

        for given in [Some(&b"req-reprice-1"[..]), None] {
            let reply = client.send(reprice(given)).await;
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
            assert_eq!(reply.json()["updated"], 3);
            let id = reply.request_id().to_owned();
            if let Some(given) = given {
                assert_eq!(id.as_bytes(), given);
            }

            let entries = client.entries_of_request(&id).await;
            let mut keys: Vec<String> = entries.iter().map(|e| e.object.object_key.clone()).collect();
            keys.sort();
            let mut expected: Vec<String> = active.iter().map(i32::to_string).collect();
            expected.sort();
            assert_eq!(keys, expected);
            for entry in &entries {
                assert_eq!(entry.action, Action::Update);
                assert_eq!(entry.context.correlation_id.as_deref(), Some(id.as_str()));
                assert_eq!(entry.context.actor_id.as_deref(), Some("u-1002"));
            }
        }

        let untouched = client.history(draft).await;
        assert_eq!(untouched.len(), 1, "the draft was not repriced");
    }
}

on_each_backend_http! {
    fn concurrent_requests_keep_their_own_context(client, trusting []) {
        const REQUESTS: usize = 8;
        let barrier = Arc::new(tokio::sync::Barrier::new(REQUESTS));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..REQUESTS {
            let barrier = Arc::clone(&barrier);
            tasks.spawn(async move {
                let user = if i % 2 == 0 { "alice" } else { "bob" };
                let request_id = format!("req-concurrent-{i}");
                let agent = format!("agent-{i}");
                let cookie = format!("sid=tok-{i}");
                let request = create_request(
                    user,
                    &format!("Contract {i}"),
                    "draft",
                    &[
                        ("x-request-id", request_id.as_bytes()),
                        ("user-agent", agent.as_bytes()),
                        ("cookie", cookie.as_bytes()),
                    ],
                );
                // Every connection is open before any request is sent.
                let connection = client.connect().await;
                barrier.wait().await;
                (i, connection.send(request).await)
            });
        }

        let replies = tasks.join_all().await;
        assert_eq!(replies.len(), REQUESTS);
        for (i, reply) in replies {
            assert_eq!(reply.request_id(), format!("req-concurrent-{i}"));
            let context = client.creation(reply.contract_id()).await.context;
            let actor = if i % 2 == 0 { "u-1001" } else { "u-1002" };
            assert_eq!(context.actor_id.as_deref(), Some(actor));
            assert_eq!(context.correlation_id, Some(format!("req-concurrent-{i}")));
            assert_eq!(context.user_agent, Some(format!("agent-{i}")));
            assert_eq!(context.session_id, Some(session_fingerprint(&format!("tok-{i}"))));
            assert_eq!(context.remote_port, Some(reply.local.port()));
        }
    }
}

on_each_backend_http! {
    fn updates_and_deletes_carry_their_own_requests_context(client, trusting []) {
        let id = client
            .create("alice", "Hosting", &[("x-request-id", b"req-create")])
            .await
            .contract_id();

        let patch = request("PATCH", &format!("/contracts/{id}"))
            .header("authorization", "Bearer bob")
            .header("content-type", "application/json")
            .header("x-request-id", "req-activate")
            .body(Full::new(Bytes::from(r#"{"status": "active", "notes": "tok_4242"}"#)))
            .unwrap();
        let reply = client.send(patch).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);

        let delete = request("DELETE", &format!("/contracts/{id}"))
            .header("authorization", "Bearer alice")
            .header("x-request-id", "req-cancel")
            .body(Full::default())
            .unwrap();
        assert_eq!(client.send(delete).await.status, StatusCode::NO_CONTENT);

        let history = client.history(id).await;
        let seen: Vec<_> = history
            .iter()
            .map(|e| {
                (
                    e.action,
                    e.context.actor_id.as_deref().unwrap(),
                    e.context.correlation_id.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (Action::Delete, "u-1001", "req-cancel"),
                (Action::Update, "u-1002", "req-activate"),
                (Action::Create, "u-1001", "req-create"),
            ]
        );
    }
}

on_each_backend_http! {
    fn writes_without_a_known_user_are_refused_and_leave_no_entry(client, trusting []) {
        let reply = client
            .create("mallory", "Hosting", &[("x-request-id", b"req-anon")])
            .await;

        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.request_id(), "req-anon");
        assert!(client.entries_of_request("req-anon").await.is_empty());
    }
}
