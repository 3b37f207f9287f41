#!/usr/bin/env bash
# Regenerates the Go code of every .proto file under pkg/ (`make generate`).
#
# Pinned tools: protoc-gen-go and protoc-gen-go-grpc are installed into
# .cache/bin at the versions below; protoc itself comes from the system
# (apt-get install protobuf-compiler when it is missing). Each foo.proto is
# generated into the directory its go_package option names, relative to the
# module, e.g. pkg/logproto/push.proto -> pkg/logproto/pb/push.pb.go.
set -euo pipefail
cd "$(dirname "$0")/.."

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
MODULE=github.com/skald-logs/skald

BIN="$PWD/.cache/bin"
mkdir -p "$BIN"
export PATH="$BIN:$PATH"

installed_version() { # binary -> version it was built at, or nothing
	[ -x "$BIN/$1" ] && go version -m "$BIN/$1" 2>/dev/null | awk '$1 == "mod" { print $3 }'
}
if [ "$(installed_version protoc-gen-go)" != "$PROTOC_GEN_GO_VERSION" ]; then
	GOBIN="$BIN" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
if [ "$(installed_version protoc-gen-go-grpc)" != "$PROTOC_GEN_GO_GRPC_VERSION" ]; then
	GOBIN="$BIN" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
fi
if ! command -v protoc >/dev/null; then
	if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq protobuf-compiler
fi

# Well-known types (google/protobuf/timestamp.proto) ship with protoc.
INCLUDES=(-I pkg)
for dir in /usr/include /usr/local/include; do
	[ -f "$dir/google/protobuf/timestamp.proto" ] && INCLUDES+=(-I "$dir")
done

mapfile -t protos < <(find pkg -name '*.proto' -not -path '*/testdata/*' | sort)
if [ "${#protos[@]}" -eq 0 ]; then
	echo "no .proto files under pkg/" >&2
	exit 0
fi
for proto in "${protos[@]}"; do
	echo "protoc $proto"
	protoc "${INCLUDES[@]}" \
		--go_out=. --go_opt=module="$MODULE" \
		--go-grpc_out=. --go-grpc_opt=module="$MODULE" \
		"$proto"
done
