#!/usr/bin/env bash
# Provisioning flow with tsp11: a token, an RSA key on it, a CSR signed on the token, a
# certificate from a throw-away OpenSSL CA, and that certificate stored next to its key.
#
#   examples/provision.sh                       # fresh temporary token store, printed at the start
#   TSP11_HOME=~/my-store examples/provision.sh # an existing store (the token label must be free)
#   CERT_FORMAT=pem examples/provision.sh       # store the CA's PEM output directly
#
# It uses tsp11's embedded default module (SoftHSM2 with its token store in $TSP11_HOME), and
# openssl only to play the CA. The private key never leaves the token.
#
# Settings (environment): TSP11 (the tsp11 to run), TSP11_HOME, TOKEN_LABEL, SO_PIN, USER_PIN,
# KEY_LABEL, KEY_ID, SUBJECT, CERT_FORMAT (der|pem), WORK (directory for the CSR and CA files).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TSP11="${TSP11:-$repo/bin/tsp11}"

TOKEN_LABEL="${TOKEN_LABEL:-provision}"
KEY_LABEL="${KEY_LABEL:-key-1}"
KEY_ID="${KEY_ID:-0001}"
SUBJECT="${SUBJECT:-/CN=device-1.example.com}"
CERT_FORMAT="${CERT_FORMAT:-der}"

# The embedded default: no module override, no p11-kit client, no other SoftHSM config.
unset TSP11_MODULE TSP11_SLOT TSP11_TOKEN P11_KIT_SERVER_ADDRESS SOFTHSM2_CONF

# A fresh token store unless one was given, so the script can be run again and again.
if [ -z "${TSP11_HOME:-}" ]; then
  TSP11_HOME="$(mktemp -d "${TMPDIR:-/tmp}/tsp11-provision.XXXXXX")"
fi
export TSP11_HOME
WORK="${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/tsp11-provision-work.XXXXXX")}"
mkdir -p "$WORK"
echo "token store (TSP11_HOME): $TSP11_HOME"
echo "work files (CSR, CA):     $WORK"

# PINs travel in the environment (TSP11_SO_PIN, TSP11_PIN), never on a command line that
# `ps` would show; tsp11 never prints them.
export TSP11_SO_PIN="${SO_PIN:-12345678}"
export TSP11_PIN="${USER_PIN:-1234}"

if "$TSP11" list-slots --json | grep -q "\"label\": \"$TOKEN_LABEL\""; then
  echo "provision.sh: a token labelled \"$TOKEN_LABEL\" already exists in $TSP11_HOME;" \
    "set TOKEN_LABEL or use another TSP11_HOME" >&2
  exit 1
fi

step() { printf '\n==> %s\n' "$*"; }

step "1. initialize the token \"$TOKEN_LABEL\" (SO PIN and user PIN from the environment)"
"$TSP11" init-token --label "$TOKEN_LABEL"

tok=(--token-label "$TOKEN_LABEL")

step "2. generate an RSA-2048 signing key, id $KEY_ID, label $KEY_LABEL"
"$TSP11" "${tok[@]}" keygen --key-type rsa:2048 --id "$KEY_ID" --label "$KEY_LABEL" --usage sign

step "3. certificate request for $SUBJECT, signed on the token"
"$TSP11" "${tok[@]}" req -i "$KEY_LABEL" -d "$SUBJECT" -o "$WORK/$KEY_LABEL.csr"
openssl req -in "$WORK/$KEY_LABEL.csr" -noout -verify -subject

step "4. a throw-away CA issues the certificate"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/caKey.pem" -out "$WORK/caCert.pem" \
  -subj "/CN=tsp11 provisioning test CA" -days 365 2>/dev/null
openssl x509 -req -in "$WORK/$KEY_LABEL.csr" -CA "$WORK/caCert.pem" -CAkey "$WORK/caKey.pem" \
  -CAcreateserial -days 365 -out "$WORK/$KEY_LABEL.pem"

step "5. store the certificate on the token next to its key (id $KEY_ID)"
if [ "$CERT_FORMAT" = pem ]; then
  # write-object reads PEM as well as DER: the CA's PEM output goes in as it is.
  cert="$WORK/$KEY_LABEL.pem"
else
  # The classic pkcs11-tool recipe converts to DER first; with tsp11 this step is optional
  # (CERT_FORMAT=pem skips it).
  openssl x509 -in "$WORK/$KEY_LABEL.pem" -outform DER -out "$WORK/$KEY_LABEL.der"
  cert="$WORK/$KEY_LABEL.der"
fi
# The label defaults to the key's; a certificate whose public key is not the key's is refused.
"$TSP11" "${tok[@]}" write-object --type cert -f "$cert" --id "$KEY_ID"

step "6. the token's objects"
"$TSP11" "${tok[@]}" list-objects

echo
echo "done: token \"$TOKEN_LABEL\" in $TSP11_HOME holds $KEY_LABEL (id $KEY_ID) and its certificate"
