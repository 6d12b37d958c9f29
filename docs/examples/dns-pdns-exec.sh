#!/bin/sh
# A certkeeper exec DNS provider for the PowerDNS Authoritative HTTP API, in
# POSIX sh with curl (no jq). certkeeper runs it as
#   dns-pdns-exec.sh API_URL KEY_FILE ZONE present|cleanup FQDN VALUE
# (the first three from `command` in [solvers.dns-01], the rest appended).
# Every argument is data: checked, quoted, never evaluated.
set -eu
[ $# -eq 6 ] || { echo "usage: $0 API_URL KEY_FILE ZONE present|cleanup FQDN VALUE" >&2; exit 2; }
url=$1 key_file=$2 zone=$3 action=$4 fqdn=$5 value=$6
case $url in http://* | https://*) ;; *) echo "API_URL must be http(s)://..." >&2; exit 2 ;; esac
for name in "$zone" "$fqdn"; do
  case $name in '' | *[!A-Za-z0-9._-]* | *[!.]) echo "bad DNS name: $name" >&2; exit 2 ;; esac
done
case $value in '' | *[!A-Za-z0-9_-]*) echo "the value is not base64url" >&2; exit 2 ;; esac
case $action in present | cleanup) ;; *) echo "unknown action: $action" >&2; exit 2 ;; esac

# The key goes to curl on stdin (-H @-), never on a command line others can see.
api() { printf 'X-API-Key: %s\n' "$(cat "$key_file")" | curl -fsS --max-time 10 -H @- "$@"; }
zone_url="$url/api/v1/servers/localhost/zones/$zone"

# The RRset's TXT contents as the JSON strings PowerDNS gives (e.g. "\"abc\""),
# minus ours; then ours again for present. The API replaces whole RRsets.
ours="\"\\\"$value\\\"\""
json=$(api "$zone_url?rrsets=true&rrset_name=$fqdn&rrset_type=TXT")
keep=$(printf '%s\n' "$json" | grep -oE '"content": *"([^"\\]|\\.)*"' |
  sed 's/^"content": *//' | grep -vxF "$ours" || true)
[ "$action" = present ] && keep=$(printf '%s\n%s' "$keep" "$ours")
records=$(printf '%s\n' "$keep" | sed '/^$/d; s/.*/{"content": &, "disabled": false}/' | paste -sd, -)
if [ -n "$records" ]; then
  change="\"changetype\": \"REPLACE\", \"ttl\": 60, \"records\": [$records]"
else
  change='"changetype": "DELETE"'
fi
api -X PATCH -H 'Content-Type: application/json' \
  --data-binary "{\"rrsets\": [{\"name\": \"$fqdn\", \"type\": \"TXT\", $change}]}" "$zone_url"
