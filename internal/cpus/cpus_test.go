package cpus

import (
	"strconv"
	"testing"
	"testing/fstest"
)

// topo describes n CPUs where CPU i is core i/perCore on package 0.
func topo(fsys fstest.MapFS, n, perCore int) {
	for i := range n {
		dir := "sys/devices/system/cpu/cpu" + itoa(i) + "/topology/"
		fsys[dir+"core_id"] = &fstest.MapFile{Data: []byte(itoa(i/perCore) + "\n")}
		fsys[dir+"physical_package_id"] = &fstest.MapFile{Data: []byte("0\n")}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func cpuList(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestDetect(t *testing.T) {
	cases := []struct {
		name    string
		logical int
		perCore int
		cgroup  string
		files   map[string]string
		want    int
		quota   float64
	}{
		{name: "no topology, no cgroup: logical CPUs", logical: 8, want: 8},
		{name: "hyper-threads count once", logical: 8, perCore: 2, cgroup: "0::/\n", want: 4},
		{name: "v2 quota below cores (docker --cpus 2 on a big host)", logical: 16, perCore: 1,
			cgroup: "0::/docker/abc\n", files: map[string]string{"sys/fs/cgroup/docker/abc/cpu.max": "200000 100000\n"}, want: 2, quota: 2},
		{name: "v2 fractional quota rounds down", logical: 8, perCore: 1,
			cgroup: "0::/\n", files: map[string]string{"sys/fs/cgroup/cpu.max": "150000 100000\n"}, want: 1, quota: 1.5},
		{name: "v2 quota below one CPU still gives one thread", logical: 8, perCore: 1,
			cgroup: "0::/\n", files: map[string]string{"sys/fs/cgroup/cpu.max": "50000 100000\n"}, want: 1, quota: 0.5},
		{name: "v2 max is no limit", logical: 4, perCore: 1,
			cgroup: "0::/a\n", files: map[string]string{"sys/fs/cgroup/a/cpu.max": "max 100000\n"}, want: 4},
		{name: "v2 tightest ancestor wins", logical: 8, perCore: 1,
			cgroup: "0::/a/b\n", files: map[string]string{"sys/fs/cgroup/a/cpu.max": "300000 100000", "sys/fs/cgroup/a/b/cpu.max": "500000 100000"}, want: 3, quota: 3},
		{name: "v1 quota", logical: 8, perCore: 1,
			cgroup: "4:memory:/x\n3:cpu,cpuacct:/kubepods/pod1\n", files: map[string]string{
				"sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/cpu.cfs_quota_us":  "400000",
				"sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/cpu.cfs_period_us": "100000"}, want: 4, quota: 4},
		{name: "v1 unlimited (-1)", logical: 2, perCore: 1,
			cgroup: "1:cpu:/\n", files: map[string]string{"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000"}, want: 2},
		{name: "quota above physical cores: cores win", logical: 8, perCore: 2,
			cgroup: "0::/\n", files: map[string]string{"sys/fs/cgroup/cpu.max": "800000 100000"}, want: 4, quota: 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			if tc.perCore > 0 {
				topo(fsys, tc.logical, tc.perCore)
			}
			if tc.cgroup != "" {
				fsys["proc/self/cgroup"] = &fstest.MapFile{Data: []byte(tc.cgroup)}
			}
			for k, v := range tc.files {
				fsys[k] = &fstest.MapFile{Data: []byte(v)}
			}
			c := detect(fsys, cpuList(tc.logical))
			if c.Threads != tc.want || c.Quota != tc.quota {
				t.Fatalf("threads %d quota %v (%s), want %d quota %v", c.Threads, c.Quota, c.Source, tc.want, tc.quota)
			}
			if c.Source == "" {
				t.Fatal("no source line")
			}
		})
	}
}

func TestAffinityIsNotEmpty(t *testing.T) {
	if len(Affinity()) == 0 {
		t.Fatal("no CPUs in the affinity set")
	}
}
