#!/bin/sh
# A firmware blob with a CMS (PKCS#7) SignedData appended, as made by
# `openssl cms -sign -binary -outform DER` (detached); the key and its
# self-signed certificate are made in a temporary directory and deleted
# (the certificate travels inside the signature).
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'fwcert CMS fixture: firmware payload\n' > fw.bin
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/k.pem" 2>/dev/null
openssl req -batch -new -x509 -key "$tmp/k.pem" -out "$tmp/c.pem" -subj /CN=fwcert-fixture -days 3650 2>/dev/null
openssl cms -sign -binary -in fw.bin -signer "$tmp/c.pem" -inkey "$tmp/k.pem" -outform DER -out "$tmp/fw.p7s"
cat fw.bin "$tmp/fw.p7s" > fw-with-cms.bin
