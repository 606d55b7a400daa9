#!/usr/bin/env python3
"""The local Coffee Kitchen stack: moto (Secrets Manager, DynamoDB, SQS) holding
the secret and the presence and limits tables, the Zoom simulator with its two
demo rooms (`kitchen` running with three people, `lounge` empty), `cargo lambda
watch` serving the functions at API Gateway's paths, and the stream poller
(infra/stream_poller.py) feeding the presence table's stream to `notify` as the
template's event source mapping does. Same code path as production, no AWS or
Zoom account needed.

  devstack.py up       run it in the foreground and print the device's curl commands
  devstack.py replay   send realistic signed Zoom webhook deliveries to a running `up`
                       (joins, leaves, rejoins, two devices, duplicates, out of order)
                       and show the count after each
  devstack.py e2e      start it, drive it over HTTP exactly as a device and Zoom do, stop it

The secret holds three demo devices (DEVICES: one bound to its owner in each
room, one legacy `device_keys` entry in the default room) and two viewers of the
page (one admin); `up` prints their curl commands and sign-in links.

With ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET, ZOOM_TECH_USER and
ZOOM_MEETING_ID (or KITCHEN_ROOMS) set in the environment, `up` puts those into
the (moto) secret and talks to real Zoom instead of the simulator.

Before anything listens, every function is built exactly as `cargo lambda watch`
will run it (`cargo run --bin <function>`: one cargo invocation per function, so
the same feature resolution and no rebuild), with progress on the terminal and
the compiler's output in .dev/build.log. Every binary under functions/ is
built; a new function's routes go in the watch router in the root Cargo.toml.
"""
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
LOG_DIR = os.path.join(ROOT, ".dev")
TARGET_DIR = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")


def lambda_functions():
    """The functions `cargo lambda watch` serves: every binary of a crate under
    functions/ (binary = function name). A new function needs nothing here;
    its routes go in the watch router in the root Cargo.toml."""
    out = subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1"], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    functions_dir = os.path.join(ROOT, "functions") + os.sep
    return sorted(t["name"] for p in json.loads(out.stdout)["packages"] if p["manifest_path"].startswith(functions_dir)
                  for t in p["targets"] if "bin" in t["kind"])

# The simulator's demo rooms (infra/zoom-sim: Sim::demo): kitchen is running
# with Alice, Bob and Carol in (Dave waits in the waiting room), lounge is empty.
DEMO_MEETING_ID = "85746065432"
DEMO_LOUNGE_MEETING_ID = "86190237415"
DEMO_ROOMS = {
    "kitchen": {"meeting_id": DEMO_MEETING_ID, "channel": "c0ffee00kitchen0channel000000001"},
    "lounge": {"meeting_id": DEMO_LOUNGE_MEETING_ID, "channel": "c0ffee00lounge00channel000000002"},
}
DEMO_TECH_USER = "kitchen-bot@example.com"
# The legacy device (`device_keys`: no owner, the default room kitchen).
DEMO_DEVICE = "demo-desk"
DEMO_DEVICE_KEY = "demo-device-key-0001"
# Devices of the `devices` map, each bound to its owner and room (chat contacts of the simulator).
DEVICES = {
    "kitchen-desk": {"key": "kitchen-desk-key-0001", "owner": "alice@example.com", "room": "kitchen"},
    "lounge-desk": {"key": "lounge-desk-key-00001", "owner": "erin@example.com", "room": "lounge"},
}
# The page's viewers (infra/browser uses the same).
VIEWERS = {
    "demo-viewer": {"key": "demo-viewer-key-0001", "admin": False},
    "demo-admin": {"key": "demo-admin-key-00001", "admin": True},
}
DEMO_WEBHOOK_TOKEN = "demo-webhook-secret-token"
SECRET_ID = "coffee-kitchen/dev"
PRESENCE_TABLE = "coffee-kitchen-presence-dev"
LIMITS_TABLE = "coffee-kitchen-limits-dev"
NOTIFY_DLQ = "coffee-kitchen-notify-dlq-dev"
DEV_PORTS = {"moto": 5000, "sim": 9100, "api": 9000}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=300, log_dir=LOG_DIR):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited early with {proc.returncode}; see {log_dir}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{what} did not listen on port {port} within {timeout}s")


def http(method, url, body=None, headers=None, timeout=30):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def unit_graph(cargo_args, env):
    """The compile units `cargo build <cargo_args>` would run, from cargo's unit
    graph (`-Z unstable-options`, allowed on stable by RUSTC_BOOTSTRAP for this
    query only; it compiles nothing). None when cargo cannot say."""
    try:
        out = subprocess.run(["cargo", "build", *cargo_args, "--unit-graph", "-Z", "unstable-options"], cwd=ROOT,
                             env={**env, "RUSTC_BOOTSTRAP": "1"}, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            return None
        return {(u["pkg_id"], u["target"]["name"], u["mode"], tuple(sorted(u["features"])), json.dumps(u["profile"], sort_keys=True))
                for u in json.loads(out.stdout)["units"]}
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None


def function_builds(functions, env):
    """(label, cargo args, units) for the functions, built as `cargo lambda
    watch` runs each (`cargo run --bin <function>`, one invocation per function,
    features resolved for that function alone). When one invocation for all of
    them resolves exactly the same units (today's case), it is used instead:
    one wait for the target/ lock, and the functions' crates compile in parallel."""
    single = [(f, ["--bin", f], unit_graph(["--bin", f], env)) for f in functions]
    together = [arg for f in functions for arg in ("--bin", f)]
    units = unit_graph(together, env)
    if units is not None and all(u is not None for _, _, u in single) and units == set().union(*(u for _, _, u in single)):
        return [("functions", together, units)]
    return single


class Progress:
    """One status line: rewritten in place on a terminal, a line every 15 s otherwise."""

    def __init__(self):
        self.tty = sys.stdout.isatty()
        self.last = 0.0

    def show(self, text, final=False):
        if self.tty:
            sys.stdout.write("\r\033[K" + text + ("\n" if final else ""))
            sys.stdout.flush()
        elif final or time.time() - self.last >= 15:
            print(text, flush=True)
            self.last = time.time()


def cargo_build(steps, env, log_dir=LOG_DIR):
    """Runs `cargo build` for each (label, args, units) in `steps`, one
    invocation each, printing progress (units done / units in cargo's unit
    graph). Exits with the compiler's last lines when a build fails."""
    log_path = os.path.join(log_dir, "build.log")
    progress = Progress()
    started = time.time()
    with open(log_path, "w") as log:
        for i, (label, args, units) in enumerate(steps, 1):
            total = len(units) if units else None
            proc = subprocess.Popen(["cargo", "build", *args, "--message-format", "json-render-diagnostics"], cwd=ROOT,
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            state = {"done": 0, "now": "starting cargo"}

            def tick(final=False):
                elapsed = int(time.time() - started)
                of = f"/{total}" if total else ""
                now = "" if final else f"  {state['now']}"
                progress.show(f"  [{i}/{len(steps)}] {label:10} {min(state['done'], total or state['done'])}{of} units  "
                              f"{elapsed // 60}m{elapsed % 60:02d}s{now}", final)

            def read_stderr():
                # Cargo's human output: kept in the log, and tells what is compiling
                # or that another cargo (a test run, an editor) holds the lock.
                for line in proc.stderr:
                    log.write(line)
                    words = line.split()
                    if "Blocking" in words:
                        state["now"] = "waiting for another cargo to release target/ (file lock)"
                    elif words[:1] == ["Compiling"] and len(words) > 1:
                        state["now"] = "compiling " + words[1]

            # A ticker so the line moves (and the clock runs) while one big crate compiles.
            stop = threading.Event()
            ticker = threading.Thread(target=lambda: [tick() for _ in iter(lambda: stop.wait(1), True)], daemon=True)
            stderr_reader = threading.Thread(target=read_stderr, daemon=True)
            ticker.start()
            stderr_reader.start()
            for line in proc.stdout:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if msg.get("reason") in ("compiler-artifact", "build-script-executed"):
                    state["done"] += 1
            stderr_reader.join()
            code = proc.wait()
            stop.set()
            ticker.join()
            tick(final=True)
            if code != 0:
                log.flush()
                tail = open(log_path).read().splitlines()[-25:]
                sys.exit("\n".join(tail) + f"\n\nthe build of {label} failed; the compiler's output is in {log_path}")
    return time.time() - started


class Stack:
    def __init__(self, real_zoom=False, ports=None, log_dir=os.path.join(LOG_DIR, "stack")):
        self.procs = []
        self.real_zoom = real_zoom
        ports = ports or {}
        self.moto_port = ports.get("moto") or free_port()
        self.sim_port = ports.get("sim") or free_port()
        self.api_port = ports.get("api") or free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.sim = f"http://127.0.0.1:{self.sim_port}"
        # `make dev` logs to .dev, `make test`'s end-to-end run to .dev/e2e and any
        # other stack (the browser tests) to .dev/stack, so they can run side by side.
        self.log_dir = log_dir
        os.makedirs(log_dir, exist_ok=True)

    def spawn(self, name, cmd, env=None):
        log = open(os.path.join(self.log_dir, f"{name}.log"), "w")
        p = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs.append((name, p))
        return p

    def aws_env(self):
        return {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.moto_port}",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }

    def rooms_env(self):
        """KITCHEN_ROOMS (the simulator's two rooms), or, against real Zoom, what
        the environment sets: KITCHEN_ROOMS or ZOOM_MEETING_ID."""
        if not self.real_zoom:
            return {"KITCHEN_ROOMS": json.dumps(DEMO_ROOMS, separators=(",", ":"))}
        return {k: os.environ[k] for k in ("KITCHEN_ROOMS", "ZOOM_MEETING_ID", "ZOOM_JOIN_URL") if os.environ.get(k)}

    def function_env(self):
        env = {
            "ZOOM_SECRET_ID": SECRET_ID,
            **self.rooms_env(),
            "ZOOM_TECH_USER": os.environ.get("ZOOM_TECH_USER", DEMO_TECH_USER) if self.real_zoom else DEMO_TECH_USER,
            "KITCHEN_COUNT_CACHE_SECONDS": os.environ.get("KITCHEN_COUNT_CACHE_SECONDS", "10"),
            "KITCHEN_SHOW_NAMES": "true",
            "KITCHEN_PRESENCE_TABLE": PRESENCE_TABLE,
            "KITCHEN_LIMITS_TABLE": LIMITS_TABLE,
            # The template's defaults, spelled out so they are easy to change here.
            "KITCHEN_INVITE_INTERVAL_SECONDS": os.environ.get("KITCHEN_INVITE_INTERVAL_SECONDS", "30"),
            "KITCHEN_INVITES_PER_DAY": os.environ.get("KITCHEN_INVITES_PER_DAY", "50"),
            "KITCHEN_SECRET_TTL_SECONDS": os.environ.get("KITCHEN_SECRET_TTL_SECONDS", "300"),
            # Real Zoom cannot deliver webhooks to this machine: count from the dashboard.
            "KITCHEN_COUNT_SOURCE": os.environ.get("KITCHEN_COUNT_SOURCE", "dashboard" if self.real_zoom else "auto"),
            "RUST_LOG": "info",
            **self.aws_env(),
        }
        if not self.real_zoom:
            env["ZOOM_API_URL"] = f"{self.sim}/v2"
            env["ZOOM_OAUTH_URL"] = f"{self.sim}/oauth/token"
        return env

    def secret_value(self):
        if self.real_zoom:
            creds = {k: os.environ[f"ZOOM_{k.upper()}"] for k in ("account_id", "client_id", "client_secret")}
        else:
            creds = {"account_id": "demo-account", "client_id": "demo-client-id", "client_secret": "demo-client-secret"}
        # Against real Zoom the rooms are yours: only the legacy device (default room).
        devices = {} if self.real_zoom else DEVICES
        return {**creds, "devices": devices, "device_keys": {DEMO_DEVICE: DEMO_DEVICE_KEY}, "viewers": VIEWERS,
                "webhook_secret_token": DEMO_WEBHOOK_TOKEN}

    def watch_env(self):
        """The environment `cargo lambda watch` runs `cargo run` in, so a build here
        is the build the watcher finds fresh."""
        return {**os.environ, "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""), **self.function_env()}

    def build(self):
        env = self.watch_env()
        steps = [] if self.real_zoom else [("zoom-sim", ["-p", "zoom-sim"], unit_graph(["-p", "zoom-sim"], env))]
        functions = lambda_functions()
        steps += function_builds(functions, env)
        what = ("the Zoom simulator and " if not self.real_zoom else "") + "the functions " + ", ".join(functions)
        print(f"Building {what} (debug, the way `cargo lambda watch` runs them).\n"
              f"  The first run compiles about 250 crates: roughly 3-4 minutes on 2 cores (a few GB in target/);\n"
              f"  later runs take seconds. Compiler output: {os.path.relpath(self.log_dir, ROOT)}/build.log", flush=True)
        took = cargo_build(steps, env, self.log_dir)
        print(f"Built in {int(took)} s.", flush=True)

    def start(self):
        self.build()
        print(f"Starting moto (Secrets Manager, DynamoDB, SQS) on :{self.moto_port}"
              + ("" if self.real_zoom else f", the Zoom simulator on :{self.sim_port}")
              + f", cargo lambda watch on :{self.api_port}, the stream poller (notify) ...", flush=True)
        moto = self.spawn("moto", [os.path.join(VENV_BIN, "moto_server"), "-H", "127.0.0.1", "-p", str(self.moto_port)])
        wait_port(self.moto_port, moto, "moto_server", 60, self.log_dir)
        self.put_secret()
        self.create_table()
        if not self.real_zoom:
            # The simulator delivers a signed webhook for every join/leave (POST /_sim/join, /_sim/leave).
            sim = self.spawn("zoom-sim", [os.path.join(TARGET_DIR, "debug", "zoom-sim"), "--port", str(self.sim_port),
                                          "--webhook-url", f"{self.api}/zoom/webhook", "--webhook-secret", DEMO_WEBHOOK_TOKEN])
            wait_port(self.sim_port, sim, "zoom-sim", 60, self.log_dir)
        env_file = os.path.join(self.log_dir, "functions.env")
        with open(env_file, "w") as f:
            f.writelines(f"{k}={env_file_value(v)}\n" for k, v in self.function_env().items())
        watch = self.spawn("watch", [os.path.join(VENV_BIN, "cargo-lambda"), "lambda", "watch", "--ignore-changes",
                                     "-A", "127.0.0.1", "-P", str(self.api_port), "--env-file", env_file],
                           env={"PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", "")})
        wait_port(self.api_port, watch, "cargo lambda watch", 120, self.log_dir)
        # What Lambda's event source mapping does in AWS: the presence table's
        # stream -> notify ("someone is in the room" posts), retries, the DLQ.
        self.spawn("stream-poller", [os.path.join(VENV_BIN, "python"), os.path.join(ROOT, "infra", "stream_poller.py"),
                                     "--table", PRESENCE_TABLE, "--dlq", NOTIFY_DLQ,
                                     "--invoke", f"{self.api}/2015-03-31/functions/notify/invocations"],
                   env=self.aws_env())

    def seed(self):
        """Seeds presence from Zoom: reconcile changes a participant only when two
        consecutive snapshots agree, so it runs twice, as two schedule ticks would."""
        self.reconcile()
        return self.reconcile()

    def reconcile(self):
        """Runs the scheduled reconcile once (as EventBridge would)."""
        out = subprocess.run([os.path.join(VENV_BIN, "cargo-lambda"), "lambda", "invoke", "reconcile", "-A", "127.0.0.1",
                              "-P", str(self.api_port), "--data-file", os.path.join(ROOT, "infra", "events", "reconcile-schedule.json")],
                             cwd=ROOT, capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", "")})
        if out.returncode != 0:
            sys.exit(f"reconcile failed: {out.stdout}{out.stderr}")
        return json.loads(out.stdout)

    def create_table(self):
        """The presence table (with its KEYS_ONLY stream, as in template.yaml) and
        the invite-limits table; both keyed pk/sk like the template's."""
        env = {**os.environ, **self.aws_env()}
        code = (
            "import boto3\n"
            "c = boto3.client('dynamodb')\n"
            "keys = dict(BillingMode='PAY_PER_REQUEST',\n"
            "    AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}, {'AttributeName': 'sk', 'AttributeType': 'S'}],\n"
            "    KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}, {'AttributeName': 'sk', 'KeyType': 'RANGE'}])\n"
            "have = c.list_tables()['TableNames']\n"
            f"if '{PRESENCE_TABLE}' not in have:\n"
            f"    c.create_table(TableName='{PRESENCE_TABLE}', StreamSpecification={{'StreamEnabled': True, 'StreamViewType': 'KEYS_ONLY'}}, **keys)\n"
            f"if '{LIMITS_TABLE}' not in have:\n"
            f"    c.create_table(TableName='{LIMITS_TABLE}', **keys)\n"
        )
        subprocess.run([os.path.join(VENV_BIN, "python"), "-c", code], env=env, check=True)

    def put_secret(self):
        # The same JSON the README tells you to store in the real secret.
        env = {**os.environ, **self.aws_env()}
        code = (
            "import boto3, json, sys\n"
            "c = boto3.client('secretsmanager')\n"
            "v = sys.stdin.read()\n"
            f"try:\n    c.create_secret(Name='{SECRET_ID}', SecretString=v)\n"
            f"except c.exceptions.ResourceExistsException:\n    c.put_secret_value(SecretId='{SECRET_ID}', SecretString=v)\n"
        )
        subprocess.run([os.path.join(VENV_BIN, "python"), "-c", code], input=json.dumps(self.secret_value()),
                       text=True, env=env, check=True)

    def stop(self):
        for _, p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _, p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def env_file_value(v):
    """A value for the watcher's --env-file (dotenv): single-quoted (taken
    literally) when it holds quotes, spaces or #, as KITCHEN_ROOMS's JSON does."""
    if v.startswith("'") or not any(c in v for c in "\"' #\\$"):
        return v
    return "'" + v + "'"


def sign(secret, ts, body):
    """Zoom's signature, computed here independently of the Rust code."""
    return "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()


def deliver(api, payload, secret=DEMO_WEBHOOK_TOKEN, ts=None):
    body = json.dumps(payload, ensure_ascii=False).encode()
    ts = str(ts if ts is not None else int(time.time()))
    headers = {"content-type": "application/json", "x-zm-request-timestamp": ts, "x-zm-signature": sign(secret, ts, body)}
    return http("POST", f"{api}/zoom/webhook", body, headers, timeout=120)


def participant_event(event, name, uuid, at, email=None, meeting_id=DEMO_MEETING_ID):
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    participant = {"user_id": str(abs(hash(uuid)) % 10**8), "user_name": name, "participant_uuid": uuid,
                   "email": email or "", "id": ""}
    participant["leave_time" if event.endswith("left") else "join_time"] = iso
    return {"event": event, "event_ts": int(at * 1000),
            "payload": {"account_id": "demo-account", "object": {"id": meeting_id, "uuid": "kitchen-uuid==",
                                                                 "host_id": "bot", "topic": "Coffee Kitchen", "type": 3,
                                                                 "participant": participant}}}


def count(api, key=DEMO_DEVICE_KEY):
    s, h, b = http("GET", f"{api}/participant-count", None,
                   {"Authorization": f"Bearer {key}", "Accept": "application/json"}, timeout=120)
    return json.loads(b) if s == 200 else {"status": s, "body": b}


REPLAY = [
    # (what, event, name, participant_uuid, seconds from now, email)
    ("Zoë joins (non-ASCII name)", "meeting.participant_joined", "Zoë Łukasz", "zoe-laptop", 0, "zoe@example.com"),
    ("the same delivery again (Zoom retry)", "meeting.participant_joined", "Zoë Łukasz", "zoe-laptop", 0, "zoe@example.com"),
    ("Finn joins from his laptop", "meeting.participant_joined", "Finn", "finn-laptop", 1, "finn@example.com"),
    ("Finn joins from his phone too (one person)", "meeting.participant_joined", "Finn", "finn-phone", 2, "finn@example.com"),
    ("Finn's phone leaves (he is still in)", "meeting.participant_left", "Finn", "finn-phone", 3, "finn@example.com"),
    ("Gina's LEAVE arrives before her join (out of order)", "meeting.participant_left", "Gina", "gina-1", 6, "gina@example.com"),
    ("... then Gina's older join arrives: no ghost", "meeting.participant_joined", "Gina", "gina-1", 4, "gina@example.com"),
    ("Hugo waits in the waiting room (not in the kitchen)", "meeting.participant_joined_waiting_room", "Hugo", "hugo-1", 5, "hugo@example.com"),
    ("Zoë leaves", "meeting.participant_left", "Zoë Łukasz", "zoe-laptop", 7, "zoe@example.com"),
    ("Zoë rejoins", "meeting.participant_joined", "Zoë Łukasz", "zoe-laptop", 8, "zoe@example.com"),
]


# Sent after REPLAY so the replay leaves the room as it found it: everyone it
# brought in leaves again, and the presence count matches the simulator's room.
LEAVE_AS_FOUND = [
    ("Zoë leaves again", "meeting.participant_left", "Zoë Łukasz", "zoe-laptop", 9, "zoe@example.com"),
    ("Finn's laptop leaves (Finn is gone)", "meeting.participant_left", "Finn", "finn-laptop", 10, "finn@example.com"),
    ("Hugo gives up waiting", "meeting.participant_left_waiting_room", "Hugo", "hugo-1", 11, "hugo@example.com"),
]


def replay(api=None, quiet=False):
    """Sends REPLAY, then LEAVE_AS_FOUND. Returns the count before and, per
    delivery, (webhook status, body, count after)."""
    api = api or f"http://127.0.0.1:{DEV_PORTS['api']}"
    start = int(time.time())
    before = count(api).get("count")
    results = []
    if not quiet:
        print(f"count before: {before}")
    for section, script in (("", REPLAY), ("leaving the room as the replay found it:", LEAVE_AS_FOUND)):
        if section and not quiet:
            print(section)
        for what, event, name, uuid, dt, email in script:
            s, _, b = deliver(api, participant_event(event, name, uuid, start + dt, email))
            after = count(api)
            results.append((s, json.loads(b) if s == 200 else b, after.get("count")))
            if not quiet:
                print(f"{what:55} -> webhook {s} {b:40} count {after.get('count')} ({after.get('source')})")
    if not quiet:
        final = results[-1][2] if results else None
        print(f"count after: {final} ({'as before' if final == before else f'before it was {before}'})")
    return before, results


def curl_lines(api, real=False):
    lines = []
    devices = {} if real else DEVICES
    for name, d in devices.items():
        key = d["key"]
        lines += [
            f"# {name}: room {d['room']}, owner {d['owner']} (no email: the link goes to the owner; another email: 403)",
            f"curl -i -X POST {api}/join-meeting -H 'Authorization: Bearer {key}' -d ''",
            f"curl -i {api}/participant-count -H 'Authorization: Bearer {key}'",
            f"curl -s {api}/participant-count -H 'Authorization: Bearer {key}' -H 'Accept: application/json'",
        ]
    key = DEMO_DEVICE_KEY
    lines += [
        f"# {DEMO_DEVICE}: a legacy device_keys entry (the default room kitchen, any recipient)",
        f"curl -i -X POST {api}/join-meeting -H 'Authorization: Bearer {key}' -d 'email=bob@example.com'",
        f"curl -i {api}/participant-count -H 'Authorization: Bearer {key}'",
        "# a second invite from the same device within KITCHEN_INVITE_INTERVAL_SECONDS (30): 429 too_many_invites + Retry-After",
    ]
    return "\n".join(lines)


def kitchenctl_env(stack):
    """The environment kitchenctl needs to look after the local stack (as the
    functions see it, plus the API's URL for device URLs and sign-in links)."""
    env = {**stack.aws_env(), "ZOOM_SECRET_ID": SECRET_ID, **stack.rooms_env(),
           "ZOOM_TECH_USER": stack.function_env()["ZOOM_TECH_USER"], "KITCHEN_PRESENCE_TABLE": PRESENCE_TABLE,
           "KITCHEN_API_URL": stack.api}
    env.pop("AWS_DEFAULT_REGION", None)
    if not stack.real_zoom:
        env["ZOOM_API_URL"] = f"{stack.sim}/v2"
        env["ZOOM_OAUTH_URL"] = f"{stack.sim}/oauth/token"
    return env


def kitchenctl_lines(stack):
    exports = " ".join(f"{k}={shell_quote(v)}" for k, v in kitchenctl_env(stack).items())
    return "\n".join([
        "# kitchenctl against the local stack (infra/kitchenctl/README.md):",
        f"export {exports}",
        "cargo run -q -p kitchenctl -- doctor      # also: status, device list, viewer add NAME, announce kitchen 'cake!'",
    ])


def shell_quote(v):
    return v if all(c.isalnum() or c in "-_./:@=," for c in v) else "'" + v.replace("'", "'\\''") + "'"


def real_zoom_configured():
    return (all(os.environ.get(v) for v in ("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET", "ZOOM_TECH_USER"))
            and any(os.environ.get(v) for v in ("ZOOM_MEETING_ID", "KITCHEN_ROOMS")))


def up():
    real = real_zoom_configured()
    stack = Stack(real_zoom=real, ports=DEV_PORTS, log_dir=LOG_DIR)
    try:
        stack.start()
        if not real:
            print("reconcile, twice (seeding presence from the simulator):", stack.seed())
        rooms = stack.rooms_env()
        print(f"\nReady: Coffee Kitchen is running on {stack.api} ({'REAL Zoom' if real else 'Zoom simulator at ' + stack.sim})")
        print(f"rooms: {rooms.get('KITCHEN_ROOMS') or 'kitchen = meeting ' + rooms.get('ZOOM_MEETING_ID', '?')}")
        print(f"logs: {stack.log_dir}/*.log (notices: stream-poller.log)\n")
        print(curl_lines(stack.api, real))
        print("\n# the page: open a sign-in link in a browser (the key is kept in the browser, then removed from the address bar)")
        for name, v in VIEWERS.items():
            print(f"{stack.api}/#k={v['key']}    ({name}{', admin: End and Announce' if v['admin'] else ', viewer'})")
        if not real:
            print(f"\n# messages the simulator 'delivered' (invites, notices in the rooms' channels, announcements):\ncurl -s {stack.sim}/_sim/messages")
            print("# someone joins / leaves a room (the simulator sends Zoom's signed webhook; a join into an")
            print("# empty room posts 'someone is in the lounge' to its channel through the stream -> notify):")
            print(f"curl -s {stack.sim}/_sim/join -H 'content-type: application/json' -d '{{\"name\":\"Erin\",\"email\":\"erin@example.com\",\"room\":\"lounge\"}}'")
            print(f"curl -s {stack.sim}/_sim/leave -H 'content-type: application/json' -d '{{\"name\":\"Erin\",\"room\":\"lounge\"}}'")
            print(f"curl -s {stack.sim}/_sim/join -H 'content-type: application/json' -d '{{\"name\":\"Erin\",\"email\":\"erin@example.com\"}}'   # the kitchen")
            print("# a scripted replay in the kitchen (duplicates, out of order, two devices; leaves the room as it found it): make replay")
        print()
        print(kitchenctl_lines(stack))
        print("\nCtrl-C stops everything.")
        # Ctrl-C and SIGTERM both stop everything, even when started with SIGINT ignored.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
        while all(p.poll() is None for _, p in stack.procs):
            time.sleep(1)
        sys.exit("a component stopped; see the logs in " + stack.log_dir)
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


def wait_for(what, probe, timeout):
    """Polls `probe` until it returns something truthy or `timeout` seconds pass."""
    deadline = time.time() + timeout
    while True:
        got = probe()
        if got or time.time() > deadline:
            return got
        time.sleep(0.5)


def e2e():
    stack = Stack(log_dir=os.path.join(LOG_DIR, "e2e"))
    failures = []

    def check(name, cond, detail=""):
        print(("ok   " if cond else "FAIL ") + name + ("" if cond else f"  ({detail})"), flush=True)
        if not cond:
            failures.append(name)

    def messages():
        return json.loads(http("GET", f"{stack.sim}/_sim/messages")[2])

    def channel_posts(room):
        return [m for m in messages() if m.get("to_channel") == DEMO_ROOMS[room]["channel"]]

    def invite(key, body, path="/join-meeting"):
        s, h, b = http("POST", f"{stack.api}{path}", body,
                       {"Authorization": f"Bearer {key}", "Content-Type": "application/x-www-form-urlencoded"}, timeout=180)
        try:
            return s, {k.lower(): v for k, v in h.items()}, json.loads(b)
        except ValueError:
            return s, h, {"raw": b}

    def sim_join(name, email=None, room=None):
        body = {"name": name, **({"email": email} if email else {}), **({"room": room} if room else {})}
        return http("POST", f"{stack.sim}/_sim/join", json.dumps(body).encode(), {"content-type": "application/json"}, timeout=120)

    kitchen, lounge = DEVICES["kitchen-desk"], DEVICES["lounge-desk"]
    try:
        stack.start()
        auth = {"Authorization": f"Bearer {DEMO_DEVICE_KEY}"}
        join_urls = {r["room"]: r["join_url"] for r in json.loads(http("GET", f"{stack.sim}/_sim/rooms")[2])}

        # Two rooms, three devices: each device is counted in its own room.
        s, _, b = http("GET", f"{stack.api}/participant-count", None, {"Authorization": f"Bearer {kitchen['key']}"}, timeout=180)
        check("kitchen-desk: count as plain integer (atoi) -> 3", s == 200 and b.strip() == "3", f"{s} {b!r}")
        c = count(stack.api, kitchen["key"])
        check("kitchen-desk: JSON count names its room", c.get("count") == 3 and c.get("room") == "kitchen"
              and c.get("meeting_id") == DEMO_MEETING_ID and c.get("stale") is False, str(c))
        c = count(stack.api, lounge["key"])
        check("lounge-desk: its own room, empty -> 0", c.get("count") == 0 and c.get("room") == "lounge", str(c))
        s, h, b = http("GET", f"{stack.api}/participant-count", None, auth)
        check("legacy device_keys device: the default room kitchen (plain 3)", s == 200 and b.strip() == "3", f"{s} {b!r}")

        # Owner binding, limits and the legacy device.
        s, _, b = invite(kitchen["key"], b"email=bob%40example.com")
        check("kitchen-desk: another email than the owner's -> 403 recipient_not_owner",
              s == 403 and b.get("error") == "recipient_not_owner", f"{s} {b}")
        check("... and nothing was sent", messages() == [], str(messages()))
        s, _, b = invite(kitchen["key"], b"")
        sent = messages()
        check("kitchen-desk: no email -> 200, the kitchen's link to the owner",
              s == 200 and b.get("message_id") and len(sent) == 1 and sent[0]["to_contact"] == kitchen["owner"]
              and join_urls["kitchen"] in sent[0]["message"], f"{s} {b} {sent}")
        s, h, b = invite(kitchen["key"], b"email=alice%40example.com")
        retry = h.get("retry-after", "")
        check("kitchen-desk: a second invite within the interval -> 429 too_many_invites with Retry-After",
              s == 429 and b.get("error") == "too_many_invites" and retry.isdigit() and 0 < int(retry) <= 30, f"{s} {h} {b}")
        check("... and nothing was sent", len(messages()) == 1, str(messages()))
        s, _, b = invite(lounge["key"], b"email=erin%40example.com", "/join-meetings")
        sent = messages()
        check("lounge-desk: the owner's own email on legacy /join-meetings -> 200, the lounge's link",
              s == 200 and len(sent) == 2 and sent[-1]["to_contact"] == lounge["owner"]
              and join_urls["lounge"] in sent[-1]["message"], f"{s} {b} {sent[-1:]}")
        s, _, b = invite(DEMO_DEVICE_KEY, b"email=not-an-email")
        check("legacy device: bad email -> 400 JSON", s == 400 and b.get("error") == "invalid_email", f"{s} {b}")
        s, _, b = invite(DEMO_DEVICE_KEY, b"email=nobody@example.com")
        check("legacy device: unknown recipient -> 404", s == 404 and b.get("error") == "recipient_not_found", f"{s} {b}")
        s, _, b = invite(DEMO_DEVICE_KEY, b"email=stranger@example.com")
        check("legacy device: non-contact -> 422", s == 422 and b.get("error") == "recipient_not_a_contact", f"{s} {b}")
        s, _, b = invite(DEMO_DEVICE_KEY, b"email=bob@example.com")
        sent = messages()
        check("legacy device: any recipient -> 200 with the kitchen's link (the Zoom refusals used no allowance)",
              s == 200 and sent[-1]["to_contact"] == "bob@example.com" and join_urls["kitchen"] in sent[-1]["message"],
              f"{s} {b} {sent[-1:]}")
        s, _, b = http("GET", f"{stack.api}/participant-count")
        check("no device key -> 401 JSON", s == 401 and json.loads(b)["error"] == "invalid_device_key", f"{s} {b}")
        s, _, b = http("DELETE", f"{stack.api}/participant-count", None, auth)
        check("wrong method -> 405", s == 405, f"{s} {b}")
        stats = json.loads(http("GET", f"{stack.sim}/_sim/stats")[2])
        check("one token for every call of each warm function (invite, count)", stats["token_requests"] <= 2, str(stats))

        # Presence from webhooks, both rooms.
        s, _, b = http("POST", f"{stack.sim}/_sim/webhook/validate")
        check("Zoom's endpoint.url_validation round trip", s == 200, f"{s} {b}")
        seeded = stack.seed()
        check("reconcile seeds presence from Zoom", seeded.get("status") == "repaired" and seeded.get("count") == 3,
              str(seeded))
        check("count after seeding: 3", count(stack.api).get("count") == 3)
        posts = wait_for("the kitchen's notice", lambda: channel_posts("kitchen"), 120)
        check("the kitchen filling (seeded) posts one notice to its channel, through the stream and notify",
              len(posts) == 1 and join_urls["kitchen"] in posts[0]["message"], str(posts))
        http("POST", f"{stack.sim}/_sim/stats/reset")
        s, _, b = sim_join("Erin", "erin@example.com")
        check("simulator delivered the signed join webhook", s == 200 and json.loads(b)["webhook"]["status"] == 200, b)
        c = count(stack.api)
        check("the join shows on the next count request", c.get("count") == 4 and c.get("source") == "webhook", str(c))
        for _ in range(20):
            count(stack.api)
        st = json.loads(http("GET", f"{stack.sim}/_sim/stats")[2])
        check("zero Zoom calls for presence count requests", st["dashboard_requests"] == 0, str(st))
        check("a second person in the kitchen posts nothing new", len(channel_posts("kitchen")) == 1, str(channel_posts("kitchen")))
        http("POST", f"{stack.sim}/_sim/leave", json.dumps({"name": "Erin"}).encode(), {"content-type": "application/json"})
        check("the leave shows on the next count request", count(stack.api).get("count") == 3)
        s, _, b = sim_join("Finn", "finn@example.com", room="lounge")
        check("a join into the lounge: signed webhook delivered", s == 200 and json.loads(b)["webhook"]["status"] == 200, b)
        c = count(stack.api, lounge["key"])
        check("lounge-desk counts the lounge only: 1", c.get("count") == 1 and c.get("room") == "lounge", str(c))
        check("kitchen-desk still counts 3", count(stack.api, kitchen["key"]).get("count") == 3)
        posts = wait_for("the lounge's notice", lambda: channel_posts("lounge"), 60)
        check("the lounge filling posts 'someone is in the lounge' to its channel",
              len(posts) == 1 and join_urls["lounge"] in posts[0]["message"], str(posts))
        http("POST", f"{stack.sim}/_sim/leave", json.dumps({"name": "Finn", "room": "lounge"}).encode(),
             {"content-type": "application/json"})
        check("the lounge's leave shows: 0", count(stack.api, lounge["key"]).get("count") == 0)

        before, results = replay(stack.api, quiet=True)
        counts = [r[2] for r in results]
        expected = [before + d for d in (1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 1, 0, 0)]
        check("replay: duplicates, two devices, out of order, waiting room, rejoin", counts[:len(REPLAY)] == expected[:len(REPLAY)],
              f"{counts} != {expected}")
        check("replay leaves the room as it found it", counts == expected and counts[-1] == before, f"{counts} != {expected}")
        s, _, b = deliver(stack.api, participant_event("meeting.participant_joined", "Mallory", "m-1", time.time()), secret="wrong")
        check("bad signature -> 401, nothing stored", s == 401 and count(stack.api).get("count") == expected[-1], f"{s} {b}")
        s, _, b = deliver(stack.api, participant_event("meeting.participant_joined", "Stale", "s-1", time.time()), ts=int(time.time()) - 600)
        check("stale timestamp -> 401", s == 401, f"{s} {b}")

        # The operator's tool against this stack, as `make dev` prints it.
        out = subprocess.run(["cargo", "run", "-q", "-p", "kitchenctl", "--", "doctor", "--json"], cwd=ROOT,
                             env={**os.environ, **kitchenctl_env(stack)}, capture_output=True, text=True, timeout=600)
        try:
            report = json.loads(out.stdout)
        except ValueError:
            report = {}
        check("kitchenctl doctor on the local stack: every check ok, exit 0", out.returncode == 0 and report.get("ok") is True,
              f"exit {out.returncode}: {[c for c in report.get('checks', []) if not c.get('ok')] or out.stdout + out.stderr}")

        logs = "".join(open(os.path.join(stack.log_dir, f)).read() for f in ("watch.log", "stream-poller.log"))
        keys = [DEMO_DEVICE_KEY, "demo-client-secret", DEMO_WEBHOOK_TOKEN] + [d["key"] for d in DEVICES.values()]
        keys += [v["key"] for v in VIEWERS.values()]
        leaked = [k for k in keys if k in logs]
        leaked += [m.group(0) for m in __import__("re").finditer(r"(?i)bearer [A-Za-z0-9._-]{20,}", logs)]
        check("no secret or device key in the function logs", not leaked, str(leaked))
    finally:
        stack.stop()
    if failures:
        sys.exit(f"{len(failures)} end-to-end check(s) failed; logs in {stack.log_dir}")
    print("end-to-end: all checks passed")


if __name__ == "__main__":
    {"up": up, "e2e": e2e, "replay": replay}.get(sys.argv[1] if len(sys.argv) > 1 else "", lambda: sys.exit(__doc__))()
