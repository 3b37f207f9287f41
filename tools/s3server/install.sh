#!/usr/bin/env bash
# Installs versitygw, the S3-compatible server the object-store tests run
# against, into <repo>/.cache/bin (git-ignored). It does nothing when the
# binary is already there. The first build takes a few minutes.
#
#   ./tools/s3server/install.sh
#
# The tests find the binary at .cache/bin/versitygw, or wherever the
# SKALD_VERSITYGW environment variable points.
set -euo pipefail

VERSION="v1.8.0"
MODULE="github.com/versity/versitygw/cmd/versitygw"

root="$(cd "$(dirname "$0")/../.." && pwd)"
bin_dir="${root}/.cache/bin"
bin="${bin_dir}/versitygw"

if [[ -x "${bin}" ]]; then
	exit 0
fi

mkdir -p "${bin_dir}"
echo "installing ${MODULE}@${VERSION} into ${bin_dir} (the first build takes a few minutes)" >&2
GOBIN="${bin_dir}" go install "${MODULE}@${VERSION}"
echo "installed ${bin}" >&2
