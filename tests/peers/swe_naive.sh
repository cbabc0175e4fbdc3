#!/usr/bin/env bash
# The naive SWE harness many RL setups hand-roll, for the benchmark to compare gavel with:
# one `docker run --rm` per evaluation, the patch bind-mounted, applied with git, tests run,
# output captured by the CLI. No limits, no labels, no deadline, no reaper.
#   swe_naive.sh <image> <workdir> <model.patch> <test.patch> <test command>
set -uo pipefail
image=$1 workdir=$2 model=$3 tests=$4 cmd=$5
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$model" "$dir/model.patch"
cp "$tests" "$dir/test.patch"
chmod -R a+rX "$dir"
docker run --rm -v "$dir:/patches:ro" -w "$workdir" "$image" sh -c \
    "git apply /patches/model.patch && git apply /patches/test.patch && { $cmd; }; echo \"exit: \$?\""
