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

# start_pebble DNS_SERVER: Pebble resolving identifiers through DNS_SERVER.
# PEBBLE_VA_NOSLEEP defaults to 1; every other PEBBLE_* variable of the caller
# (PEBBLE_WFE_NONCEREJECT, PEBBLE_AUTHZREUSE, PEBBLE_VA_ALWAYS_VALID, ...) reaches
# Pebble unchanged through the environment.
start_pebble() {
  local dns_server=$1 config="$STATE/pebble/pebble-config.json"
  mkdir -p "$STATE/pebble"
  cat >"$config" <<EOF
{
  "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_PORT",
    "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
    "certificate": "$STATE/ca/listener.pem",
    "privateKey": "$STATE/ca/listener.key",
    "httpPort": $PEBBLE_HTTP_PORT,
    "tlsPort": $PEBBLE_TLS_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
EOF
  # Go's flag package reads "-strict false" as "-strict" plus an argument that
  # ends flag parsing, so the value must be attached with "=".
  PEBBLE_VA_NOSLEEP=${PEBBLE_VA_NOSLEEP:-1} \
    start_daemon pebble "$STATE/logs/pebble.log" /usr/bin/pebble \
    -config "$config" -dnsserver "$dns_server" -strict=false
  wait_until 30 pebble "directory at https://127.0.0.1:$PEBBLE_PORT/dir" \
    curl -sS -f -o /dev/null --max-time 2 --cacert "$STATE/ca/ca.pem" \
    "https://127.0.0.1:$PEBBLE_PORT/dir"
  # Pebble creates a new issuing hierarchy at every start: fetch its root once.
  wait_until 10 pebble "root from the management API" \
    curl -sS -f --max-time 2 --cacert "$STATE/ca/ca.pem" \
    -o "$STATE/pebble/root.pem" "https://127.0.0.1:$PEBBLE_MGMT_PORT/roots/0"
  grep -q 'BEGIN CERTIFICATE' "$STATE/pebble/root.pem" ||
    die "Pebble's management API returned no PEM root; see $STATE/pebble/root.pem"
}
