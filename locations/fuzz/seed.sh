#!/bin/sh
# Seed corpus/iso9660 with the test images of tests/testdata/iso (their
# first 128 KiB after the 32 KiB system area: descriptors, path tables,
# directories), unpacked by the iso9660 test's format.
set -eu
cd "$(dirname "$0")"
mkdir -p corpus/iso9660
for p in ../tests/testdata/iso/*.pack; do
    python3 - "$p" "corpus/iso9660/seed_$(basename "$p" .pack)" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
assert d[:8] == b'ISOPACK1'
n = struct.unpack('<I', d[8:12])[0]
img = bytearray(n * 2048)
i = 12
while i < len(d):
    s, l = struct.unpack('<IH', d[i:i + 6])
    img[s * 2048:s * 2048 + l] = d[i + 6:i + 6 + l]
    i += 6 + l
open(sys.argv[2], 'wb').write(bytes(img[32768:32768 + 131072]))
PY
done
ls corpus/iso9660

# Seed corpus/ext with small ext2 and ext4 images made by mke2fs -d (a
# SUSE-style tree and a directory of names), without their boot block.
if command -v mke2fs >/dev/null; then
    mkdir -p corpus/ext
    src=$(mktemp -d)
    mkdir -p "$src/boot/s390x" "$src/many"
    head -c 20000 /dev/urandom >"$src/boot/s390x/linux"
    for i in 0 1 2 3 4 5 6 7 8 9; do echo "$i" >"$src/many/file-000$i"; done
    for t in ext2 ext4; do
        img=$(mktemp)
        mke2fs -q -F -t "$t" -b 1024 -N 32 -O ^has_journal -d "$src" "$img" 192K
        tail -c +1025 "$img" >"corpus/ext/seed_$t"
        rm -f "$img"
    done
    rm -rf "$src"
    ls -l corpus/ext
fi
