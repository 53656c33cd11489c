package sandbox

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

var pageSize = int64(os.Getpagesize())

// parentPIDs reads the parent of every process from /proc/<pid>/stat (the
// field after the parenthesised command name, see proc(5)).
func parentPIDs() map[int]int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make(map[int]int, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := bytes.Fields(b[i+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(string(fields[1])); err == nil {
			out[pid] = ppid
		}
	}
	return out
}

// descendants returns root and every process below it in ppids.
func descendants(root int, ppids map[int]int) []int {
	children := map[int][]int{}
	for pid, ppid := range ppids {
		children[ppid] = append(children[ppid], pid)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// childrenOf returns the direct children of pid.
func childrenOf(pid int) []int {
	var out []int
	for p, pp := range parentPIDs() {
		if pp == pid {
			out = append(out, p)
		}
	}
	return out
}

// residentBytes returns the resident set size of pid from /proc/<pid>/statm
// (second field, in pages), or 0 when the process is gone.
func residentBytes(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0
	}
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * pageSize
}

// TreeRSS returns the summed resident set size, in bytes, of root and all its
// descendants. Pages shared between processes (libraries) are counted once
// per process, so the figure is an upper bound of what a memory cgroup would
// charge for them.
func TreeRSS(root int) int64 {
	var total int64
	for _, pid := range descendants(root, parentPIDs()) {
		total += residentBytes(pid)
	}
	return total
}

// killTree sends sig to root and all its descendants, those found last
// (deepest) first.
func killTree(root int, sig syscall.Signal) {
	pids := descendants(root, parentPIDs())
	for i := len(pids) - 1; i >= 0; i-- {
		_ = syscall.Kill(pids[i], sig)
	}
}
