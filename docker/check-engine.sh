#!/usr/bin/env bash
# npm run check:engine: a Redis security fix must never sit unnoticed.
#
# Fails, naming the line to change, when
#   1. Debian's bookworm-security archive offers a newer redis-server than docker/redis/Dockerfile
#      pins (ARG REDIS_DEBIAN_VERSION), or
#   2. the redis-server the tests run (this machine's package) is not the pinned version.
# The archive's index is read from the mirror itself, not from this machine's apt lists (which may
# be stale or point elsewhere), and trusted only when its signature verifies against Debian's
# archive keyring and the index matches the signed checksum.
#
# Environment (for tests and other mirrors): DEBIAN_SECURITY_MIRROR (default
# https://deb.debian.org/debian-security), DEBIAN_ARCHIVE_KEYRING (default Debian's keyring),
# DOCKERFILE (default docker/redis/Dockerfile).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mirror=${DEBIAN_SECURITY_MIRROR:-https://deb.debian.org/debian-security}
keyring=${DEBIAN_ARCHIVE_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
dockerfile=${DOCKERFILE:-docker/redis/Dockerfile}
suite=bookworm-security
index=main/binary-amd64/Packages.xz

fail() {
  echo "check:engine: $*" >&2
  exit 1
}

pin_line=$(grep -n '^ARG REDIS_DEBIAN_VERSION=' "$dockerfile" | head -1) ||
  fail "$dockerfile has no 'ARG REDIS_DEBIAN_VERSION=<version>' line."
line_number=${pin_line%%:*}
pinned=${pin_line#*=}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. What bookworm-security offers, from its signed index.
curl -fsS --max-time 60 -o "$work/InRelease" "$mirror/dists/$suite/InRelease" ||
  fail "cannot download $mirror/dists/$suite/InRelease; the check needs Debian's security mirror (set DEBIAN_SECURITY_MIRROR for another one)."
gpgv --keyring "$keyring" --output "$work/Release" "$work/InRelease" 2>"$work/gpgv.log" ||
  fail "the signature of $mirror/dists/$suite/InRelease does not verify against $keyring: $(tr '\n' ' ' <"$work/gpgv.log")"
# A correctly signed but old index (a stale mirror, a replay) would hide a newer Redis: refuse it.
valid_until=$(sed -n 's/^Valid-Until: //p' "$work/Release")
[ -n "$valid_until" ] || fail "the signed Release of $suite has no Valid-Until date."
if [ "$(date -d "$valid_until" +%s)" -lt "$(date +%s)" ]; then
  fail "the signed Release of $suite expired on $valid_until: $mirror serves a stale index. Use another mirror (DEBIAN_SECURITY_MIRROR)."
fi
expected_sha=$(awk -v file="$index" '/^SHA256:/ { in_sha = 1; next } /^[^ ]/ { in_sha = 0 } in_sha && $3 == file { print $1 }' "$work/Release")
[ -n "$expected_sha" ] || fail "the signed Release of $suite lists no $index."
curl -fsS --max-time 120 -o "$work/Packages.xz" "$mirror/dists/$suite/$index" ||
  fail "cannot download $mirror/dists/$suite/$index."
actual_sha=$(sha256sum "$work/Packages.xz" | cut -d ' ' -f 1)
[ "$actual_sha" = "$expected_sha" ] || fail "$index does not match the checksum in the signed Release (a mirror mid-update? try again)."

newest=''
while read -r version; do
  if [ -z "$newest" ] || dpkg --compare-versions "$version" gt "$newest"; then newest=$version; fi
done < <(xz -dc "$work/Packages.xz" | awk '/^Package: / { pkg = $2 } /^Version: / && pkg == "redis-server" { print $2 }')
[ -n "$newest" ] || fail "$suite offers no redis-server at all: has Debian moved it? Read docs/image.md, 'Redis version'."

if dpkg --compare-versions "$newest" gt "$pinned"; then
  fail "$suite offers redis-server $newest, newer than the $pinned that $dockerfile pins. Change $dockerfile:$line_number to 'ARG REDIS_DEBIAN_VERSION=$newest', and update the test machines' Redis: apt-get update && apt-get install redis-server=$newest redis-tools=$newest (docs/image.md, 'Redis version')."
fi

# 2. The Redis the tests run is the one the image ships.
local_version=$(dpkg-query -W -f '${Version}' redis-server 2>/dev/null) ||
  fail "redis-server is not installed here; the tests need exactly the image's: apt-get install redis-server=$pinned redis-tools=$pinned"
if [ "$local_version" != "$pinned" ]; then
  fail "the tests' redis-server is $local_version, but $dockerfile:$line_number pins $pinned: the tests would not run the engine the image ships. Install it: apt-get update && apt-get install redis-server=$pinned redis-tools=$pinned"
fi
tools_version=$(dpkg-query -W -f '${Version}' redis-tools 2>/dev/null) || tools_version=none
if [ "$tools_version" != "$pinned" ]; then
  fail "the tests' redis-tools is $tools_version, but $dockerfile:$line_number pins $pinned. Install it: apt-get install redis-tools=$pinned"
fi

echo "check:engine: ok: docker/redis pins redis-server $pinned, the newest in $suite, and the tests run the same package."
