#!/bin/sh
# Regenerate the FIT fixtures with U-Boot's mkimage (Debian u-boot-tools)
# and dtc (device-tree-compiler). The signing key is made in a temporary
# directory and deleted: only its public half, in control.dtb, is kept.
#   unsigned.itb  the FIT as mkimage writes it without -k: its signature
#                 node (algo, key-name-hint, sign-images) has no value
#   signed.itb    the same FIT signed with `mkimage -k`
#   control.dtb   a U-Boot control device tree holding the public key,
#                 marked required for configurations (`mkimage -K … -r`)
#   control-optional.dtb  the same with the `required` property deleted
#                 (fdtput -d): U-Boot then boots an unsigned image too
#   verity-bootargs.itb   unsigned FIT whose device tree's bootargs name a
#                 dm-verity table
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'fwcert FIT fixture kernel\n' > "$tmp/kernel.bin"
printf '/dts-v1/;\n/ { model = "fwcert fixture"; };\n' > "$tmp/fdt.dts"
dtc -I dts -O dtb -o "$tmp/fdt.dtb" "$tmp/fdt.dts"
printf '/dts-v1/;\n/ { model = "fwcert control fdt"; };\n' > "$tmp/control.dts"
dtc -I dts -O dtb -o "$tmp/control.dtb" "$tmp/control.dts"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/dev.key" 2>/dev/null
openssl req -batch -new -x509 -key "$tmp/dev.key" -out "$tmp/dev.crt" -subj /CN=dev 2>/dev/null
cat > "$tmp/fit.its" <<ITS
/dts-v1/;
/ {
    description = "fwcert signed FIT fixture";
    #address-cells = <1>;
    images {
        kernel {
            description = "kernel";
            data = /incbin/("$tmp/kernel.bin");
            type = "kernel";
            arch = "arm";
            os = "linux";
            compression = "none";
            load = <0x80008000>;
            entry = <0x80008000>;
            hash-1 { algo = "sha256"; };
        };
        fdt {
            description = "device tree";
            data = /incbin/("$tmp/fdt.dtb");
            type = "flat_dt";
            arch = "arm";
            compression = "none";
            hash-1 { algo = "sha256"; };
        };
    };
    configurations {
        default = "conf-1";
        conf-1 {
            kernel = "kernel";
            fdt = "fdt";
            signature-1 {
                algo = "sha256,rsa2048";
                key-name-hint = "dev";
                sign-images = "kernel", "fdt";
            };
        };
    };
};
ITS
SOURCE_DATE_EPOCH=1700000000 mkimage -f "$tmp/fit.its" unsigned.itb >/dev/null
SOURCE_DATE_EPOCH=1700000000 mkimage -f "$tmp/fit.its" -k "$tmp" -K "$tmp/control.dtb" -r signed.itb >/dev/null
cp "$tmp/control.dtb" control.dtb
cp control.dtb control-optional.dtb
fdtput -d control-optional.dtb /signature/key-dev required
# verity-bootargs.itb: an unsigned FIT whose device tree's /chosen/bootargs
# builds the root from a dm-verity table (dm-init.rst syntax).
printf '/dts-v1/;\n/ { model = "fwcert fixture"; chosen { bootargs = "console=ttyS0 dm-mod.create=\\"vroot,,,ro,0 1740800 verity 1 /dev/mmcblk0p2 /dev/mmcblk0p3 4096 4096 217600 0 sha256 d9b0 5f3a\\" root=/dev/dm-0"; }; };\n' > "$tmp/vfdt.dts"
dtc -I dts -O dtb -o "$tmp/vfdt.dtb" "$tmp/vfdt.dts"
sed -e "s|$tmp/fdt.dtb|$tmp/vfdt.dtb|" -e '/signature-1 {/,/};/d' "$tmp/fit.its" > "$tmp/vfit.its"
SOURCE_DATE_EPOCH=1700000000 mkimage -f "$tmp/vfit.its" verity-bootargs.itb >/dev/null
