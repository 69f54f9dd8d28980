#!/usr/bin/env bash
# Checks the unit files as CI does: `systemd-analyze verify` must report nothing but the missing binary (it is not
# installed here), a copy whose ExecStart= points at a stub must verify cleanly, and
# `systemd-analyze security --offline=true` must rate the service's exposure at 2.0 or lower.
set -euo pipefail
cd "$(dirname "$0")"

max_exposure=2.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

# 1. The units as shipped. The only message allowed is the missing /usr/local/bin/mico-auth-proxy.
cp mico-auth-proxy.service mico-auth-proxy.socket "$work/"
messages=$(cd "$work" && systemd-analyze verify ./mico-auth-proxy.service ./mico-auth-proxy.socket 2>&1 || true)
unexpected=$(printf '%s\n' "$messages" |
    grep -v -e '^$' -e 'Command /usr/local/bin/mico-auth-proxy is not executable: No such file or directory' || true)
if [[ -n $unexpected ]]; then
    echo "systemd-analyze verify reported:" >&2
    printf '%s\n' "$unexpected" >&2
    failed=1
fi

# 2. The same units with ExecStart= pointing at an executable stub: nothing at all may be reported.
mkdir "$work/stub"
printf '#!/bin/sh\nexit 0\n' >"$work/stub/mico-auth-proxy"
chmod 0755 "$work/stub/mico-auth-proxy"
sed "s|/usr/local/bin/mico-auth-proxy|$work/stub/mico-auth-proxy|" mico-auth-proxy.service >"$work/stub/mico-auth-proxy.service"
cp mico-auth-proxy.socket "$work/stub/"
if ! stub_messages=$(cd "$work/stub" && systemd-analyze verify ./mico-auth-proxy.service ./mico-auth-proxy.socket 2>&1) ||
    [[ -n $stub_messages ]]; then
    echo "systemd-analyze verify (stub ExecStart) reported:" >&2
    printf '%s\n' "$stub_messages" >&2
    failed=1
fi

# 3. Exposure score of the service, offline (no running systemd needed).
report=$(cd "$work" && systemd-analyze security --offline=true ./mico-auth-proxy.service 2>&1 || true)
exposure=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for mico-auth-proxy.service: \([0-9.]*\).*/\1/p')
if [[ -z $exposure ]]; then
    echo "systemd-analyze security printed no exposure level:" >&2
    printf '%s\n' "$report" >&2
    failed=1
elif ! awk -v e="$exposure" -v max="$max_exposure" 'BEGIN { exit !(e <= max) }'; then
    printf '%s\n' "$report" | grep '✗' >&2 || true
    echo "exposure $exposure is above $max_exposure" >&2
    failed=1
fi

if [[ $failed -ne 0 ]]; then
    echo "systemd units: FAILED" >&2
    exit 1
fi
echo "systemd units: verify clean, exposure $exposure (at most $max_exposure)"
