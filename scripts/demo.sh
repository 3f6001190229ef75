#!/usr/bin/env bash
# The main job, end to end on this machine: start a local single-node Kafka and a Dovecot
# mailbox, load sample bounces, run bounce-stream, print the decoded events, stop everything.
#
#   DEMO_DIR   where the servers keep their state (default /tmp/bounce-stream-demo)
#   SAMPLES    .eml files or folders to load (default: the labelled corpus in tests/corpus/labeled)
#   DEMO_LAB=1 first let real MTAs (Postfix, Exim, OpenSMTPD, Sendmail, Courier, dma) produce fresh bounces
#              with the bounce lab (scripts/bounce-lab.sh, ~30 s, needs root) and load those
set -Eeuo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
DEMO_DIR="${DEMO_DIR:-/tmp/bounce-stream-demo}"

scripts/bootstrap.sh
PY="$REPO/.venv/bin/python"
BS="$REPO/.venv/bin/bounce-stream"

if [ "${DEMO_LAB:-0}" = 1 ] && [ -z "${SAMPLES:-}" ]; then
    printf '\n==> bounce lab: real MTAs produce bounces in %s/lab\n' "$DEMO_DIR"
    rm -rf "$DEMO_DIR/lab"
    scripts/bounce-lab.sh "$DEMO_DIR/lab"
    SAMPLES="$DEMO_DIR/lab"
fi
SAMPLES="${SAMPLES:-$REPO/tests/corpus/labeled}"

printf '\n==> starting Kafka and Dovecot in %s\n' "$DEMO_DIR"
"$PY" -m dev.stack up --dir "$DEMO_DIR"
service_pid=""
cleanup() {
    [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
    "$PY" -m dev.stack down --dir "$DEMO_DIR" >/dev/null || true
}
trap cleanup EXIT
# shellcheck disable=SC1091
set -a; source "$DEMO_DIR/stack.env"; set +a

umask 077
printf '%s\n' "$IMAP_PASSWORD" >"$DEMO_DIR/imap-password"
cat >"$DEMO_DIR/config.yaml" <<YAML
kafka:
  bootstrap_servers: $KAFKA_BOOTSTRAP
  events_topic: bounce-stream.events
  checkpoint_topic: bounce-stream.checkpoints
  dead_letter_topic: bounce-stream.dead-letter
mailboxes:
  - name: demo
    host: $IMAP_HOST
    port: $IMAP_PORT
    username: $IMAP_USER
    password_file: $DEMO_DIR/imap-password
    tls: false          # plain IMAP: local demo only
    folder: INBOX
metrics:
  port: 9108
logging:
  format: console
YAML

printf '\n==> loading sample bounces from %s\n' "$SAMPLES"
count=$("$PY" - "$SAMPLES" <<'PYTHON'
import imaplib, os, sys
from pathlib import Path
root = Path(sys.argv[1])
files = sorted(root.rglob("*.eml")) if root.is_dir() else [root]
imap = imaplib.IMAP4(os.environ["IMAP_HOST"], int(os.environ["IMAP_PORT"]))
imap.login(os.environ["IMAP_USER"], os.environ["IMAP_PASSWORD"])
for f in files:
    imap.append("INBOX", None, None, f.read_bytes())
imap.logout()
print(len(files))
PYTHON
)
printf '    %s messages appended\n' "$count"

printf '\n==> bounce-stream run (metrics on http://127.0.0.1:9108/metrics)\n'
"$BS" run --config "$DEMO_DIR/config.yaml" &
service_pid=$!
deadline=$(( $(date +%s) + 120 ))
until "$BS" checkpoint show --config "$DEMO_DIR/config.yaml" 2>/dev/null \
        | "$PY" -c "import json,sys; sys.exit(0 if any((json.loads(l)['checkpoint'] or {}).get('last_uid',0) >= $count for l in sys.stdin) else 1)"; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "demo: the mailbox was not drained in 120 s" >&2; exit 1; }
    sleep 1
done
kill -TERM "$service_pid"; wait "$service_pid" || true; service_pid=""

printf '\n==> decoded events (bounce-stream consume, read_committed)\n'
"$BS" consume --config "$DEMO_DIR/config.yaml" --idle-timeout 3 >"$DEMO_DIR/events.jsonl"
"$PY" - "$DEMO_DIR/events.jsonl" <<'PYTHON'
import collections, json, sys
rows = [json.loads(l)["value"] for l in open(sys.argv[1]) if l.strip()]
for r in rows[:15]:
    print(f"  {r['recipient']:<40} {r['reason']:<15} {r['status'] or '-':<7} "
          f"{'hard' if r['hard_bounce'] else 'soft':<4} uid={r['uid']} by={r['detected_by']}")
if len(rows) > 15:
    print(f"  ... {len(rows) - 15} more in {sys.argv[1]}")
print(f"\n  {len(rows)} events; by reason: "
      + ", ".join(f"{k}={v}" for k, v in collections.Counter(r['reason'] for r in rows).most_common()))
PYTHON
printf '\n==> checkpoint\n'
"$BS" checkpoint show --config "$DEMO_DIR/config.yaml"
printf '\n==> dead letters\n'
"$BS" consume --config "$DEMO_DIR/config.yaml" --topic dead-letter --idle-timeout 2 | head -5
