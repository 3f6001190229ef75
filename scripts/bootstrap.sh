#!/usr/bin/env bash
# Idempotent, cached installer for bounce-stream's development and test stack.
#
#   1. Debian packages: dovecot-imapd (IMAP server for integration tests) and kcat (independent
#      Kafka client). apt-get update/install only run when something is missing. No system
#      Dovecot is left running: tests start private instances with `dovecot -c FILE`.
#   2. .venv in the repo: the locked dependencies (`pip install --require-hashes -r
#      requirements.lock -r requirements-test.lock`, wheels only), then the project itself
#      editable with --no-deps --no-build-isolation (nothing unlocked is fetched). Skipped while
#      pyproject.toml and the lock files are unchanged (stamp file holding their hashes).
#      Regenerate the locks with scripts/lock.sh.
#   3. The Kafka broker classpath (kafka_2.13 + log4j2 backend) resolved from Maven Central into
#      ${BOUNCE_STREAM_CACHE:-$HOME/.cache/bounce-stream}/kafka-<version>/lib (outside git).
#
# Environment:
#   BOUNCE_STREAM_CACHE          cache root (default: $HOME/.cache/bounce-stream)
#   BOUNCE_STREAM_KAFKA_VERSION  override the kafka_2.13 version pinned in dev/versions.env
#   BOUNCE_STREAM_SKIP_APT=1     skip the Debian package step (e.g. not root, already installed)
#   BOUNCE_STREAM_SKIP_VENV=1    skip the virtualenv step
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../dev/versions.env
source "$REPO/dev/versions.env"
KAFKA_VERSION="${BOUNCE_STREAM_KAFKA_VERSION:-$KAFKA_VERSION}"
CACHE="${BOUNCE_STREAM_CACHE:-$HOME/.cache/bounce-stream}"
KAFKA_HOME="$CACHE/kafka-$KAFKA_VERSION"
VENV="$REPO/.venv"
PYTHON="${PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf '\nbootstrap: ERROR: %s\n' "$*" >&2; exit 1; }
trap 'rc=$?; printf "\nbootstrap: FAILED (exit %s) at line %s: %s\n" "$rc" "$LINENO" "$BASH_COMMAND" >&2' ERR

START=$(date +%s)

# --------------------------------------------------------------------------- Debian packages
pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

stop_system_dovecot() {
    # The package's postinst may have started the system service; our tests run private
    # instances and must not find anything on 143/993.
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
    fi
    local pidfile=/run/dovecot/master.pid
    if [ -f "$pidfile" ]; then
        local pid
        pid="$(cat "$pidfile")"
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            info "stopping the system dovecot (pid $pid) started by the package"
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
}

install_debian_packages() {
    step "Debian packages"
    # prometheus brings promtool (metrics exposition and alert rule checks).
    local wanted=(dovecot-imapd kcat prometheus)
    command -v java >/dev/null 2>&1 || wanted+=(openjdk-17-jre-headless)
    command -v mvn >/dev/null 2>&1 || wanted+=(maven)
    "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 || wanted+=(python3-venv)
    local missing=()
    for p in "${wanted[@]}"; do pkg_installed "$p" || missing+=("$p"); done
    if [ "${#missing[@]}" -eq 0 ]; then
        info "already installed: ${wanted[*]}"
    else
        [ "$(id -u)" -eq 0 ] || die "need root to apt-get install ${missing[*]} (or install them yourself and set BOUNCE_STREAM_SKIP_APT=1)"
        # Forbid service starts during the install (invoke-rc.d honours policy-rc.d).
        local policy=/usr/sbin/policy-rc.d created_policy=0
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\nexit 101\n' >"$policy"
            chmod 755 "$policy"
            created_policy=1
        fi
        info "apt-get update (missing: ${missing[*]})"
        if ! DEBIAN_FRONTEND=noninteractive apt-get update -q >/tmp/bounce-stream-apt.log 2>&1; then
            [ "$created_policy" -eq 1 ] && rm -f "$policy"
            tail -20 /tmp/bounce-stream-apt.log >&2
            die "apt-get update failed (log: /tmp/bounce-stream-apt.log)"
        fi
        info "apt-get install -y ${missing[*]}"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${missing[@]}" >>/tmp/bounce-stream-apt.log 2>&1; then
            [ "$created_policy" -eq 1 ] && rm -f "$policy"
            tail -30 /tmp/bounce-stream-apt.log >&2
            die "apt-get install ${missing[*]} failed (log: /tmp/bounce-stream-apt.log)"
        fi
        [ "$created_policy" -eq 1 ] && rm -f "$policy"
    fi
    stop_system_dovecot
    command -v dovecot >/dev/null 2>&1 || die "dovecot not found after install"
    command -v doveadm >/dev/null 2>&1 || die "doveadm not found after install"
    command -v kcat >/dev/null 2>&1 || die "kcat not found after install"
    command -v promtool >/dev/null 2>&1 || die "promtool not found after install (package prometheus)"
    id dovecot >/dev/null 2>&1 && id dovenull >/dev/null 2>&1 \
        || die "users dovecot/dovenull missing (the dovecot-core package creates them)"
    info "dovecot $(dovecot --version | cut -d' ' -f1), kcat $(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\).*/\1/p' | head -1)"
}

# --------------------------------------------------------------------------- Python venv
setup_venv() {
    step "Python virtualenv ($VENV)"
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
        || die "$PYTHON is $("$PYTHON" --version 2>&1); bounce-stream needs Python >= 3.11"
    local stamp="$VENV/.bounce-stream-stamp" want
    local locks=("$REPO/requirements.lock" "$REPO/requirements-test.lock")
    for f in "${locks[@]}"; do [ -f "$f" ] || die "$f missing (scripts/lock.sh writes it)"; done
    want="$(cat "$REPO/pyproject.toml" "${locks[@]}" | sha256sum | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
    if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        info "up to date (pyproject.toml and lock files unchanged)"
        return
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        info "python3 -m venv .venv"
        "$PYTHON" -m venv "$VENV" || die "could not create $VENV (Debian: apt-get install python3-venv)"
    fi
    local pip=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
    info "pip install --require-hashes -r requirements.lock -r requirements-test.lock (log: $VENV/pip-install.log)"
    if ! (cd "$REPO" && "${pip[@]}" --require-hashes --only-binary :all: \
        -r requirements.lock -r requirements-test.lock) >"$VENV/pip-install.log" 2>&1; then
        tail -30 "$VENV/pip-install.log" >&2
        die "installing the locked dependencies failed (log: $VENV/pip-install.log)"
    fi
    info "pip install --no-deps --no-build-isolation -e ."
    if ! (cd "$REPO" && "${pip[@]}" --no-deps --no-build-isolation --no-index -e .) \
        >>"$VENV/pip-install.log" 2>&1; then
        tail -30 "$VENV/pip-install.log" >&2
        die "pip install --no-deps -e . failed (log: $VENV/pip-install.log)"
    fi
    printf '%s\n' "$want" >"$stamp"
    info "installed"
}

# --------------------------------------------------------------------------- Kafka classpath
resolve_kafka() {
    step "Kafka $KAFKA_VERSION broker classpath ($KAFKA_HOME/lib)"
    command -v java >/dev/null 2>&1 || die "java not found (Kafka 4.x needs Java 17+)"
    local jv
    jv="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    [ "${jv%%.*}" -ge 17 ] 2>/dev/null || die "Kafka 4.x needs Java 17+, found java.specification.version=$jv"
    if [ -f "$KAFKA_HOME/.complete" ] && [ -d "$KAFKA_HOME/lib" ]; then
        info "cached: $(find "$KAFKA_HOME/lib" -name '*.jar' | wc -l) jars"
        return
    fi
    command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to resolve Kafka from Maven Central)"
    local tmp
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/bounce-stream-kafka-pom.XXXXXX")"
    # Throw-away POM: kafka_2.13 brings the whole broker runtime except a logging backend
    # binding; log4j-core comes through kafka-server, slf4j-api 1.7.x needs log4j-slf4j-impl.
    cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.bounce-stream</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
    info "mvn dependency:copy-dependencies (throw-away POM in $tmp)"
    if ! (cd "$tmp" && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$tmp/lib") >"$tmp/mvn.log" 2>&1; then
        tail -30 "$tmp/mvn.log" >&2
        die "could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central (log: $tmp/mvn.log)"
    fi
    ls "$tmp/lib"/kafka_2.13-*.jar >/dev/null 2>&1 || die "kafka_2.13 jar missing from the resolved classpath"
    ls "$tmp/lib"/log4j-slf4j-impl-*.jar >/dev/null 2>&1 || die "slf4j binding missing from the resolved classpath"
    if ls "$tmp/lib"/slf4j-api-2.*.jar >/dev/null 2>&1; then
        die "slf4j-api 2.x on the classpath: use log4j-slf4j2-impl instead of log4j-slf4j-impl"
    fi
    mkdir -p "$KAFKA_HOME"
    rm -rf "$KAFKA_HOME/lib" "$KAFKA_HOME/.complete"
    mv "$tmp/lib" "$KAFKA_HOME/lib"
    (cd "$KAFKA_HOME/lib" && ls) >"$KAFKA_HOME/.complete"
    rm -rf "$tmp"
    info "resolved $(wc -l <"$KAFKA_HOME/.complete") jars, $(du -sh "$KAFKA_HOME/lib" | cut -f1)"
}

if [ "${BOUNCE_STREAM_SKIP_APT:-0}" != 1 ]; then install_debian_packages; fi
if [ "${BOUNCE_STREAM_SKIP_VENV:-0}" != 1 ]; then setup_venv; fi
resolve_kafka

step "done in $(( $(date +%s) - START )) s"
info "Kafka lib: $KAFKA_HOME/lib"
info "start the stack: $VENV/bin/python -m dev.stack up"
