package sandbox

import (
	"fmt"
	"io/fs"
	"syscall"
)

// ownerOf answers "uid:gid" of a file's host owner.
func ownerOf(fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
	}
	return "?"
}
