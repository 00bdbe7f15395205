#!/usr/bin/env bash
# Builds a base image for deploy/Dockerfile and deploy/postgres.Dockerfile from Debian's packages alone, for hosts
# that reach a Debian mirror but no image hub: debootstrap a minimal Debian with python3 and python3-venv (pip comes
# with the venv), then `docker import` it.
#
#   sudo deploy/base-image.sh                  # builds (once) and prints the tag, e.g. monitor-base:bookworm-1a2b3c4d5e6f
#   deploy/base-image.sh --print-tag           # prints the tag only, builds nothing
#   docker build --network host -f deploy/Dockerfile --build-arg BASE="$(deploy/base-image.sh --print-tag)" -t monitor .
#
# The tag carries a hash of this script and the suite, so an image already built by the same script is reused (a
# first build takes a few minutes; a rerun none). Needs root, debootstrap and a running Docker daemon.
# The certificates the host's administrator added to its trust store (Debian keeps them in
# /usr/local/share/ca-certificates, e.g. the CA of a TLS-inspecting proxy) are trusted in the image too, so that pip
# and apt in the builds reach out as the host does; they are part of the hash.
# Environment: SUITE (default bookworm), MIRROR (default http://deb.debian.org/debian), CA_CERTS (a directory of
# *.crt files, default /usr/local/share/ca-certificates; empty: none).
set -euo pipefail

SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CA_CERTS=${CA_CERTS-/usr/local/share/ca-certificates}
ca_files() {
  if [ -n "$CA_CERTS" ] && [ -d "$CA_CERTS" ]; then
    find "$CA_CERTS" -maxdepth 1 -type f -name '*.crt' | LC_ALL=C sort
  fi
}
hash=$( { cat "$0"; echo "$SUITE"; ca_files | while read -r f; do cat "$f"; done; } | sha256sum | cut -c1-12)
tag="monitor-base:$SUITE-$hash"

if [ "${1:-}" = "--print-tag" ]; then
  echo "$tag"
  exit 0
elif [ $# -gt 0 ]; then
  echo "usage: $0 [--print-tag]" >&2
  exit 2
fi

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "$0: debootstrap needs root" >&2
  exit 2
fi
command -v debootstrap >/dev/null || { echo "$0: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/var/tmp}/monitor-base.XXXXXX")
cleanup() {
  # debootstrap mounts /proc and /sys inside the tree and may leave them mounted when it fails: unmount first, and
  # never let rm cross into another file system.
  findmnt -rn -o TARGET | grep -F "$work/" | sort -r | xargs -r umount -l || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
root="$work/rootfs"

echo "base-image: debootstrap $SUITE from $MIRROR into $root" >&2
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$root" "$MIRROR" >&2

# Security and point-release updates, for the base and for the images built on it.
cat > "$root/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
mkdir -p "$root/usr/local/share/ca-certificates"
ca_files | while read -r f; do cp "$f" "$root/usr/local/share/ca-certificates/"; done
chroot "$root" update-ca-certificates >&2
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$root/etc/apt/apt.conf.d/90monitor-base"
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  sh -c 'apt-get update -q && apt-get upgrade -yq && apt-get clean' >&2
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log "$root"/tmp/*
findmnt -rn -o TARGET | grep -F "$root/" | sort -r | xargs -r umount -l || true

echo "base-image: importing $tag" >&2
tar --numeric-owner --one-file-system -C "$root" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . \
  | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'CMD ["/bin/bash"]' \
      --message "debootstrap --variant=minbase $SUITE + python3, python3-venv (deploy/base-image.sh)" \
      - "$tag" >&2
echo "$tag"
