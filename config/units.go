package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written "30s", "5m" or "1h30m" in YAML. A
// bare integer is refused: "300" could mean seconds or nanoseconds.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string; -1 is accepted as "never"
// where a field documents it.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a duration must be a string like \"5m\"", n.Line)
	}
	s := strings.TrimSpace(n.Value)
	if s == "-1" {
		*d = Duration(-1)
		return nil
	}
	if s == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (write e.g. 30s, 5m, 1h)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration the way it is read.
func (d Duration) MarshalYAML() (any, error) {
	if d < 0 {
		return -1, nil
	}
	return time.Duration(d).String(), nil
}

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// D is Std (short form used by the auth settings).
func (d Duration) D() time.Duration { return time.Duration(d) }

// String writes the duration as it is read.
func (d Duration) String() string { return time.Duration(d).String() }

// Size is a byte count written as a number of bytes or with a unit: "8GiB",
// "512MiB", "2GB". A percentage ("80%") is kept as a fraction of the
// machine's memory and resolved by Resolve.
type Size struct {
	Bytes   int64
	Percent float64 // > 0: a share of total memory, in percent
}

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseSize parses "8GiB", "512MiB", "2GB", "1048576" or "80%".
func ParseSize(s string) (Size, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if p, ok := strings.CutSuffix(t, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v <= 0 || v > 100 || math.IsNaN(v) {
			return Size{}, fmt.Errorf("%q is not a percentage between 0 and 100", s)
		}
		return Size{Percent: v}, nil
	}
	mult := 1.0
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) || v*mult > math.MaxInt64/2 {
		return Size{}, fmt.Errorf("%q is not a size (write e.g. 8GiB, 512MiB or 80%%)", s)
	}
	return Size{Bytes: int64(v * mult)}, nil
}

// UnmarshalYAML parses a size.
func (z *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*z = v
	return nil
}

// MarshalYAML writes the size the way it is read.
func (z Size) MarshalYAML() (any, error) { return z.String(), nil }

// String formats the size as it would be written in the file.
func (z Size) String() string {
	if z.Percent > 0 {
		return strconv.FormatFloat(z.Percent, 'f', -1, 64) + "%"
	}
	return strconv.FormatInt(z.Bytes, 10)
}

// Resolve returns the size in bytes, taking a percentage of total.
func (z Size) Resolve(total int64) int64 {
	if z.Percent > 0 {
		return int64(float64(total) * z.Percent / 100)
	}
	return z.Bytes
}
