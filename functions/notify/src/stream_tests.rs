//! The whole path as `make dev` runs it: the presence table's real stream in
//! moto, read by infra/stream_poller.py (the local event source mapping), which
//! invokes notify over the Invoke API, retries, and dead-letters to SQS.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::event::dynamodb::Event;
use kitchen::deadline::Deadline;
use kitchen::dynamo::create_table;
use kitchen::notices::{NoticeConfig, Post};
use kitchen::presence::PresenceStore;
use kitchen::rooms::Rooms;
use kitchen::testing::{kitchen, moto_endpoint, sdk_config, unique};
use kitchen::webhook::parse_event;
use serde_json::{Value, json};
use zoom_sim::{
    DEMO_LOUNGE_CHANNEL, DEMO_LOUNGE_MEETING_ID as LOUNGE, DEMO_TECH_USER, Endpoint, Fault, Sim,
};

use crate::handler::{Notify, process};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

struct Invoked {
    notify: Notify,
    calls: AtomicUsize,
}

/// `POST /2015-03-31/functions/notify/invocations`, as `cargo lambda watch` serves it.
async fn serve_invoke(state: Arc<Invoked>) -> String {
    use axum::routing::post;
    async fn invoke(
        axum::extract::State(state): axum::extract::State<Arc<Invoked>>,
        body: String,
    ) -> axum::Json<Value> {
        state.calls.fetch_add(1, Ordering::SeqCst);
        let event: Event = serde_json::from_str(&body).expect("a DynamoDB stream event");
        let resp = process(
            &state.notify,
            &event.records,
            Deadline::after(Duration::from_secs(8)),
        )
        .await;
        axum::Json(serde_json::to_value(resp).expect("a response"))
    }
    let app = axum::Router::new()
        .route("/2015-03-31/functions/notify/invocations", post(invoke))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/2015-03-31/functions/notify/invocations")
}

fn aws_env(cmd: &mut Command, moto: &str) {
    cmd.env("AWS_ENDPOINT_URL", moto)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
}

fn python() -> String {
    let venv = format!("{ROOT}/.venv/bin/python");
    assert!(
        std::path::Path::new(&venv).exists(),
        "{venv} is missing: run `make venv` (the stream poller needs boto3)"
    );
    venv
}

struct Poller(Child);

impl Drop for Poller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The dead-letter queue's messages (bodies), read with boto3 from moto.
fn dead_letters(moto: &str, queue: &str) -> Vec<Value> {
    let code = format!(
        "import boto3, json\nq = boto3.client('sqs')\nurl = q.get_queue_url(QueueName='{queue}')['QueueUrl']\n\
         m = q.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get('Messages', [])\n\
         print(json.dumps([json.loads(x['Body']) for x in m]))"
    );
    let mut cmd = Command::new(python());
    cmd.args(["-c", &code]);
    aws_env(&mut cmd, moto);
    let out = cmd.output().expect("run python");
    if !out.status.success() {
        return Vec::new();
    }
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

async fn eventually<T>(what: &str, within: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn join(presence: &PresenceStore, name: &str, uuid: &str) {
    let now = std::time::SystemTime::now();
    let body = json!({
        "event": "meeting.participant_joined",
        "event_ts": kitchen::time::unix_millis(now),
        "payload": {"account_id": "demo-account", "object": {
            "id": LOUNGE, "uuid": "m-uuid", "host_id": "h",
            "participant": {"user_id": "1", "user_name": name, "participant_uuid": uuid,
                            "join_time": kitchen::time::format_rfc3339(now)}
        }}
    });
    let event = parse_event(body.to_string().as_bytes()).expect("a Zoom event");
    presence.apply(LOUNGE, &event).await.expect("stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_down_the_record_is_retried_and_lands_in_the_dead_letter_queue() {
    let moto = moto_endpoint();
    let sim = Sim::demo().spawn().await;
    sim.sim.set_sticky_fault(
        Endpoint::Chat,
        Some(Fault::Status {
            status: 503,
            body: Value::Null,
        }),
    );
    let sdk = sdk_config(&moto).await;
    let db = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique("presence");
    let queue = unique("notify-dlq");
    create_table(&db, &table)
        .await
        .expect("create the presence table");
    let rooms = Rooms::parse(
        &json!({"lounge": {"meeting_id": LOUNGE, "channel": DEMO_LOUNGE_CHANNEL}}).to_string(),
    )
    .expect("rooms");
    let notify = Notify::from_parts(
        kitchen(&sim),
        &sdk,
        &table,
        rooms,
        DEMO_TECH_USER.into(),
        NoticeConfig::default(),
    );
    let state = Arc::new(Invoked {
        notify,
        calls: AtomicUsize::new(0),
    });
    let invoke_url = serve_invoke(state.clone()).await;

    let log_path = format!("{ROOT}/.dev/{table}-poller.log");
    std::fs::create_dir_all(format!("{ROOT}/.dev")).expect(".dev");
    let log = std::fs::File::create(&log_path).expect("poller log");
    let mut cmd = Command::new(python());
    cmd.arg(format!("{ROOT}/infra/stream_poller.py"))
        .args(["--table", &table, "--invoke", &invoke_url, "--dlq", &queue])
        .args([
            "--max-retries",
            "2",
            "--backoff",
            "0.2",
            "--interval",
            "0.2",
        ])
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log));
    aws_env(&mut cmd, &moto);
    let _poller = Poller(cmd.spawn().expect("start the stream poller"));

    // The poller enables the stream (the stack declares it); then Ann walks in.
    let mut has_stream = false;
    for _ in 0..100 {
        let t = db
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .expect("describe");
        if t.table.and_then(|t| t.latest_stream_arn).is_some() {
            has_stream = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(has_stream, "the poller enabled no stream; see {log_path}");
    let presence = PresenceStore::new(&sdk, &table);
    join(&presence, "Ann", "P-ann").await;

    let letters = eventually("a dead letter", Duration::from_secs(30), || {
        Some(dead_letters(&moto, &queue)).filter(|l| !l.is_empty())
    })
    .await;
    let info = &letters[0];
    assert_eq!(
        info["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(
        info["requestContext"]["approximateInvokeCount"], 3,
        "{info}"
    );
    assert!(
        info["DDBStreamBatchInfo"]["startSequenceNumber"].is_string(),
        "{info}"
    );
    assert!(
        letters
            .iter()
            .all(|l| l["requestContext"]["approximateInvokeCount"] == 3),
        "{letters:?}"
    );
    assert!(
        state.calls.load(Ordering::SeqCst) >= 3,
        "the first try and two retries"
    );
    assert!(sim.sim.messages().is_empty());
    assert_eq!(
        state
            .notify
            .notices
            .store
            .get(LOUNGE)
            .await
            .expect("row")
            .and_then(|r| r.post),
        Some(Post::Due),
        "the notice stays due"
    );

    // Zoom is back: the room's next record posts the notice that was due, once.
    sim.sim.clear_faults(None);
    join(&presence, "Bob", "P-bob").await;
    let posts = eventually("the notice", Duration::from_secs(20), || {
        let posts: Vec<_> = sim
            .sim
            .messages()
            .into_iter()
            .filter(|m| m.to_channel == DEMO_LOUNGE_CHANNEL)
            .collect();
        (!posts.is_empty()).then_some(posts)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(sim.sim.messages().len(), 1, "posted once");
}
