package ggufgen

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFloat32ToFloat16Cases(t *testing.T) {
	inf := float32(math.Inf(1))
	tests := []struct {
		name string
		in   float32
		want uint16
	}{
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"half", 0.5, 0x3800},
		{"max finite", 65504, 0x7bff},
		{"rounds down to max", 65519.996, 0x7bff},
		{"tie above max goes to inf", 65520, 0x7c00},
		{"overflow", 1e6, 0x7c00},
		{"negative overflow", -1e9, 0xfc00},
		{"inf", inf, 0x7c00},
		{"negative inf", -inf, 0xfc00},
		{"smallest normal", 6.103515625e-05, 0x0400},
		{"largest subnormal", 6.097555160522461e-05, 0x03ff},
		{"smallest subnormal", 5.960464477539063e-08, 0x0001},
		{"negative smallest subnormal", -5.960464477539063e-08, 0x8001},
		{"half of smallest subnormal ties to zero", 2.9802322387695312e-08, 0x0000},
		{"just above half of smallest subnormal", 2.9802326e-08, 0x0001},
		{"1.5 smallest subnormal ties to even (2)", 8.940696716308594e-08, 0x0002},
		{"2.5 smallest subnormal ties to even (2)", 1.4901161193847656e-07, 0x0002},
		{"below half subnormal", 1e-10, 0x0000},
		{"subnormal rounding up into normal", 6.1020255e-05, 0x0400},
		{"tie 1+2^-11 to even (down)", 1 + 1.0/2048, 0x3c00},
		{"tie 1+3*2^-11 to even (up)", 1 + 3.0/2048, 0x3c02},
		{"above tie rounds up", 1 + 1.0/2048 + 1.0/(1<<20), 0x3c01},
		{"below tie rounds down", 1 + 3.0/2048 - 1.0/(1<<20), 0x3c01},
		{"mantissa carry into exponent", 2 - 1.0/4096, 0x4000},
		{"0.1", 0.1, 0x2e66},
		{"pi", math.Pi, 0x4248},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Float32ToFloat16(tt.in); got != tt.want {
				t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", tt.in, got, tt.want)
			}
		})
	}

	nans := []float32{float32(math.NaN()), -float32(math.NaN()), math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00000)}
	for _, n := range nans {
		h := Float32ToFloat16(n)
		if h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
			t.Errorf("NaN %#08x converted to %#04x, not a NaN", math.Float32bits(n), h)
		}
		if h>>15 != uint16(math.Float32bits(n)>>31) {
			t.Errorf("NaN %#08x lost its sign: %#04x", math.Float32bits(n), h)
		}
	}
}

// TestFloat16Exhaustive checks every half value round-trips and that every
// midpoint between neighbouring halves rounds to the even one.
func TestFloat16Exhaustive(t *testing.T) {
	for h := 0; h <= 0xffff; h++ {
		f := Float16ToFloat32(uint16(h))
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			if !math.IsNaN(float64(f)) {
				t.Fatalf("%#04x: want NaN, got %g", h, f)
			}
			continue
		}
		if got := Float32ToFloat16(f); got != uint16(h) {
			t.Fatalf("round trip %#04x -> %g -> %#04x", h, f, got)
		}
	}
	for h := uint16(0); h < 0x7bff; h++ {
		lo, hi := Float16ToFloat32(h), Float16ToFloat32(h+1)
		mid := float32((float64(lo) + float64(hi)) / 2) // exact: 12 significant bits
		want := h
		if h&1 == 1 {
			want = h + 1
		}
		if got := Float32ToFloat16(mid); got != want {
			t.Fatalf("tie between %#04x and %#04x (%g): got %#04x, want %#04x", h, h+1, mid, got, want)
		}
		if got := Float32ToFloat16(math.Nextafter32(mid, 0)); got != h {
			t.Fatalf("just below tie %#04x/%#04x: got %#04x", h, h+1, got)
		}
		if got := Float32ToFloat16(math.Nextafter32(mid, 1e9)); got != h+1 {
			t.Fatalf("just above tie %#04x/%#04x: got %#04x", h, h+1, got)
		}
		if got := Float32ToFloat16(-mid); got != want|0x8000 {
			t.Fatalf("negative tie %#04x/%#04x: got %#04x", h, h+1, got)
		}
	}
}

func TestQ8_0KnownBlock(t *testing.T) {
	x := make([]float32, 32)
	x[0] = -127
	for j := 1; j < 32; j++ {
		x[j] = float32(j)
	}
	x[5], x[6] = 2.5, -2.5 // roundf: half away from zero
	b := appendQ8_0(nil, x)
	if len(b) != blockQ8_0 {
		t.Fatalf("block is %d bytes, want %d", len(b), blockQ8_0)
	}
	if d := uint16(b[0]) | uint16(b[1])<<8; d != 0x3c00 {
		t.Errorf("scale = %#04x, want 0x3c00 (1.0)", d)
	}
	for j := 0; j < 32; j++ {
		want := int8(x[j])
		switch j {
		case 5:
			want = 3
		case 6:
			want = -3
		}
		if got := int8(b[2+j]); got != want {
			t.Errorf("q[%d] = %d, want %d", j, got, want)
		}
	}
}

func TestQ4_0KnownBlock(t *testing.T) {
	// x = j-16: the largest magnitude is x[0] = -16, so d = -16/-8 = 2 and
	// q = min(15, trunc((j-16)/2 + 8.5)) = min(15, floor((j+1)/2)).
	x := make([]float32, 32)
	for j := range x {
		x[j] = float32(j - 16)
	}
	b := appendQ4_0(nil, x)
	if len(b) != blockQ4_0 {
		t.Fatalf("block is %d bytes, want %d", len(b), blockQ4_0)
	}
	if d := uint16(b[0]) | uint16(b[1])<<8; d != 0x4000 {
		t.Errorf("scale = %#04x, want 0x4000 (2.0)", d)
	}
	q := func(j int) byte { return byte(min(15, (j+1)/2)) }
	for j := 0; j < 16; j++ {
		if want := q(j) | q(j+16)<<4; b[2+j] != want {
			t.Errorf("qs[%d] = %#02x, want %#02x", j, b[2+j], want)
		}
	}
}

func TestQuantizeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	blocks := map[string][]float32{
		"zeros":         make([]float32, 32),
		"single spike":  append([]float32{0.75}, make([]float32, 31)...),
		"negative max":  append(make([]float32, 31), -3),
		"all equal":     {},
		"wide range":    {},
		"tiny (fp16 d)": {},
	}
	for range 32 {
		blocks["all equal"] = append(blocks["all equal"], 0.02)
		blocks["wide range"] = append(blocks["wide range"], float32(r.NormFloat64()*10))
		blocks["tiny (fp16 d)"] = append(blocks["tiny (fp16 d)"], float32(r.NormFloat64()*1e-3))
	}
	random := make([]float32, 32*256)
	for i := range random {
		random[i] = float32(r.NormFloat64() * 0.02)
	}
	blocks["random normal"] = random

	tests := []struct {
		typ TensorType
		// bound returns the allowed absolute error for a block whose
		// largest magnitude is amax.
		bound func(amax float64) float64
	}{
		// |err| <= d/2 plus the fp16 rounding of d (rel 2^-11) times 127.
		{Q8_0, func(amax float64) float64 { d := amax / 127; return d/2 + 127*d/2048 + 1e-12 }},
		// the element opposite the signed max may clamp: |err| <= |d|.
		{Q4_0, func(amax float64) float64 { d := amax / 8; return d + 8*d/2048 + 1e-12 }},
	}
	for _, tt := range tests {
		for name, x := range blocks {
			t.Run(tt.typ.String()+"/"+name, func(t *testing.T) {
				var enc []byte
				if tt.typ == Q8_0 {
					enc = appendQ8_0(nil, x)
				} else {
					enc = appendQ4_0(nil, x)
				}
				if want := int(tt.typ.rowSize(int64(len(x)))); len(enc) != want {
					t.Fatalf("encoded %d bytes, want %d", len(enc), want)
				}
				y, err := dequantize(tt.typ, enc, len(x))
				if err != nil {
					t.Fatal(err)
				}
				for b := 0; b < len(x); b += 32 {
					var amax float64
					for _, v := range x[b : b+32] {
						amax = math.Max(amax, math.Abs(float64(v)))
					}
					lim := tt.bound(amax)
					for j := b; j < b+32; j++ {
						if e := math.Abs(float64(y[j] - x[j])); e > lim {
							t.Fatalf("element %d: %g -> %g, error %g > %g", j, x[j], y[j], e, lim)
						}
					}
				}
			})
		}
	}
}

func TestQ4_0KeepsSignedMax(t *testing.T) {
	for _, m := range []float32{1, -1, 0.03125, -7.5} {
		x := make([]float32, 32)
		for j := range x {
			x[j] = m * float32(j%7) / 8
		}
		x[9] = m
		y, err := dequantize(Q4_0, appendQ4_0(nil, x), 32)
		if err != nil {
			t.Fatal(err)
		}
		// q = 0 encodes -8*d = m exactly (up to the fp16 scale).
		if want := -8 * Float16ToFloat32(Float32ToFloat16(m/-8)); y[9] != want {
			t.Errorf("max %g dequantized to %g, want %g", m, y[9], want)
		}
	}
}
