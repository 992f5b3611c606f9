#!/bin/sh
# Regenerate the dm-verity fixture with cryptsetup's veritysetup (Debian
# cryptsetup-bin): a hash device over 40 KiB of 'A' bytes (10 data blocks
# of 4096), SHA-256, format 1, with a fixed salt and UUID so that the
# output is the same on every run. The data itself is not kept.
#   hash.img   superblock (one 4096-byte hash block) + one hash block
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 40960 /dev/zero | tr '\0' 'A' > "$tmp/data.img"
rm -f hash.img
veritysetup format "$tmp/data.img" hash.img \
    --salt=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff \
    --uuid=12345678-1234-1234-1234-123456789abc >/dev/null
chmod 644 hash.img
