#!/usr/bin/env bash
# Starts what the storage tests need on loopback: PostgreSQL (database "test",
# trust auth for 127.0.0.1 and ::1, roles postgres and root), Redis on 6379 and
# a Redis Cluster of three masters on 7000-7002 (no replicas, no persistence).
# Idempotent and quiet: when both already answer it changes nothing and prints
# nothing. Installs them from Debian with apt when they are missing. Run as root.
set -euo pipefail

say() { echo "services: $*" >&2; }

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then
    apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# wait_for NAME COMMAND...: up to 30 s.
wait_for() {
  local name=$1
  shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  say "$name did not answer within 30 s"
  return 1
}

pg_ok() { psql -h 127.0.0.1 -U postgres -d test -tAc 'SELECT 1' >/dev/null 2>&1; }
redis_ok() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

pg_cluster_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

ensure_postgres() {
  if command -v psql >/dev/null && pg_ok; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(pg_cluster_version)" ]; then
    say "installing postgresql"
    apt_install postgresql
  fi
  local v hba reload=0
  v=$(pg_cluster_version)
  hba=/etc/postgresql/$v/main/pg_hba.conf
  # The first matching line wins, so trust for loopback goes on top.
  if ! grep -qE '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    printf 'host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' | cat - "$hba" >"$hba.new"
    chown --reference="$hba" "$hba.new"
    chmod --reference="$hba" "$hba.new"
    mv "$hba.new" "$hba"
    reload=1
  fi
  if ! pg_isready -q -h 127.0.0.1; then
    say "starting postgresql $v"
    pg_ctlcluster --skip-systemctl-redirect "$v" main start >/dev/null 2>&1 || true
  elif [ "$reload" = 1 ]; then
    pg_ctlcluster --skip-systemctl-redirect "$v" main reload >/dev/null
  fi
  wait_for postgresql pg_isready -q -h 127.0.0.1
  # The cluster's own superuser over its local socket, which needs no password.
  local as_pg=(runuser -u postgres --)
  if [ "$("${as_pg[@]}" psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'root'")" != 1 ]; then
    "${as_pg[@]}" createuser --superuser root
  fi
  if [ "$("${as_pg[@]}" psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
    "${as_pg[@]}" createdb test
  fi
  wait_for postgresql pg_ok
}

ensure_redis() {
  if command -v redis-cli >/dev/null && redis_ok; then return 0; fi
  if ! command -v redis-server >/dev/null; then
    say "installing redis-server"
    apt_install redis-server
  fi
  # The package's own start may have worked; otherwise start it by hand, without persistence.
  if ! redis_ok; then
    say "starting redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >/dev/null
  fi
  wait_for redis redis_ok
}

CLUSTER_PORTS=(7000 7001 7002)
CLUSTER_DIR=/tmp/grantkit-redis-cluster

cluster_ok() { redis-cli -h 127.0.0.1 -p "${CLUSTER_PORTS[0]}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }

ensure_redis_cluster() {
  if cluster_ok; then return 0; fi
  say "starting redis cluster on ports ${CLUSTER_PORTS[*]}"
  mkdir -p "$CLUSTER_DIR"
  local port fresh=0
  for port in "${CLUSTER_PORTS[@]}"; do
    if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" != PONG ]; then
      # A node config left from an earlier run names a cluster that no longer
      # exists; start each node afresh so that it can be joined again.
      rm -f "$CLUSTER_DIR/nodes-$port.conf"
      redis-server --port "$port" --cluster-enabled yes --cluster-config-file "$CLUSTER_DIR/nodes-$port.conf" \
        --dir "$CLUSTER_DIR" --save "" --appendonly no --daemonize yes --bind 127.0.0.1 \
        --logfile "$CLUSTER_DIR/redis-$port.log" >/dev/null
      fresh=1
    fi
  done
  for port in "${CLUSTER_PORTS[@]}"; do
    wait_for "redis cluster node $port" sh -c "[ \"\$(redis-cli -h 127.0.0.1 -p $port ping)\" = PONG ]"
  done
  # Create the cluster only from empty nodes that know no other; a node that
  # already belongs to one (known_nodes > 1) is still converging.
  local known
  known=$(redis-cli -h 127.0.0.1 -p "${CLUSTER_PORTS[0]}" cluster info | sed -n 's/^cluster_known_nodes:\([0-9]*\).*/\1/p')
  if [ "$fresh" = 1 ] || [ "${known:-1}" = 1 ]; then
    local nodes=()
    for port in "${CLUSTER_PORTS[@]}"; do nodes+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  fi
  wait_for "redis cluster" cluster_ok
}

ensure_postgres
ensure_redis
ensure_redis_cluster
