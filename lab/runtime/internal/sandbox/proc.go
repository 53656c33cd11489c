package sandbox

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

var pageSize = int64(os.Getpagesize())

// procInfo is what the runtime reads about one process.
type procInfo struct {
	ppid int
	rss  int64 // bytes
}

// snapshot reads the parent and resident set size of every process from
// /proc/<pid>/stat (fields 4 and 24, after the parenthesised command name;
// proc(5)): one read per process.
func snapshot() map[int]procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make(map[int]procInfo, len(entries))
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
		// After ")": state(3) ppid(4) ... rss(24), so ppid is [1] and rss [21].
		fields := bytes.Fields(b[i+1:])
		if len(fields) < 22 {
			continue
		}
		ppid, err1 := strconv.Atoi(string(fields[1]))
		pages, err2 := strconv.ParseInt(string(fields[21]), 10, 64)
		if err1 == nil && err2 == nil {
			out[pid] = procInfo{ppid: ppid, rss: pages * pageSize}
		}
	}
	return out
}

// descendants returns root and every process below it in procs.
func descendants(root int, procs map[int]procInfo) []int {
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
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
	for p, info := range snapshot() {
		if info.ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

// treeRSS returns the summed resident set size, in bytes, of root and all
// its descendants in procs. Pages shared between processes (libraries) are
// counted once per process, so the figure is an upper bound of what a
// memory cgroup would charge for them.
func treeRSS(root int, procs map[int]procInfo) int64 {
	var total int64
	for _, pid := range descendants(root, procs) {
		total += procs[pid].rss
	}
	return total
}

// killTree sends sig to root and all its descendants, those found last
// (deepest) first.
func killTree(root int, sig syscall.Signal) {
	pids := descendants(root, snapshot())
	for i := len(pids) - 1; i >= 0; i-- {
		_ = syscall.Kill(pids[i], sig)
	}
}
