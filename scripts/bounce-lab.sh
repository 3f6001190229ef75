#!/usr/bin/env bash
# The bounce lab: real MTAs (Postfix, Exim, OpenSMTPD, Sendmail, Courier, dma, chasquid, optionally
# Haraka, and variants of their bounce settings) run privately on loopback produce labelled
# bounces; Dovecot's LDA with the Pigeonhole Sieve plugin produces vacation auto-replies,
# OpenDMARC (a milter of a private Postfix) a DMARC failure report (ARF).
#
#   scripts/bounce-lab.sh OUT_DIR [--mta NAME]... [--timeout S] [--keep]
#   scripts/bounce-lab.sh --install-only     # install, then print the extracted root's path
#   scripts/bounce-lab.sh --install-haraka [OUT_DIR ...]  # also install the optional Haraka
#
# writes OUT_DIR/<mta>-<scenario>[-n].eml, OUT_DIR/labels.json (the corpus' labels format plus
# "recipient") and OUT_DIR/lab-report.txt. Score bounce-stream on it with
#   .venv/bin/python -m dev.bouncelab.score OUT_DIR
#
# Installs what it needs, cached and idempotent:
#   - the MTAs' Debian packages are NOT installed (they conflict with each other and their
#     postinst starts services): `apt-get download` into $CACHE/debs, with the libraries they
#     need that the machine lacks, and `dpkg-deb -x` into $CACHE/root (redone only when the set
#     of .deb files changes). No system service is enabled or started.
#   - system users the daemons insist on (postfix/postdrop, opensmtpd/opensmtpq, smmsp, courier),
#     created with useradd -r only if missing; empty mount points for Courier's compiled-in
#     directories (/etc/courier, /var/lib/courier, /usr/lib/courier).
#   - aiosmtpd in .venv (a test extra: scripts/bootstrap.sh installs it).
# The driver (dev/bouncelab) runs in a private mount namespace whose /etc/resolv.conf names only
# the lab's own resolver on 127.0.x.53: no DNS query leaves the machine.
#
# Environment: BOUNCE_STREAM_CACHE (default ~/.cache/bounce-stream); needs root.
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${BOUNCE_STREAM_CACHE:-$HOME/.cache/bounce-stream}/lab"
DEBS="$CACHE/debs"
ROOT="$CACHE/root"
PY="$REPO/.venv/bin/python"
MTA_PACKAGES=(postfix exim4-daemon-light exim4-base opensmtpd sendmail-bin sendmail-base sendmail-cf
              courier-mta courier-base courier-authlib opendmarc publicsuffix dma chasquid)
# Pigeonhole (Sieve vacation replies) is a plugin of the machine's own Dovecot LDA: the build of
# the installed dovecot-core's version.
DOVECOT_VERSION="$(dpkg-query -W -f='${Version}' dovecot-core 2>/dev/null || true)"

die() { printf 'bounce-lab: ERROR: %s\n' "$*" >&2; exit 1; }
info() { printf 'bounce-lab: %s\n' "$*"; }

[ $# -ge 1 ] || die "usage: scripts/bounce-lab.sh OUT_DIR [--mta NAME]... [--timeout S] [--keep]"
[ "$(id -u)" -eq 0 ] || die "needs root (private MTAs bind-mount a resolv.conf and switch users)"
command -v unshare >/dev/null || die "unshare (util-linux) not found"

pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

APT_UPDATED=0
download() {  # download PKG... into $DEBS unless a .deb of that name is cached
    local want=()
    for p in "$@"; do  # PKG or PKG=VERSION
        compgen -G "$DEBS/${p%%=*}_*.deb" >/dev/null || want+=("$p")
    done
    [ "${#want[@]}" -eq 0 ] && return 0
    info "apt-get download ${want[*]}"
    if ! (cd "$DEBS" && apt-get download -q "${want[@]}") >>"$CACHE/apt.log" 2>&1; then
        if [ "$APT_UPDATED" -eq 0 ]; then
            APT_UPDATED=1
            apt-get update -q >>"$CACHE/apt.log" 2>&1 || die "apt-get update failed ($CACHE/apt.log)"
            (cd "$DEBS" && apt-get download -q "${want[@]}") >>"$CACHE/apt.log" 2>&1 \
                || die "apt-get download ${want[*]} failed ($CACHE/apt.log)"
        else
            die "apt-get download ${want[*]} failed ($CACHE/apt.log)"
        fi
    fi
}

missing_libraries() {  # the lib* packages the cached MTA .debs depend on that are not installed
    local deb dep
    for deb in "$DEBS"/*.deb; do
        dpkg-deb -f "$deb" Depends | tr ',' '\n' | while read -r dep; do
            dep="${dep%%|*}"; dep="${dep%%(*}"; dep="${dep// /}"; dep="${dep%%:*}"
            case "$dep" in
                lib*) pkg_installed "$dep" || echo "$dep" ;;
            esac
        done
    done | sort -u
}

mkdir -p "$DEBS"
# m4 builds sendmail.cf from sendmail-cf's macros (a plain tool, no service).
if ! command -v m4 >/dev/null; then
    info "apt-get install m4"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q m4 >>"$CACHE/apt.log" 2>&1 || {
        apt-get update -q >>"$CACHE/apt.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q m4 >>"$CACHE/apt.log" 2>&1
    } || die "apt-get install m4 failed ($CACHE/apt.log)"
fi

chmod 755 "$CACHE" "$DEBS"  # apt-get download's sandbox user must be able to write there
download "${MTA_PACKAGES[@]}"
if [ -n "$DOVECOT_VERSION" ]; then
    for deb in "$DEBS"/dovecot-sieve_*.deb; do  # a cached build of another Dovecot goes
        [ -e "$deb" ] && [ "$(dpkg-deb -f "$deb" Version)" != "$DOVECOT_VERSION" ] && rm -f "$deb"
    done
    download "dovecot-sieve=$DOVECOT_VERSION"
else
    download dovecot-sieve
fi
for _ in 1 2 3; do  # the libraries' own library dependencies too
    mapfile -t LIBS < <(missing_libraries)
    [ "${#LIBS[@]}" -eq 0 ] && break
    before="$(ls "$DEBS" | wc -l)"
    download "${LIBS[@]}"
    [ "$(ls "$DEBS" | wc -l)" -eq "$before" ] && break
done

STAMP="$(cd "$DEBS" && ls ./*.deb | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$ROOT/.stamp" 2>/dev/null || true)" != "$STAMP" ]; then
    info "extracting $(ls "$DEBS"/*.deb | wc -l) packages into $ROOT"
    rm -rf "$ROOT"
    mkdir -p "$ROOT"
    for deb in "$DEBS"/*.deb; do dpkg-deb -x "$deb" "$ROOT"; done
    echo "$STAMP" >"$ROOT/.stamp"
fi

ensure_group() { getent group "$1" >/dev/null || groupadd -r "$1"; }
ensure_user() {  # ensure_user NAME GROUP
    ensure_group "$2"
    id "$1" >/dev/null 2>&1 || useradd -r -g "$2" -d /nonexistent -s /usr/sbin/nologin "$1"
}
ensure_user postfix postfix
ensure_group postdrop
ensure_user opensmtpd opensmtpd
ensure_user opensmtpq opensmtpq
# OpenSMTPD chroots its unprivileged processes into this compiled-in empty directory.
mkdir -p /var/lib/opensmtpd/empty
ensure_user smmsp smmsp
ensure_user courier courier
# Courier's and dma's paths are compiled in (/etc/courier, /var/lib/courier, /usr/lib/courier,
# /etc/dma): the lab bind-mounts private directories there inside its own mount namespace;
# these empty directories are the mount points.
mkdir -p /etc/courier /var/lib/courier /usr/lib/courier /etc/dma

# Optional: Haraka (npm, ~50 MB with its dependencies), only on request; the lab runs it when
# it is in the cache. No install scripts (its optional syslog module's native build).
HARAKA_VERSION=3.3.4
if [ "$1" = "--install-haraka" ]; then
    command -v npm >/dev/null || die "npm not found"
    # Haraka 3.3 needs Node.js >= 20 (its package.json engines; Debian 12's nodejs is 18).
    [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ] \
        || die "Haraka needs Node.js >= 20"
    if [ ! -f "$CACHE/haraka/node_modules/Haraka/bin/haraka" ]; then
        info "npm install Haraka@$HARAKA_VERSION into $CACHE/haraka"
        mkdir -p "$CACHE/haraka"
        npm install --prefix "$CACHE/haraka" --no-audit --no-fund --ignore-scripts \
            "Haraka@$HARAKA_VERSION" >"$CACHE/npm.log" 2>&1 || die "npm install failed ($CACHE/npm.log)"
    fi
    shift
    [ $# -ge 1 ] || exit 0
fi

if ! { [ -x "$PY" ] && "$PY" -c 'import aiosmtpd' 2>/dev/null; }; then
    info "installing the virtualenv (scripts/bootstrap.sh)"
    BOUNCE_STREAM_SKIP_APT=1 "$REPO/scripts/bootstrap.sh" >"$CACHE/bootstrap.log" 2>&1 \
        || die "scripts/bootstrap.sh failed ($CACHE/bootstrap.log)"
fi

if [ "$1" = "--install-only" ]; then
    echo "$ROOT"
    exit 0
fi
OUT="$1"
shift
cd "$REPO"
exec "$PY" -m dev.bouncelab "$OUT" --root "$ROOT" "$@"
