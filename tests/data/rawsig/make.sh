#!/bin/sh
# Regenerate the raw-signature fixtures: a legacy uImage made by U-Boot's
# mkimage (Debian u-boot-tools) and the same bytes with a bare signature
# over them appended, as vendors that sign without a container do. The
# keys are made in a temporary directory and deleted.
#   uimage.bin        the uImage alone
#   uimage-rsa.bin    + `openssl dgst -sha256 -sign` with RSA-2048 (256 bytes)
#   uimage-ecdsa.bin  + the same with ECDSA P-256 (a DER SEQUENCE of r, s)
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'fwcert raw signature fixture kernel\n' > "$tmp/kernel.bin"
SOURCE_DATE_EPOCH=1700000000 mkimage -A arm -O linux -T kernel -C none -a 0x80008000 -e 0x80008000 \
    -n "fwcert-rawsig" -d "$tmp/kernel.bin" uimage.bin >/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec.pem" 2>/dev/null
openssl dgst -sha256 -sign "$tmp/rsa.pem" -out "$tmp/rsa.sig" uimage.bin
openssl dgst -sha256 -sign "$tmp/ec.pem" -out "$tmp/ec.sig" uimage.bin
cat uimage.bin "$tmp/rsa.sig" > uimage-rsa.bin
cat uimage.bin "$tmp/ec.sig" > uimage-ecdsa.bin
