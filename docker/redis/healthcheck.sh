#!/bin/sh
# Container health check: the spec's `redis-cli --raw incr ping`, made honest.
#
# redis-cli exits 0 even when Redis answers with an error, so the reply itself is checked: only an
# integer means healthy. Anything else (NOAUTH/WRONGPASS after a password change, MISCONF after a
# failed background save, OOM under noeviction, connection refused) is unhealthy. INCR is a write on
# purpose: it proves Redis still ACCEPTS writes, which PING does not.
# The password goes through REDISCLI_AUTH, never on the command line (it would show in `ps`).
set -u

port=${REDIS_PORT:-6379}
# With TLS on, the check goes through TLS (in transitional mode too: it proves the TLS side works),
# verifying Redis's certificate with the CA the entrypoint wrote.
tls_flags=''
if [ "${REDIS_TLS:-off}" != off ]; then
  port=${REDIS_TLS_PORT:-6380}
  tls_flags="--tls --cacert ${REDIS_RUNTIME_DIR:-/run/redis}/ca.crt"
fi
# The entrypoint's health check user (INCR on "ping" only, a password made at this start): the
# check does not depend on REDIS_PASSWORD, which a password rotation retires while the task runs.
user_flags=''
password_file=${REDIS_RUNTIME_DIR:-/run/redis}/healthcheck.pass
if [ -r "$password_file" ]; then
  password=$(cat "$password_file")
  user_flags='--user healthcheck'
else
  password=${REDIS_PASSWORD:-}
  if [ -z "$password" ] && [ "${REDIS_ENV:-production}" = development ]; then
    password=redis_development_password
  fi
fi

# shellcheck disable=SC2086 # the flags are empty or fixed words and a path without spaces
reply=$(REDISCLI_AUTH=$password redis-cli -h 127.0.0.1 -p "$port" $tls_flags $user_flags --no-auth-warning --raw incr ping 2>&1)
status=$?
case "$reply" in
  '' | *[!0-9]*)
    echo "unhealthy: redis-cli exit $status, reply: $reply"
    exit 1
    ;;
esac
if [ "$status" -ne 0 ]; then
  echo "unhealthy: redis-cli exit $status"
  exit 1
fi
echo "healthy: ping=$reply"
