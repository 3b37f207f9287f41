#!/usr/bin/env bash
# The whole test suite, as CI and `make test` run it. It installs what the
# tests need (nothing beyond Go for the unit tests; the S3-compatible server for
# the object-store and cluster tests) into .cache/ and then runs go test.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go vet"
go vet ./...

./tools/s3server/install.sh
export SKALD_REQUIRE_S3=1

echo "== go test"
go test -count=1 -timeout 15m ./...
