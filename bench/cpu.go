package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// cpuTicks is the CPU time (user + system, in clock ticks of 1/100 s)
// used so far by this process and each of its children, by command name
// (Linux /proc; empty elsewhere). The s3 benchmark prints where a push's
// CPU went (server, store plugin, S3 service): on a machine of 2 cores
// that, not the wall time, says what a change saved.
func cpuTicks() map[string]int64 {
	out := map[string]int64{}
	self := strconv.Itoa(os.Getpid())
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15)
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i || j+2 > len(s) {
			continue
		}
		f := strings.Fields(s[j+2:])
		if len(f) < 13 || (e.Name() != self && f[1] != self) {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		name := s[i+1 : j]
		if e.Name() == self {
			name = "server+client"
		}
		out[name] += u + st
	}
	return out
}

// cpuSince says the CPU seconds used since before, by process, largest
// first.
func cpuSince(before map[string]int64) string {
	after := cpuTicks()
	type use struct {
		name string
		s    float64
	}
	var us []use
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			us = append(us, use{k, float64(d) / 100})
		}
	}
	sort.Slice(us, func(i, j int) bool { return us[i].s > us[j].s })
	var parts []string
	for _, u := range us {
		parts = append(parts, fmt.Sprintf("%s %.2fs", u.name, u.s))
	}
	return strings.Join(parts, ", ")
}
