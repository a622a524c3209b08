# Shared set-up steps for start.sh and test.sh. Sourced, not executed.
# Each step is idempotent and fast when already done, so both commands can call all of them.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else log "need root to run: $* (install sudo or run as root)"; return 1; fi
}

apt_install() {
  log "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Node.js >= 22: the system one when new enough, else node@24 from the npm registry into .tools.
ensure_node() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 22 ]; then NODE=$(command -v node); else
    NODE="$TOOLS/node/node_modules/node/bin/node"
    if ! "$NODE" -v >/dev/null 2>&1; then
      log "system Node.js is $(node -v 2>/dev/null || echo missing); installing Node.js 24 into .tools/node"
      mkdir -p "$TOOLS/node"
      npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$TOOLS/node" node@24 >/dev/null
    fi
  fi
  export NODE
  export PATH="$(dirname "$NODE"):$PATH"
}

ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then return; fi
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then return; fi
  apt_install postgresql postgresql-contrib
}

ensure_npm_packages() {
  local stamp="$ROOT/node_modules/.install-stamp"
  if [ ! -f "$stamp" ] || [ "$ROOT/package-lock.json" -nt "$stamp" ]; then
    log "installing npm packages"
    # npm ci refuses a lock file that lacks other platforms' optional packages (some npm 11
    # releases leave them out); npm install then installs the same locked versions.
    (cd "$ROOT" && { npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-save --no-audit --no-fund --loglevel=error; })
    touch "$stamp"
  fi
}

# The platform's build (tsc into dist/), skipped when nothing it is made from changed since the
# last one: no file or directory under src/ (a deleted or renamed file changes its directory's
# time), no TypeScript config, not the lock file. The stamp is taken before tsc runs, so a file
# saved during a build is newer than it and the next start builds again. tsc itself is
# incremental (tsconfig.build.json), so a build after a small change is quick too.
build() {
  local stamp="$ROOT/dist/.build-stamp"
  if [ -f "$stamp" ] && [ -f "$ROOT/dist/cli/main.js" ] &&
    [ -z "$(newer_than "$stamp" "$ROOT/src" "$ROOT"/tsconfig*.json "$ROOT/package-lock.json")" ]; then
    log "the build is up to date"
  else
    log "building"
    mkdir -p "$ROOT/dist"
    touch "$stamp.next"
    (cd "$ROOT" && "$NODE" node_modules/typescript/bin/tsc -p tsconfig.build.json)
    mv "$stamp.next" "$stamp"
  fi
  build_web
}

# The first of the given files or directories (searched through) modified after $1, if any.
newer_than() {
  local reference=$1
  shift
  find "$@" -newer "$reference" -print -quit
}

# The dashboard's API types, generated from the OpenAPI document the routes declare (no server is
# started). The file is rewritten only when its text changes, so build_web's check below still
# skips an unchanged dashboard. Not committed: see docs/architecture.md, "One API contract".
# Skipped when neither src/ nor the generator changed since the last run (it takes seconds).
generate_api_types() {
  local stamp="$ROOT/dist/.api-types-stamp"
  if [ -f "$stamp" ] && [ -f "$ROOT/web/src/lib/api-types.generated.ts" ] &&
    [ -z "$(newer_than "$stamp" "$ROOT/src" "$ROOT/scripts/generate-api-types.ts" "$ROOT/package-lock.json")" ]; then
    return
  fi
  mkdir -p "$ROOT/dist"
  touch "$stamp.next"
  (cd "$ROOT" && "$NODE" --import tsx scripts/generate-api-types.ts)
  mv "$stamp.next" "$stamp"
}

# The dashboard (web/) built by Vite into web/dist, which the platform serves at /. Skipped when
# no file under web/ (the generated API types included) nor the lock file changed since the last build.
build_web() {
  generate_api_types
  local built="$ROOT/web/dist/index.html"
  if [ -f "$built" ] && [ -z "$(find "$ROOT/web" "$ROOT/package-lock.json" -type f -newer "$built" -not -path "$ROOT/web/dist/*" -print -quit)" ]; then
    return
  fi
  log "building the dashboard"
  (cd "$ROOT" && "$NODE" node_modules/vite/bin/vite.js build --config web/vite.config.ts --logLevel warn)
}

# poppler-utils' pdftotext: the billing tests read invoice PDFs back as text.
ensure_pdftotext() {
  if command -v pdftotext >/dev/null 2>&1; then return; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "pdftotext is missing and there is no apt-get to install it: the invoice PDF tests will fail and say so"
    return
  fi
  apt_install poppler-utils || log "could not install poppler-utils: the invoice PDF tests will fail and say so"
}

# promtool for the monitoring test (`promtool check rules` and `promtool test rules` on
# deploy/monitoring/): Debian's prometheus package ships it. Without it the test says why it
# skips those checks.
ensure_promtool() {
  if command -v promtool >/dev/null 2>&1; then return; fi
  # The policy is read whole first: `grep -q` stops at the first match, and under pipefail the
  # SIGPIPE apt-cache then gets made the test fail on a machine that has the package.
  local policy
  policy=$(apt-cache policy prometheus 2>/dev/null || true)
  if command -v apt-cache >/dev/null 2>&1 && grep -q 'Candidate: [0-9]' <<<"$policy"; then
    apt_install prometheus || log "could not install prometheus: the alert rule checks will be skipped and say so"
  else
    log "no prometheus package here (promtool): the alert rule checks will be skipped and say so"
  fi
}

# stripe-mock (Stripe's own API mock server) for the Stripe gateway tests, built from the Go
# module proxy into .tools/stripe-mock (STRIPE_MOCK_BIN may name another binary).
STRIPE_MOCK_VERSION=v0.203.0
ensure_stripe_mock() {
  if [ -n "${STRIPE_MOCK_BIN:-}" ] && [ -x "$STRIPE_MOCK_BIN" ]; then return; fi
  if [ -x "$TOOLS/stripe-mock/stripe-mock" ] && [ -f "$TOOLS/stripe-mock/$STRIPE_MOCK_VERSION" ]; then return; fi
  if ! command -v go >/dev/null 2>&1; then
    log "Go is missing, so stripe-mock cannot be built: the Stripe gateway tests will fail and say so"
    return
  fi
  log "building stripe-mock $STRIPE_MOCK_VERSION into .tools/stripe-mock"
  mkdir -p "$TOOLS/stripe-mock"
  if GOBIN="$TOOLS/stripe-mock" go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"; then
    touch "$TOOLS/stripe-mock/$STRIPE_MOCK_VERSION"
  else
    log "could not build stripe-mock: the Stripe gateway tests will fail and say so"
  fi
}

# Chromium for the browser tests: Debian's package (CHROMIUM_PATH may name another binary).
# When it cannot be installed the browser tests say why instead of passing silently.
ensure_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then return; fi
  if [ -x /usr/bin/chromium ]; then return; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "Chromium is missing and there is no apt-get to install it: the browser tests will fail and say so"
    return
  fi
  apt_install chromium || log "could not install Chromium: the browser tests will fail and say so"
}

# MinIO, the S3 server the backup tests store archives in (a real one, on loopback), built from
# the Go module proxy into .tools/minio once per version. MinIO publishes no semver tags, so the
# version is the module proxy's pseudo-version of a commit that builds with Go >= 1.24.
MINIO_MODULE_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
ensure_minio() {
  local dir="$TOOLS/minio"
  if [ -x "$dir/bin/minio" ] && [ "$(cat "$dir/version" 2>/dev/null)" = "$MINIO_MODULE_VERSION" ]; then export MINIO_BIN="$dir/bin/minio"; return; fi
  local go_bin
  go_bin=$(command -v go || true)
  if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
  if [ -z "$go_bin" ]; then
    apt_install golang-go || true
    go_bin=$(command -v go || true)
  fi
  if [ -z "$go_bin" ]; then
    log "Go is missing and could not be installed: the S3 backup tests will fail and say so"
    return
  fi
  log "building MinIO $MINIO_MODULE_VERSION from the Go module proxy into .tools/minio (several minutes, once)"
  mkdir -p "$dir"
  if GOBIN="$dir/bin" GOFLAGS=-buildvcs=false "$go_bin" install "github.com/minio/minio@$MINIO_MODULE_VERSION"; then
    echo "$MINIO_MODULE_VERSION" >"$dir/version"
    export MINIO_BIN="$dir/bin/minio"
  else
    log "building MinIO failed (Go $("$go_bin" env GOVERSION) may be too old; MinIO needs >= 1.24): the S3 backup tests will fail and say so"
  fi
}

# Caddy: the edge test runs it (with its own CA, offline) in front of the platform.
ensure_caddy() {
  if command -v caddy >/dev/null 2>&1; then return; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "Caddy is missing and there is no apt-get to install it: the TLS edge tests will fail and say so"
    return
  fi
  apt_install caddy || log "could not install Caddy: the TLS edge tests will fail and say so"
  # The package starts a system Caddy on ports 80/443; the tests start their own.
  if command -v systemctl >/dev/null 2>&1; then as_root systemctl disable --now caddy >/dev/null 2>&1 || true; fi
}

# Knot DNS: the custom-domain tests run it on a loopback port as the authoritative server their
# resolver asks (test/helpers/dns.ts). When it cannot be installed those tests say why.
ensure_knot() {
  if [ -x /usr/sbin/knotd ] && [ -x /usr/sbin/knotc ]; then return; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "Knot DNS is missing and there is no apt-get to install it: the custom-domain tests will fail and say so"
    return
  fi
  apt_install knot || log "could not install Knot DNS: the custom-domain tests will fail and say so"
  # The package starts a system knotd on port 53; the tests start their own.
  if command -v systemctl >/dev/null 2>&1; then as_root systemctl disable --now knot >/dev/null 2>&1 || true; fi
}

# Odoo's system prerequisites, for `saasctl odoo install` (which `npm start` runs when no Odoo is
# installed): Python with venv, the headers Odoo's pinned requirements build against (psycopg2:
# libpq; python-ldap: ldap, sasl; lxml: xml, xslt; Pillow: jpeg, zlib), wkhtmltopdf for PDF
# reports, fonts. Skipped with ODOO_BIN (the operator's own Odoo) and with ODOO_AUTO_INSTALL=false
# (the operator installs Odoo when they choose; tests that run `npm start` set it); a failure is
# logged, not fatal: the platform starts anyway and the installer says what is missing.
ODOO_DEBIAN_PACKAGES=(python3 python3-venv python3-dev build-essential libpq-dev libldap2-dev libsasl2-dev
  libxml2-dev libxslt1-dev libjpeg-dev zlib1g-dev wkhtmltopdf fonts-dejavu-core)
ensure_odoo_prerequisites() {
  if [ -n "${ODOO_BIN:-}" ] || [ "${ODOO_AUTO_INSTALL:-true}" = "false" ] || ! command -v dpkg >/dev/null 2>&1; then return; fi
  local missing=() package
  for package in "${ODOO_DEBIAN_PACKAGES[@]}"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  apt_install "${missing[@]}" || log "could not install ${missing[*]}: installing Odoo will fail and say why"
}

# Python's venv module: the installer tests make real virtual environments.
ensure_python_venv() {
  if python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then return; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "python3 with venv is missing and there is no apt-get to install it: the Odoo installer tests will fail and say so"
    return
  fi
  apt_install python3 python3-venv || log "could not install python3-venv: the Odoo installer tests will fail and say so"
}

# Kill Bill, the open-source billing server the Kill Bill provider talks to (seeds 000 and 003):
# its server war and a Jetty runner from Maven Central into .tools/killbill, once per version, and
# its PostgreSQL DDL taken out of the war's own jars (the PostgreSQL compatibility script first,
# then each module's ddl.sql), so the tests load Kill Bill's schema and not a copy of ours.
# KILLBILL_URL (an already running Kill Bill) makes this unnecessary; without Java the Kill Bill
# tests say why they skip.
KILLBILL_VERSION=0.22.26
KILLBILL_JETTY_RUNNER_VERSION=9.4.58.v20250814
MAVEN_CENTRAL=${MAVEN_CENTRAL:-https://repo1.maven.org/maven2}
ensure_killbill() {
  local dir="$TOOLS/killbill"
  if [ -n "${KILLBILL_URL:-}" ]; then return; fi
  local java_found="${KILLBILL_JAVA:-${JAVA_HOME:-}}" candidate
  for candidate in /usr/lib/jvm/java-17-openjdk-amd64/bin/java /usr/lib/jvm/temurin-17-jdk-amd64/bin/java; do
    if [ -x "$candidate" ]; then java_found=$candidate; fi
  done
  if [ -z "$java_found" ]; then
    log "no Java 17 (KILLBILL_JAVA, JAVA_HOME or /usr/lib/jvm): the Kill Bill tests will skip and say so (Debian: openjdk-17-jre-headless)"
  fi
  if [ -f "$dir/$KILLBILL_VERSION/killbill.war" ] && [ -f "$dir/$KILLBILL_VERSION/jetty-runner.jar" ] && [ -f "$dir/$KILLBILL_VERSION/ddl-postgresql.sql" ]; then return; fi
  if ! command -v unzip >/dev/null 2>&1; then apt_install unzip || true; fi
  log "downloading Kill Bill $KILLBILL_VERSION and Jetty $KILLBILL_JETTY_RUNNER_VERSION from Maven Central into .tools/killbill (about 70 MB, once)"
  local target="$dir/$KILLBILL_VERSION" work
  mkdir -p "$target"
  work=$(mktemp -d)
  if curl -fsSL -o "$work/killbill.war" "$MAVEN_CENTRAL/org/kill-bill/billing/killbill-profiles-killbill/$KILLBILL_VERSION/killbill-profiles-killbill-$KILLBILL_VERSION.war" &&
    curl -fsSL -o "$work/jetty-runner.jar" "$MAVEN_CENTRAL/org/eclipse/jetty/jetty-runner/$KILLBILL_JETTY_RUNNER_VERSION/jetty-runner-$KILLBILL_JETTY_RUNNER_VERSION.jar"; then
    (
      cd "$work" && unzip -q -o killbill.war 'WEB-INF/lib/killbill-*.jar' &&
        unzip -p WEB-INF/lib/killbill-util-"$KILLBILL_VERSION".jar org/killbill/billing/util/ddl-postgresql.sql >ddl.sql &&
        for module in util account catalog entitlement invoice payment subscription tenant usage beatrix; do
          # A newline between files: one that ends in a comment must not swallow the next statement.
          { echo; unzip -p WEB-INF/lib/killbill-"$module"-"$KILLBILL_VERSION".jar "org/killbill/billing/$module/ddl.sql"; } >>ddl.sql
        done &&
        { echo; unzip -p WEB-INF/lib/killbill-queue-*.jar org/killbill/queue/ddl.sql; } >>ddl.sql
    ) && mv "$work/ddl.sql" "$target/ddl-postgresql.sql" && mv "$work/jetty-runner.jar" "$target/jetty-runner.jar" && mv "$work/killbill.war" "$target/killbill.war" ||
      log "could not unpack Kill Bill's DDL: the Kill Bill tests will skip and say so"
  else
    log "could not download Kill Bill from $MAVEN_CENTRAL: the Kill Bill tests will skip and say so"
  fi
  rm -rf "$work"
}

# Docker for the Docker runtime's tests: an engine (DOCKER_HOST, else the system one at
# /var/run/docker.sock, else a dockerd of the suite's own under data/test-docker) and the fake
# Odoo image, built from a local debootstrap base because there is no image registry here. Both
# images are cached, keyed by a hash of what they are made from, so only the first run pays for
# them. Exports DOCKER_HOST and SAAS_TEST_DOCKER_IMAGE; when something is missing the Docker tests
# say why they skip (test/helpers/docker.ts).
TEST_DOCKER_DIR="$ROOT/data/test-docker"
TEST_DOCKER_IMAGE_REPO=saas-test/fake-odoo
docker_reachable() { docker ${1:+--host "$1"} version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ensure_docker() {
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      apt_install docker.io debootstrap || log "could not install docker.io/debootstrap: the Docker runtime tests will skip and say so"
    else
      log "dockerd or debootstrap is missing and there is no apt-get: the Docker runtime tests will skip and say so"
    fi
  fi
  if ! command -v docker >/dev/null 2>&1; then return; fi
  if [ -n "${DOCKER_HOST:-}" ] && docker_reachable "$DOCKER_HOST"; then :
  elif [ -S /var/run/docker.sock ] && docker_reachable unix:///var/run/docker.sock; then export DOCKER_HOST=unix:///var/run/docker.sock
  else start_test_dockerd || return 0; fi
  export DOCKER_HOST
  build_test_docker_image || log "could not build the fake Odoo image: the Docker runtime tests will skip and say so"
}

# A dockerd of the suite's own, left running between runs (its images are the cache), on one
# socket for the whole machine (TEST_DOCKER_SOCKET): a second checkout uses the running one
# instead of starting another, because two daemons would rewrite each other's iptables chains.
# Docker's own iptables rules stay on: they are what keeps one tenant's network from reaching
# another's (this host forwards between interfaces), and the tests check that isolation. No
# default bridge (--bridge=none): the runtime makes a network per tenant.
TEST_DOCKER_SOCKET=/run/saas-test-docker/docker.sock
start_test_dockerd() {
  local socket="unix://$TEST_DOCKER_SOCKET"
  if docker_reachable "$socket"; then DOCKER_HOST=$socket; return; fi
  if [ "$(id -u)" != 0 ]; then log "dockerd must run as root and no Docker engine is reachable: the Docker runtime tests will skip and say so"; return 1; fi
  mkdir -p "$TEST_DOCKER_DIR" "$(dirname "$TEST_DOCKER_SOCKET")"
  log "starting a dockerd of the suite's own ($TEST_DOCKER_DIR, $TEST_DOCKER_SOCKET)"
  setsid dockerd --host "$socket" --data-root "$TEST_DOCKER_DIR/data" --exec-root "$(dirname "$TEST_DOCKER_SOCKET")/exec" \
    --pidfile "$(dirname "$TEST_DOCKER_SOCKET")/dockerd.pid" --bridge=none \
    >>"$TEST_DOCKER_DIR/dockerd.log" 2>&1 </dev/null &
  local i
  for i in $(seq 1 120); do
    if docker_reachable "$socket"; then DOCKER_HOST=$socket; return; fi
    sleep 0.5
  done
  log "dockerd did not answer within 60 s (see $TEST_DOCKER_DIR/dockerd.log): the Docker runtime tests will skip and say so"
  return 1
}

# The Debian mirror apt uses here (the base image is made from the same one).
debian_mirror() {
  local uri
  uri=$(grep -rhoE '^(URIs:|deb) *\[?[^]]*\]? *https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
    grep -oE 'https?://[^ ]+' | head -n1 || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

build_test_docker_image() {
  local mirror base_tag base_key image_key context started
  mirror=$(debian_mirror)
  base_key=$(printf 'minbase bookworm %s v1' "$mirror" | sha256sum | cut -c1-12)
  base_tag="saas-test/debian:bookworm-$base_key"
  if ! docker image inspect "$base_tag" >/dev/null 2>&1; then
    log "building the Debian base image from $mirror with debootstrap (once; a few minutes)"
    started=$(date +%s)
    local rootfs="$TEST_DOCKER_DIR/rootfs.$$"
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$TEST_DOCKER_DIR/debootstrap.log" 2>&1 ||
      { log "debootstrap failed (see $TEST_DOCKER_DIR/debootstrap.log)"; rm -rf "$rootfs"; return 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import - "$base_tag" >/dev/null
    rm -rf "$rootfs"
    log "base image $base_tag built in $(($(date +%s) - started)) s"
  fi
  local node_bin
  node_bin=$(readlink -f "$NODE")
  image_key=$( {
    echo "$base_tag"
    "$node_bin" --version
    cat "$ROOT/test/fixtures/docker/Dockerfile.fake-odoo"
    (cd "$ROOT" && find test/fixtures/fake-odoo -type f -print0 | sort -z | xargs -0 sha256sum)
    for package in pg pg-connection-string pg-pool pg-protocol pg-types pgpass pg-int8 postgres-array postgres-bytea postgres-date postgres-interval split2 xtend; do
      grep -m1 '"version"' "$ROOT/node_modules/$package/package.json" 2>/dev/null || true
    done
  } | sha256sum | cut -c1-12)
  export SAAS_TEST_DOCKER_IMAGE="$TEST_DOCKER_IMAGE_REPO:$image_key"
  if docker image inspect "$SAAS_TEST_DOCKER_IMAGE-18.0" >/dev/null 2>&1; then
    tag_test_docker_images
    return
  fi
  log "building the fake Odoo image $SAAS_TEST_DOCKER_IMAGE"
  started=$(date +%s)
  context=$(mktemp -d)
  cp "$node_bin" "$context/node"
  cp -r "$ROOT/test/fixtures/fake-odoo" "$context/fake-odoo"
  mkdir -p "$context/node_modules"
  # pg and what it needs at run time (the fake Odoo's only package).
  for package in pg pg-connection-string pg-pool pg-protocol pg-types pgpass pg-int8 postgres-array postgres-bytea postgres-date postgres-interval split2 xtend; do
    if [ -d "$ROOT/node_modules/$package" ]; then cp -rL "$ROOT/node_modules/$package" "$context/node_modules/"; fi
  done
  if ! DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base_tag" -f "$ROOT/test/fixtures/docker/Dockerfile.fake-odoo" \
    -t "$SAAS_TEST_DOCKER_IMAGE" "$context" >/dev/null; then
    rm -rf "$context"
    return 1
  fi
  rm -rf "$context"
  # One tag per series (<image>-16.0 ...): the fake claims the series its tag names, as
  # DOCKER_ODOO_IMAGE=<image>-{series} picks an official image per series.
  local series
  for series in 16.0 17.0 18.0; do
    printf 'FROM %s\nENV FAKE_ODOO_VERSION=%s\n' "$SAAS_TEST_DOCKER_IMAGE" "$series" |
      DOCKER_BUILDKIT=0 docker build -q -t "$SAAS_TEST_DOCKER_IMAGE-$series" - >/dev/null || return 1
  done
  tag_test_docker_images
  log "fake Odoo image built in $(($(date +%s) - started)) s"
}

tag_test_docker_images() {
  local series
  docker tag "$SAAS_TEST_DOCKER_IMAGE" "$TEST_DOCKER_IMAGE_REPO:latest"
  for series in 16.0 17.0 18.0; do docker tag "$SAAS_TEST_DOCKER_IMAGE-$series" "$TEST_DOCKER_IMAGE_REPO:latest-$series"; done
}

# Helm, for the chart test (deploy/helm/: `helm lint` and `helm template`), built from the Go module
# proxy into .tools/helm/<version>/ once (HELM_BIN may name another binary). Without it the test
# says why it skips the rendering checks.
HELM_VERSION=v4.3.2
ensure_helm() {
  local dir="$TOOLS/helm/$HELM_VERSION"
  if [ -n "${HELM_BIN:-}" ] && [ -x "$HELM_BIN" ]; then return; fi
  export HELM_BIN="$dir/bin/helm"
  if [ -x "$HELM_BIN" ]; then return; fi
  local go_bin
  go_bin=$(command -v go || true)
  if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
  if [ -z "$go_bin" ]; then
    log "Go is missing: Helm cannot be built, so the Helm chart test will skip and say why"
    return
  fi
  log "building Helm $HELM_VERSION from the Go module proxy into .tools/helm (a few minutes, once)"
  mkdir -p "$dir/bin"
  GOBIN="$dir/bin" GOFLAGS=-buildvcs=false "$go_bin" install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" ||
    log "building Helm failed (above): the Helm chart test will skip and say why"
}

# A Kubernetes control plane for the Kubernetes runtime's tests (test/helpers/kube-control-plane.ts):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (fake nodes that report
# pods Running), built from the Go module proxy into .tools/kube/<version>/ once. k8s.io/kubernetes
# is not `go install`-able (its go.mod replaces the k8s.io/* staging modules with local paths), and
# neither is etcd's server module, so each is built from a throwaway module that pins those
# modules to their published versions. The first build takes ~13 min of CPU; cached, it is instant.
KUBE_VERSION=v1.37.2
KUBE_STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.7.3
KWOK_VERSION=v0.8.0
KUBE_STAGING_MODULES=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client
  cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
  kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission
  sample-apiserver sample-controller streaming)
ensure_kube_control_plane() {
  local dir="$TOOLS/kube/$KUBE_VERSION"
  export KUBE_TOOLS_DIR="$dir/bin"
  local stamp="$KUBE_VERSION etcd-$ETCD_VERSION kwok-$KWOK_VERSION"
  if [ "$(cat "$dir/version" 2>/dev/null)" = "$stamp" ] && [ -f "$dir/kwok-stages.yaml" ]; then return; fi
  local go_bin
  go_bin=$(command -v go || true)
  if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then go_bin=/usr/local/go/bin/go; fi
  if [ -z "$go_bin" ]; then
    log "Go is missing: the Kubernetes control plane cannot be built, so the Kubernetes API tests will skip and say why"
    return
  fi
  log "building etcd $ETCD_VERSION, Kubernetes $KUBE_VERSION and kwok $KWOK_VERSION into .tools/kube (~13 min of CPU, once)"
  mkdir -p "$dir/bin" "$dir/src/k8s" "$dir/src/etcd" "$dir/src/kwok"
  local module
  {
    printf 'module kubebuild\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBE_VERSION"
    for module in "${KUBE_STAGING_MODULES[@]}"; do printf '\tk8s.io/%s => k8s.io/%s %s\n' "$module" "$module" "$KUBE_STAGING_VERSION"; done
    printf ')\n'
  } >"$dir/src/k8s/go.mod"
  printf 'module etcdbuild\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$dir/src/etcd/go.mod"
  printf 'module kwokbuild\n\ngo 1.26.0\n\nrequire sigs.k8s.io/kwok %s\n' "$KWOK_VERSION" >"$dir/src/kwok/go.mod"
  local ok=1 cmd
  for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
    (cd "$dir/src/k8s" && GOFLAGS="-mod=mod -buildvcs=false" "$go_bin" build -o "$dir/bin/$cmd" "k8s.io/kubernetes/cmd/$cmd") || ok=0
  done
  (cd "$dir/src/etcd" && GOFLAGS="-mod=mod -buildvcs=false" "$go_bin" build -o "$dir/bin/etcd" go.etcd.io/etcd/server/v3) || ok=0
  (cd "$dir/src/kwok" && GOFLAGS="-mod=mod -buildvcs=false" "$go_bin" build -o "$dir/bin/kwok" sigs.k8s.io/kwok/cmd/kwok) || ok=0
  # kwok has no built-in behaviour: its stages (node ready + heartbeat, pod lifecycle) come from
  # the kwok module's own kustomize/stage files, gathered into one config file.
  local kwok_source stage
  kwok_source=$(cd "$dir/src/kwok" && "$go_bin" list -m -f '{{.Dir}}' sigs.k8s.io/kwok) || ok=0
  if [ "$ok" = 1 ]; then
    : >"$dir/kwok-stages.yaml"
    for stage in "$kwok_source"/kustomize/stage/node/fast/node-initialize.yaml "$kwok_source"/kustomize/stage/node/heartbeat/node-heartbeat.yaml \
      "$kwok_source"/kustomize/stage/pod/general/pod-*.yaml; do
      { printf -- '---\n'; cat "$stage"; } >>"$dir/kwok-stages.yaml"
    done
  fi
  if [ "$ok" = 1 ]; then echo "$stamp" >"$dir/version"
  else log "building the Kubernetes control plane failed (above): the Kubernetes API tests will skip and say why"; fi
}
