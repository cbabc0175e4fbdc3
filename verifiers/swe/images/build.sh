#!/usr/bin/env bash
# Builds the base images the SWE verifier's tests and examples run in, with no registry:
#   build.sh busybox   gavel-busybox:1     a static busybox FROM scratch (~2 MB): sh, patch, diff
#   build.sh debian    gavel-debian:bookworm  a Debian minbase rootfs with python3, pytest, git
#                      and patch, made by mmdebstrap from this machine's own apt sources
#   build.sh all       both
# Each image is built once: an image already present is left as it is (pass --force to rebuild).
# Safe to run from parallel tests: builds take turns.
# Installs busybox-static and mmdebstrap with apt-get when they are missing.
set -euo pipefail

force=0
targets=()
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        busybox | debian) targets+=("$arg") ;;
        all) targets+=(busybox debian) ;;
        *) echo "usage: build.sh [--force] busybox|debian|all" >&2; exit 2 ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || { echo "usage: build.sh [--force] busybox|debian|all" >&2; exit 2; }

have_image() { [ "$force" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }

install() { # install <debian package>; refreshes the package lists once if they are stale
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >/dev/null 2>&1 || {
        $sudo apt-get update -q >/dev/null
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$1" >/dev/null
    }
}

need() { # need <command> <debian package>
    command -v "$1" >/dev/null || install "$2"
}

# A statically linked busybox (Debian's busybox-static; the plain busybox package is dynamic).
static_busybox() {
    local bb
    for bb in /bin/busybox /usr/bin/busybox; do
        if [ -x "$bb" ] && ! ldd "$bb" >/dev/null 2>&1; then echo "$bb"; return; fi
    done
    install busybox-static
    echo /bin/busybox
}

# One build at a time on this machine (parallel tests call this script; apt-get and docker
# import must not race).
exec 8>"${TMPDIR:-/tmp}/gavel-swe-base-images.lock"
flock 8

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build_busybox() {
    local tag=gavel-busybox:1
    if have_image "$tag"; then echo "$tag: present"; return; fi
    local bb root="$work/busybox"
    bb=$(static_busybox)
    mkdir -p "$root"/{bin,etc,tmp,srv,testbed}
    chmod 1777 "$root/tmp"
    cp "$bb" "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
        [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done
    printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/srv:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    tar -C "$root" --numeric-owner -c . |
        docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - "$tag" >/dev/null
    echo "$tag: built"
}

build_debian() {
    local tag=gavel-debian:bookworm
    if have_image "$tag"; then echo "$tag: present"; return; fi
    need mmdebstrap mmdebstrap
    # The mirror is this machine's own first main-suite apt repository.
    local mirror suite
    mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' |
        awk '$2 !~ /-(security|updates|backports)$/ && $2 !~ /\// {print $1; exit}')
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    [ -n "$mirror" ] || { echo "no apt repository found in this machine's sources" >&2; exit 1; }
    mmdebstrap --quiet --variant=minbase \
        --include=ca-certificates,git,patch,python3,python3-pytest \
        --customize-hook='chroot "$1" useradd --uid 1000 --create-home gavel' \
        --customize-hook='chroot "$1" git config --system user.email gavel@localhost' \
        --customize-hook='chroot "$1" git config --system user.name gavel' \
        --customize-hook='chroot "$1" git config --system --add safe.directory "*"' \
        --customize-hook='mkdir -p "$1/testbed"' \
        "$suite" "$work/rootfs.tar" "$mirror"
    docker import --change 'CMD ["/bin/bash"]' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$work/rootfs.tar" "$tag" >/dev/null
    echo "$tag: built"
}

for target in "${targets[@]}"; do "build_$target"; done
