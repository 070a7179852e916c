//! The contract platform as an HTTP service: every write is audited with the context of the
//! request that made it (actor, client address and port, user agent, session, request id).
//!
//! ```text
//! cargo run --example contracts_service                           # SQLite file in the temp directory, port 3000
//! cargo run --example contracts_service -- --port 0               # any free port
//! cargo run --example contracts_service -- --database-url postgres://user:pw@localhost/db
//! cargo run --example contracts_service -- --trust-proxy 127.0.0.1/32   # believe X-Forwarded-For from it
//! ```
//!
//! It prints the address it listens on. Then, for instance:
//!
//! ```text
//! curl -si localhost:3000/contracts -H 'Authorization: Bearer alice' -H 'X-Request-Id: req-1' \
//!      -H 'Content-Type: application/json' -d '{"title": "Managed hosting", "price_cents": 120000}'
//! curl -si -X PATCH localhost:3000/contracts/1 -H 'Authorization: Bearer bob' \
//!      -H 'Content-Type: application/json' -d '{"status": "active", "notes": "card tok_4242"}'
//! curl -s -X POST localhost:3000/contracts/reprice -H 'Authorization: Bearer alice' \
//!      -H 'Content-Type: application/json' -d '{"status": "active", "percent": 4}'
//! curl -si -X DELETE localhost:3000/contracts/1 -H 'Authorization: Bearer bob'
//! curl -s localhost:3000/contracts/1/history
//! curl -s localhost:3000/requests/req-1/entries
//! ```
//!
//! Who is asking comes from `Authorization: Bearer alice` (or `bob`): a stand-in for the
//! application's real authentication, which the actor function would read instead (typically
//! a user its auth layer left in the request's extensions). Writes without a known user are
//! refused. The session is read from the `sid` cookie and recorded as a fingerprint.
//!
//! Each handler takes a connection from an r2d2 pool on a blocking thread, wraps it in an
//! `AuditedConnection` with the request's context, and writes in one transaction. On
//! PostgreSQL the service works in a schema of its own, `auditlog_service_example`, recreated
//! on every start; on SQLite the file is recreated.

// `diesel::table!` generates undocumented public items.
#![allow(missing_docs)]

use std::error::Error;
use std::future::Future;
use std::net::SocketAddr;

use auditlog_diesel::axum::{
    Actor, IpNet, RequestAudit, RequestContextConfig, RequestContextLayer,
};
use auditlog_diesel::{
    run_migrations, AuditConnection, AuditContext, AuditError, Auditable, AuditedConnection,
    LogEntry,
};
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PoolError};
use serde::{Deserialize, Serialize};

/// Errors of the service's setup, sendable across threads.
pub type BoxError = Box<dyn Error + Send + Sync>;

diesel::table! {
    contracts (id) {
        id -> Integer,
        title -> Text,
        status -> Text,
        price_cents -> BigInt,
        notes -> Nullable<Text>,
    }
}

/// A contract; people paste card numbers into the notes, so they are masked in the log.
#[derive(Debug, Clone, Serialize, Deserialize, Queryable, Identifiable, Auditable)]
#[diesel(table_name = contracts)]
pub struct Contract {
    pub id: i32,
    pub title: String,
    pub status: String,
    pub price_cents: i64,
    #[audit(mask)]
    pub notes: Option<String>,
}

/// The body of `POST /contracts`.
#[derive(Debug, Deserialize, Insertable)]
#[diesel(table_name = contracts, treat_none_as_default_value = false)]
pub struct NewContract {
    pub title: String,
    #[serde(default = "draft")]
    pub status: String,
    pub price_cents: i64,
    #[serde(default)]
    pub notes: Option<String>,
}

fn draft() -> String {
    "draft".to_owned()
}

/// The body of `PATCH /contracts/{id}`: the fields to change.
#[derive(Debug, Default, Deserialize, AsChangeset)]
#[diesel(table_name = contracts)]
pub struct ContractChanges {
    pub status: Option<String>,
    pub price_cents: Option<i64>,
    pub notes: Option<String>,
}

/// The body of `POST /contracts/reprice`: change every price of contracts in `status` by
/// `percent`.
#[derive(Debug, Deserialize)]
pub struct Reprice {
    pub status: String,
    pub percent: i64,
}

const SQLITE_TABLES: &str = "CREATE TABLE contracts (id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL, price_cents BIGINT NOT NULL, notes TEXT)";
const POSTGRES_TABLES: &str = "CREATE TABLE contracts (id SERIAL PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL, price_cents BIGINT NOT NULL, notes TEXT)";

/// The service's connection pool, on one of the two backends.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Postgres(Pool<ConnectionManager<PgConnection>>),
}

/// Prepares every SQLite connection the pool opens: writers wait for each other instead of
/// failing, and readers do not block them.
#[derive(Debug)]
struct SqliteSettings;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqliteSettings {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Confines every PostgreSQL connection the pool opens to one schema.
#[derive(Debug)]
pub struct SearchPath(pub String);

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for SearchPath {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        let schema = self.0.replace('"', "\"\"");
        conn.batch_execute(&format!("SET search_path TO \"{schema}\""))
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// A pool over the SQLite file at `path`, with the contracts table and the log table created.
pub fn open_sqlite(path: &str) -> Result<Db, BoxError> {
    let pool = Pool::builder()
        .max_size(4)
        .connection_customizer(Box::new(SqliteSettings))
        .build(ConnectionManager::<SqliteConnection>::new(path))?;
    create_tables(&mut *pool.get()?, SQLITE_TABLES)?;
    Ok(Db::Sqlite(pool))
}

/// A pool over the PostgreSQL database at `url`, confined to `schema` (which must exist), with
/// the contracts table and the log table created there.
pub fn open_postgres(url: &str, schema: &str) -> Result<Db, BoxError> {
    let pool = Pool::builder()
        .max_size(4)
        .connection_customizer(Box::new(SearchPath(schema.to_owned())))
        .build(ConnectionManager::<PgConnection>::new(url))?;
    create_tables(&mut *pool.get()?, POSTGRES_TABLES)?;
    Ok(Db::Postgres(pool))
}

fn create_tables<C: AuditConnection>(conn: &mut C, ddl: &str) -> Result<(), BoxError> {
    conn.batch_execute(ddl)?;
    run_migrations(conn)?;
    Ok(())
}

/// The demo's stand-in for authentication: `Authorization: Bearer <user>` for two known
/// users. A real service reads what its own authentication established instead.
fn demo_actor(request: &Parts) -> Option<Actor> {
    let value = request.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (id, email) = match value.strip_prefix("Bearer ")? {
        "alice" => ("u-1001", "alice.martin@acme-contracts.example"),
        "bob" => ("u-1002", "bob.okafor@acme-contracts.example"),
        _ => return None,
    };
    Some(Actor::new(id).display(email))
}

/// How the service reads a request's audit context: the demo users, the `sid` session
/// cookie, and the proxies it is told to trust.
pub fn context_config(trusted_proxies: impl IntoIterator<Item = IpNet>) -> RequestContextConfig {
    RequestContextConfig::new()
        .actor_from(demo_actor)
        .session_cookie("sid")
        .trust_proxies(trusted_proxies)
}

/// The service's routes, behind the layer that computes each request's audit context.
pub fn app(db: Db, config: RequestContextConfig) -> Router {
    Router::new()
        .route("/contracts", post(create_contract))
        .route("/contracts/reprice", post(reprice))
        .route(
            "/contracts/{id}",
            patch(update_contract).delete(delete_contract),
        )
        .route("/contracts/{id}/history", get(contract_history))
        .route("/requests/{correlation_id}/entries", get(request_entries))
        .layer(RequestContextLayer::new(config))
        .with_state(db)
}

/// Serves `app` on `listener` until `shutdown` completes, giving the layer each connection's
/// peer address.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Runs `$body` on a blocking thread with `$db`, an `AuditedConnection` over a pooled
/// connection carrying `$context`, inside one transaction: every entry of the request is
/// committed with its change or not at all. On SQLite the transaction takes the write lock
/// up front, so concurrent requests wait for each other instead of failing with
/// `SQLITE_BUSY`. Diesel's statements are typed per backend: the body is written once and
/// instantiated for each.
macro_rules! write_with {
    ($state:expr, $context:expr, |$db:ident| $body:expr) => {{
        let context: AuditContext = $context;
        match $state {
            Db::Sqlite(pool) => {
                blocking(move || {
                    let mut pooled = pool.get()?;
                    let conn: &mut SqliteConnection = &mut pooled;
                    conn.immediate_transaction::<_, ApiError, _>(|conn| {
                        let mut $db = AuditedConnection::wrap(conn);
                        $db.set_context(context);
                        $body
                    })
                })
                .await
            }
            Db::Postgres(pool) => {
                blocking(move || {
                    let mut pooled = pool.get()?;
                    let conn: &mut PgConnection = &mut pooled;
                    conn.transaction::<_, ApiError, _>(|conn| {
                        let mut $db = AuditedConnection::wrap(conn);
                        $db.set_context(context);
                        $body
                    })
                })
                .await
            }
        }
    }};
}

/// Runs `$body` on a blocking thread with `$db`, an `AuditedConnection` over a pooled
/// connection, for reading the log.
macro_rules! read_with {
    ($state:expr, |$db:ident| $body:expr) => {{
        match $state {
            Db::Sqlite(pool) => {
                blocking(move || {
                    let mut pooled = pool.get()?;
                    let mut $db = AuditedConnection::wrap(&mut *pooled);
                    $body
                })
                .await
            }
            Db::Postgres(pool) => {
                blocking(move || {
                    let mut pooled = pool.get()?;
                    let mut $db = AuditedConnection::wrap(&mut *pooled);
                    $body
                })
                .await
            }
        }
    }};
}

async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

fn require_actor(context: &AuditContext) -> Result<(), ApiError> {
    match context.actor_id {
        Some(_) => Ok(()),
        None => Err(ApiError::Unauthorized),
    }
}

/// `POST /contracts`: one create entry.
async fn create_contract(
    State(db): State<Db>,
    RequestAudit(context): RequestAudit,
    Json(new): Json<NewContract>,
) -> Result<(StatusCode, Json<Contract>), ApiError> {
    require_actor(&context)?;
    let contract = write_with!(db, context, |db| {
        Ok(db
            .insert_into(contracts::table)
            .values(&new)
            .get_result::<Contract>()?)
    })?;
    Ok((StatusCode::CREATED, Json(contract)))
}

/// `PATCH /contracts/{id}`: one update entry with the fields that changed.
async fn update_contract(
    State(db): State<Db>,
    RequestAudit(context): RequestAudit,
    Path(id): Path<i32>,
    Json(changes): Json<ContractChanges>,
) -> Result<Json<Contract>, ApiError> {
    require_actor(&context)?;
    if changes.status.is_none() && changes.price_cents.is_none() && changes.notes.is_none() {
        return Err(ApiError::BadRequest("nothing to change"));
    }
    let contract = write_with!(db, context, |db| {
        Ok(db
            .update(contracts::table.find(id))
            .set(&changes)
            .get_result::<Contract>()?)
    })?;
    Ok(Json(contract))
}

/// `POST /contracts/reprice`: one update entry per contract repriced, all with this
/// request's correlation id.
async fn reprice(
    State(db): State<Db>,
    RequestAudit(context): RequestAudit,
    Json(reprice): Json<Reprice>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_actor(&context)?;
    if !(-90..=1000).contains(&reprice.percent) {
        return Err(ApiError::BadRequest("percent must be between -90 and 1000"));
    }
    let factor = 100 + reprice.percent;
    let updated = write_with!(db, context, |db| {
        Ok(db
            .update(contracts::table.filter(contracts::status.eq(&reprice.status)))
            .set(contracts::price_cents.eq(contracts::price_cents * factor / 100))
            .execute::<Contract>()?)
    })?;
    Ok(Json(serde_json::json!({ "updated": updated })))
}

/// `DELETE /contracts/{id}`: one delete entry with the final snapshot.
async fn delete_contract(
    State(db): State<Db>,
    RequestAudit(context): RequestAudit,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    require_actor(&context)?;
    let deleted = write_with!(db, context, |db| {
        Ok(db.delete(contracts::table.find(id)).execute::<Contract>()?)
    })?;
    match deleted {
        0 => Err(ApiError::NotFound),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// `GET /contracts/{id}/history`: the contract's entries, newest first (one page).
async fn contract_history(
    State(db): State<Db>,
    Path(id): Path<i32>,
) -> Result<Json<Vec<LogEntry>>, ApiError> {
    let entries = read_with!(db, |db| {
        Ok(db.history().of::<Contract>(id.to_string()).load()?)
    })?;
    Ok(Json(entries))
}

/// `GET /requests/{correlation_id}/entries`: everything one request wrote, newest first.
async fn request_entries(
    State(db): State<Db>,
    Path(correlation_id): Path<String>,
) -> Result<Json<Vec<LogEntry>>, ApiError> {
    let entries = read_with!(db, |db| {
        Ok(db.history().correlation_id(correlation_id).load_all()?)
    })?;
    Ok(Json(entries))
}

/// What a handler answers when it cannot do its work.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized,
    NotFound,
    BadRequest(&'static str),
    Internal(String),
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => ApiError::NotFound,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<AuditError> for ApiError {
    fn from(error: AuditError) -> Self {
        match error {
            AuditError::Data {
                source: diesel::result::Error::NotFound,
                ..
            } => ApiError::NotFound,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<PoolError> for ApiError {
    fn from(error: PoolError) -> Self {
        ApiError::Internal(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unknown user".to_owned()),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "no such contract".to_owned()),
            ApiError::BadRequest(why) => (StatusCode::BAD_REQUEST, why.to_owned()),
            ApiError::Internal(detail) => {
                // An example may print; a real service logs this through its tracing setup.
                eprintln!("internal error: {detail}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error".to_owned(),
                )
            }
        };
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

/// The command line: `--database-url URL`, `--port N`, `--trust-proxy CIDR` (repeatable).
struct Args {
    database_url: String,
    port: u16,
    trusted_proxies: Vec<IpNet>,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut args = Args {
        database_url: std::env::var("DATABASE_URL").unwrap_or_else(|_| {
            std::env::temp_dir()
                .join("auditlog-contracts-service.db")
                .display()
                .to_string()
        }),
        port: 3000,
        trusted_proxies: Vec::new(),
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (word, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| words.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--database-url" => args.database_url = value()?,
            "--port" => args.port = value()?.parse()?,
            "--trust-proxy" => args.trusted_proxies.push(value()?.parse()?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(args)
}

const EXAMPLE_SCHEMA: &str = "auditlog_service_example";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = parse_args()?;
    let url = &args.database_url;
    let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut conn = PgConnection::establish(url)?;
        conn.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {EXAMPLE_SCHEMA} CASCADE; CREATE SCHEMA {EXAMPLE_SCHEMA}"
        ))?;
        println!("Database: PostgreSQL, schema {EXAMPLE_SCHEMA}");
        open_postgres(url, EXAMPLE_SCHEMA)?
    } else {
        let _ = std::fs::remove_file(url);
        println!("Database: SQLite file {url}");
        open_sqlite(url)?
    };

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    println!("Listening on http://{}", listener.local_addr()?);
    // Runs until interrupted: every change is committed with its entries or not at all.
    let forever = std::future::pending();
    serve(
        listener,
        app(db, context_config(args.trusted_proxies)),
        forever,
    )
    .await?;
    Ok(())
}
