//! Query results over the sandbox's TLS PostgreSQL: values rendered from the binary format must
//! equal `psql -At` byte for byte, for every supported type, edge values and time zones (with
//! DST and local mean time); other types come back in the server's text format; a script of
//! several statements reports rows, commands, notices and an error position; cancel works; and
//! a 1M-row result streams through a store with a small memory cap (spilling) intact.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rds_explorer::db::connect::{ConnectParams, Endpoint, connect};
use rds_explorer::db::tls::{TrustConfig, client_config};
use rds_explorer::query::render::{ColumnFormat, ScalarKind};
use rds_explorer::query::{
    Canceller, FetchedRow, NoticeQueue, QueryError, ResultSink, ResultStore, RunOptions, SinkError,
    StatementInfo, StatementOutcome, StoreColumn, StoreOptions, StoreSink, drive_connection,
    fetch_to_sink,
};
use rds_sandbox::{PgCluster, PgClusterOptions};

struct Sandbox {
    cluster: PgCluster,
    tls: Arc<rustls::ClientConfig>,
}

impl Sandbox {
    fn start() -> Self {
        let cluster = PgCluster::start(&PgClusterOptions::default()).unwrap();
        let tls = client_config(&TrustConfig {
            extra_ca_file: Some(cluster.info().ca_file.clone()),
            ..TrustConfig::default()
        })
        .unwrap();
        Self { cluster, tls }
    }

    fn params(&self) -> ConnectParams {
        let info = self.cluster.info();
        ConnectParams {
            endpoint: Endpoint {
                host: info.host_name.clone(),
                hostaddr: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                port: info.port,
            },
            database: info.database.clone(),
            user: info.app_user.clone(),
            password: info.app_password.as_str().into(),
            timeout: Duration::from_secs(10),
        }
    }

    /// A session as the app opens it (verify-full TLS to the RDS-like name via 127.0.0.1).
    async fn client(&self) -> tokio_postgres::Client {
        connect(&self.params(), self.tls.clone()).await.unwrap()
    }

    /// The same session, but its connection task queues notices.
    async fn client_with_notices(&self) -> (tokio_postgres::Client, NoticeQueue) {
        let params = self.params();
        let mut config = tokio_postgres::Config::new();
        config
            .host(&params.endpoint.host)
            .hostaddr(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .port(params.endpoint.port)
            .dbname(&params.database)
            .user(&params.user)
            .password(params.password.expose())
            .ssl_mode(tokio_postgres::config::SslMode::Require);
        let make_tls =
            tokio_postgres_rustls::MakeRustlsConnect::new(Arc::unwrap_or_clone(self.tls.clone()));
        let (client, connection) = config.connect(make_tls).await.unwrap();
        let notices = NoticeQueue::new();
        tokio::spawn(drive_connection(connection, notices.clone()));
        (client, notices)
    }

    /// `psql -At` as the superuser over the Unix socket, in the app's database.
    fn psql(&self, script: &str) -> String {
        self.cluster
            .psql(&format!("\\c {}\n{script}", self.cluster.info().database))
            .unwrap()
    }
}

/// Every result set of `sql`, as `psql -At` prints them (NULL as an empty field).
async fn fetch_text(client: &tokio_postgres::Client, sql: &str) -> (String, Vec<ResultStore>) {
    let mut sink = StoreSink::new(StoreOptions::default());
    fetch_to_sink(client, sql, &mut sink, &RunOptions::default())
        .await
        .unwrap();
    let stores: Vec<ResultStore> = sink
        .into_results()
        .into_iter()
        .filter_map(|result| result.store)
        .collect();
    let mut text = String::new();
    for store in &stores {
        text.push_str(&psql_text(store));
    }
    (text, stores)
}

fn psql_text(store: &ResultStore) -> String {
    let mut text = String::new();
    for row in 0..store.row_count() {
        for column in 0..store.columns().len() {
            if column > 0 {
                text.push('|');
            }
            store.render_cell(row, column, &mut text).unwrap();
        }
        text.push('\n');
    }
    text
}

pub(crate) const PARITY_TABLE: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'happy', 'very happy');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE TABLE parity (
  id int PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, o oid,
  n numeric, n3 numeric(16,3), f4 float4, f8 float8,
  t text, vc varchar(10), bp char(5), nm name, ba bytea,
  d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
  u uuid, j json, jb jsonb, ip inet, cd cidr, e mood, dom posint,
  ai int4[], at text[], an numeric[], atz timestamptz[], a2 int4[], aba bytea[], aiv interval[],
  ae mood[], af8 float8[], ad date[]
);
INSERT INTO parity VALUES
 (1, true, 1, 1, 1, 1, 123.45, 1.5, 1.5, 0.1, 'hello', 'x', 'ab', 'nm', '\x00ff',
  '2024-03-10', '12:34:56.789', '12:34:56+05:30', '2024-03-10 02:30:00',
  '2024-03-10 06:59:59.999999+00', '1 year 2 mons 3 days 04:05:06.5',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1, "a": [1, 2.50]}', '{"b": 1, "a": [1, 2.50]}',
  '192.168.0.1/24', '10.0.0.0/8', 'happy', 7,
  '{1,NULL,3}', '{"a b","",NULL,"NULL","q\"uote","back\\slash","{x}","c,d",plain}', '{1.50,NaN}',
  '{"2024-03-10 07:00:00+00",NULL}', '{{1,2},{3,4}}', '{"\\x00",NULL}', '{"1 day","-00:00:01"}',
  '{sad,"very happy"}', '{0.1,-0,NaN,Infinity}', '{2024-02-29,infinity}'),
 (2, false, -32768, -2147483648, -9223372036854775808, 4294967295, 'NaN', -0.001, '-0', '-0',
  '', '', '', '', '\x', 'infinity', '24:00:00', '00:00:00-15:59', '-infinity', 'infinity',
  '-1 years -2 mons +3 days -04:05:06', '00000000-0000-0000-0000-000000000000', 'null', '[]',
  '::ffff:1.2.3.4', '2001:db8::/32', 'sad', 1,
  '{}', '{}', '{Infinity,-Infinity}', '{}', '[0:1][2:3]={{1,2},{3,4}}', '{}', '{}', '{}', '{}', '{}'),
 (3, true, 32767, 2147483647, 9223372036854775807, 0, 'Infinity', 123456789.123,
  3.4028235e38, 1.7976931348623157e308, E'line1\nline2\ttab', 'ü€', 'abcde', repeat('n', 63),
  '\xdeadbeef', '4713-01-01 BC', '00:00:00.000001', '23:59:59.999999-00:30',
  '0044-03-15 12:00:00 BC', '1850-06-01 12:00:00+00', '100 hours',
  'ffffffff-ffff-ffff-ffff-ffffffffffff', '{"é": "ü\n", "num": 1e3}',
  '{"é": "ü\n", "num": 1e3, "z": null, "a": {"nested": [true, false]}}', '::1', 'fe80::/10',
  'very happy', 2147483647,
  '{-2147483648}', E'{" lead","tab\there","trail "}', '{0.00000000000000000001,-123.4500}',
  '{"0044-03-15 12:00:00+00 BC"}', '{{NULL,NULL}}', '{"\\xdead"}',
  '{"-1 years -2 mons +3 days -04:05:06"}', '{}', '{1e-5,1e15,1e16}', '{"0001-01-01 BC"}'),
 (4, NULL, 0, 0, 0, 0, '0.000', 0, 123456.7, 5e-324, 'x', NULL, NULL, NULL, NULL,
  '12345-06-07', '23:59:59.5', '00:00:00+00', '2000-01-01 00:00:00.000001',
  '2024-11-03 05:30:00+00', '-00:00:00.000001', NULL, '1', '1.0', '10.1.2.3/32',
  '10.1.2.3/32', NULL, NULL, NULL, NULL, NULL, '{"2024-11-03 06:30:00+00"}', NULL, NULL,
  '{"1 mon -1 days"}', NULL, '{1.7976931348623157e308}', NULL),
 (5, NULL, NULL, NULL, NULL, NULL, -0.00120, -123456789012.345, 1e6, 1e-5, NULL, NULL, NULL,
  NULL, NULL, '1999-12-31', NULL, NULL, '1901-12-13 20:45:52', '2024-11-03 06:30:00+00',
  '-1 days +01:00:00', NULL, NULL, '{"a": "x\"y"}', '1:0:0:1:0:0:0:1/64', NULL, NULL, NULL,
  NULL, NULL, NULL, '{"1850-06-01 12:00:00+00","2100-07-01 12:00:00+00"}', NULL, NULL, NULL,
  NULL, NULL, NULL),
 (6, NULL, NULL, NULL, NULL, NULL, 1e-20, NULL, 1.17549435e-38, 0.0001, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, '2100-07-01 12:00:00+00', '2 mons', NULL, NULL, NULL,
  '::', NULL, NULL, NULL, NULL, NULL, NULL, '{"10000-06-01 12:00:00+00"}', NULL, NULL, NULL,
  NULL, NULL, NULL),
 (7, NULL, NULL, NULL, NULL, NULL, 100000000, NULL, -1e-6, 123456789012345678, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, '200000-01-01 00:00:00+00', '1 year', NULL, NULL,
  NULL, '::0.0.0.2', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (8, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, '1901-12-13 20:45:52+00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (99, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL);
"#;

pub(crate) const PARITY_QUERY: &str = "SELECT * FROM parity ORDER BY id";

/// Types we do not render ourselves: the whole statement comes back as the server's text.
const FALLBACK_QUERY: &str = "SELECT 1 AS one, point '(1,2)' AS p, int4range(1, 5) AS r, \
     '{(1,2),(3,4)}'::box[] AS boxes, 12.5::money AS m, 'a b'::tsvector AS tv, B'101' AS bits, \
     'x'::\"char\" AS c, 'pg_class'::regclass AS rel, NULL::point AS nothing, '<a/>'::xml AS x";

#[tokio::test]
async fn values_render_exactly_as_psql_in_every_time_zone() {
    let sandbox = Sandbox::start();
    let client = sandbox.client().await;
    client.batch_execute(PARITY_TABLE).await.unwrap();

    for zone in [
        "SET TimeZone = 'UTC'",
        "SET TimeZone = 'America/New_York'",
        "SET TimeZone = 'Europe/Berlin'",
        "SET TimeZone = 'Asia/Kolkata'",
        "SET TimeZone = 'Australia/Lord_Howe'",
        "SET TIME ZONE INTERVAL '-03:30' HOUR TO MINUTE",
        "SET TIME ZONE 5",
    ] {
        let (ours, stores) = fetch_text(&client, &format!("{zone}; {PARITY_QUERY}")).await;
        let expected = sandbox.psql(&format!("{zone};\n{PARITY_QUERY};\n"));
        assert_eq!(ours, expected, "{zone}");
        let store = &stores[0];
        assert_eq!(store.row_count(), 9);
        // All columns went binary: this is not the server's text coming back.
        for column in store.columns() {
            assert!(
                column.renderer.format() != ColumnFormat::ServerText,
                "{} ({}) fell back to text",
                column.name,
                column.type_name
            );
        }
    }
    let (ours, stores) = fetch_text(&client, FALLBACK_QUERY).await;
    assert_eq!(ours, sandbox.psql(&format!("{FALLBACK_QUERY};\n")));
    assert!(
        stores[0]
            .columns()
            .iter()
            .all(|c| c.renderer.format() == ColumnFormat::ServerText)
    );
    // NULL stays distinct from the empty string in the store.
    let parity = &fetch_text(&client, PARITY_QUERY).await.1[0];
    let text_column = parity.columns().iter().position(|c| c.name == "t").unwrap();
    assert_eq!(
        parity.cell_text(1, text_column).unwrap().as_deref(),
        Some("")
    );
    assert_eq!(parity.cell_text(8, text_column).unwrap(), None);
    let f8 = parity
        .columns()
        .iter()
        .position(|c| c.name == "f8")
        .unwrap();
    assert_eq!(
        parity.columns()[f8].renderer.format(),
        ColumnFormat::Scalar(ScalarKind::Float8)
    );
}

#[tokio::test]
async fn unusual_date_and_interval_styles_fall_back_to_the_servers_text() {
    let sandbox = Sandbox::start();
    let client = sandbox.client().await;
    client.batch_execute(PARITY_TABLE).await.unwrap();
    let settings = "SET DateStyle = 'SQL, DMY'; SET IntervalStyle = 'iso_8601'; \
                    SET extra_float_digits = 0; SET bytea_output = 'escape'";
    let (ours, stores) = fetch_text(&client, &format!("{settings}; {PARITY_QUERY}")).await;
    assert_eq!(
        ours,
        sandbox.psql(&format!("{settings};\n{PARITY_QUERY};\n"))
    );
    assert!(
        stores[0]
            .columns()
            .iter()
            .all(|c| c.renderer.format() == ColumnFormat::ServerText)
    );
}

#[tokio::test]
async fn a_script_reports_rows_commands_notices_and_the_error_position() {
    let sandbox = Sandbox::start();
    let (client, notices) = sandbox.client_with_notices().await;
    let script = "select 1 as a, 'x' as b;\n\
                  DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$;\n\
                  -- a comment between statements\n\
                  create temp table tt(x int);\n\
                  insert into tt values (1), (2);\n\
                  select x from tt order by x;\n\
                  select nope from tt;\n\
                  select 'never runs'";
    let mut sink = StoreSink::new(StoreOptions::default());
    let options = RunOptions {
        notices: Some(notices),
        canceller: None,
    };
    let error = fetch_to_sink(&client, script, &mut sink, &options)
        .await
        .unwrap_err();
    let offset = script.find("nope").unwrap();
    assert_eq!(error.error_offset(), Some(offset), "{error}");
    assert_eq!(error.statement().index, 5);
    assert_eq!(
        error.to_string(),
        "statement 6 failed: ERROR 42703: column \"nope\" does not exist"
    );
    let results = sink.into_results();
    let summary: Vec<(bool, u64)> = results
        .iter()
        .map(|r| (r.outcome.returned_rows, r.outcome.rows))
        .collect();
    assert_eq!(
        summary,
        [(true, 1), (false, 0), (false, 0), (false, 2), (true, 2)]
    );
    assert_eq!(psql_text(results[0].store.as_ref().unwrap()), "1|x\n");
    assert_eq!(psql_text(results[4].store.as_ref().unwrap()), "1\n2\n");
    assert_eq!(results[1].notices.len(), 1);
    assert_eq!(results[1].notices[0].message, "hello 42");
    assert_eq!(results[1].notices[0].severity, "NOTICE");
    assert!(results[0].notices.is_empty());
    let create = &results[2].outcome.statement;
    assert_eq!(
        &script[create.sql_range.clone()],
        "create temp table tt(x int)"
    );
}

/// Stops after `limit` rows.
struct StopAfter {
    rows: usize,
    limit: usize,
}

impl ResultSink for StopAfter {
    fn begin_rows(&mut self, _: &StatementInfo, _: &[StoreColumn]) -> Result<(), SinkError> {
        Ok(())
    }

    fn row(&mut self, _: &FetchedRow<'_>) -> Result<(), SinkError> {
        self.rows += 1;
        if self.rows >= self.limit {
            return Err(SinkError::Stopped);
        }
        Ok(())
    }

    fn end_statement(&mut self, _: &StatementOutcome) -> Result<(), SinkError> {
        Ok(())
    }
}

#[tokio::test]
async fn cancel_stops_a_running_statement_within_a_second_and_the_session_survives() {
    let sandbox = Sandbox::start();
    let client = Arc::new(sandbox.client().await);
    let canceller = Canceller::new(&client, sandbox.tls.clone());
    let running = tokio::spawn({
        let client = client.clone();
        async move {
            let mut sink = StoreSink::new(StoreOptions::default());
            let options = RunOptions::default();
            fetch_to_sink(&client, "select pg_sleep(30)", &mut sink, &options).await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cancelled_at = Instant::now();
    canceller.cancel().await.unwrap();
    let error = running.await.unwrap().unwrap_err();
    assert!(cancelled_at.elapsed() < Duration::from_secs(1));
    assert!(matches!(error, QueryError::Cancelled { .. }), "{error}");

    // A sink that stops reading: the canceller makes the server stop sending a big result
    // (50M rows streamed by a nested loop, so the first rows come at once).
    let mut sink = StopAfter { rows: 0, limit: 10 };
    let options = RunOptions {
        notices: None,
        canceller: Some(canceller),
    };
    let started = Instant::now();
    let error = fetch_to_sink(
        &client,
        "select a, b, repeat('x', 100) from generate_series(1, 5000) a, generate_series(1, 10000) b",
        &mut sink,
        &options,
    )
    .await
    .unwrap_err();
    assert!(matches!(
        error,
        QueryError::Sink {
            source: SinkError::Stopped,
            ..
        }
    ));
    assert_eq!(sink.rows, 10);
    let (text, _) = fetch_text(&client, "select 'still usable'").await;
    assert_eq!(text, "still usable\n");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// The benchmark's 1M-row × 9-column shape (`shared/reference/test-environment.md` §4).
const MILLION_ROWS: &str = "SELECT g::int AS id, g::bigint * 1000003 AS big, 'name-' || g AS name, \
     ((g % 100000) / 100.0)::numeric(12,2) AS amount, to_timestamp(1704067200 + g) AS created_at, \
     ('{\"k\": ' || (g % 1000) || ', \"tag\": \"v' || (g % 7) || '\"}')::jsonb AS payload, \
     (g % 3 = 0) AS flag, \
     ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid AS uid, \
     CASE WHEN g % 10 = 0 THEN 'sparse-' || g END AS sparse \
     FROM generate_series(1, 1000000) AS g";

#[tokio::test]
async fn a_million_rows_stream_through_a_small_cap_by_spilling() {
    let sandbox = Sandbox::start();
    let client = sandbox.client().await;
    client.batch_execute("SET TimeZone = 'UTC'").await.unwrap();
    let spill_dir = tempfile::tempdir().unwrap();
    let cap = 8 << 20;
    let mut sink = StoreSink::new(StoreOptions {
        memory_cap_bytes: cap,
        spill_dir: Some(spill_dir.path().to_owned()),
    });
    fetch_to_sink(&client, MILLION_ROWS, &mut sink, &RunOptions::default())
        .await
        .unwrap();
    let store = sink.into_results().pop().unwrap().store.unwrap();
    assert_eq!(store.row_count(), 1_000_000);
    assert!(store.spilled_rows() > 800_000, "{}", store.spilled_rows());
    // The cap, plus the open chunk and two chunks read back (cap / 16 each, with slack).
    let bound = cap + cap / 2;
    assert!(
        store.peak_memory_bytes() <= bound,
        "{}",
        store.peak_memory_bytes()
    );

    let row = |g: u64| {
        let mut text = String::new();
        for column in 0..9 {
            if column > 0 {
                text.push('|');
            }
            store.render_cell(g - 1, column, &mut text).unwrap();
        }
        text
    };
    assert_eq!(
        row(1),
        "1|1000003|name-1|0.01|2024-01-01 00:00:01+00|{\"k\": 1, \"tag\": \"v1\"}|f|\
         00000000-0000-4000-8000-000000000001|"
    );
    assert_eq!(
        row(500_000),
        "500000|500001500000|name-500000|0.00|2024-01-06 18:53:20+00|{\"k\": 0, \"tag\": \"v4\"}|f|\
         00000000-0000-4000-8000-00000007a120|sparse-500000"
    );
    assert_eq!(
        row(1_000_000),
        "1000000|1000003000000|name-1000000|0.00|2024-01-12 13:46:40+00|{\"k\": 0, \"tag\": \"v1\"}|f|\
         00000000-0000-4000-8000-0000000f4240|sparse-1000000"
    );
    assert_eq!(std::fs::read_dir(spill_dir.path()).unwrap().count(), 0);
}
