#!/usr/bin/env bash
# Regenerates the committed seed corpus in Corpus/<Target>/: small images (util-linux mkfs.cramfs and
# `cramfs make`, both byte orders, padded, holes, 16K blocks, XIP, a device table), tar archives and device
# tables. CI never runs this: it uses the committed files. Run from anywhere; CRAMFS names the cramfs
# binary (default: the main package's debug build, `swift build` first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../scripts/env.sh"   # util-linux on PATH (it moves to the package root)
cramfs=${CRAMFS:-$PWD/.build/debug/cramfs}
[[ -x "$cramfs" ]] || { echo "make_corpus.sh: no cramfs binary at $cramfs (swift build, or set CRAMFS)" >&2; exit 1; }
corpus="$here/Corpus"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Device tables (FuzzDeviceTable); the first is also applied to the images below.
tables="$corpus/FuzzDeviceTable"
rm -rf "$tables" && mkdir -p "$tables"
cat > "$tables/basic.txt" <<'TABLE'
# name		type	mode	uid	gid	major	minor	start	inc	count
/dev		d	755	0	0	-	-	-	-	-
/dev/console	c	600	0	5	5	1	-	-	-
/dev/null	c	666	0	0	1	3	0	0	-
/dev/tty	c	666	0	0	5	0	-	-	-
/dev/hda	b	640	0	0	3	0	0	0	-
/dev/hda	b	640	0	0	3	1	1	1	4
/dev/ttyS	c	640	0	0	4	64	0	1	4
/dev/initctl	p	600	0	0	-	-	-	-	-
/etc		d	755	0	0	-	-	-	-	-
/etc/passwd	f	644	0	0	-	-	-	-	-
TABLE
printf '/dev d 0755 0 0 - - - - -\n/dev/mtdblock b 0640 0 6 31 0 0 1 8\n/dev/fifo p 0644 1000 100 - - - - -\n' > "$tables/series.txt"
printf '#comment only\n\n   \n/ d 0700 1 1 - - - - -\n/tmp d 1777 0 0 - - - - -\r\n' > "$tables/root-crlf.txt"
printf '/d\td\t755\t65536\t256\t0\t0\t0\t0\t0\n/d/x\tc\t644\t0\t0\t4095\t1048575\t-\t-\t-\n' > "$tables/wide.txt"

# A tiny tree with every kind of entry the tools make without a device table.
tree="$work/tree"
mkdir -p "$tree/d/e" "$tree/etc" "$tree/bin"
seq 1 400 > "$tree/d/seq"
echo x > "$tree/d/e/f"
cp "$tree/d/e/f" "$tree/d/e/same"
ln -s d/seq "$tree/l"
head -c 9000 /dev/zero > "$tree/zeros"
{ head -c 300 /dev/zero; echo tail; } > "$tree/sparse"
echo root:x:0:0::/root:/bin/sh > "$tree/etc/passwd"
printf '\177ELF-not-really' > "$tree/bin/xprog"
mkfifo "$tree/p"
chmod 4755 "$tree/bin/xprog"

images="$work/images"
mkdir -p "$images"
mk() { local name=$1; shift; /usr/sbin/mkfs.cramfs "$@" "$tree" "$images/$name" > /dev/null; }
mk mkfs-little -N little
mk mkfs-big -N big
mk mkfs-pad -p
mk mkfs-holes -z
mk mkfs-16k -b 16384
mk mkfs-big-16k-holes -N big -b 16384 -z
make() { local name=$1; shift; "$cramfs" make --no-progress "$@" "$tree" "$images/$name" > /dev/null 2>&1; }
make make-little -L
make make-big -B
make make-pad-holes -p -z
make make-xip --xip '/bin/*'
make make-xip-big-16k -B -b 16384 --xip '/d/*'
make make-devices -D "$tables/basic.txt" -q
for target in FuzzRead FuzzCheck; do
  rm -rf "${corpus:?}/$target" && mkdir -p "$corpus/$target"
  cp "$images"/* "$corpus/$target/"
done

# Tar archives (FuzzTar): the three formats, links, owners and devices from the archive, compressed.
archives="$corpus/FuzzTar"
rm -rf "$archives" && mkdir -p "$archives"
ln "$tree/d/seq" "$tree/d/hard"
mknod "$tree/dev-null" c 1 3 2>/dev/null || true
rm -f "$tree/p"
tarit() {
  local name=$1; shift
  tar -C "$tree" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -b 1 "$@" -cf "$archives/$name" .
}
tarit ustar.tar --format=ustar --exclude=./zeros
tarit gnu.tar --format=gnu --exclude=./zeros
tarit pax.tar --format=pax --exclude=./zeros
tarit gnu-sparse.tar --format=gnu --sparse ./zeros ./sparse --no-recursion
tar -C "$tree" --mtime=@0 --owner=1000 --group=100 --numeric-owner -b 1 --format=pax -czf "$archives/pax.tar.gz" ./d ./l
tar -C "$tree" --mtime=@0 --numeric-owner -b 1 --format=ustar -cJf "$archives/ustar.tar.xz" ./etc ./bin

# FuzzRoundTrip: its input is a generator's choices, so any bytes do; a few fixed ones, made reproducibly.
choices="$corpus/FuzzRoundTrip"
rm -rf "$choices" && mkdir -p "$choices"
for seed in 1 2 3 4 5 6; do
  LC_ALL=C awk -v seed="$seed" 'BEGIN { s = seed; for (i = 0; i < 64 * seed; i++) { s = (s * 1103515245 + 12345) % 2147483648; printf "%c", int(s / 65536) % 256 } }' \
    > "$choices/choices-$seed"
done
du -sh "$corpus"/* | sed "s|$corpus/||"
