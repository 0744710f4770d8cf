//go:build !unix

package watch

import "io/fs"

// inode returns 0: this system's FileInfo carries no inode number.
func inode(fs.FileInfo) uint64 { return 0 }
