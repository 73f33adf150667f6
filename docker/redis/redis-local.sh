#!/usr/bin/env bash
# Runs the container's entrypoint and redis.conf with this machine's redis-server, in the
# foreground, without Docker: the configuration that production runs, on your laptop.
#
#   npm run redis:local -- [--port 6379] [--data-dir .redis-data] [--bind 127.0.0.1] [--tls [--tls-port 6380]]
#
# --tls serves TLS only (REDIS_TLS=required, as a stage does), with a development CA and server
# certificate made with openssl in <data-dir>/tls/ (kept and reused; delete the folder for new ones).
#
# Honours the container's REDIS_* environment variables; REDIS_ENV defaults to development here
# (so the spec's development password works). Ctrl-C stops Redis cleanly: it persists first.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
port=6379
data_dir=.redis-data
bind=127.0.0.1
tls=off
tls_port=6380

usage() {
  echo "usage: npm run redis:local -- [--port <1-65535>] [--data-dir <dir>] [--bind <addresses>] [--tls [--tls-port <1-65535>]]" >&2
  echo "  --port      TCP port (default 6379)" >&2
  echo "  --data-dir  Redis data directory, created if missing (default .redis-data)" >&2
  echo "  --bind      addresses to listen on (default 127.0.0.1; the image listens on all)" >&2
  echo "  --tls       TLS only, as a stage serves it, with a development CA made in <data-dir>/tls/" >&2
  echo "  --tls-port  TLS port with --tls (default 6380)" >&2
}

die() {
  echo "redis:local: $*" >&2
  exit 2
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --port | --data-dir | --bind | --tls-port)
      if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value."; fi
      case "$1" in
        --port) port=$2 ;;
        --data-dir) data_dir=$2 ;;
        --bind) bind=$2 ;;
        --tls-port) tls_port=$2 ;;
      esac
      shift 2
      ;;
    --tls)
      tls=required
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage
      die "unknown argument '$1'."
      ;;
  esac
done

case "$port" in
  '' | *[!0-9]*) die "--port '$port' is not a port number (allowed: 1-65535)." ;;
esac
if ((port < 1 || port > 65535)); then die "--port $port is out of range (allowed: 1-65535)."; fi

if ! command -v redis-server >/dev/null 2>&1; then
  die "redis-server is not installed. Install Redis 7: 'sudo apt-get install redis-server' (Debian/Ubuntu) or 'brew install redis' (macOS)."
fi
version=$(redis-server --version | sed -n 's/.* v=\([0-9][0-9.]*\).*/\1/p')
case "$version" in
  7.*) ;;
  *) die "redis-server $version found; this configuration needs Redis 7." ;;
esac

case "$tls_port" in
  '' | *[!0-9]*) die "--tls-port '$tls_port' is not a port number (allowed: 1-65535)." ;;
esac
if ((tls_port < 1 || tls_port > 65535)); then die "--tls-port $tls_port is out of range (allowed: 1-65535)."; fi

# A port someone already listens on: say so instead of letting Redis fail with a bind error.
listen_port=$port
if [ "$tls" != off ]; then listen_port=$tls_port; fi
if (exec 3<>"/dev/tcp/127.0.0.1/$listen_port") 2>/dev/null; then
  die "port $listen_port is already in use on 127.0.0.1. Pick another with --$([ "$tls" = off ] && echo port || echo tls-port)."
fi

mkdir -p "$data_dir"
if [ "$tls" != off ]; then
  # A development CA and a server certificate for localhost / 127.0.0.1 (EC P-256, 825 days), made
  # once per data directory. The CA file is what clients trust.
  tls_dir=$(cd "$data_dir" && pwd)/tls
  if [ ! -s "$tls_dir/server.crt" ]; then
    command -v openssl >/dev/null 2>&1 || die "--tls needs openssl to make a development CA: 'sudo apt-get install openssl' (Debian/Ubuntu)."
    mkdir -p "$tls_dir"
    chmod 700 "$tls_dir"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout "$tls_dir/ca.key" -out "$tls_dir/ca.crt" -days 825 \
      -subj "/CN=redis-on-ecs development CA" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    openssl req "${ec[@]}" -keyout "$tls_dir/server.key" -out "$tls_dir/server.csr" -subj /CN=localhost 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$tls_dir/server.ext"
    openssl x509 -req -in "$tls_dir/server.csr" -CA "$tls_dir/ca.crt" -CAkey "$tls_dir/ca.key" \
      -CAcreateserial -days 825 -extfile "$tls_dir/server.ext" -out "$tls_dir/server.crt" 2>/dev/null
    rm -f "$tls_dir/server.csr" "$tls_dir/server.ext"
  fi
  echo "redis:local: TLS only on 127.0.0.1:$tls_port; clients trust the CA file $tls_dir/ca.crt" >&2
  echo "redis:local:   redis-cli --tls --cacert $tls_dir/ca.crt -p $tls_port" >&2
  echo "redis:local:   rediss://:<password>@localhost:$tls_port/0?ssl_cert_reqs=required&ssl_ca_certs=$tls_dir/ca.crt" >&2
  REDIS_TLS=required
  REDIS_TLS_PORT=$tls_port
  REDIS_TLS_CERT=$(cat "$tls_dir/server.crt")
  REDIS_TLS_KEY=$(cat "$tls_dir/server.key")
  REDIS_TLS_CA=$(cat "$tls_dir/ca.crt")
  export REDIS_TLS REDIS_TLS_PORT REDIS_TLS_CERT REDIS_TLS_KEY REDIS_TLS_CA
fi
# This start's files (TLS copy, the health check's password), outside the data: one per port.
REDIS_RUNTIME_DIR=${REDIS_RUNTIME_DIR:-${TMPDIR:-/tmp}/redis-local-$listen_port}
export REDIS_RUNTIME_DIR
REDIS_ENV=${REDIS_ENV:-development} \
  REDIS_PORT=$port \
  REDIS_DATA_DIR=$(cd "$data_dir" && pwd) \
  REDIS_BIND=$bind \
  REDIS_CONF="$here/redis.conf" \
  exec sh "$here/entrypoint.sh"
