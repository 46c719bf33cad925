#!/usr/bin/env bash
# The README's sample (examples/sale.c), run against a real sfj-host:
# the request payload is journaled on the intent only, the outcome carries
# the response, the original receipt is copy 1, the host acknowledged the
# sale, and sfj-recover finds nothing to do.
# Every line of the README's C sample is a line of examples/sale.c.
#   example_sale.sh BINDIR SOURCEDIR
set -euo pipefail
bin=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sfj-sale.XXXXXX")
host_pid=""
cleanup() {
    [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "example_sale: $*" >&2; exit 1; }

# The README's sample cannot drift from the program that is tested.
sed -n '/^```c$/,/^```$/p' "$src/README.md" | sed '1d;$d' | while IFS= read -r line; do
    [ -z "$line" ] && continue
    grep -q -F -x -- "$line" "$src/examples/sale.c" ||
        fail "README line not in examples/sale.c: $line"
done

key=$work/key
journal=$work/journal
"$bin/sfj-sale" "$key" "$journal" >/dev/null # creates key and journal
"$bin/sfj-keygen" export-host "$journal" -k "$key" >"$work/provision"
chmod 600 "$work/provision"
: >"$work/host.out"
"$bin/sfj-host" --dir "$work/mirrors" --provision "$work/provision" \
    --listen 127.0.0.1:0 >"$work/host.out" 2>"$work/host.log" &
host_pid=$!
addr=""
for _ in $(seq 200); do
    addr=$(sed -n 's/^listening //p' "$work/host.out")
    [ -n "$addr" ] && break
    sleep 0.05
done
[ -n "$addr" ] || fail "sfj-host did not start"
"$bin/sfj-sale" "$key" "$journal" "$addr" | grep -q "acknowledged by the host" ||
    fail "the second sale was not acknowledged by the host"

json=$("$bin/sfj-dump" "$journal" -k "$key" -o json -p text)
field() { # field KIND NAME: that field of every entry of that kind
    grep "\"kind\":\"$1\"" <<<"$json" | sed -n "s/.*\"$2\":\\([^,}]*\\)[,}].*/\\1/p"
}
[ "$(grep -c '"kind":"intent"' <<<"$json")" -eq 2 ] || fail "expected 2 intents"
[ "$(grep -c '0200|' <<<"$json")" -eq 2 ] ||
    fail "the request payload is journaled more than once per sale"
[ "$(field intent payload_len | sort -u)" = 45 ] || fail "intent payload"
[ "$(field outcome payload | sort -u)" = '"0210|39=00|38=A1B2C3"' ] ||
    fail "outcome payload is not the response"
[ "$(field receipt copy | sort -u)" = 1 ] || fail "original receipt is not copy 1"
[ "$(field receipt payload_len | sort -u)" = 0 ] || fail "receipt payload"
"$bin/sfj-recover" "$journal" -k "$key" >/dev/null ||
    fail "sfj-recover reports work after two clean sales"
echo "example_sale: ok"
