package ggufgen

import (
	"fmt"
	"math"
	"strings"
)

// TensorType is a ggml tensor type; its values are the ggml_type ids that are
// stored in GGUF tensor infos.
type TensorType int

// Supported tensor types.
const (
	F32  TensorType = 0
	F16  TensorType = 1
	Q4_0 TensorType = 2
	Q8_0 TensorType = 8
)

// Block sizes (elements per block) and block byte sizes, as in ggml-common.h.
const (
	qk4_0      = 32
	qk8_0      = 32
	blockQ4_0  = 2 + qk4_0/2 // fp16 d + 16 bytes of nibbles
	blockQ8_0  = 2 + qk8_0   // fp16 d + 32 int8
	quantBlock = 32
)

// ParseTensorType parses "f32", "f16", "q8_0" or "q4_0" (case-insensitive).
func ParseTensorType(s string) (TensorType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "f32":
		return F32, nil
	case "f16":
		return F16, nil
	case "q4_0":
		return Q4_0, nil
	case "q8_0":
		return Q8_0, nil
	}
	return 0, fmt.Errorf("ggufgen: unknown tensor type %q (want f32, f16, q8_0 or q4_0)", s)
}

// String returns the lower-case ggml name ("f32", "f16", "q4_0", "q8_0").
func (t TensorType) String() string {
	switch t {
	case F32:
		return "f32"
	case F16:
		return "f16"
	case Q4_0:
		return "q4_0"
	case Q8_0:
		return "q8_0"
	}
	return fmt.Sprintf("ggml_type(%d)", int(t))
}

func (t TensorType) valid() bool {
	switch t {
	case F32, F16, Q4_0, Q8_0:
		return true
	}
	return false
}

// blockElems is the number of elements per block (1 for float types).
func (t TensorType) blockElems() int64 {
	if t == Q4_0 || t == Q8_0 {
		return quantBlock
	}
	return 1
}

// rowSize is the number of bytes of n elements (n must be a multiple of
// blockElems).
func (t TensorType) rowSize(n int64) int64 {
	switch t {
	case F32:
		return 4 * n
	case F16:
		return 2 * n
	case Q4_0:
		return n / qk4_0 * blockQ4_0
	case Q8_0:
		return n / qk8_0 * blockQ8_0
	}
	return -1
}

// fileType is the llama_ftype written as general.file_type.
func (t TensorType) fileType() uint32 {
	switch t {
	case F16:
		return 1 // LLAMA_FTYPE_MOSTLY_F16
	case Q4_0:
		return 2 // LLAMA_FTYPE_MOSTLY_Q4_0
	case Q8_0:
		return 7 // LLAMA_FTYPE_MOSTLY_Q8_0
	}
	return 0 // LLAMA_FTYPE_ALL_F32
}

// Float32ToFloat16 converts f to IEEE 754 binary16 bits with
// round-to-nearest-even. Overflow gives ±Inf, NaN stays NaN (quiet, with the
// top mantissa bits kept), tiny values become subnormals or ±0.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff

	if exp == 0xff { // Inf or NaN
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(mant>>13)
	}
	e := exp - 127 + 15 // rebias
	if e >= 0x1f {
		return sign | 0x7c00 // overflow
	}
	if e <= 0 {
		// Subnormal half (or zero). Half subnormal value = h * 2^-24 and
		// f = m * 2^(exp-150) with the implicit bit, so h = m >> (14-e).
		if e < -10 {
			return sign // |f| < 2^-25 rounds to zero (2^-25 itself ties to even 0)
		}
		m := mant | 0x800000
		shift := uint(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++ // may carry into the smallest normal, which encodes correctly
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // a carry into the exponent is correct, up to and including Inf
	}
	return sign | uint16(h)
}

// Float16ToFloat32 converts IEEE 754 binary16 bits to float32 (exact).
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: value = mant * 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// appendQ8_0 quantizes src (len a multiple of 32) to Q8_0 blocks appended to
// dst, following quantize_row_q8_0_ref: d = max|x|/127, q = round(x/d) (half
// away from zero), block = fp16 d + 32 int8.
func appendQ8_0(dst []byte, src []float32) []byte {
	for i := 0; i+qk8_0 <= len(src); i += qk8_0 {
		x := src[i : i+qk8_0 : i+qk8_0]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		hd := Float32ToFloat16(d)
		dst = append(dst, byte(hd), byte(hd>>8))
		for _, v := range x {
			dst = append(dst, byte(int8(math.Round(float64(float32(v*id))))))
		}
	}
	return dst
}

// appendQ4_0 quantizes src (len a multiple of 32) to Q4_0 blocks appended to
// dst, following quantize_row_q4_0_ref: d = m/-8 where m is the element with
// the largest magnitude (signed), q = min(15, trunc(x/d + 8.5)); byte j holds
// element j in its low nibble and element j+16 in its high nibble.
func appendQ4_0(dst []byte, src []float32) []byte {
	for i := 0; i+qk4_0 <= len(src); i += qk4_0 {
		x := src[i : i+qk4_0 : i+qk4_0]
		var amax, mx float32
		for _, v := range x {
			if a := abs32(v); amax < a {
				amax = a
				mx = v
			}
		}
		d := mx / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		hd := Float32ToFloat16(d)
		dst = append(dst, byte(hd), byte(hd>>8))
		for j := 0; j < qk4_0/2; j++ {
			x0 := float32(x[j]*id) + 8.5
			x1 := float32(x[j+qk4_0/2]*id) + 8.5
			dst = append(dst, nibble(x0)|nibble(x1)<<4)
		}
	}
	return dst
}

// nibble is MIN(15, (int8_t)v) for v in [0, 16.5] (C truncation).
func nibble(v float32) byte {
	q := int8(v)
	if q > 15 {
		q = 15
	}
	if q < 0 { // only reachable through NaN/Inf input; keep it in range
		q = 0
	}
	return byte(q)
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// dequantize converts n elements of raw tensor data of type t back to float32
// (used by tests and for inspecting written files).
func dequantize(t TensorType, data []byte, n int) ([]float32, error) {
	out := make([]float32, 0, n)
	switch t {
	case F32:
		if len(data) < 4*n {
			return nil, fmt.Errorf("short f32 data")
		}
		for i := 0; i < n; i++ {
			out = append(out, math.Float32frombits(uint32(data[4*i])|uint32(data[4*i+1])<<8|uint32(data[4*i+2])<<16|uint32(data[4*i+3])<<24))
		}
	case F16:
		if len(data) < 2*n {
			return nil, fmt.Errorf("short f16 data")
		}
		for i := 0; i < n; i++ {
			out = append(out, Float16ToFloat32(uint16(data[2*i])|uint16(data[2*i+1])<<8))
		}
	case Q8_0:
		if n%qk8_0 != 0 || len(data) < n/qk8_0*blockQ8_0 {
			return nil, fmt.Errorf("bad q8_0 data")
		}
		for b := 0; b < n/qk8_0; b++ {
			blk := data[b*blockQ8_0 : (b+1)*blockQ8_0]
			d := Float16ToFloat32(uint16(blk[0]) | uint16(blk[1])<<8)
			for _, q := range blk[2:] {
				out = append(out, float32(int8(q))*d)
			}
		}
	case Q4_0:
		if n%qk4_0 != 0 || len(data) < n/qk4_0*blockQ4_0 {
			return nil, fmt.Errorf("bad q4_0 data")
		}
		for b := 0; b < n/qk4_0; b++ {
			blk := data[b*blockQ4_0 : (b+1)*blockQ4_0]
			d := Float16ToFloat32(uint16(blk[0]) | uint16(blk[1])<<8)
			var vals [qk4_0]float32
			for j, q := range blk[2:] {
				vals[j] = float32(int(q&0x0f)-8) * d
				vals[j+qk4_0/2] = float32(int(q>>4)-8) * d
			}
			out = append(out, vals[:]...)
		}
	default:
		return nil, fmt.Errorf("unsupported type %v", t)
	}
	return out, nil
}
