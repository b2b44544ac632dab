package variant

import (
	"os"
	"path/filepath"
	"testing"
)

func all() Features {
	return Features{true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true}
}

func TestBestPicksTheStrongestSupportedAndPresent(t *testing.T) {
	dir := t.TempDir()
	for _, v := range Variants {
		if err := os.WriteFile(filepath.Join(dir, "llamagate-"+v.Name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	zen4 := all()
	zen4.AVX512FP16 = false // AMD Zen 4/5: AVX-512 with VNNI and BF16, no FP16
	avx2 := Features{AVX2: true, FMA: true, F16C: true, BMI2: true}
	cases := []struct {
		name string
		f    Features
		want string
		ok   bool
	}{
		{"everything", all(), "sapphirerapids", true},
		{"zen4 has no AVX512-FP16", zen4, "icelake", true},
		{"AVX2 only", avx2, "haswell", true},
		{"nothing beyond the baseline", Features{}, "", false},
	}
	for _, tc := range cases {
		v, path, ok := Best(tc.f, dir)
		if ok != tc.ok || v.Name != tc.want {
			t.Fatalf("%s: got %q (%v), want %q", tc.name, v.Name, ok, tc.want)
		}
		if ok && filepath.Base(path) != "llamagate-"+tc.want {
			t.Fatalf("%s: path %s", tc.name, path)
		}
	}
	// A missing file falls back to the next weaker variant.
	if err := os.Remove(filepath.Join(dir, "llamagate-sapphirerapids")); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := Best(all(), dir); v.Name != "icelake" {
		t.Fatalf("without the sapphirerapids file: %q", v.Name)
	}
	// A file that is not executable is not a variant.
	if err := os.Chmod(filepath.Join(dir, "llamagate-icelake"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := Best(all(), dir); v.Name != "skylakex" {
		t.Fatalf("with a non-executable icelake file: %q", v.Name)
	}
}

func TestExecDoesNotLoop(t *testing.T) {
	t.Setenv(Env, "haswell")
	if got := Exec(); got == "" {
		t.Fatal("no reason given")
	}
}
