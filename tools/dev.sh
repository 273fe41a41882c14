#!/usr/bin/env bash
# Developer entry point (the two commands at the top of README.md). Safe to run again and again.
#
#   bash tools/dev.sh up [--dir DIR] [--port PORT]   install what is missing, bring up what the project runs
#   bash tools/dev.sh down [--dir DIR]               stop it
#   bash tools/dev.sh test [PYTEST ARGS...]          install what is missing, run the whole test suite
#   bash tools/dev.sh setup                          only install
#
# "Install what is missing": the Debian packages `zookeeper` and `kcat` (apt-get install -y; apt-get update
# only if that fails), and a virtualenv in .venv with `pip install -e '.[test]'`, redone only when
# setup.cfg/pyproject.toml changed (a stamp file in .venv remembers their hash).
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

setup_hash() { cat setup.cfg pyproject.toml 2>/dev/null | sha256sum | cut -d' ' -f1; }

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

# What the project can run so far: a real ZooKeeper and Kafka's znode skeleton. When brokers exist, this is
# the one place to change: start them with `kafka-zk cluster up --dir "$DIR"` (which reuses the ZooKeeper
# under $DIR/zookeeper) and keep the zk-tree print at the end.
bring_up() {
    local kz="$VENV/bin/kafka-zk" line connect
    local port_args=()
    if [ -n "$PORT" ]; then port_args=(--port "$PORT"); fi
    line="$("$kz" zookeeper start --dir "$DIR/zookeeper" "${port_args[@]}")" || die "ZooKeeper did not start (see above)"
    connect="${line#zookeeper.connect=}"
    "$kz" zookeeper init --zookeeper "$connect$CHROOT" >/dev/null
    echo "# kafka-zk zk-tree --zookeeper $connect$CHROOT"
    "$kz" zk-tree --zookeeper "$connect$CHROOT"
    echo
    echo "ZooKeeper is up: zookeeper.connect=$connect$CHROOT   (data and logs: $DIR/zookeeper)"
    echo "Look again:      .venv/bin/kafka-zk zk-tree --zookeeper $connect$CHROOT"
    local dir_arg=""
    if [ "$DIR" != "$DEFAULT_DIR" ]; then dir_arg=" --dir $DIR"; fi
    echo "Stop it:         bash tools/dev.sh down$dir_arg"
}

tear_down() {
    local kz="$VENV/bin/kafka-zk"
    if [ -f "$DIR/cluster.json" ] && "$kz" cluster --help >/dev/null 2>&1; then
        "$kz" cluster down --dir "$DIR" || true
    fi
    if [ -x "$kz" ]; then
        "$kz" zookeeper stop --dir "$DIR/zookeeper"
    else
        log "no $kz: nothing was set up here"
    fi
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    up) parse_dir_port "$@"; setup; bring_up ;;
    down) parse_dir_port "$@"; tear_down ;;
    test) setup; exec "$VENV/bin/python" -m pytest "$@" ;;
    setup) setup ;;
    *) die "usage: bash tools/dev.sh up [--dir DIR] [--port PORT] | down [--dir DIR] | test [PYTEST ARGS...] | setup" ;;
esac
