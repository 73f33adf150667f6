#!/usr/bin/env bash
# Runs the container's entrypoint and redis.conf with this machine's redis-server, in the
# foreground, without Docker: the configuration that production runs, on your laptop.
#
#   npm run redis:local -- [--port 6379] [--data-dir .redis-data] [--bind 127.0.0.1]
#
# Honours the container's REDIS_* environment variables; REDIS_ENV defaults to development here
# (so the spec's development password works). Ctrl-C stops Redis cleanly: it persists first.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
port=6379
data_dir=.redis-data
bind=127.0.0.1

usage() {
  echo "usage: npm run redis:local -- [--port <1-65535>] [--data-dir <dir>] [--bind <addresses>]" >&2
  echo "  --port      TCP port (default 6379)" >&2
  echo "  --data-dir  Redis data directory, created if missing (default .redis-data)" >&2
  echo "  --bind      addresses to listen on (default 127.0.0.1; the image listens on all)" >&2
}

die() {
  echo "redis:local: $*" >&2
  exit 2
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --port | --data-dir | --bind)
      if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value."; fi
      case "$1" in
        --port) port=$2 ;;
        --data-dir) data_dir=$2 ;;
        --bind) bind=$2 ;;
      esac
      shift 2
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

# A port someone already listens on: say so instead of letting Redis fail with a bind error.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  die "port $port is already in use on 127.0.0.1. Pick another with --port."
fi

mkdir -p "$data_dir"
REDIS_ENV=${REDIS_ENV:-development} \
  REDIS_PORT=$port \
  REDIS_DATA_DIR=$(cd "$data_dir" && pwd) \
  REDIS_BIND=$bind \
  REDIS_CONF="$here/redis.conf" \
  exec sh "$here/entrypoint.sh"
