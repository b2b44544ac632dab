// Package cpus decides how many CPU threads a model should compute with by
// default: no more than the CPU time the process may use (its cgroup's CPU
// quota, as a container's --cpus sets it) and no more than the physical
// cores it may run on (hyper-threads share one core's arithmetic units, and
// ggml's spinning barriers make an extra thread that has to wait for a core
// cost far more than it brings).
package cpus

import (
	"fmt"
	"io/fs"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Choice is the default thread count and what it was derived from.
type Choice struct {
	Threads  int     // the default: at least 1
	Logical  int     // CPUs this process may run on (affinity)
	Physical int     // distinct cores among them; 0 when the topology is unknown
	Quota    float64 // CPUs' worth of time the cgroup allows; 0 when unlimited or unknown
	Source   string  // one line saying how Threads was chosen
}

// Detect reads the running system: /proc and /sys, and the scheduler
// affinity in logical.
func Detect(logical []int) Choice {
	return detect(os.DirFS("/"), logical)
}

// detect is Detect over a file system rooted at "/" (tests pass a fake).
func detect(fsys fs.FS, logical []int) Choice {
	c := Choice{Logical: max(len(logical), 1)}
	c.Physical = physicalCores(fsys, logical)
	c.Quota = cgroupQuota(fsys)
	c.Threads = c.Logical
	c.Source = fmt.Sprintf("%d logical CPUs", c.Logical)
	if c.Physical > 0 && c.Physical < c.Threads {
		c.Threads = c.Physical
		c.Source = fmt.Sprintf("%d physical cores (of %d logical CPUs)", c.Physical, c.Logical)
	}
	if c.Quota > 0 {
		// Round down: a thread that only gets part of a CPU holds up the
		// others at every barrier of every step.
		q := max(int(math.Floor(c.Quota)), 1)
		if q < c.Threads {
			c.Threads = q
			c.Source = fmt.Sprintf("the cgroup CPU quota of %.2f CPUs (%d logical CPUs, %d physical cores)", c.Quota, c.Logical, c.Physical)
		}
	}
	return c
}

// physicalCores counts distinct (package, core) pairs among the CPUs in
// logical; 0 when the topology files are missing.
func physicalCores(fsys fs.FS, logical []int) int {
	seen := map[string]bool{}
	for _, cpu := range logical {
		dir := fmt.Sprintf("sys/devices/system/cpu/cpu%d/topology/", cpu)
		core, err1 := readTrim(fsys, dir+"core_id")
		pkg, err2 := readTrim(fsys, dir+"physical_package_id")
		if err1 != nil || err2 != nil {
			return 0
		}
		seen[pkg+"/"+core] = true
	}
	return len(seen)
}

// cgroupQuota returns the tightest CPU limit on the process's cgroup and
// its ancestors, in CPUs; 0 when none is set or it cannot be read. Both
// cgroup v2 (cpu.max) and v1 (cpu.cfs_quota_us / cpu.cfs_period_us) are
// read; a container usually sees its own cgroup as the root of the mount.
func cgroupQuota(fsys fs.FS) float64 {
	data, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if err != nil {
		return 0
	}
	best := 0.0
	take := func(q float64) {
		if q > 0 && (best == 0 || q < best) {
			best = q
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		path := strings.Trim(parts[2], "/")
		switch {
		case parts[0] == "0" && parts[1] == "":
			for _, dir := range ancestors("sys/fs/cgroup", path) {
				take(v2Quota(fsys, dir+"/cpu.max"))
			}
		case hasController(parts[1], "cpu"):
			for _, mount := range []string{"sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/cpuacct,cpu"} {
				for _, dir := range ancestors(mount, path) {
					take(v1Quota(fsys, dir))
				}
			}
		}
	}
	return best
}

// ancestors lists mount/path and every directory above it up to mount.
func ancestors(mount, path string) []string {
	out := []string{mount}
	if path == "" {
		return out
	}
	segs := strings.Split(path, "/")
	for i := range segs {
		out = append(out, mount+"/"+strings.Join(segs[:i+1], "/"))
	}
	return out
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// v2Quota parses cpu.max: "QUOTA PERIOD" or "max PERIOD".
func v2Quota(fsys fs.FS, file string) float64 {
	s, err := readTrim(fsys, file)
	if err != nil {
		return 0
	}
	f := strings.Fields(s)
	if len(f) != 2 || f[0] == "max" {
		return 0
	}
	return ratio(f[0], f[1])
}

func v1Quota(fsys fs.FS, dir string) float64 {
	q, err1 := readTrim(fsys, dir+"/cpu.cfs_quota_us")
	p, err2 := readTrim(fsys, dir+"/cpu.cfs_period_us")
	if err1 != nil || err2 != nil {
		return 0
	}
	return ratio(q, p)
}

func ratio(quota, period string) float64 {
	q, err1 := strconv.ParseFloat(quota, 64)
	p, err2 := strconv.ParseFloat(period, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0
	}
	return q / p
}

func readTrim(fsys fs.FS, name string) (string, error) {
	b, err := fs.ReadFile(fsys, name)
	return strings.TrimSpace(string(b)), err
}

// Affinity lists the logical CPUs this process may run on.
func Affinity() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		out := make([]int, runtime.NumCPU())
		for i := range out {
			out[i] = i
		}
		return out
	}
	var out []int
	for i := 0; i < len(set)*64 && len(out) < set.Count(); i++ {
		if set.IsSet(i) {
			out = append(out, i)
		}
	}
	return out
}
