#!/bin/sh
# Starts Redis with docker/redis/redis.conf plus the runtime settings taken from the environment.
#
# The rendered settings (memory, policy, ACL users) reach redis-server on its standard input
# ("redis-server -"), so no password is ever written to disk or put on a command line; passwords
# are stored only as SHA-256 hashes (ACL "#<hash>" form). The password variables are removed from
# the environment before exec, and exec makes redis-server PID 1 so SIGTERM/SIGINT (docker stop,
# ECS, Ctrl-C) reach Redis directly and it shuts down cleanly, persisting its data.
#
# Environment (see docs/image.md, "Container environment"):
#   REDIS_ENV               development | production (default production). Only development
#                           accepts the spec's default password.
#   REDIS_PASSWORD          password of the default user (what Celery uses).
#   REDIS_BACKUP_PASSWORD   enables the "backup" user (replication stream only).
#   REDIS_MONITOR_PASSWORD  enables the "monitor" user (INFO, DBSIZE, SLOWLOG GET, LLEN).
#   REDIS_PASSWORD_PREVIOUS, REDIS_BACKUP_PASSWORD_PREVIOUS, REDIS_MONITOR_PASSWORD_PREVIOUS
#                           the user's previous password (Secrets Manager's AWSPREVIOUS), valid
#                           beside the current one: a restart between two rotations cuts off no
#                           client that has not picked up the current password yet.
#   REDIS_ROTATOR_PASSWORD  enables the "rotator" user: the password rotation function, which may
#                           only ACL SETUSER (add and remove passwords), never read or write data.
#   REDIS_MAXMEMORY         Redis memory size, e.g. 512mb (default 512mb).
#   REDIS_MAXMEMORY_POLICY  one of Redis's eight eviction policies (default allkeys-lru).
#   REDIS_DATA_LOCK_WAIT_SECONDS
#                           how long to wait for another Redis to release the data directory
#                           (default 80: an old task saving on SIGTERM normally exits well within
#                           it; it stays below the ~95 s after which ECS's health check, 5 s start
#                           period + 3 x 30 s, kills a task that is still waiting, so the refusal
#                           and its reason reach the log first).
#   REDIS_TLS               off | transitional | required (default off). transitional serves
#                           plaintext on REDIS_PORT and TLS on REDIS_TLS_PORT, so consumers move
#                           one by one; required serves TLS only (the plaintext port is closed).
#   REDIS_TLS_PORT          the TLS port (default 6380).
#   REDIS_TLS_CERT, REDIS_TLS_KEY, REDIS_TLS_CA
#                           the server certificate, its private key and the CA certificate, as PEM
#                           text (ECS secrets), required unless REDIS_TLS=off. Written with mode
#                           0600 to REDIS_RUNTIME_DIR, removed from the environment before Redis
#                           starts.
#   REDIS_RUNTIME_DIR       where this start's files go (default /run/redis: the image's volume,
#                           owned by redis, a task scratch volume on ECS): the TLS files and the
#                           health check's password (a "healthcheck" user made at each start, allowed
#                           INCR on the key "ping" only, so the check never depends on a password
#                           that a rotation may retire).
#   REDIS_PORT, REDIS_DATA_DIR, REDIS_BIND, REDIS_CONF
#                           for running outside the image (npm run redis:local).
set -eu

DEVELOPMENT_PASSWORD=redis_development_password
MIN_PASSWORD_LENGTH=16
POLICIES="volatile-lru allkeys-lru volatile-lfu allkeys-lfu volatile-random allkeys-random volatile-ttl noeviction"

fail() {
  echo "redis entrypoint: $*" >&2
  echo "redis entrypoint: refusing to start Redis." >&2
  exit 64
}

if [ "$#" -gt 0 ]; then
  fail "takes no arguments (got: $*). Configure Redis with the REDIS_* environment variables."
fi

# Every REDIS_* variable this entrypoint reads. Any other one is a typo (REDIS_MAXMEMORY_POLCY) that
# would silently leave the default in place: refused, with the nearest known name. (The image's own
# REDISCLI_HISTFILE and ECS's ECS_* variables do not start with REDIS_.)
KNOWN_VARIABLES="REDIS_ENV REDIS_PASSWORD REDIS_BACKUP_PASSWORD REDIS_MONITOR_PASSWORD REDIS_PASSWORD_PREVIOUS REDIS_BACKUP_PASSWORD_PREVIOUS REDIS_MONITOR_PASSWORD_PREVIOUS REDIS_ROTATOR_PASSWORD REDIS_MAXMEMORY REDIS_MAXMEMORY_POLICY REDIS_DATA_LOCK_WAIT_SECONDS REDIS_PORT REDIS_DATA_DIR REDIS_BIND REDIS_CONF REDIS_TLS REDIS_TLS_PORT REDIS_TLS_CERT REDIS_TLS_KEY REDIS_TLS_CA REDIS_RUNTIME_DIR"

# nearest_variable NAME: the known name with the smallest edit distance to NAME, if it is close
# enough to be a likely typo (at most 2 edits, or a fifth of the name's length).
nearest_variable() {
  awk -v name="$1" -v known="$KNOWN_VARIABLES" 'BEGIN {
    count = split(known, names, " ")
    limit = int(length(name) / 5); if (limit < 2) limit = 2
    best = ""; best_distance = limit + 1
    for (n = 1; n <= count; n++) {
      candidate = names[n]; a = length(name); b = length(candidate)
      for (j = 0; j <= b; j++) previous[j] = j
      for (i = 1; i <= a; i++) {
        current[0] = i
        for (j = 1; j <= b; j++) {
          cost = (substr(name, i, 1) == substr(candidate, j, 1)) ? 0 : 1
          value = previous[j - 1] + cost
          if (previous[j] + 1 < value) value = previous[j] + 1
          if (current[j - 1] + 1 < value) value = current[j - 1] + 1
          current[j] = value
        }
        for (j = 0; j <= b; j++) previous[j] = current[j]
      }
      if (previous[b] < best_distance) { best_distance = previous[b]; best = candidate }
    }
    print best
  }'
}

for variable in $(env | sed -n 's/^\(REDIS_[A-Za-z0-9_]*\)=.*/\1/p'); do
  case " $KNOWN_VARIABLES " in
    *" $variable "*) ;;
    *)
      nearest=$(nearest_variable "$variable")
      hint=''
      if [ -n "$nearest" ]; then hint=" Did you mean $nearest?"; fi
      fail "$variable is not a setting of this image, so it would be ignored.$hint Known: $KNOWN_VARIABLES."
      ;;
  esac
done

redis_env=${REDIS_ENV:-production}
case "$redis_env" in
  development | production) ;;
  *) fail "REDIS_ENV='$redis_env' is not allowed. Allowed: development, production." ;;
esac

# check_password NAME VALUE: refuse weak passwords (never echo the value itself).
check_password() {
  if [ "$redis_env" = development ]; then
    return 0
  fi
  if [ "$2" = "$DEVELOPMENT_PASSWORD" ]; then
    fail "$1 is the spec's development default, which is allowed only with REDIS_ENV=development. Set $1 to a strong random value of at least $MIN_PASSWORD_LENGTH characters."
  fi
  if [ "${#2}" -lt "$MIN_PASSWORD_LENGTH" ]; then
    fail "$1 is too short (${#2} characters). Set $1 to a strong random value of at least $MIN_PASSWORD_LENGTH characters."
  fi
}

if [ -z "${REDIS_PASSWORD:-}" ]; then
  if [ "$redis_env" = development ]; then
    REDIS_PASSWORD=$DEVELOPMENT_PASSWORD
  else
    fail "REDIS_PASSWORD is not set. Set REDIS_PASSWORD to a strong random value of at least $MIN_PASSWORD_LENGTH characters (or REDIS_ENV=development to use the spec's development default)."
  fi
fi
check_password REDIS_PASSWORD "$REDIS_PASSWORD"
if [ -n "${REDIS_BACKUP_PASSWORD:-}" ]; then check_password REDIS_BACKUP_PASSWORD "$REDIS_BACKUP_PASSWORD"; fi
if [ -n "${REDIS_MONITOR_PASSWORD:-}" ]; then check_password REDIS_MONITOR_PASSWORD "$REDIS_MONITOR_PASSWORD"; fi
for name in REDIS_PASSWORD_PREVIOUS REDIS_BACKUP_PASSWORD_PREVIOUS REDIS_MONITOR_PASSWORD_PREVIOUS REDIS_ROTATOR_PASSWORD; do
  eval "value=\${$name:-}"
  # shellcheck disable=SC2154 # value is set by the eval above
  if [ -n "$value" ]; then check_password "$name" "$value"; fi
done
if [ -n "${REDIS_BACKUP_PASSWORD_PREVIOUS:-}" ] && [ -z "${REDIS_BACKUP_PASSWORD:-}" ]; then
  fail "REDIS_BACKUP_PASSWORD_PREVIOUS is set without REDIS_BACKUP_PASSWORD: set both or neither."
fi
if [ -n "${REDIS_MONITOR_PASSWORD_PREVIOUS:-}" ] && [ -z "${REDIS_MONITOR_PASSWORD:-}" ]; then
  fail "REDIS_MONITOR_PASSWORD_PREVIOUS is set without REDIS_MONITOR_PASSWORD: set both or neither."
fi

# Values rendered into the configuration must be one line: a newline would smuggle in a directive.
newline='
'
single_line() {
  case "$2" in
    *"$newline"*) fail "$1 contains a line break. Allowed: a single-line value." ;;
  esac
}
single_line REDIS_MAXMEMORY "${REDIS_MAXMEMORY:-}"
single_line REDIS_MAXMEMORY_POLICY "${REDIS_MAXMEMORY_POLICY:-}"
single_line REDIS_BIND "${REDIS_BIND:-}"
single_line REDIS_PORT "${REDIS_PORT:-}"
single_line REDIS_DATA_DIR "${REDIS_DATA_DIR:-}"
single_line REDIS_CONF "${REDIS_CONF:-}"
if [ -n "${REDIS_BIND:-}" ]; then
  case "$REDIS_BIND" in
    *[!0-9A-Fa-f.:*\ -]*) fail "REDIS_BIND='$REDIS_BIND' is not a list of addresses. Allowed: IPv4/IPv6 addresses, '*', '-' prefixes, separated by spaces." ;;
  esac
fi

maxmemory=${REDIS_MAXMEMORY:-512mb}
# Redis memory sizes: bytes, or a number with k, kb, m, mb, g, gb (any case). 0 would mean
# "no limit", which disables eviction and lets the task run out of memory: refused.
if ! printf '%s' "$maxmemory" | grep -Eqi '^[1-9][0-9]*([kmg]b?)?$'; then
  fail "REDIS_MAXMEMORY='$maxmemory' is not a Redis memory size. Allowed: a positive number of bytes, or a number followed by k, kb, m, mb, g or gb (e.g. 512mb, 1gb)."
fi

policy=${REDIS_MAXMEMORY_POLICY:-allkeys-lru}
case " $POLICIES " in
  *" $policy "*) ;;
  *) fail "REDIS_MAXMEMORY_POLICY='$policy' is not a Redis eviction policy. Allowed: $POLICIES." ;;
esac

port=${REDIS_PORT:-6379}
case "$port" in
  '' | *[!0-9]*) fail "REDIS_PORT='$port' is not a port number. Allowed: 1-65535." ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
  fail "REDIS_PORT='$port' is out of range. Allowed: 1-65535."
fi

tls=${REDIS_TLS:-off}
case "$tls" in
  off | transitional | required) ;;
  *) fail "REDIS_TLS='$tls' is not allowed. Allowed: off, transitional (plaintext and TLS), required (TLS only)." ;;
esac
tls_port=${REDIS_TLS_PORT:-6380}
case "$tls_port" in
  '' | *[!0-9]*) fail "REDIS_TLS_PORT='$tls_port' is not a port number. Allowed: 1-65535." ;;
esac
if [ "$tls_port" -lt 1 ] || [ "$tls_port" -gt 65535 ]; then
  fail "REDIS_TLS_PORT='$tls_port' is out of range. Allowed: 1-65535."
fi
if [ "$tls" = transitional ] && [ "$tls_port" = "$port" ]; then
  fail "REDIS_TLS=transitional serves plaintext on REDIS_PORT and TLS on REDIS_TLS_PORT: they must differ (both are $port)."
fi
# check_pem NAME VALUE KIND: a PEM block of KIND (never echo the value: it may be a private key).
check_pem() {
  case "$2" in
    *"-----BEGIN "*"$3-----"*"-----END "*"$3-----"*) ;;
    '') fail "$1 is not set; REDIS_TLS=$tls needs the server certificate, its key and the CA certificate (PEM)." ;;
    *) fail "$1 is not a PEM $3. Allowed: the text from -----BEGIN ...$3----- to -----END ...$3-----." ;;
  esac
}
runtime_dir=${REDIS_RUNTIME_DIR:-/run/redis}
tls_dir=$runtime_dir
case "$tls_dir" in
  /*) ;;
  *) fail "REDIS_RUNTIME_DIR='$tls_dir' is not an absolute path." ;;
esac
# Its path goes into Redis's configuration only with TLS (the certificate files).
if [ "$tls" != off ]; then
  case "$tls_dir" in
    *[!A-Za-z0-9/._-]*) fail "REDIS_RUNTIME_DIR='$tls_dir' has characters Redis's configuration would misread. Allowed: letters, digits, '/', '.', '_', '-'." ;;
  esac
fi
# The runtime directory: ours alone (owned by this user, mode 0700: a directory someone else made
# first, in a shared /tmp, could hold a planted file or link). Without it (redis-server run by hand
# outside the image) there is no health check or operator user and, with TLS, no start at all.
runtime_ok=yes
(umask 077 && mkdir -p "$runtime_dir" && [ -O "$runtime_dir" ] && chmod 700 "$runtime_dir" && [ -w "$runtime_dir" ]) 2>/dev/null ||
  runtime_ok=no
if [ "$runtime_ok" = no ] && [ "$tls" != off ]; then
  fail "REDIS_RUNTIME_DIR='$runtime_dir' cannot be created, is not this user's own, or cannot be written; REDIS_TLS=$tls writes the certificate and key there."
fi
# per_start_password FILE: a fresh random password, written to FILE (0600), printed for the ACL.
per_start_password() {
  value=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  (umask 077 && rm -f "$runtime_dir/$1" && printf '%s' "$value" >"$runtime_dir/$1") ||
    fail "cannot write $1 to REDIS_RUNTIME_DIR='$runtime_dir'."
  printf '%s' "$value"
}
if [ "$runtime_ok" = yes ]; then
  # The health check's and the operators' (ECS Exec: rcli) passwords of this start: neither
  # depends on REDIS_PASSWORD, which a rotation retires while the task runs.
  healthcheck_password=$(per_start_password healthcheck.pass)
  operator_password=$(per_start_password operator.pass)
else
  echo "redis entrypoint: REDIS_RUNTIME_DIR='$runtime_dir' is not usable: the health check will use REDIS_PASSWORD." >&2
  healthcheck_password=''
  operator_password=''
fi
if [ "$tls" != off ]; then
  check_pem REDIS_TLS_CERT "${REDIS_TLS_CERT:-}" CERTIFICATE
  check_pem REDIS_TLS_KEY "${REDIS_TLS_KEY:-}" 'PRIVATE KEY'
  check_pem REDIS_TLS_CA "${REDIS_TLS_CA:-}" CERTIFICATE
  # The key goes to a file only Redis's user can read (Redis reads its TLS material from files).
  (
    umask 077
    printf '%s\n' "$REDIS_TLS_CERT" >"$tls_dir/server.crt"
    printf '%s\n' "$REDIS_TLS_KEY" >"$tls_dir/server.key"
    printf '%s\n' "$REDIS_TLS_CA" >"$tls_dir/ca.crt"
  ) || fail "cannot write the TLS files to REDIS_RUNTIME_DIR='$tls_dir'."
fi

conf=${REDIS_CONF:-/usr/local/etc/redis/redis.conf}
[ -r "$conf" ] || fail "REDIS_CONF='$conf' is not a readable file."
data_dir=${REDIS_DATA_DIR:-/data}
if [ ! -d "$data_dir" ] || [ ! -w "$data_dir" ]; then
  fail "REDIS_DATA_DIR='$data_dir' is not a writable directory."
fi

# sha256 of a password, read from a pipe (printf is a shell builtin: nothing on a command line).
hash_password() {
  printf '%s' "$1" | sha256sum | cut -d ' ' -f 1
}

# passwords CURRENT [PREVIOUS]: the ACL password rules of a user, current and (if set and
# different) previous, as hashes.
passwords() {
  rules="#$(hash_password "$1")"
  if [ -n "${2:-}" ] && [ "$2" != "$1" ]; then rules="$rules #$(hash_password "$2")"; fi
  printf '%s' "$rules"
}

render_config() {
  echo "include $conf"
  # required: no plaintext port at all. Clients are not asked for certificates (passwords and ACL
  # users authenticate them); the server's certificate lets them verify it is this Redis.
  if [ "$tls" = required ]; then echo "port 0"; else echo "port $port"; fi
  if [ "$tls" != off ]; then
    echo "tls-port $tls_port"
    echo "tls-cert-file $tls_dir/server.crt"
    echo "tls-key-file $tls_dir/server.key"
    echo "tls-ca-cert-file $tls_dir/ca.crt"
    echo "tls-auth-clients no"
  fi
  echo "dir $data_dir"
  if [ -n "${REDIS_BIND:-}" ]; then echo "bind $REDIS_BIND"; fi
  echo "maxmemory $maxmemory"
  echo "maxmemory-policy $policy"
  # Default user: the application (Celery broker and result backend, cache) and ops.
  echo "user default on $(passwords "$REDIS_PASSWORD" "${REDIS_PASSWORD_PREVIOUS:-}") ~* &* +@all"
  # Backup: exactly what `redis-cli --rdb` needs, no key or channel access at all.
  if [ -n "${REDIS_BACKUP_PASSWORD:-}" ]; then
    echo "user backup reset on $(passwords "$REDIS_BACKUP_PASSWORD" "${REDIS_BACKUP_PASSWORD_PREVIOUS:-}") +ping +info +replconf +sync +psync"
  fi
  # Monitor: read-only statistics. %R~* lets LLEN read queue lengths; no command that reads values
  # (GET, LRANGE...) or writes is granted. SELECT is needed for per-database DBSIZE and LLEN.
  if [ -n "${REDIS_MONITOR_PASSWORD:-}" ]; then
    echo "user monitor reset on $(passwords "$REDIS_MONITOR_PASSWORD" "${REDIS_MONITOR_PASSWORD_PREVIOUS:-}") %R~* +ping +info +dbsize +select +slowlog|get +llen"
  fi
  # Rotator: the rotation function. ACL SETUSER only (and PING): it adds and removes passwords of
  # the three users; it has no key or channel access, so it reads and writes no data.
  # Health check: INCR on the key "ping" only (what healthcheck.sh sends), its password from this start.
  if [ -n "$healthcheck_password" ]; then
    echo "user healthcheck reset on #$(hash_password "$healthcheck_password") ~ping +incr"
  fi
  # Operator: what an ECS Exec session in this container uses (docs/runbook/ecs-exec.md, rcli), as
  # much as the default user; its password, readable by Redis's user only, lives as long as this start.
  if [ -n "$operator_password" ]; then
    echo "user operator reset on #$(hash_password "$operator_password") ~* &* +@all"
  fi
  if [ -n "${REDIS_ROTATOR_PASSWORD:-}" ]; then
    echo "user rotator reset on #$(hash_password "$REDIS_ROTATOR_PASSWORD") +ping +acl|setuser"
  fi
}

# One Redis per data directory. Redis takes no lock of its own, and two servers appending to the
# same AOF corrupt it. ECS can start a new task while the old one is still STOPPING (saving to EFS):
# wait here until the old one has exited. The lock is held on fd 9, which redis-server inherits
# through exec and keeps until it exits (EFS supports these locks across hosts).
lock_wait=${REDIS_DATA_LOCK_WAIT_SECONDS:-80}
case "$lock_wait" in
  '' | *[!0-9]*) fail "REDIS_DATA_LOCK_WAIT_SECONDS='$lock_wait' is not a number of seconds." ;;
esac
exec 9>>"$data_dir/.redis.lock"
waited=0
until flock -n 9; do
  if [ "$waited" -ge "$lock_wait" ]; then
    fail "another Redis still holds $data_dir/.redis.lock after ${lock_wait} s; two servers on one data directory would corrupt the AOF."
  fi
  if [ "$waited" -eq 0 ]; then
    echo "redis entrypoint: another Redis holds $data_dir/.redis.lock; waiting up to ${lock_wait} s for it to exit" >&2
  fi
  sleep 1
  waited=$((waited + 1))
done

# A restore (lambda/restore: install or undo) holds $data_dir/.restore.lock while it changes the
# files Redis loads, and touches it every 20 s. Starting now would load a half-switched directory,
# or let Redis's next AOF rewrite silently undo the restore: refuse (exit 75, ECS starts the task
# again later). A lock untouched for 120 s belongs to a restore that died (the directory then holds
# either the old or the new data, never a mix): ignored, with a warning.
restore_lock="$data_dir/.restore.lock"
# (The restore may remove its lock between any two commands here: no lock, no wait.)
lock_mtime=$(stat -c %Y "$restore_lock" 2>/dev/null) || lock_mtime=''
if [ -n "$lock_mtime" ]; then
  lock_age=$(($(date +%s) - lock_mtime))
  if [ "$lock_age" -lt 120 ]; then
    echo "redis entrypoint: a restore is changing $data_dir ($restore_lock is ${lock_age} s old); not starting Redis until it is done." >&2
    exit 75
  fi
  echo "redis entrypoint: ignoring $restore_lock, ${lock_age} s old: the restore that held it died." >&2
fi

config=$(render_config)
unset REDIS_PASSWORD REDIS_BACKUP_PASSWORD REDIS_MONITOR_PASSWORD REDIS_PASSWORD_PREVIOUS REDIS_BACKUP_PASSWORD_PREVIOUS \
  REDIS_MONITOR_PASSWORD_PREVIOUS REDIS_ROTATOR_PASSWORD REDIS_TLS_KEY REDIS_TLS_CERT REDIS_TLS_CA

case "$tls" in
  off) ports="port $port" ;;
  transitional) ports="port $port and TLS port $tls_port" ;;
  required) ports="TLS port $tls_port only" ;;
esac
echo "redis entrypoint: starting Redis (REDIS_ENV=$redis_env, maxmemory $maxmemory, policy $policy, $ports, dir $data_dir)" >&2
exec redis-server - <<EOF_CONFIG
$config
EOF_CONFIG
