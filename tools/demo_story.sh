#!/usr/bin/env bash
# The demo story, on an already built tree:
#   demo_story.sh BINDIR [--keep DIR]
# Run by tools/demo.sh after set-up, and by CTest as an end-to-end test.
# With --keep DIR the journals, keys and host mirror stay in DIR (which
# must not exist yet) for exploring with the tools afterwards.
set -euo pipefail
usage="usage: demo_story.sh BINDIR [--keep DIR]"
[ $# -ge 1 ] || { echo "$usage" >&2; exit 64; }
bin=$(cd "$1" && pwd)
shift
keep=""
while [ $# -gt 0 ]; do
    case $1 in
    --keep)
        [ $# -ge 2 ] || { echo "demo: --keep needs a directory" >&2; exit 64; }
        keep=$2
        shift 2
        ;;
    --keep=*)
        keep=${1#--keep=}
        shift
        ;;
    *)
        echo "demo: unknown argument '$1' ($usage)" >&2
        exit 64
        ;;
    esac
done
if [ -n "$keep" ]; then
    if [ -e "$keep" ]; then
        echo "demo: $keep already exists; --keep wants a new directory" >&2
        exit 73
    fi
    mkdir -p "$keep"
    chmod 700 "$keep"
    work=$(cd "$keep" && pwd)
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/sfj-demo.XXXXXX")
fi
host_pid=""
cleanup() {
    [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null || true
    [ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT

key=$work/terminal.key
journal=$work/terminal-journal
hostdir=$work/host
sim=("$bin/pos-sim")

if [ -t 1 ]; then
    say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    say() { printf '\n== %s\n' "$*"; }
fi
die() { printf '\ndemo FAILED: %s\n' "$*" >&2; exit 1; }

start_host() {
    # The files exist before the host starts, so the wait below never reads
    # a file the background child has not opened yet.
    : >"$work/host.out"
    : >>"$work/host.log"
    "$bin/sfj-host" --dir "$hostdir" --provision "$work/provision" \
        --listen 127.0.0.1:0 >"$work/host.out" 2>>"$work/host.log" &
    host_pid=$!
    addr=""
    for _ in $(seq 200); do
        addr=$(sed -n 's/^listening //p' "$work/host.out")
        [ -n "$addr" ] && break
        kill -0 "$host_pid" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$addr" ] ||
        die "sfj-host did not start within 10 s: $(tail -n 3 "$work/host.log")"
    echo "sfj-host listening on $addr (mirrors in $hostdir)"
}

stop_host() {
    kill -TERM "$host_pid"
    wait "$host_pid" || true
    host_pid=""
}

say "Install: a master key and a journal for terminal POS-0001"
"${sim[@]}" init --journal "$journal" --key "$key"
"$bin/sfj-keygen" show "$key"
"$bin/sfj-keygen" export-host "$journal" -k "$key" >"$work/provision"
chmod 600 "$work/provision"
pubkey=$("$bin/sfj-keygen" show "$key" | awk '/^public key/ {print $NF}')
start_host

say "Morning: online sales, journaled before each request leaves"
"${sim[@]}" online --journal "$journal" --key "$key" --host "$addr"

say "Outage: the network goes down (sfj-host stopped)"
stop_host
"${sim[@]}" outage --journal "$journal" --key "$key" --host "$addr"

say "The link returns; a sale is cut by a power failure mid-transaction"
start_host
# The power cut is the planned kill -9 of pos-sim. It runs in a subshell
# (the explicit exit keeps bash from exec'ing it) whose own stderr, where
# bash reports "Killed", is silenced; pos-sim's stderr is kept.
set +e
(
    "${sim[@]}" powercut --journal "$journal" --key "$key" --host "$addr" 2>&3
    exit $?
) 3>&2 2>/dev/null
rc=$?
set -e
[ "$rc" -eq 137 ] || die "the power cut did not kill the terminal (exit $rc)"
echo "power cut: the terminal stopped dead (SIGKILL, as planned), no close"

say "Power back: sfj-recover says what must be done"
set +e
"$bin/sfj-recover" "$journal" -k "$key"
rc=$?
set -e
[ "$rc" -eq 1 ] || die "sfj-recover should report action needed (exit $rc)"

say "Reconcile: the acquirer's report says it approved the in-doubt sale"
# The acquirer's export: the online sales it approved, the in-doubt one
# among them (the merchant reference is the terminal's txn id). The
# offline sales are not there yet: the terminal forwards them on restart.
"$bin/sfj-recover" "$journal" --key "$key" --json >"$work/recover.json" || true
doubt=$(grep '"host_error"' "$work/recover.json" | head -n 1 || true)
[ -n "$doubt" ] || die "no in-doubt sale after the power cut"
field() { printf '%s\n' "$doubt" | sed -n "s/.*\"$1\": \"*\([^\",}]*\).*/\1/p"; }
{
    echo "reference,amount,currency,time,status,auth_code"
    "$bin/sfj-dump" "$journal" --key "$key" --format csv |
        awk -F, '$4 == "outcome" && $8 == "approved" {
            print $11 "," $12 "," $13 "," $3 ",approved," $14 }'
    echo "$(field txn_id),$(field amount),$(field currency),$(field recorded_ms),approved,RC4711"
} >"$work/acquirer-report.csv"
set +e
"$bin/sfj-reconcile" "$journal" -k "$key" --minor --apply \
    "$work/acquirer-report.csv"
rc=$?
set -e
[ "$rc" -le 1 ] || die "sfj-reconcile could not reconcile (exit $rc)"
"$bin/sfj-recover" "$journal" --key "$key" --json >"$work/recover.json" || true
if grep -q '"host_error"' "$work/recover.json"; then
    die "the sale is still in doubt after --apply"
fi

say "The terminal restarts: receipts, settlement, backlog replay"
"${sim[@]}" recover --journal "$journal" --key "$key" --host "$addr"

say "Recovery again: nothing left to do"
"$bin/sfj-recover" "$journal" -k "$key" ||
    die "sfj-recover still reports work after recovery"
stop_host

mirror=$(find "$hostdir" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -n "$mirror" ] || die "sfj-host kept no mirror"

say "Verify: the terminal journal (chain, signatures, every record)"
"$bin/sfj-dump" "$journal" --verify -k "$key" ||
    die "terminal journal does not verify"

say "Verify: the host's mirror, without any key, against the terminal's public key"
if [ -n "$pubkey" ]; then
    "$bin/sfj-dump" "$mirror" --verify --pubkey "$pubkey" ||
        die "host mirror does not verify"
else
    "$bin/sfj-dump" "$mirror" --verify || die "host mirror does not verify"
fi

say "Summary, counted from both journals"
"${sim[@]}" summary --journal "$journal" --key "$key" --mirror "$mirror" \
    --require-story
echo
echo "demo OK: nothing lost, nothing doubled."
if [ -n "$keep" ]; then
    printf '\nThe journals and keys are in %s. Try next:\n' "$work"
    printf '  %s %s --key %s\n' "$bin/sfj-dump" "$journal" "$key"
    printf '  %s %s --key %s\n' "$bin/sfj-recover" "$journal" "$key"
    printf '  %s %s --verify --pubkey %s\n' "$bin/sfj-dump" "$mirror" "$pubkey"
fi
