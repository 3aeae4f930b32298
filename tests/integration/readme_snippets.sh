#!/usr/bin/env bash
# The README's shell snippets do what they say: the gateway snippet's exports
# leave WEAVER_TOKEN equal to the gateway's token (once, one `export` of both
# expanded WEAVER_TOKEN before the token existed: every `weaver query` after
# it answered 401), and `weaver query` names the remedy when no gateway runs.
source "$(dirname "$0")/../lib/common.sh"
readme="$WEAVER_SOURCE_DIR/README.md"
grep -E '^export WEAVER_(GATEWAY_)?TOKEN=' "$readme" > "$WORK/exports.sh" || fail "README has no token exports"
env -u WEAVER_TOKEN -u WEAVER_GATEWAY_TOKEN bash -c "source '$WORK/exports.sh'; printf '%s\n%s\n' \"\$WEAVER_GATEWAY_TOKEN\" \"\$WEAVER_TOKEN\"" > "$WORK/tokens"
gw=$(sed -n 1p "$WORK/tokens"); cl=$(sed -n 2p "$WORK/tokens")
[ ${#gw} -ge 16 ] || fail "the snippet's WEAVER_GATEWAY_TOKEN is '$gw'"
[ "$cl" = "$gw" ] || fail "the snippet leaves WEAVER_TOKEN='$cl', not the gateway's token"
echo "ok: README token snippet"

# No gateway: the error says how to start one or to ask the store directly.
port=$(free_port)
rc=0; "$WEAVER" query transitions from=1 to=2 --url "http://127.0.0.1:$port" 2> "$WORK/err" || rc=$?
[ $rc = 1 ] || fail "exit $rc without a gateway"
grep -q -- "--role query,gateway" "$WORK/err" && grep -q -- "--db" "$WORK/err" || { cat "$WORK/err"; fail "no remedy named"; }
echo "ok: a missing gateway names the remedy"
