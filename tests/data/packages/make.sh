#!/bin/sh
# Regenerate the package-file fixtures (Debian 12: dpkg-deb from dpkg,
# rpmbuild and rpm from the `rpm` package, GNU tar, ar from binutils).
# Every file is small: packages with a control file or spec and one tiny
# data file, nothing else.
#   zlib1g_1.2.8.deb         dpkg-deb --build, control.tar.xz (dpkg's default)
#   dnsmasq_2.78.deb         the same with -Zgzip: control.tar.gz
#   curl_7.64.0.deb          the same with -Zzstd: control.tar.zst
#   hello_2.10.deb           a package fwcert has no component for (fail)
#   dropbear_2012.55.ipk     OpenWrt's current layout (opkg-build): a gzip'd
#                            tar of ./debian-binary, ./data.tar.gz,
#                            ./control.tar.gz
#   busybox_1.23.2.ipk       the older ipkg layout: an ar archive of the same
#   broken.ipk               busybox_1.23.2.ipk cut after 200 bytes (fail)
#   dropbear-2012.55.rpm     rpmbuild -bb of a spec without files
#   hello-2.10.rpm           a package fwcert has no component for (fail)
#   rpmdb.sqlite             an rpm database with the SQLite backend holding
#                            dropbear-2012.55 (rpm -i --justdb)
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=1700000000

deb() { # name version file compression
    d="$tmp/deb-$1"
    mkdir -p "$d/DEBIAN" "$d/usr/share/doc/$1"
    printf 'fixture\n' > "$d/usr/share/doc/$1/README"
    cat > "$d/DEBIAN/control" <<CTL
Package: $1
Version: $2
Architecture: mipsel
Maintainer: fwcert fixtures <fixtures@example.invalid>
Description: fwcert test fixture
CTL
    dpkg-deb --root-owner-group -Z"$4" --build "$d" "$3" >/dev/null
}
deb zlib1g 1:1.2.8.dfsg-5 zlib1g_1.2.8.deb xz
deb dnsmasq 2.78-1 dnsmasq_2.78.deb gzip
deb curl 7.64.0-4 curl_7.64.0.deb zstd
deb hello 2.10-3 hello_2.10.deb xz

ipk_parts() { # name version dir
    mkdir -p "$3/control" "$3/data/usr/sbin"
    printf 'fixture\n' > "$3/data/usr/sbin/$1"
    cat > "$3/control/control" <<CTL
Package: $1
Version: $2
Depends: libc
Source: package/$1
Architecture: mips_24kc
Installed-Size: 8
Description: fwcert test fixture
CTL
    printf '2.0\n' > "$3/debian-binary"
    (cd "$3/control" && tar --format=gnu --numeric-owner --owner=0 --group=0 --mtime=@$SOURCE_DATE_EPOCH -czf ../control.tar.gz ./control)
    (cd "$3/data" && tar --format=gnu --numeric-owner --owner=0 --group=0 --mtime=@$SOURCE_DATE_EPOCH -czf ../data.tar.gz .)
}
ipk_parts dropbear 2012.55-2 "$tmp/ipk1"
(cd "$tmp/ipk1" && tar --format=gnu --numeric-owner --owner=0 --group=0 --mtime=@$SOURCE_DATE_EPOCH -cf - ./debian-binary ./data.tar.gz ./control.tar.gz | gzip -9n) > dropbear_2012.55.ipk
ipk_parts busybox 1.23.2-1 "$tmp/ipk2"
rm -f busybox_1.23.2.ipk
(cd "$tmp/ipk2" && ar -rcD "$OLDPWD/busybox_1.23.2.ipk" debian-binary control.tar.gz data.tar.gz)
head -c 200 busybox_1.23.2.ipk > broken.ipk

rpm_of() { # name version release
    mkdir -p "$tmp/rpm/SPECS"
    cat > "$tmp/rpm/SPECS/$1.spec" <<SPEC
Name: $1
Version: $2
Release: $3
Summary: fwcert test fixture
License: MIT
BuildArch: noarch
%description
fwcert test fixture
%files
SPEC
    rpmbuild --quiet --define "_topdir $tmp/rpm" --define '_binary_payload w9.gzdio' \
        --define '_buildhost fixtures' --define 'use_source_date_epoch_as_buildtime 1' \
        -bb "$tmp/rpm/SPECS/$1.spec" >/dev/null 2>&1
    cp "$tmp/rpm/RPMS/noarch/$1-$2-$3.noarch.rpm" "$1-$2.rpm"
}
rpm_of dropbear 2012.55 1
rpm_of hello 2.10 1

rm -f rpmdb.sqlite
mkdir -p "$tmp/db"
rpm --dbpath "$tmp/db" --define '_db_backend sqlite' --initdb 2>/dev/null
rpm --dbpath "$tmp/db" --define '_db_backend sqlite' -i --justdb --nodeps --ignorearch --ignoreos dropbear-2012.55.rpm 2>/dev/null
cp "$tmp/db/rpmdb.sqlite" rpmdb.sqlite
# Smaller pages (rpm's 4096 make 200 KB of mostly empty index tables), then
# back to WAL, as rpm leaves it.
python3 -c "
import sqlite3
c = sqlite3.connect('rpmdb.sqlite', isolation_level=None)
for s in ['PRAGMA journal_mode=DELETE', 'PRAGMA page_size=512', 'VACUUM', 'PRAGMA journal_mode=WAL']:
    c.execute(s)
c.close()
"
