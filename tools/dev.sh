#!/usr/bin/env bash
# Developer entry point (the two commands at the top of README.md). Safe to run again and again.
#
#   bash tools/dev.sh up [--dir DIR] [--port PORT]   install what is missing, start a local cluster (ZooKeeper +
#                                                    3 brokers, default DIR=run) and show a produce/consume round trip
#   bash tools/dev.sh down [--dir DIR]               stop it (the data stays in DIR)
#   bash tools/dev.sh test [TIER] [PYTEST ARGS...]   install what is missing, `ruff check`, then the test suite:
#                                                    all of it, or one tier: unit (no ZooKeeper, no processes;
#                                                    seconds), zk (real ZooKeeper), cluster (broker processes)
#   bash tools/dev.sh setup                          only install
#
# "Install what is missing": the Debian packages `zookeeper`, `kcat`, `golang-go`,
# `golang-github-shopify-sarama-dev`, chromium and a C compiler (apt-get install -y; apt-get update
# only if that fails), and a virtualenv in .venv with `pip install -e '.[test]'`, redone only when
# setup.cfg/pyproject.toml/setup.py or the C extension's source changed (a stamp file in .venv remembers
# their hash).
# Environment: PYTHON (interpreter for the venv, default python3.11 or python3 >= 3.11), ZOOKEEPER_HOME
# (use an Apache ZooKeeper directory instead of the Debian package).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
STAMP="$VENV/.kafka-zk-setup.sha256"
DEFAULT_DIR="run"
CHROOT="/kafka"   # the chroot `kafka-zk cluster up` uses (kafka_zk/launch/cluster.py)

log() { printf '[dev] %s\n' "$*" >&2; }
die() { printf '[dev] error: %s\n' "$*" >&2; exit 1; }

# -- system packages ---------------------------------------------------------------------------------------
apt_install() {
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "need root to install: $*  (run: apt-get install -y $*)"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || die "no apt-get on this machine; install by hand: $*"
    export DEBIAN_FRONTEND=noninteractive
    log "apt-get install -y $*"
    if ! "${sudo[@]}" apt-get install -y "$@"; then
        log "install failed; running apt-get update and trying again"
        "${sudo[@]}" apt-get update
        "${sudo[@]}" apt-get install -y "$@"
    fi
}

ensure_system_packages() {
    local missing=()
    if [ -z "${ZOOKEEPER_HOME:-}" ] && [ ! -e /usr/share/java/zookeeper.jar ]; then missing+=(zookeeper); fi
    command -v kcat >/dev/null 2>&1 || missing+=(kcat)
    # Go and Sarama (GOPATH mode, no network) for tests/cluster/test_sarama_versions.py
    command -v go >/dev/null 2>&1 || missing+=(golang-go)
    [ -d /usr/share/gocode/src/github.com/Shopify/sarama ] || missing+=(golang-github-shopify-sarama-dev)
    # a headless browser for tests/cluster/test_dashboard_browser.py (the HTTP admin's live dashboard)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
    # a C compiler for the client's codec extension (kafka_zk/client/_fastcodec.c; optional: without it the
    # build goes on and the client uses the pure-Python codec)
    command -v cc >/dev/null 2>&1 || missing+=(gcc)
    if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
}

# -- python virtualenv ---------------------------------------------------------------------------------------
find_python() {
    local candidates=()
    if [ -n "${PYTHON:-}" ]; then candidates=("$PYTHON"); else candidates=(python3.11 python3 python3.12 python3.13); fi
    for py in "${candidates[@]}"; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$py"; return 0
        fi
    done
    die "need Python >= 3.11 (apt-get install -y python3 python3-venv, or set PYTHON=/path/to/python3.11)"
}

setup_hash() { cat setup.cfg pyproject.toml setup.py kafka_zk/client/_fastcodec.c 2>/dev/null | sha256sum | cut -d' ' -f1; }

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        local py; py="$(find_python)"
        log "creating $VENV with $py"
        if ! "$py" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            local ver; ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            apt_install "python${ver}-venv"
            "$py" -m venv "$VENV"
        fi
    fi
    local want; want="$(setup_hash)"
    if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ] || [ ! -x "$VENV/bin/kafka-zk" ]; then
        log "pip install -e '.[test]' into $VENV"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -e '.[test]'
        echo "$want" > "$STAMP"
    fi
}

setup() { ensure_system_packages; ensure_venv; }

# -- commands --------------------------------------------------------------------------------------------------
# `test`: lint first (a finding fails fast, before minutes of tests), then pytest on everything or on one tier.
run_tests() {
    "$VENV/bin/ruff" check . || die "ruff check found problems (see above; \`ruff check --fix\` repairs many)"
    local paths=()
    case "${1:-}" in
        unit|zk|cluster) paths=("tests/$1"); shift ;;
    esac
    exec "$VENV/bin/python" -m pytest ${paths[@]+"${paths[@]}"} "$@"
}

parse_dir_port() {
    DIR="$DEFAULT_DIR"; PORT=""
    while [ $# -gt 0 ]; do
        case "$1" in
            --dir) [ $# -ge 2 ] || die "--dir needs a value"; DIR="$2"; shift 2 ;;
            --dir=*) DIR="${1#--dir=}"; shift ;;
            --port) [ $# -ge 2 ] || die "--port needs a value"; PORT="$2"; shift 2 ;;
            --port=*) PORT="${1#--port=}"; shift ;;
            *) die "unknown argument '$1' (expected --dir DIR or --port PORT)" ;;
        esac
    done
}

# `up`: a local cluster — a real ZooKeeper and 3 broker processes (`kafka-zk cluster up --brokers 3 --dir DIR`,
# which starts ZooKeeper under DIR/zookeeper), then a topic and a produce/consume round trip with our own CLI.
# A cluster already running in DIR is reused; a stopped one (e.g. after a reboot) is started again with its data.
# With --port, ZooKeeper is started first on that port and the brokers are pointed at it.
DEMO_TOPIC="hello-kafka-zk"
DEMO_GROUP="dev-sh-demo"

cluster_info() {  # "STATE bootstrap zookeeper" of the cluster in $DIR; STATE: running, partial, stopped or none
    "$VENV/bin/python" - "$DIR" <<'PY'
import sys
from pathlib import Path
from kafka_zk.launch.cluster import STATE_FILE, LocalCluster
c = LocalCluster(sys.argv[1])
if not (Path(sys.argv[1]) / STATE_FILE).exists():
    print("none - -")
else:
    up = [b.is_running() for b in c]
    state = "running" if all(up) else "partial" if any(up) else "stopped"
    print(state, c.bootstrap_servers, c.zookeeper_connect)
PY
}

stopped_brokers() {
    "$VENV/bin/python" -c 'import sys
from kafka_zk.launch.cluster import LocalCluster
print(" ".join(str(b.broker_id) for b in LocalCluster(sys.argv[1]) if not b.is_running()))' "$DIR"
}

start_stopped_brokers() {
    # A broker killed without a clean shutdown (or a reboot) leaves its /brokers/ids/<id> registration behind until
    # ZooKeeper expires the old session (zookeeper.session.timeout.ms, 18 s by default); a broker restarted before
    # then refuses to start, as Kafka's does. Wait for the expiry instead of failing.
    local kz="$VENV/bin/kafka-zk" id out attempt ids
    for attempt in $(seq 1 12); do
        ids="$(stopped_brokers)"
        [ -z "$ids" ] && return 0
        for id in $ids; do
            if out="$("$kz" cluster start --dir "$DIR" --broker "$id" 2>&1)"; then
                printf '%s\n' "$out"
            elif ! grep -q "is already registered" <<<"$out" || [ "$attempt" = 12 ]; then
                printf '%s\n' "$out" >&2
                die "broker $id did not start (its log: $DIR/broker-$id/broker.log)"
            fi
        done
        [ -z "$(stopped_brokers)" ] && return 0
        log "waiting for ZooKeeper to expire the previous broker session(s) (up to 18 s)"
        sleep 5
    done
}

bring_up() {
    local kz="$VENV/bin/kafka-zk" state bs connect
    read -r state bs connect < <(cluster_info)
    case "$state" in
        running) log "a cluster is already running in $DIR: reusing it" ;;
        partial) log "starting the stopped brokers of the cluster in $DIR"; start_stopped_brokers ;;
        *)
            [ "$state" = stopped ] && log "starting the stopped cluster in $DIR again (its data is kept)"
            local zk_args=()
            if [ -n "$PORT" ]; then
                local line
                line="$("$kz" zookeeper start --dir "$DIR/zookeeper" --port "$PORT")" || die "ZooKeeper did not start (see above)"
                zk_args=(--zookeeper "${line#zookeeper.connect=}$CHROOT")
            fi
            echo "# kafka-zk cluster up --brokers 3 --dir $DIR${zk_args[*]:+ ${zk_args[*]}}"
            local out
            if ! out="$("$kz" cluster up --brokers 3 --dir "$DIR" "${zk_args[@]}" 2>&1)"; then
                grep -q "is already registered" <<<"$out" || { printf '%s\n' "$out" >&2; die "the cluster did not start (broker logs: $DIR/broker-*/broker.log)"; }
                start_stopped_brokers
            else
                printf '%s\n' "$out"
            fi
            ;;
    esac
    read -r state bs connect < <(cluster_info)
    [ "$state" = running ] || die "the cluster in $DIR is not running (see: $kz cluster status --dir $DIR)"
    echo
    echo "# kafka-zk topics --bootstrap-server $bs --create --topic $DEMO_TOPIC --partitions 3 --replication-factor 3 --if-not-exists"
    "$kz" topics --bootstrap-server "$bs" --create --topic "$DEMO_TOPIC" --partitions 3 --replication-factor 3 --if-not-exists
    echo "# kafka-zk topics --zookeeper $connect --describe --topic $DEMO_TOPIC"
    "$kz" topics --zookeeper "$connect" --describe --topic "$DEMO_TOPIC"
    local stamp; stamp="$(date +%H:%M:%S)"
    echo
    echo "# kafka-zk produce --bootstrap-server $bs --topic $DEMO_TOPIC --key-separator : --acks all   (stdin: 3 lines KEY:VALUE)"
    printf 'alice:hello from alice at %s\nbob:hello from bob at %s\ncarol:hello from carol at %s\n' "$stamp" "$stamp" "$stamp" \
        | "$kz" produce --bootstrap-server "$bs" --topic "$DEMO_TOPIC" --key-separator : --acks all \
        || die "produce failed (broker logs: $DIR/broker-*/broker.log)"
    echo "# kafka-zk consume --bootstrap-server $bs --topic $DEMO_TOPIC --group $DEMO_GROUP --from-beginning --max-messages 3 --print-key"
    "$kz" consume --bootstrap-server "$bs" --topic "$DEMO_TOPIC" --group "$DEMO_GROUP" --from-beginning \
        --max-messages 3 --timeout-ms 20000 --print-key || die "consume failed (broker logs: $DIR/broker-*/broker.log)"
    echo
    echo "The cluster is up:  bootstrap.servers=$bs"
    echo "                    zookeeper.connect=$connect"
    echo "Look around:        .venv/bin/kafka-zk cluster status --dir $DIR"
    echo "                    .venv/bin/kafka-zk zk-tree --zookeeper $connect"
    local dir_arg=""
    if [ "$DIR" != "$DEFAULT_DIR" ]; then dir_arg=" --dir $DIR"; fi
    echo "Stop it:            bash tools/dev.sh down$dir_arg"
}

tear_down() {
    local kz="$VENV/bin/kafka-zk"
    if [ ! -x "$kz" ]; then
        log "no $kz: nothing was set up here"
        return 0
    fi
    if [ -f "$DIR/cluster.json" ]; then
        "$kz" cluster down --dir "$DIR"
    fi
    if compgen -G "$DIR/zookeeper/server-*/zookeeper.pid" >/dev/null; then
        "$kz" zookeeper stop --dir "$DIR/zookeeper"  # the one --port started (cluster down stops its own)
    fi
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    up) parse_dir_port "$@"; setup; bring_up ;;
    down) parse_dir_port "$@"; tear_down ;;
    test) setup; run_tests "$@" ;;
    setup) setup ;;
    *) die "usage: bash tools/dev.sh up [--dir DIR] [--port PORT] | down [--dir DIR] | test [unit|zk|cluster] [PYTEST ARGS...] | setup" ;;
esac
