#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kube-scheduler from Debian's
# `kubernetes` source package (1.20.2) and installs them into $1 (the binary cache).
# Debian 12 ships no binaries of these; its source package builds with Debian's Go.
# Idempotent: binaries already in the cache are not rebuilt.
set -euo pipefail

dest=${1:?usage: build-kubernetes.sh DEST_BIN_DIR}
want=(kube-apiserver kube-controller-manager kube-scheduler)
missing=()
for b in "${want[@]}"; do [ -x "$dest/$b" ] || missing+=("$b"); done
[ ${#missing[@]} -eq 0 ] && exit 0

say() { printf '[trellis] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  say "kube-apiserver/kube-controller-manager/kube-scheduler are not cached in $dest."
  say "Building them needs apt (root). Either run as root once, or install"
  say "  golang-go rsync jq dpkg-dev  and the Debian source package 'kubernetes',"
  say "or set KUBEBUILDER_ASSETS to a folder holding etcd, kube-apiserver"
  say "(and optionally kube-controller-manager, kube-scheduler)."
  exit 3
fi

work=$(dirname "$dest")/build
mkdir -p "$dest" "$work"

need_pkgs=()
command -v go >/dev/null || need_pkgs+=(golang-go)
command -v rsync >/dev/null || need_pkgs+=(rsync)
command -v jq >/dev/null || need_pkgs+=(jq)
command -v dpkg-source >/dev/null || need_pkgs+=(dpkg-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing build tools: ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

orig=$(ls "$work"/kubernetes_*.orig.tar.gz 2>/dev/null | head -n1 || true)
if [ -z "$orig" ]; then
  say "downloading Debian's kubernetes source package"
  # A private apt state dir with deb-src lines derived from the machine's own sources,
  # so the system's apt configuration is left untouched.
  apt_dir="$work/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/sources.list.d"
  : > "$apt_dir/sources.list.d/src.sources"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -e 's/^Types: deb$/Types: deb-src/' "$f" >> "$apt_dir/sources.list.d/src.sources"
    echo >> "$apt_dir/sources.list.d/src.sources"
  done
  : > "$apt_dir/sources.list"
  if [ -f /etc/apt/sources.list ]; then
    grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' > "$apt_dir/sources.list" || true
  fi
  opts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts="$apt_dir/sources.list.d"
        -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::archives="$apt_dir")
  apt-get "${opts[@]}" update -qq
  (cd "$work" && apt-get "${opts[@]}" source --download-only kubernetes >/dev/null)
  orig=$(ls "$work"/kubernetes_*.orig.tar.gz | head -n1)
fi

src="$work/src"
if [ ! -f "$src/Makefile" ]; then
  say "unpacking $(basename "$orig")"
  rm -rf "$src"; mkdir -p "$src"
  tar -xzf "$orig" -C "$src" --strip-components=1
fi

# Kubernetes 1.20 vendors github.com/modern-go/reflect2 1.0.1, which crashes on Go >= 1.18
# (a segfault in UnsafeMapType.UnsafeIterate the first time a custom resource is
# written). Debian 12 packages the fixed 1.0.2 source: swap it into vendor/.
reflect2="$src/vendor/github.com/modern-go/reflect2"
if [ ! -f "$reflect2/.trellis-1.0.2" ]; then
  say "replacing vendored reflect2 1.0.1 with Debian's 1.0.2 (Go 1.18+ fix)"
  debs="$work/debs"; mkdir -p "$debs"
  if ! ls "$debs"/golang-github-modern-go-reflect2-dev_*.deb >/dev/null 2>&1; then
    (cd "$debs" && { apt-get download golang-github-modern-go-reflect2-dev >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get download golang-github-modern-go-reflect2-dev >/dev/null; }; })
  fi
  rm -rf "$debs/x"; dpkg -x "$debs"/golang-github-modern-go-reflect2-dev_*.deb "$debs/x"
  rm -f "$reflect2"/*.go
  cp "$debs"/x/usr/share/gocode/src/github.com/modern-go/reflect2/*.go "$reflect2/"
  touch "$reflect2/.trellis-1.0.2"
  rm -rf "$src/_output"
fi

cd "$src"
mkdir -p .go/src/k8s.io
[ -e .go/src/k8s.io/kubernetes ] || ln -s ../../.. .go/src/k8s.io/kubernetes
# A generator binary left empty by an earlier build without rsync breaks later builds.
find _output/bin -maxdepth 1 -type f -size 0 -delete 2>/dev/null || true
for b in "${missing[@]}"; do
  say "building $b from source (a few minutes on 2 cores, once per machine)"
  start=$(date +%s)
  GOPATH="$src/.go" CGO_ENABLED=0 GO111MODULE=off GOFLAGS=-mod=vendor make WHAT="cmd/$b" 2>&1 \
    | while IFS= read -r line; do printf '[trellis]   %s\n' "$line" >&2; done
  bin=$(find _output -type f -name "$b" -perm -u+x | head -n1)
  [ -n "$bin" ] || { say "build of $b produced no binary"; exit 1; }
  install -m 0755 "$bin" "$dest/$b"
  say "built $b in $(( $(date +%s) - start ))s"
done
