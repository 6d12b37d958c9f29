# Pebble, pebble-challtestsrv and the throwaway CA that Pebble's listener uses.
# Sourced by `up`; expects STATE and the *_PORT variables to be set.

# make_test_ca: an EC P-256 CA and a listener certificate for 127.0.0.1, ::1 and
# localhost signed by it. Keys are created 0600 (umask 077 inside the subshell).
# The same CA signs nginx's first certificate, so ACME_CA_BUNDLE trusts both.
make_test_ca() {
  local dir="$STATE/ca"
  mkdir -p "$dir"
  (
    umask 077
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
      -out "$dir/ca.key" 2>/dev/null
  ) || die "openssl could not create the test CA key in $dir"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 30 \
    -subj "/CN=certkeeper test environment CA $(openssl rand -hex 4)" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem" 2>/dev/null || die "openssl could not create the test CA certificate"
  chmod 0644 "$dir/ca.pem"
  issue_leaf_cert "$dir/listener" "localhost" \
    "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"
}

# issue_leaf_cert PREFIX CN SAN-EXTENSION: PREFIX.key (0600) and PREFIX.pem, a
# serverAuth certificate signed by the test CA.
issue_leaf_cert() {
  local prefix=$1 cn=$2 san=$3 ext
  (
    umask 077
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
      -out "$prefix.key" 2>/dev/null
  ) || die "openssl could not create a key at $prefix.key"
  openssl req -new -key "$prefix.key" -subj "/CN=$cn" -out "$prefix.csr" 2>/dev/null ||
    die "openssl could not create a CSR for $cn"
  ext="$prefix.ext"
  printf '%s\n' "$san" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$ext"
  openssl x509 -req -in "$prefix.csr" -CA "$STATE/ca/ca.pem" -CAkey "$STATE/ca/ca.key" \
    -set_serial "0x$(openssl rand -hex 12)" -days 30 -sha256 -extfile "$ext" \
    -out "$prefix.pem" 2>/dev/null || die "openssl could not sign the certificate for $cn"
  chmod 0644 "$prefix.pem"
  rm -f "$prefix.csr" "$ext"
}

# dns_answers SERVER PORT NAME TYPE: true when SERVER answers NAME/TYPE with NOERROR.
dns_answers() {
  kdig "@$1" -p "$2" +timeout=1 +retry=0 "$3" "$4" 2>/dev/null | grep -q 'status: NOERROR'
}

start_challtestsrv() {
  # Only the mock DNS and the management API: the challenge ports belong to the
  # solvers under test. Unknown names resolve to 127.0.0.1 and have no AAAA, so
  # Pebble always validates over IPv4 on the loopback.
  start_daemon challtestsrv "$STATE/logs/challtestsrv.log" /usr/bin/pebble-challtestsrv \
    -dns01 "127.0.0.1:$CHALLTESTSRV_DNS_PORT" \
    -management "127.0.0.1:$CHALLTESTSRV_MGMT_PORT" \
    -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
    -http01 "" -https01 "" -tlsalpn01 ""
  wait_until 20 challtestsrv "DNS answers on 127.0.0.1:$CHALLTESTSRV_DNS_PORT" \
    dns_answers 127.0.0.1 "$CHALLTESTSRV_DNS_PORT" ready.test A
  wait_until 20 challtestsrv "management API on 127.0.0.1:$CHALLTESTSRV_MGMT_PORT" \
    curl -sS -o /dev/null --max-time 2 -X POST -d '{"host":"ready.test"}' \
    "http://127.0.0.1:$CHALLTESTSRV_MGMT_PORT/clear-txt"
}

# start_pebble NAME DNS_SERVER PORT MGMT_PORT [EAB_KID EAB_KEY_FILE]: a Pebble
# instance NAME ("pebble" or "pebble2") resolving identifiers through DNS_SERVER,
# with its config, root and intermediates in STATE/NAME/ and its log in
# STATE/logs/NAME.log. Every instance validates challenges on the same
# PEBBLE_HTTP_PORT / PEBBLE_TLS_PORT, where the solvers under test listen. With
# EAB_KID and EAB_KEY_FILE (base64url HMAC key) it requires external account
# binding (RFC 8555 §7.3.4) with that one key.
# PEBBLE_VA_NOSLEEP defaults to 1; PEBBLE_CERT_VALIDITY_PERIOD (seconds) sets the
# lifetime of the certificates it issues (Pebble's default is about five years),
# PEBBLE2_CERT_VALIDITY_PERIOD overrides it for pebble2;
# every other PEBBLE_* variable of the caller (PEBBLE_WFE_NONCEREJECT,
# PEBBLE_AUTHZREUSE, PEBBLE_VA_ALWAYS_VALID, PEBBLE_ALTERNATE_ROOTS,
# PEBBLE_CHAIN_LENGTH, ...) reaches Pebble unchanged through the environment.
start_pebble() {
  local name=$1 dns_server=$2 port=$3 mgmt_port=$4 eab_kid=${5:-} eab_key_file=${6:-}
  local dir="$STATE/$name" config="$STATE/$name/pebble-config.json"
  local eab_required=false eab_keys="" validity=""
  mkdir -p "$dir"
  if [[ -n $eab_kid ]]; then
    eab_required=true
    eab_keys=$(printf ',\n    "externalAccountMACKeys": {"%s": "%s"}' "$eab_kid" "$(cat "$eab_key_file")")
  fi
  local period=${PEBBLE_CERT_VALIDITY_PERIOD:-} period_var=PEBBLE_CERT_VALIDITY_PERIOD
  if [[ $name == pebble2 && -n ${PEBBLE2_CERT_VALIDITY_PERIOD:-} ]]; then
    period=$PEBBLE2_CERT_VALIDITY_PERIOD period_var=PEBBLE2_CERT_VALIDITY_PERIOD
  fi
  if [[ -n $period ]]; then
    [[ $period =~ ^[1-9][0-9]{0,9}$ ]] || die "$period_var=$period is not a number of seconds"
    validity=$(printf ',\n    "certificateValidityPeriod": %s' "$period")
  fi
  printf '{\n  "pebble": {\n    "listenAddress": "127.0.0.1:%s",
    "managementListenAddress": "127.0.0.1:%s",
    "certificate": "%s",
    "privateKey": "%s",
    "httpPort": %s,
    "tlsPort": %s,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": %s%b%b\n  }\n}\n' \
    "$port" "$mgmt_port" "$STATE/ca/listener.pem" "$STATE/ca/listener.key" \
    "$PEBBLE_HTTP_PORT" "$PEBBLE_TLS_PORT" "$eab_required" "$eab_keys" "$validity" >"$config"
  chmod 0600 "$config"
  # Go's flag package reads "-strict false" as "-strict" plus an argument that
  # ends flag parsing, so the value must be attached with "=".
  PEBBLE_VA_NOSLEEP=${PEBBLE_VA_NOSLEEP:-1} \
    start_daemon "$name" "$STATE/logs/$name.log" /usr/bin/pebble \
    -config "$config" -dnsserver "$dns_server" -strict=false
  wait_until 30 "$name" "directory at https://127.0.0.1:$port/dir" \
    curl -sS -f -o /dev/null --max-time 2 --cacert "$STATE/ca/ca.pem" \
    "https://127.0.0.1:$port/dir"
  # Pebble creates a new issuing hierarchy at every start: fetch its roots and
  # intermediates once (one per chain: 1 + PEBBLE_ALTERNATE_ROOTS).
  local mgmt="https://127.0.0.1:$mgmt_port" chains=$((1 + ${PEBBLE_ALTERNATE_ROOTS:-0})) i
  for ((i = 0; i < chains; i++)); do
    wait_until 10 "$name" "root $i from the management API" \
      curl -sS -f --max-time 2 --cacert "$STATE/ca/ca.pem" \
      -o "$dir/root-$i.pem" "$mgmt/roots/$i"
    wait_until 10 "$name" "intermediate $i from the management API" \
      curl -sS -f --max-time 2 --cacert "$STATE/ca/ca.pem" \
      -o "$dir/intermediate-$i.pem" "$mgmt/intermediates/$i"
    grep -q 'BEGIN CERTIFICATE' "$dir/root-$i.pem" ||
      die "$name's management API returned no PEM root; see $dir/root-$i.pem"
  done
  cp "$dir/root-0.pem" "$dir/root.pem"
  # Every chain's root, for configs that must accept any of the alternate chains.
  cat "$dir"/root-*.pem >"$dir/roots.pem"
}

# pebble_root_names NAME: the subject CN of each root of Pebble instance NAME, in
# chain order, separated by "|" (names contain spaces, never "|").
pebble_root_names() {
  local dir="$STATE/$1" f names=""
  for f in "$dir"/root-*.pem; do
    names+="${names:+|}$(openssl x509 -in "$f" -noout -subject -nameopt multiline |
      sed -n 's/^ *commonName *= *//p')"
  done
  printf '%s' "$names"
}

# make_eab_key FILE: a random 256-bit HMAC key, base64url without padding
# (RFC 7515 §2), written 0600.
make_eab_key() {
  (
    umask 077
    openssl rand 32 | openssl base64 -A | tr '+/' '-_' | tr -d '=' >"$1"
  ) || die "openssl could not create the EAB key $1"
}
