# A local CA with an OCSP responder and a CRL (--with ocsp; implies nginx).
#
# $STATE/ocsp/ holds a root (root.pem), an issuing CA kept like `openssl ca`
# keeps one (ca.cnf, index.txt, serial, crlnumber, issuing.pem/key), a
# delegated OCSP responder certificate the issuing CA signed with
# id-kp-OCSPSigning (responder.pem/key), and two leaves:
#   leaf/      fullchain.pem (leaf + issuing CA), privkey.pem: AIA OCSP
#              http://127.0.0.1:$OCSP_PORT and CRL DP
#              http://127.0.0.1:$PEBBLE_HTTP_PORT/crl/ocsp-test.crl
#   crl-only/  the same, with the CRL DP only (as Let's Encrypt issues now)
# The CRL is served by the test nginx from its webroot (DER). The responder is
# lib/ocsp_responder.py on 127.0.0.1:$OCSP_PORT, which has `openssl ocsp`
# answer each request from index.txt as it is then. `ocsp-issue` issues
# another leaf, `ocsp-revoke` revokes one and publishes a new CRL.
# Sourced by `up` and `ocsp-revoke`; expects STATE, NGINX_DIR, OCSP_PORT,
# PEBBLE_HTTP_PORT and OCSP_LEAF_NAME.

OCSP_CRL_PATH=crl/ocsp-test.crl

# ocsp_conf DIR: the `openssl ca` configuration of the issuing CA.
ocsp_conf() {
  local dir=$1
  cat >"$dir/ca.cnf" <<EOF
[ ca ]
default_ca = issuing
[ issuing ]
dir = $dir
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
certificate = \$dir/issuing.pem
private_key = \$dir/issuing.key
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 7
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
[ responder_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,OCSPSigning
noCheck = ignored
EOF
}

# ocsp_key PATH: an EC P-256 key, 0600 from its creation.
ocsp_key() {
  (
    umask 077
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  ) || die "openssl could not create a key at $1"
}

# ocsp_ext KIND DNSNAME: the extensions of a leaf (KIND leaf: AIA OCSP and CRL
# DP; crl-only: the CRL DP alone) or of the responder (KIND responder).
ocsp_ext() {
  case $1 in
    responder)
      printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=critical,OCSPSigning" "noCheck=ignored"
      ;;
    leaf | crl-only)
      printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth" "subjectAltName=DNS:$2" \
        "crlDistributionPoints=URI:http://127.0.0.1:$PEBBLE_HTTP_PORT/$OCSP_CRL_PATH"
      [[ $1 == crl-only ]] || printf '%s\n' "authorityInfoAccess=OCSP;URI:http://127.0.0.1:$OCSP_PORT"
      ;;
  esac
}

# ocsp_issue PREFIX KIND CN: PREFIX.pem and PREFIX.key (0600), signed by the
# issuing CA through `openssl ca` (so index.txt knows it).
ocsp_issue() {
  local dir=$OCSP_DIR prefix=$1 kind=$2 cn=$3
  ocsp_key "$prefix.key"
  openssl req -new -key "$prefix.key" -subj "/CN=$cn" -out "$prefix.csr" 2>/dev/null ||
    die "openssl could not create a CSR for $cn"
  ocsp_ext "$kind" "$cn" >"$prefix.ext"
  openssl ca -batch -notext -config "$dir/ca.cnf" -extfile "$prefix.ext" -in "$prefix.csr" \
    -out "$prefix.pem" >>"$STATE/logs/ocsp.log" 2>&1 ||
    { show_log ocsp; die "openssl ca could not issue a certificate for $cn"; }
  chmod 0644 "$prefix.pem"
  rm -f "$prefix.csr" "$prefix.ext"
}

# ocsp_issue_leaf DIRNAME KIND DNSNAME: $OCSP_DIR/DIRNAME/ with cert.pem,
# fullchain.pem (leaf + issuing CA) and privkey.pem, ready for `certkeeper import`.
ocsp_issue_leaf() {
  local out="$OCSP_DIR/$1"
  mkdir -p "$out"
  ocsp_issue "$out/cert" "$2" "$3"
  cat "$out/cert.pem" "$OCSP_DIR/issuing.pem" >"$out/fullchain.pem"
  mv -f "$out/cert.key" "$out/privkey.pem"
}

# ocsp_publish_crl: a new CRL from index.txt, moved into nginx's webroot in one rename.
ocsp_publish_crl() {
  local dir=$OCSP_DIR out="$NGINX_DIR/webroot/$OCSP_CRL_PATH"
  mkdir -p "$(dirname "$out")"
  openssl ca -gencrl -config "$dir/ca.cnf" -out "$dir/crl.pem" >>"$STATE/logs/ocsp.log" 2>&1 ||
    { show_log ocsp; die "openssl ca could not generate the CRL"; }
  openssl crl -in "$dir/crl.pem" -outform DER -out "$out.tmp" 2>/dev/null ||
    die "openssl could not convert the CRL to DER"
  chmod 0644 "$out.tmp"
  mv -f "$out.tmp" "$out"
}

start_ocsp() {
  local dir="$STATE/ocsp"
  OCSP_DIR=$dir
  mkdir -p "$dir/newcerts"
  : >"$dir/index.txt"
  openssl rand -hex 8 >"$dir/serial"
  printf '1000\n' >"$dir/crlnumber"
  ocsp_conf "$dir"

  ocsp_key "$dir/root.key"
  openssl req -x509 -new -key "$dir/root.key" -sha256 -days 30 \
    -subj "/CN=certkeeper revocation test root $(openssl rand -hex 4)" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/root.pem" 2>/dev/null || die "openssl could not create the revocation test root"
  ocsp_key "$dir/issuing.key"
  openssl req -new -key "$dir/issuing.key" -subj "/CN=certkeeper revocation test issuing CA" \
    -out "$dir/issuing.csr" 2>/dev/null || die "openssl could not create the issuing CA's CSR"
  printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" \
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" >"$dir/issuing.ext"
  openssl x509 -req -in "$dir/issuing.csr" -CA "$dir/root.pem" -CAkey "$dir/root.key" \
    -set_serial "0x$(openssl rand -hex 12)" -days 30 -sha256 -extfile "$dir/issuing.ext" \
    -out "$dir/issuing.pem" 2>/dev/null || die "openssl could not sign the issuing CA"
  rm -f "$dir/issuing.csr" "$dir/issuing.ext"
  chmod 0644 "$dir/root.pem" "$dir/issuing.pem"

  ocsp_issue "$dir/responder" responder "certkeeper revocation test OCSP responder"
  ocsp_issue_leaf leaf leaf "$OCSP_LEAF_NAME"
  ocsp_issue_leaf crl-only crl-only "crl-only.$OCSP_LEAF_NAME"
  ocsp_publish_crl

  start_daemon ocsp "$STATE/logs/ocsp.log" /usr/bin/python3 "$HERE/lib/ocsp_responder.py" \
    "$OCSP_PORT" "$dir/index.txt" "$dir/issuing.pem" "$dir/responder.pem" "$dir/responder.key"
  wait_until 20 ocsp "OCSP on 127.0.0.1:$OCSP_PORT" \
    openssl ocsp -issuer "$dir/issuing.pem" -cert "$dir/leaf/cert.pem" \
    -url "http://127.0.0.1:$OCSP_PORT" -CAfile "$dir/root.pem" -timeout 2
  wait_until 20 nginx "the CRL on 127.0.0.1:$PEBBLE_HTTP_PORT" \
    curl -sS -f -o /dev/null --max-time 2 "http://127.0.0.1:$PEBBLE_HTTP_PORT/$OCSP_CRL_PATH"
}
