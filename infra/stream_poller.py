#!/usr/bin/env python3
"""The local stand-in for Lambda's DynamoDB stream event source mapping: reads
the presence table's stream in moto and invokes the `notify` function the way
the template's mapping does.

  stream_poller.py --table coffee-kitchen-presence-dev \
      --invoke http://127.0.0.1:9000/2015-03-31/functions/notify/invocations

What it does, like the mapping in template.yaml:
* enables the stream (KEYS_ONLY, as the template does) on the table if it has none (moto only;
  the stack declares it);
* reads every shard from TRIM_HORIZON, in batches of up to --batch-size records,
  keeping only session and meta rows (the mapping's FilterCriteria);
* invokes the function with the event Lambda delivers (`{"Records": [...]}`, each
  record the Streams API's plus `eventSourceARN`, times as epoch seconds) through
  `cargo lambda watch`'s Invoke API (the same path `cargo lambda invoke` uses);
* `ReportBatchItemFailures`: a `batchItemFailures` answer retries from the
  lowest failed sequence number; a function error (HTTP error or an
  `errorType` body) splits the batch in two (bisect on error);
* after --max-retries retries of a batch, sends Lambda's on-failure record
  (`requestContext.condition = RetryAttemptsExhausted` and `DDBStreamBatchInfo`
  naming the shard and sequence numbers, not the records) to the SQS queue
  --dlq (created in moto if missing), and moves on.

AWS comes from the usual variables (AWS_ENDPOINT_URL pointing at moto). Every
invocation and its outcome is printed on one line.
"""
import argparse
import datetime
import json
import os
import sys
import time
import urllib.error
import urllib.request

import boto3


def log(msg):
    print(f"[stream-poller] {msg}", flush=True)


def ensure_stream(ddb, table):
    desc = ddb.describe_table(TableName=table)["Table"]
    if desc.get("LatestStreamArn"):
        return desc["LatestStreamArn"]
    desc = ddb.update_table(
        TableName=table,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )["TableDescription"]
    log(f"enabled the stream of {table}")
    return desc["LatestStreamArn"]


def epoch(value):
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return value


def lambda_record(record, stream_arn):
    """A Streams API record as Lambda delivers it to the function."""
    out = dict(record)
    out["dynamodb"] = dict(record["dynamodb"])
    if "ApproximateCreationDateTime" in out["dynamodb"]:
        out["dynamodb"]["ApproximateCreationDateTime"] = epoch(out["dynamodb"]["ApproximateCreationDateTime"])
    out["eventSourceARN"] = stream_arn
    return out


def wanted(record):
    """The mapping's FilterCriteria: only session and meta rows can change who
    is in a room (notify's own notice rows never reach it)."""
    sk = record.get("dynamodb", {}).get("Keys", {}).get("sk", {}).get("S", "")
    return sk.startswith("session#") or sk == "meta"


def invoke(url, records, timeout):
    """(failed sequence numbers, function error or None)."""
    body = json.dumps({"Records": records}, default=str).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return [], f"HTTP {e.code}: {e.read().decode('utf-8', 'replace')[:200]}"
    except (urllib.error.URLError, OSError) as e:
        return [], f"invoke failed: {e}"
    try:
        answer = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return [], f"unreadable answer: {text[:200]}"
    if isinstance(answer, dict) and answer.get("errorType"):
        return [], f"{answer.get('errorType')}: {answer.get('errorMessage')}"
    failures = (answer or {}).get("batchItemFailures") or []
    return [f.get("itemIdentifier") for f in failures if f.get("itemIdentifier")], None


class Mapping:
    def __init__(self, args):
        self.args = args
        self.ddb = boto3.client("dynamodb")
        self.streams = boto3.client("dynamodbstreams")
        self.sqs = boto3.client("sqs")
        self.stream_arn = ensure_stream(self.ddb, args.table)
        self.dlq_url = self.sqs.create_queue(QueueName=args.dlq)["QueueUrl"]
        self.iterators = {}  # shard id -> iterator (None: closed and drained)

    def refresh_shards(self):
        desc = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in desc.get("Shards", []):
            sid = shard["ShardId"]
            if sid not in self.iterators:
                self.iterators[sid] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]

    def dead_letter(self, shard_id, batch, attempts, why):
        info = {
            "requestContext": {
                "requestId": f"local-{int(time.time() * 1000)}",
                "functionArn": f"arn:aws:lambda:local:000000000000:function:{self.args.function}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": why},
            "version": "1.0",
            "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": str(batch[0]["dynamodb"].get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": str(batch[-1]["dynamodb"].get("ApproximateCreationDateTime")),
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }
        self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=json.dumps(info))
        log(f"{len(batch)} record(s) from {info['DDBStreamBatchInfo']['startSequenceNumber']} -> dead-letter queue {self.args.dlq} ({why})")

    def deliver(self, shard_id, batch):
        """Invokes until the batch is done, retried out, or bisected into parts."""
        pending = [batch]
        while pending:
            part = pending.pop(0)
            attempts = 0
            while part:
                attempts += 1
                failed, error = invoke(self.args.invoke, part, self.args.timeout)
                if error is None and not failed:
                    log(f"invoked {self.args.function} with {len(part)} record(s): ok")
                    break
                if error is not None and len(part) > 1:
                    half = len(part) // 2
                    log(f"function error ({error}); bisecting {len(part)} records")
                    pending[:0] = [part[:half], part[half:]]
                    part = None
                    break
                if error is None:
                    seqs = [r["dynamodb"]["SequenceNumber"] for r in part]
                    known = [s for s in failed if s in seqs]
                    start = min((seqs.index(s) for s in known), default=0)
                    log(f"invoked {self.args.function} with {len(part)} record(s): retry from {seqs[start]}")
                    part = part[start:]
                    why = "batch item failure"
                else:
                    log(f"function error ({error})")
                    why = error
                if attempts > self.args.max_retries:
                    self.dead_letter(shard_id, part, attempts, why)
                    break
                time.sleep(min(self.args.backoff * 2 ** (attempts - 1), 30))

    def poll_once(self):
        self.refresh_shards()
        busy = False
        for sid, it in list(self.iterators.items()):
            if it is None:
                continue
            try:
                out = self.streams.get_records(ShardIterator=it, Limit=self.args.batch_size)
            except self.streams.exceptions.ExpiredIteratorException:
                self.iterators[sid] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                continue
            self.iterators[sid] = out.get("NextShardIterator")
            records = [lambda_record(r, self.stream_arn) for r in out.get("Records", []) if wanted(r)]
            if records:
                busy = True
                self.deliver(sid, records)
        return busy

    def run(self):
        log(f"reading the stream of {self.args.table}, invoking {self.args.invoke}")
        while True:
            try:
                busy = self.poll_once()
            except Exception as e:  # keep polling: moto or the watcher may restart
                log(f"polling failed: {e}")
                busy = False
            if not busy:
                time.sleep(self.args.interval)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--table", default=os.environ.get("KITCHEN_PRESENCE_TABLE"), required="KITCHEN_PRESENCE_TABLE" not in os.environ)
    p.add_argument("--function", default="notify")
    p.add_argument("--invoke", help="the Invoke API URL (default: cargo lambda watch on 127.0.0.1:9000)")
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--max-retries", type=int, default=3, help="like MaximumRetryAttempts")
    p.add_argument("--backoff", type=float, default=1.0, help="seconds before the first retry; doubles")
    p.add_argument("--dlq", default="coffee-kitchen-notify-dlq-dev")
    p.add_argument("--interval", type=float, default=0.5, help="seconds between empty polls")
    p.add_argument("--timeout", type=float, default=120, help="seconds per invocation (the first builds the function)")
    args = p.parse_args()
    if not args.invoke:
        args.invoke = f"http://127.0.0.1:9000/2015-03-31/functions/{args.function}/invocations"
    try:
        Mapping(args).run()
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
