package app

import (
	"fmt"
	"runtime"
)

// Build information, set with -ldflags -X by the Makefile.
var (
	Version   = "dev"
	Revision  = "unknown"
	Branch    = "unknown"
	BuildUser = "unknown"
	BuildDate = "unknown"
)

// VersionString is what -version prints.
func VersionString() string {
	return fmt.Sprintf("skald, version %s (branch: %s, revision: %s)\n  build user: %s\n  build date: %s\n  go version: %s",
		Version, Branch, Revision, BuildUser, BuildDate, runtime.Version())
}
